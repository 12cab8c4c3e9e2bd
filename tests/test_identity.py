"""Identities of multi-animal tracks: stitching fragments (synthetic truth and real SLEAP files), swap repair."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

from behavnb.errors import DataWarning, ParameterError
from behavnb.preprocess import FLAGS, filter_confidence, qc_table, score_filters
from behavnb.preprocess.identity import repair_identity_swaps, score_stitching, stitch_table, stitch_tracks
from behavnb.synth import NoiseSpec, make_cohort
from behavnb.synth.noise import fragment_tracks


def pair_session(seed: int = 0, duration_s: float = 60.0, dims: int = 2, swaps: bool = False) -> tuple:
    """A two-mouse synthetic session (confidence-filtered) and its truth_noise table."""
    spec = NoiseSpec(missing="nan", id_swap_rate=0.002 if swaps else 0.0, id_swap_frames=(30, 300))
    cohort = make_cohort(None, groups=["WT"], animals_per_group=1, sessions_per_animal=1, duration_s=duration_s,
                         animals_per_session=2, dims=dims, noise=spec, seed=seed)
    session, ds = next(iter(cohort.poses.items()))
    return session, filter_confidence(ds, 0.6), cohort.noise


def overlaps(frag) -> int:
    """Frames where two fragments of one identity overlap."""
    bad = 0
    for _, g in frag[frag["identity"] != ""].groupby("identity"):
        g = g.sort_values("start")
        bad += int(np.maximum(g["stop"].to_numpy()[:-1] - g["start"].to_numpy()[1:], 0).sum())
    return bad


# --- stitching ---------------------------------------------------------------------------------------------


def test_stitch_synthetic_fragments_recovers_the_animals():
    _, ds, _ = pair_session(seed=3)
    frag, truth = fragment_tracks(ds, break_rate=1 / 150, spurious_rate=1 / 600, seed=1)
    assert frag.sizes["individual"] > 20  # many short tracks, as SLEAP writes them
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)  # nothing long or empty is dropped here
        out = stitch_tracks(frag)
    assert out.sizes["individual"] == 2  # estimated from how many tracks are seen at once
    score = score_stitching(out, truth)
    assert score["accuracy"] >= 0.95
    assert score["spurious_kept"] < 0.5
    table = stitch_table(out, per="fragment")
    assert len(table) == frag.sizes["individual"] and overlaps(table) == 0
    assert set(table["status"]) <= {"placed", "linked", "filled", "dropped"}
    assert (table.loc[table["status"] == "dropped", "reason"] != "").all()
    # the data of each identity is the data of the fragments placed in it
    r = table[table["identity"] != ""].iloc[0]
    got = out["position"].sel(individual=r.identity).isel(time=slice(r.start, r.stop))
    want = frag["position"].sel(individual=r.track).isel(time=slice(r.start, r.stop))
    np.testing.assert_array_equal(got.values, want.values)
    summary = stitch_table(out)
    assert list(summary["individual"]) == list(out["individual"].values)
    assert summary["frames"].sum() == table.loc[table["status"] != "dropped", "frames"].sum()
    assert "stitch_tracks" in out.attrs["log"]


def test_stitch_n_animals_and_parameters():
    _, ds, _ = pair_session(seed=1, duration_s=30.0)
    frag, _ = fragment_tracks(ds, break_rate=1 / 100, seed=2)
    assert stitch_tracks(frag, n_animals=3).sizes["individual"] == 3
    with pytest.raises(ParameterError, match="n_animals"):
        stitch_tracks(frag, n_animals=0)
    with pytest.raises(ParameterError, match="max_gap"):
        stitch_tracks(frag, max_gap=1.5)


@pytest.fixture(scope="module")
def fly(shared):
    from behavnb.io import load_poses

    return load_poses(shared / "sleap-examples" / "fly_courtship_example" / "predictions.analysis.h5", fps=30)


def test_stitch_real_sleap_file_whole_tracks_unchanged(fly, shared):
    from behavnb.io import load_poses

    out = stitch_tracks(fly)  # two flies, two whole tracks: nothing to do
    assert list(out["individual"].values) == list(fly["individual"].values)
    np.testing.assert_array_equal(out["position"].values, fly["position"].values)
    clip = load_poses(shared / "sleap-examples" / "tracks" / "clip.predictions.slp", fps=30)
    out = stitch_tracks(clip)  # 'male' is lost in 52 frames: its pieces go back together
    assert list(out["individual"].values) == ["female", "male"]
    np.testing.assert_array_equal(out["position"].values, clip["position"].transpose(*out["position"].dims).values)


def test_stitch_real_sleap_file_fragmented(fly):
    frag, truth = fragment_tracks(fly, break_rate=1 / 120, gap_frames=(1, 8), seed=0)
    assert frag.sizes["individual"] > 30
    out = stitch_tracks(frag)
    assert out.sizes["individual"] == 2
    assert score_stitching(out, truth)["accuracy"] >= 0.9


def test_stitch_all_nan_track_dropped_with_reason():
    _, ds, _ = pair_session(seed=2, duration_s=20.0)
    empty = ds.isel(individual=[0]).assign_coords(individual=["ghost"])
    empty["position"][:] = np.nan
    both = xr.concat([ds, empty], dim="individual")
    with pytest.warns(DataWarning, match="empty track"):
        out = stitch_tracks(both)
    assert list(out["individual"].values) == ["mouse1", "mouse2"]
    table = stitch_table(out, per="fragment")
    ghost = table[table["track"] == "ghost"]
    assert len(ghost) == 1 and ghost["status"].iloc[0] == "dropped" and "NaN" in ghost["reason"].iloc[0]
    # and repair_identity_swaps takes an all-NaN individual without changing anything about it
    rep = repair_identity_swaps(both)
    assert rep["position"].sel(individual="ghost").isnull().all()
    assert not (rep["flag"].sel(individual="ghost") & FLAGS["id_swap"]).any()


# --- swap repair -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dims", [2, 3])
def test_repair_planted_swaps_precision_recall(dims):
    session, ds, noise = pair_session(seed=0, duration_s=60.0, dims=dims, swaps=True)
    assert (noise["kind"] == "id_swap").any()
    out = repair_identity_swaps(ds)
    row = score_filters({session: out}, noise).set_index("filter").loc["identity swap repair"]
    assert row["planted"] > 0
    assert row["precision"] >= 0.9 and row["recall"] >= 0.9
    # repaired points carry the flag, and the QC table shows it
    qc = qc_table(out)
    assert "pct_id_swap" in qc and qc["pct_id_swap"].max() > 0
    # the repair really moves the data: the first swapped frame now holds the other track's points
    flagged = (out["flag"] & FLAGS["id_swap"]).any(["keypoint", "individual"]).values
    t = int(np.flatnonzero(flagged)[0])
    np.testing.assert_array_equal(out["position"].isel(time=t, individual=0).values,
                                  ds["position"].isel(time=t, individual=1).values)


def test_repair_leaves_clean_pairs_alone():
    session, ds, noise = pair_session(seed=4, duration_s=60.0, swaps=False)
    out = repair_identity_swaps(ds)
    assert not (out["flag"] & FLAGS["id_swap"]).any()
    np.testing.assert_array_equal(out["position"].values, ds["position"].values)


def test_single_individual_is_a_no_op():
    cohort = make_cohort(None, groups=["WT"], animals_per_group=1, sessions_per_animal=1, duration_s=10.0, seed=0)
    ds = next(iter(cohort.poses.values()))
    for step in (stitch_tracks, repair_identity_swaps):
        out = step(ds)
        assert out.sizes == ds.sizes
        xr.testing.assert_identical(out.drop_attrs(), ds.drop_attrs())
        assert "nothing to" in out.attrs["log"].splitlines()[-1]


def test_plant_id_swaps_truth_and_three_animal_repair():
    from behavnb.synth.noise import plant_id_swaps

    cohort = make_cohort(None, groups=["WT"], animals_per_group=1, sessions_per_animal=1, duration_s=60.0,
                         animals_per_session=3, noise=NoiseSpec(missing="nan", id_swap_rate=0.0), seed=0)
    session, ds = next(iter(cohort.poses.items()))
    ds = filter_confidence(ds, 0.6)
    swapped, truth = plant_id_swaps(ds, rate=0.002, frames=(30, 300), seed=0)
    assert len(truth) and set(truth["kind"]) == {"id_swap"}
    # a track marked as swapped shows another animal's points; an unmarked one its own
    moved = truth.drop_duplicates(["frame", "individual"]).iloc[0]
    own = ds["position"].sel(time=ds["time"][moved.frame], individual=moved.individual)
    shown = swapped["position"].sel(time=ds["time"][moved.frame], individual=moved.individual)
    assert not np.array_equal(own.values, shown.values, equal_nan=True)
    untouched = np.setdiff1d(np.arange(ds.sizes["time"]), truth["frame"].unique())[0]
    np.testing.assert_array_equal(swapped["position"].isel(time=untouched).values, ds["position"].isel(time=untouched).values)
    out = repair_identity_swaps(swapped)
    row = score_filters({session: out}, truth).set_index("filter").loc["identity swap repair"]
    assert row["precision"] >= 0.9 and row["recall"] >= 0.9
