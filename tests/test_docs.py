"""The documentation site (docs/build.py: Sphinx + myst-nb) builds from the executed fast series, warning-free.

The executed notebooks come from the session's ``tiny_series`` run (``<project>/reports/notebooks/``), or from
``$BEHAVNB_DOCS_NOTEBOOKS`` when set (a folder of executed ``NN_*.ipynb`` from an earlier
``behavnb run --profile fast``), which skips that run. Sphinx runs with ``-W --keep-going``: any warning
(an autodoc docstring that does not parse, a broken reference, an output it cannot render) fails the build,
and so this test.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import myst_nb  # noqa: F401  (in the test extra: a missing docs package must fail here, not skip)
import pytest
import sphinx  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]


def _build_module():
    spec = importlib.util.spec_from_file_location("behavnb_docs_build", ROOT / "docs" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def executed(request) -> Path:
    """The folder of executed notebooks the site is built from."""
    override = os.environ.get("BEHAVNB_DOCS_NOTEBOOKS")
    if override:
        return Path(override)
    tiny_series = request.getfixturevalue("tiny_series")
    assert tiny_series["rc"] == 0, tiny_series["err"][-3000:]
    return tiny_series["project"] / "reports" / "notebooks"


@pytest.fixture(scope="module")
def site(executed, tmp_path_factory) -> Path:
    """The HTML site, built with warnings as errors (a warning raises DocsBuildError with all of them)."""
    out = tmp_path_factory.mktemp("docs") / "html"
    index = _build_module().build_docs(executed, out, warnings_as_errors=True)
    assert index == out / "index.html" and index.is_file()
    return out


def _text(page: Path) -> str:
    """A page's visible text, tags stripped and whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8")).split())


def test_index_links_every_part(site):
    index = (site / "index.html").read_text(encoding="utf-8")
    for target in ("getting_started.html", "api.html", "design.html", "notebooks/01_import.html"):
        assert f'href="{target}' in index, target
    # the getting-started page is the README, included
    start = _text(site / "getting_started.html")
    assert "The two commands" in start and "Use your own data" in start and "behavnb demo" in start
    assert "design as it is" in _text(site / "design.html")


def test_api_reference_documents_the_public_functions(site):
    api = (site / "api.html").read_text(encoding="utf-8")
    for module in ("behavnb.io", "behavnb.preprocess", "behavnb.segment", "behavnb.stats", "behavnb.train"):
        assert f'href="api/{module}.html"' in api, module
    io_page = (site / "api" / "behavnb.io.html").read_text(encoding="utf-8")
    assert 'id="behavnb.io.load_poses"' in io_page
    assert "provenance log" in _text(site / "api" / "behavnb.io.html")  # the module's docstring
    pre = (site / "api" / "behavnb.preprocess.html").read_text(encoding="utf-8")
    assert 'id="behavnb.preprocess.clean"' in pre and 'id="behavnb.preprocess.qc_table"' in pre


def test_every_executed_notebook_has_a_page_with_its_outputs(site, executed):
    notebooks = sorted(executed.glob("[0-9][0-9]_*.ipynb"))
    assert notebooks
    for nb in notebooks:
        assert (site / "notebooks" / f"{nb.stem}.html").is_file(), nb.name
    page = site / "notebooks" / "01_import.html"
    html = page.read_text(encoding="utf-8")
    assert "Import pose-tracking data" in _text(page)
    assert "<img" in html  # a figure
    assert "dataframe" in html  # a table
    # tqdm's widget bars are static snapshots of their final state, not 0 % text or a script for a widget manager
    assert "application/vnd.jupyter.widget" not in html
    assert "0%|" not in html


def test_pages_load_nothing_from_the_network(site):
    remote = re.compile(r"<(?:script|link|img)\b[^>]*\b(?:src|href)=[\"']?(?:https?:)?//", re.I)
    for page in site.rglob("*.html"):
        found = remote.findall(page.read_text(encoding="utf-8"))
        # the README's Binder/Colab badges are remote images; nothing else may be
        found = [f for f in found if "<img" not in f.lower() or page.name != "getting_started.html"]
        assert not found, (page.relative_to(site), found[:3])
    for page in (site / "notebooks").glob("*.html"):
        html = page.read_text(encoding="utf-8")
        if "Plotly.newPlot" in html:  # plotly.js from _static, loaded before the figures' scripts run
            assert (site / "_static" / "plotly.min.js").is_file()
            loader = html.find('<script src="../_static/plotly.min.js">')
            assert 0 <= loader < html.find("</head>") < html.find("Plotly.newPlot"), page.name


def test_api_page_lists_every_public_module():
    """Each module that ``import behavnb`` offers (``behavnb._SUBMODULES``) has its page in docs/api.md."""
    import behavnb

    listed = set(re.findall(r"^\s+(behavnb\.[\w.]+)\s*$", (ROOT / "docs" / "api.md").read_text(), re.M))
    # plot re-exports its submodules' functions; the submodules are listed instead
    missing = {f"behavnb.{m}" for m in behavnb._SUBMODULES} - listed - {"behavnb.plot"}
    assert not missing, f"add these modules to docs/api.md: {sorted(missing)}"
    assert any(m.startswith("behavnb.plot.") for m in listed)


def test_build_needs_executed_notebooks(tmp_path):
    with pytest.raises(FileNotFoundError, match="behavnb run --profile fast"):
        _build_module().build_docs(tmp_path, tmp_path / "html")
