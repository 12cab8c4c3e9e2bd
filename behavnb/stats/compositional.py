"""The whole repertoire as one test: usage is compositional (fractions summing to 1), so compare animals on
CLR-transformed usage with a PERMANOVA on Aitchison distance, permuting group labels across animals.

Part of the stats room of the flow (... codes/segment -> hierarchy -> **stats** -> evaluate/health/demos ...).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from behavnb.errors import ParameterError


def clr(fractions: np.ndarray, pseudo: float | None = None) -> np.ndarray:
    """Centred log-ratio of each row. Zeros are replaced by ``pseudo`` (default: half the smallest non-zero value)."""
    x = np.asarray(fractions, float)
    if (x < 0).any():
        raise ParameterError("usage fractions must be >= 0.")
    pseudo = pseudo if pseudo is not None else (0.5 * x[x > 0].min() if (x > 0).any() else 1e-6)
    lx = np.log(np.where(x > 0, x, pseudo))
    return lx - lx.mean(axis=1, keepdims=True)


def permanova(x: np.ndarray, groups, *, n_perm: int = 9999, seed: int = 0) -> dict:
    """PERMANOVA (Anderson 2001) with Euclidean distance on rows of ``x`` (CLR usage -> Aitchison distance).

    Returns pseudo-F, R^2 (share of the spread between groups), the permutation p-value
    ``(1 + #F_perm >= F) / (1 + n_perm)`` and the group sizes. Each row must be one animal.
    """
    x = np.asarray(x, float)
    labels, codes = np.unique(np.asarray(groups).astype(str), return_inverse=True)
    n, g = len(x), len(labels)
    if g < 2:
        raise ParameterError("PERMANOVA needs at least two groups.")
    if n - g < 1:
        raise ParameterError(f"{n} animals in {g} groups: too few for PERMANOVA.")
    xc = x - x.mean(axis=0)
    ss_total = float((xc ** 2).sum())

    def ss_between(c: np.ndarray) -> np.ndarray:
        # c: (..., n) group codes -> between-group sum of squares for each labelling
        onehot = np.eye(g)[c]                                 # (..., n, g)
        sums = np.einsum("...ng,nd->...gd", onehot, xc)        # (..., g, d)
        sizes = onehot.sum(axis=-2)                           # (..., g)
        return (np.einsum("...gd,...gd->...g", sums, sums) / sizes).sum(axis=-1)

    def pseudo_f(ssb):
        return (ssb / (g - 1)) / ((ss_total - ssb) / (n - g))

    ssb = float(ss_between(codes))
    f = float(pseudo_f(ssb))
    rng = np.random.default_rng(seed)
    exceed, done = 0, 0
    while done < n_perm:
        m = min(2000, n_perm - done)
        perms = np.stack([rng.permutation(codes) for _ in range(m)])
        exceed += int((pseudo_f(ss_between(perms)) >= f - 1e-12).sum())
        done += m
    return {"pseudo_F": f, "R2": ssb / ss_total if ss_total > 0 else float("nan"),
            "p": (1 + exceed) / (1 + n_perm), "n_perm": n_perm,
            "n": {str(lbl): int((codes == i).sum()) for i, lbl in enumerate(labels)}}


def repertoire_test(usage_wide: pd.DataFrame, groups, *, n_perm: int = 9999, seed: int = 0, small: str = "raise") -> dict:
    """PERMANOVA on CLR usage of animals x motifs, permuting group labels across animals.

    Parameters
    ----------
    usage_wide : DataFrame
        Animals x motifs usage fractions, one row per animal (e.g. ``segment.usage_matrix`` of per-animal usage).
    groups : array-like
        One group label per row of ``usage_wide``.
    n_perm : int
        Permutations for the p-value.
    seed : int
        Seed of the permutations.
    small : {"raise", "skip"}
        With one group, or too few animals for the test (fewer than 2 in a group): raise a ``ParameterError``
        (default), or "skip": the same keys with NaN statistics, ``n_perm`` 0 and ``skipped`` saying why.

    Returns
    -------
    dict
        ``pseudo_F``, ``R2`` (share of the spread between groups), ``p``, ``n_perm``, ``n`` (animals per group)
        and ``skipped`` (None, or why the test was skipped).

    Raises
    ------
    ParameterError
        An unknown ``small``; with ``small="raise"``, one group only or too few animals; negative fractions.
    """
    if small not in ("raise", "skip"):
        raise ParameterError(f"small must be 'raise' or 'skip', not {small!r}.")
    labels = np.asarray(groups).astype(str)
    names, sizes = np.unique(labels, return_counts=True)
    n = {str(g): int(c) for g, c in zip(names, sizes, strict=True)}
    why = ("only one group" if len(names) < 2 else
           "a group with fewer than 2 animals" if (sizes < 2).any() else None)
    if why and small == "skip":
        return {"pseudo_F": float("nan"), "R2": float("nan"), "p": float("nan"), "n_perm": 0, "n": n,
                "skipped": f"{why} ({', '.join(f'{g!r} n = {c}' for g, c in n.items())}): PERMANOVA needs two or more "
                           f"groups of at least 2 animals"}
    return {**permanova(clr(usage_wide.to_numpy(float)), labels, n_perm=n_perm, seed=seed), "skipped": None}
