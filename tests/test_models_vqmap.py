"""VQ-MAP: shapes, keypoint-order invariance, dropped keypoints, codebook checkpoints, co-embedding,
cross-skeleton conversion, per-frame codes, bad inputs, the code GPT; and a CPU-only run."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import behavnb as bn

torch = pytest.importorskip("torch")

from behavnb import (  # noqa: E402
    codes,
    embed,
    segment,
    train,
    windows as W,  # noqa: E402
)
from behavnb.errors import ParameterError, SessionTooShortError  # noqa: E402
from behavnb.models import gpt, vqmap  # noqa: E402
from behavnb.models.quantize import VectorQuantizer  # noqa: E402

KPS = ["nose", "ear_left", "ear_right", "neck", "mid_spine", "tail_base", "tail_tip"]


def clean_session(n=400, keypoints=KPS, session="s0", seed=0, dims=2):
    """A cleaned-looking session: an animal that alternates resting and walking along a curve."""
    import xarray as xr

    rng = np.random.default_rng(seed)
    k = len(keypoints)
    base = np.stack([np.linspace(3, -4, k), 0.3 * np.sin(np.arange(k))], axis=1)  # body along x
    moving = (np.arange(n) // 40) % 2 == 1
    speed = np.where(moving, 0.5, 0.0)
    heading = np.cumsum(np.where(moving, 0.02, 0.0)) + rng.normal(0, 0.01, n)
    cen = np.cumsum(np.stack([speed * np.cos(heading), speed * np.sin(heading)], 1), axis=0)
    wiggle = 0.3 * np.sin(np.arange(n) / 3.0)[:, None] * moving[:, None] * np.linspace(0, 1, k)[None]
    ego = np.repeat(base[None], n, 0)
    ego[:, :, 1] += wiggle + rng.normal(0, 0.05, (n, k))
    c, s = np.cos(heading)[:, None], np.sin(heading)[:, None]
    pos = np.stack([c * ego[:, :, 0] - s * ego[:, :, 1] + cen[:, None, 0],
                    s * ego[:, :, 0] + c * ego[:, :, 1] + cen[:, None, 1]], axis=1)  # (time, space, keypoint)
    space = ["x", "y"]
    if dims == 3:
        z = rng.normal(1, 0.1, (n, 1, k))
        pos, ego = np.concatenate([pos, z], 1), np.concatenate([ego.transpose(0, 2, 1), z], 1).transpose(0, 2, 1)
        space = ["x", "y", "z"]
    ego_t = ego.transpose(0, 2, 1)
    ds = xr.Dataset(
        {"position": (("time", "space", "keypoint", "individual"), pos[..., None]),
         "ego_position": (("time", "space", "keypoint", "individual"), ego_t[..., None],
                          {"description": "egocentric pose (test; heading on +x)"}),
         "heading": (("time", "individual"), heading[:, None]),
         "centroid": (("time", "space", "individual"), np.concatenate([cen, np.zeros((n, len(space) - 2))], 1)[..., None])},
        coords={"time": np.arange(n) / 30, "space": space, "keypoint": keypoints, "individual": ["a"]},
        attrs={"session": session, "fps": 30.0})
    return ds


def _setup(keypoints=KPS, n_sessions=2, window=16, name="mice", **cfg):
    cleaned = {f"s{i}": clean_session(keypoints=keypoints, session=f"s{i}", seed=i) for i in range(n_sessions)}
    sk = bn.inputs.Skeleton(keypoints)
    mats = bn.inputs.vqmap_matrices(cleaned, sk)
    ws = W.build(mats, window, fit_normalizer=bn.inputs.vqmap_normalizer, seed=0)
    config = vqmap.VQMAPConfig(skeletons=vqmap.skeleton_config({name: sk}), window=window, hidden=16, code_dim=4,
                               slots=2, heads=2, **cfg)
    torch.manual_seed(0)
    return cleaned, ws, config, config.build()


def _cfg(**kw):
    base = dict(epochs=2, batch_size=32, lr=2e-3, early_stop=None, amp=False, windows_per_epoch=256)
    base.update(kw)
    return train.TrainConfig(**base)


def test_normalizer_log_compresses_velocities_only():
    cleaned = {"s0": clean_session()}
    sk = bn.inputs.Skeleton(KPS)
    x, names = bn.inputs.vqmap_matrices(cleaned, sk)["s0"]
    norm = bn.inputs.vqmap_normalizer([x], names)
    vel = np.array(["_v" in n for n in names])
    assert np.all(norm.log_scale[~vel] == 0) and np.all(norm.log_scale[vel] > 0)
    speeds = np.abs(x[:, vel])
    np.testing.assert_allclose(norm.log_scale[vel], np.median(speeds[speeds > 0]))
    assert len(set(norm.std[vel])) == 1 and len(set(norm.std[~vel])) == 1  # one scale per group, as before
    np.testing.assert_allclose(norm.inverse_transform(norm.transform(x, names)), x, atol=1e-4)
    assert np.all(norm.mean[vel] == 0)  # velocities are not centred: 0 is standing still


def test_type_summary_reads_the_type_code_only():
    _, ws, config, model = _setup()
    assert config.type_summary  # on by default
    x = torch.from_numpy(ws.gather(ws.train[:6]))
    model.eval()
    with torch.no_grad():
        out = model(x)
        assert out["summary"].shape == (6, 2, len(KPS), 2 * model.in_dims)  # (batch, steps, keypoints, mean + |mean|)
        from_type = model.summary["ds_mice"](model.vq_type.lookup(out["type"]))
        np.testing.assert_allclose(out["summary"].reshape(6, 2, -1).numpy(), from_type.numpy(), atol=1e-5)
        with_term = vqmap.VQMAPLoss()(model, x, 0)
        without = vqmap.VQMAPLoss(summary_weight=0.0)(model, x, 0)
    assert float(with_term["loss"]) > float(without["loss"])
    assert "summary" not in vqmap.VQMAPConfig(**{**config.__dict__, "type_summary": False}).build()(x)


def test_shapes_regions_and_codes():
    _, ws, config, model = _setup()
    x = torch.from_numpy(ws.gather(ws.train[:5]))
    out = model(x)
    B, T, K = 5, 16, len(KPS)
    assert out["reconstruction"].shape == (B, T, K, 4)  # x, y, vx, vy per keypoint
    assert out["latent"].shape == (B, T // 8, 2 * config.code_dim)
    assert out["type"].shape == out["subtype"].shape == (B, T // 8)
    assert int(out["motif"].max()) < config.n_types * config.n_subtypes
    assert bn.inputs.guess_region("paw_front_left") == "limb" and bn.inputs.guess_region("tail_tip") == "tail"
    assert bn.inputs.guess_region("Snout") == "head" and bn.inputs.guess_region("mid_spine") == "trunk"
    residual = vqmap.VQMAPConfig(skeletons=config.skeletons, window=16, hidden=16, code_dim=4, slots=2, heads=2,
                                 quantize="residual").build()
    assert residual(x)["latent"].shape == (B, 2, 4)


def test_keypoint_order_does_not_matter():
    _, ws, _, model = _setup()
    model.eval()
    x = model.prepare(torch.from_numpy(ws.gather(ws.train[:8])))
    perm = torch.tensor([3, 0, 6, 1, 5, 2, 4])
    regions = model.regions_ds_mice
    with torch.no_grad():
        z1 = model.encode(x)
        z2 = model.encode(x[:, :, perm], regions=regions[perm])
        q1, t1, s1, _, _ = model.quantize(z1)
        q2, t2, s2, _, _ = model.quantize(z2)
    torch.testing.assert_close(z1, z2, rtol=1e-4, atol=1e-5)
    assert torch.equal(t1, t2) and torch.equal(s1, s2)
    # the same through a skeleton spec listing the keypoints in another order (built from the data)
    cleaned = {"s0": clean_session()}
    shuffled = bn.inputs.Skeleton([KPS[i] for i in perm.tolist()])
    a = bn.inputs.vqmap_matrices(cleaned, bn.inputs.Skeleton(KPS))["s0"][0][:16]
    b = bn.inputs.vqmap_matrices(cleaned, shuffled)["s0"][0][:16]
    assert sorted(np.round(a[0], 5)) == sorted(np.round(b[0], 5))


def test_dropping_keypoints_still_encodes_and_degrades_gracefully():
    _, ws, _, model = _setup()
    res = train.fit(model, ws, _cfg(epochs=4), loss=vqmap.VQMAPLoss(), progress=False)
    model = res.model.eval()
    x = torch.from_numpy(ws.gather(ws.test[:64]))
    target = model.prepare(x)
    errors = []
    for n_drop in range(0, len(KPS)):
        mask = torch.zeros(len(x), len(KPS), dtype=torch.bool)
        mask[:, :n_drop] = True
        with torch.no_grad():
            out = model(target.masked_fill(mask[:, None, :, None], 0.0), mask=mask)
        errors.append(float(((out["reconstruction"] - target) ** 2).mean()))
    assert np.isfinite(errors).all()
    assert errors[0] < errors[-1]  # all but one keypoint gone: worse than the full skeleton
    with pytest.raises(ParameterError, match="every keypoint masked"):
        model.encode(target, mask=torch.ones(len(x), len(KPS), dtype=torch.bool))


def test_checkpoint_round_trip_restores_codebooks_exactly(tmp_path):
    _, ws, config, model = _setup()
    res = train.fit(model, ws, _cfg(), loss=vqmap.VQMAPLoss(), out_dir=tmp_path, progress=False)
    train.save_model_files(tmp_path, "vqmap", config, ws)
    loaded = train.load_model(tmp_path)
    for name in ("codebook", "ema_count", "ema_sum", "initialised"):
        for q in ("vq_type", "vq_subtype"):
            assert torch.equal(getattr(getattr(loaded.model, q), name), getattr(getattr(res.model, q), name))
    assert bool(loaded.model.vq_type.initialised)
    x = torch.from_numpy(ws.gather(ws.test[:16]))
    with torch.no_grad():
        assert torch.equal(res.model.eval()(x)["motif"], loaded.model(x)["motif"])


def test_resume_one_plus_one_equals_two(tmp_path):
    _, ws, _, model = _setup()
    straight = train.fit(model, ws, _cfg(epochs=2), loss=vqmap.VQMAPLoss(), progress=False)
    torch.manual_seed(0)
    again = _setup()[3]
    train.fit(again, ws, _cfg(epochs=1), loss=vqmap.VQMAPLoss(), out_dir=tmp_path, progress=False)
    torch.manual_seed(0)
    third = _setup()[3]
    resumed = train.fit(third, ws, _cfg(epochs=2), loss=vqmap.VQMAPLoss(), out_dir=tmp_path, resume=True,
                        progress=False)
    for (k, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values(), strict=True):
        torch.testing.assert_close(a.float(), b.float(), rtol=1e-5, atol=1e-6, msg=k)


def test_quantizer_restarts_dead_codes_and_saves_state():
    torch.manual_seed(0)
    vq = VectorQuantizer(8, 3, cosine=False, decay=0.5)
    vq.train()
    vq(torch.randn(512, 3) * 0.1)  # data-based init: every code starts near this cloud
    assert bool(vq.initialised) and int(vq.restarts) == 0
    moved = torch.randn(512, 3) * 0.1 + torch.tensor([20.0, 0, 0])  # the data move far away
    _, idx, _, _ = vq(moved)
    assert len(torch.unique(idx)) == 1  # at first the nearest code takes everything ...
    for _ in range(20):
        _, idx, _, stats = vq(moved)
    assert int(vq.restarts) > 0  # ... the starved codes are restarted on the new data
    assert len(torch.unique(idx)) >= 4 and float(stats["perplexity"]) > 3
    state = vq.state_dict()
    assert {"codebook", "ema_count", "ema_sum", "initialised", "restarts"} <= set(state)
    vq.eval()
    before = vq.codebook.clone()
    vq(torch.randn(64, 3))
    assert torch.equal(before, vq.codebook)  # evaluation never moves the codebook


def test_frame_labels_one_per_frame_and_missing_frames():
    cleaned, ws, config, model = _setup()
    n = cleaned["s0"].sizes["time"]
    lat = embed.embed_codes_session(model, cleaned["s0"], ws.normalizer, amp=False)
    assert lat.dims == ("time", "latent") and lat.sizes["time"] == n
    assert (lat["motif"] >= 0).all() and set(np.unique(lat["type"])) <= set(range(config.n_types))
    np.testing.assert_array_equal(lat["motif"], lat["type"] * config.n_subtypes + lat["subtype"])
    starts = embed.code_window_starts(n, 16, 8)
    j, step = embed.frame_assignment(n, starts, 16, 8)
    assert ((step >= 0) & (step < 2)).all()
    frames = np.arange(n)
    assert ((starts[j] <= frames) & (frames < starts[j] + 16)).all()
    # inside the session codes change only at multiples of the downsampling factor
    m = lat["motif"].values[: (n - 16) // 8 * 8]
    assert (np.flatnonzero(np.diff(m)) % 8 == 7).all()
    broken = cleaned["s0"].copy(deep=True)
    broken["ego_position"][100:103] = np.nan
    lat2 = embed.embed_codes_session(model, broken, ws.normalizer, amp=False)
    bad = lat2["motif"].values < 0
    assert bad[100:103].all() and 0 < bad.sum() < 64 and np.isnan(lat2.values[bad]).all()
    table = embed.labels_table({"s0": lat2})
    assert list(table.columns) == ["session", "individual", "frame", "time", "motif", "type", "subtype"]
    assert len(table) == n
    with pytest.raises(SessionTooShortError, match="fewer than one model window"):
        embed.code_window_starts(10, 16, 8)


def test_coembedding_two_skeletons_and_conversion():
    mice = {f"m{i}": clean_session(session=f"m{i}", seed=i) for i in range(2)}
    six = ["Snout", "EarL", "EarR", "Tailroot", "ForepawL", "HindpawR"]
    rats = {f"r{i}": clean_session(keypoints=six, session=f"r{i}", seed=5 + i) for i in range(2)}
    sk_m, sk_r = bn.inputs.Skeleton(KPS), bn.inputs.Skeleton(six)
    sets = {"mice": W.build(bn.inputs.vqmap_matrices(mice, sk_m), 16, fit_normalizer=bn.inputs.vqmap_normalizer),
            "rats": W.build(bn.inputs.vqmap_matrices(rats, sk_r), 16, fit_normalizer=bn.inputs.vqmap_normalizer)}
    for schedule in ("mixed", "alternating"):
        multi = W.MultiWindowSet(sets, schedule=schedule)
        order = multi.epoch_order(torch.Generator().manual_seed(0), 32)
        blocks = [multi.gather(multi.train[order[a:a + 32].numpy()]) for a in range(0, 32 * 6, 32)]
        if schedule == "alternating":
            assert all(len(b) == 1 for b in blocks) and {next(iter(b)) for b in blocks} == {"mice", "rats"}
        else:
            assert any(len(b) == 2 for b in blocks)
    config = vqmap.VQMAPConfig(skeletons=vqmap.skeleton_config({"mice": sk_m, "rats": sk_r}), window=16, hidden=16,
                               code_dim=4, slots=2, heads=2)
    torch.manual_seed(0)
    res = train.fit(config.build(), multi, _cfg(), loss=vqmap.VQMAPLoss(), progress=False)
    assert "test_reconstruction" in res.history
    x = torch.from_numpy(sets["mice"].gather(sets["mice"].test[:4]))
    converted = res.model.convert(x, "mice", "rats")
    assert converted.shape == (4, 16, len(six), 4)
    with pytest.raises(ParameterError, match="say which one"):
        res.model(x)
    assert isinstance(multi.normalizer, bn.inputs.NormalizerSet)
    again = bn.inputs.Normalizer.from_json(multi.normalizer.to_json())
    assert set(again) == {"mice", "rats"} and again.names == multi.names


def test_bad_inputs():
    cleaned = {"s0": clean_session()}
    with pytest.raises(ParameterError, match=r"keypoint\(s\) \['paw_front_left'\] that session 's0' does not have"):
        bn.inputs.vqmap_matrices(cleaned, bn.inputs.Skeleton(KPS + ["paw_front_left"]))
    two, three = bn.inputs.Skeleton(KPS), bn.inputs.Skeleton(KPS, dims=3)
    skel = vqmap.skeleton_config({"flat": two, "deep": three})
    with pytest.raises(ParameterError, match="mix 2D and 3D.*projection='xy'"):
        vqmap.VQMAPConfig(skeletons=skel).build()
    model = vqmap.VQMAPConfig(skeletons=skel, projection="xy", window=16, hidden=16, slots=2, heads=2).build()
    deep = {"d0": clean_session(dims=3)}
    mats = bn.inputs.vqmap_matrices(deep, model.skeletons["deep"])  # z is dropped by the projection
    assert mats["d0"][0].shape[1] == len(KPS) * 4
    # a 3D model reads x, y, z and their velocities
    m3 = vqmap.VQMAPConfig(skeletons=vqmap.skeleton_config({"deep": three}), window=16, hidden=16, slots=2,
                           heads=2).build()
    x3 = bn.inputs.vqmap_matrices(deep, three)["d0"][0][:32]
    assert x3.shape[1] == len(KPS) * 6
    out = m3(torch.from_numpy(np.stack([x3[:16], x3[16:]])))
    assert out["reconstruction"].shape == (2, 16, len(KPS), 6)
    with pytest.raises(ParameterError, match="shorter than the downsampling factor"):
        vqmap.VQMAPConfig(skeletons=vqmap.skeleton_config({"a": two}), window=4).build()
    with pytest.raises(ParameterError, match="multiple of downsample"):
        vqmap.VQMAPConfig(skeletons=vqmap.skeleton_config({"a": two}), window=20).build()
    with pytest.raises(ParameterError, match="not a multiple of the downsampling"):
        model.encode(torch.zeros(2, 12, len(KPS), 4), "flat")
    with pytest.raises(ParameterError, match="distinct"):
        bn.inputs.Skeleton(["a", "a"])


def test_code_gpt_learns_a_sequence_and_samples():
    rng = np.random.default_rng(0)
    pattern = np.repeat([3, 7, 1, 7], 3)  # codes last 3 steps, then a fixed successor
    seqs = {f"s{i}": np.tile(pattern, 40)[rng.integers(0, 12):][:400] for i in range(3)}
    ws = bn.windows.code_windows(seqs, context=12, test_fraction=0.2)
    config = gpt.CodeGPTConfig(vocab=8, context=12, d_model=32, n_layer=1, n_head=2, dropout=0.0)
    torch.manual_seed(0)
    res = train.fit(config.build(), ws, _cfg(epochs=6, windows_per_epoch=None, monitor="cross_entropy", lr=3e-3),
                    loss=gpt.CodeGPTLoss(), progress=False)
    assert res.history["test_accuracy"].iloc[-1] > 0.8
    prompt = torch.tensor([[3, 3, 3, 7]])
    out = res.model.generate(prompt, 40, generator=torch.Generator().manual_seed(0), temperature=0.5)
    assert out.shape == (1, 44) and int(out.max()) < 8
    stats = codes.compare_sequences(list(seqs.values()), [out[0].numpy()], 8)
    assert stats["usage_js"] < 0.1 and stats["transition_js"] < 0.2
    shuffled = [rng.permutation(s) for s in seqs.values()]
    assert codes.compare_sequences(list(seqs.values()), shuffled, 8)["transition_js"] > stats["transition_js"]
    with pytest.raises(ParameterError, match="exceed the context"):
        res.model(torch.zeros(1, 13, dtype=torch.long))


def test_code_statistics():
    c = np.array([0, 0, 1, 1, 2, -1, 2, 2])
    assert codes.usage(c, 4)["fraction"].tolist() == pytest.approx([2 / 7, 2 / 7, 3 / 7, 0])
    assert codes.dead_fraction(c, 4) == 0.25
    assert codes.perplexity(np.arange(4), 4) == pytest.approx(4)
    t = codes.transitions([c], 4)
    assert t[0, 1] == 0.5 and t[1, 2] == 0.5 and t[2, 2] == 1.0  # no transition across the -1
    assert codes.js_divergence([1, 0], [0, 1]) == pytest.approx(1.0)
    assert codes.purity([0, 0, 1, 1], [5, 5, 6, 7]) == 0.75
    labels = pd.DataFrame({"session": "a", "frame": range(6), "motif": [0, 0, 1, 1, 2, 2], "type": [0, 0, 0, 0, 1, 1],
                           "subtype": [0, 0, 1, 1, 2, 2]})
    truth = pd.DataFrame({"session": "a", "frame": range(6), "motif": [4, 4, 5, 5, 6, 6]})
    table = {c: segment.truth_agreement(labels, truth, column=c) for c in ("motif", "type", "subtype")}
    assert table["motif"]["ari"] == 1.0 and table["type"]["purity"] == pytest.approx(4 / 6)
    u = codes.per_motif_usage(labels, truth, 3)
    sim = codes.coembedding_similarity(u, u)
    assert (sim["matched_js"] < 1e-6).all() and (sim["shuffled_js"] > 0.9).all()


def test_trains_and_embeds_without_cuda(tmp_path):
    script = textwrap.dedent(f"""
        import sys, torch
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from test_models_vqmap import _setup, _cfg
        from behavnb import train, embed
        from behavnb.models import vqmap
        assert not torch.cuda.is_available()
        cleaned, ws, config, model = _setup()
        res = train.fit(model, ws, _cfg(epochs=1, amp="auto"), loss=vqmap.VQMAPLoss(), progress=False)
        assert res.device == "cpu"
        lat = embed.embed_codes_session(res.model, cleaned["s0"], ws.normalizer)
        print("ok", lat.sizes["time"])
    """)
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().startswith("ok 400")


def _random_windows(n_frames: int, seed: int) -> W.WindowSet:
    """Windows of 8 frames over ``n_frames`` frames of 4 random features, all for training."""
    data = np.random.default_rng(seed).normal(size=(n_frames, 4)).astype(np.float32)
    return W.build({f"s{seed}": (data, list("wxyz"))}, 8, test_fraction=0.0)


def test_alternating_batches_stay_single_dataset_with_a_small_dataset():
    big, small = _random_windows(400, 0), _random_windows(20, 1)
    multi = W.MultiWindowSet({"big": big, "small": small}, schedule="alternating")
    order = multi.epoch_order(torch.Generator().manual_seed(0), 32)
    assert len(order) % 32 == 0
    for a in range(0, len(order), 32):
        assert len(multi.gather(multi.train[order[a:a + 32].numpy()])) == 1


def test_step_codes_per_animal():
    import xarray as xr

    motif = xr.DataArray(np.arange(32).reshape(2, 16), dims=("individual", "time"),
                         coords={"individual": ["a", "b"]})
    da = xr.DataArray(np.zeros((2, 16, 3)), dims=("individual", "time", "latent"),
                      coords={"individual": ["a", "b"], "motif": motif})
    steps = codes.step_codes({"s": da}, 8)
    assert steps == {"s/a": pytest.approx([0, 8]), "s/b": pytest.approx([16, 24])} or \
        {k: v.tolist() for k, v in steps.items()} == {"s/a": [0, 8], "s/b": [16, 24]}


def test_latent_normaliser_tracks_recent_batches():
    """The normaliser's running statistics (what evaluation uses) follow the last few training batches: after a
    handful of batches the held-out latents are centred and spread as in training, not squeezed onto one code by a
    stale mean (the B-SOiD fast-profile collapse). PyTorch's default momentum (0.1) still lags after 8 batches: at
    initialisation the latents' spread is tiny next to their offset, so even a small lag is many standard deviations."""
    _, ws, config, _ = _setup()
    x = torch.from_numpy(ws.gather(ws.train[:64]))

    def lag(momentum):
        torch.manual_seed(0)
        model = vqmap.VQMAPConfig(**{**config.__dict__, "norm_momentum": momentum}).build()
        norm = model.latent_norm["ds_mice"]
        model.train()
        with torch.no_grad():
            for _ in range(8):
                model(x)
            raw = model.to_latent(model.mixer(_tokens(model, x)))
        return float(((norm.running_mean - raw.mean(0)).abs() / raw.std(0)).max())

    assert config.norm_momentum == 0.5
    fast, slow = lag(0.5), lag(0.1)
    assert fast < 0.02 * slow and slow > 1.0  # 0.5 ** 8 vs 0.9 ** 8 of the stale start left
    with pytest.raises(ParameterError, match="norm_momentum"):
        vqmap.VQMAPConfig(**{**config.__dict__, "norm_momentum": 0.0}).validate()


