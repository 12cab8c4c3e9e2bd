"""Effect sizes between two groups of animals, with bootstrap confidence intervals (animals resampled within groups).

- ``log2_fold_change``: log2(mean b / mean a), with a small pseudo-count so that zero usage stays finite;
- ``hedges_g``: standardised mean difference with the small-sample correction;
- ``cliffs_delta``: P(b > a) - P(b < a), from -1 to 1, robust to outliers and skew.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

EFFECTS = ("log2_fold_change", "hedges_g", "cliffs_delta")


def log2_fold_change(a, b, pseudo: float = 1e-6) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.log2((b.mean() + pseudo) / (a.mean() + pseudo)))


def hedges_g(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    na, nb = len(a), len(b)
    if na < 2 or nb < 2:
        return float("nan")
    sp = np.sqrt(((na - 1) * a.var(ddof=1) + (nb - 1) * b.var(ddof=1)) / (na + nb - 2))
    if sp == 0:
        return 0.0 if a.mean() == b.mean() else float(np.sign(b.mean() - a.mean()) * np.inf)
    d = (b.mean() - a.mean()) / sp
    return float(d * (1 - 3 / (4 * (na + nb) - 9)))


def cliffs_delta(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    diff = np.sign(b[:, None] - a[None, :])
    return float(diff.mean())


FUNCTIONS: dict[str, Callable] = {"log2_fold_change": log2_fold_change, "hedges_g": hedges_g, "cliffs_delta": cliffs_delta}


def _lfc_rows(a: np.ndarray, b: np.ndarray, pseudo: float = 1e-6) -> np.ndarray:
    return np.log2((b.mean(axis=1) + pseudo) / (a.mean(axis=1) + pseudo))


def _g_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    na, nb = a.shape[1], b.shape[1]
    sp = np.sqrt(((na - 1) * a.var(axis=1, ddof=1) + (nb - 1) * b.var(axis=1, ddof=1)) / (na + nb - 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        d = (b.mean(axis=1) - a.mean(axis=1)) / sp
    return d * (1 - 3 / (4 * (na + nb) - 9))


def _delta_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sign(b[:, :, None] - a[:, None, :]).mean(axis=(1, 2))


_VECTORISED = {"log2_fold_change": _lfc_rows, "hedges_g": _g_rows, "cliffs_delta": _delta_rows}


def bootstrap_ci(a, b, effect: str | Callable = "hedges_g", *, n_boot: int = 2000, level: float = 0.95,
                 seed: int = 0) -> tuple[float, float, float]:
    """``(estimate, low, high)``: the effect and its percentile bootstrap CI, resampling animals within each group."""
    fn = FUNCTIONS[effect] if isinstance(effect, str) else effect
    a, b = np.asarray(a, float), np.asarray(b, float)
    est = fn(a, b)
    rng = np.random.default_rng(seed)
    ia = rng.integers(0, len(a), (n_boot, len(a)))
    ib = rng.integers(0, len(b), (n_boot, len(b)))
    vec = _VECTORISED.get(effect) if isinstance(effect, str) else None
    reps = vec(a[ia], b[ib]) if vec else np.array([fn(a[i], b[j]) for i, j in zip(ia, ib)])
    reps = reps[np.isfinite(reps)]
    if not len(reps):
        return est, float("nan"), float("nan")
    lo, hi = np.percentile(reps, [(1 - level) / 2 * 100, (1 + level) / 2 * 100])
    return est, float(lo), float(hi)
