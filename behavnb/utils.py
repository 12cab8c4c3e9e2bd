"""The ground floor: small helpers every room may use. Imports nothing of behavnb.

- ``atomic_path`` / ``atomic_write_text``: write beside the target and rename into place, so a crash
  never leaves half a file where a later step reads.
- ``hide_numbagg_from_dask``: keeps numba and LLVM (57 MB after torch) out of every kernel that only reads a netCDF file.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    Parameters
    ----------
    path : str or Path
        The target file; its folder is created if needed.

    Yields
    ------
    Path
        A temporary file in the same folder (so the rename is atomic), with the permissions ``open()``
        would give. It is removed if the block raises.

    Examples
    --------
    >>> with atomic_path("out/table.csv") as tmp:  # doctest: +SKIP
    ...     df.to_csv(tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the permissions open() would
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically.

    Parameters
    ----------
    path : str or Path
        The target file; its folder is created if needed.
    text : str
        What to write.

    Returns
    -------
    Path
        ``path``.
    """
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


class _NumbaggHiddenFromDask(importlib.abc.MetaPathFinder):
    """Makes ``import numbagg`` fail inside ``dask.array.reductions`` only (see ``hide_numbagg_from_dask``)."""

    def find_spec(self, name, path=None, target=None):
        if name != "numbagg":
            return None
        frame = sys._getframe(1)
        while frame is not None:
            if frame.f_globals.get("__name__") == "dask.array.reductions":
                raise ModuleNotFoundError("numbagg hidden from dask.array by behavnb (utils.hide_numbagg_from_dask)",
                                          name="numbagg")
            frame = frame.f_back
        return None  # anyone else (xarray's rolling and fill functions) imports numbagg as usual


def hide_numbagg_from_dask() -> None:
    """Let ``dask.array`` load without numbagg, numba and llvmlite; ``import behavnb`` calls this once.

    When dask is installed, xarray imports ``dask.array`` on the first Dataset it builds (reading any netCDF
    file), and ``dask.array.reductions`` imports numbagg, which compiles nothing yet but loads numba and LLVM:
    57 MB of resident memory after torch (more without it) and about 1 s in every notebook kernel. dask uses
    numbagg only for ``nanmedian`` and ``nanquantile`` of dask arrays, which behavnb never computes; without it
    dask uses NumPy's. xarray's own use of numbagg is unaffected. Does nothing if ``dask.array`` is already
    imported.
    """
    if "dask.array" in sys.modules or any(isinstance(f, _NumbaggHiddenFromDask) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _NumbaggHiddenFromDask())
