"""The data manifest: every registered dataset verifies against the real files and loads."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from behavnb import manifest
from behavnb.errors import SessionsTableError

POSE_DATASETS = {  # name -> (sessions, keypoints, individuals)
    "embedded-demo": (5, 14, 1),
    "deepof-tests": (5, 14, 1),
    "deepof-madlc": (1, 14, 2),
    "bsoid-yttrilab": (2, 6, 1),
    "sleap-examples": (1, 13, 2),
    "vame-tests": (1, 6, 1),
}


def test_registry_entries_are_complete():
    reg = manifest.registry()
    generated = {"synthetic-demo", "synthetic-tiny"}
    assert set(POSE_DATASETS) | {"behaviorflow-csi-labels", "dlc-openfield-labeled"} | generated == set(reg)
    for name, entry in reg.items():
        for key in ("description", "licence", "citation", "format", "kind", "files"):
            assert entry.get(key), f"{name}: {key} missing"
        for spec in entry["files"]:
            assert re.fullmatch(r"[0-9a-f]{64}", spec["sha256"]), spec
            if name in generated:
                assert entry["generator"]["function"] == "behavnb.synth.make_cohort"
                continue
            commit = entry["source"]["commit"]
            assert spec["url"].startswith("https://raw.githubusercontent.com/") and f"/{commit}/" in spec["url"]


def test_embedded_dataset_needs_no_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("BEHAVNB_DATA_DIR", str(tmp_path / "empty"))
    files = manifest.fetch("embedded-demo")
    assert all(p.exists() for p in files.values())
    assert len(manifest.sessions("embedded-demo")) == 5


@pytest.mark.parametrize("name", sorted(POSE_DATASETS))
def test_every_shared_dataset_verifies_and_loads(shared, name):
    n_sessions, n_kp, n_ind = POSE_DATASETS[name]
    files = manifest.fetch(name)  # sha256 of every file checked
    assert len(files) == len(manifest.info(name)["files"])
    table = manifest.sessions(name)
    assert len(table) == n_sessions
    poses = manifest.load_sessions(table, progress=False)
    for ds in poses.values():
        assert ds.sizes["keypoint"] == n_kp and ds.sizes["individual"] == n_ind
        assert ds.attrs["fps"] == table.set_index("session").loc[ds.attrs["session"], "fps"]
        assert "manifest: session" in ds.attrs["log"]


def test_labels_dataset_with_real_groups(shared):
    table = manifest.sessions("behaviorflow-csi-labels")
    assert table["group"].value_counts().to_dict() == {"CSI": 30, "Control": 29}
    labels = manifest.load_labels("behaviorflow-csi-labels")
    assert labels["session"].nunique() == 59
    assert set(labels["group"]) == {"CSI", "Control"}
    assert labels["motif"].dropna().nunique() == 25


def test_annotation_dataset_has_no_sessions(shared):
    from behavnb.errors import DatasetNotFoundError

    assert len(manifest.fetch("dlc-openfield-labeled")) == 2
    with pytest.raises(DatasetNotFoundError, match="no sessions table"):
        manifest.sessions("dlc-openfield-labeled")


def test_folder_without_sessions_table(tmp_path, shared):
    import shutil

    for f in ("testDLC_square_arena.h5", "test2DLC_square_arena.h5"):
        shutil.copy(shared / "deepof-tests/square_arena_topview" / f, tmp_path / f)
    with pytest.warns(UserWarning, match="no sessions.csv"):
        table = manifest.sessions(tmp_path)
    assert sorted(table["session"]) == ["test", "test2"] and set(table["group"]) == {"unknown"}


def test_generation_never_touches_an_incomplete_copy_in_the_data_dir(tmp_path, monkeypatch):
    from behavnb import manifest

    data, cache = tmp_path / "data", tmp_path / "cache"
    (data / "synthetic-tiny").mkdir(parents=True)
    (data / "synthetic-tiny" / "NOTES.md").write_text("mine")
    monkeypatch.setenv("BEHAVNB_DATA_DIR", str(data))
    monkeypatch.setenv("BEHAVNB_CACHE_DIR", str(cache))
    files = manifest.fetch("synthetic-tiny", progress=False)
    assert (data / "synthetic-tiny" / "NOTES.md").read_text() == "mine"
    assert sorted(p.name for p in (data / "synthetic-tiny").iterdir()) == ["NOTES.md"]
    assert all(cache in p.parents for p in files.values())


def test_generated_mismatch_warns_every_time_but_tampering_raises(tmp_path, monkeypatch):
    import copy

    import pytest

    from behavnb import manifest
    from behavnb.errors import ChecksumError

    monkeypatch.setenv("BEHAVNB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("BEHAVNB_DATA_DIR", str(tmp_path / "data"))
    entry = copy.deepcopy(manifest.info("synthetic-tiny"))
    entry["files"][0]["sha256"] = "0" * 64  # as if this machine's numpy generated other bytes
    monkeypatch.setattr(manifest, "info", lambda name: entry)
    for _ in range(2):
        with pytest.warns(UserWarning, match="differs from the registered one"):
            files = manifest.fetch("synthetic-tiny", progress=False)
    path = files[entry["files"][0]["path"]]
    path.write_bytes(path.read_bytes() + b"\n")
    with pytest.raises(ChecksumError, match="damaged"):
        manifest.fetch("synthetic-tiny", progress=False)


def test_folder_with_csv_and_h5_twins_keeps_one_per_stem(tmp_path):
    import shutil
    import warnings
    from pathlib import Path

    from behavnb import io as bio
    from behavnb.io.writers import save_dlc

    src = Path(__file__).parent / "data" / "dlc_frames_from_100.csv"
    shutil.copy(src, tmp_path / "aDLC_resnet50.csv")
    save_dlc(bio.load_poses(src, fps=30), tmp_path / "aDLC_resnet50.h5")
    shutil.copy(src, tmp_path / "bDLC_resnet50.csv")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = manifest.sessions(tmp_path)
    assert sorted(table["session"]) == ["a", "b"]
    assert Path(table.set_index("session").loc["a", "file"]).suffix == ".h5"
    assert any("twin" in str(w.message) and "aDLC_resnet50.csv" in str(w.message) for w in caught)


def test_synthetic_sessions_state_each_cameras_geometry():
    """Cameras differ per session: the sessions table gives each one's scale and arena, and they are right."""
    from behavnb import synth

    c = synth.make_cohort(None, animals_per_group=2, sessions_per_animal=1, duration_s=5, seed=4,
                          noise=synth.NoiseSpec.none())
    geo = manifest.session_geometry(c.sessions)
    assert len({g["px_per_cm"] for g in geo.values()}) == len(geo)  # every session its own scale
    for row in c.sessions.itertuples():
        g = geo[row.session]
        t = c.truth[c.truth.session == row.session]
        kp = list(c.poses[row.session]["keypoint"].values)
        centre = c.clean[row.session][:, :2, kp.index("mid_spine"), 0]
        x = g["arena"]["xmin"] + t["x_cm"].to_numpy() * g["px_per_cm"]
        y = g["arena"]["ymax"] - t["y_cm"].to_numpy() * g["px_per_cm"]
        np.testing.assert_allclose(centre, np.stack([x, y], 1), atol=0.01)
        assert g["arena"]["xmax"] - g["arena"]["xmin"] == pytest.approx(50 * g["px_per_cm"], abs=0.01)


