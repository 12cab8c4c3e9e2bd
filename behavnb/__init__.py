"""behavnb: unsupervised behavioural segmentation of pose-tracking data, taught in notebooks.

Submodules load on first use (``behavnb.io``, ``behavnb.manifest``, ...), so ``import behavnb``
stays fast; heavy libraries are imported inside the functions that need them.
"""

from __future__ import annotations

import importlib

from behavnb.utils import hide_numbagg_from_dask

hide_numbagg_from_dask()  # numba and LLVM stay out of every kernel that reads a netCDF file (see its docstring)

__version__ = "0.1.0"

_SUBMODULES = {"errors", "io", "manifest", "synth", "skeleton", "preprocess", "features", "windows", "models", "train", "embed",
               "codes", "evaluate", "segment", "hierarchy", "stats", "widgets", "plot", "project", "resources", "runtime",
               "parallel", "series", "batch", "cli", "demos", "health", "lock", "utils", "export", "inputs"}
__all__ = sorted(_SUBMODULES) + ["__version__"]


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"behavnb.{name}")
    raise AttributeError(f"module 'behavnb' has no attribute {name!r}")


def __dir__():
    return __all__
