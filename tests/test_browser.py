"""A real browser: JupyterLab (headless) + Debian's Chromium driven by Playwright.

After a fast-profile run of the series on synthetic-tiny, 07_browse and 09_group_stats are opened in
JupyterLab and run top to bottom; the motif browser's motif and the comparison panel's metric are
changed, and the rendered widget output must change. Screenshots go to ``tests/output/browser/``.

The test installs what it needs (apt ``chromium``, pip ``playwright``: the fixtures of ``_browser.py``).
Where Chromium cannot be installed it skips with the reason, except under ``BEHAVNB_REQUIRE_BROWSER=1``
(CI), where it fails.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from _browser import browser, chromium  # noqa: F401 - the shared fixtures

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "output" / "browser"
RUN_TIMEOUT_S = 600
NB = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"  # the notebook on show


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tiny_series, tmp_path_factory):
    """JupyterLab on a free port with a token, serving 07 and 09 as executed for the tiny run (outputs cleared)."""
    import nbformat

    project = tiny_series["project"]
    root = tmp_path_factory.mktemp("lab")
    for name in ("07_browse", "09_group_stats"):
        nb = nbformat.read(project / "reports" / "notebooks" / f"{name}.ipynb", as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nbformat.write(nb, root / f"{name}.ipynb")
    settings = root / ".settings"
    # render every cell (no windowing), so the test sees all prompts; no news or update checks
    for rel, value in {"@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
                       "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
                           {"fetchNews": "false", "checkForUpdates": False}}.items():
        (settings / rel).parent.mkdir(parents=True, exist_ok=True)
        (settings / rel).write_text(json.dumps(value))
    port, token = _free_port(), secrets.token_hex(16)
    # its own settings and workspace: nothing restored from an earlier JupyterLab session
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTERLAB_WORKSPACES_DIR=str(root / ".workspaces"),
               BEHAVNB_PROFILE="fast")
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(root / "jupyterlab.log", "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                pytest.fail(f"JupyterLab did not start: {(root / 'jupyterlab.log').read_text()[-2000:]}")
            time.sleep(0.5)
    yield {"base": base, "token": token, "root": root}
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def _prompts(page) -> list[str]:
    return page.eval_on_selector_all(f"{NB} .jp-CodeCell .jp-InputArea-prompt",
                                     "ps => ps.map(p => p.textContent.trim())")


def _open_and_run_all(browser, lab, name: str):  # noqa: F811 - the imported pytest fixture
    """Open a notebook in JupyterLab, Run → Run All Cells, wait until every code cell has run; the page."""
    page = browser.new_page(viewport={"width": 1500, "height": 2400})
    page.goto(f"{lab['base']}/lab/tree/{name}.ipynb?reset&token={lab['token']}")
    page.wait_for_selector(f"{NB} .jp-CodeCell", timeout=120_000)
    page.wait_for_function("() => /\\|\\s*Idle/.test(document.body.innerText)", timeout=120_000, polling=500)
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()
    deadline, still = time.time() + RUN_TIMEOUT_S, 0
    while time.time() < deadline:
        page.wait_for_timeout(2000)
        prompts = _prompts(page)
        if all(p[1:-2].isdigit() for p in prompts):
            break
        # Run All stops at an error: nothing is queued any more, yet some cells never ran
        still = still + 1 if "[*]:" not in prompts else 0
        if still >= 5:
            break
    prompts = _prompts(page)
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']", has_text="Error")
    page.screenshot(path=str(OUT / f"{name}_run_all.png"))
    assert all(p[1:-2].isdigit() for p in prompts), (
        f"{name}: not every cell ran in {RUN_TIMEOUT_S} s: {prompts}; "
        f"{errors.last.inner_text()[-3000:] if errors.count() else 'no error shown'}")
    tracebacks = page.locator(".jp-OutputArea-output", has_text="Traceback (most recent call last)")
    assert tracebacks.count() == 0, tracebacks.first.inner_text()[-3000:]
    return page


def _shutdown_kernels(lab) -> None:
    """Stop the notebook's kernel (a browser widget may keep it busy), so the next notebook has the CPU."""
    headers = {"Authorization": f"token {lab['token']}"}
    with urllib.request.urlopen(urllib.request.Request(f"{lab['base']}/api/sessions", headers=headers)) as r:
        sessions = json.loads(r.read())
    for s in sessions:
        req = urllib.request.Request(f"{lab['base']}/api/sessions/{s['id']}", method="DELETE", headers=headers)
        urllib.request.urlopen(req).close()


def _dropdown(page, label: str):
    return page.locator(".widget-dropdown", has=page.locator("label", has_text=label)).locator("select").first


def _widget_html(page, cell) -> str:
    return cell.locator(".jp-OutputArea").inner_html()


def _settle(page, cell, before: str, timeout: float = 60) -> str:
    deadline = time.time() + timeout
    after = _widget_html(page, cell)
    while after == before and time.time() < deadline:
        page.wait_for_timeout(500)
        after = _widget_html(page, cell)
    page.wait_for_timeout(1000)
    return _widget_html(page, cell)


def _pick_next(browser, lab, notebook: str, label: str, shot: str) -> tuple[list[str], str, str, str]:  # noqa: F811 - the imported pytest fixture
    """Run ``notebook`` in JupyterLab, then choose the next option of the widget dropdown ``label``.

    Returns (options, the chosen option, the widget cell's HTML before, after); screenshots before and after.
    """
    OUT.mkdir(parents=True, exist_ok=True)
    page = _open_and_run_all(browser, lab, notebook)
    cell = page.locator(f"{NB} .jp-CodeCell", has=page.locator(".widget-dropdown label", has_text=label)).first
    cell.scroll_into_view_if_needed()
    select = _dropdown(page, label)
    options = select.locator("option").all_inner_texts()
    page.wait_for_timeout(2000)
    cell.screenshot(path=str(OUT / f"{shot}_before.png"))
    before = _widget_html(page, cell)
    target = (select.evaluate("s => s.selectedIndex") + 1) % len(options)
    select.select_option(index=target)
    after = _settle(page, cell, before)
    cell.screenshot(path=str(OUT / f"{shot}_after.png"))
    assert select.evaluate("s => s.selectedIndex") == target
    page.close()
    _shutdown_kernels(lab)
    return options, options[target], before, after


def test_motif_browser_in_jupyterlab(browser, lab):  # noqa: F811 - the imported pytest fixture
    options, chosen, before, after = _pick_next(browser, lab, "07_browse", "motif", "07_motif_browser")
    assert len(options) >= 3, options
    assert after != before, "changing the motif did not change the browser's output"
    motif = chosen.split(":")[0].strip()  # "3: groom (3) (19.4%)" -> "3"
    assert f"<b>motif {motif}</b>" in after and f"<b>motif {motif}</b>" not in before  # the browser's status line


def test_stats_panel_in_jupyterlab(browser, lab):  # noqa: F811 - the imported pytest fixture
    options, chosen, before, after = _pick_next(browser, lab, "09_group_stats", "metric", "09_stats_panel")
    assert "usage" in options and len(options) >= 2, options
    assert after != before, "changing the metric did not change the panel's output"
    assert f"motif {chosen}:" in after and f"motif {chosen}:" not in before  # the panel's status line