def test_session_geometry_precedence_and_bad_columns():
    table = pd.DataFrame({"session": ["a", "b"], "px_per_cm": [7.5, None],
                          "arena_xmin": [10, None], "arena_ymin": [20, None], "arena_xmax": [400, None],
                          "arena_ymax": [420, None]})
    registry = {"px_per_cm": 8.0, "arena": {"shape": "circle", "cx": 1, "cy": 1, "r": 1}}
    geo = manifest.session_geometry(table, registry)
    assert geo["a"] == {"px_per_cm": 7.5, "arena": {"shape": "rectangle", "xmin": 10.0, "ymin": 20.0,
                                                    "xmax": 400.0, "ymax": 420.0}}
    assert geo["b"] == {"px_per_cm": 8.0, "arena": registry["arena"]}  # empty cells: the dataset's
    assert manifest.session_geometry(table, registry, px_per_cm=5.0)["a"]["px_per_cm"] == 5.0
    assert manifest.session_geometry(table[["session"]])["a"] == {"px_per_cm": None, "arena": None}
    with pytest.raises(SessionsTableError, match="px_per_cm must be a positive"):
        manifest.session_geometry(table.assign(px_per_cm=["x", 0]))
    with pytest.raises(SessionsTableError, match="arena_xmin/ymin/xmax/ymax"):
        manifest.session_geometry(table.assign(arena_xmax=[5, None]))
    with pytest.raises(SessionsTableError, match="arena_xmin/ymin/xmax/ymax"):
        manifest.session_geometry(table.assign(arena_ymax=[None, None]))


def test_a_cache_generated_for_another_registry_version_is_made_again(tmp_path, monkeypatch):
    """After the generator changes (new sha256 in the registry), an old cached copy is regenerated, not used."""
    import json

    monkeypatch.setenv("BEHAVNB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BEHAVNB_CACHE_DIR", str(tmp_path / "cache"))
    files = manifest.fetch("synthetic-tiny", progress=False)
    root = files["sessions.csv"].parent
    marker = json.loads((root / ".generated.json").read_text())
    assert marker["registered"] == {f["path"]: f["sha256"] for f in manifest.info("synthetic-tiny")["files"]}
    # pretend the copy was made by an older generator: other registered hashes and other bytes
    marker["registered"] = {k: "0" * 64 for k in marker["registered"]}
    (root / ".generated.json").write_text(json.dumps(marker))
    files["sessions.csv"].write_text("old,version\n")
    again = manifest.fetch("synthetic-tiny", progress=False)
    assert manifest.sha256(again["sessions.csv"]) == marker["made"]["sessions.csv"]
