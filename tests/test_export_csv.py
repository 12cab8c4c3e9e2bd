"""CSV export: per-frame labels that round-trip through manifest.load_labels into the same statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from export_run import MOTIFS, make_run

import behavnb as bn
from behavnb.cli import main
from behavnb.errors import ParameterError, PoseFileNotFoundError
from behavnb.export import load_results
from behavnb.export.tables import export_csv


@pytest.fixture(scope="module")
def run(shared, tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("csv") / "run", shared, video=False)


def test_labels_round_trip_into_the_same_statistics(run, tmp_path):
    paths = export_csv(run, tmp_path / "out")
    results = load_results(run)
    back = bn.manifest.load_labels(tmp_path / "out" / "sessions.csv")
    mine = results.labels.sort_values(["session", "individual", "frame"]).reset_index(drop=True)
    back = back.sort_values(["session", "individual", "frame"]).reset_index(drop=True)
    assert len(back) == len(mine)
    np.testing.assert_array_equal(back["motif"].to_numpy(int), mine["motif"].to_numpy(int))
    np.testing.assert_allclose(back["time"], mine["time"], atol=1e-6)
    assert set(back["group"]) == {"WT", "KO"}
    ids = results.motif_ids
    a = bn.stats.animal_table(mine, results.sessions, motifs=ids)
    b = bn.stats.animal_table(back, bn.manifest.sessions(tmp_path / "out" / "sessions.csv", check_keypoints=False),
                              motifs=ids)
    key = ["session", "individual", "motif", "metric"]
    a, b = a.sort_values(key).reset_index(drop=True), b.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a[key], b[key])
    np.testing.assert_allclose(a["value"], b["value"], rtol=1e-9, equal_nan=True)
    # the exported metrics table is that same table, with names
    metrics = pd.read_csv(paths["metrics.csv"], dtype={"session": str})
    assert {"motif_name", "metric", "value", "subject", "group"} <= set(metrics.columns)
    assert (metrics.loc[metrics["motif"] == 0, "motif_name"] == "rest").all()
    assert len(metrics) == len(a)


def test_names_communities_bouts_and_column_guide(run, tmp_path):
    paths = export_csv(run, tmp_path / "out", cuts="all")
    lab = pd.read_csv(paths["labels/vame_1.csv"], keep_default_na=False)
    assert list(lab.columns[:6]) == ["session", "individual", "frame", "time", "motif", "motif_name"]
    assert [c for c in lab.columns if c.startswith("community_")] == ["community_2", "community_3", "community_4",
                                                                       "community_5"]
    walk = lab[lab["motif"] == 1]
    assert len(walk) and (walk["motif_name"] == "walk").all() and (walk["community_3"] == 1).all()
    assert (lab.loc[lab["motif"] >= 3, "community_3"] == 2).all()  # motifs 2..5 share community 2 in the fixture
    assert (lab.loc[lab["motif"] == -1, "community_3"] == -1).all()
    bouts = pd.read_csv(paths["bouts.csv"], dtype={"session": str})
    first = bouts[(bouts["session"] == "vame_1")].iloc[0]
    assert first["start"] == 3 and first["motif_name"] == results_name(run, first["motif"])
    assert bouts.groupby("session")["n_frames"].sum().loc["vame_1"] == (lab["motif"] >= 0).sum()
    guide = paths["README.md"].read_text()
    for column in ("motif_name", "community_<n>", "bout_rate", "censored"):
        assert column in guide
    assert "community_metrics.csv" in paths


def results_name(run, motif) -> str:
    return load_results(run).name_of(int(motif))


def test_existing_export_refused_unless_overwrite(run, tmp_path, capsys):
    out = tmp_path / "out"
    export_csv(run, out)
    with pytest.raises(ParameterError, match="overwrite"):
        export_csv(run, out)
    (out / "labels" / "vame_1.csv").write_text("stale")
    assert main(["export", "csv", "--project-dir", str(run.root), "--out", str(out)]) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert (out / "labels" / "vame_1.csv").read_text() == "stale"  # refused: nothing touched
    assert main(["export", "csv", "--project-dir", str(run.root), "--out", str(out), "--overwrite"]) == 0
    assert (out / "labels" / "vame_1.csv").read_text().startswith("session,")
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_before_segmentation_names_the_notebook(run, tmp_path, capsys):
    bare = bn.project.Project(tmp_path / "bare")
    bare.write_sessions(run.read_sessions())
    with pytest.raises(PoseFileNotFoundError, match="06_segment"):
        export_csv(bare)
    assert main(["export", "csv", "--project-dir", str(tmp_path / "missing")]) == 1
    assert "no such run directory" in capsys.readouterr().err
    assert not (tmp_path / "missing").exists()
    with pytest.raises(PoseFileNotFoundError, match=f"{MOTIFS}.*06_segment|06_segment"):
        export_csv(run, tmp_path / "x", motifs="vame-kmeans-9")


def test_cuts_need_the_hierarchy(shared, tmp_path):
    run = make_run(tmp_path / "run", shared, hierarchy=False, video=False)
    paths = export_csv(run, tmp_path / "out")  # no hierarchy: no community columns, no error
    assert not [c for c in pd.read_csv(paths["labels/vame_1.csv"]).columns if c.startswith("community")]
    with pytest.raises(ParameterError, match="08_hierarchy"):
        export_csv(run, tmp_path / "out2", cuts=[3])


def test_behaviorflow_layout_reads_like_behaviorflows_own_files(run, shared, tmp_path):
    """--behaviorflow writes what BehaviorFlow's R code reads (its shared example files are the pattern): ';', quoted
    header and values, NA unquoted; behavnb's reader of those files gets the same labels and the same BehaviorFlow
    metrics back."""
    import re

    paths = export_csv(run, tmp_path / "out", behaviorflow=True)
    mine = paths["behaviorflow/vame_1.csv"].read_text().splitlines()
    theirs = next((shared / "behaviorflow-csi-labels" / "labels").glob("*.csv")).read_text().splitlines()
    line = re.compile(r'^(NA|"[^";]*")(;(NA|"[^";]*"))*$')
    assert all(line.match(x) for x in theirs[:40]) and all(line.match(x) for x in mine[:40])
    assert mine[0] == '"motif";"community.3"' and mine[1:4] == ["NA;NA"] * 3 and mine[4] == '"0";"0"'
    meta = pd.read_csv(paths["behaviorflow/metadata.csv"], sep=";")
    assert list(meta.columns[:3]) == ["ID", "Condition", "DLCFile"]
    results = load_results(run)
    back = []
    for row in meta.itertuples():
        lab = bn.io.load_labels(tmp_path / "out" / "behaviorflow" / row.DLCFile, "motif", session=row.ID)
        back.append(lab.assign(group=row.Condition))
    back = pd.concat(back, ignore_index=True)
    orig = results.labels.merge(results.sessions[["session", "group"]], on="session")
    orig = orig.assign(motif=orig["motif"].where(orig["motif"] >= 0).astype("Int64"))
    for frame in (back, orig):
        frame.sort_values(["session", "frame"], inplace=True, ignore_index=True)
    np.testing.assert_array_equal(back["motif"].fillna(-1).to_numpy(int), orig["motif"].fillna(-1).to_numpy(int))
    for mode in ("r", "behavnb"):  # the per-session frame and bout counts BehaviorFlow's t-tests are made of
        a = bn.stats.behaviorflow.cluster_metrics(orig, mode=mode)
        b = bn.stats.behaviorflow.cluster_metrics(back, mode=mode)
        assert len(a) and a.shape == b.shape
        np.testing.assert_array_equal(np.asarray(a, float), np.asarray(b, float))


def test_never_replaces_a_folder_that_is_not_an_earlier_export(run, tmp_path):
    """Only a folder marked as a behavnb export is ever replaced; the run directory itself never."""
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "thesis.docx").write_text("years of work")
    for overwrite in (False, True):
        with pytest.raises(ParameterError, match="not an earlier behavnb CSV export"):
            export_csv(run, mine, overwrite=overwrite)
    assert (mine / "thesis.docx").read_text() == "years of work"
    for out in (run.root, run.root.parent):
        with pytest.raises(ParameterError, match="holds the run directory"):
            export_csv(run, out, overwrite=True)
    assert run.sessions_csv.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "sessions.csv" in export_csv(run, empty)  # an empty folder is fine


def test_each_session_at_its_own_frame_rate(shared, tmp_path):
    """A study mixing 30 and 60 fps: bout seconds and rates use each session's own rate, as animal_table per session."""
    run = make_run(tmp_path / "run", shared, hierarchy=False, video=False)
    table = run.read_sessions()
    table.loc[table["session"] == "KO_01_s1", "fps"] = 60.0
    run.write_sessions(table)
    labels = pd.read_parquet(run.labels_path(MOTIFS))
    ko = labels["session"] == "KO_01_s1"
    labels.loc[ko, "time"] = labels.loc[ko, "frame"] / 60.0
    run.write_table(labels, run.labels_path(MOTIFS))
    paths = export_csv(run, tmp_path / "out")
    bouts = pd.read_csv(paths["bouts.csv"], dtype={"session": str})
    for session, fps in (("KO_01_s1", 60.0), ("vame_1", 30.0)):
        b = bouts[bouts["session"] == session]
        np.testing.assert_allclose(b["duration_s"], b["n_frames"] / fps)
    metrics = pd.read_csv(paths["metrics.csv"], dtype={"session": str})
    ko_alone = bn.stats.animal_table(labels[ko], table, motifs=load_results(run).motif_ids, fps=60.0)
    mine = metrics[metrics["session"] == "KO_01_s1"].sort_values(["motif", "metric"])["value"].to_numpy()
    np.testing.assert_allclose(mine, ko_alone.sort_values(["motif", "metric"])["value"].to_numpy(), equal_nan=True)
