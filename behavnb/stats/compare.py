"""``compare``: the default group comparison, with the animal as the unit, and the methods paragraph.

The main test of the stats room of the flow (... codes/segment -> hierarchy -> **stats** -> evaluate/health/demos ...).

For every (level, metric, motif) of a per-animal table: sessions are averaged per subject, then

- two groups: Mann-Whitney U (exact without ties up to 40 animals, the normal approximation from 20 animals per
  group, else 10,000 permutations), effect sizes (log2 fold change
  for usage, counts and rates; Hedges' g and Cliff's delta for all) with confidence intervals over animals (the
  method per effect: ``effects.DEFAULT_CI``, chosen by simulated coverage; ``ci=`` for another);
- three or more: Kruskal-Wallis, with Holm-corrected pairwise Mann-Whitney post-hoc tests in ``posthoc``.

q-values (BH, or BY) are computed over one declared family: every row of the call (``family="all"``), or
each metric separately (``family="metric"``). With ``family="all"``, when every session has the same length, bout
count and bout rate are the same test (one is the other divided by the same minutes, so the ranks and p-values are
identical): only bout *rate* enters the family (it stays comparable across session lengths and studies); the
bout_count rows keep their p and effect, with q NaN, ``in_family`` False and a ``note`` (``dedupe=False`` keeps
both).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

import behavnb
from behavnb.errors import ParameterError
from behavnb.stats.effects import (
    CI_METHODS,
    CI_NAMES,
    DEFAULT_CI,
    FUNCTIONS,
    bootstrap_ci,
    cliffs_delta,
    hedges_g,
    lfc_not_estimable,
)
from behavnb.stats.multitest import adjust
from behavnb.stats.nonparametric import kruskal, mann_whitney, posthoc, welch
from behavnb.stats.rates import rate_test
from behavnb.stats.tables import per_subject

RATIO_METRICS = ("usage", "bout_count", "bout_rate")
# every two-group results table has these columns (plus n_<group> and mean_<group> per group), tested or not
RESULT_COLUMNS = ("test", "statistic", "p", "effect_name", "effect", "ci_low", "ci_high", "hedges_g", "cliffs_delta", "q")
# duplicate metric -> the metric it duplicates when sessions have equal length (the one kept in the FDR family)
DUPLICATES = {"bout_count": "bout_rate"}


def untestable_reason(table: pd.DataFrame, groups: Sequence[str] | None = None, *, group_column: str = "group",
                      min_animals: int = 2) -> str | None:
    """Why group tests cannot run on ``table`` (one group only; a group with fewer than ``min_animals``
    animals), or None when they can.

    Parameters
    ----------
    table
        A per-animal or per-session table with ``subject`` and ``group_column`` (``animal_table``), or a
        sessions table.
    groups
        The groups to compare (default: all of the table's).
    group_column, min_animals
        The grouping column; the fewest animals a group needs.

    Returns
    -------
    str or None
        One sentence naming the groups and their sizes, or None.
    """
    if group_column not in table:
        return f"the table has no grouping column {group_column!r}"
    subj = table["subject"] if "subject" in table else table["session"]
    n_per = subj.groupby(table[group_column].astype(str)).nunique()
    names = [str(g) for g in groups] if groups is not None else sorted(n_per.index)
    sizes = ", ".join(f"{g!r} n = {int(n_per.get(g, 0))}" for g in names)
    if len(names) < 2:
        return f"there is only one group ({sizes}); group comparisons need at least two"
    small = [g for g in names if n_per.get(g, 0) < min_animals]
    if small:
        return f"group(s) {', '.join(map(repr, small))} have fewer than {min_animals} animals ({sizes})"
    return None


def _snap(x, digits: int = 12):
    """Values rounded to ``digits`` significant digits, so that floating-point noise (a rate of 27.0000000000001 and
    one of 27.000000000000096, both 54 bouts over 2 min) does not break ties: rank tests treat ties differently."""
    import numpy as np

    x = np.asarray(x, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.floor(np.log10(np.abs(x)))
    scale = 10.0 ** (np.where(np.isfinite(mag), mag, 0) - digits + 1)
    return np.where(np.isfinite(x) & (x != 0), np.round(x / scale) * scale, x)


@dataclass
class Results:
    """What ``compare`` returns.

    Attributes
    ----------
    table : DataFrame
        One row per motif and metric (``RESULT_COLUMNS``): group summaries, test, p, q, effect and its interval.
    posthoc : DataFrame or None
        Pairwise tests after a significant Kruskal-Wallis (three or more groups).
    info : dict
        Groups, n per group, metrics, test, FDR method, the family and ``skipped`` (why nothing was tested).
    """

    table: pd.DataFrame
    posthoc: pd.DataFrame | None = None
    info: dict = field(default_factory=dict)

    def methods(self) -> str:
        """A methods paragraph for a paper (``methods_text``).

        Returns
        -------
        str
        """
        return methods_text(self)


def compare(table: pd.DataFrame, *, group_column: str = "group", groups: Sequence[str] | None = None,
            metrics: Sequence[str] | None = None, family: str = "all", fdr: str = "bh", n_boot: int = 2000,
            level: float = 0.95, test: str = "mann-whitney", seed: int = 0, small: str = "raise",
            ci: str | None = None, dedupe: bool = True) -> Results:
    """Group differences per motif and metric, the animal as the unit (see the module doc).

    Parameters
    ----------
    table : DataFrame
        ``animal_table``'s long table (per session; the sessions of a subject are averaged here).
    group_column : str
        The column that defines the groups.
    groups : sequence of str, optional
        The groups in order, reference first; None: those of the table.
    metrics : sequence of str, optional
        The metrics to test; None: all of the table's.
    family : str
        The FDR family: "all" (every motif and metric together) or "metric" (one family per metric).
    fdr : {"bh", "by"}
        Benjamini-Hochberg or Benjamini-Yekutieli.
    n_boot, level : int, float
        Bootstrap resamples and level of the effect intervals.
    test : {"mann-whitney", "welch", "rate"}
        Two groups: Mann-Whitney U (default), Welch's t-test on the per-animal values, or ``rates.rate_test``
        (Welch's t-test on each animal's log bout entry rate, one row per motif with metric "entry_rate"; more
        power when a group enters a motif more often, blind to a change of bout duration alone).
    seed : int
        Seed of the bootstrap.
    small : {"raise", "skip"}
        A group with fewer than 2 animals, or one group only: raise, or keep every row's group sizes and means
        (descriptive) with NaN tests, ``info["skipped"]`` saying why.
    ci : str, optional
        The interval method of ``effects.bootstrap_ci`` for every effect; None: ``effects.DEFAULT_CI``, per effect.
    dedupe : bool
        Keep bout_count out of the FDR family when it duplicates bout_rate (module doc).

    Returns
    -------
    Results
        ``table``: rows of two-group results always have every column of ``RESULT_COLUMNS`` (NaN where a row could
        not be tested), plus ``in_family`` and ``note``. A log2 fold change where a group's mean is 0 (it never used
        the motif) is NaN, with its CI, and ``note`` says "not estimable"; the row's p-value and Cliff's delta stay.

    Raises
    ------
    ParameterError
        A missing grouping column, an unknown ``test``/``family``/``small``, or (``small="raise"``) too few animals.
    """
    if group_column not in table:
        raise ParameterError(f"grouping column {group_column!r} is not in the table; it has {list(table.columns)}.")
    if test not in ("mann-whitney", "welch", "rate"):
        raise ParameterError(f"test must be 'mann-whitney', 'welch' or 'rate', not {test!r}; mixed models are "
                             f"stats.mixed_model.")
    if family not in ("all", "metric"):
        raise ParameterError(f"family must be 'all' or 'metric', not {family!r}.")
    if small not in ("raise", "skip"):
        raise ParameterError(f"small must be 'raise' or 'skip', not {small!r}.")
    if ci is not None and ci not in CI_METHODS:
        raise ParameterError(f"ci must be one of {list(CI_METHODS)} or None (the default per effect), not {ci!r}.")
    t = table if metrics is None else table[table["metric"].isin(metrics)]
    subj = per_subject(t.rename(columns={group_column: "group"}) if group_column != "group" else t)
    names = list(groups) if groups is not None else sorted(subj["group"].astype(str).unique())
    n_per = subj.groupby("group")["subject"].nunique()
    too_few = {g: int(n_per.get(g, 0)) for g in names if n_per.get(g, 0) < 2}
    if too_few and small == "raise":
        raise ParameterError("group(s) with fewer than 2 animals: " + ", ".join(f"{g!r} (n = {v})" for g, v in too_few.items())
                             + ". Add animals, merge groups, or pass small='skip' for the descriptive table alone.")
    if len(names) < 2 and small == "raise":
        raise ParameterError(f"only one group ({names}) to compare; pass groups=[reference, other], or small='skip' for "
                             f"the descriptive table alone.")
    skipped = untestable_reason(subj, names) if small == "skip" else None
    if test == "rate" and not skipped:
        return _rate_results(table, group_column, names, n_per, level, fdr, family)
    keys = [c for c in ("level", "metric", "motif", "time_bin") if c in subj]
    rows, post, ci_used = [], [], {}
    for key, g in subj.groupby(keys, sort=True):
        vals = {name: _snap(g.loc[g["group"].astype(str) == name, "value"].dropna().to_numpy(float)) for name in names}
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        for name in names:
            row[f"n_{name}"] = len(vals[name])
            row[f"mean_{name}"] = float(vals[name].mean()) if len(vals[name]) else float("nan")
        if skipped:
            row.update({"test": "not tested: " + skipped, "p": float("nan")})
        elif any(len(v) < 2 for v in vals.values()):
            row.update({"test": "too few animals with a value", "p": float("nan")})
        elif len(names) == 2:
            a, b = vals[names[0]], vals[names[1]]
            u, p = mann_whitney(a, b) if test == "mann-whitney" else welch(a, b)
            eff = "log2_fold_change" if row["metric"] in RATIO_METRICS else "hedges_g"
            if n_boot:
                est, lo, hi = bootstrap_ci(a, b, eff, n_boot=n_boot, level=level, seed=seed, method=ci)
                ci_used[eff] = ci or DEFAULT_CI[eff]
            else:  # no confidence interval asked for (e.g. calibration runs)
                est, lo, hi = FUNCTIONS[eff](a, b), float("nan"), float("nan")
            row.update({"test": "Mann-Whitney U" if test == "mann-whitney" else "Welch t", "statistic": u, "p": p,
                        "effect_name": eff, "effect": est, "ci_low": lo, "ci_high": hi,
                        "hedges_g": hedges_g(a, b), "cliffs_delta": cliffs_delta(a, b)})
            if eff == "log2_fold_change":  # a group that never used the motif: NaN with the reason, not +-21
                row["note"] = lfc_not_estimable(a, b, (names[0], names[1]))
        else:
            h, p = kruskal(vals)
            row.update({"test": "Kruskal-Wallis", "statistic": h, "p": p})
            ph = posthoc(vals)
            for k_, v in zip(keys, key if isinstance(key, tuple) else (key,), strict=True):
                ph[k_] = v
            post.append(ph)
        rows.append(row)
    out = pd.DataFrame(rows)
    if len(names) == 2 or skipped:  # the two-group columns, present even when no row could be tested
        front = keys + [f"{w}_{g}" for g in names for w in ("n", "mean")]
        out = out.reindex(columns=front + [c for c in RESULT_COLUMNS if c != "q"]
                          + [c for c in out.columns if c not in front and c not in RESULT_COLUMNS])
        out["p"] = out["p"].astype(float)
    out["in_family"] = True
    out["note"] = out["note"].fillna("").astype(str) if "note" in out else ""
    duplicated = equal_length_duplicates(t) if dedupe and family == "all" else {}
    for dup, kept in duplicated.items():
        if kept in set(out["metric"]):
            rows_ = out["metric"] == dup
            out.loc[rows_, "in_family"] = False
            dup_note = (f"same test as {kept} (sessions of equal length): outside the FDR family; see {kept}'s q")
            out.loc[rows_, "note"] = out.loc[rows_, "note"].map(lambda n: f"{n}; {dup_note}" if n else dup_note)
    fam = out["in_family"].to_numpy()
    out["q"] = float("nan")
    if family == "all":
        out.loc[fam, "q"] = adjust(out.loc[fam, "p"].to_numpy(), fdr)
    else:
        out["q"] = out.groupby("metric")["p"].transform(lambda p: pd.Series(adjust(p.to_numpy(), fdr), index=p.index))
    info = {"test": test, "groups": names, "n": {g: int(n_per.get(g, 0)) for g in names}, "fdr": fdr, "family": family,
            "n_tests": int(out.loc[out["in_family"], "p"].notna().sum()), "n_boot": n_boot, "level": level,
            "ci": ci_used,
            "outside_family": {d: k for d, k in duplicated.items() if not out.loc[out["metric"] == d, "in_family"].all()},
            "sessions_per_subject": _sessions_per_subject(t),
            "metrics": sorted(out["metric"].unique()), "levels": sorted(out["level"].unique()) if "level" in out else [],
            "skipped": skipped}
    return Results(out, pd.concat(post, ignore_index=True) if post else None, info)


def _sessions_per_subject(table: pd.DataFrame) -> float:
    """Mean number of sessions per animal (1 for a per-subject table), for the methods paragraph."""
    return float(table.groupby("subject")["session"].nunique().mean()) if "session" in table else 1.0


def _rate_results(table: pd.DataFrame, group_column: str, names: list, n_per: pd.Series, level: float, fdr: str,
                  family: str) -> Results:
    """``compare(test="rate")``: ``rates.rate_test`` on the per-session table, as a ``Results``."""
    if len(names) != 2:
        raise ParameterError(f"test='rate' compares two groups; got {names}. Pass groups=[reference, other].")
    out = rate_test(table, group_column=group_column, groups=names, level=level, fdr=fdr)
    out["in_family"], out["note"] = True, ""
    info = {"test": "rate", "groups": names, "n": {g: int(n_per.get(g, 0)) for g in names}, "fdr": fdr,
            "family": family, "n_tests": int(out["p"].notna().sum()), "n_boot": 0, "level": level, "ci": {},
            "outside_family": {}, "metrics": ["entry_rate"], "levels": sorted(out["level"].unique()) if "level" in out else [],
            "sessions_per_subject": _sessions_per_subject(table),
            "skipped": None}
    return Results(out, None, info)


def equal_length_duplicates(table: pd.DataFrame, rtol: float = 1e-6) -> dict[str, str]:
    """``{"bout_count": "bout_rate"}`` when every row's bout rate is its bout count over the same minutes (all
    sessions, animals and time bins of equal length), so that the two metrics give identical tests; else ``{}``.

    Parameters
    ----------
    table
        A per-session (or per-subject) long table with ``metric`` and ``value`` (``animal_table``).
    rtol
        Relative tolerance for "the same minutes".

    Returns
    -------
    dict
        Duplicate metric -> the metric kept in the family.
    """
    import numpy as np

    out = {}
    for dup, kept in DUPLICATES.items():
        if "metric" not in table or not {dup, kept} <= set(table["metric"].unique()):
            continue
        keys = [c for c in table.columns if c not in ("metric", "value")]
        a = table[table["metric"] == dup].set_index(keys)["value"]
        b = table[table["metric"] == kept].set_index(keys)["value"]
        both = pd.concat([a.rename("dup"), b.rename("kept")], axis=1, join="inner").dropna()
        if not len(both):
            continue
        pos = both[both["dup"] > 0]
        if not len(pos) or ((both["dup"] == 0) != (both["kept"] == 0)).any():
            continue
        ratio = (pos["kept"] / pos["dup"]).to_numpy()
        if np.all(np.abs(ratio - ratio[0]) <= rtol * abs(ratio[0])):
            out[dup] = kept
    return out


def methods_text(results: Results) -> str:
    """A methods paragraph for a paper: unit of analysis, tests, corrections, effect sizes, software versions.

    Parameters
    ----------
    results : Results
        What ``compare`` returned.

    Returns
    -------
    str
    """
    import scipy
    import statsmodels

    i = results.info
    if i.get("skipped"):
        sizes = ", ".join(f"{g} (n = {i['n'][g]})" for g in i["groups"])
        return (f"Behavioural motifs were summarised per animal for {sizes} (per-session measures: "
                f"{', '.join(i['metrics'])}, averaged over each animal's sessions). No group comparison was tested: "
                f"{i['skipped']}. Analyses used behavnb {behavnb.__version__}.")
    groups = ", ".join(f"{g} (n = {i['n'][g]})" for g in i["groups"])
    fdr = {"bh": "Benjamini-Hochberg", "by": "Benjamini-Yekutieli"}.get(i["fdr"], i["fdr"])
    if i.get("test") == "rate":
        return (f"Behavioural motifs were compared between groups {groups} with the animal as the unit of analysis. "
                f"For each animal and motif, the bout entry rate was the number of bouts over the minutes recorded, "
                f"pooled over its sessions (mean {i['sessions_per_subject']:.1f} sessions per animal), with 0.5 bout "
                f"added; groups were compared with two-sided Welch t-tests on the log entry rates. Effect sizes are "
                f"log2 rate ratios (ratio of geometric means) with {int(round(i['level'] * 100))} % Welch confidence "
                f"intervals. The test concerns how often a motif is entered, not how long it lasts, so a change of bout "
                f"duration alone is not detected. P-values were corrected with the {fdr} false discovery rate over the "
                f"motifs ({i['n_tests']} tests); we report q-values. Analyses used behavnb {behavnb.__version__}, "
                f"SciPy {scipy.__version__} and statsmodels {statsmodels.__version__}.")
    test = ("two-sided Welch t-tests on the per-animal values" if i.get("test") == "welch" and len(i["groups"]) == 2 else
            "two-sided Mann-Whitney U tests (exact p-values without ties for up to 40 animals, the normal approximation "
            "with tie correction from 20 animals per group, otherwise 10,000 permutations)"
            if len(i["groups"]) == 2 else
            "Kruskal-Wallis tests followed by pairwise two-sided Mann-Whitney U tests with Holm correction")
    family = ("all tests of the analysis" if i["family"] == "all" else "the tests of each metric")
    eff = ""
    if len(i["groups"]) == 2:
        level = int(round(i["level"] * 100))
        how = {"log2_fold_change": "the log2 fold change", "hedges_g": "Hedges' g"}
        detail = {"t": {"hedges_g": " (Hedges & Olkin's standard error, t quantile with na + nb - 2 df)",
                        "log2_fold_change": " (delta-method standard error, Welch degrees of freedom)"}}
        parts = []
        for e, m in sorted((i.get("ci") or {}).items()):
            boot = (f" ({i['n_boot']:,} resamples of animals within groups)" if m != "t" else
                    detail["t"].get(e, ""))
            parts.append(f"{level} % {CI_NAMES.get(m, m)} confidence intervals{boot} for {how.get(e, e)}")
        cis = (" Confidence intervals: " + "; ".join(parts) + ", each method chosen for its simulated coverage of "
               "at least 0.94 with 8 animals per group.") if parts else ""
        eff = (f" Effect sizes are the log2 fold change of group means (usage, bout counts, bout rates) or Hedges' g "
               f"(durations), and Cliff's delta.{cis}")
    dup = i.get("outside_family") or {}
    dup_text = "".join(f" {d.replace('_', ' ').capitalize()} duplicates {k.replace('_', ' ')} when sessions have equal "
                       f"length (identical tests), so only {k.replace('_', ' ')} was included in the family; "
                       f"{d.replace('_', ' ')} is reported without a q-value." for d, k in dup.items())
    return (f"Behavioural motifs were compared between groups {groups} with the animal as the unit of analysis: "
            f"per-session measures ({', '.join(i['metrics'])}) were averaged over each animal's sessions "
            f"(mean {i['sessions_per_subject']:.1f} sessions per animal) before testing, so that repeated sessions "
            f"were not treated as independent. Groups were compared with {test}.{eff} P-values were corrected for "
            f"multiple comparisons with the {fdr} false discovery rate over {family} ({i['n_tests']} tests); we "
            f"report q-values.{dup_text} Analyses used behavnb {behavnb.__version__}, SciPy {scipy.__version__} and "
            f"statsmodels {statsmodels.__version__}.")
