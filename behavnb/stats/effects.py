"""Effect sizes between two groups of animals, with confidence intervals (animals resampled within groups).

Part of the stats room of the flow (... codes/segment -> hierarchy -> **stats** -> evaluate/health/demos ...):
``compare`` reports these beside its p-values.

- ``log2_fold_change``: log2(mean b / mean a), with a small pseudo-count against rounding; NaN ("not estimable")
  when a group's mean is 0 (no animal of it used the motif): a fold change from or to nothing is infinite, and the
  pseudo-count would only turn it into an arbitrary number (about +-21 with 1e-6);
- ``hedges_g``: standardised mean difference with the small-sample correction;
- ``cliffs_delta``: P(b > a) - P(b < a), from -1 to 1, robust to outliers and skew.

``bootstrap_ci`` gives four kinds of interval (``method``):

- ``"percentile"``: the 2.5 and 97.5 % quantiles of the bootstrap replicates;
- ``"bca"``: bias-corrected and accelerated (Efron 1987): the percentiles are shifted by the bias of the
  replicates (``z0``) and by the skew of the estimate, the acceleration ``a`` from a jackknife over both groups
  (each group's leave-one-out influence values, scaled by its size, as for a two-sample statistic);
- ``"t"``: analytic, no resampling: Hedges' g +- t(na + nb - 2) x its approximate standard error
  sqrt((na + nb) / (na nb) + g^2 / (2 (na + nb))) (Hedges & Olkin 1985); the log2 fold change +- t(Welch df) x
  its delta-method standard error sqrt(sa^2 / (na ma^2) + sb^2 / (nb mb^2)) / ln 2; Cliff's delta (= 2 AUC - 1) by
  Newcombe's (2006, method 5) score interval for the AUC, which stays informative at complete separation;
- ``"bootstrap-t"``: the studentized bootstrap: the same standard errors (for Cliff's delta Cliff's 1993 consistent
  variance) recomputed on every resample, and the interval from the quantiles of (replicate - estimate) / its
  standard error;
- ``"symmetric-t"``: the symmetric studentized bootstrap (Hall 1988): estimate +- the 95 % quantile of
  ``|replicate - estimate|`` / its standard error, times the standard error.

Which is the default (``DEFAULT_CI``) was chosen by simulated coverage (``python benchmarks/calibrate_stats.py
coverage``; numbers in ``benchmarks/notes/stats.md``): the percentile interval covers only 0.88-0.91 for the log2
fold change and Hedges' g at 8 animals per group, BCa 0.89-0.96, and both fail for Cliff's delta near complete
separation.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from behavnb.errors import ParameterError

EFFECTS = ("log2_fold_change", "hedges_g", "cliffs_delta")
CI_METHODS = ("percentile", "bca", "t", "bootstrap-t", "symmetric-t")
# per effect, the interval whose measured coverage is >= 0.94 in every simulated case at n = 8 and 16 per group
# (benchmarks/notes/stats.md): percentile and BCa cover 0.86-0.91 for the log2 fold change and Hedges' g at n = 8
DEFAULT_CI = {"log2_fold_change": "symmetric-t", "hedges_g": "t", "cliffs_delta": "t"}
CI_NAMES = {"percentile": "percentile bootstrap", "bca": "BCa bootstrap", "t": "t-based",
            "bootstrap-t": "studentized bootstrap (bootstrap-t)",
            "symmetric-t": "symmetric studentized bootstrap (bootstrap-t)"}


def log2_fold_change(a, b, pseudo: float = 1e-6) -> float:
    """log2 of the ratio of group means, ``log2((mean b + pseudo) / (mean a + pseudo))``; NaN when either mean is
    0 or less (not estimable: ``lfc_not_estimable`` says why)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    ma, mb = a.mean(), b.mean()
    if not (ma > 0 and mb > 0):
        return float("nan")
    return float(np.log2((mb + pseudo) / (ma + pseudo)))


