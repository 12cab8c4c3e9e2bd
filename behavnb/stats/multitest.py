"""Multiple-testing correction over a declared family of tests: q-values by BH (default) or BY."""

from __future__ import annotations

import numpy as np

from behavnb.errors import ParameterError

METHODS = {"bh": "fdr_bh", "by": "fdr_by", "bonferroni": "bonferroni", "holm": "holm"}


def adjust(p, method: str = "bh") -> np.ndarray:
    """Adjusted p-values (q-values for bh/by) of one family; NaN p-values stay NaN and do not count."""
    from statsmodels.stats.multitest import multipletests

    if method not in METHODS:
        raise ParameterError(f"unknown correction {method!r}; use one of {list(METHODS)}.")
    p = np.asarray(p, float)
    out = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method=METHODS[method])[1]
    return out
