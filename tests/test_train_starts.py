"""Bundled starts: a run continued from its bundled checkpoint equals the straight run; anything else trains
every epoch and says why; a damaged bundle is refused; the shipped starts match their sha256."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from behavnb import train, windows as W
from behavnb.models import vame
from behavnb.train import starts
from behavnb.train.checkpoints import data_sample, same_data

SMALL = vame.VAMEConfig(TEMPORAL_WINDOW=10, ZDIMS=4, FUTURE_STEPS=3, hidden_size_layer_1=8, hidden_size_layer_2=8,
                        hidden_size_rec=8, hidden_size_pred=8)


def _windows(rounding=0.0, noise=0.0):
    """Toy windows; ``rounding``: the same data off in the last bits (cleaned elsewhere); ``noise``: other data."""
    rng = np.random.default_rng(0)
    t = np.arange(300)[:, None]
    mats = {}
    for i in range(2):
        x = np.sin(t / 7 + np.arange(6)) + 0.1 * rng.normal(size=(300, 6))
        x = x * (1 + rounding) + noise * np.random.default_rng(i + 10).normal(size=x.shape)
        mats[f"s{i}"] = (x.astype(np.float32), [f"k{j // 2}_{'xy'[j % 2]}" for j in range(6)])
    return W.build(mats, SMALL.TEMPORAL_WINDOW, future=SMALL.FUTURE_STEPS, seed=1)


def _model(ws):
    torch.manual_seed(0)
    return SMALL.build(len(ws.names))


def _cfg(**kw):
    return train.TrainConfig(**{**dict(epochs=4, batch_size=32, lr=3e-3, early_stop=None, lr_schedule="cosine"), **kw})


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """A straight 4-epoch run kept every epoch, and a starts folder holding it after epoch 3."""
    root = tmp_path_factory.mktemp("starts")
    ws = _windows()
    straight = train.fit(_model(ws), ws, _cfg(checkpoint_every=1), loss=vame.VAMELoss(), out_dir=root / "run",
                         progress=False)
    entry = starts.write_start(root / "run", "vame", 3, root / "starts",
                               {"dataset": "toy", "profile": "demo", "made_by": "tests/test_train_starts.py"})
    return root, straight, entry


def _start(root, out, ws=None, cfg=None, **kw):
    ws = ws if ws is not None else _windows()
    model = _model(ws)
    return train.bundled_start("vame", out, model, ws, cfg or _cfg(), vame.VAMELoss(), folder=root / "starts", **kw), model, ws


def test_a_bundled_start_continues_to_the_straight_runs_weights_exactly(bundle, tmp_path):
    root, straight, entry = bundle
    assert entry["epoch"] == 3 and entry["of_epochs"] == 4 and set(entry["files"]) == set(starts.FILES)
    assert entry["device"] == "cpu" and entry["autocast"] in ("float32", "bfloat16")
    got, model, ws = _start(root, tmp_path / "m")
    assert got.used and "after epoch 3 of 4" in repr(got) and "trains the last epoch here" in repr(got)
    assert "float32" not in got.message or entry["autocast"] == "float32"  # same CPU: no caveat
    res = train.fit(model, ws, _cfg(), loss=vame.VAMELoss(), out_dir=tmp_path / "m", progress=False)
    assert res.history["train_loss"].tolist() == straight.history["train_loss"].tolist()
    assert res.history["test_loss"].tolist() == straight.history["test_loss"].tolist()
    for (k, a), b in zip(straight.model.state_dict().items(), res.model.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    assert train.load_torch(tmp_path / "m" / "checkpoints" / "last.pt")["bundled_start"] == "vame"
    # a folder that already holds a run is left alone
    again, _, _ = _start(root, tmp_path / "m")
    assert not again.used and "already holds a run" in again.message
    # use=False removes the run that continued the bundle, so every epoch is trained
    off, _, _ = _start(root, tmp_path / "m", use=False)
    assert not off.used and "removed the run" in off.message
    assert not (tmp_path / "m" / "weights.pt").exists() and not list((tmp_path / "m" / "checkpoints").glob("*.pt"))
    off, _, _ = _start(root, tmp_path / "m", use=False)
    assert "training every epoch here (use_bundled_start=False" in off.message


def test_the_same_data_off_in_the_last_bits_still_uses_it(bundle, tmp_path):
    root, _, _ = bundle
    ws = _windows(rounding=3e-7)
    assert train.fingerprint(_model(ws), ws, _cfg(), vame.VAMELoss())["data"] != \
        train.fingerprint(_model(ws), _windows(), _cfg(), vame.VAMELoss())["data"]
    assert same_data(data_sample(ws), data_sample(_windows()))
    got, _, _ = _start(root, tmp_path, ws=ws)
    assert got.used


def test_a_run_trained_here_is_kept_when_use_is_false(tmp_path):
    ws = _windows()
    train.fit(_model(ws), ws, _cfg(epochs=1), loss=vame.VAMELoss(), out_dir=tmp_path, progress=False)
    got = train.bundled_start("vame", tmp_path, _model(ws), ws, _cfg(epochs=1), vame.VAMELoss(), use=False)
    assert not got.used and (tmp_path / "checkpoints" / "last.pt").exists()


@pytest.mark.parametrize("change, said", [
    (dict(lr=1e-3), "training options (lr 0.003 -> 0.001)"),
    (dict(epochs=6), "the number of epochs differs (4 -> 6)"),
    (dict(epochs=2, lr_schedule="plateau"), "the number of epochs differs (4 -> 2)"),  # plateau: not in the fingerprint
    (dict(seed=1), "seed (0 -> 1)"),
])
def test_other_settings_train_every_epoch_and_say_why(bundle, tmp_path, change, said):
    root, _, _ = bundle
    got, _, _ = _start(root, tmp_path, cfg=_cfg(**change))
    assert not got.used and said in got.message and "training every epoch here" in got.message
    assert not (tmp_path / "checkpoints").exists()


def test_other_data_another_device_and_unknown_names_train_every_epoch(bundle, tmp_path, monkeypatch):
    root, _, _ = bundle
    ws = _windows(noise=0.05)
    got, _, _ = _start(root, tmp_path, ws=ws)
    assert not got.used and "training data" in got.message
    assert not same_data(data_sample(ws), data_sample(_windows()))
    got = train.bundled_start("gpt", tmp_path, _model(ws), ws, _cfg(), vame.VAMELoss(), folder=root / "starts")
    assert not got.used and "no bundled start" in got.message
    monkeypatch.setattr(starts, "resolve_device", lambda device, fallback=False: "cuda:0")
    got, _, _ = _start(root, tmp_path)
    assert not got.used and "the device is cuda:0" in got.message  # a CPU checkpoint is not continued on a GPU
    assert not (tmp_path / "checkpoints").exists()


def test_a_cpu_without_bfloat16_uses_it_and_says_so(bundle, tmp_path, monkeypatch):
    root, _, entry = bundle
    other = "float32" if entry["autocast"] == "bfloat16" else "bfloat16"
    monkeypatch.setattr(starts, "autocast_dtype", lambda *a, **k: None if other == "float32" else torch.bfloat16)
    got, _, _ = _start(root, tmp_path)
    assert got.used and f"This CPU trains in {other} where the bundle's epochs ran in {entry['autocast']}" in got.message


def test_a_damaged_bundle_warns_and_trains_every_epoch(bundle, tmp_path):
    root, _, _ = bundle
    folder = tmp_path / "starts"
    shutil.copytree(root / "starts", folder)
    with open(folder / "vame" / "weights.pt", "ab") as fh:
        fh.write(b"x")
    ws = _windows()
    with pytest.warns(RuntimeWarning, match=r"weights\.pt is damaged .*Reinstall behavnb"):
        got = train.bundled_start("vame", tmp_path / "m", _model(ws), ws, _cfg(), vame.VAMELoss(), folder=folder)
    assert not got.used and not (tmp_path / "m").exists()  # nothing half-written
    (folder / "vame" / "last.pt").write_bytes(b"not a checkpoint")
    with pytest.warns(RuntimeWarning, match=r"last\.pt is unreadable"):
        got = train.bundled_start("vame", tmp_path / "m", _model(ws), ws, _cfg(), vame.VAMELoss(), folder=folder)
    assert not got.used
    (folder / "starts.yaml").write_text("vame: {files: {}}")
    with pytest.raises(train.CheckpointError, match="lacks epoch, of_epochs"):
        starts.read_starts(folder)
    (folder / "starts.yaml").write_text("vame: [unclosed")
    with pytest.raises(train.CheckpointError, match="starts.yaml is damaged"):
        starts.read_starts(folder)


def test_checkpoints_of_earlier_versions_keep_their_data_digest():
    # the digest of these windows before data samples existed (0cd8f76): older checkpoints must still resume
    assert train.checkpoints._data_digest(_windows()) == "34a383a824f1a70e"


def test_the_shipped_starts_are_complete_and_match_their_sha256_and_the_models():
    import dataclasses

    from behavnb.inputs import Skeleton
    from behavnb.models import vqmap

    shipped = starts.read_starts()
    assert set(shipped) == {"vame", "vqmap"}
    for name, entry in shipped.items():
        assert entry["dataset"] == "synthetic-demo" and entry["profile"] == "demo" and entry["device"] == "cpu"
        assert 0 < entry["epoch"] < entry["of_epochs"]
        for file, digest in entry["files"].items():
            assert starts.sha256(starts.starts_dir() / name / file) == digest, (name, file)
        ckpt = train.load_torch(starts.starts_dir() / name / "last.pt")
        assert ckpt["epoch"] == entry["epoch"] and ckpt["bundled_start"] == name and "columns" in ckpt["data_sample"]
    # notebooks 04 and 05 build these models and losses in the demo profile: a change to either (an architecture,
    # a default) makes the bundled starts stale, and the demo would train every epoch: rerun make_starts.py
    built = {}
    ck = train.load_torch(starts.starts_dir() / "vame" / "last.pt")
    arch = dataclasses.replace(vame.PRESETS["cpu_fast"], TEMPORAL_WINDOW=15, FUTURE_STEPS=15)
    built["vame"] = (arch.build(len(ck["features"])), vame.VAMELoss(beta=0.1, future_to_encoder=False), ck)
    ck = train.load_torch(starts.starts_dir() / "vqmap" / "last.pt")
    kps = list(dict.fromkeys(f.rsplit("_", 1)[0] for f in ck["features"]))
    arch = vqmap.VQMAPConfig(skeletons=vqmap.skeleton_config({"main": Skeleton(kps)}), window=32, downsample=8,
                             n_types=8, n_subtypes=16, quantize="split")
    built["vqmap"] = (arch.build(), vqmap.VQMAPLoss(), ck)
    for name, (model, loss, ck) in built.items():
        now = train.fingerprint(model, _windows(), train.TrainConfig(), loss)
        assert now["model"] == ck["fingerprint"]["model"], f"{name}: the model changed; rerun benchmarks/make_starts.py"
        assert now["loss"] == ck["fingerprint"]["loss"], f"{name}: the loss changed; rerun benchmarks/make_starts.py"
