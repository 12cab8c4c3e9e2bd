"""The HTML report works with the network off.

After a fast-profile run of the series on synthetic-tiny, ``reports/index.html`` and the pages of
07_browse, 08_hierarchy and 09_group_stats are opened from disk in headless Chromium with the network
off (an offline context; every request that is not ``file:``/``data:`` is aborted and recorded). The
motif browser's and the comparison panel's static snapshots, the plotly UMAP and the Sankey diagram
must be drawn (pixels that vary inside their boxes), nothing may be fetched from the network, no
script may fail, and long code lines must wrap. Screenshots go to ``tests/output/report/``.

Chromium and playwright come from the fixtures of ``_browser.py`` (skip where they cannot be
installed, fail under ``BEHAVNB_REQUIRE_BROWSER=1``).
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from _browser import browser, chromium  # noqa: F401 - the shared fixtures

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "output" / "report"
LOCAL = ("file:", "data:", "about:", "blob:")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PLOTLY = "application/vnd.plotly.v1+json"


@pytest.fixture(scope="module")
def reports(tiny_series) -> Path:
    """``reports/`` of the tiny run, which must have finished."""
    reports = tiny_series["project"] / "reports"
    assert tiny_series["rc"] == 0, tiny_series["err"][-3000:]
    assert (reports / "index.html").exists(), sorted(p.name for p in reports.iterdir())
    OUT.mkdir(parents=True, exist_ok=True)
    return reports


@pytest.fixture
def offline(browser):  # noqa: F811 - the imported fixture
    """Open a local page with the network off; returns ``open(path) -> (page, asked, errors)``.

    ``asked`` collects every non-local URL the page requested (each one aborted), ``errors`` the
    page's uncaught script errors.
    """
    context = browser.new_context(viewport={"width": 1000, "height": 900}, offline=True)
    asked: list[str] = []

    def abort(route):
        asked.append(route.request.url)
        route.abort()

    context.route(lambda url: not url.startswith(LOCAL), abort)

    def open_page(path: Path):
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("request", lambda req: None if req.url.startswith(LOCAL) else asked.append(req.url))
        page.goto(path.as_uri(), wait_until="load")
        page.wait_for_timeout(500)
        return page, asked, errors

    yield open_page
    context.close()


def _drawn(locator, name: str) -> None:
    """Screenshot ``locator`` to ``OUT/name.png`` and require a box of some size with varying pixels."""
    from PIL import Image

    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100, f"{name}: box {box}"
    png = locator.screenshot(path=str(OUT / f"{name}.png"))
    grey = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)
    inked = np.mean(grey < 200)  # darker than a light background
    assert grey.std() > 10 and inked > 0.01, f"{name}: blank (pixel std {grey.std():.1f}, inked {inked:.3f})"


def _coloured(png: bytes) -> float:
    """The share of saturated pixels (plotly's markers; its grid and background are grey-blue)."""
    from PIL import Image

    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)
    return float(np.mean(rgb.max(axis=2) - rgb.min(axis=2) > 80))


def _images_loaded(locator) -> None:
    for i in range(locator.count()):
        assert locator.nth(i).evaluate("im => im.complete && im.naturalWidth > 0"), f"image {i} did not load"


def _no_network(asked: list[str], errors: list[str]) -> None:
    assert not asked, f"requests to the network: {sorted(set(asked))[:10]}"
    assert not errors, f"script errors: {errors[:5]}"


