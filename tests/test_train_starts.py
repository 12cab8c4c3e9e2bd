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


def test_a_bundled_start_continues_to_the_straight_runs_weights(bundle, tmp_path):
    root, straight, entry = bundle
    assert entry["epoch"] == 3 and entry["of_epochs"] == 4 and set(entry["files"]) == set(starts.FILES)
    ws = _windows(rounding=3e-7)  # differences in the last bits still match
    assert train.fingerprint(_model(ws), ws, _cfg(), vame.VAMELoss())["data"] != \
        train.fingerprint(_model(ws), _windows(), _cfg(), vame.VAMELoss())["data"]
    model, cfg = _model(ws), _cfg()
    got = train.bundled_start("vame", tmp_path / "m", model, ws, cfg, vame.VAMELoss(), folder=root / "starts")
    assert got.used and "after epoch 3 of 4" in repr(got) and "trains the last epoch here" in repr(got)
    res = train.fit(model, ws, cfg, loss=vame.VAMELoss(), out_dir=tmp_path / "m", progress=False)
    assert list(res.history["epoch"]) == [1, 2, 3, 4]
    np.testing.assert_allclose(res.history["train_loss"].iloc[:3], straight.history["train_loss"].iloc[:3])
    assert abs(res.history["train_loss"].iloc[3] - straight.history["train_loss"].iloc[3]) < 1e-3
    assert (tmp_path / "m" / "weights.pt").exists() and (tmp_path / "m" / "history.csv").exists()
    # a folder that already holds a run is left alone
    again = train.bundled_start("vame", tmp_path / "m", _model(ws), ws, cfg, vame.VAMELoss(), folder=root / "starts")
    assert not again.used and "already holds a run" in again.message


@pytest.mark.parametrize("change, said", [
    (dict(lr=1e-3), "training options (lr 0.003 -> 0.001)"),
    (dict(epochs=6), "epochs (4 -> 6"),
    (dict(seed=1), "seed (0 -> 1)"),
])
def test_other_settings_train_every_epoch_and_say_why(bundle, tmp_path, change, said):
    root, _, _ = bundle
    ws = _windows()
    got = train.bundled_start("vame", tmp_path, _model(ws), ws, _cfg(**change), vame.VAMELoss(), folder=root / "starts")
    assert not got.used and said in got.message and "training every epoch here" in got.message
    assert not (tmp_path / "checkpoints").exists()


def test_other_data_and_unknown_names_train_every_epoch(bundle, tmp_path):
    root, _, _ = bundle
    ws = _windows(noise=0.05)
    got = train.bundled_start("vame", tmp_path, _model(ws), ws, _cfg(), vame.VAMELoss(), folder=root / "starts")
    assert not got.used and "training data" in got.message
    assert not same_data(data_sample(ws), data_sample(_windows()))
    got = train.bundled_start("gpt", tmp_path, _model(ws), ws, _cfg(), vame.VAMELoss(), folder=root / "starts")
    assert not got.used and "no bundled start" in got.message


def test_a_damaged_bundle_is_refused_naming_the_file(bundle, tmp_path):
    root, _, _ = bundle
    folder = tmp_path / "starts"
    shutil.copytree(root / "starts", folder)
    with open(folder / "vame" / "last.pt", "ab") as fh:
        fh.write(b"x")
    ws = _windows()
    with pytest.raises(train.CheckpointError, match=r"last\.pt is damaged .*use_bundled_start=False"):
        train.bundled_start("vame", tmp_path / "m", _model(ws), ws, _cfg(), vame.VAMELoss(), folder=folder)
    assert not (tmp_path / "m").exists()  # nothing half-written
    (folder / "starts.yaml").write_text("vame: [unclosed")
    with pytest.raises(train.CheckpointError, match="starts.yaml is damaged"):
        starts.read_starts(folder)


def test_the_shipped_starts_are_complete_and_match_their_sha256():
    shipped = starts.read_starts()
    assert set(shipped) == {"vame", "vqmap"}
    for name, entry in shipped.items():
        assert entry["dataset"] == "synthetic-demo" and entry["profile"] == "demo"
        assert 0 < entry["epoch"] < entry["of_epochs"]
        for file, digest in entry["files"].items():
            assert starts._sha256(starts.starts_dir() / name / file) == digest, (name, file)
        ckpt = train.load_torch(starts.starts_dir() / name / "last.pt")
        assert ckpt["epoch"] == entry["epoch"] and "data_sample" in ckpt