def _tokens(model, x):
    """The keypoint tokens the mixer reads (as ``VQMAP.encode`` builds them), flattened to (B*T', K, C)."""
    xx = model.prepare(x)
    b, t, k, d = xx.shape
    h = model.encoder(xx.permute(0, 2, 3, 1).reshape(b * k, d, t))
    tokens = h.reshape(b, k, -1, h.shape[-1]).permute(0, 3, 1, 2)
    tokens = tokens + model.region(model.regions_ds_mice)[None, None]
    return tokens.reshape(-1, k, tokens.shape[-1])


def test_mixed_batches_give_each_dataset_a_fixed_share():
    """Every full batch holds the same number of windows from each dataset (constant shapes: no per-shape CPU kernels),
    the shares follow the datasets' sizes, and no window comes twice in an epoch."""
    big, small = _random_windows(4000, 0), _random_windows(1300, 1)
    multi = W.MultiWindowSet({"big": big, "small": small}, schedule="mixed")
    order = multi.epoch_order(torch.Generator().manual_seed(0), 256)
    assert len(order) % 256 == 0 and len(set(order.tolist())) == len(order)
    assert len(multi.train) - len(order) < 256 * 2  # only a few windows wait for the next epoch
    shares = {tuple(len(v) for v in multi.gather(multi.train[order[a:a + 256].numpy()]).values())
              for a in range(0, len(order), 256)}
    n_big = len(big.train)
    assert shares == {(round(256 * n_big / len(multi.train)), 256 - round(256 * n_big / len(multi.train)))}
    again = multi.epoch_order(torch.Generator().manual_seed(0), 256)
    assert torch.equal(order, again)  # seeded
    tiny = multi.epoch_order(torch.Generator().manual_seed(0), 10_000)  # a set smaller than one batch: one batch
    assert sorted(tiny.tolist()) == list(range(len(multi.train)))
