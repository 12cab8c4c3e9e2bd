"""Bout entry rates: how often an animal *starts* a motif, per minute recorded, tested between groups.

Part of the stats room of the flow (... codes/segment -> hierarchy -> **stats** -> evaluate/health/demos ...).

Usage (the share of time in a motif) is the number of bouts times their mean duration. When a group enters a
motif more often, the entry rate carries the effect without the animal-to-animal noise of bout durations, so a
test on it can have more power than the usage test (``benchmarks/notes/power.md``). It answers a different
question ("more bouts?" rather than "more time?"): a change of bout duration alone moves usage and not the rate.

- ``entry_rates``: per animal and motif, bouts summed over sessions divided by minutes summed over sessions
  (sessions of different length weighted by their length, as a pooled rate should be);
- ``rate_test``: per motif, Welch's t-test on the animals' log rates (default) or Mann-Whitney on the rates,
  with the rate ratio (ratio of geometric means) and its Welch confidence interval, BH q-values over motifs.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from behavnb.errors import ParameterError
from behavnb.stats.effects import cliffs_delta, hedges_g
from behavnb.stats.multitest import adjust
from behavnb.stats.nonparametric import mann_whitney

RATE_TESTS = ("welch-log", "mann-whitney")


def _session_minutes(table: pd.DataFrame) -> pd.Series:
    """Minutes recorded per session: a ``minutes`` column if the table has one, else bout_count / bout_rate of any
    motif with bouts (both are per session in ``animal_table``, the rate per labelled minute)."""
    if "minutes" in table:
        return table.groupby("session")["minutes"].first().astype(float)
    wide = table[table["metric"].isin(["bout_count", "bout_rate"])].pivot_table(
        index=["session", "motif"], columns="metric", values="value", aggfunc="first")
    if not {"bout_count", "bout_rate"} <= set(wide.columns):
        raise ParameterError("entry rates need the metrics 'bout_count' and 'bout_rate' of animal_table (or a "
                             "'minutes' column); the table has metrics "
                             f"{sorted(table['metric'].unique()) if 'metric' in table else []}.")
    ok = wide[(wide["bout_rate"] > 0) & (wide["bout_count"] > 0)]
    minutes = (ok["bout_count"] / ok["bout_rate"]).groupby(level="session").median()
    missing = sorted(set(wide.index.get_level_values("session")) - set(minutes.index))
    if missing:
        raise ParameterError(f"sessions {missing[:5]} have no bouts of any motif, so their length is unknown; add a "
                             f"'minutes' column to the table (minutes recorded per session).")
    return minutes


def entry_rates(table: pd.DataFrame, *, group_column: str = "group", offset: float = 0.5) -> pd.DataFrame:
    """Per animal and motif: bouts, minutes and the pooled entry rate (bouts per minute) over its sessions.

    Parameters
    ----------
    table
        Per-session rows of ``animal_table`` (session, subject, group, motif, metric, value) with the metrics
        ``bout_count`` and ``bout_rate``; a ``minutes`` column (minutes per session) is used when present.
    group_column
        The grouping column.
    offset
        Bouts added before the log (``log_rate = log((bouts + offset) / minutes)``), so that an animal that never
        entered a motif keeps a finite log rate; 0.5 is negligible next to the tens of bouts of a typical motif.

    Returns
    -------
    pandas.DataFrame
        subject, group, [level,] motif, bouts, minutes, rate (per min), log_rate.

    Raises
    ------
    ParameterError
        A missing grouping column or metric, a negative offset, or sessions whose length cannot be known.
    """
    if group_column not in table:
        raise ParameterError(f"grouping column {group_column!r} is not in the table; it has {list(table.columns)}.")
    if not np.isfinite(offset) or offset < 0:
        raise ParameterError(f"offset must be a finite number >= 0 (bouts added before the log), not {offset!r}.")
    minutes = _session_minutes(table)
    counts = table[table["metric"] == "bout_count"]
    keys = [c for c in ("level",) if c in counts] + ["motif"]
    c = counts.assign(minutes=counts["session"].map(minutes).to_numpy(float), bouts=counts["value"].astype(float))
    per = c.groupby(["subject", group_column, *keys], sort=True, observed=True)[["bouts", "minutes"]].sum().reset_index()
    per = per.rename(columns={group_column: "group"}) if group_column != "group" else per
    per["rate"] = per["bouts"] / per["minutes"]
    per["log_rate"] = np.log((per["bouts"] + offset) / per["minutes"])
    return per


def rate_test(table: pd.DataFrame, *, group_column: str = "group", groups: Sequence[str] | None = None,
              test: str = "welch-log", offset: float = 0.5, level: float = 0.95, fdr: str = "bh") -> pd.DataFrame:
    """Per motif: do two groups enter it at different rates? The animal is the unit (rates pooled over its sessions).

    Parameters
    ----------
    table
        Per-session rows of ``animal_table`` (see ``entry_rates``).
    group_column, groups
        The grouping column and the two groups to compare, reference first (default: sorted names).
    test
        "welch-log" (Welch's t-test on log rates; the default) or "mann-whitney" (on the rates).
    offset
        Bouts added before the log (``entry_rates``).
    level
        Confidence level of the rate ratio's interval (Welch t interval of the log ratio).
    fdr
        "bh" or "by": q-values over the motifs (and levels) of the call.

    Returns
    -------
    pandas.DataFrame
        [level,] motif, metric ("entry_rate"), n_<group>, mean_<group> (mean of the animals' rates, per min),
        rate_<group> (their geometric mean), test, statistic, p, effect_name ("log2_rate_ratio"), effect, ci_low,
        ci_high (log2 rate ratio, other / reference), rate_ratio, hedges_g and cliffs_delta (of the log rates), q:
        every column of ``compare.RESULT_COLUMNS``, so ``compare`` can return it as it is.

    Raises
    ------
    ParameterError
        An unknown test, not exactly two groups, or a group with fewer than 2 animals.
    """
    from scipy import stats as st

    if test not in RATE_TESTS:
        raise ParameterError(f"test must be one of {list(RATE_TESTS)}, not {test!r}.")
    if not 0 < level < 1:
        raise ParameterError(f"level must be between 0 and 1, not {level!r}.")
    per = entry_rates(table, group_column=group_column, offset=offset)
    names = [str(g) for g in groups] if groups is not None else sorted(per["group"].astype(str).unique())
    if len(names) != 2:
        raise ParameterError(f"rate_test compares two groups; got {names}. Pass groups=[reference, other].")
    n_per = per.groupby(per["group"].astype(str))["subject"].nunique()
    small = {g: int(n_per.get(g, 0)) for g in names if n_per.get(g, 0) < 2}
    if small:
        raise ParameterError("group(s) with fewer than 2 animals: " + ", ".join(f"{g!r} (n = {v})" for g, v in small.items())
                             + ". Add animals or merge groups.")
    keys = [c for c in ("level",) if c in per] + ["motif"]
    rows = []
    for key, g in per.groupby(keys, sort=True):
        a = g.loc[g["group"].astype(str) == names[0], "log_rate"].to_numpy(float)
        b = g.loc[g["group"].astype(str) == names[1], "log_rate"].to_numpy(float)
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True), metric="entry_rate")
        for name, x in zip(names, (a, b), strict=True):
            row.update({f"n_{name}": len(x), f"mean_{name}": float(np.exp(x).mean()), f"rate_{name}": float(np.exp(x.mean()))})
        diff = b.mean() - a.mean()
        va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
        se = np.sqrt(va + vb)
        if se > 0:
            df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
            half = st.t.ppf(0.5 + level / 2, df) * se
        else:  # every animal has the same rate: no spread to test against
            half = 0.0
        if test == "welch-log" and se == 0:  # e.g. a motif no animal entered: nothing to test
            stat, p, name = float("nan"), float("nan"), "not tested: every animal has the same rate"
        elif test == "welch-log":
            with warnings.catch_warnings():  # one group of identical rates (none entered it): still a valid test
                warnings.filterwarnings("ignore", "Precision loss", RuntimeWarning)
                res = st.ttest_ind(b, a, equal_var=False)
            stat, p, name = float(res.statistic), float(res.pvalue), "Welch t on log entry rate"
        else:
            stat, p = mann_whitney(np.exp(a), np.exp(b))
            name = "Mann-Whitney U on entry rate"
        row.update({"test": name, "statistic": stat, "p": p, "effect_name": "log2_rate_ratio",
                    "effect": float(diff / np.log(2)), "ci_low": float((diff - half) / np.log(2)),
                    "ci_high": float((diff + half) / np.log(2)), "rate_ratio": float(np.exp(diff)),
                    "hedges_g": hedges_g(a, b), "cliffs_delta": cliffs_delta(a, b)})
        rows.append(row)
    out = pd.DataFrame(rows)
    out["q"] = adjust(out["p"].to_numpy(float), fdr)
    return out
