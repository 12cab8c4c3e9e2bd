"""Shared test setup.

- Real public files come from ``$BEHAVNB_DATA_DIR`` (default ``../shared/data`` beside the checkout).
  Tests that need them skip when absent, unless ``BEHAVNB_REQUIRE_DATA=1`` (CI), where they fail.
- Synthetic datasets are generated into a fresh ``BEHAVNB_CACHE_DIR``, never into the shared data.
- nbmake runs the notebooks in order against one temporary run directory, passed to the kernels
  through ``BEHAVNB_PROJECT_DIR``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
TEST_DATA = Path(__file__).resolve().parent / "data"

if not os.environ.get("BEHAVNB_DATA_DIR") and (ROOT.parent / "shared" / "data").is_dir():
    os.environ["BEHAVNB_DATA_DIR"] = str(ROOT.parent / "shared" / "data")
os.environ.setdefault("BEHAVNB_PROJECT_DIR", tempfile.mkdtemp(prefix="behavnb-nbmake-"))
# synthetic datasets are generated afresh for each test session (and checked against the registry)
os.environ.setdefault("BEHAVNB_CACHE_DIR", tempfile.mkdtemp(prefix="behavnb-cache-"))
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def shared() -> Path:
    """The shared real-data folder (the layout of ``data_manifest``)."""
    env = os.environ.get("BEHAVNB_DATA_DIR")
    path = Path(env) if env else None
    if path is None or not (path / "deepof-tests").is_dir():
        msg = f"real data folder not found (BEHAVNB_DATA_DIR={env!r}); set BEHAVNB_DATA_DIR to the shared data"
        if os.environ.get("BEHAVNB_REQUIRE_DATA") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture
def tmp_project(tmp_path: Path) -> Path:
    return tmp_path / "run"


@pytest.fixture(scope="session")
def tiny_series(tmp_path_factory) -> dict:
    """``behavnb run`` of the whole series on synthetic-tiny in the fast profile (once per test session)."""
    import contextlib
    import io

    from behavnb import cli

    project = tmp_path_factory.mktemp("tiny-series") / "run"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(["run", "--dataset", "synthetic-tiny", "--profile", "fast", "--project-dir", str(project)])
    return {"project": project, "rc": rc, "out": out.getvalue(), "err": err.getvalue()}
