"""The series runner (papermill, report, skip/force, parameter checks), the CLI, Dask batches and per-session parallelism."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import behavnb as bn
from behavnb import cli, manifest, parallel, series
from behavnb.batch import read_manifest, run_batch
from behavnb.errors import BehavnbError, ParameterError, SessionsTableError


def test_series_on_bsoid_writes_run_directory_and_report(shared, tmp_path):
    runs = series.run_series(tmp_path / "run", dataset="bsoid-yttrilab", profile="fast", notebooks=["01"])
    assert [(r.name, r.status) for r in runs] == [("01_import", "ok")]
    table = pd.read_csv(tmp_path / "run/sessions.csv")
    assert table["session"].tolist() == ["raw_clip1", "raw_clip2"] and (table["fps"] == 60).all()
    with xr.open_dataset(tmp_path / "run/poses/raw_clip1.nc") as ds:
        assert dict(ds.sizes)["time"] == 7200 and ds.attrs["fps"] == 60
    index = (tmp_path / "run/reports/index.html").read_text()
    assert "01_import" in index and ">ok<" in index and "01_confidence.png" in index
    assert (tmp_path / "run/reports/01_import.html").stat().st_size > 10_000
    assert not list((tmp_path / "run").rglob("*.tmp"))


def test_failing_notebook_reports_cell_and_traceback(tmp_path):
    with pytest.raises(series.NotebookFailed, match=r"01_import failed at \[\d+\] \(cell \d+ .*DatasetNotFoundError"):
        series.run_series(tmp_path / "run", dataset="no-such-dataset", profile="fast", notebooks=["01", "02"])
    index = (tmp_path / "run/reports/index.html").read_text()
    assert ">failed<" in index and ">not run<" in index and "no-such-dataset" in index
    assert "01_import failed at [" in index and "Traceback" in index
    assert "bn.manifest.sessions(dataset)" in index  # the failing cell's source
    assert "DatasetNotFoundError" in index.split("Traceback", 1)[1]
    assert not (tmp_path / "run/sessions.csv").exists()
    assert not (tmp_path / "run/reports/notebooks/02_preprocess.ipynb").exists()


@pytest.mark.parametrize("choice", [["42"], ["browse", "nope"], ["10_extra"]])
def test_unknown_notebook_lists_the_valid_ones(choice):
    with pytest.raises(ParameterError, match="unknown notebook.*01_import, 02_preprocess.*09_group_stats"):
        series.series(choice)


def test_notebook_choice_by_number_or_name():
    names = [b.stem for b in series.series(["7", "09", "hierarchy", "01_import.ipynb"])]
    assert names == ["01_import", "07_browse", "08_hierarchy", "09_group_stats"]


def test_undeclared_parameter_is_refused_with_the_declared_ones():
    one = series.series(["03"])
    with pytest.raises(ParameterError, match=r"03_features does not declare a parameter 'confidence_cutoff'; "
                                             r"03_features declares project_dir, dataset.*window_s"):
        series.route_parameters(one, {"confidence_cutoff": 0.8})
    with pytest.raises(ParameterError, match="no notebook in this run declares a parameter 'n_motif'.*06_segment declares"):
        series.route_parameters(series.series(["06", "07"]), {"n_motif": 5})
    with pytest.raises(ParameterError, match="06_segment does not declare a parameter 'fdr'"):
        series.route_parameters(series.series(), {"06:fdr": 0.1})
    routed = series.route_parameters(series.series(["01", "02", "03"]), {"confidence_cutoff": 0.8, "02:max_gap": 5},
                                     {"profile": "fast", "scheduler": "local", "dataset": None})
    assert routed["01_import"]["confidence_cutoff"] == routed["02_preprocess"]["confidence_cutoff"] == 0.8
    assert "confidence_cutoff" not in routed["03_features"] and routed["02_preprocess"]["max_gap"] == 5
    assert routed["02_preprocess"]["scheduler"] == "local" and "scheduler" not in routed["03_features"]
    assert all("dataset" not in r for r in routed.values())  # None: the notebook's own default


def test_every_declared_parameter_parses():
    """papermill must see every parameter (a comment with '=' hides a line from it)."""
    import json

    for book in series.available():
        cell = next(c for c in json.loads(book.read_text())["cells"] if "parameters" in c["metadata"].get("tags", []))
        names = [line.split("=")[0].strip() for line in "".join(cell["source"]).splitlines()
                 if "=" in line and not line.lstrip().startswith("#")]
        assert names == list(series.declared_parameters(book)), book.name


def test_cli_run_end_to_end_then_nothing_then_only_what_changed(tiny_series, capsys):
    """`behavnb run` on synthetic-tiny, fast profile: all nine; again: nothing; a changed 08 parameter: 08 and 09."""
    project, out = tiny_series["project"], tiny_series["out"]
    assert tiny_series["rc"] == 0, tiny_series["err"][-3000:]
    assert out.count(" ok ") == 9 and "report:" in out
    index = (project / "reports/index.html").read_text()
    assert index.count(">ok<") == 9 and all((project / f"reports/{b.stem}.html").exists() for b in series.available())
    assert (project / "stats").is_dir() and list((project / "motifs").iterdir())
    # 09's study plan and entry-rate test (issue 21): fold changes > 1 that shrink with more animals
    stats_dir = next((project / "stats").iterdir())
    mde = pd.read_csv(stats_dir / "minimum_detectable_effect.csv").set_index("animals per group")
    assert mde.index.tolist() == [8, 12, 16, 24] and (mde > 1).all().all() and (mde.diff().iloc[1:] < 0).all().all()
    assert any(c.startswith("simulated") for c in mde.columns)
    real = Path(os.environ.get("BEHAVNB_DATA_DIR", "/nonexistent")) / "behaviorflow-csi-labels"
    if real.is_dir():  # 09 adds a column from the real labels where they are at hand
        assert any(c.startswith("real: behaviorflow-csi-labels") for c in mde.columns)
    rate = pd.read_csv(stats_dir / "results_entry_rate.csv")
    assert (rate["metric"] == "entry_rate").all() and rate["p"].dropna().between(0, 1).all() and len(rate) >= 2
    executed = sorted((project / "reports/notebooks").glob("*.ipynb"))
    mtimes = {p: p.stat().st_mtime_ns for p in executed}

    runs = series.run_series(project, None, "fast")  # no dataset given: the project's, not the notebooks' default
    assert {r.status for r in runs} == {"current"}  # the second run executes nothing
    assert {p: p.stat().st_mtime_ns for p in executed} == mtimes

    # from the command line "2022" stays a string, as 08's default "2024" is
    assert cli.main(["run", "08", "9", "--profile", "fast", "--project-dir", str(project), "-p", "08:cost=2022"]) == 0
    assert "08_hierarchy       ok" in capsys.readouterr().out
    cells = json.loads((project / "reports/notebooks/08_hierarchy.ipynb").read_text())["cells"]
    assert any('cost = "2022"' in "".join(c["source"]) for c in cells)
    assert "09_group_stats" in (project / "reports/index.html").read_text()
    assert (project / "reports/index.html").read_text().count(">not chosen<") == 7
    runs = series.run_series(project, "synthetic-tiny", "fast", notebooks=["07", "08", "09"], parameters={"08:cost": "2022"})
    assert [r.status for r in runs] == ["current"] * 3
    runs = series.run_series(project, "synthetic-tiny", "fast", notebooks=["09"], force=True)
    assert [r.status for r in runs] == ["ok"]


def test_success_then_failure_keeps_the_first_and_restarts_at_the_failure(tmp_path):
    project = tmp_path / "run"
    with pytest.raises(series.NotebookFailed, match=r"02_preprocess failed at .*Nope"):
        series.run_series(project, "synthetic-tiny", "fast", notebooks=["01", "02", "03"],
                          parameters={"02:anterior": "[Nope]", "02:posterior": "[TailBase]"})
    index = (project / "reports/index.html").read_text()
    assert index.count(">ok<") == 1 and ">failed<" in index and ">not run<" in index
    assert (project / "sessions.csv").exists() and not (project / "clean").exists()
    stamps = json.loads((project / "reports/notebooks/stamps.json").read_text())
    assert list(stamps) == ["01_import"]
    runs = series.run_series(project, None, "fast", notebooks=["01", "02"])
    assert [r.status for r in runs] == ["current", "ok"]


def test_cli_errors(capsys, tmp_path):
    assert cli.main(["datasets"]) == 0
    assert "embedded-demo" in capsys.readouterr().out
    assert cli.main(["fetch", "nothing-here"]) == 1
    assert "is not registered" in capsys.readouterr().err
    assert cli.main(["run", "12", "--project-dir", str(tmp_path / "r")]) == 1
    assert "unknown notebook(s) ['12']" in capsys.readouterr().err
    assert cli.main(["run", "03", "-p", "confidence_cutoff=0.8", "--project-dir", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert "03_features does not declare a parameter 'confidence_cutoff'" in err and "window_s" in err
    assert cli.main(["run", "-p", "dataset=x", "--project-dir", str(tmp_path / "r")]) == 1
    assert "use --dataset" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()  # refused before anything was written


# -- Dask --------------------------------------------------------------------------------------------

def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_scheduler_fails_within_10_s(tmp_path, capsys):
    address = f"tcp://127.0.0.1:{_closed_port()}"
    t0 = time.perf_counter()
    with pytest.raises(parallel.SchedulerError, match=f"cannot connect to the Dask scheduler at {address}"):
        parallel.map_items(len, [("a", "x")], scheduler=address)
    assert time.perf_counter() - t0 < 10
    t0 = time.perf_counter()
    assert cli.main(["run", "01", "--scheduler", address, "--project-dir", str(tmp_path / "r")]) == 1
    assert time.perf_counter() - t0 < 10 and "cannot connect to the Dask scheduler" in capsys.readouterr().err
    assert not (tmp_path / "r/reports/notebooks/01_import.ipynb").exists()
    (tmp_path / "m.csv").write_text("row,dataset,notebooks\na,synthetic-tiny,01\n")
    t0 = time.perf_counter()
    assert cli.main(["batch", str(tmp_path / "m.csv"), "--scheduler", address]) == 1
    assert time.perf_counter() - t0 < 10 and "cannot connect to the Dask scheduler" in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["local:0", "lokal", "8786"])
def test_bad_scheduler_value(bad):
    with pytest.raises(ParameterError, match="scheduler="):
        parallel.resolve_scheduler(bad)


def _maybe_fail(x: int) -> int:
    if x == 2:
        raise ValueError("two is broken")
    return x * 10


def test_map_items_same_on_every_engine_and_a_failure_stops_nothing():
    items = [(f"s{i}", i) for i in range(5)]
    sync = parallel.map_items(_maybe_fail, items, scheduler="sync", progress=False)
    local = parallel.map_items(_maybe_fail, items, scheduler="local:2", progress=False)
    for outs in (sync, local):
        assert [o.key for o in outs] == [k for k, _ in items]
        assert [o.value for o in outs] == [0, 10, None, 30, 40]
        assert [o.ok for o in outs] == [True, True, False, True, True]
        assert outs[2].error == "ValueError: two is broken" and "_maybe_fail" in outs[2].traceback
    with pytest.raises(ValueError, match="two is broken"):
        parallel.raise_failures(sync, "sessions")


def test_sessions_load_and_clean_in_parallel_equal_sequential():
    import behavnb.preprocess as P

    table = manifest.sessions("synthetic-tiny")
    seq = manifest.load_sessions(table, progress=False)
    par = manifest.load_sessions(table, progress=False, scheduler="local:2")
    assert list(seq) == list(par)
    for s in seq:
        xr.testing.assert_identical(seq[s], par[s])
    c1, qc1, _ = P.clean_sessions(seq, progress=False)
    c2, qc2, _ = P.clean_sessions(seq, progress=False, scheduler="local:2")
    pd.testing.assert_frame_equal(qc1, qc2)
    for s in c1:
        xr.testing.assert_identical(c1[s], c2[s])


def test_vqmap_codes_in_parallel_equal_sequential():
    import torch

    import behavnb.preprocess as P
    from behavnb import embed, windows
    from behavnb.models import vqmap

    cleaned, _, _ = P.clean_sessions(manifest.load_sessions(manifest.sessions("synthetic-tiny"), progress=False),
                                     progress=False)
    sk = bn.inputs.Skeleton.from_dataset(next(iter(cleaned.values())))
    ws = windows.build(bn.inputs.vqmap_matrices(cleaned, sk), 16, fit_normalizer=bn.inputs.vqmap_normalizer)
    torch.manual_seed(0)
    model = vqmap.VQMAPConfig(skeletons=vqmap.skeleton_config({"main": sk}), window=16, hidden=16, code_dim=4,
                              slots=2, heads=2).build()
    seq = embed.embed_codes_sessions(model, cleaned, ws.normalizer, amp=False, progress=False)
    par = embed.embed_codes_sessions(model, cleaned, ws.normalizer, amp=False, progress=False, scheduler="local:2")
    assert list(seq) == list(par) == list(cleaned)
    for s in seq:
        np.testing.assert_array_equal(seq[s]["motif"].values, par[s]["motif"].values)
        np.testing.assert_allclose(seq[s].values, par[s].values, rtol=1e-5, atol=1e-6)


def test_one_broken_session_fails_after_the_others_ran(tmp_path):
    table = manifest.sessions("synthetic-tiny")
    bad = tmp_path / "broken.csv"
    bad.write_text("not,a,pose,file\n1,2\n")
    table.loc[1, "file"] = str(bad)
    with pytest.raises(BehavnbError, match="broken.csv"):
        manifest.load_sessions(table, progress=False)
    table.loc[2, "file"] = str(bad)
    with pytest.raises(BehavnbError, match=r"2 of 4 sessions failed \(WT_02_s1: .*broken.csv.*KO_01_s1: .*broken.csv"):
        manifest.load_sessions(table, progress=False, scheduler="local:2")


def test_batch_four_rows_one_broken_then_rerun_redoes_only_that_row(tmp_path, capsys):
    m = tmp_path / "cohorts.csv"
    m.write_text("row,dataset,profile,notebooks,confidence_cutoff,02:anterior\n"
                 "a,synthetic-tiny,fast,01 02,0.5,\n"
                 "b,synthetic-tiny,fast,01 02,0.6,\n"
                 "c,synthetic-tiny,fast,01 02,,\n"
                 "d,data/missing-cohort,fast,01 02,0.6,\n"
                 "e,synthetic-tiny,fast,01 02,,[Nope]\n")
    summary = run_batch(m, scheduler="local:2", progress=False)
    status = {"a": "ok", "b": "ok", "c": "ok", "d": "failed", "e": "failed"}
    assert summary.set_index("row")["status"].to_dict() == status
    d, e = summary.set_index("row").loc["d"], summary.set_index("row").loc["e"]
    assert "missing-cohort is neither a registered dataset" in d["error"] and "row 'd'" in d["error"]
    assert e["error"].startswith("notebook 02_preprocess failed at [") and "Nope" in e["error"]
    assert (summary["notebooks_run"] == [2, 2, 2, 0, 1]).all()
    on_disk = pd.read_csv(tmp_path / "cohorts-runs/batch_summary.csv")
    assert on_disk["row"].tolist() == list("abcde") and on_disk["status"].tolist()[-2:] == ["failed", "failed"]
    poses = pd.read_csv(tmp_path / "cohorts-runs/a/sessions.csv")
    assert len(poses) == 4
    # the parameter reached the notebooks: the executed 02 of row a shows 0.5
    assert "confidence_cutoff = 0.5" in (tmp_path / "cohorts-runs/a/reports/notebooks/02_preprocess.ipynb").read_text()
    mtime = (tmp_path / "cohorts-runs/a/clean").stat().st_mtime_ns

    # fix row d; a rerun redoes only it
    (tmp_path / "data").mkdir()
    import shutil

    shutil.copytree(manifest.dataset_dir("synthetic-tiny"), tmp_path / "data/missing-cohort")
    assert cli.main(["batch", str(m), "--scheduler", "local:2"]) == 1  # e is still broken
    again = pd.read_csv(tmp_path / "cohorts-runs/batch_summary.csv").set_index("row")
    assert again["status"].to_dict() == {"a": "current", "b": "current", "c": "current", "d": "ok", "e": "failed"}
    assert again["notebooks_run"].to_dict() == {"a": 0, "b": 0, "c": 0, "d": 2, "e": 0}
    assert (tmp_path / "cohorts-runs/a/clean").stat().st_mtime_ns == mtime
    assert "batch_summary.csv" in capsys.readouterr().out


def test_batch_manifest_bad_inputs(tmp_path):
    m = tmp_path / "m.csv"
    with pytest.raises(SessionsTableError, match="no such batch manifest"):
        read_manifest(m)
    m.write_text("row,dataset\n")
    with pytest.raises(SessionsTableError, match="no rows"):
        read_manifest(m)
    m.write_text("row,dataset\na,synthetic-tiny\na,synthetic-tiny\n")
    with pytest.raises(SessionsTableError, match=r"duplicate row names \['a'\]"):
        read_manifest(m)
    m.write_text("row,dataset,notebooks,n_motifz\na,synthetic-tiny,06,5\n")
    with pytest.raises(ParameterError, match=r"m.csv, row 'a': -p n_motifz: notebook 06_segment does not declare"):
        read_manifest(m)
    m.write_text("row,dataset,notebooks\na,synthetic-tiny,13\n")
    with pytest.raises(ParameterError, match=r"row 'a'.*unknown notebook"):
        read_manifest(m)
    m.write_text("row,dataset,project_dir\na,synthetic-tiny,runs/x\nb,synthetic-tiny,runs/x\n")
    with pytest.raises(SessionsTableError, match="rows share a run directory"):
        read_manifest(m)
