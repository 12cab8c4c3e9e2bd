"""Model health checks (``behavnb.health``): collapsed codebooks, negative held-out R², a flat or diverged loss,
a healthy model passing, the health.json round trip and ``require_healthy`` refusing with the fix named."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from behavnb import health
from behavnb.errors import BehavnbError, DataWarning


def falling_history(n=5, start=2.0):
    loss = start * 0.8 ** np.arange(n)
    return pd.DataFrame({"epoch": np.arange(1, n + 1), "train_loss": loss, "test_loss": loss * 1.1})


def healthy_codes(seed=0):
    rng = np.random.default_rng(seed)
    return {"type": (rng.integers(0, 8, 5000), 8), "subtype": (rng.integers(0, 16, 5000), 16)}


def test_healthy_model_passes():
    """A falling loss, positive R² and codes spread over the codebooks: ok, no problems, a green line."""
    scores = pd.Series({"position_mse": 0.3, "position_r2": 0.7, "velocity_mse": 0.5, "velocity_r2": 0.5})
    h = health.check_model("vqmap", history=falling_history(), scores=scores, codes=healthy_codes())
    assert h.ok and h.problems == [] and h.status == "healthy"
    assert h.metrics["perplexity_type"] > 7 and h.metrics["used_subtype"] == 16
    assert h.metrics["held_out_position_r2"] == pytest.approx(0.7)
    assert "healthy" in h._repr_html_()


def test_collapsed_codebook_is_an_error():
    """Almost every step on one type code (the B-SOiD collapse): an error naming the codebook and its perplexity."""
    rng = np.random.default_rng(1)
    types = np.where(rng.random(5000) < 0.99, 3, rng.integers(0, 8, 5000))
    codes = {"type": (types, 8), "subtype": (np.full(5000, 7), 16)}
    h = health.check_model("vqmap", history=falling_history(), codes=codes)
    assert not h.ok and h.status == "unhealthy"
    assert len(h.errors) == 2
    assert any("type codebook collapsed" in p for p in h.errors) and any("subtype codebook collapsed" in p for p in h.errors)
    px = h.metrics["perplexity_type"]
    assert 1.0 < px < 2.0 and f"{px:.2f}" in h.errors[0]
    assert h.metrics["used_subtype"] == 1
    html = h._repr_html_()
    assert "unhealthy" in html and "#c62828" in html  # the red box


def test_codes_without_a_code_are_ignored():
    """-1 (no code: a window with a missing frame) does not count as a code."""
    c = np.r_[np.full(100, -1), np.arange(8).repeat(50)]
    h = health.check_model("vqmap", codes={"type": (c, 8)})
    assert h.ok and h.metrics["used_type"] == 8 and h.metrics["perplexity_type"] == pytest.approx(8.0)


def test_idle_codes_are_a_warning():
    """Three of sixteen codes used evenly: not collapsed, but most codes idle -> a warning, still ok."""
    h = health.check_model("vqmap", codes={"subtype": (np.tile([0, 5, 9], 500), 16)})
    assert h.ok and h.status == "warning" and h.severity == ["warning"]
    assert "3.00 of 16" in h.problems[0]
    assert "#f9a825" in h._repr_html_()  # the yellow box


def test_negative_r2_is_an_error():
    """Held-out R² below 0 (worse than the mean pose): an error with the number; evaluate.scores' DataFrame works too."""
    scores = pd.Series({"position_mse": 1.18, "position_r2": -0.125, "velocity_mse": 1.1, "velocity_r2": 0.3})
    h = health.check_model("vqmap", scores=scores)
    assert not h.ok and len(h.errors) == 1 and "-0.12" in h.errors[0] and "position" in h.errors[0]
    frame = pd.DataFrame({"reconstruction_mse": [0.1, 0.9], "reconstruction_r2": [0.5, -0.2],
                          "prediction_r2": [0.1, 0.4]}, index=pd.Index(["nose", "all"], name="keypoint"))
    h2 = health.check_model("vame", scores=frame)
    assert not h2.ok and h2.metrics == {"held_out_reconstruction_r2": -0.2}
    assert health.check_model("vame", scores=0.4).ok


def test_flat_and_diverged_loss():
    """A loss that never drops below epoch 1 is an error; one that barely drops a warning; NaN an error."""
    flat = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [1.0, 1.02, 1.0]})
    h = health.check_model("vame", history=flat)
    assert not h.ok and "never dropped" in h.errors[0]
    slight = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [1.0, 0.998, 0.996]})
    h = health.check_model("vame", history=slight)
    assert h.ok and h.status == "warning" and "0.40 %" in h.problems[0]
    nan = pd.DataFrame({"epoch": [1, 2], "train_loss": [1.0, float("nan")]})
    assert "not finite" in health.check_model("vame", history=nan).errors[0]
    one = pd.DataFrame({"epoch": [1], "train_loss": [1.0]})
    assert health.check_model("vame", history=one).problems == []  # one epoch: nothing to judge


def test_history_from_a_model_directory(tmp_path):
    """``history`` may be the model directory (its history.csv) or a FitResult-like object."""
    falling_history().to_csv(tmp_path / "history.csv", index=False)
    assert health.check_model("vame", history=tmp_path).metrics["epochs"] == 5

    class Fit:
        history = pd.DataFrame({"epoch": [1, 2], "train_loss": [2.0, 2.5]})

    assert not health.check_model("vame", history=Fit()).ok


def test_save_read_round_trip(tmp_path):
    """save -> health.json -> read_health gives the same verdict; a missing file is None; a damaged one warns."""
    h = health.check_model("vqmap", history=falling_history(), scores=-0.1, codes=healthy_codes())
    path = h.save(tmp_path / "models" / "vqmap")
    assert path.name == "health.json" and json.loads(path.read_text())["ok"] is False
    back = health.read_health(tmp_path / "models" / "vqmap")
    assert back == h
    assert health.read_health(tmp_path / "nowhere") is None
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "health.json").write_text("{not json")
    with pytest.warns(DataWarning, match="health is unknown"):
        assert health.read_health(tmp_path / "bad") is None


def test_require_healthy(tmp_path):
    """An unhealthy model is refused with its problems and the fix; allow_unhealthy lets it through with a warning;
    a healthy or unchecked model passes."""
    sick = tmp_path / "vqmap"
    health.check_model("vqmap", codes={"type": (np.zeros(500, int), 8)}).save(sick)
    with pytest.raises(health.UnhealthyModelError) as err:
        health.require_healthy(sick)
    msg = str(err.value)
    assert isinstance(err.value, BehavnbError)
    assert "'vqmap'" in msg and "type codebook collapsed" in msg and "allow_unhealthy=true" in msg
    with pytest.warns(DataWarning, match="used anyway"):
        assert health.require_healthy(sick, allow_unhealthy=True).ok is False
    well = tmp_path / "vame"
    health.check_model("vame", history=falling_history(), scores=0.6).save(well)
    assert health.require_healthy(well).ok
    assert health.require_healthy(tmp_path / "never-checked") is None
    # a poor fit (negative held-out R²) is shown and warned about, not refused: the series goes on
    poor = tmp_path / "poor"
    health.check_model("vame", history=falling_history(), scores=-0.78).save(poor)
    assert not health.read_health(poor).ok and not health.read_health(poor).collapsed
    with pytest.warns(DataWarning, match="fits poorly"):
        assert health.require_healthy(poor).ok is False
    assert health.read_health(sick).collapsed
