"""DeepLabCut / LightningPose tables: shapes, names, NaN placement, frames and fps on real files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from behavnb import io as bio
from behavnb.io.schema import DIMS

BSOID = "bsoid-yttrilab/raw_clip1DLC_resnet50_OpenFieldHighResApr8shuffle1_1030000"
BSOID_KP = ["Snout", "Front Paw R", "Front Paw L", "Hind Paw R", "Hind Paw L", "Butt/Proximal Tail"]
DEEPOF_KP = ["Nose", "Left_ear", "Right_ear", "Spine_1", "Center", "Spine_2", "Tail_base", "Tail_1", "Tail_2",
             "Tail_tip", "Left_bhip", "Right_bhip", "Left_fhip", "Right_fhip"]


def test_bsoid_csv_and_h5_agree_and_fps_from_pickle(shared):
    csv = bio.load_poses(shared / f"{BSOID}.csv")
    h5 = bio.load_poses(shared / f"{BSOID}.h5")
    for ds in (csv, h5):
        assert ds["position"].dims == DIMS
        assert dict(ds.sizes) == {"time": 7200, "space": 2, "keypoint": 6, "individual": 1}
        assert list(ds["keypoint"].values) == BSOID_KP  # names with spaces and '/' survive
        assert ds.attrs["fps"] == 60.0  # from the metadata pickle: nothing else states it
        assert "metadata pickle" in ds.attrs["log"]
        assert ds.attrs["session"] == "raw_clip1"
        assert not ds["position"].isnull().any()
    np.testing.assert_allclose(csv["position"].values, h5["position"].values, rtol=0, atol=1e-9)
    np.testing.assert_allclose(csv["confidence"].values, h5["confidence"].values, atol=1e-9)
    assert csv["time"].values[1] == pytest.approx(1 / 60)
    # matches the raw table cell for cell
    raw = pd.read_hdf(shared / f"{BSOID}.h5")
    assert h5["position"].sel(keypoint="Hind Paw L", space="y").values[:, 0] == pytest.approx(
        raw.xs(("Hind Paw L", "y"), level=(1, 2), axis=1).to_numpy()[:, 0])
    low = (raw.xs("likelihood", level=2, axis=1).to_numpy() < 0.6).mean()
    assert low == pytest.approx(0.024, abs=0.002)  # the README's 2.4 % low-likelihood points


def test_same_values_as_movement_where_movement_reads_the_file(shared):
    from movement.io import load_poses as mload

    ours = bio.load_poses(shared / f"{BSOID}.h5", fps=60)
    theirs = mload.from_dlc_file(shared / f"{BSOID}.h5", fps=60)
    pos = theirs["position"].transpose("time", "space", "keypoints", "individuals").values
    np.testing.assert_allclose(ours["position"].values, pos)


@pytest.mark.parametrize("path, key", [("deepof-tests/single_topview/testDLC_h5_table.h5", "df"),
                                       ("deepof-tests/madlc_topview/testDLC_h5_table_madlc.h5", "tracks"),
                                       ("deepof-tests/square_arena_topview/testDLC_square_arena.h5", "df_with_missing")])
def test_h5_under_any_key(shared, path, key):
    ds = bio.load_poses(shared / path, fps=30)
    assert ds.sizes["time"] in (100, 451)
    assert set(ds["keypoint"].values) == set(DEEPOF_KP)
    assert ds.attrs["fps"] == 30.0


def test_h5_with_a_single_unusual_key(tmp_path, shared):
    df = pd.read_hdf(shared / "deepof-tests/single_topview/testDLC_h5_table.h5")
    df.to_hdf(tmp_path / "odd.h5", key="predictions")
    ds = bio.load_poses(tmp_path / "odd.h5", fps=25)
    assert ds.sizes["time"] == 100 and ds.sizes["keypoint"] == 14


def test_mangled_scorer_row_and_zero_missing_points(shared):
    path = shared / "deepof-tests/madlc_topview/testDLC_csv_table_madlc.csv"
    assert "_200000.1," in path.read_text().splitlines()[0]  # the quirk is really there
    ds = bio.load_poses(path, fps=30)
    assert list(ds["individual"].values) == ["mouse_black_tail", "mouse_white_tail"]
    assert list(ds["keypoint"].values) == DEEPOF_KP
    assert ds.attrs["scorer"] == "DLC_dlcrnetms5_20220525_CSDS_KET_SI_TRIALJune03shuffle1_200000"
    raw = pd.read_csv(path, header=[0, 1, 2, 3], index_col=0)
    x = raw.xs("x", level=3, axis=1).to_numpy().reshape(97, 2, 14)
    y = raw.xs("y", level=3, axis=1).to_numpy().reshape(97, 2, 14)
    lik = raw.xs("likelihood", level=3, axis=1).to_numpy().reshape(97, 2, 14)
    expected_nan = (x == 0) & (y == 0) & (lik <= 0.1)
    assert expected_nan.mean() == pytest.approx(0.25, abs=0.01)
    got_nan = ds["position"].isnull().all("space").transpose("time", "individual", "keypoint").values
    np.testing.assert_array_equal(got_nan, expected_nan)
    # confidence keeps the tracker's own statement
    assert (ds["confidence"].transpose("time", "individual", "keypoint").values[expected_nan] == 0).all()
    assert f"{int(expected_nan.sum())} points at (0, 0)" in ds.attrs["log"]
    # CSV = the first 97 rows of the H5
    h5 = bio.load_poses(shared / "deepof-tests/madlc_topview/testDLC_h5_table_madlc.h5", fps=30)
    np.testing.assert_allclose(ds["position"].values, h5["position"].values[:97], equal_nan=True)


def test_vame_csv_mangled_scorer(shared):
    ds = bio.load_poses(shared / "vame-tests/cropped_video.csv", fps=30)
    assert dict(ds.sizes) == {"time": 750, "space": 2, "keypoint": 6, "individual": 1}
    assert list(ds["keypoint"].values) == ["Nose", "Forehand-Left", "Forehand-Right", "Hindhand-Left",
                                           "Hindhand-Right", "Tailroot"]
    assert ds["position"].values[0, :, 0, 0] == pytest.approx([379.3179750442505, 911.2349543571472])


def test_prefixed_individuals_split_on_request(shared):
    path = shared / "deepof-tests/multi_topview_prefixed/testDLC_h5_table_multi.h5"
    with pytest.warns(UserWarning, match="prefix_individuals=True"):
        flat = bio.load_poses(path, fps=30)
    assert flat.sizes["keypoint"] == 28 and flat.sizes["individual"] == 1
    split = bio.load_poses(path, fps=30, prefix_individuals=True)
    assert list(split["individual"].values) == ["B", "W"]
    assert set(split["keypoint"].values) == set(DEEPOF_KP)
    np.testing.assert_array_equal(split["position"].sel(individual="W", keypoint="Nose").values,
                                  flat["position"].sel(keypoint="W_Nose").values[:, :, 0])
    explicit = bio.load_poses(path, fps=30, prefix_individuals=["B", "W"])
    np.testing.assert_array_equal(explicit["position"].values, split["position"].values)
    csv = bio.load_poses(shared / "deepof-tests/multi_topview_prefixed/testDLC_csv_table_multi.csv", fps=30,
                         prefix_individuals=True)
    assert csv.sizes["time"] == 98 and csv.sizes["individual"] == 2


def test_unique_bodyparts_kept_apart(shared):
    ds = bio.load_poses(shared / "sleap-examples/dlc_header_fixtures/maudlc_testdata.csv", fps=10,
                        allow_labeled_data=True)
    assert list(ds["individual"].values) == ["Animal1", "Animal2"]
    assert list(ds["keypoint"].values) == ["A", "B", "C"]  # D, E (individual 'single') not in the skeleton
    assert list(ds["unique_keypoint"].values) == ["D", "E"]
    assert ds["unique_position"].sel(unique_keypoint="D").values[1].tolist() == [22, 23]
    assert np.isnan(ds["unique_position"].sel(unique_keypoint="D").values[0]).all()
    assert ds["position"].sel(individual="Animal2", keypoint="A").values[1].tolist() == [17, 18]
    # the DLC >= 2.3 layout with three index columns gives the same
    v2 = bio.load_poses(shared / "sleap-examples/dlc_header_fixtures/maudlc_testdata_v2.csv", fps=10,
                        allow_labeled_data=True)
    np.testing.assert_array_equal(v2["unique_position"].values, ds["unique_position"].values)
    np.testing.assert_array_equal(v2["position"].values, ds["position"].values)


def test_labeled_data_is_recognised(shared):
    from behavnb.errors import PoseFormatError

    with pytest.raises(PoseFormatError, match="labeled-data"):
        bio.load_poses(shared / "dlc-openfield-labeled/CollectedData_Pranav.h5", fps=30)
    ds = bio.load_poses(shared / "dlc-openfield-labeled/CollectedData_Pranav.csv", fps=30, allow_labeled_data=True)
    assert dict(ds.sizes) == {"time": 116, "space": 2, "keypoint": 4, "individual": 1}
    assert ds["confidence"].isnull().all()  # annotations carry no likelihood
    assert "no likelihood" in ds.attrs["log"]


def test_frame_index_offset_and_gaps(tmp_path, shared):
    src = bio.load_poses(shared / "deepof-tests/single_topview/testDLC_csv_table.csv", fps=30)
    lines = (shared / "deepof-tests/single_topview/testDLC_csv_table.csv").read_text().splitlines()
    body = [f"{i + 100}," + ln.split(",", 1)[1] for i, ln in enumerate(lines[3:])]
    kept = body[:40] + body[50:]  # frames 100..139 and 150..196
    (tmp_path / "offsetDLC_resnet50_xMay1shuffle1_1.csv").write_text("\n".join(lines[:3] + kept) + "\n")
    ds = bio.load_poses(tmp_path / "offsetDLC_resnet50_xMay1shuffle1_1.csv", fps=30)
    assert ds["frame"].values[0] == 100 and ds["frame"].values[-1] == 196
    assert ds.sizes["time"] == 97
    assert ds["time"].values[0] == pytest.approx(100 / 30)
    assert ds["position"].isnull().all(["space", "keypoint", "individual"]).values.sum() == 10
    np.testing.assert_array_equal(ds["position"].values[:40], src["position"].values[:40])
    np.testing.assert_array_equal(ds["position"].values[50:], src["position"].values[50:])
    assert "10 missing frame numbers" in ds.attrs["log"]
    assert ds.attrs["session"] == "offset"


def test_fps_precedence(shared, tmp_path):
    path = shared / f"{BSOID}.h5"
    assert bio.load_poses(path, fps=50).attrs["fps"] == 50  # argument beats everything
    assert bio.load_poses(path, fallback_fps=40).attrs["fps"] == 40  # manifest beats the pickle
    nc = bio.load_poses(shared / "vame-tests/cropped_video.nc", fallback_fps=99)
    assert nc.attrs["fps"] == 30  # the file beats the manifest


def test_row_check_needs_no_file_sized_temporaries(tmp_path, monkeypatch):
    """The truncated-row check scans in chunks: its peak allocation is a fraction of the file (it was 8x the file)."""
    import tracemalloc

    from behavnb.io import dlc

    rng = np.random.default_rng(0)
    cols = pd.MultiIndex.from_product([["scorer"], [f"kp{i}" for i in range(12)], ["x", "y", "likelihood"]],
                                      names=["scorer", "bodyparts", "coords"])
    table = pd.DataFrame(rng.uniform(0, 600, (20_000, 36)), columns=cols)
    path = tmp_path / "long.csv"
    table.to_csv(path)
    raw = path.read_bytes()
    monkeypatch.setattr(dlc, "_CHUNK", 1 << 20)
    tracemalloc.start()
    dlc._check_field_counts(path, raw, 3, 37, strict=True)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 0.5 * len(raw), (peak, len(raw))
    cut = raw[: raw.rindex(b",")]  # the last row loses its last field
    with pytest.raises(bio.PoseFormatError, match="last line has 36 fields but the header has 37"):
        dlc._check_field_counts(path, cut, 3, 37, strict=True)
    ds = bio.load_poses(path, fps=30)
    np.testing.assert_allclose(ds["position"].sel(keypoint="kp3", space="x").values.ravel(), table[("scorer", "kp3", "x")])


def _hour_of_dlc_csv(path, n_frames: int = 108_000, n_kp: int = 12) -> None:
    """A 1-hour single-animal DLC CSV (~72 MB), written fast: a 1,000-row block of values, renumbered."""
    rng = np.random.default_rng(0)
    cols = pd.MultiIndex.from_product([["DLC_scorer"], [f"kp{i}" for i in range(n_kp)], ["x", "y", "likelihood"]],
                                      names=["scorer", "bodyparts", "coords"])
    block = pd.DataFrame(rng.uniform(0, 600, (1000, 3 * n_kp)).astype(np.float32).astype(np.float64), columns=cols)
    rows = block.to_csv(header=False, index=False).splitlines()
    with open(path, "w") as fh:
        fh.write("\n".join(block.to_csv().splitlines()[:3]) + "\n")
        for start in range(0, n_frames, len(rows)):
            fh.write("".join(f"{start + i},{r}\n" for i, r in enumerate(rows[: n_frames - start])))


@pytest.mark.skipif(not __import__("os").access("/proc/self/clear_refs", __import__("os").W_OK),
                    reason="needs Linux /proc/self/clear_refs to reset the peak RSS")
def test_csv_load_peak_memory_within_twice_the_file(tmp_path):
    """Loading a 1-hour DLC CSV peaks at <= 2x the file size in RSS (it was 2.2x, and 8x before that): measured in a
    fresh process as VmHWM after a reset, over the RSS after the imports and a small warm-up load."""
    import subprocess
    import sys

    path = tmp_path / "hourDLC_scorer.csv"
    _hour_of_dlc_csv(path)
    small = tmp_path / "smallDLC_scorer.csv"
    small.write_text("".join(path.open().readlines()[:50]))
    code = ("import re; from behavnb.io import load_poses; "
            "kb = lambda k: int(re.search(k + r':\\s+(\\d+)', open('/proc/self/status').read()).group(1)); "
            f"load_poses({str(small)!r}, fps=30); "
            "open('/proc/self/clear_refs', 'w').write('5'); b = kb('VmRSS'); "
            f"ds = load_poses({str(path)!r}, fps=30); "
            "print((kb('VmHWM') - b) * 1024, ds.sizes['time'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    peak, n_time = int(out[-2]), int(out[-1])
    size = path.stat().st_size
    assert n_time == 108_000
    assert peak <= 2 * size, f"peak +{peak / 2**20:.0f} MiB for a {size / 2**20:.0f} MiB file ({peak / size:.2f}x)"


@pytest.mark.parametrize("variant", ["plain", "crlf", "bom", "empty cells", "nan text", "blank lines", "gaps",
                                     "multi-animal", "no final newline"])
def test_fast_csv_path_matches_the_careful_one(tmp_path, variant):
    """pyarrow's parse (predictions) gives the same arrays, frames and log as the careful pandas path."""
    from behavnb.io import dlc

    rng = np.random.default_rng(1)
    levels = [["DLC_s"], ["a", "b"], ["x", "y", "likelihood"]]
    names = ["scorer", "bodyparts", "coords"]
    if variant == "multi-animal":
        levels.insert(1, ["m1", "m2"])
        names.insert(1, "individuals")
    cols = pd.MultiIndex.from_product(levels, names=names)
    table = pd.DataFrame(rng.uniform(0, 100, (40, len(cols))).round(3), columns=cols)
    if variant == "gaps":
        table.index = np.r_[0:10, 15:45]
    text = table.to_csv()
    lines = text.splitlines()
    if variant == "empty cells":
        lines[5] = lines[5].replace(",", ",,", 1).rsplit(",", 1)[0]
    elif variant == "nan text":
        lines[6] = ",".join(c if i != 2 else "NaN" for i, c in enumerate(lines[6].split(",")))
    elif variant == "blank lines":
        lines.insert(10, "")
        lines += ["", ""]
    text = "\n".join(lines) + ("" if variant == "no final newline" else "\n")
    path = tmp_path / f"recDLC_s_{variant.replace(' ', '_')}.csv"
    data = text.encode()
    path.write_bytes(b"\xef\xbb\xbf" + data if variant == "bom" else data.replace(b"\n", b"\r\n") if variant == "crlf"
                     else data)
    head = path.read_bytes().split(b"\n", len(names))
    offset = sum(len(ln) + 1 for ln in head[: len(names)])
    assert dlc._parse_numeric(path, offset, len(cols) + 1) is not None  # the fast path did read it
    fast, careful = dlc.read_csv(path), dlc._read_csv_careful(path)
    np.testing.assert_array_equal(fast.position, careful.position)
    np.testing.assert_array_equal(fast.confidence, careful.confidence)
    np.testing.assert_array_equal(fast.frames, careful.frames)
    assert (fast.keypoints, fast.individuals, fast.log) == (careful.keypoints, careful.individuals, careful.log)


def test_fast_csv_path_hands_bad_rows_to_the_careful_one(tmp_path):
    """A truncated last row or a stray word makes pyarrow refuse the file; the careful path names the line."""
    cols = pd.MultiIndex.from_product([["DLC_s"], ["a", "b"], ["x", "y", "likelihood"]],
                                      names=["scorer", "bodyparts", "coords"])
    text = pd.DataFrame(np.arange(60.0).reshape(10, 6), columns=cols).to_csv()
    cut = tmp_path / "cutDLC_s.csv"
    cut.write_text(text[: text.rstrip().rindex(",")] + "\n")
    with pytest.raises(bio.PoseFormatError, match="last line has 6 fields but the header has 7"):
        bio.load_poses(cut, fps=30)
    word = tmp_path / "wordDLC_s.csv"
    word.write_text(text.replace("\n5,", "\n5,oops,", 1).replace("oops,30.0,", "oops,", 1))
    with pytest.raises(bio.PoseFormatError, match="non-numeric value 'oops' at line 9"):
        bio.load_poses(word, fps=30)
