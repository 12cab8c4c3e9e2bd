"""Notebook 01 on a real dataset through papermill, the batch runner's report, and the CLI."""

from __future__ import annotations

import pandas as pd
import pytest
import xarray as xr

from behavnb import batch, cli
from behavnb.errors import ParameterError


def test_series_on_bsoid_writes_run_directory_and_report(shared, tmp_path):
    runs = batch.run_series(tmp_path / "run", dataset="bsoid-yttrilab", profile="fast", notebooks=["01"])
    assert [(r.name, r.status) for r in runs] == [("01_import", "ok")]
    table = pd.read_csv(tmp_path / "run/sessions.csv")
    assert table["session"].tolist() == ["raw_clip1", "raw_clip2"] and (table["fps"] == 60).all()
    with xr.open_dataset(tmp_path / "run/poses/raw_clip1.nc") as ds:
        assert dict(ds.sizes)["time"] == 7200 and ds.attrs["fps"] == 60
    index = (tmp_path / "run/reports/index.html").read_text()
    assert "01_import" in index and ">ok<" in index and "01_confidence.png" in index
    assert (tmp_path / "run/reports/01_import.html").stat().st_size > 10_000
    assert not list((tmp_path / "run").rglob("*.tmp"))


def test_failing_notebook_is_reported(tmp_path):
    with pytest.raises(batch.NotebookFailed, match="01_import failed .*DatasetNotFoundError"):
        batch.run_series(tmp_path / "run", dataset="no-such-dataset", profile="fast", notebooks=["01"])
    index = (tmp_path / "run/reports/index.html").read_text()
    assert ">failed<" in index and "no-such-dataset" in index
    assert not (tmp_path / "run/sessions.csv").exists()


def test_unknown_notebook_selection():
    with pytest.raises(ParameterError, match="no notebook matches"):
        batch.series(["42"])


def test_cli_datasets_and_errors(capsys, tmp_path):
    assert cli.main(["datasets"]) == 0
    assert "embedded-demo" in capsys.readouterr().out
    assert cli.main(["fetch", "nothing-here"]) == 1
    assert "is not registered" in capsys.readouterr().err
