"""The one training loop: resume equivalence, checkpoints, Ctrl-C, OOM halving, devices, bad files; embedding."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from behavnb import (  # noqa: E402
    embed,
    evaluate,
    train,
    windows as W,  # noqa: E402
)
from behavnb.errors import ParameterError, SessionTooShortError  # noqa: E402
from behavnb.models import vame  # noqa: E402

SMALL = vame.VAMEConfig(TEMPORAL_WINDOW=10, ZDIMS=4, FUTURE_STEPS=3, hidden_size_layer_1=8, hidden_size_layer_2=8,
                        hidden_size_rec=8, hidden_size_pred=8)


def _windows(n_sessions=2, n=300, f=6, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)[:, None]
    mats = {f"s{i}": ((np.sin(t / 7 + np.arange(f)) + 0.1 * rng.normal(size=(n, f))).astype(np.float32),
                      [f"k{j // 2}_{'xy'[j % 2]}" for j in range(f)]) for i in range(n_sessions)}
    return mats, W.build(mats, SMALL.TEMPORAL_WINDOW, future=SMALL.FUTURE_STEPS, seed=1)


def _model(ws, seed=0):
    torch.manual_seed(seed)
    return SMALL.build(len(ws.names))


def _cfg(**kw):
    base = dict(epochs=4, batch_size=32, lr=3e-3, checkpoint_every=2, early_stop=None)
    base.update(kw)
    return train.TrainConfig(**base)


def test_resume_two_plus_two_equals_four(tmp_path):
    _, ws = _windows()
    straight = train.fit(_model(ws), ws, _cfg(), loss=vame.VAMELoss(), out_dir=tmp_path / "a", progress=False)
    first = train.fit(_model(ws), ws, _cfg(epochs=2), loss=vame.VAMELoss(), out_dir=tmp_path / "b", progress=False)
    assert len(first.history) == 2
    resumed = train.fit(_model(ws, seed=99), ws, _cfg(), loss=vame.VAMELoss(), out_dir=tmp_path / "b", resume=True,
                        progress=False)
    assert list(resumed.history["epoch"]) == [1, 2, 3, 4]
    np.testing.assert_allclose(resumed.history["train_loss"], straight.history["train_loss"], rtol=1e-5)
    for (k, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=k)
    files = {p.name for p in (tmp_path / "b").rglob("*")}
    assert {"weights.pt", "history.csv", "last.pt", "epoch_0002.pt", "epoch_0004.pt"} <= files


def test_best_checkpoint_exists_from_epoch_one_and_early_stop(tmp_path):
    _, ws = _windows()
    res = train.fit(_model(ws), ws, _cfg(epochs=1), loss=vame.VAMELoss(), out_dir=tmp_path, progress=False)
    assert (tmp_path / "weights.pt").exists() and res.best_epoch == 1
    saved = train.load_torch(tmp_path / "weights.pt")
    assert saved["features"] == ws.names and saved["epoch"] == 1
    (tmp_path / "checkpoints" / "epoch_0010.pt").write_bytes(b"stale")
    with pytest.warns(RuntimeWarning, match="held an earlier training run"):
        train.fit(_model(ws), ws, _cfg(epochs=1), loss=vame.VAMELoss(), out_dir=tmp_path, resume=False, progress=False)
    assert not (tmp_path / "checkpoints" / "epoch_0010.pt").exists()
    # lr 0 never improves after epoch 1: early stopping after `early_stop` epochs without improvement
    res = train.fit(_model(ws), ws, _cfg(epochs=20, lr=0.0, early_stop=2), loss=vame.VAMELoss(), progress=False)
    assert res.stopped_early and len(res.history) == 3


def test_lr_schedule_uses_the_epoch_mean():
    _, ws = _windows()
    res = train.fit(_model(ws), ws, _cfg(epochs=3, lr=0.0, lr_patience=0, lr_factor=0.5), loss=vame.VAMELoss(),
                    progress=False)
    assert res.history["lr"].iloc[-1] == 0.0  # no crash with a zero lr; the schedule only reads epoch means
    res = train.fit(_model(ws), ws, _cfg(epochs=6, lr=1e-3, lr_patience=0, lr_factor=0.5, grad_clip=None),
                    loss=vame.VAMELoss(), progress=False)
    lrs = res.history["lr"].to_numpy()
    losses = res.history["train_loss"].to_numpy()
    for i in range(1, len(lrs)):  # lr drops exactly after an epoch whose mean loss did not improve on the best
        assert (lrs[i] < lrs[i - 1]) == (losses[i] >= losses[:i].min())


def test_cosine_schedule_anneals_to_min_lr_over_the_epochs():
    _, ws = _windows()
    res = train.fit(_model(ws), ws, _cfg(epochs=4, lr=1e-3, min_lr=1e-5, lr_schedule="cosine"), loss=vame.VAMELoss(),
                    progress=False)
    e = res.history["epoch"].to_numpy()  # the lr logged after epoch e is the one epoch e + 1 will use
    np.testing.assert_allclose(res.history["lr"], 1e-5 + (1e-3 - 1e-5) * (1 + np.cos(np.pi * e / 4)) / 2, rtol=1e-6)
    with pytest.raises(ParameterError, match="lr_schedule"):
        train.fit(_model(ws), ws, _cfg(epochs=1, lr_schedule="linear"), loss=vame.VAMELoss(), progress=False)


def test_cosine_schedule_resumes_where_it_stopped(tmp_path):
    _, ws = _windows()
    cfg = _cfg(lr_schedule="cosine", lr=1e-3)
    straight = train.fit(_model(ws), ws, cfg, loss=vame.VAMELoss(), out_dir=tmp_path / "a", progress=False)

    def stop_after_two(history):
        if len(history) == 2:
            raise KeyboardInterrupt

    with pytest.warns(RuntimeWarning, match="interrupted"):
        train.fit(_model(ws), ws, cfg, loss=vame.VAMELoss(), out_dir=tmp_path / "b", callbacks=[stop_after_two],
                  progress=False)
    resumed = train.fit(_model(ws, seed=99), ws, cfg, loss=vame.VAMELoss(), out_dir=tmp_path / "b", resume=True,
                        progress=False)
    np.testing.assert_allclose(resumed.history["lr"], straight.history["lr"])
    np.testing.assert_allclose(resumed.history["train_loss"], straight.history["train_loss"], rtol=1e-5)


def test_ctrl_c_keeps_the_last_epoch_and_resumes(tmp_path):
    _, ws = _windows()
    calls = {"n": 0}

    def interrupt(history):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt

    with pytest.warns(RuntimeWarning, match="interrupted: 2 epoch"):
        res = train.fit(_model(ws), ws, _cfg(), loss=vame.VAMELoss(), out_dir=tmp_path, callbacks=[interrupt],
                        progress=False)
    assert res.interrupted and (tmp_path / "checkpoints" / "last.pt").exists()
    again = train.fit(_model(ws), ws, _cfg(), loss=vame.VAMELoss(), out_dir=tmp_path, resume=True, progress=False)
    assert list(again.history["epoch"]) == [1, 2, 3, 4]


def _stop_after(n):
    def interrupt(history):
        if len(history) == n:
            raise KeyboardInterrupt
    return interrupt


def _assert_same_weights(a, b):
    for (k, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        torch.testing.assert_close(x, y, rtol=1e-5, atol=1e-6, msg=k)


@pytest.mark.parametrize("schedule", ["plateau", "cosine"])
def test_ctrl_c_then_auto_resume_equals_a_straight_run(tmp_path, capsys, schedule):
    _, ws = _windows()
    cfg = _cfg(lr_schedule=schedule)
    straight = train.fit(_model(ws), ws, cfg, loss=vame.VAMELoss(), out_dir=tmp_path / "a", progress=False)
    with pytest.warns(RuntimeWarning, match="interrupted: 2 epoch.*resume='auto'"):
        cut = train.fit(_model(ws), ws, cfg, loss=vame.VAMELoss(), out_dir=tmp_path / "b", callbacks=[_stop_after(2)],
                        progress=False)
    assert cut.interrupted and len(cut.history) == 2
    capsys.readouterr()
    resumed = train.fit(_model(ws), ws, cfg, loss=vame.VAMELoss(), out_dir=tmp_path / "b", progress=False)  # "auto"
    said = capsys.readouterr().err
    assert f"resuming from epoch 2 of 4 (checkpoint {tmp_path / 'b' / 'checkpoints' / 'last.pt'})" in said
    assert list(resumed.history["epoch"]) == [1, 2, 3, 4] and not resumed.interrupted
    np.testing.assert_allclose(resumed.history["train_loss"], straight.history["train_loss"], rtol=1e-5)
    np.testing.assert_allclose(resumed.history["lr"], straight.history["lr"])
    _assert_same_weights(straight.model, resumed.model)
    # a finished run is reloaded, not retrained: same weights, no new checkpoint written
    last = tmp_path / "b" / "checkpoints" / "last.pt"
    stamp = last.stat().st_mtime_ns
    again = train.fit(_model(ws, seed=5), ws, cfg, loss=vame.VAMELoss(), out_dir=tmp_path / "b", progress=False)
    assert "training already finished (4 of 4 epochs" in capsys.readouterr().err
    assert last.stat().st_mtime_ns == stamp and list(again.history["epoch"]) == [1, 2, 3, 4]
    assert again.best_epoch == straight.best_epoch
    _assert_same_weights(straight.model, again.model)


def test_a_cosine_checkpoint_of_the_older_format_resumes(tmp_path):
    # before train.Schedule, a cosine run's checkpoint held an unused ReduceLROnPlateau state as "scheduler"
    _, ws = _windows()
    cfg = _cfg(epochs=2, lr_schedule="cosine", lr=1e-3)
    straight = train.fit(_model(ws), ws, cfg, loss=vame.VAMELoss(), progress=False)
    with pytest.warns(RuntimeWarning, match="interrupted: 1 epoch"):
        train.fit(_model(ws), ws, cfg, loss=vame.VAMELoss(), out_dir=tmp_path, callbacks=[_stop_after(1)],
                  progress=False)
    last = tmp_path / "checkpoints" / "last.pt"
    ckpt = train.load_torch(last)
    assert ckpt["scheduler"] == {"schedule": "cosine"}
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])
    ckpt["scheduler"] = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.2, patience=10).state_dict()
    train.save_torch(ckpt, last)
    resumed = train.fit(_model(ws, seed=7), ws, cfg, loss=vame.VAMELoss(), out_dir=tmp_path, progress=False)
    assert list(resumed.history["epoch"]) == [1, 2]
    np.testing.assert_allclose(resumed.history["lr"], straight.history["lr"])
    np.testing.assert_allclose(resumed.history["train_loss"], straight.history["train_loss"], rtol=1e-5)
    _assert_same_weights(straight.model, resumed.model)


def test_auto_resume_starts_fresh_and_says_what_changed(tmp_path, capsys):
    mats, ws = _windows()
    train.fit(_model(ws), ws, _cfg(epochs=2), loss=vame.VAMELoss(), out_dir=tmp_path, progress=False)
    capsys.readouterr()
    res = train.fit(_model(ws), ws, _cfg(epochs=2, lr=1e-3), loss=vame.VAMELoss(), out_dir=tmp_path, progress=False)
    said = capsys.readouterr().err
    assert "starting fresh" in said and "training options (lr 0.003 -> 0.001) changed" in said
    assert list(res.history["epoch"]) == [1, 2]
    cases = {  # what changes -> the part named
        "seed (1 -> 2)": dict(cfg=_cfg(epochs=2, lr=1e-3, seed=2), ws=ws, loss=vame.VAMELoss(), model=SMALL),
        "loss settings": dict(cfg=_cfg(epochs=2, lr=1e-3, seed=2), ws=ws, loss=vame.VAMELoss(beta=0.5), model=SMALL),
        "model architecture": dict(cfg=_cfg(epochs=2, lr=1e-3, seed=2), ws=ws, loss=vame.VAMELoss(beta=0.5),
                                   model=vame.VAMEConfig(**{**SMALL.__dict__, "hidden_size_rec": 12})),
        "training data": dict(cfg=_cfg(epochs=2, lr=1e-3, seed=2), ws=W.build(mats, SMALL.TEMPORAL_WINDOW,
                                                                             future=SMALL.FUTURE_STEPS, seed=2),
                              loss=vame.VAMELoss(beta=0.5), model=vame.VAMEConfig(**{**SMALL.__dict__, "hidden_size_rec": 12})),
    }
    train.fit(_model(ws), ws, _cfg(epochs=2, lr=1e-3, seed=1), loss=vame.VAMELoss(), out_dir=tmp_path, progress=False)
    for part, c in cases.items():
        capsys.readouterr()
        torch.manual_seed(0)
        res = train.fit(c["model"].build(len(c["ws"].names)), c["ws"], c["cfg"], loss=c["loss"], out_dir=tmp_path,
                        progress=False)
        said = capsys.readouterr().err
        assert said.count("starting fresh") == 1 and part in said, (part, said)
        assert list(res.history["epoch"]) == [1, 2]
    # the device, the checkpoint interval and (for the plateau schedule) the epochs do not count
    capsys.readouterr()
    c = cases["training data"]
    longer = dataclasses.replace(c["cfg"], epochs=3, checkpoint_every=1, device="cpu")
    torch.manual_seed(0)
    res = train.fit(c["model"].build(len(c["ws"].names)), c["ws"], longer, loss=c["loss"], out_dir=tmp_path,
                    progress=False)
    assert "resuming from epoch 2 of 3" in capsys.readouterr().err and list(res.history["epoch"]) == [1, 2, 3]


def test_resume_true_refuses_another_run_and_a_bad_value(tmp_path):
    _, ws = _windows()
    train.fit(_model(ws), ws, _cfg(epochs=1), loss=vame.VAMELoss(), out_dir=tmp_path, progress=False)
    with pytest.raises(train.CheckpointError, match=r"resume=True but .*last\.pt is from another run: training "
                                                     r"options \(weight_decay 0\.0 -> 0\.1\) changed"):
        train.fit(_model(ws), ws, _cfg(epochs=2, weight_decay=0.1), loss=vame.VAMELoss(), out_dir=tmp_path,
                  resume=True, progress=False)
    with pytest.raises(ParameterError, match="resume='yes'"):
        train.fit(_model(ws), ws, _cfg(epochs=1), loss=vame.VAMELoss(), out_dir=tmp_path, resume="yes")


def test_a_corrupt_checkpoint_under_auto_starts_fresh(tmp_path, capsys):
    _, ws = _windows()
    train.fit(_model(ws), ws, _cfg(epochs=1), loss=vame.VAMELoss(), out_dir=tmp_path, progress=False)
    (tmp_path / "checkpoints" / "last.pt").write_bytes(b"half a file")
    res = train.fit(_model(ws), ws, _cfg(epochs=1), loss=vame.VAMELoss(), out_dir=tmp_path, progress=False)
    assert "starting fresh" in capsys.readouterr().err and list(res.history["epoch"]) == [1]
    assert train.load_torch(tmp_path / "checkpoints" / "last.pt")["epoch"] == 1


def test_epoch_lines_without_a_terminal(tmp_path, capsys, monkeypatch):
    _, ws = _windows()
    monkeypatch.delenv(train.PROGRESS_ENV, raising=False)
    assert train.progress_mode(True) == (False, True)  # pytest's captured stderr is not a terminal
    assert train.progress_mode(False) == (False, False) and train.progress_mode("bar") == (True, False)
    monkeypatch.setenv(train.PROGRESS_ENV, "bar")
    assert train.progress_mode(True) == (True, False)
    monkeypatch.setenv(train.PROGRESS_ENV, "lines")
    capsys.readouterr()
    train.fit(_model(ws), ws, _cfg(epochs=2), loss=vame.VAMELoss(), out_dir=tmp_path / "vame")
    err = capsys.readouterr().err.splitlines()
    epochs = [line for line in err if "epoch" in line]
    assert len(epochs) == 2 and epochs[0].startswith("vame: epoch 1/4".replace("4", "2"))
    assert all(k in epochs[1] for k in ("train loss", "test loss", "test_reconstruction", "lr", " s"))
    assert "\r" not in "".join(err)


def test_ctrl_c_under_behavnb_run_stops_the_notebook(tmp_path, monkeypatch):
    _, ws = _windows()
    monkeypatch.setenv(train.RUNNER_ENV, "1")
    with pytest.warns(RuntimeWarning, match="interrupted: 1 epoch"), pytest.raises(KeyboardInterrupt):
        train.fit(_model(ws), ws, _cfg(), loss=vame.VAMELoss(), out_dir=tmp_path, callbacks=[_stop_after(1)],
                  progress=False)
    assert train.load_torch(tmp_path / "checkpoints" / "last.pt")["epoch"] == 1


def test_out_of_memory_halves_the_batch():
    _, ws = _windows()
    inner = vame.VAMELoss()

    def loss(model, batch, epoch):
        if batch.shape[0] > 8:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return inner(model, batch, epoch)

    with pytest.warns(RuntimeWarning, match="halved to 16"):
        res = train.fit(_model(ws), ws, _cfg(epochs=1), loss=loss, progress=False)
    assert res.history["batch_size"].iloc[-1] == 8


def test_failures_are_not_swallowed():
    _, ws = _windows()

    def broken(model, batch, epoch):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        train.fit(_model(ws), ws, _cfg(epochs=1), loss=broken, progress=False)
    with pytest.raises(ParameterError, match="not a loss term"):
        train.fit(_model(ws), ws, _cfg(epochs=1, monitor="nonsense"), loss=vame.VAMELoss(), progress=False)


def test_unavailable_device_raises_or_falls_back():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    from behavnb.runtime import resolve_device

    with pytest.raises(ParameterError, match="device_fallback=True"):
        resolve_device("cuda")
    with pytest.warns(RuntimeWarning, match="using the CPU instead"):
        assert resolve_device("cuda:0", fallback=True) == "cpu"
    with pytest.raises(ParameterError, match="use 'auto'"):
        resolve_device("tpu")
    _, ws = _windows()
    with pytest.raises(ParameterError, match="not available here"):  # fit goes through the same check
        train.fit(_model(ws), ws, _cfg(epochs=1, device="cuda"), loss=vame.VAMELoss(), progress=False)


def test_amp_path_runs_on_cpu_with_bfloat16():
    _, ws = _windows()
    res = train.fit(_model(ws), ws, _cfg(epochs=1, amp=True), loss=vame.VAMELoss(), progress=False)
    assert np.isfinite(res.history["train_loss"]).all()


def test_corrupt_and_mismatched_checkpoints(tmp_path):
    mats, ws = _windows()
    res = train.fit(_model(ws), ws, _cfg(epochs=1), loss=vame.VAMELoss(), out_dir=tmp_path / "m", progress=False)
    train.save_model_files(tmp_path / "m", "vame", SMALL, ws, loss=vame.VAMELoss())
    loaded = train.load_model(tmp_path / "m")
    torch.testing.assert_close(loaded.model.state_dict(), res.model.state_dict())
    (tmp_path / "m" / "checkpoints" / "last.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(train.CheckpointError, match=r"last\.pt is corrupt.*resume=False"):
        train.fit(_model(ws), ws, _cfg(), loss=vame.VAMELoss(), out_dir=tmp_path / "m", resume=True, progress=False)
    wider = vame.VAMEConfig(**{**SMALL.__dict__, "hidden_size_layer_1": 16})
    with pytest.raises(train.CheckpointError, match="does not fit this model"):
        train.load_state(wider.build(len(ws.names)), res.model.state_dict(), "weights.pt")
    (tmp_path / "m" / "weights.pt").write_bytes(b"\x00" * 10)
    with pytest.raises(train.CheckpointError, match="weights.pt is corrupt"):
        train.load_model(tmp_path / "m")
    with pytest.raises(train.CheckpointError, match="no trained model"):
        train.load_model(tmp_path / "empty")
    with pytest.raises(train.CheckpointError, match="does not exist"):
        train.fit(_model(ws), ws, _cfg(), loss=vame.VAMELoss(), out_dir=tmp_path / "new", resume=True, progress=False)


def test_embedding_alignment_and_saved_normalizer_match_training(tmp_path):
    import xarray as xr

    mats, ws = _windows()
    res = train.fit(_model(ws), ws, _cfg(epochs=1), loss=vame.VAMELoss(), out_dir=tmp_path, progress=False)
    train.save_model_files(tmp_path, "vame", SMALL, ws)
    inside = embed.embed_windowset(res.model, ws, amp=False)
    loaded = train.load_model(tmp_path)
    x, names = mats["s0"]
    # the default (mixed precision where the hardware has it) agrees between the two paths too
    np.testing.assert_array_equal(embed.embed_windowset(res.model, ws)["s0"],
                                  embed.embed_array(loaded.model, loaded.normalizer.transform(x, names), loaded.window))
    ds = xr.Dataset(attrs={"session": "s0", "fps": 30.0}, coords={"time": np.arange(len(x)) / 30,
                                                                    "individual": ["a"]})
    z = embed.embed_array(loaded.model, loaded.normalizer.transform(x, names), loaded.window, amp=False)
    np.testing.assert_allclose(z, inside["s0"], rtol=1e-5, atol=1e-6)
    assert z.shape == (len(x), SMALL.ZDIMS) and np.isfinite(z).all()
    da = embed._as_dataarray(z, ds, loaded.window, "a", "vame")
    assert da.dims == ("time", "latent") and int(da["edge"].sum()) == SMALL.TEMPORAL_WINDOW - 1
    # frame t's latent is the embedding of the window centred on t
    t = 100
    s = t - SMALL.TEMPORAL_WINDOW // 2
    one = loaded.model.embed(torch.from_numpy(loaded.normalizer.transform(x[s:s + SMALL.TEMPORAL_WINDOW])[None]))
    np.testing.assert_allclose(z[t], one[0].numpy(), rtol=1e-5, atol=1e-6)
    # a missing frame makes exactly the windows that contain it NaN
    x2 = x.copy()
    x2[150] = np.nan
    z2 = embed.embed_array(loaded.model, loaded.normalizer.transform(x2), loaded.window, amp=False)
    starts, _ = embed.window_starts(len(x2), loaded.window)
    covers = (starts <= 150) & (150 < starts + loaded.window)
    assert np.isnan(z2[covers]).all() and np.isfinite(z2[~covers]).all()
    with pytest.raises(SessionTooShortError, match="fewer than one model window"):
        embed.window_starts(5, 10)


def _ego(n, keypoints, session="s9"):
    import xarray as xr

    rng = np.random.default_rng(0)
    pos = rng.normal(size=(n, 2, len(keypoints), 1)).astype(np.float32)
    return xr.Dataset({"ego_position": (("time", "space", "keypoint", "individual"), pos)},
                      coords={"time": np.arange(n) / 30, "space": ["x", "y"], "keypoint": keypoints,
                              "individual": ["a"]}, attrs={"session": session, "fps": 30.0})


def test_embedding_refuses_changed_features_and_short_sessions():
    _, ws = _windows()
    model = _model(ws)
    good = embed.embed_session(model, _ego(40, ["k0", "k1", "k2"]), ws.normalizer)
    assert good.dims == ("time", "latent") and good.sizes["time"] == 40
    with pytest.raises(ParameterError, match=r"session 's9'.*missing \['k2_x', 'k2_y'\], unexpected \['tail_x', 'tail_y'\]"):
        embed.embed_session(model, _ego(40, ["k0", "k1", "tail"]), ws.normalizer)
    with pytest.raises(SessionTooShortError, match="5 frames are fewer than one model window"):
        embed.embed_session(model, _ego(5, ["k0", "k1", "k2"]), ws.normalizer)
    with pytest.raises(SessionTooShortError, match="fewer than one model window"):
        W.build({"short": (np.zeros((5, 6), np.float32), ws.names)}, SMALL.TEMPORAL_WINDOW)


def test_scores_and_sampling():
    _, ws = _windows()
    res = train.fit(_model(ws), ws, _cfg(epochs=2), loss=vame.VAMELoss(), progress=False)
    rec = evaluate.reconstruct(res.model, ws)
    assert rec.inputs.shape == rec.reconstruction.shape and rec.future.shape[1] == SMALL.FUTURE_STEPS
    table = evaluate.scores(rec)
    assert list(table.index) == ["k0", "k1", "k2", "all"]
    assert {"reconstruction_r2", "prediction_mse"} <= set(table.columns)
    perfect = evaluate.Reconstruction(rec.starts, rec.inputs, rec.inputs, None, None, rec.names)
    assert np.allclose(evaluate.scores(perfect)["reconstruction_r2"], 1.0)
    lat = np.concatenate(list(embed.embed_windowset(res.model, ws).values()))
    z, comp = evaluate.sample_latents(lat, 5, n_components=3)
    seqs = evaluate.decode(res.model, z, ws)
    assert seqs.shape == (5, SMALL.TEMPORAL_WINDOW, len(ws.names))
    poses, kps = evaluate.to_poses(seqs, ws.names)
    assert poses.shape == (5, SMALL.TEMPORAL_WINDOW, 3, 2) and kps == ["k0", "k1", "k2"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        evaluate.decode(res.model, z, ws.normalizer, future=True)


def test_callback_can_stop_and_latents_round_trip(tmp_path):
    import xarray as xr

    from behavnb.project import Project

    _, ws = _windows()
    res = train.fit(_model(ws), ws, _cfg(epochs=5), loss=vame.VAMELoss(), progress=False,
                    callbacks=[lambda h: len(h) == 2])
    assert len(res.history) == 2 and res.stopped_early
    z = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    ds = xr.Dataset(attrs={"session": "s0", "fps": 30.0}, coords={"time": np.arange(50) / 30})
    da = embed._as_dataarray(z, ds, 10, "a", "vame")
    project = Project(tmp_path)
    project.write_latents(da, "vame", "s0")
    back = project.read_latents("vame", "s0")
    np.testing.assert_array_equal(back.values, z)
    assert back.attrs["window"] == 10 and "centred" in back.attrs["alignment"]


def test_model_figures_draw():
    import matplotlib

    matplotlib.use("Agg")
    from behavnb import plot

    _, ws = _windows()
    res = train.fit(_model(ws), ws, _cfg(epochs=2), loss=vame.VAMELoss(), progress=False)
    rec = evaluate.reconstruct(res.model, ws)
    poses, kps = evaluate.to_poses(rec.reconstruction[:3], rec.names)
    figs = [plot.vame_diagram(SMALL, len(ws.names)), plot.loss_curves(res.history),
            plot.reconstructions(rec, ["k0_x", "k2_y"], n=2, fps=30), plot.skeleton_sequences(poses, kps),
            plot.score_bars(evaluate.scores(rec))]
    assert all(f.axes for f in figs)
    live = plot.LiveLoss()
    live(res.history)  # outside a notebook IPython's display prints a repr; it must not fail


def test_torch_compile_option_trains():
    _, ws = _windows()
    res = train.fit(_model(ws), ws, _cfg(epochs=1, compile=True), loss=vame.VAMELoss(), progress=False)
    assert np.isfinite(res.history["train_loss"]).all()
    assert not type(res.model).__name__.startswith("Optimized")  # the plain module comes back, for saving