def lfc_not_estimable(a, b, names: tuple[str, str] = ("a", "b")) -> str:
    """Why the log2 fold change of ``a`` and ``b`` is not estimable ("" when it is).

    Parameters
    ----------
    a, b
        Per-animal values of the reference and the comparison group.
    names
        The two groups' names, for the message.

    Returns
    -------
    str
        E.g. "log2 fold change not estimable: mean of 'KO' is 0 (no animal used it)", or "".
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    zero = [n for n, x in zip(names, (a, b), strict=True) if not (len(x) and x.mean() > 0)]
    if not zero:
        return ""
    return ("log2 fold change not estimable: mean of " + " and ".join(repr(z) for z in zero)
            + (" is" if len(zero) == 1 else " are") + " 0 (no animal used it)")


def hedges_g(a, b) -> float:
    """Standardised mean difference (b - a) / pooled SD, times Hedges' small-sample factor 1 - 3 / (4 (na + nb) - 9)."""
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
    """P(b > a) - P(b < a) over all pairs of one animal of each group."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    diff = np.sign(b[:, None] - a[None, :])
    return float(diff.mean())


FUNCTIONS: dict[str, Callable] = {"log2_fold_change": log2_fold_change, "hedges_g": hedges_g, "cliffs_delta": cliffs_delta}


# ---- vectorised forms: a, b are (..., n) arrays, one effect (and one standard error) per leading index ----------

def _lfc_rows(a: np.ndarray, b: np.ndarray, pseudo: float = 1e-6) -> np.ndarray:
    """Row-wise ``log2_fold_change``: NaN where a mean is 0 (a resample without the motif is not estimable)."""
    ma, mb = a.mean(axis=-1), b.mean(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log2((mb + pseudo) / (ma + pseudo))
    return np.where((ma > 0) & (mb > 0), out, np.nan)


def _g_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    na, nb = a.shape[-1], b.shape[-1]
    sp = np.sqrt(((na - 1) * a.var(axis=-1, ddof=1) + (nb - 1) * b.var(axis=-1, ddof=1)) / (na + nb - 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        d = (b.mean(axis=-1) - a.mean(axis=-1)) / sp
    return d * (1 - 3 / (4 * (na + nb) - 9))


def _delta_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sign(b[..., None, :] - a[..., :, None]).mean(axis=(-2, -1))


def _lfc_se(a: np.ndarray, b: np.ndarray, pseudo: float = 1e-6) -> np.ndarray:
    """Delta method: var(log mean x) ~ var(x) / (n mean^2)."""
    na, nb = a.shape[-1], b.shape[-1]
    ma, mb = a.mean(axis=-1) + pseudo, b.mean(axis=-1) + pseudo
    return np.sqrt(a.var(axis=-1, ddof=1) / (na * ma**2) + b.var(axis=-1, ddof=1) / (nb * mb**2)) / np.log(2)


def _lfc_df(a: np.ndarray, b: np.ndarray, pseudo: float = 1e-6) -> np.ndarray:
    """Welch-Satterthwaite degrees of freedom of the two delta-method variance terms."""
    na, nb = a.shape[-1], b.shape[-1]
    va = a.var(axis=-1, ddof=1) / (na * (a.mean(axis=-1) + pseudo) ** 2)
    vb = b.var(axis=-1, ddof=1) / (nb * (b.mean(axis=-1) + pseudo) ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
    return np.where(np.isfinite(df), df, na + nb - 2)


def _g_se(a: np.ndarray, b: np.ndarray, g: np.ndarray | None = None) -> np.ndarray:
    """Hedges & Olkin's large-sample standard error of g."""
    na, nb = a.shape[-1], b.shape[-1]
    g = _g_rows(a, b) if g is None else g
    return np.sqrt((na + nb) / (na * nb) + g**2 / (2 * (na + nb)))


def _delta_se(a: np.ndarray, b: np.ndarray, delta: np.ndarray | None = None) -> np.ndarray:
    """Cliff's (1993) consistent variance estimate of delta, from the dominance matrix and its row/column means."""
    na, nb = a.shape[-1], b.shape[-1]
    dom = np.sign(b[..., None, :] - a[..., :, None])          # (..., na, nb)
    d = dom.mean(axis=(-2, -1)) if delta is None else delta
    di = dom.mean(axis=-1) - d[..., None]                      # per animal of a
    dj = dom.mean(axis=-2) - d[..., None]                      # per animal of b
    sq = ((dom - d[..., None, None]) ** 2).sum(axis=(-2, -1))
    var = (nb**2 * (di**2).sum(-1) + na**2 * (dj**2).sum(-1) - sq) / (na * nb * (na - 1) * (nb - 1))
    floor = (1 - d**2) / (na * nb - 1)                         # Cliff's lower bound on the variance
    return np.sqrt(np.maximum(var, floor))