def test_index_offline(reports, offline):
    page, asked, errors = offline(reports / "index.html")
    links = page.locator("table a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
    assert {"07_browse.html", "08_hierarchy.html", "09_group_stats.html"} <= set(links), links
    assert all((reports / href).exists() for href in links), links
    assert page.locator("table td", has_text=re.compile(r"^failed$")).count() == 0
    figures = page.locator("figure img")
    assert figures.count() > 0, "the index shows no figures"
    _images_loaded(figures)
    _drawn(page.locator("figure").first, "index_first_figure")
    page.screenshot(path=str(OUT / "index.png"))
    _no_network(asked, errors)


def test_browse_page_offline(reports, offline):
    """07: the motif browser's snapshot (no widget view), the plotly UMAP, wrapped code lines."""
    page, asked, errors = offline(reports / "07_browse.html")
    assert page.locator(f'script[type="{WIDGET_VIEW}"]').count() == 0, "a widget view is still on the page"
    status = page.locator("b", has_text=re.compile(r"^motif \d+$"))
    snapshot = page.locator(".jp-OutputArea-output", has=status).filter(has=page.locator("img"))
    assert snapshot.count() == 1, "the motif browser's static snapshot is not on the page"
    _images_loaded(snapshot.locator("img"))
    _drawn(snapshot, "07_motif_browser_snapshot")

    plot = page.locator(".js-plotly-plot").first
    plot.locator(".main-svg").first.wait_for(timeout=30_000)
    _drawn(plot, "07_plotly_umap")
    # the points themselves (scattergl: WebGL, which a browser without it cannot draw anyway)
    if page.evaluate("() => !!document.createElement('canvas').getContext('webgl')"):
        area = plot.locator(".nsewdrag").first
        png = area.screenshot(path=str(OUT / "07_plotly_umap_points.png"))
        assert _coloured(png) > 0.005, "the plotly UMAP shows no points"

    # long code lines wrap: no code cell is wider than its box, and some cell really is long
    widths = page.locator(".jp-InputArea-editor").evaluate_all(
        "es => es.map(e => [e.scrollWidth, e.clientWidth, e.getBoundingClientRect().height])")
    assert all(scroll <= client + 1 for scroll, client, _ in widths), "a code cell is cut off"
    longest = max(len(line) for cell in page.locator(".jp-InputArea-editor").all_inner_texts()
                  for line in cell.splitlines())
    assert longest > 100, "no long code line to check the wrapping with"
    page.screenshot(path=str(OUT / "07_browse.png"), full_page=True)
    _no_network(asked, errors)


def test_hierarchy_sankey_offline(reports, offline):
    page, asked, errors = offline(reports / "08_hierarchy.html")
    sankey = page.locator(".js-plotly-plot", has=page.locator(".sankey")).first
    sankey.wait_for(timeout=30_000)
    assert sankey.locator(".sankey-node").count() > 1, "the Sankey diagram has no nodes"
    _drawn(sankey, "08_sankey")
    _no_network(asked, errors)


def test_stats_panel_offline(reports, offline):
    page, asked, errors = offline(reports / "09_group_stats.html")
    assert page.locator(f'script[type="{WIDGET_VIEW}"]').count() == 0, "a widget view is still on the page"
    panel = page.locator(".jp-OutputArea-output", has=page.locator("p", has_text=re.compile(r" vs .* by "))) \
        .filter(has=page.locator("img")).filter(has=page.locator("table"))
    assert panel.count() >= 1, "the comparison panel's static snapshot is not on the page"
    _images_loaded(panel.first.locator("img"))
    _drawn(panel.first.locator("img").first, "09_stats_panel_snapshot")
    _no_network(asked, errors)


def test_export_quiet_and_notebook_untouched(reports, tmp_path):
    """Re-exporting 07 and 08 warns about nothing (nbconvert used to say it cannot show plotly) and leaves
    the executed notebooks byte for byte as they were (their widget views and plotly data included)."""
    from behavnb import report

    for name in ("07_browse", "08_hierarchy"):
        executed = reports / "notebooks" / f"{name}.ipynb"
        before = hashlib.sha256(executed.read_bytes()).hexdigest()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            page = report.to_html(executed, tmp_path / f"{name}.html")
        said = [str(w.message) for w in caught if "represented" in str(w.message) or "plotly" in str(w.message)]
        assert not said, said
        assert hashlib.sha256(executed.read_bytes()).hexdigest() == before
        text = executed.read_text()
        assert PLOTLY in text and (name != "07_browse" or WIDGET_VIEW in text)
        assert page.read_text().count("window.PlotlyConfig") == 1  # plotly.js once per page
