"""Power, false-positive rate and the smallest effect a study can detect: planning numbers with their Monte Carlo error.

Part of the stats room of the flow (... codes/segment -> hierarchy -> **stats** -> evaluate/health/demos ...): for
planning a study, on simulated cohorts or a pilot's spread.

- ``power``: how often a test says "different" when a planted effect is there (power) and when nothing is
  (false-positive rate, FPR), over simulated cohorts, each rate with its Monte Carlo confidence interval. Cohorts
  come from ``synth.label_cohort`` (the series' behaviour model, labels only: per-animal random effects, sessions
  of a given length) or, with ``sd=``, from a between-animal variability you give (per-animal log values drawn
  from a normal distribution: a real study's spread, without a generator).
- ``oracle_power``: the reference. Each simulated animal's *true* long-run usage and bout entry rate are known
  from its program (the stationary distribution of its semi-Markov chain), so a t-test on them has no
  recording noise at all: no test on recorded sessions can beat it by much.
- ``minimum_detectable_effect``: the fold change of a motif's usage (or entry rate) that a study detects with 80 %
  power at alpha = 0.05, for n = 8, 12, 16, 24 animals per group, from a between-animal SD of log values
  (``between_animal_sd`` on a pilot or published study, ``generator_variability`` for the simulator).

Tests (``TESTS``) run on a cohort's per-session ``animal_table`` and return a p-value per motif:
"default" (``compare``: sessions averaged per animal, Mann-Whitney on usage), "welch-log-usage",
"rate" (``rates.rate_test``: Welch's t on the log bout entry rate), "rate-mwu", "gee-poisson"
(``models.gee_counts``: bout counts with a log-minutes offset, robust errors over animals). A callable
``f(table, groups) -> Series of p by motif`` works too. With ``sd=`` the tests are "mann-whitney" (the default
test's core; "default" means it), "t" and "welch" on the simulated per-animal values.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from behavnb.errors import DataWarning, ParameterError
from behavnb.stats.compare import compare
from behavnb.stats.models import gee_counts
from behavnb.stats.rates import _session_minutes, rate_test
from behavnb.stats.tables import animal_table, per_subject
from behavnb.synth.labels import label_cohort, label_cohort_parts
from behavnb.synth.programs import DEFAULT_EFFECTS, MOTIFS, Effects, animal_program

GROUPS = ("WT", "KO")  # reference first, as in synth.label_cohort
SD_TESTS = ("mann-whitney", "t", "welch")
CI_METHODS = {"wilson": "wilson", "clopper-pearson": "beta"}


# ----------------------------------------------------------------------------------------------------------------
# Monte Carlo error


def proportion_ci(hits: int, total: int, *, method: str = "wilson", level: float = 0.95) -> tuple[float, float]:
    """Confidence interval of a rate estimated from ``hits`` out of ``total`` independent simulations.

    Parameters
    ----------
    hits, total
        Rejections and simulations (cohorts).
    method
        "wilson" (default; good coverage at rates near 0 or 1) or "clopper-pearson" (exact, conservative).
    level
        Confidence level.

    Returns
    -------
    tuple of float
        ``(low, high)``.

    Raises
    ------
    ParameterError
        An unknown method, ``total < 1`` or ``hits`` outside ``[0, total]``.
    """
    from statsmodels.stats.proportion import proportion_confint

    if method not in CI_METHODS:
        raise ParameterError(f"ci method must be one of {list(CI_METHODS)}, not {method!r}.")
    if total < 1 or not 0 <= hits <= total:
        raise ParameterError(f"a rate needs 0 <= hits <= total and total >= 1; got hits={hits}, total={total}.")
    lo, hi = proportion_confint(int(hits), int(total), alpha=1 - level, method=CI_METHODS[method])
    rate = hits / total  # rounding can put a bound a hair past the estimate (e.g. 5e-17 for 0 hits)
    return float(min(max(lo, 0.0), rate)), float(max(min(hi, 1.0), rate))


def _rate_row(hits: int, total: int, method: str, level: float) -> dict:
    lo, hi = proportion_ci(hits, total, method=method, level=level) if total else (float("nan"), float("nan"))
    return {"hits": int(hits), "n_tests": int(total), "rate": hits / total if total else float("nan"),
            "ci_low": lo, "ci_high": hi, "ci_method": method}


# ----------------------------------------------------------------------------------------------------------------
# checks


def _check_n(n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ParameterError(f"animals per group must be an integer >= 2 (a test needs two animals per group), not {n!r}.")
    return int(n)


def _check_positive(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not np.isfinite(value) \
            or value <= 0:
        raise ParameterError(f"{what} must be a positive finite number, not {value!r}.")
    return float(value)


def _check_alpha(alpha: float, power: float | None = None) -> None:
    if not 0 < alpha < 1:
        raise ParameterError(f"alpha must be between 0 and 1, not {alpha!r}.")
    if power is not None and not alpha < power < 1:
        raise ParameterError(f"power must be between alpha ({alpha}) and 1, not {power!r}.")


def _motif_index(motif: str | int) -> int:
    if isinstance(motif, str) and motif in MOTIFS:
        return MOTIFS.index(motif)
    if isinstance(motif, (int, np.integer)) and not isinstance(motif, bool) and 0 <= motif < len(MOTIFS):
        return int(motif)
    raise ParameterError(f"unknown motif {motif!r}; the generator's motifs are {list(MOTIFS)} (a name or its index).")


def _effects(effect, motif: int):
    """The second group's planted ``Effects``: "default" (the generator's ``DEFAULT_EFFECTS``), an ``Effects``, or a
    positive factor on the probability of entering ``motif``; None for no effect."""
    if isinstance(effect, str):
        if effect == "default":
            return DEFAULT_EFFECTS
        if effect == "null":
            return None
        raise ParameterError(f"effect={effect!r}: use 'default' (the generator's planted effects), 'null', an Effects, "
                             f"or a positive factor on the entry probability of the motif.")
    if isinstance(effect, Effects):
        return effect
    f = _check_positive(effect, "effect (a factor on the motif's entry probability)")
    return None if f == 1 else Effects(usage={MOTIFS[motif]: f})


# ----------------------------------------------------------------------------------------------------------------
# tests on a cohort's per-session table


def _p_by_motif(frame: pd.DataFrame) -> pd.Series:
    return frame.set_index("motif")["p"].astype(float)


def _test_default(table: pd.DataFrame, groups: Sequence[str]) -> pd.Series:
    return _p_by_motif(compare(table[table["metric"] == "usage"], groups=list(groups), n_boot=0).table)


def _test_welch_log_usage(table: pd.DataFrame, groups: Sequence[str]) -> pd.Series:
    from scipy import stats as st

    u = per_subject(table[table["metric"] == "usage"]).pivot_table(index=["subject", "group"], columns="motif",
                                                                   values="value")
    floor = 0.5 / 9000  # about half a frame of a 5-min session at 30 fps: an animal with zero usage stays finite
    logu = np.log(np.maximum(u.to_numpy(float), floor))
    g = u.index.get_level_values("group").astype(str)
    res = st.ttest_ind(logu[g == groups[1]], logu[g == groups[0]], axis=0, equal_var=False)
    return pd.Series(np.asarray(res.pvalue, float), index=u.columns)


def _test_rate(table: pd.DataFrame, groups: Sequence[str], test: str = "welch-log") -> pd.Series:
    return _p_by_motif(rate_test(table, groups=list(groups), test=test))


def _test_gee(table: pd.DataFrame, groups: Sequence[str], family: str) -> pd.Series:
    counts = table[table["metric"] == "bout_count"]
    counts = counts.assign(minutes=counts["session"].map(_session_minutes(table)).to_numpy(float))
    with warnings.catch_warnings():  # statsmodels' convergence chatter on 16 clusters; failures show as NaN p
        warnings.simplefilter("ignore")
        res = gee_counts(counts, reference=groups[0], family=family)
    return _p_by_motif(res) if len(res) else pd.Series(dtype=float)


#: name -> ``f(per-session animal_table of one cohort, (reference, other)) -> p-value per motif``
TESTS: dict[str, Callable[[pd.DataFrame, Sequence[str]], pd.Series]] = {
    "default": _test_default,
    "welch-log-usage": _test_welch_log_usage,
    "rate": _test_rate,
    "rate-mwu": lambda t, g: _test_rate(t, g, "mann-whitney"),
    "gee-poisson": lambda t, g: _test_gee(t, g, "poisson"),
}


def _resolve_tests(tests, registry: Mapping) -> dict[str, Callable]:
    items = [tests] if isinstance(tests, str) or callable(tests) else list(tests)
    if not items:
        raise ParameterError("tests is empty; pass a test name (e.g. 'default') or a list of them.")
    out = {}
    for t in items:
        if callable(t):
            out[getattr(t, "__name__", f"test{len(out)}")] = t
        elif t in registry:
            out[t] = registry[t]
        else:
            raise ParameterError(f"unknown test {t!r}; use one of {list(registry)} or a callable "
                                 f"f(table, groups) -> p-value per motif.")
    return out


# ----------------------------------------------------------------------------------------------------------------
# power and FPR


def cohort_table(labels: pd.DataFrame, sessions: pd.DataFrame, n_motifs: int, *, fps: float = 30.0) -> pd.DataFrame:
    """``animal_table``'s per-session usage, bout_count, bout_rate and mean_bout_s of a ``synth.label_cohort``
    cohort (every frame labelled, frames in order), computed with array counts in a fraction of the time.

    Parameters
    ----------
    labels, sessions
        ``label_cohort`` output.
    n_motifs, fps
        Number of motifs and frames per second.

    Returns
    -------
    pandas.DataFrame
        session, individual, motif, metric, value, subject, group, sex, cohort, level (as ``animal_table``).
    """
    sess, names = pd.factorize(labels["session"].astype(str), sort=False)
    frame = labels["frame"].to_numpy()
    order = np.lexsort((frame, sess))
    sess, m = sess[order], labels["motif"].to_numpy(np.int64)[order]
    if (m < 0).any() or (m >= n_motifs).any():
        raise ParameterError(f"cohort_table is for label_cohort output (motifs 0..{n_motifs - 1}, every frame labelled); "
                             f"use stats.animal_table for other labels.")
    k, n_s = int(n_motifs), len(names)
    frames = np.bincount(sess * k + m, minlength=n_s * k).reshape(n_s, k).astype(float)
    start = np.ones(len(m), bool)
    start[1:] = (m[1:] != m[:-1]) | (sess[1:] != sess[:-1])
    bouts = np.bincount(sess[start] * k + m[start], minlength=n_s * k).reshape(n_s, k).astype(float)
    total = frames.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = {"usage": frames / total, "bout_count": bouts, "bout_rate": bouts / (total / fps / 60.0),
                  "mean_bout_s": np.where(bouts > 0, frames / bouts / fps, np.nan)}
    ind = labels["individual"].astype(str).iloc[0] if "individual" in labels else ""
    long = pd.concat([pd.DataFrame({"session": np.repeat(np.asarray(names, dtype=object), k), "individual": ind,
                                    "motif": np.tile(np.arange(k), n_s), "metric": metric, "value": v.ravel()})
                      for metric, v in values.items()], ignore_index=True)
    meta = sessions.astype({"session": str}).drop_duplicates("session")
    keep = [c for c in ("session", "subject", "group", "sex", "cohort") if c in meta]
    out = long.merge(meta[keep], on="session", how="left")
    out["level"] = "motif"
    return out


def power(tests: str | Callable | Sequence[str | Callable] = "default", *, n: int = 8, effect="default",
          motif: str | int = "rear", sd: float | None = None, n_cohorts: int = 200, null: bool = True,
          sessions_per_animal: int = 2, duration_s: float = 300.0, alpha: float = 0.05, ci: str = "wilson",
          level: float = 0.95, seed: int = 0, progress: bool = True) -> pd.DataFrame:
    """Power (with the effect) and false-positive rate (without) of one or more tests, with Monte Carlo CIs.

    Every test sees the same cohorts, so differences between tests are not simulation noise of different draws.

    Parameters
    ----------
    tests
        Names from ``TESTS`` (generator cohorts) or ``SD_TESTS`` (with ``sd``), or callables
        ``f(table, groups) -> pandas.Series`` of p-values by motif (generator cohorts only).
    n
        Animals per group (two groups, ``GROUPS``).
    effect
        Generator cohorts: "default" (the generator's ``DEFAULT_EFFECTS`` in the second group), an ``Effects``, or
        a factor on the probability of entering ``motif`` (``1`` = no effect). With ``sd``: the fold change of the
        per-animal value (usage or rate) in the second group.
    motif
        The motif whose test is the power (a generator motif name or index).
    sd
        Instead of generator cohorts: the between-animal SD of the log per-animal value (e.g. from
        ``between_animal_sd``); per-animal log values are drawn from N(0, sd), plus log(effect) in the second group.
    n_cohorts
        Simulated cohorts per scenario (each gives one test per motif).
    null
        Also simulate null cohorts (no effect) for the false-positive rate.
    sessions_per_animal, duration_s
        Recording design of generator cohorts.
    alpha
        Significance level of each test.
    ci, level
        Monte Carlo interval of each rate: "wilson" or "clopper-pearson", and its level.
    seed
        Seeds every cohort (cohort ``i`` of a scenario gets the same seed whatever the tests).
    progress
        Show a tqdm progress bar over cohorts.

    Returns
    -------
    pandas.DataFrame
        One row per test and measure: test, measure ("power": the target motif in effect cohorts; "fpr": the
        target motif in null cohorts; "fpr_all_motifs": every motif in null cohorts, its CI from the spread of
        per-cohort rates, since the motifs of one cohort are not independent), n, n_cohorts, hits, n_tests, rate,
        ci_low, ci_high, ci_method. ``attrs["p_values"]``: every p-value (scenario, cohort, test, motif, p).

    Raises
    ------
    ParameterError
        n < 2, an effect <= 0, an unknown motif or test, alpha outside (0, 1), n_cohorts < 1.
    """
    n = _check_n(n)
    _check_alpha(alpha)
    if isinstance(n_cohorts, bool) or not isinstance(n_cohorts, (int, np.integer)) or n_cohorts < 1:
        raise ParameterError(f"n_cohorts must be an integer >= 1, not {n_cohorts!r}.")
    if ci not in CI_METHODS:
        raise ParameterError(f"ci must be one of {list(CI_METHODS)}, not {ci!r}.")
    if sd is not None:
        return _power_sd(tests, n=n, effect=effect, sd=sd, n_cohorts=int(n_cohorts), null=null, alpha=alpha, ci=ci,
                         level=level, seed=seed)
    target = _motif_index(motif)
    effects = _effects(effect, target)
    funcs = _resolve_tests(tests, TESTS)
    _check_positive(duration_s, "duration_s")
    if isinstance(sessions_per_animal, bool) or not isinstance(sessions_per_animal, (int, np.integer)) or sessions_per_animal < 1:
        raise ParameterError(f"sessions_per_animal must be an integer >= 1, not {sessions_per_animal!r}.")
    from tqdm.auto import tqdm

    scenarios = [("effect", effects)] + ([("null", None)] if null else [])
    seeds = np.random.SeedSequence(seed).generate_state(2 * n_cohorts).reshape(2, n_cohorts)
    rows = []
    bar = tqdm(total=len(scenarios) * n_cohorts, desc=f"cohorts (n = {n})", disable=not progress)
    for s_i, (scenario, eff) in enumerate(scenarios):
        for c in range(n_cohorts):
            labels, sessions = label_cohort(groups=GROUPS, animals_per_group=n, sessions_per_animal=sessions_per_animal,
                                            duration_s=duration_s, effects={GROUPS[1]: eff} if eff else "null",
                                            seed=int(seeds[s_i, c]))
            table = cohort_table(labels, sessions, len(MOTIFS), fps=30.0)
            for name, f in funcs.items():
                p = f(table, GROUPS)
                rows.append(pd.DataFrame({"scenario": scenario, "cohort": c, "test": name,
                                          "motif": np.asarray(p.index, int), "p": np.asarray(p, float)}))
            bar.update()
    bar.close()
    pv = pd.concat(rows, ignore_index=True)
    return _summarise(pv, list(funcs), target, n, n_cohorts, alpha, ci, level)


def _summarise(pv: pd.DataFrame, names: list[str], target, n: int, n_cohorts: int, alpha: float, ci: str,
               level: float) -> pd.DataFrame:
    from scipy.stats import norm

    out = []
    for name in names:
        for scenario, measure in (("effect", "power"), ("null", "fpr")):
            d = pv[(pv["test"] == name) & (pv["scenario"] == scenario) & (pv["motif"] == target)]
            if not len(d):
                continue
            ok = d["p"].dropna()
            out.append({"test": name, "measure": measure, "n": n, "n_cohorts": n_cohorts,
                        **_rate_row(int((ok < alpha).sum()), len(ok), ci, level)})
        d = pv[(pv["test"] == name) & (pv["scenario"] == "null")].dropna(subset=["p"])
        if len(d):
            per = (d["p"] < alpha).groupby(d["cohort"]).mean()
            half = norm.ppf(0.5 + level / 2) * per.std(ddof=1) / np.sqrt(len(per)) if len(per) > 1 else float("nan")
            rate = float((d["p"] < alpha).mean())
            out.append({"test": name, "measure": "fpr_all_motifs", "n": n, "n_cohorts": n_cohorts,
                        "hits": int((d["p"] < alpha).sum()), "n_tests": len(d), "rate": rate,
                        "ci_low": max(0.0, rate - half), "ci_high": min(1.0, rate + half),
                        "ci_method": "normal over cohorts"})
    res = pd.DataFrame(out)
    res.attrs["p_values"] = pv
    return res


def _sd_pvalues(test: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Two-sided p-values of ``test`` per row of ``a`` (reference) and ``b``; Mann-Whitney as ``compare`` runs it."""
    from scipy import stats as st

    if test == "mann-whitney":
        n_a, n_b = a.shape[-1], b.shape[-1]
        method = "exact" if n_a + n_b <= 40 else "asymptotic"
        return st.mannwhitneyu(a, b, axis=-1, method=method).pvalue
    return st.ttest_ind(b, a, axis=-1, equal_var=test == "t").pvalue


def _power_sd(tests, *, n: int, effect, sd, n_cohorts: int, null: bool, alpha: float, ci: str, level: float,
              seed: int) -> pd.DataFrame:
    sd = _check_positive(sd, "sd (between-animal SD of log values)")
    if isinstance(effect, str):
        raise ParameterError(f"with sd= the effect is a fold change of the per-animal value (e.g. 1.5), not {effect!r}.")
    fold = _check_positive(effect, "effect (fold change)")
    items = [tests] if isinstance(tests, str) or callable(tests) else list(tests)
    names = []
    for t in items:
        t = "mann-whitney" if t == "default" else t
        if not isinstance(t, str) or t not in SD_TESTS:
            raise ParameterError(f"with sd= the tests are {list(SD_TESTS)} (or 'default' = Mann-Whitney), not {t!r}.")
        names.append(t)
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((2, n_cohorts, 2, n)) * sd
    rows = []
    for s_i, scenario in enumerate(["effect"] + (["null"] if null else [])):
        shift = np.log(fold) if scenario == "effect" else 0.0
        for t in names:
            p = _sd_pvalues(t, z[s_i, :, 0], z[s_i, :, 1] + shift)
            rows.append(pd.DataFrame({"scenario": scenario, "cohort": np.arange(n_cohorts), "test": t, "motif": -1,
                                      "p": p}))
    pv = pd.concat(rows, ignore_index=True)
    res = _summarise(pv, names, -1, n, n_cohorts, alpha, ci, level)
    return res[res["measure"] != "fpr_all_motifs"].reset_index(drop=True).assign(sd=sd, fold_change=fold)


# ----------------------------------------------------------------------------------------------------------------
# the oracle


def true_rates(programs: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """Each program's long-run usage (share of time) and bout entry rate (bouts per minute) of every motif.

    The jump chain's stationary distribution ``pi`` (eigenvector of the transition matrix for eigenvalue 1)
    times the mean bout durations gives the time shares; ``pi / sum(pi * duration)`` is the entry rate.

    Parameters
    ----------
    programs
        ``synth.programs.AnimalProgram`` objects.

    Returns
    -------
    tuple of numpy.ndarray
        ``(usage, entries_per_min)``, each (animals, motifs).
    """
    trans = np.stack([p.transitions for p in programs])
    dur = np.stack([p.duration_mean for p in programs])
    w, v = np.linalg.eig(np.swapaxes(trans, 1, 2))
    idx = np.argmin(np.abs(w - 1), axis=1)
    pi = np.real(np.take_along_axis(v, idx[:, None, None], axis=2)[..., 0])
    pi = pi / pi.sum(axis=1, keepdims=True)
    time_per_jump = (pi * dur).sum(axis=1, keepdims=True)
    return pi * dur / time_per_jump, pi / time_per_jump * 60.0


def oracle_power(n: int = 8, *, effect="default", motif: str | int = "rear", n_cohorts: int = 2000,
                 alpha: float = 0.05, ci: str = "wilson", level: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Power of tests on each animal's *true* usage and entry rate (no recording noise): the reference bound.

    Parameters
    ----------
    n
        Animals per group.
    effect, motif
        As in ``power`` (generator cohorts): "default", an ``Effects``, or a factor on the entry probability.
    n_cohorts
        Simulated cohorts (animal programs only, so thousands are cheap).
    alpha, ci, level, seed
        As in ``power``.

    Returns
    -------
    pandas.DataFrame
        One row per oracle: "usage (t on log)", "usage (Mann-Whitney)", "entry rate (t on log)"; columns n,
        n_cohorts, hits, n_tests, rate (the power), ci_low, ci_high, ci_method, true_ratio (mean of the second
        group over the reference), sd_log (mean within-group SD of the log value in the reference group).

    Raises
    ------
    ParameterError
        As ``power``.
    """

    n = _check_n(n)
    _check_alpha(alpha)
    target = _motif_index(motif)
    effects = _effects(effect, target)
    if isinstance(n_cohorts, bool) or not isinstance(n_cohorts, (int, np.integer)) or n_cohorts < 2:
        raise ParameterError(f"n_cohorts must be an integer >= 2, not {n_cohorts!r}.")
    rng = np.random.default_rng(seed)
    draw = {g: true_rates([animal_program(e, rng) for _ in range(n_cohorts * n)])
            for g, e in ((GROUPS[0], None), (GROUPS[1], effects))}
    rows = []
    for name, k, test in (("usage (t on log)", 0, "t"), ("usage (Mann-Whitney)", 0, "mann-whitney"),
                          ("entry rate (t on log)", 1, "t")):
        a = draw[GROUPS[0]][k][:, target].reshape(n_cohorts, n)
        b = draw[GROUPS[1]][k][:, target].reshape(n_cohorts, n)
        p = _sd_pvalues(test, np.log(a), np.log(b))
        rows.append({"oracle": name, "n": n, "n_cohorts": n_cohorts, **_rate_row(int((p < alpha).sum()), n_cohorts, ci, level),
                     "true_ratio": float(b.mean() / a.mean()),
                     "sd_log": float(np.log(a).std(axis=1, ddof=1).mean())})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------------------------
# between-animal variability


def between_animal_sd(table: pd.DataFrame, *, metric: str = "usage", group_column: str = "group") -> pd.DataFrame:
    """Per motif: the within-group SD of the animals' log values (sessions averaged per animal), pooled over groups.

    This is the spread a group test sees, recording noise included: the number to plan a study with. Zeros (an
    animal that never used the motif) become half the motif's smallest positive value before the log (counted
    in ``zeros`` and warned about); motifs with fewer than two positive animals in a group are left out.

    Parameters
    ----------
    table
        Per-session rows of ``animal_table`` (subject, group, motif, metric, value).
    metric
        Which metric (e.g. "usage", "bout_rate").
    group_column
        The grouping column.

    Returns
    -------
    pandas.DataFrame
        [level,] motif, sd (pooled), sd_<group> per group, n_animals, geo_mean (geometric mean value), zeros.

    Raises
    ------
    ParameterError
        A missing grouping column, or no rows of ``metric``.
    """
    if group_column not in table:
        raise ParameterError(f"grouping column {group_column!r} is not in the table; it has {list(table.columns)}.")
    t = table[table["metric"] == metric]
    if not len(t):
        raise ParameterError(f"the table has no rows of metric {metric!r}; it has {sorted(table['metric'].unique())}.")
    t = t.rename(columns={group_column: "group"}) if group_column != "group" else t
    subj = per_subject(t)
    keys = [c for c in ("level",) if c in subj] + ["motif"]
    rows, dropped, n_zeros = [], [], 0
    for key, g in subj.groupby(keys, sort=True):
        v = g["value"].to_numpy(float)
        groups = g["group"].astype(str).to_numpy()
        pos = v > 0
        if any(pos[groups == name].sum() < 2 for name in np.unique(groups)):
            dropped.append(key)
            continue
        zeros = int((~pos).sum())
        n_zeros += zeros
        logv = np.log(np.where(pos, v, v[pos].min() / 2))
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        num = den = 0.0
        for name in np.unique(groups):
            x = logv[groups == name]
            row[f"sd_{name}"] = float(x.std(ddof=1))
            num += (len(x) - 1) * x.var(ddof=1)
            den += len(x) - 1
        row.update({"sd": float(np.sqrt(num / den)), "n_animals": len(v), "geo_mean": float(np.exp(logv.mean())),
                    "zeros": zeros})
        rows.append(row)
    if n_zeros:
        warnings.warn(f"between_animal_sd: {n_zeros} animal-motif value(s) of {metric!r} were 0 and were set to half "
                      f"the motif's smallest positive value before the log.", DataWarning, stacklevel=2)
    if dropped:
        warnings.warn(f"between_animal_sd: {len(dropped)} motif(s) with fewer than 2 animals using them in a group "
                      f"were left out: {dropped[:10]}.", DataWarning, stacklevel=2)
    out = pd.DataFrame(rows)
    front = keys + ["sd"]
    return out[front + [c for c in out.columns if c not in front]]


def labels_variability(labels: pd.DataFrame, *, metric: str = "usage", fps: float | None = None,
                       group_column: str = "group", column: str = "motif") -> pd.DataFrame:
    """``between_animal_sd`` straight from a labels table with ``subject`` and a group column (e.g. what
    ``manifest.load_labels`` returns). Missing labels (NA or negative) are left out; only the label values that
    occur are motifs (labels numbered 1..K gain no empty motif 0).

    Parameters
    ----------
    labels
        session, frame, a label column, subject and ``group_column`` (time or ``fps`` for rates).
    metric, group_column
        As ``between_animal_sd``.
    fps
        Frames per second (default: from the ``time`` column).
    column
        The label column.

    Returns
    -------
    pandas.DataFrame
        As ``between_animal_sd``, ``motif`` holding the original label values.

    Raises
    ------
    ParameterError
        A missing column.
    """
    need = {"session", "frame", column, "subject", group_column}
    if need - set(labels.columns):
        raise ParameterError(f"the labels table lacks {sorted(need - set(labels.columns))}; it has {list(labels.columns)}.")
    raw = pd.to_numeric(labels[column], errors="coerce")
    ok = raw.notna() & (raw >= 0)
    values = np.sort(raw[ok].unique())
    code = np.full(len(labels), -1, dtype=np.int64)
    code[ok.to_numpy()] = np.searchsorted(values, raw[ok].to_numpy(float))
    lab = pd.DataFrame({"session": labels["session"].astype(str).to_numpy(),
                        "individual": labels["individual"].astype(str).to_numpy() if "individual" in labels else "",
                        "frame": labels["frame"].to_numpy(), "motif": code})
    if "time" in labels:
        lab["time"] = labels["time"].to_numpy(float)
    sessions = labels[["session", "subject", group_column]].drop_duplicates("session").astype({"session": str})
    table = animal_table(lab, sessions, len(values), group_column=group_column, fps=fps)
    out = between_animal_sd(table, metric=metric, group_column=group_column)
    out["motif"] = values[out["motif"].to_numpy(int)]
    return out


def generator_variability(*, n_animals: int = 300, sessions_per_animal: int = 2, duration_s: float = 300.0,
                          metric: str = "usage", seed: int = 0) -> pd.DataFrame:
    """``between_animal_sd`` of the generator: one large null cohort from ``synth.label_cohort`` (two groups of
    ``n_animals``), recording noise of the given design included, with the motif names in ``name``.

    Parameters
    ----------
    n_animals
        Animals per group (more gives a steadier SD: the per-animal log values have heavier tails than a normal
        distribution's, so 100 animals still leave about +-0.01 on an SD near 0.23).
    sessions_per_animal, duration_s
        The recording design (the series' default: 2 sessions of 5 min).
    metric, seed
        As ``between_animal_sd``; the cohort's seed.

    Returns
    -------
    pandas.DataFrame
        As ``between_animal_sd`` plus ``name``.

    Raises
    ------
    ParameterError
        ``n_animals`` < 2.
    """
    n = _check_n(n_animals)
    parts = label_cohort_parts(groups=GROUPS, animals_per_group=n, sessions_per_animal=sessions_per_animal,
                               duration_s=duration_s, effects="null", seed=seed, animals_per_part=50)
    table = pd.concat([cohort_table(labels, sessions, len(MOTIFS), fps=30.0) for labels, sessions in parts],
                      ignore_index=True)  # part by part: the per-session table is small, the frames are not
    out = between_animal_sd(table, metric=metric)
    out.insert(1, "name", [MOTIFS[m] for m in out["motif"]])
    return out


# ----------------------------------------------------------------------------------------------------------------
# minimum detectable effect


def standardized_effect(n: int, *, power: float = 0.8, alpha: float = 0.05, test: str = "mann-whitney",
                        method: str | None = None, n_sim: int = 4000, seed: int = 0) -> float:
    """The smallest shift of log values, in between-animal SDs, that ``test`` detects with ``power`` at n per group.

    Parameters
    ----------
    n
        Animals per group (equal groups).
    power, alpha
        Target power and significance level (two-sided).
    test
        "mann-whitney" (the default test of ``compare``: exact p up to 40 animals, else the normal approximation),
        "t" (Student) or "welch".
    method
        "analytic" (noncentral t; "t" only, the default there) or "simulation" (``n_sim`` simulated studies with
        common random numbers; the default for the others).
    n_sim, seed
        Simulated studies and their seed.

    Returns
    -------
    float
        The shift d; a fold change is ``exp(d * sd)``.

    Raises
    ------
    ParameterError
        n < 2, power or alpha out of range, an unknown test or method.
    """
    from scipy import optimize, stats as st

    n = _check_n(n)
    _check_alpha(alpha, power)
    if test not in SD_TESTS:
        raise ParameterError(f"test must be one of {list(SD_TESTS)}, not {test!r}.")
    method = method or ("analytic" if test == "t" else "simulation")
    if method == "analytic":
        if test != "t":
            raise ParameterError(f"the analytic MDE is for test='t'; use method='simulation' for {test!r}.")
        df = 2 * n - 2
        crit = st.t.ppf(1 - alpha / 2, df)
        scale = np.sqrt(n / 2)  # noncentrality per unit of d

        def pw(d):
            nc = d * scale
            return st.nct.sf(crit, df, nc) + st.nct.cdf(-crit, df, nc) - power

        hi = 0.5
        while pw(hi) < 0:  # widen the bracket step by step (scipy's noncentral t is NaN at huge noncentralities)
            hi *= 2
        return float(optimize.brentq(pw, 0.0, hi, xtol=1e-10))
    if method != "simulation":
        raise ParameterError(f"method must be 'analytic' or 'simulation', not {method!r}.")
    z = np.random.default_rng(seed).standard_normal((2, int(n_sim), n))

    def pw_sim(d):
        return float((_sd_pvalues(test, z[0], z[1] + d) < alpha).mean()) - power

    if pw_sim(50.0) < 0:
        raise ParameterError(f"{test!r} with {n} animals per group cannot reach power {power} at alpha {alpha} "
                             f"(too few animals for any effect); use more animals.")
    hi = 0.5
    while pw_sim(hi) < 0:
        hi *= 2
    return float(optimize.brentq(pw_sim, 0.0, hi, xtol=1e-4))


def minimum_detectable_effect(sd, *, n: Sequence[int] = (8, 12, 16, 24), power: float = 0.8, alpha: float = 0.05,
                              test: str = "mann-whitney", method: str | None = None,
                              quantiles: Mapping[str, float] | None = None, n_sim: int = 4000,
                              seed: int = 0) -> pd.DataFrame:
    """The fold change (of usage, or of an entry rate) detectable with ``power`` at ``alpha``, per group size.

    A study plan in one table: rows are animals per group, columns are between-animal variabilities, each value
    the smallest increase (x fold; the same factor down, 1/x, is detected as well) that the test finds in
    ``power`` of studies.

    Parameters
    ----------
    sd
        A between-animal SD of log values (float), a mapping name -> SD, or a ``between_animal_sd`` table, of
        which the ``quantiles`` of its ``sd`` column become the columns.
    n
        Animals per group.
    power, alpha
        Target power and two-sided significance level.
    test, method, n_sim, seed
        As ``standardized_effect`` (default: the default test of ``compare``, Mann-Whitney, by simulation).
    quantiles
        With a table: column name -> quantile of the motifs' SDs (default low 0.25, median 0.5, high 0.75).

    Returns
    -------
    pandas.DataFrame
        Index ``animals per group``, one column per variability (named with its SD), values fold changes.
        ``attrs``: sd per column, d per n, test, power, alpha.

    Raises
    ------
    ParameterError
        A non-positive SD, n < 2, or as ``standardized_effect``.
    """
    if isinstance(sd, pd.DataFrame):
        if "sd" not in sd:
            raise ParameterError(f"the variability table has no 'sd' column (between_animal_sd makes one); it has "
                                 f"{list(sd.columns)}.")
        quantiles = quantiles or {"low": 0.25, "median": 0.5, "high": 0.75}
        sds = {name: float(sd["sd"].quantile(q)) for name, q in quantiles.items()}
    elif isinstance(sd, Mapping):
        sds = {str(k): v for k, v in sd.items()}
    else:
        sds = {"sd": sd}
    sds = {k: _check_positive(v, f"sd {k!r}") for k, v in sds.items()}
    ns = [_check_n(v) for v in ([n] if isinstance(n, (int, np.integer)) else n)]
    d = {v: standardized_effect(v, power=power, alpha=alpha, test=test, method=method, n_sim=n_sim, seed=seed)
         for v in ns}
    out = pd.DataFrame({f"{k} (SD {v:.2f})" if k != "sd" else f"SD {v:.2f}": [float(np.exp(d[m] * v)) for m in ns]
                        for k, v in sds.items()}, index=pd.Index(ns, name="animals per group"))
    out.attrs.update({"sd": sds, "d": d, "test": test, "power": power, "alpha": alpha})
    return out
