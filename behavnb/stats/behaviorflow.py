"""BehaviorFlow's cluster statistics (von Ziegler et al. 2023), as one function, because labs use it.

The recipe, reimplemented from its description: smooth each session's labels with a majority vote over a
window of +-``window`` frames (a tie goes to the label seen first in the session; missing labels do not
vote), then per cluster count its frames (``nframes``) and its bouts (``count``: the number of times the
"is this cluster" indicator changes, halved and rounded up), compare the two groups with Welch's t-test
per metric, and correct over all metrics with Benjamini-Yekutieli FDR.

Note that this treats every *session* as independent and uses t-tests on counts; ``stats.compare`` is the
subject-aware default. Use this to reproduce BehaviorFlow results or to compare with them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from behavnb.errors import ParameterError


def smooth_labels(y: np.ndarray, window: int = 5) -> np.ndarray:
    """Majority vote over frames t-window .. t+window; -1 = missing, which does not vote.

    A tie goes to the label that appears first in the *session* (the order of R's factor levels), which
    is what reproduces BehaviorFlow's published numbers exactly.
    """
    y = np.asarray(y, dtype=np.int64)
    n = len(y)
    valid = y >= 0
    if n == 0 or not valid.any():
        return y.copy()
    labels, first_seen = np.unique(y[valid], return_index=True)
    idx = np.searchsorted(labels, np.where(valid, y, labels[0]))
    onehot = np.zeros((n, len(labels)), np.int32)
    onehot[np.flatnonzero(valid), idx[valid]] = 1
    cum = np.vstack([np.zeros((1, len(labels)), np.int64), np.cumsum(onehot, axis=0)])
    t = np.arange(n)
    votes = cum[np.clip(t + window + 1, 0, n)] - cum[np.clip(t - window, 0, n)]
    rank = np.argsort(np.argsort(first_seen))             # 0 = the label seen first in the session
    score = votes * (len(labels) + 1) - rank[None, :]
    best = labels[np.argmax(score, axis=1)]
    return np.where(votes.max(axis=1) > 0, best, -1)


def cluster_metrics(labels: pd.DataFrame, *, window: int = 5, column: str = "motif", clusters=None) -> pd.DataFrame:
    """Per session: ``<cluster>.nframes`` and ``<cluster>.count`` for every cluster (wide, one row per session)."""
    rows = {}
    all_clusters = sorted(int(c) for c in (clusters if clusters is not None else
                                            pd.unique(labels[column].dropna())) if int(c) >= 0)
    for s, g in labels.sort_values(["session", "frame"]).groupby("session", sort=False):
        y = g[column].astype("float").fillna(-1).to_numpy().astype(np.int64)
        sm = smooth_labels(y, window)
        row = {}
        for c in all_clusters:
            ind = (sm == c).astype(np.int8)
            row[f"{c}.nframes"] = int(ind.sum())
            row[f"{c}.count"] = int(np.ceil(np.count_nonzero(np.diff(ind)) / 2))
        rows[s] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("session")


def behaviorflow_test(labels: pd.DataFrame, group_column: str = "group", groups: tuple[str, str] | None = None, *,
                      window: int = 5, column: str = "motif", fdr: str = "by") -> pd.DataFrame:
    """BehaviorFlow's analysis: smoothed per-cluster frame and bout counts per session, Welch t-test between two
    groups, FDR (Benjamini-Yekutieli by default) over all metrics. Columns: metric, cluster, kind, mean per
    group, t, p, fdr; sorted by p."""
    from scipy.stats import ttest_ind

    from behavnb.stats.multitest import adjust

    if group_column not in labels:
        raise ParameterError(f"the labels have no {group_column!r} column: join the sessions table's groups first.")
    per_session = labels.groupby("session")[group_column].first()
    names = groups or tuple(sorted(per_session.dropna().unique()))
    if len(names) != 2:
        raise ParameterError(f"BehaviorFlow's test compares exactly two groups; {group_column!r} has {list(names)}. "
                             f"Pass groups=(a, b).")
    metrics = cluster_metrics(labels, window=window, column=column)
    g = per_session.reindex(metrics.index)
    a, b = metrics[g == names[0]], metrics[g == names[1]]
    for name, part in zip(names, (a, b)):
        if len(part) < 2:
            raise ParameterError(f"group {name!r} has {len(part)} session(s); a t-test needs at least 2 per group.")
    t, p = ttest_ind(a.to_numpy(float), b.to_numpy(float), equal_var=False, axis=0)
    out = pd.DataFrame({"metric": metrics.columns, f"mean_{names[0]}": a.mean().to_numpy(),
                        f"mean_{names[1]}": b.mean().to_numpy(), "t": t, "p": p})
    out["cluster"] = out["metric"].str.split(".").str[0].astype(int)
    out["kind"] = out["metric"].str.split(".").str[1]
    out["fdr"] = adjust(out["p"].to_numpy(), fdr)
    out.attrs.update({"test": "Welch t-test per metric, sessions as units", "fdr": fdr, "window": window,
                      "n": {names[0]: len(a), names[1]: len(b)}})
    return out.sort_values("p").reset_index(drop=True)
