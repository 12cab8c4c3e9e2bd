"""BehaviorFlow's cluster statistics (von Ziegler et al. 2023), as one function, because labs use it.

Part of the stats room of the flow (... codes/segment -> hierarchy -> **stats** -> evaluate/health/demos ...),
beside the subject-aware default ``compare``.

The recipe: smooth each session's labels with a majority vote over a window of +-``window`` frames, then per
cluster count its frames (``nframes``) and its bouts (``count``), compare the two groups with Welch's t-test per
metric, and correct over all metrics with Benjamini-Yekutieli FDR.

Two modes (``mode``), which differ only in how a few metrics are counted:

- ``"r"``: BehaviorFlow's R code exactly (``SmoothLabels_US(integration_period = 5)``, ``CalculateMetrics``,
  ``TwoGroupAnalysis``), reimplemented from reading it (it is GPL; no code copied). Smoothing: a tie goes to the
  label seen first in the session, missing frames do not vote, and a window without any label gets the first
  value of the session (missing, when the session starts with missing frames). Counting: missing frames are
  dropped first (``na.omit``), then ``count`` = ceil(number of changes of the "is this cluster" indicator / 2),
  which is one bout short when a cluster both starts and ends the session. A cluster absent from a session has
  no value (NA); ``TwoGroupAnalysis`` sets those to 0 (``imputeTS::na_replace(fill = 0)``) before ``t.test``
  (``absent="zero"``, the default); ``absent="na"`` instead leaves them out of the t-test, as ``t.test`` on
  BehaviorFlow's ``US$Report`` table directly would. Only clusters seen in at least one smoothed session are tested.
  Checked against R 4.2 running BehaviorFlow's own functions on the CSI data: all 50 p-values to ~1e-12
  (``tests/data/behaviorflow_r_csi_pvalues.csv``).
- ``"behavnb"`` (default): the same smoothing, but a window without any label stays missing; ``count`` is the
  number of runs of the cluster (a missing frame ends a run), so no bout is lost at the ends of the session and
  a bout after leading missing frames is counted; a cluster absent from a session is a true 0 (0 frames,
  0 bouts); the clusters are the declared label set (``clusters``) or every label value seen in the study.
  On the CSI data it differs from R on 2 of 50 metrics (``14.count``, ``20.count``: sessions that start and end
  in that cluster).

Note that this treats every *session* as independent and uses t-tests on counts; ``stats.compare`` is the
subject-aware default. Use this to reproduce BehaviorFlow results or to compare with them.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from behavnb.errors import DataWarning, ParameterError
from behavnb.stats.multitest import adjust

MODES = ("behavnb", "r")


def smooth_labels(y: np.ndarray, window: int = 5, *, mode: str = "behavnb") -> np.ndarray:
    """Majority vote over frames t-window .. t+window; -1 = missing, which does not vote.

    A tie goes to the label that appears first in the *session* (the order of R's ``unique``), which is what
    reproduces BehaviorFlow's numbers. A window without any label: missing (``mode="behavnb"``), or, as R's
    ``which.max`` on a row of zeros, the first value of the session, missing included (``mode="r"``).

    Parameters
    ----------
    y
        One session's labels (integers, -1 for missing).
    window
        Half-width of the window in frames (BehaviorFlow's ``integration_period``).
    mode
        ``"behavnb"`` or ``"r"`` (see above).

    Returns
    -------
    numpy.ndarray
        The smoothed labels, same length.

    Raises
    ------
    ParameterError
        An unknown mode.
    """
    if mode not in MODES:
        raise ParameterError(f"mode must be one of {list(MODES)}, not {mode!r}.")
    y = np.asarray(y, dtype=np.int64)
    n = len(y)
    valid = y >= 0
    if n == 0 or not valid.any():
        return y.copy()
    labels, first_seen = np.unique(y[valid], return_index=True)
    first_seen = np.flatnonzero(valid)[first_seen]              # position in the session
    idx = np.searchsorted(labels, np.where(valid, y, labels[0]))
    onehot = np.zeros((n, len(labels)), np.int32)
    onehot[np.flatnonzero(valid), idx[valid]] = 1
    cum = np.vstack([np.zeros((1, len(labels)), np.int64), np.cumsum(onehot, axis=0)])
    t = np.arange(n)
    votes = cum[np.clip(t + window + 1, 0, n)] - cum[np.clip(t - window, 0, n)]
    rank = np.argsort(np.argsort(first_seen))             # 0 = the label seen first in the session
    score = votes * (len(labels) + 1) - rank[None, :]
    best = labels[np.argmax(score, axis=1)]
    empty = y[0] if mode == "r" else -1                   # R: types[which.max(all zeros)] = the first value
    return np.where(votes.max(axis=1) > 0, best, empty)


def _session_arrays(labels: pd.DataFrame, column: str):
    lab = labels.sort_values(["session", "frame"], kind="stable")
    y = lab[column].astype("float").fillna(-1).to_numpy().astype(np.int64)
    s = lab["session"].to_numpy()
    cut = np.flatnonzero(s[1:] != s[:-1]) + 1
    return list(zip(s[np.r_[0, cut]], np.split(y, cut), strict=True))


def cluster_metrics(labels: pd.DataFrame, *, window: int = 5, column: str = "motif", clusters=None,
                    mode: str = "behavnb") -> pd.DataFrame:
    """Per session: ``<cluster>.nframes`` and ``<cluster>.count`` for every cluster (wide, one row per session).

    Parameters
    ----------
    labels
        Per-frame labels with ``session``, ``frame`` and ``column`` (NA or negative = missing).
    window, column
        Smoothing half-width; the label column.
    clusters
        The cluster ids to report. None: every label value seen in the study (``"behavnb"``), or every cluster
        seen after smoothing in at least one session (``"r"``, as BehaviorFlow's report).
    mode
        ``"behavnb"`` (absent cluster = 0, bouts = runs) or ``"r"`` (absent cluster = NaN, R's count); module doc.

    Returns
    -------
    pandas.DataFrame
        Indexed by session, columns ``<c>.nframes``, ``<c>.count`` in cluster order.

    Raises
    ------
    ParameterError
        An unknown mode, or labels without ``session``/``frame``/``column``.
    """
    if mode not in MODES:
        raise ParameterError(f"mode must be one of {list(MODES)}, not {mode!r}.")
    missing = [c for c in ("session", "frame", column) if c not in labels]
    if missing:
        raise ParameterError(f"the labels have no column(s) {missing}; pass column= for the label column "
                             f"(it has {list(labels.columns)}).")
    per_session = []
    for s, y in _session_arrays(labels, column):
        sm = smooth_labels(y, window, mode=mode)
        if mode == "r":
            sm = sm[sm >= 0]                               # na.omit
        present = np.unique(sm[sm >= 0])
        per_session.append((s, sm, present))
    if clusters is None:
        seen = (np.unique(np.concatenate([p for _, _, p in per_session])) if mode == "r" else
                np.unique(labels[column].dropna().to_numpy().astype(np.int64)))
        clusters = seen[seen >= 0]
    clusters = np.array(sorted(int(c) for c in clusters), dtype=np.int64)
    rows = {}
    for s, sm, present in per_session:
        ind = (sm[:, None] == clusters[None, :]).astype(np.int8)          # frames x clusters
        nframes = ind.sum(axis=0).astype(float)
        if mode == "r":
            changes = np.count_nonzero(np.diff(ind, axis=0), axis=0) if len(ind) > 1 else np.zeros(len(clusters))
            count = np.ceil(changes / 2)
            absent = ~np.isin(clusters, present)
            nframes[absent], count = np.nan, np.where(absent, np.nan, count)
        else:
            count = (ind[:1].sum(axis=0) + np.count_nonzero((ind[1:] == 1) & (ind[:-1] == 0), axis=0)).astype(float)
        row = {}
        for c, nf, ct in zip(clusters, nframes, count, strict=True):
            row[f"{c}.nframes"], row[f"{c}.count"] = nf, ct
        rows[s] = row
    cols = [f"{c}.{k}" for c in clusters for k in ("nframes", "count")]
    return pd.DataFrame.from_dict(rows, orient="index").reindex(columns=cols).rename_axis("session")


def _welch(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Column-wise Welch t-test ignoring NaN (R's ``t.test`` on vectors with NA): t, p, n_a, n_b."""
    from scipy.stats import t as tdist

    na, nb = np.isfinite(a).sum(axis=0), np.isfinite(b).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ma, mb = np.nanmean(a, axis=0), np.nanmean(b, axis=0)
        va = np.nansum((a - ma) ** 2, axis=0) / (na - 1)
        vb = np.nansum((b - mb) ** 2, axis=0) / (nb - 1)
        se2 = va / na + vb / nb
        t = (ma - mb) / np.sqrt(se2)
        df = se2**2 / ((va / na) ** 2 / (na - 1) + (vb / nb) ** 2 / (nb - 1))
        p = 2 * tdist.sf(np.abs(t), df)
    bad = (na < 2) | (nb < 2) | ~(se2 > 0)
    return np.where(bad, np.nan, t), np.where(bad, np.nan, p), na, nb


def behaviorflow_test(labels: pd.DataFrame, group_column: str = "group", groups: tuple[str, str] | None = None, *,
                      window: int = 5, column: str = "motif", fdr: str = "by", mode: str = "behavnb",
                      absent: str | None = None, clusters=None) -> pd.DataFrame:
    """BehaviorFlow's analysis: smoothed per-cluster frame and bout counts per session, Welch t-test between two
    groups, FDR (Benjamini-Yekutieli by default) over all metrics.

    Parameters
    ----------
    labels
        Per-frame labels with ``session``, ``frame``, ``column`` and ``group_column``.
    group_column, groups
        The grouping column and the two groups (default: the two groups in sorted order; the sign of ``t`` is
        groups[0] - groups[1], as R's ``t.test(a, b)``).
    window, column, fdr
        Smoothing half-width, the label column, the correction (``stats.adjust``).
    mode
        ``"behavnb"`` (default) or ``"r"``: BehaviorFlow's R code exactly (module doc).
    absent
        For ``mode="r"``: ``"zero"`` (default, as ``TwoGroupAnalysis``) or ``"na"`` (a cluster absent from a
        session leaves that session out of the metric's t-test). ``mode="behavnb"`` counts absence as 0.
    clusters
        The cluster ids to test (default: see ``cluster_metrics``).

    Returns
    -------
    pandas.DataFrame
        One row per metric, sorted by p: metric, mean and n per group, t, p, cluster, kind, fdr. Metrics that cannot
        be tested (a group with fewer than 2 values, no variance) have NaN t and p and stay out of the FDR family;
        R's ``t.test`` stops with an error there instead.

    Raises
    ------
    ParameterError
        A missing grouping column, not exactly two groups, a group with fewer than 2 sessions, an unknown mode or
        ``absent``.
    """
    if absent is None:
        absent = "zero"
    if absent not in ("zero", "na"):
        raise ParameterError(f"absent must be 'zero' or 'na', not {absent!r}.")
    if absent == "na" and mode != "r":
        raise ParameterError("absent='na' is BehaviorFlow's report table as it stands; use it with mode='r' "
                             "(mode='behavnb' counts a cluster absent from a session as 0 frames and 0 bouts).")
    if group_column not in labels:
        raise ParameterError(f"the labels have no {group_column!r} column: join the sessions table's groups first.")
    per_session = labels.groupby("session")[group_column].first()
    names = tuple(groups) if groups is not None else tuple(sorted(per_session.dropna().astype(str).unique()))
    if len(names) != 2:
        raise ParameterError(f"BehaviorFlow's test compares exactly two groups; {group_column!r} has {list(names)}. "
                             f"Pass groups=(a, b).")
    metrics = cluster_metrics(labels, window=window, column=column, clusters=clusters, mode=mode)
    if mode == "r" and absent == "zero":
        metrics = metrics.fillna(0.0)                      # imputeTS::na_replace(fill = 0) in TwoGroupAnalysis
    g = per_session.astype(str).reindex(metrics.index)
    a, b = metrics[g == names[0]], metrics[g == names[1]]
    for name, part in zip(names, (a, b), strict=True):
        if len(part) < 2:
            raise ParameterError(f"group {name!r} has {len(part)} session(s) in {group_column!r}; a t-test needs at "
                                 f"least 2 per group (groups: {sorted(per_session.dropna().astype(str).unique())}).")
    t, p, n_a, n_b = _welch(a.to_numpy(float), b.to_numpy(float))
    untestable = [m for m, v in zip(metrics.columns, p, strict=True) if not np.isfinite(v)]
    if untestable:
        warnings.warn(f"BehaviorFlow test: {len(untestable)} of {len(p)} metrics cannot be tested (fewer than 2 "
                      f"values in a group, or no variance): {untestable[:8]}{' …' if len(untestable) > 8 else ''}; "
                      f"their p is NaN and they are not in the FDR family.", DataWarning, stacklevel=2)
    out = pd.DataFrame({"metric": metrics.columns, f"mean_{names[0]}": a.mean().to_numpy(),
                        f"mean_{names[1]}": b.mean().to_numpy(), f"n_{names[0]}": n_a, f"n_{names[1]}": n_b,
                        "t": t, "p": p})
    out["cluster"] = out["metric"].str.split(".").str[0].astype(int)
    out["kind"] = out["metric"].str.split(".").str[1]
    out["fdr"] = adjust(out["p"].to_numpy(), fdr)
    out.attrs.update({"test": "Welch t-test per metric, sessions as units", "fdr": fdr, "window": window,
                      "mode": mode, "absent": absent if mode == "r" else "zero",
                      "n": {names[0]: len(a), names[1]: len(b)}})
    return out.sort_values("p", kind="stable").reset_index(drop=True)
