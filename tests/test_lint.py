"""ruff is clean on the package, the tests, the benchmarks and the docs build (configuration in pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_is_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    out = subprocess.run([ruff, "check", "--no-cache", "behavnb", "tests", "benchmarks", "docs"], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, f"ruff check found problems (fix, or `ruff check --fix`):\n{out.stdout}{out.stderr}"
