"""Formats the shared real data does not cover, on fixtures derived from a real DeepOF file
(tests/data, MIT): LightningPose, NWB ndx-pose >= 0.2 with two animals, late-starting frames with a
gap, fps from DeepLabCut's metadata pickle. These run without BEHAVNB_DATA_DIR."""

from __future__ import annotations

import numpy as np
import pytest

from behavnb import io as bio

DATA = __import__("pathlib").Path(__file__).parent / "data"
ORDER = ["Nose", "Left_ear", "Right_ear", "Spine_1", "Center", "Spine_2", "Tail_base", "Tail_1", "Tail_2",
         "Tail_tip", "Left_bhip", "Right_bhip", "Left_fhip", "Right_fhip"]


@pytest.fixture(scope="module")
def lp():
    return bio.load_poses(DATA / "lightningpose_predictions.csv", fps=30)


def test_lightningpose(lp):
    assert bio.detect_format(DATA / "lightningpose_predictions.csv") == "lightningpose"
    assert lp.attrs["source_software"] == "LightningPose"
    assert dict(lp.sizes) == {"time": 100, "space": 2, "keypoint": 14, "individual": 1}
    assert list(lp["keypoint"].values) == ORDER
    assert lp["confidence"].notnull().all()


def test_nwb_ndx_pose_02_two_animals(lp):
    ds = bio.load_poses(DATA / "nwb_ndxpose02.nwb")
    assert ds.attrs["fps"] == 30.0 and "from the file" in ds.attrs["log"]
    assert list(ds["individual"].values) == ["mouse1", "mouse2"]
    assert list(ds["keypoint"].values) == ORDER  # the skeleton's order, not alphabetical
    np.testing.assert_allclose(ds["position"].sel(individual="mouse1").values, lp["position"].values[..., 0])
    np.testing.assert_allclose(ds["position"].sel(individual="mouse2").values, lp["position"].values[..., 0] + 50)
    np.testing.assert_allclose(ds["confidence"].sel(individual="mouse1").values, lp["confidence"].values[..., 0], rtol=1e-6)


def test_frames_start_late_with_gap(lp):
    ds = bio.load_poses(DATA / "dlc_frames_from_100.csv", fps=30)
    assert ds["frame"].values[[0, -1]].tolist() == [100, 199] and ds.sizes["time"] == 100
    empty = ds["position"].isnull().all(["space", "keypoint", "individual"]).values
    assert np.flatnonzero(empty).tolist() == list(range(50, 60))  # frames 150..159
    np.testing.assert_array_equal(ds["position"].values[:50], lp["position"].values[:50])


def test_fps_from_metadata_pickle():
    path = next((DATA / "dlc_metadata").glob("*.csv"))
    ds = bio.load_poses(path)
    assert ds.attrs["fps"] == 25.0 and "metadata pickle" in ds.attrs["log"]
    assert ds.attrs["session"] == "clip"


def test_nwb_animals_with_different_start_times(tmp_path, lp):
    import shutil

    import h5py

    path = tmp_path / "late.nwb"
    shutil.copy(DATA / "nwb_ndxpose02.nwb", path)
    with h5py.File(path, "r+") as f:  # mouse2 was tracked from 1 s on (30 frames later)
        for series in f["processing/behavior/mouse2"].values():  # the other series link to one timestamps array
            if isinstance(series, h5py.Group) and isinstance(series.get("timestamps", getlink=True), h5py.HardLink):
                series["timestamps"][...] = series["timestamps"][()] + 1.0
    ds = bio.load_poses(path)
    assert ds.sizes["time"] == 130 and ds["frame"].values[[0, -1]].tolist() == [0, 129]
    m1, m2 = (ds["position"].sel(individual=i).values for i in ("mouse1", "mouse2"))
    assert np.isnan(m2[:30]).all() and np.isnan(m1[100:]).all()
    np.testing.assert_allclose(m1[:100], lp["position"].values[..., 0])
    np.testing.assert_allclose(m2[30:], lp["position"].values[..., 0] + 50)
