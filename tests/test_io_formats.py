"""SLEAP, NWB, movement netCDF and label files on real data."""

from __future__ import annotations

import numpy as np
import pytest

from behavnb import io as bio
from behavnb.errors import MissingFpsError, PoseFormatError


def test_sleap_slp_and_analysis_h5_agree(shared):
    slp = bio.load_poses(shared / "sleap-examples/fly_courtship_example/predictions.slp", fps=30)
    h5 = bio.load_poses(shared / "sleap-examples/fly_courtship_example/predictions.analysis.h5", fps=30)
    for ds in (slp, h5):
        assert dict(ds.sizes) == {"time": 3000, "space": 2, "keypoint": 13, "individual": 2}
        assert list(ds["keypoint"].values)[:3] == ["head", "thorax", "abdomen"]
        assert ds.attrs["source_software"] == "SLEAP"
    # the analysis file stores (tracks, xy, nodes, frames): transposed correctly
    np.testing.assert_allclose(slp["position"].values, h5["position"].values, equal_nan=True)
    assert h5["confidence"].isnull().all()  # old minimal analysis file: no point scores
    assert "no point scores" in h5.attrs["log"]
    assert slp["confidence"].notnull().mean() > 0.9
    nan_frac = float(h5["position"].isnull().mean())
    assert 0 < nan_frac < 0.1


def test_sleap_named_tracks_become_individuals(shared):
    ds = bio.load_poses(shared / "sleap-examples/tracks/clip.predictions.slp", fps=30)
    assert list(ds["individual"].values) == ["female", "male"]
    assert list(ds["keypoint"].values) == ["head", "thorax"]
    assert ds.sizes["time"] == 1500
    assert float(ds["position"].isnull().mean()) == pytest.approx(0.04, abs=0.01)  # README: ~4 % missing


def test_sleap_untracked_modern_analysis_file(shared):
    ds = bio.load_poses(shared / "sleap-examples/small_robot/small_robot.000_small_robot_3_frame.analysis.h5", fps=30)
    assert dict(ds.sizes) == {"time": 3, "space": 2, "keypoint": 3, "individual": 1}
    assert ds["confidence"].notnull().any()


def test_sleap_csv_export(shared):
    ds = bio.load_poses(shared / "sleap-examples/csv_export/minimal_instance.000_centered_pair_low_quality.analysis.csv",
                        fps=30)
    assert list(ds["keypoint"].values) == ["A", "B"]
    assert ds["position"].values[0, :, 0, 0] == pytest.approx([205.9300539013689, 187.88964024221963])


def test_deepof_sleap_matches_its_analysis_file(shared):
    a = bio.load_poses(shared / "deepof-tests/single_topview_sleap/testDLC_sleap.slp", fps=30)
    b = bio.load_poses(shared / "deepof-tests/single_topview_sleap/testDLC_sleap.analysis.h5", fps=30)
    assert dict(a.sizes) == {"time": 101, "space": 2, "keypoint": 14, "individual": 1}
    np.testing.assert_allclose(a["position"].values, b["position"].values, equal_nan=True)
    np.testing.assert_allclose(a["confidence"].values, b["confidence"].values, equal_nan=True)



def test_vame_three_formats_hold_the_same_poses(shared):
    csv = bio.load_poses(shared / "vame-tests/cropped_video.csv", fps=30)
    nc = bio.load_poses(shared / "vame-tests/cropped_video.nc")  # plural dims, fps in attrs
    nwb = bio.load_poses(shared / "vame-tests/cropped_video.nwb", fallback_fps=30)  # ndx-pose 0.1
    assert nc.attrs["fps"] == 30
    for ds in (nc, nwb):
        assert ds["position"].dims == ("time", "space", "keypoint", "individual")
        aligned = ds["position"].sel(keypoint=list(csv["keypoint"].values)).values
        np.testing.assert_allclose(aligned, csv["position"].values, rtol=1e-6)
    assert "frame indices" in nwb.attrs["log"]  # its 0,1,2... 'seconds' are not taken as 1 Hz


