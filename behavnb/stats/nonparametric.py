"""Rank and t tests on per-animal values: Mann-Whitney (2 groups), Kruskal-Wallis (>= 3) with pairwise post-hoc
tests, Welch's t-test; exact p-values where scipy has them, permutation p-values otherwise.

Part of the stats room of the flow (... codes/segment -> hierarchy -> **stats** -> evaluate/health/demos ...): the
tests behind ``compare``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from behavnb.errors import ParameterError
from behavnb.stats.multitest import adjust


def mann_whitney(a, b, *, method: str = "auto") -> tuple[float, float]:
    """``(U, p)``, two-sided. ``method``: "exact", "asymptotic", "permutation" (10,000 relabellings) or "auto":
    exact without ties up to 40 animals; with 20 or more animals per group the normal approximation (with tie
    correction), which is then accurate to the third decimal; otherwise a permutation test."""
    from scipy.stats import mannwhitneyu

    a, b = np.asarray(a, float), np.asarray(b, float)
    if method == "auto":
        ties = len(np.unique(np.concatenate([a, b]))) < len(a) + len(b)
        method = ("exact" if (not ties and len(a) + len(b) <= 40) else
                  "asymptotic" if min(len(a), len(b)) >= 20 else "permutation")
    if method == "permutation":
        return permutation_mann_whitney(a, b)
    res = mannwhitneyu(a, b, alternative="two-sided", method=method)
    return float(res.statistic), float(res.pvalue)


def permutation_mann_whitney(a, b, *, n_resamples: int = 10_000, seed: int = 0) -> tuple[float, float]:
    """``(U, p)`` of the two-sided Mann-Whitney test by relabelling, vectorised: every permutation at once.

    The same test as scipy's ``mannwhitneyu(method=PermutationMethod(n_resamples, seed))`` (U of ``a`` with
    mid-ranks for ties; all relabellings when there are at most ``n_resamples`` of them, else ``n_resamples``
    random ones with p = (hits + 1) / (n_resamples + 1); two-sided p = twice the smaller tail, at most 1), but one
    numpy sum over a (resamples x animals) rank matrix instead of scipy's generic loop: 30x faster, which the null
    calibrations of notebook 09 (thousands of tests) need.

    Parameters
    ----------
    a, b
        The two groups' values (no NaN).
    n_resamples
        Random relabellings when enumerating them all would take more.
    seed
        Seed of the random relabellings.

    Returns
    -------
    tuple of float
        ``(U, p)``.
    """
    from itertools import combinations
    from math import comb

    from scipy.stats import rankdata

    a, b = np.asarray(a, float), np.asarray(b, float)
    n_a, n = len(a), len(a) + len(b)
    ranks = rankdata(np.concatenate([a, b]))
    u = ranks[:n_a].sum() - n_a * (n_a + 1) / 2
    exact = comb(n, n_a) <= n_resamples
    if exact:
        members = np.array(list(combinations(range(n), n_a)), dtype=np.intp).reshape(-1, n_a)
    else:
        members = np.random.default_rng(seed).permuted(np.tile(np.arange(n), (n_resamples, 1)), axis=1)[:, :n_a]
    null = ranks[members].sum(axis=1) - n_a * (n_a + 1) / 2
    tol = abs(u) * np.finfo(float).eps * 100  # null values equal to U up to rounding count as equal
    extra = 0 if exact else 1
    less = ((null <= u + tol).sum() + extra) / (len(null) + extra)
    greater = ((null >= u - tol).sum() + extra) / (len(null) + extra)
    return float(u), float(min(1.0, 2 * min(less, greater)))


def kruskal(groups: Mapping[str, np.ndarray]) -> tuple[float, float]:
    """``(H, p)`` of the Kruskal-Wallis test (chi-square approximation) over three or more groups."""
    from scipy.stats import kruskal as _kruskal

    if len(groups) < 3:
        raise ParameterError("Kruskal-Wallis is for three or more groups; use mann_whitney for two.")
    res = _kruskal(*[np.asarray(v, float) for v in groups.values()])
    return float(res.statistic), float(res.pvalue)


def welch(a, b) -> tuple[float, float]:
    """``(t, p)`` of Welch's unequal-variance t-test, two-sided."""
    from scipy.stats import ttest_ind

    res = ttest_ind(np.asarray(a, float), np.asarray(b, float), equal_var=False)
    return float(res.statistic), float(res.pvalue)


def posthoc(groups: Mapping[str, np.ndarray], *, correction: str = "holm") -> pd.DataFrame:
    """Pairwise Mann-Whitney tests between all groups, Holm-corrected within this family of pairs."""
    names = list(groups)
    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            u, p = mann_whitney(groups[a], groups[b])
            rows.append({"group_a": a, "group_b": b, "U": u, "p": p})
    out = pd.DataFrame(rows)
    out["p_adjusted"] = adjust(out["p"].to_numpy(), correction)
    return out
