"""Headless Chromium for the browser tests: Debian's Chromium driven by Playwright.

``chromium`` installs what is missing (apt ``chromium`` as root, pip ``playwright``); where that is not
possible the test skips with the reason, except under ``BEHAVNB_REQUIRE_BROWSER=1`` (CI), where it
fails. ``browser`` is a launched Playwright browser. Test modules import both fixtures from here.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run"]


def unavailable(reason: str):
    """Skip with ``reason``, or fail where ``BEHAVNB_REQUIRE_BROWSER=1`` says the browser must be there."""
    if os.environ.get("BEHAVNB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (BEHAVNB_REQUIRE_BROWSER=1: the browser test must run here)")
    pytest.skip(reason)


def ensure_chromium() -> str:
    """Debian's Chromium (apt-get install as root where missing) and the playwright package; Chromium's path."""
    if not Path(CHROMIUM).exists():
        apt = shutil.which("apt-get")
        if apt is None or os.geteuid() != 0:
            unavailable(f"{CHROMIUM} is missing and cannot be installed here (needs apt-get as root)")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        r = subprocess.run([apt, "install", "-y", "-q", "chromium"], env=env, capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            subprocess.run([apt, "update", "-q"], env=env, capture_output=True, timeout=600)
            r = subprocess.run([apt, "install", "-y", "-q", "chromium"], env=env, capture_output=True, text=True, timeout=900)
        if r.returncode != 0 or not Path(CHROMIUM).exists():
            unavailable(f"apt-get install chromium failed: {r.stderr[-500:]}")
    if importlib.util.find_spec("playwright") is None:
        r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "playwright"], capture_output=True, text=True)
        if r.returncode != 0:
            unavailable(f"pip install playwright failed: {r.stderr[-500:]}")
    return CHROMIUM


@pytest.fixture(scope="module")
def chromium() -> str:
    """Chromium's path, installed where needed (see :func:`ensure_chromium`)."""
    return ensure_chromium()


@pytest.fixture(scope="module")
def browser(chromium):
    """A headless Chromium launched through Playwright, closed after the module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True, args=FLAGS[1:])
        yield b
        b.close()