_VECTORISED = {"log2_fold_change": _lfc_rows, "hedges_g": _g_rows, "cliffs_delta": _delta_rows}
_SE = {"log2_fold_change": _lfc_se, "hedges_g": lambda a, b: _g_se(a, b), "cliffs_delta": lambda a, b: _delta_se(a, b)}


def _t_interval(effect: str, a: np.ndarray, b: np.ndarray, est: float, level: float) -> tuple[float, float]:
    from scipy.stats import norm, t

    na, nb = len(a), len(b)
    alpha = 1 - level
    if effect == "hedges_g":
        se = float(_g_se(a, b, np.asarray(est)))
        q = t.ppf(1 - alpha / 2, na + nb - 2)
        return est - q * se, est + q * se
    if effect == "log2_fold_change":
        se, df = float(_lfc_se(a, b)), float(_lfc_df(a, b))
        q = t.ppf(1 - alpha / 2, df)
        return est - q * se, est + q * se
    # Cliff's delta = 2 AUC - 1: Newcombe's (2006, method 5) score interval for the AUC, whose variance is
    # evaluated at the candidate value (Wilson-style), so that complete separation (delta = +-1) still gets an interval
    z = norm.ppf(1 - alpha / 2)
    lo, hi = _auc_score_interval((est + 1) / 2, na, nb, z)
    return 2 * lo - 1, 2 * hi - 1


def _auc_var(theta: np.ndarray, na: int, nb: int) -> np.ndarray:
    """Newcombe's (2006) variance of the AUC estimate at AUC = theta (Hanley-McNeil with n* = (na + nb) / 2 - 1)."""
    m = (na + nb) / 2 - 1
    return theta * (1 - theta) / (na * nb) * (1 + m * (1 - theta) / (2 - theta) + m * theta / (1 + theta))


def _auc_score_interval(theta_hat: float, na: int, nb: int, z: float) -> tuple[float, float]:
    """The AUC values theta with (theta - theta_hat)^2 = z^2 var(theta), by bisection on each side of theta_hat."""
    def f(t):
        return (t - theta_hat) ** 2 - z**2 * _auc_var(t, na, nb)

    bounds = []
    for inner, outer in ((theta_hat, 0.0), (theta_hat, 1.0)):  # f <= 0 at theta_hat, f >= 0 at 0 and 1 (var = 0)
        for _ in range(60):
            mid = (inner + outer) / 2
            inner, outer = (mid, outer) if f(mid) < 0 else (inner, mid)
        bounds.append((inner + outer) / 2)
    return bounds[0], bounds[1]


def _bca_interval(reps: np.ndarray, est: float, jack: list[np.ndarray], level: float) -> tuple[float, float]:
    """BCa percentiles of ``reps``; ``jack``: the leave-one-out estimates of each group."""
    from scipy.stats import norm

    n_boot = len(reps)
    below = (np.count_nonzero(reps < est) + 0.5 * np.count_nonzero(reps == est)) / n_boot
    z0 = norm.ppf(np.clip(below, 0.5 / n_boot, 1 - 0.5 / n_boot))
    num = den = 0.0
    for theta in jack:  # two-sample acceleration: each group's influence values, scaled by its size
        theta = theta[np.isfinite(theta)]
        n = len(theta)
        if n < 2:
            continue
        u = (n - 1) * (theta.mean() - theta)
        num += (u**3).sum() / n**3
        den += (u**2).sum() / n**2
    acc = num / (6 * den**1.5) if den > 0 else 0.0
    z = norm.ppf([(1 - level) / 2, (1 + level) / 2])
    adj = norm.cdf(z0 + (z0 + z) / (1 - acc * (z0 + z)))
    lo, hi = np.quantile(reps, adj)
    return float(lo), float(hi)


