"""Cleaning and alignment: geometry, interpolation, filters against the generator's truth, QC, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings, strategies as st

import behavnb as bn
from behavnb.errors import KeypointNotFoundError, ParameterError, SessionTooShortError
from behavnb.io.schema import RawPoses, make_poses
from behavnb.preprocess import FLAGS

P = bn.preprocess
KPS = ["nose", "ear_left", "ear_right", "neck", "mid_spine", "hip_left", "hip_right", "tail_base"]


def walking_mouse(n: int = 300, fps: float = 30.0, seed: int = 0) -> xr.Dataset:
    """A rigid 8-keypoint mouse moving on a curved path, with a little jitter."""
    rng = np.random.default_rng(seed)
    body = np.array([[4.6, 0], [3.1, 1], [3.1, -1], [2.5, 0], [0, 0], [-1.9, 1.1], [-1.9, -1.1], [-3.8, 0]]) * 8
    t = np.arange(n) / fps
    heading = 0.8 * np.sin(t)
    centre = np.stack([200 + 60 * np.cos(0.5 * t), 200 + 40 * np.sin(0.7 * t)], axis=1)
    c, s = np.cos(heading)[:, None], np.sin(heading)[:, None]
    x = centre[:, :1] + c * body[:, 0] - s * body[:, 1]
    y = centre[:, 1:] + s * body[:, 0] + c * body[:, 1]
    pos = np.stack([x, y], axis=1)[..., None] + rng.normal(0, 0.2, (n, 2, len(KPS), 1))
    conf = np.full((n, len(KPS), 1), 0.95)
    return make_poses(RawPoses(pos, conf, KPS, ["m1"], "test"), fps=fps, source_file="", session="walk")


# --- alignment -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("axis", ["x", "y"])
def test_two_point_alignment_puts_centre_at_origin_and_heading_on_axis(axis):
    ds = walking_mouse()
    ds["position"][50:60, :, 0] = np.nan  # the heading keypoint lost for 10 frames
    out = P.align(ds, centre="tail_base", heading="nose", axis=axis)
    ego = out["ego_position"]
    valid = ~out["reference_missing"].sel(individual="m1").values
    assert valid.sum() == len(valid) - 10
    centre = ego.sel(keypoint="tail_base", individual="m1").values[valid]
    head = ego.sel(keypoint="nose", individual="m1").values[valid]
    np.testing.assert_allclose(centre, 0, atol=1e-9)
    on, off = (0, 1) if axis == "x" else (1, 0)
    np.testing.assert_allclose(head[:, off], 0, atol=1e-9)
    assert (head[:, on] > 0).all()
    assert np.isnan(ego.values[50:60]).all()
    assert "2-point" in out.attrs["log"].splitlines()[-1]


@settings(max_examples=25, deadline=None)
@given(angle=st.floats(-np.pi, np.pi), dx=st.floats(-500, 500), dy=st.floats(-500, 500))
def test_alignment_ignores_rotation_and_translation_of_the_input(angle, dx, dy):
    ds = walking_mouse(n=60)
    moved = ds.copy()
    moved["position"] = ds["position"].copy(data=P.rotate_translate(ds["position"].values, angle, (dx, dy)))
    for kwargs in ({"centre": "tail_base", "heading": "nose"}, {}):
        a = P.align(ds, **kwargs)["ego_position"].values
        b = P.align(moved, **kwargs)["ego_position"].values
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_multi_point_alignment_survives_a_missing_reference_point():
    ds = walking_mouse()
    ds["position"][::3, :, 0] = np.nan  # nose missing in a third of the frames
    two = P.align(ds, centre="tail_base", heading="nose")
    multi = P.align(ds, anterior=["nose", "ear_left", "ear_right", "neck"], posterior=["hip_left", "hip_right", "tail_base"])
    assert int(two["reference_missing"].sum()) == 100
    assert int(multi["reference_missing"].sum()) == 0
    # the heading barely moves when the nose drops out of the anterior median
    full = P.align(walking_mouse(), anterior=["nose", "ear_left", "ear_right", "neck"],
                   posterior=["hip_left", "hip_right", "tail_base"])
    diff = np.angle(np.exp(1j * (multi["heading"].values - full["heading"].values)))
    assert np.abs(diff).max() < np.radians(3)
    assert {"centroid", "heading", "speed"} <= set(multi.data_vars)


def test_guessed_reference_and_centre():
    ref = P.guess_reference(walking_mouse())
    assert ref["anterior"] == ["nose", "ear_left", "ear_right", "neck"]
    assert ref["posterior"] == ["hip_left", "hip_right", "tail_base"]
    assert ref["centre"] == ["mid_spine"]


def test_lr_pairs_from_names():
    assert P.lr_pairs(["ear_left", "ear_right", "nose"]) == [("ear_left", "ear_right")]
    assert P.lr_pairs(["EarL", "EarR", "Nose"]) == [("EarL", "EarR")]
    assert P.lr_pairs(["Forehand-Left", "Forehand-Right", "Tailroot"]) == [("Forehand-Left", "Forehand-Right")]
    assert P.lr_pairs(["left_paw", "right_paw"]) == [("left_paw", "right_paw")]
    assert P.lr_pairs(["Nose", "Tailroot", "Lateral"]) == []


def test_scale_to_cm_and_body_length():
    ds = P.align(walking_mouse(), centre="tail_base", heading="nose")
    cm = P.scale(ds, px_per_cm=8.0)
    np.testing.assert_allclose(cm["position"].values, ds["position"].values / 8)
    assert cm["speed"].attrs["units"] == "cm/s" and cm.attrs["units"] == "cm"
    bl = P.scale(cm, body_length=True)
    nose = bl["ego_position"].sel(keypoint="nose", space="x").values
    assert np.nanmedian(nose) == pytest.approx(1.0, abs=0.01)
    with pytest.raises(ParameterError, match="already in 'cm'"):
        P.scale(cm, px_per_cm=8.0)


# --- interpolation and smoothing -------------------------------------------------------------------------


def test_interpolation_fills_short_gaps_exactly_and_leaves_long_ones():
    n = 100
    pos = np.zeros((n, 2, 1, 1))
    pos[:, 0, 0, 0] = np.arange(n) * 2.0  # linear: interpolation is exact
    pos[:, 1, 0, 0] = 5.0
    truth = pos.copy()
    pos[10:13] = np.nan  # 3 frames: filled
    pos[30:35] = np.nan  # 5 frames == max_gap: filled
    pos[50:56] = np.nan  # 6 frames: left
    pos[:2] = np.nan  # leading: left
    ds = make_poses(RawPoses(pos, np.ones((n, 1, 1)), ["a"], ["i"], "test"), fps=10, source_file="", session="g")
    out = P.interpolate(ds, max_gap=5)
    x = out["position"].values
    np.testing.assert_allclose(x[10:13], truth[10:13])
    np.testing.assert_allclose(x[30:35], truth[30:35])
    assert np.isnan(x[50:56]).all() and np.isnan(x[:2]).all()
    flags = out["flag"].values[:, 0, 0]
    assert ((flags & FLAGS["interpolated"]) > 0).sum() == 8
    assert (P.interpolate(ds, max_gap="0.5s")["position"].values[30:35] == x[30:35]).all()  # 0.5 s = 5 frames
    cubic = make_poses(RawPoses(truth ** 1, np.ones((n, 1, 1)), ["a"], ["i"], "test"), fps=10, source_file="", session="c")
    cubic["position"][:, 0] = (np.arange(n) / 10.0)[:, None, None] ** 3
    ref = cubic["position"].values.copy()
    cubic["position"][40:44] = np.nan
    filled = P.interpolate(cubic, max_gap=5, method="cubic")["position"].values
    np.testing.assert_allclose(filled[40:44], ref[40:44], rtol=1e-6)


def test_smoothing_keeps_gaps_and_reduces_jitter():
    ds = walking_mouse(seed=1)
    ds["position"][100:110] = np.nan
    for method, gain in (("savgol", 0.6), ("median", 0.95)):
        out = P.smooth(ds, method=method, window="0.3s")
        assert np.isnan(out["position"].values[100:110]).all()
        assert not np.isnan(out["position"].values[:100]).any()
        rough = np.nanstd(np.diff(ds["position"].values, 2, axis=0))
        smooth = np.nanstd(np.diff(out["position"].values, 2, axis=0))
        assert smooth < gain * rough


# --- filters against the synthetic truth -------------------------------------------------------------------


def test_outlier_filters_find_planted_swaps_and_jumps():
    name = "synthetic-tiny"
    noise = pd.read_parquet(bn.manifest.fetch(name)["truth_noise.parquet"])
    poses = bn.manifest.load_sessions(bn.manifest.sessions(name), progress=False)
    scores = P.score_filters({s: P.clean(ds) for s, ds in poses.items()}, noise).set_index("filter")
    swap, jump, cleaned = scores.loc["swap fix"], scores.loc["jump removal"], scores.loc["jump cleaning (any step)"]
    assert swap["planted"] > 20 and jump["planted"] > 20
    # v2 postures (a mouse licking its flank, face washing) make some real frames look swapped: the fixer must
    # find the planted swaps and leave almost every other point alone
    n_points = sum(ds.sizes["time"] * ds.sizes["keypoint"] * ds.sizes["individual"] for ds in poses.values())
    false = swap["flagged"] - swap["recall"] * swap["planted"]
    assert swap["recall"] > 0.8 and false / n_points < 1e-3, (swap.to_dict(), n_points)
    assert jump["recall"] > 0.2  # most planted jumps have low confidence: the cutoff removes them first
    assert cleaned["recall"] > 0.9


def test_project_skips_sessions_that_failed_qc(tmp_path):
    project = bn.project.Project(tmp_path / "run")
    project.write_sessions(pd.DataFrame({"session": ["a", "b"], "subject": ["a", "b"], "group": ["WT", "KO"],
                                         "file": ["a.csv", "b.csv"], "fps": [30, 30]}))
    assert project.usable_sessions() == ["a", "b"]
    project.write_table(pd.DataFrame({"session": ["a", "b"], "individual": ["m", "m"], "qc_pass": [True, False],
                                      "qc_reason": ["", "too much missing"]}), project.qc_sessions_csv)
    with pytest.warns(bn.errors.DataWarning, match=r"\['b'\]"):
        assert project.usable_sessions() == ["a"]
    with pytest.raises(bn.errors.PoseFileNotFoundError, match="02_preprocess"):
        project.read_clean("a")
    ds = P.clean(walking_mouse())
    project.write_dataset(ds, project.clean_path("a"))
    back = project.read_clean("a")
    np.testing.assert_array_equal(back["flag"].values, ds["flag"].values)
    assert back["reference_missing"].dtype == bool and back.attrs["log"] == ds.attrs["log"]


def test_qc_table_and_summary_flag_bad_sessions():
    ds = walking_mouse()
    ds["confidence"][:200, 0] = 0.1  # the nose mostly below the cutoff
    out = P.clean(ds)
    qc = P.qc_table(out)
    nose = qc.set_index("keypoint").loc["nose"]
    assert nose["pct_low_confidence"] == pytest.approx(100 * 200 / 300)
    assert nose["longest_gap_frames"] == 200  # too long to interpolate
    assert {"pct_interpolated", "pct_jump", "pct_outlier", "pct_swapped", "longest_gap_s"} <= set(qc.columns)
    summary = P.qc_summary(qc, {"walk": out}, max_missing=5.0)
    assert not summary["qc_pass"].iloc[0] and "missing" in summary["qc_reason"].iloc[0]


def test_clean_sessions_drops_an_empty_keypoint_everywhere():
    a, b = walking_mouse(seed=1), walking_mouse(seed=2)
    b.attrs["session"] = "walk2"
    b["position"][:, :, KPS.index("ear_left")] = np.nan
    with pytest.warns(bn.errors.DataWarning, match="ear_left"):
        cleaned, qc, summary = P.clean_sessions({"walk": a, "walk2": b}, progress=False)
    assert all("ear_left" not in ds["keypoint"].values for ds in cleaned.values())
    assert len(summary) == 2 and summary["qc_pass"].all()


# --- bad input ---------------------------------------------------------------------------------------------


def test_unknown_reference_keypoint_lists_the_available_names():
    with pytest.raises(KeypointNotFoundError, match=r"'snout'.*available: \['nose', 'ear_left'"):
        P.align(walking_mouse(), centre="tail_base", heading="snout")
    with pytest.raises(KeypointNotFoundError, match="available"):
        P.clean(walking_mouse(), anterior=["snout"], posterior=["tail_base"])


def test_all_nan_keypoint_warns_and_drops_or_refuses():
    ds = walking_mouse()
    ds["position"][:, :, KPS.index("ear_right")] = np.nan
    with pytest.warns(bn.errors.DataWarning, match="ear_right"):
        out = P.clean(ds)
    assert "ear_right" not in out["keypoint"].values
    with pytest.raises(ParameterError, match="ear_right.*on_empty='drop'"):
        P.clean(ds, on_empty="raise")


def test_session_shorter_than_the_smoothing_window():
    with pytest.raises(SessionTooShortError, match="5 frames, shorter than the smoothing window"):
        P.smooth(walking_mouse(n=5), window=9)


def test_window_in_seconds_needs_fps():
    ds = walking_mouse()
    ds.attrs["fps"] = None
    with pytest.raises(ParameterError, match="no frame rate"):
        P.smooth(ds, window="0.2s")
    P.smooth(ds, window=7)  # frames need no fps
    with pytest.raises(ParameterError, match="frames as an int"):
        P.smooth(walking_mouse(), window=0.2)


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_threshold_outside_unit_interval(bad):
    with pytest.raises(ParameterError, match=r"outside \[0, 1\]"):
        P.filter_confidence(walking_mouse(), bad)


def test_steps_are_pure_and_logged():
    ds = walking_mouse()
    before = ds["position"].values.copy()
    out = P.clean(ds)
    np.testing.assert_array_equal(ds["position"].values, before)
    steps = [line.split(":")[0] for line in out.attrs["log"].splitlines()]
    assert steps[-7:] == ["preprocess.filter_confidence", "preprocess.fix_swaps", "preprocess.remove_jumps",
                          "preprocess.remove_far_points", "preprocess.interpolate", "preprocess.smooth",
                          "preprocess.align"]


def test_clean_is_vectorised_over_individuals():
    a = walking_mouse(seed=1)
    two = xr.concat([a, a.assign_coords(individual=["m2"])], dim="individual")
    out = P.clean(two)
    np.testing.assert_allclose(out["ego_position"].sel(individual="m1").values,
                               out["ego_position"].sel(individual="m2").values)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        P.qc_table(out)


def test_alignment_quality_counts_lost_frames_and_heading_jitter():
    ds = walking_mouse()
    ds["position"][::3, :, 0] = np.nan
    two = P.alignment_quality({"w": P.align(ds, centre="tail_base", heading="nose")})
    multi = P.alignment_quality({"w": P.align(ds)})
    assert two["% frames without reference"] == pytest.approx(100 / 3, abs=0.5)
    assert multi["% frames without reference"] == 0
    assert 0 < multi["median |turning rate| (rad/s)"] < 2
