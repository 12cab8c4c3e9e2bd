"""NWB export (behavnb.export.nwb): files valid for pynwb, read back by pynwb, load_poses and read_nwb_labels."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import behavnb as bn
from behavnb.errors import ParameterError, PoseFileNotFoundError

sys.path.insert(0, str(Path(__file__).parent))
import pynwb  # noqa: E402  (a dependency: no skip)
from export_run import MOTIFS, make_run  # noqa: E402

from behavnb.export import load_results  # noqa: E402
from behavnb.export.nwb import NWBValidationError, export_nwb, read_nwb_labels, validate_nwb  # noqa: E402


@pytest.fixture(scope="module")
def run(tmp_path_factory, shared):
    """The three-session run (with hierarchy), exported once with the defaults."""
    project = make_run(tmp_path_factory.mktemp("nwb") / "run", shared, video=False)
    paths = export_nwb(project.root, progress=False)
    return {"project": project, "paths": paths, "results": load_results(project.root)}


def _read(path: Path):
    io = pynwb.NWBHDF5IO(str(path), "r")
    return io, io.read()


def test_one_valid_file_per_session(run):
    results = run["results"]
    assert [p.name for p in run["paths"]] == [f"{s}.nwb" for s in results.session_ids]
    assert len(run["paths"]) == 3
    for p in run["paths"]:
        assert p.parent == run["project"].root / "exports" / "nwb"
        assert validate_nwb(p) == []
    assert pynwb.validate(path=str(run["paths"][0])) == []  # pynwb's own way, specs read from the file
    assert not list(run["paths"][0].parent.glob(".*.tmp"))  # no temporary files left


def test_pynwb_reads_subject_ethograms_and_series(run):
    results, project = run["results"], run["project"]
    io, nwb = _read(run["paths"][0])  # vame_1: subject m1, group WT, sex M
    try:
        assert nwb.session_id == "vame_1"
        assert nwb.identifier == str(uuid.uuid5(uuid.NAMESPACE_URL, f"behavnb/vame_1/{MOTIFS}"))
        assert nwb.session_start_time.year == 1970 and "unknown" in nwb.session_description
        assert (nwb.subject.subject_id, nwb.subject.genotype, nwb.subject.sex) == ("m1", "WT", "M")
        mod = nwb.processing["behavior"]
        pe = mod["individual_0"]
        assert pe.source_software == "DeepLabCut" and sorted(pe.skeleton.nodes[:]) == sorted(pe.pose_estimation_series)
        eth = mod["motif_ethogram"].to_dataframe()
        assert list(eth["native_code"]) == list(range(6)) and list(eth["behavior"][:2]) == ["rest", "walk"]
        assert set(eth["category"]) <= {f"community {c}" for c in range(3)}  # the chosen cut: 3
        bouts = mod["motif_bouts_individual_0"].to_dataframe()
        lab = results.session_labels("vame_1")["motif"].to_numpy()
        n_bouts = int(np.sum((np.diff(lab) != 0) & (lab[1:] >= 0)) + (lab[0] >= 0))
        assert len(bouts) == n_bouts > 10
        assert np.all(bouts["stop_time"] > bouts["start_time"])
        assert set(bouts["label"]) <= set(eth["behavior"])
        assert mod["motif_bouts_individual_0"].source_pose is pe
        comm = mod["community_bouts_individual_0"].to_dataframe()
        assert 0 < len(comm) <= len(bouts) and set(comm["label"]) <= {f"community {c}" for c in range(3)}
        vame = mod["vame_individual_0"]
        lat = project.read_latents("vame", "vame_1").values
        np.testing.assert_array_equal(vame.latent_space_series.data[:], lat.astype(np.float32))
        motifs = vame.motif_series["motifs"]
        np.testing.assert_array_equal(motifs.data[:], lab)
        assert motifs.rate == 30.0 and motifs.algorithm == "hmm"
        assert vame.pose_estimation is pe and '"model": "vame"' in vame.vame_config
    finally:
        io.close()


def test_load_poses_reads_the_cleaned_poses_back(run):
    project = run["project"]
    for path, session in zip(run["paths"], run["results"].session_ids, strict=True):
        clean = project.read_clean(session)
        back = bn.io.load_poses(path)
        assert back.attrs["fps"] == 30.0
        assert list(back["individual"].values) == list(clean["individual"].values)
        assert list(back["keypoint"].values) == list(clean["keypoint"].values)
        a = clean["position"].transpose("time", "space", "keypoint", "individual").values
        b = back["position"].transpose("time", "space", "keypoint", "individual").values
        assert a.shape == b.shape and np.isnan(a).any() == np.isnan(b).any()
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_allclose(a, b, equal_nan=True)
        np.testing.assert_allclose(back["time"].values, clean["time"].values)


def test_labels_round_trip(run):
    results = run["results"]
    for path, session in zip(run["paths"], results.session_ids, strict=True):
        back = read_nwb_labels(path)
        want = results.session_labels(session)[["session", "individual", "frame", "motif"]]
        pd.testing.assert_frame_equal(back, want.reset_index(drop=True), check_dtype=False)
        assert (back["motif"] == -1).sum() == 3  # the edge frames without a label


def test_import_does_not_load_pynwb():
    code = ("import sys, behavnb.export.nwb; bad = [m for m in ('pynwb', 'ndx_pose', 'ndx_ethogram', 'ndx_vame', "
            "'hdmf') if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_existing_file_refused_then_replaced(run, tmp_path):
    project = run["project"]
    out = tmp_path / "nwb"
    first = export_nwb(project.root, out, sessions=["vame_1"], progress=False)
    before = first[0].read_bytes()
    refused = r"vame_1\.nwb already exists.*overwrite=True \(behavnb export nwb --overwrite\)"
    with pytest.raises(ParameterError, match=refused):
        export_nwb(project.root, out, sessions=["vame_1"], progress=False)
    assert first[0].read_bytes() == before
    again = export_nwb(project.root, out, sessions=["vame_1"], overwrite=True, progress=False)
    assert again == first and validate_nwb(again[0]) == []
    assert sorted(p.name for p in out.iterdir()) == ["vame_1.nwb"]  # replaced in place, no temporary file left


def test_invalid_file_is_not_kept(run, tmp_path, monkeypatch):
    import behavnb.export.nwb as mod

    monkeypatch.setattr(mod, "validate_nwb", lambda path: ["a made-up error"])
    with pytest.raises(NWBValidationError, match="a made-up error"):
        export_nwb(run["project"].root, tmp_path, sessions=["vame_1"], progress=False)
    assert list(tmp_path.iterdir()) == []


def test_validate_first_checks_only_the_first_file(run, tmp_path, monkeypatch):
    import behavnb.export.nwb as mod

    checked = []
    monkeypatch.setattr(mod, "validate_nwb", lambda path: checked.append(Path(path)) or [])
    sessions = run["project"].read_sessions()["session"].astype(str).tolist()[:2]
    paths = export_nwb(run["project"].root, tmp_path, sessions=sessions, progress=False, validate="first")
    assert len(paths) == 2 and len(checked) == 1  # the first file only (checked under its temporary name)
    with pytest.raises(ParameterError, match="validate='all'"):
        export_nwb(run["project"].root, tmp_path / "x", sessions=sessions, progress=False, validate="all")
    assert not (tmp_path / "x").exists()


def test_source_file_never_overwritten(run, tmp_path):
    project = run["project"]
    table = project.read_sessions()
    table.loc[table["session"] == "vame_1", "file"] = str(tmp_path / "vame_1.nwb")
    (tmp_path / "vame_1.nwb").write_bytes(b"raw data")
    copy = bn.project.Project(tmp_path / "copy")
    shutil.copytree(project.root, copy.root, dirs_exist_ok=True, ignore=shutil.ignore_patterns("exports"))
    copy.write_sessions(table)
    with pytest.raises(ParameterError, match="source file"):
        export_nwb(copy.root, tmp_path, overwrite=True, progress=False)
    assert (tmp_path / "vame_1.nwb").read_bytes() == b"raw data"


def test_export_before_segmentation_names_06(tmp_path):
    project = bn.project.Project(tmp_path / "run")
    project.write_sessions(pd.DataFrame({"session": ["s1"], "subject": ["a"], "group": ["WT"], "fps": [30.0]}))
    with pytest.raises(PoseFileNotFoundError, match="06_segment"):
        export_nwb(project.root, progress=False)
    assert not (project.root / "exports").exists()


def test_without_hierarchy_other_model_and_table_metadata(tmp_path, shared):
    """No 08: no community ethogram (and a cut is refused); a VQ-MAP-like model gets plain TimeSeries; the start
    time, species and extra columns come from the sessions table."""
    project = make_run(tmp_path / "run", shared, hierarchy=False, video=False)
    table = project.read_sessions()
    table["date"] = ["2024-05-01T14:30:00+02:00", "2024-05-02", ""]
    table["species"] = "Mus musculus"
    table["cohort"] = "A"
    table.loc[2, "sex"] = "female"
    project.write_sessions(table)
    name = "vqmap-vq-6"
    project.motifs_dir(name).mkdir(parents=True)
    shutil.copy(project.labels_path(MOTIFS), project.labels_path(name))
    for s in table["session"]:
        shutil.copytree(project.latents_path("vame", s).parent, project.latents_path("vqmap", s).parent,
                        dirs_exist_ok=True)
    with pytest.raises(ParameterError, match="08_hierarchy"):
        export_nwb(project.root, tmp_path / "out", motifs=name, cut=3, progress=False)
    paths = export_nwb(project.root, tmp_path / "out", motifs=name, progress=False)
    results = load_results(project.root, name)
    for path, session in zip(paths, results.session_ids, strict=True):
        assert validate_nwb(path) == []
        back = read_nwb_labels(path)
        np.testing.assert_array_equal(back["motif"], results.session_labels(session)["motif"])
    io, nwb = _read(paths[0])
    try:
        mod = nwb.processing["behavior"]
        assert not {"community_ethogram", "community_bouts_individual_0"} & set(mod.data_interfaces)
        assert "category" not in mod["motif_ethogram"].colnames
        assert "vame_individual_0" not in mod.data_interfaces
        np.testing.assert_array_equal(mod["vqmap_latents_individual_0"].data[:],
                                      project.read_latents("vqmap", "vame_1").values)
        assert mod["vqmap_motifs_individual_0"].data.dtype == np.int32
        assert nwb.session_start_time.isoformat() == "2024-05-01T14:30:00+02:00"
        assert nwb.subject.species == "Mus musculus" and "cohort=A" in nwb.subject.description
    finally:
        io.close()
    io, nwb = _read(paths[1])
    try:  # a date without time zone: UTC
        assert nwb.session_start_time.isoformat() == "2024-05-02T00:00:00+00:00"
    finally:
        io.close()
    io, nwb = _read(paths[2])
    try:  # a blank date: the stand-in, said so
        assert nwb.subject.sex == "F" and nwb.session_start_time.year == 1970 and "unknown" in nwb.session_description
    finally:
        io.close()


def test_other_cut(run, tmp_path):
    """cut=2: the second ethogram has two communities, its bouts merge motifs of one community."""
    path, = export_nwb(run["project"].root, tmp_path, sessions=["vame_1"], cut=2, progress=False)
    comm = run["results"].community_map(2)
    io, nwb = _read(path)
    try:
        mod = nwb.processing["behavior"]
        assert list(mod["community_ethogram"].to_dataframe()["behavior"]) == ["community 0", "community 1"]
        series = mod["vame_individual_0"].community_series["communities"].data[:]
        lab = run["results"].session_labels("vame_1")["motif"].to_numpy()
        np.testing.assert_array_equal(series, [comm[m] if m >= 0 else -1 for m in lab])
        bouts = mod["community_bouts_individual_0"].to_dataframe()
        assert set(bouts["label"]) == {"community 0", "community 1"}
        assert np.all(bouts["label"].to_numpy()[1:] != bouts["label"].to_numpy()[:-1])  # runs are merged
    finally:
        io.close()
    with pytest.raises(ParameterError, match="cut into 9"):
        export_nwb(run["project"].root, tmp_path / "x", cut=9, progress=False)


def test_two_animals_one_pose_estimation_each(tmp_path):
    """A two-animal session: one PoseEstimation, ethogram and VAMEProject per animal, names kept."""
    cohort = bn.synth.make_cohort(animals_per_group=1, sessions_per_animal=1, duration_s=10, fps=25,
                                  animals_per_session=2, groups=("WT",), seed=5)
    project = bn.project.Project(tmp_path / "run")
    s = cohort.sessions["session"].iloc[0]
    project.write_sessions(pd.DataFrame({"session": [s], "subject": ["pair1"], "group": ["WT"], "sex": ["x"],
                                         "fps": [25.0]}))
    clean = bn.preprocess.clean(cohort.poses[s])
    project.write_dataset(clean, project.clean_path(s))
    inds, n = [str(i) for i in clean["individual"].values], clean.sizes["time"]
    assert len(inds) == 2
    rng = np.random.default_rng(1)
    lat = xr.DataArray(rng.normal(size=(n, 3, 2)).astype(np.float32), dims=("time", "latent", "individual"),
                       coords={"time": clean["time"].values, "individual": inds})
    project.write_latents(lat, "vame", s)
    motif = np.repeat(rng.integers(0, 4, size=n // 10 + 1), 10)[:n]
    labels = pd.concat([pd.DataFrame({"session": s, "individual": i, "frame": np.arange(n), "time": np.arange(n) / 25,
                                      "motif": np.roll(motif, 7 * j)}) for j, i in enumerate(inds)], ignore_index=True)
    project.motifs_dir("vame-hmm-4").mkdir(parents=True)
    project.write_table(labels, project.labels_path("vame-hmm-4"))
    path, = export_nwb(project.root, progress=False)
    assert validate_nwb(path) == []
    back = bn.io.load_poses(path)
    assert list(back["individual"].values) == inds and back.attrs["fps"] == 25.0
    np.testing.assert_allclose(back["position"].sel(individual=inds).transpose(*clean["position"].dims).values,
                               clean["position"].values, equal_nan=True)
    pd.testing.assert_frame_equal(read_nwb_labels(path), labels.drop(columns="time"), check_dtype=False)
    io, nwb = _read(path)
    try:
        mod = nwb.processing["behavior"]
        assert nwb.subject.sex == "O"
        for i in inds:
            np.testing.assert_array_equal(mod[f"vame_{i}"].latent_space_series.data[:], lat.sel(individual=i).values)
            assert mod[f"motif_bouts_{i}"].source_pose is mod[i]
    finally:
        io.close()


def test_names_nwb_forbids_are_written_and_read_back(shared, tmp_path):
    """B-SOiD's keypoint 'Butt/Proximal Tail' (and an animal 'a:1'): NWB object names cannot hold '/' or ':', so the
    series are named with '_' and the skeleton keeps the true names, which load_poses restores."""
    project = make_run(tmp_path / "run", shared, hierarchy=False, video=False)
    path = project.clean_path("vame_1")
    clean = project.read_clean("vame_1")
    kps = [str(k) for k in clean["keypoint"].values]
    kps[-1] = "Butt/Proximal Tail"
    clean = clean.assign_coords(keypoint=kps)
    project.write_dataset(clean, path)
    out = export_nwb(project.root, tmp_path / "nwb", sessions=["vame_1"], progress=False)[0]
    assert validate_nwb(out) == []
    back = bn.io.load_poses(out)
    assert [str(k) for k in back["keypoint"].values] == kps
    np.testing.assert_allclose(back["position"].sel(keypoint="Butt/Proximal Tail").values,
                               clean["position"].sel(keypoint="Butt/Proximal Tail").values, equal_nan=True)
    assert (read_nwb_labels(out)["motif"].to_numpy() >= -1).all()
