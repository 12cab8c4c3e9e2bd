"""Rank and t tests on per-animal values: Mann-Whitney (2 groups), Kruskal-Wallis (>= 3) with pairwise post-hoc
tests, Welch's t-test; exact p-values where scipy has them, permutation p-values otherwise."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from behavnb.errors import ParameterError


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
        res = mannwhitneyu(a, b, alternative="two-sided", method=permutation_test_method())
        return float(res.statistic), float(res.pvalue)
    res = mannwhitneyu(a, b, alternative="two-sided", method=method)
    return float(res.statistic), float(res.pvalue)


def permutation_test_method(n_resamples: int = 10_000, seed: int = 0):
    from scipy.stats import PermutationMethod

    return PermutationMethod(n_resamples=n_resamples, random_state=seed)


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
    from behavnb.stats.multitest import adjust

    names = list(groups)
    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            u, p = mann_whitney(groups[a], groups[b])
            rows.append({"group_a": a, "group_b": b, "U": u, "p": p})
    out = pd.DataFrame(rows)
    out["p_adjusted"] = adjust(out["p"].to_numpy(), correction)
    return out
