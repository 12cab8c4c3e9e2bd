"""Where the files that travel with behavnb live: the data manifest, notebooks and embedded data.

Part of the machine (``runtime``/``resources``/``parallel``/``lock``), just above utils/errors; ``manifest`` and
``series`` find their files through it.

In a source checkout (editable install) they sit at the repository's top level; an installed wheel
carries copies under ``behavnb/_bundled``.
"""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _first_existing(*candidates: Path) -> Path:
    for c in candidates:
        if c.is_dir():
            return c
    return candidates[0]


def manifest_dir() -> Path:
    """The folder of dataset registries (``<name>/dataset.yaml`` + ``sessions.csv``)."""
    return _first_existing(_PKG.parent / "data_manifest", _PKG / "_bundled" / "data_manifest")


def notebooks_dir() -> Path:
    """The folder holding ``01_import.ipynb`` ... ``09_group_stats.ipynb``."""
    return _first_existing(_PKG.parent / "notebooks", _PKG / "_bundled" / "notebooks")


def embedded_dir() -> Path:
    """Data files that ship inside the package (no download needed)."""
    return _PKG / "data"
