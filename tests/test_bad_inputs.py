"""Every bad input named in the import issue gets a BehavnbError naming the file and the fix,
and nothing is left half-written."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from behavnb import io as bio, manifest
from behavnb.errors import (
    BehavnbError,
    ChecksumError,
    DatasetNotFoundError,
    EmptyFileError,
    InconsistentKeypointsError,
    MissingFpsError,
    ParameterError,
    PoseFileNotFoundError,
    PoseFormatError,
    SessionsTableError,
    UnknownFormatError,
)

SINGLE_CSV = "deepof-tests/single_topview/testDLC_csv_table.csv"


@pytest.fixture
def dlc_lines(shared) -> list[str]:
    return (shared / SINGLE_CSV).read_text().splitlines()


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_missing_file(tmp_path):
    with pytest.raises(PoseFileNotFoundError, match="nope.h5: no such file"):
        bio.load_poses(tmp_path / "nope.h5")
    assert issubclass(PoseFileNotFoundError, FileNotFoundError)


def test_unknown_extension(tmp_path):
    (tmp_path / "poses.xlsx").write_bytes(b"PK\x03\x04")
    with pytest.raises(UnknownFormatError, match=r"poses.xlsx: unknown pose file extension '.xlsx'. Supported"):
        bio.load_poses(tmp_path / "poses.xlsx")


def test_unknown_csv_content(tmp_path):
    write(tmp_path / "other.csv", ["a,b,c", "1,2,3"])
    with pytest.raises(UnknownFormatError, match="other.csv.*matches no pose format.*source="):
        bio.load_poses(tmp_path / "other.csv")


def test_truncated_csv(tmp_path, dlc_lines):
    text = "\n".join(dlc_lines)
    (tmp_path / "cut.csv").write_text(text[: len(text) - 200])  # cut mid-row, as an interrupted copy does
    with pytest.raises(PoseFormatError, match=r"cut.csv: last line has \d+ fields but the header has 43.*truncated"):
        bio.load_poses(tmp_path / "cut.csv", fps=30)


def test_garbled_row(tmp_path, dlc_lines):
    lines = list(dlc_lines)
    lines[10] = lines[10] + ",1.0,2.0"  # extra fields mid-file
    with pytest.raises(PoseFormatError, match="garbled.csv: line 11 has 45 fields"):
        bio.load_poses(write(tmp_path / "garbled.csv", lines), fps=30)


def test_wrong_number_of_header_rows(tmp_path, dlc_lines):
    no_coords = [dlc_lines[0], dlc_lines[1]] + dlc_lines[3:]
    with pytest.raises(PoseFormatError, match=r"two_rows.csv: a DeepLabCut CSV needs the header rows.*\['scorer', 'bodyparts'\]"):
        bio.load_poses(write(tmp_path / "two_rows.csv", no_coords), fps=30)
    doubled = dlc_lines[:2] + dlc_lines[1:]  # bodyparts row twice: 4 rows, but not the multi-animal ones
    with pytest.raises(PoseFormatError, match=r"4 header row\(s\) recognised: \['scorer', 'bodyparts', 'bodyparts', 'coords'\]"):
        bio.load_poses(write(tmp_path / "doubled.csv", doubled), fps=30)


def test_non_numeric_coordinates(tmp_path, dlc_lines):
    lines = list(dlc_lines)
    cells = lines[7].split(",")
    cells[5] = "12,5".replace(",", ";")  # a locale-mangled number
    lines[7] = ",".join(cells)
    with pytest.raises(PoseFormatError, match=r"nonnum.csv: non-numeric value '12;5' at line 8, column 6 \(Left_ear/y\)"):
        bio.load_poses(write(tmp_path / "nonnum.csv", lines), fps=30)


@pytest.mark.parametrize("name", ["empty.csv", "empty.h5", "empty.slp", "empty.nwb", "empty.nc"])
def test_empty_file(tmp_path, name):
    (tmp_path / name).write_bytes(b"")
    with pytest.raises(EmptyFileError, match=f"{name} is empty"):
        bio.load_poses(tmp_path / name, fps=30)


def test_header_only_csv(tmp_path, dlc_lines):
    with pytest.raises(EmptyFileError, match="no frames follow"):
        bio.load_poses(write(tmp_path / "header_only.csv", dlc_lines[:3]), fps=30)


def test_h5_without_pose_table(tmp_path):
    import h5py

    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["images"] = [1, 2, 3]
    with pytest.raises(PoseFormatError, match=r"other.h5: HDF5 file with no pose table \(top-level keys: \['images'\]\)"):
        bio.load_poses(tmp_path / "other.h5", fps=30)


def test_h5_with_several_unknown_tables(tmp_path, shared):
    df = pd.read_hdf(shared / "deepof-tests/single_topview/testDLC_h5_table.h5")
    df.to_hdf(tmp_path / "two.h5", key="a")
    df.to_hdf(tmp_path / "two.h5", key="b")
    with pytest.raises(PoseFormatError, match=r"two.h5: no pose table found; pandas keys are \['a', 'b'\].*key="):
        bio.load_poses(tmp_path / "two.h5", fps=30)
    assert bio.load_poses(tmp_path / "two.h5", fps=30, key="b").sizes["time"] == 100


def test_not_hdf5_at_all(tmp_path):
    (tmp_path / "fake.h5").write_text("this is not HDF5")
    with pytest.raises(PoseFormatError, match="fake.h5: not a readable HDF5 file"):
        bio.load_poses(tmp_path / "fake.h5", fps=30)


def test_missing_fps(tmp_path, shared):
    shutil.copy(shared / SINGLE_CSV, tmp_path / "x.csv")
    with pytest.raises(MissingFpsError, match=r"x.csv: the frame rate is stated nowhere.*load_poses\(path, fps=30\)"):
        bio.load_poses(tmp_path / "x.csv")
    with pytest.raises(ParameterError, match="positive number"):
        bio.load_poses(tmp_path / "x.csv", fps=-5)


# --- sessions tables -----------------------------------------------------------------------------

def study(tmp_path: Path, shared: Path, rows: list[dict]) -> Path:
    for f in ("testDLC_square_arena.h5", "test2DLC_square_arena.h5"):
        shutil.copy(shared / "deepof-tests/square_arena_topview" / f, tmp_path / f)
    shutil.copy(shared / "bsoid-yttrilab/raw_clip1DLC_resnet50_OpenFieldHighResApr8shuffle1_1030000.h5", tmp_path / "bsoid.h5")
    pd.DataFrame(rows).to_csv(tmp_path / "sessions.csv", index=False)
    return tmp_path


GOOD = [{"session": "a", "subject": "m1", "group": "WT", "file": "testDLC_square_arena.h5", "fps": 30},
        {"session": "b", "subject": "m2", "group": "KO", "file": "test2DLC_square_arena.h5", "fps": 30}]


def test_good_study_folder(tmp_path, shared):
    table = manifest.sessions(study(tmp_path, shared, GOOD))
    assert table["session"].tolist() == ["a", "b"] and table["fps"].tolist() == [30.0, 30.0]
    assert Path(table["file"].iloc[0]).is_absolute()
    poses = manifest.load_sessions(table, progress=False)
    assert poses["b"].attrs["group"] == "KO" and poses["b"].attrs["session"] == "b"


def test_keypoint_sets_differ(tmp_path, shared):
    rows = GOOD + [{"session": "c", "subject": "m3", "group": "KO", "file": "bsoid.h5", "fps": 60}]
    with pytest.raises(InconsistentKeypointsError) as err:
        manifest.sessions(study(tmp_path, shared, rows))
    msg = str(err.value)
    assert "sessions.csv: keypoint sets differ" in msg
    assert "c: missing ['Center', 'Left_bhip'" in msg and "extra ['Butt/Proximal Tail', 'Front Paw L'" in msg


def test_duplicate_sessions(tmp_path, shared):
    rows = GOOD + [dict(GOOD[0], subject="m9")]
    with pytest.raises(SessionsTableError, match=r"sessions.csv: duplicate session id\(s\) \['a'\]"):
        manifest.sessions(study(tmp_path, shared, rows))


def test_missing_required_columns(tmp_path, shared):
    rows = [{k: v for k, v in r.items() if k not in ("group", "fps")} for r in GOOD]
    with pytest.raises(SessionsTableError, match=r"sessions.csv: missing required column\(s\) \['group', 'fps'\]"):
        manifest.sessions(study(tmp_path, shared, rows))


def test_table_points_at_missing_files(tmp_path, shared):
    rows = GOOD + [{"session": "c", "subject": "m3", "group": "KO", "file": "gone.h5", "fps": 30}]
    with pytest.raises(SessionsTableError, match=r"1 file\(s\) not found.*gone.h5"):
        manifest.sessions(study(tmp_path, shared, rows))


def test_bad_fps_in_table(tmp_path, shared):
    rows = [dict(GOOD[0], fps="thirty"), GOOD[1]]
    with pytest.raises(SessionsTableError, match=r"fps must be a positive number.*\['a'\]"):
        manifest.sessions(study(tmp_path, shared, rows))


def test_unknown_dataset_name():
    with pytest.raises(DatasetNotFoundError, match="'no-such-set' is not registered. Registered: .*embedded-demo"):
        manifest.sessions("no-such-set")


# --- registry: checksums and missing caches ----------------------------------------------------------

def _private_cache(tmp_path: Path, shared: Path, monkeypatch) -> Path:
    cache = tmp_path / "cache"
    shutil.copytree(shared / "vame-tests", cache / "vame-tests")
    for p in (cache / "vame-tests").rglob("*"):
        os.chmod(p, 0o644)
    monkeypatch.setenv("BEHAVNB_DATA_DIR", str(cache))
    return cache


def test_checksum_mismatch(tmp_path, shared, monkeypatch):
    cache = _private_cache(tmp_path, shared, monkeypatch)
    with open(cache / "vame-tests/cropped_video.csv", "a") as fh:
        fh.write("0,1,2\n")
    with pytest.raises(ChecksumError, match=r"cropped_video.csv: sha256 is .* but dataset 'vame-tests' registers .*delete it"):
        manifest.fetch("vame-tests")


def test_no_network_and_no_cache_says_where_to_put_files(tmp_path, shared, monkeypatch):
    cache = _private_cache(tmp_path, shared, monkeypatch)
    (cache / "vame-tests/cropped_video.nc").unlink()

    def offline(*args, **kwargs):
        raise ConnectionError("network is unreachable")

    monkeypatch.setattr("pooch.retrieve", offline)
    with pytest.raises(DatasetNotFoundError) as err:
        manifest.fetch("vame-tests")
    msg = str(err.value)
    assert "cropped_video.nc is not cached and could not be downloaded" in msg
    assert f"Put the file at {cache}/vame-tests/cropped_video.nc" in msg and "BEHAVNB_DATA_DIR" in msg


def test_errors_share_one_family():
    for cls in (ChecksumError, DatasetNotFoundError, EmptyFileError, InconsistentKeypointsError, MissingFpsError,
                ParameterError, PoseFileNotFoundError, PoseFormatError, SessionsTableError, UnknownFormatError):
        assert issubclass(cls, BehavnbError)


# --- nothing half-written ---------------------------------------------------------------------------

def test_failed_write_leaves_nothing(tmp_path, shared):
    from behavnb.project import Project

    ds = bio.load_poses(shared / SINGLE_CSV, fps=30)
    project = Project(tmp_path / "run")
    bad = ds.assign_attrs(unserialisable=object())  # netCDF cannot store it: the write fails midway
    with pytest.raises(TypeError):
        project.write_poses(bad)
    assert list((tmp_path / "run" / "poses").iterdir()) == []  # no partial .nc, no temp file
    project.write_poses(ds)
    assert [p.name for p in (tmp_path / "run" / "poses").iterdir()] == [f"{ds.attrs['session']}.nc"]


def test_sessions_table_with_empty_file_cell_or_infinite_fps():
    table = pd.DataFrame({"session": ["a", "b"], "subject": ["m1", "m2"], "group": ["WT", "KO"],
                          "file": ["x.h5", None], "fps": [30.0, 30.0]})
    with pytest.raises(SessionsTableError, match=r"empty 'file' in session\(s\) \['b'\]"):
        manifest.validate_sessions(table)
    with pytest.raises(SessionsTableError, match=r"fps must be a positive number.*\['a'\]"):
        manifest.validate_sessions(table.assign(fps=[float("inf"), 30.0]))


def test_csv_with_utf8_byte_order_mark(tmp_path):
    src = Path(__file__).parent / "data" / "dlc_frames_from_100.csv"
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbf" + src.read_bytes())
    assert bio.detect_format(tmp_path / "bom.csv") == "dlc"
    ds, ref = bio.load_poses(tmp_path / "bom.csv", fps=30), bio.load_poses(src, fps=30)
    assert ds["position"].equals(ref["position"])
    (tmp_path / "sleap.csv").write_bytes(b"\xef\xbb\xbftrack,frame_idx,instance.score,A.x,A.y,A.score\nt,0,1,1,2,1\n")
    assert bio.load_poses(tmp_path / "sleap.csv", fps=30)["position"].values[0, :, 0, 0].tolist() == [1, 2]


def test_key_on_a_csv_is_a_parameter_error():
    with pytest.raises(ParameterError, match="key='df'.*Leave key out"):
        bio.load_poses(Path(__file__).parent / "data" / "dlc_frames_from_100.csv", fps=30, key="df")
