"""Features: agreement with the generator's truth, units, arena distance, social features, model inputs."""

from __future__ import annotations

import numpy as np
import pytest

import behavnb as bn
from behavnb.errors import ParameterError
from behavnb.synth import NoiseSpec, make_cohort
from behavnb.synth.motion import Arena

F = bn.features


@pytest.fixture(scope="module")
def clean_cohort():
    """Noise-free synthetic sessions (2 mice, 2 min), cleaned and scaled to cm."""
    cohort = make_cohort(None, groups=["WT"], animals_per_group=2, sessions_per_animal=(1, 1), duration_s=120,
                         noise=NoiseSpec.none(), seed=11)
    arena = Arena()
    cleaned = {s: bn.preprocess.clean(ds, confidence=None, px_per_cm=arena.px_per_cm) for s, ds in cohort.poses.items()}
    return cohort, cleaned, arena


def test_speed_and_heading_agree_with_the_truth(clean_cohort):
    cohort, cleaned, _ = clean_cohort
    for session, ds in cleaned.items():
        truth = cohort.truth[cohort.truth["session"] == session]
        speed = F.speed(ds).values[:, 0]
        ok = np.isfinite(speed)
        assert ok.mean() > 0.99
        assert np.corrcoef(speed[ok], truth["speed_cm_s"].to_numpy()[ok])[0, 1] >= 0.95
        # image y points down: the image heading is minus the arena heading
        h, h_true = ds["heading"].values[:, 0], -truth["heading"].to_numpy()
        ok = np.isfinite(h)
        for fn in (np.cos, np.sin):
            assert np.corrcoef(fn(h[ok]), fn(h_true[ok]))[0, 1] >= 0.95
        w = F.angular_velocity(ds).values[:, 0]
        w_true = -np.gradient(np.unwrap(truth["heading"].to_numpy())) * ds.attrs["fps"]
        ok = np.isfinite(w)
        assert np.corrcoef(w[ok], w_true[ok])[0, 1] >= 0.8


def test_every_feature_has_units_and_frames(clean_cohort):
    _, cleaned, arena = clean_cohort
    ds = next(iter(cleaned.values()))
    feats = F.compute(ds)
    assert set(F.FEATURES) - {"landmark_distance"} <= set(feats.data_vars)  # no landmarks in this cohort
    assert "landmark_distance" not in feats
    for name, da in feats.data_vars.items():
        assert da.attrs.get("units"), name
        assert da.sizes["time"] == ds.sizes["time"]
    assert feats["speed"].attrs["units"] == "cm/s" and feats["angular_velocity"].attrs["units"] == "rad/s"
    length = feats["body_length"].values
    assert 4 < np.nanmedian(length) < 9  # cm, nose-side to tail-side of a mouse


def test_wall_distance_rectangle_circle_and_hull(clean_cohort):
    _, cleaned, arena = clean_cohort
    ds = next(iter(cleaned.values()))
    lo = arena.border_px / arena.px_per_cm
    rect = {"shape": "rectangle", "xmin": lo, "ymin": lo, "xmax": lo + arena.size_cm, "ymax": lo + arena.size_cm}
    d = F.wall_distance(ds, rect).values
    assert np.nanmin(d) > 0 and np.nanmax(d) <= arena.size_cm / 2
    xy = ds["centroid"].values[:, :2, 0]
    manual = np.minimum.reduce([xy[:, 0] - lo, lo + arena.size_cm - xy[:, 0], xy[:, 1] - lo, lo + arena.size_cm - xy[:, 1]])
    np.testing.assert_allclose(d[:, 0], manual, atol=1e-9)
    hull = F.wall_distance(ds).values
    assert np.nanmin(hull) >= -1e-9 and np.nanmax(hull) <= np.nanmax(d)
    circle = F.wall_distance(ds, {"shape": "circle", "cx": lo + 25, "cy": lo + 25, "r": 25}).values
    assert np.nanmax(circle) <= 25
    with pytest.raises(ParameterError, match="rectangle"):
        F.wall_distance(ds, {"shape": "hexagon"})