def bootstrap_ci(a, b, effect: str | Callable = "hedges_g", *, n_boot: int = 2000, level: float = 0.95,
                 seed: int = 0, method: str | None = None) -> tuple[float, float, float]:
    """``(estimate, low, high)``: the effect and its confidence interval, resampling animals within each group.

    Parameters
    ----------
    a, b
        Per-animal values of the reference and the comparison group.
    effect
        One of ``EFFECTS`` or a function ``f(a, b) -> float`` (a custom function supports ``"percentile"`` and
        ``"bca"`` only).
    n_boot, level, seed
        Bootstrap resamples (unused by ``"t"``), the confidence level, the random seed.
    method
        ``"percentile"``, ``"bca"``, ``"t"``, ``"bootstrap-t"`` or ``"symmetric-t"`` (module doc); None ->
        ``DEFAULT_CI[effect]``
        (``"bca"`` for a custom function).

    Returns
    -------
    tuple of float
        The estimate and the interval's bounds (NaN where the data cannot give one, e.g. fewer than 2 animals).

    Raises
    ------
    ParameterError
        An unknown effect or method, or a t-based method for a custom function.
    """
    name = effect if isinstance(effect, str) else None
    if name is not None and name not in FUNCTIONS:
        raise ParameterError(f"unknown effect {name!r}; use one of {list(FUNCTIONS)} or pass a function.")
    method = method or (DEFAULT_CI[name] if name else "bca")
    if method not in CI_METHODS:
        raise ParameterError(f"unknown CI method {method!r}; use one of {list(CI_METHODS)}.")
    if name is None and method in ("t", "bootstrap-t", "symmetric-t"):
        raise ParameterError(f"method {method!r} needs a known standard error: use it with one of {list(FUNCTIONS)}, "
                             f"or 'bca'/'percentile' for a custom effect function.")
    fn = FUNCTIONS[name] if name else effect
    a, b = np.asarray(a, float), np.asarray(b, float)
    est = float(fn(a, b))
    nan = (est, float("nan"), float("nan"))
    if len(a) < 2 or len(b) < 2 or not np.isfinite(est):
        return nan
    if method == "t":
        lo, hi = _t_interval(name, a, b, est, level)
        return (est, lo, hi) if np.isfinite(lo) and np.isfinite(hi) else nan
    rng = np.random.default_rng(seed)
    ia = rng.integers(0, len(a), (n_boot, len(a)))
    ib = rng.integers(0, len(b), (n_boot, len(b)))
    vec = _VECTORISED.get(name) if name else None
    ra, rb = a[ia], b[ib]
    reps = vec(ra, rb) if vec else np.array([fn(x, y) for x, y in zip(ra, rb, strict=True)])
    if method in ("bootstrap-t", "symmetric-t"):
        se0 = float(_SE[name](a, b))
        with np.errstate(divide="ignore", invalid="ignore"):
            tstar = (reps - est) / _SE[name](ra, rb)
        if not np.isfinite(se0) or se0 == 0:
            return nan
        # a resample without spread (se 0; only likely with 2-3 animals) is infinitely extreme, not dropped:
        # dropping it would shrink the interval; if the quantile falls on one, there is no interval
        if method == "symmetric-t":
            q = np.quantile(np.where(np.isfinite(tstar), np.abs(tstar), np.inf), level, method="higher")
            lo, hi = est - q * se0, est + q * se0
        else:
            t_ = np.where(np.isfinite(tstar), tstar, np.where(reps < est, -np.inf, np.inf))
            q_lo, q_hi = np.quantile(t_, [(1 - level) / 2, (1 + level) / 2], method="nearest")
            lo, hi = est - q_hi * se0, est - q_lo * se0
        if not (np.isfinite(lo) and np.isfinite(hi)):
            return nan
        if name == "cliffs_delta":
            lo, hi = max(lo, -1.0), min(hi, 1.0)
        return est, float(lo), float(hi)
    reps = reps[np.isfinite(reps)]
    if not len(reps):
        return nan
    if method == "percentile":
        lo, hi = np.quantile(reps, [(1 - level) / 2, (1 + level) / 2])
        return est, float(lo), float(hi)
    jack = []
    for x, other, first in ((a, b, True), (b, a, False)):
        loo = np.broadcast_to(x, (len(x), len(x)))[~np.eye(len(x), dtype=bool)].reshape(len(x), -1)  # row i: no animal i
        oth = np.broadcast_to(other, (len(x), len(other)))
        jack.append(vec(loo, oth) if vec and first else vec(oth, loo) if vec else
                    np.array([fn(r, other) if first else fn(other, r) for r in loo]))
    lo, hi = _bca_interval(reps, est, jack, level)
    return est, lo, hi