def test_nwb_without_fps_says_how_to_pass_it(shared):
    with pytest.raises(MissingFpsError, match="fps=30"):
        bio.load_poses(shared / "vame-tests/cropped_video.nwb")


def test_saved_netcdf_round_trip(tmp_path, shared):
    ds = bio.load_poses(shared / "deepof-tests/madlc_topview/testDLC_h5_table_madlc.h5", fps=30)
    bio.save_poses(ds, tmp_path / "s.nc")
    back = bio.load_poses(tmp_path / "s.nc")
    np.testing.assert_array_equal(back["position"].values, ds["position"].values)
    np.testing.assert_array_equal(back["frame"].values, ds["frame"].values)
    assert back.attrs["fps"] == 30 and back.attrs["log"].startswith(ds.attrs["log"])
    assert list(back["individual"].values) == list(ds["individual"].values)


def test_behaviorflow_labels(shared):
    path = next((shared / "behaviorflow-csi-labels/labels").glob("1_01_A_*.csv"))
    labels = bio.load_labels(path, "kmeans.25", session="OFT_1")
    assert list(labels.columns[:4]) == ["session", "individual", "frame", "motif"]
    assert labels["frame"].tolist()[:3] == [0, 1, 2]
    assert labels["motif"].isna().sum() == 30  # first 30 frames NA
    assert str(labels["motif"].dtype) == "Int64"
    assert labels["motif"].dropna().between(1, 25).all()
    assert set(labels["rear.classifier"].dropna()) <= {"None", "Supported", "Unsupported"}
    assert 14620 <= len(labels) <= 14652


def test_labels_need_a_column_when_ambiguous(shared):
    from behavnb.errors import ParameterError

    path = next((shared / "behaviorflow-csi-labels/labels").glob("1_01_A_*.csv"))
    with pytest.raises(ParameterError, match="kmeans.25"):
        bio.load_labels(path)


def test_labels_table_round_trip(tmp_path):
    import pandas as pd

    df = pd.DataFrame({"session": "s1", "individual": "m1", "frame": range(5), "motif": [0, 0, 1, 1, 2]})
    df.to_parquet(tmp_path / "truth.parquet")
    back = bio.load_labels(tmp_path / "truth.parquet")
    assert back["motif"].tolist() == [0, 0, 1, 1, 2] and back["session"].iloc[0] == "s1"


def test_sleap_csv_untracked_instances_are_all_kept(tmp_path):
    path = tmp_path / "untracked.csv"
    path.write_text("track,frame_idx,instance.score,A.x,A.y,A.score\n"
                    ",0,0.9,10,20,0.9\n,0,0.8,110,120,0.8\n,1,0.9,11,21,0.9\n,1,0.8,111,121,0.8\n,2,0.9,12,22,0.9\n")
    with pytest.warns(UserWarning, match="untracked instances"):
        ds = bio.load_poses(path, fps=30)
    assert list(ds["individual"].values) == ["instance_0", "instance_1"]
    assert ds["position"].values[:, 0, 0, 0].tolist() == [10, 11, 12]
    assert ds["position"].values[:2, 0, 0, 1].tolist() == [110, 111] and np.isnan(ds["position"].values[2, 0, 0, 1])
    path.write_text("track,frame_idx,instance.score,A.x,A.y,A.score\nt1,0,0.9,10,20,0.9\nt1,0,0.8,110,120,0.8\n")
    with pytest.raises(PoseFormatError, match="more than once"):
        bio.load_poses(path, fps=30)


def test_netcdf_single_individual_keeps_its_name(tmp_path):
    from pathlib import Path

    ds = bio.load_poses(Path(__file__).parent / "data" / "nwb_ndxpose02.nwb")
    ds.sel(individual="mouse2").to_netcdf(tmp_path / "one.nc")  # a selected animal: 'individual' is a scalar
    assert list(bio.load_poses(tmp_path / "one.nc")["individual"].values) == ["mouse2"]
