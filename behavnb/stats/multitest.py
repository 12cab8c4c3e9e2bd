"""Multiple-testing correction over a declared family of tests: q-values by BH (default) or BY.

Part of the stats room of the flow (... codes/segment -> hierarchy -> **stats** -> evaluate/health/demos ...).
"""

from __future__ import annotations

import numpy as np

from behavnb.errors import ParameterError

METHODS = {"bh": "fdr_bh", "by": "fdr_by", "bonferroni": "bonferroni", "holm": "holm"}


def adjust(p, method: str = "bh") -> np.ndarray:
    """Adjusted p-values (q-values for bh/by) of one family; NaN p-values stay NaN and do not count.

    Parameters
    ----------
    p : array-like of float
        The p-values of one family of tests.
    method : {"bh", "by", "bonferroni", "holm"}
        Benjamini-Hochberg, Benjamini-Yekutieli, Bonferroni or Holm.

    Returns
    -------
    numpy.ndarray
        The adjusted p-values, in the order and shape of ``p``.

    Raises
    ------
    ParameterError
        An unknown method.

    Examples
    --------
    >>> adjust([0.01, 0.04, float("nan")]).round(3).tolist()
    [0.02, 0.04, nan]
    """
    from statsmodels.stats.multitest import multipletests

    if method not in METHODS:
        raise ParameterError(f"unknown correction {method!r}; use one of {list(METHODS)}.")
    p = np.asarray(p, float)
    out = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method=METHODS[method])[1]
    return out