def test_social_features_on_two_mice():
    cohort = make_cohort(None, groups=["WT"], animals_per_group=1, sessions_per_animal=(1, 1), duration_s=120,
                         animals_per_session=2, noise=NoiseSpec.none(), seed=5)
    session, ds = next(iter(cohort.poses.items()))
    ds = bn.preprocess.clean(ds, confidence=None, px_per_cm=8.0)
    soc = F.social(ds)
    dist = soc["distance"].values
    np.testing.assert_allclose(dist[:, 0, 1], dist[:, 1, 0])
    assert np.isnan(dist[:, 0, 0]).all()
    truth = cohort.truth[(cohort.truth["session"] == session) & (cohort.truth["individual"] == "mouse2")]
    nose_to_nose = truth["social"].to_numpy() == "nose_to_nose"
    nn = soc["nose_nose"].values[:, 1, 0]
    assert nose_to_nose.any()
    assert np.nanmedian(nn[nose_to_nose]) < 0.3 * np.nanmedian(nn[~nose_to_nose])
    # approaching: the distance shrinks when my approach speed is positive
    approach = soc["approach_speed"].values[:, 1, 0]
    shrink = -np.gradient(dist[:, 1, 0]) * ds.attrs["fps"]
    ok = np.isfinite(approach) & np.isfinite(shrink)
    assert np.corrcoef(approach[ok], shrink[ok])[0, 1] > 0.3
    facing = soc["facing_angle"].values
    assert np.nanmin(facing) >= 0 and np.nanmax(facing) <= np.pi
    feats = F.compute(ds)
    assert "social_nose_tail" in feats and feats["social_nose_tail"].attrs["units"] == "cm"


def test_model_inputs_select_features(clean_cohort):
    _, cleaned, _ = clean_cohort
    feats = F.compute(next(iter(cleaned.values())))
    x = bn.inputs.extra_features(feats, ["speed", "angular_velocity", "keypoint_speed"])
    n_kp = feats.sizes["keypoint"]
    assert x.dims == ("time", "feature", "individual") and x.sizes["feature"] == 2 + n_kp
    assert list(x["feature"].values[:3]) == ["speed", "angular_velocity", "keypoint_speed:nose"]
    lg = bn.inputs.extra_features(feats, ["speed", "angular_velocity", "keypoint_speed"], log_speeds=True)
    assert list(lg["feature"].values[:3]) == ["log1p_speed", "angular_velocity", "log1p_keypoint_speed:nose"]
    np.testing.assert_allclose(lg.values[:, 0], np.log1p(x.values[:, 0]), equal_nan=True)
    np.testing.assert_array_equal(lg.values[:, 1], x.values[:, 1])  # angular velocity is signed: left alone
    with pytest.raises(ParameterError, match="available"):
        bn.inputs.extra_features(feats, ["velocity"])


def test_features_need_cleaned_poses():
    cohort = make_cohort(None, groups=["WT"], animals_per_group=1, sessions_per_animal=(1, 1), duration_s=10, seed=1)
    raw = next(iter(cohort.poses.values()))
    with pytest.raises(ParameterError, match="preprocess.clean"):
        F.speed(raw)
    with pytest.raises(ParameterError, match="unknown feature"):
        F.compute(bn.preprocess.clean(raw), include=["speedy"])


def test_bout_durations_and_autocorrelation():
    d = F.bout_durations(np.array([0, 0, 0, 1, 1, 0, 2, 2, 2, 2]), fps=2.0)
    np.testing.assert_allclose(d[0], [1.5, 0.5])
    np.testing.assert_allclose(d[1], [1.0])
    np.testing.assert_allclose(d[2], [2.0])
    rng = np.random.default_rng(0)
    slow = np.convolve(rng.normal(size=5000), np.ones(30) / 30, mode="same")  # correlated over ~1 s at 30 fps
    fast = rng.normal(size=5000)
    ac_slow, ac_fast = F.autocorrelation([slow], 30.0, 2.0), F.autocorrelation(fast, 30.0, 2.0)
    assert ac_slow.values[0] == pytest.approx(1.0) and ac_fast.values[0] == pytest.approx(1.0)
    assert 0.3 < F.timescale(ac_slow) < 1.0
    assert F.timescale(ac_fast) <= 1 / 30 + 1e-9


def test_arena_from_the_registry_in_the_data_units():
    px = {"shape": "rectangle", "xmin": 100.0, "ymin": 100.0, "xmax": 500.0, "ymax": 500.0}
    assert F.arena_in_units(px, "px") == px
    assert F.arena_in_units(px, "cm", 8.0) == {"shape": "rectangle", "xmin": 12.5, "ymin": 12.5, "xmax": 62.5, "ymax": 62.5}
    assert F.arena_in_units(None, "cm") is None
    with pytest.raises(ParameterError, match="no px_per_cm"):
        F.arena_in_units(px, "cm")
