"""How often the tests say "different" when nothing is (false-positive rate) or when something is (power).

Part of the stats room of the flow (... codes/segment -> hierarchy -> **stats** -> evaluate/health/demos ...): it
checks the tests on synthetic cohorts, not on a study's data.

Cohorts come from ``synth.label_cohort`` (the series' behaviour model, labels only). For each cohort:

- ``animal``: the default test (``compare``: sessions averaged per animal, Mann-Whitney per motif on usage);
- ``session``: the same test with every session treated as an independent animal (pseudoreplication);
- ``repertoire``: the PERMANOVA on CLR usage, one test per cohort.

A rate is the share of (cohort, motif) tests with p < alpha (per cohort for the repertoire test).

Every rate comes with its Monte Carlo confidence interval (``summarize_error_rates``, also in the returned table's
``attrs["summary"]``): Wilson's score interval (or Clopper-Pearson) over cohorts for the per-cohort quantities
(repertoire test, target motif); for the shares over all motifs, whose tests within one cohort are not
independent, the Wilson interval at the effective number of tests (tests / design effect, the design effect being
the spread of the per-cohort shares over its binomial expectation, at least 1).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from behavnb.errors import ParameterError
from behavnb.stats.compare import compare
from behavnb.stats.compositional import repertoire_test
from behavnb.stats.tables import animal_table, per_subject
from behavnb.synth.labels import label_cohort

RATE_CI = {"wilson": "wilson", "clopper-pearson": "beta"}


def error_rates(n_cohorts: int = 200, *, effects: str | Mapping = "null", animals_per_group: int = 8,
                sessions_per_animal: int = 2, duration_s: float = 300.0, alpha: float = 0.05, n_perm: int = 999,
                target_motif: int | None = None, seed: int = 0, progress: bool = True) -> pd.DataFrame:
    """False-positive rate (or power) of the tests on simulated cohorts.

    Parameters
    ----------
    n_cohorts : int
        Simulated cohorts; cohort ``c`` has seed ``seed + c``.
    effects : str or mapping
        ``synth.label_cohort``'s effects ("null": none).
    animals_per_group, sessions_per_animal, duration_s : int, int, float
        The cohorts' design.
    alpha : float
        The significance level.
    n_perm : int
        Permutations of the repertoire test.
    target_motif : int, optional
        Also report this motif's animal-level p and q.
    seed : int
        First cohort's seed.
    progress : bool
        Show a progress bar.

    Returns
    -------
    DataFrame
        One row per cohort: the share of motifs with p < alpha for the animal-level and the session-level test, the
        repertoire test's p, and (with ``target_motif``) that motif's p and q. ``attrs["summary"]``: every rate over
        the cohorts with its 95 % Monte Carlo interval (``summarize_error_rates``).
    """
    from tqdm.auto import tqdm

    rows = []
    for c in tqdm(range(n_cohorts), desc="cohorts", disable=not progress):
        labels, sessions = label_cohort(animals_per_group=animals_per_group, sessions_per_animal=sessions_per_animal,
                                        duration_s=duration_s, effects=effects, seed=seed + c)
        table = animal_table(labels, sessions, 8, fps=30.0)
        usage = table[table["metric"] == "usage"]
        by_animal = compare(usage, n_boot=0).table
        by_session = compare(usage.assign(subject=usage["session"]), n_boot=0).table
        wide = per_subject(usage).pivot_table(index=["subject", "group"], columns="motif", values="value")
        rep = repertoire_test(wide, wide.index.get_level_values("group"), n_perm=n_perm, seed=seed + c)
        row = {"cohort": c, "animal_fp": float((by_animal["p"] < alpha).mean()),
               "session_fp": float((by_session["p"] < alpha).mean()), "repertoire_p": rep["p"],
               "n_motifs": int(by_animal["p"].notna().sum())}
        if target_motif is not None:
            hit = by_animal[by_animal["motif"] == target_motif].iloc[0]
            row.update({"target_p": float(hit["p"]), "target_q": float(hit["q"])})
        rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs["alpha"] = alpha
    out.attrs["summary"] = summarize_error_rates(out, alpha)
    return out


def rate_ci(hits: int, total: float, *, method: str = "wilson", level: float = 0.95) -> tuple[float, float]:
    """Monte Carlo confidence interval of a rate: ``hits`` of ``total`` simulated tests said "different".

    Parameters
    ----------
    hits, total
        Successes and trials (``total`` may be an effective, non-integer number; ``hits`` is scaled with it).
    method
        ``"wilson"`` (score interval, good near 0 and 1) or ``"clopper-pearson"`` (exact, conservative).
    level
        Confidence level.

    Returns
    -------
    tuple of float
        ``(low, high)``; NaN for ``total`` = 0.

    Raises
    ------
    ParameterError
        An unknown method, or hits outside [0, total].
    """
    from scipy.stats import beta, norm

    if method not in RATE_CI:
        raise ParameterError(f"method must be one of {list(RATE_CI)}, not {method!r}.")
    if total <= 0:
        return float("nan"), float("nan")
    if not 0 <= hits <= total + 1e-9:
        raise ParameterError(f"hits must be between 0 and total; got hits={hits}, total={total}.")
    p = hits / total
    if method == "wilson":
        z = norm.ppf(0.5 + level / 2)
        centre = (p + z**2 / (2 * total)) / (1 + z**2 / total)
        half = z / (1 + z**2 / total) * np.sqrt(p * (1 - p) / total + z**2 / (4 * total**2))
        return float(max(0.0, centre - half)), float(min(1.0, centre + half))
    a = 1 - level
    lo = beta.ppf(a / 2, hits, total - hits + 1) if hits > 0 else 0.0
    hi = beta.ppf(1 - a / 2, hits + 1, total - hits) if hits < total else 1.0
    return float(lo), float(hi)


def summarize_error_rates(table: pd.DataFrame, alpha: float | None = None, *, method: str = "wilson",
                          level: float = 0.95) -> pd.DataFrame:
    """The rates of an ``error_rates`` table, each with its Monte Carlo confidence interval.

    Parameters
    ----------
    table
        ``error_rates``'s per-cohort table.
    alpha
        The significance level (default: the table's, else 0.05).
    method, level
        ``rate_ci``'s interval and level.

    Returns
    -------
    pandas.DataFrame
        One row per quantity ("animal-level test, all motifs", "session-level test, all motifs", "repertoire
        test", and with a target motif "target motif, p < alpha" and "target motif, q < alpha"): rate, ci_low,
        ci_high, n_cohorts, n_tests, n_eff (the effective number of independent tests), ci_method.
    """
    alpha = alpha if alpha is not None else table.attrs.get("alpha", 0.05)
    n_c = len(table)
    m = table["n_motifs"].to_numpy(float) if "n_motifs" in table else np.full(n_c, 8.0)
    rows = []
    for col, name in (("animal_fp", "animal-level test, all motifs"), ("session_fp", "session-level test, all motifs")):
        if col not in table:
            continue
        share = table[col].to_numpy(float)
        tests = float(m.sum())
        rate = float((share * m).sum() / tests) if tests else float("nan")
        binom = rate * (1 - rate) / m.mean() if 0 < rate < 1 else 0.0
        deff = max(1.0, share.var(ddof=1) / binom) if binom > 0 and n_c > 1 else 1.0
        n_eff = tests / deff
        lo, hi = rate_ci(rate * n_eff, n_eff, method=method, level=level)
        rows.append({"quantity": name, "rate": rate, "ci_low": lo, "ci_high": hi, "n_cohorts": n_c,
                     "n_tests": int(tests), "n_eff": round(n_eff, 1), "ci_method": f"{method}, design effect {deff:.2f}"})
    binary = [("repertoire_p", "repertoire test")] + [(c, f"target motif, {c[-1]} < alpha")
                                                      for c in ("target_p", "target_q") if c in table]
    for col, name in binary:
        if col not in table:
            continue
        ok = table[col].dropna()
        hits = int((ok < alpha).sum())
        lo, hi = rate_ci(hits, len(ok), method=method, level=level)
        rows.append({"quantity": name, "rate": hits / len(ok) if len(ok) else float("nan"), "ci_low": lo,
                     "ci_high": hi, "n_cohorts": len(ok), "n_tests": len(ok), "n_eff": float(len(ok)),
                     "ci_method": method})
    return pd.DataFrame(rows)
