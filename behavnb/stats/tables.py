"""Tidy per-animal tables for group statistics: one row per (animal, motif, metric), joined with metadata.

The first step of the stats room of the flow (... codes/segment -> hierarchy -> **stats** -> ...): the tests
read these tables.

The unit of analysis is the *subject* (the animal): sessions of one subject are first summarised per
session, then averaged per subject (``per_subject``), so that repeated sessions never count as independent
animals. Mixed models use the per-session rows with a random intercept per subject instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from behavnb.codes import usage
from behavnb.errors import ParameterError
from behavnb.hierarchy.transitions import animal_summary, probabilities
from behavnb.segment.tables import bout_stats, bouts, fps_of
from behavnb.segment.views import motif_features

META = ("subject", "group", "sex", "cohort")
METRICS = ("usage", "bout_count", "bout_rate", "mean_bout_s")


def check_design(labels: pd.DataFrame, sessions: pd.DataFrame, group_column: str = "group",
                 min_animals: int = 2) -> pd.DataFrame:
    """The sessions table rows of the labelled sessions, checked: every labelled session has metadata, the
    grouping column exists and every group has at least ``min_animals`` subjects. Unbalanced designs are fine."""
    if "session" not in sessions:
        raise ParameterError("the sessions table has no 'session' column.")
    if group_column not in sessions:
        raise ParameterError(f"grouping column {group_column!r} is not in the sessions table; it has "
                             f"{list(sessions.columns)}.")
    meta = sessions.assign(session=sessions["session"].astype(str)).drop_duplicates("session").set_index("session")
    # unique() before anything iterates: an arrow-backed string column walked row by row costs seconds per million frames
    labelled = sorted(labels["session"].astype(str).unique())
    missing = [s for s in labelled if s not in meta.index]
    if missing:
        raise ParameterError(f"{len(missing)} labelled session(s) have no row in the sessions table: {missing[:10]}"
                             f"{' …' if len(missing) > 10 else ''}. Add them (with subject and {group_column}) or drop "
                             f"their labels.")
    meta = meta.loc[labelled]
    if meta[group_column].isna().any():
        raise ParameterError(f"sessions {list(meta.index[meta[group_column].isna()])[:10]} have no {group_column!r}.")
    subject = meta["subject"] if "subject" in meta else pd.Series(meta.index, index=meta.index)
    n = subject.groupby(meta[group_column].astype(str)).nunique()
    small = {g: int(v) for g, v in n.items() if v < min_animals}
    if small:
        raise ParameterError(f"group(s) with fewer than {min_animals} animals: "
                             + ", ".join(f"{g!r} (n = {v})" for g, v in small.items())
                             + ". Statistics need at least two animals per group; merge or drop them.")
    return meta.reset_index()


def motif_set(labels: pd.DataFrame, n_motifs: int | None = None, *, motifs: Sequence[int] | None = None,
              column: str = "motif") -> np.ndarray:
    """The motif ids that the statistics tables list, one row each (zeros where a session never uses one).

    Never the largest label + 1: labels numbered 1..K would gain an empty motif 0 whose p = 1 tests would join the
    FDR family. In order: ``motifs`` (the ids), ``n_motifs`` (ids 0 .. n_motifs - 1), the labels' stored metadata
    (``labels.attrs["motifs"]`` or ``labels.attrs["n_motifs"]``), else every label value used anywhere in the study.

    Parameters
    ----------
    labels
        Per-frame labels (``column``; NA or negative = unlabelled).
    n_motifs, motifs
        The declared label set, if known (``motifs`` wins over ``n_motifs``).
    column
        The label column.

    Returns
    -------
    numpy.ndarray
        Sorted unique motif ids (int64).

    Raises
    ------
    ParameterError
        Declared ids that are negative or repeated, or labels that use an id outside the declared set.
    """
    declared = motifs if motifs is not None else (range(int(n_motifs)) if n_motifs is not None else None)
    if declared is None and column == "motif":  # a segmentation's metadata describes its motif column only
        declared = labels.attrs.get("motifs")
        if declared is None and labels.attrs.get("n_motifs") is not None:
            declared = range(int(labels.attrs["n_motifs"]))
    used = pd.to_numeric(labels[column], errors="coerce").dropna().to_numpy()
    used = np.unique(used[used >= 0].astype(np.int64))
    if declared is None:
        return used
    ids = np.asarray(list(declared), dtype=np.int64)
    if (ids < 0).any() or len(np.unique(ids)) != len(ids):
        raise ParameterError(f"motif ids must be distinct and >= 0; got {[int(i) for i in ids[:20]]}.")
    extra = np.setdiff1d(used, ids)
    if len(extra):
        how = f"motifs={[int(i) for i in ids[:10]]}{' …' if len(ids) > 10 else ''}" if motifs is not None else \
            f"n_motifs={len(ids)} (ids 0..{len(ids) - 1})" if n_motifs is not None else "the labels' stored metadata"
        raise ParameterError(f"the labels use motif id(s) {[int(i) for i in extra[:10]]} outside {how}. Pass motifs=[...] with "
                             f"every id (e.g. motifs=range(1, 26) for ids 1..25), or leave n_motifs and motifs at None "
                             f"to use the ids present in the labels.")
    return np.sort(ids)


def session_metrics(labels: pd.DataFrame, n_motifs: int | None = None, *, fps: float | None = None,
                    column: str = "motif", bin_s: float | None = None, motifs: Sequence[int] | None = None
                    ) -> pd.DataFrame:
    """Per session, animal (and time bin) and motif: usage, bout_count, bout_rate (per min), mean_bout_s.

    Parameters
    ----------
    labels : DataFrame
        The labels table.
    n_motifs : int, optional
        k (motifs 0 .. k-1); see ``motif_set``.
    fps : float, optional
        Frame rate; None: from the labels' ``time`` column.
    column : str
        The label column.
    bin_s : float, optional
        Cut each session into bins of that many seconds (bouts belong to the bin of their start).
    motifs : sequence of int, optional
        The motif ids, when not 0 .. k-1.

    Returns
    -------
    DataFrame
        Long format: session, individual[, time_bin], motif, metric, value. The motifs listed are ``motif_set``'s
        (``motifs``, ``n_motifs``, stored metadata or the ids used across the study; never max + 1).
    """
    fps = float(fps) if fps else fps_of(labels)
    ids = motif_set(labels, n_motifs, motifs=motifs, column=column)
    raw = pd.to_numeric(labels[column], errors="coerce").fillna(-1).to_numpy().astype(np.int64)
    code = np.where(raw >= 0, np.searchsorted(ids, np.maximum(raw, 0)), -1)  # ids -> 0..k-1, -1 = unlabelled
    lab = labels.assign(motif=code)
    k = len(ids)
    if bin_s:
        b = np.floor(lab["frame"].to_numpy() / (bin_s * fps)).astype(int)
        lab = lab.assign(time_bin=b, session=lab["session"].astype(str) + "\x1f" + b.astype(str))
    u = usage(lab, k).rename(columns={"fraction": "usage"})
    bt = bouts(lab, fps)
    st = bout_stats(bt, lab, k, fps).rename(columns={"n_bouts": "bout_count", "bouts_per_min": "bout_rate",
                                                      "mean_duration_s": "mean_bout_s"})
    wide = u.merge(st, on=["session", "individual", "motif"], how="left")
    long = wide.melt(id_vars=["session", "individual", "motif"], value_vars=list(METRICS), var_name="metric")
    long["motif"] = ids[long["motif"].to_numpy().astype(np.int64)] if k else long["motif"]
    if bin_s:
        parts = long["session"].str.split("\x1f", expand=True)
        long["session"], long["time_bin"] = parts[0], parts[1].astype(int)
    return long


def animal_table(labels: pd.DataFrame, sessions: pd.DataFrame, n_motifs: int | None = None, *,
                 group_column: str = "group", fps: float | None = None, column: str = "motif",
                 bin_s: float | None = None, level: str = "motif", motifs: Sequence[int] | None = None) -> pd.DataFrame:
    """Per-session metrics (``session_metrics``) joined with the sessions' metadata.

    A description, so any group size is accepted (a pilot with one animal per group, a single group); the
    tests (``compare``, ...) are the ones that need two or more animals per group.

    Parameters
    ----------
    labels : DataFrame
        The labels table (``segment.read_segmentation(folder).labels``).
    sessions : DataFrame
        The sessions table (session, subject, group[, sex, cohort]).
    n_motifs : int, optional
        k (motifs 0 .. k-1).
    group_column : str
        The sessions-table column that defines the groups.
    fps : float, optional
        Frame rate (the segmentation's); None: from the labels' ``time`` column.
    column : str
        The label column.
    bin_s : float, optional
        Time bins of that many seconds.
    level : str
        What ``motif`` counts: motif, community, type.
    motifs : sequence of int, optional
        The motif ids, when not 0 .. k-1.

    Returns
    -------
    DataFrame
        session, subject, group[, sex, cohort], individual[, time_bin], level, motif, metric, value. The motifs are
        ``motif_set``'s: ``motifs`` (ids), ``n_motifs`` (0 .. n - 1), the labels' stored metadata, else the ids used
        anywhere in the study (labels numbered 1..25 give 25 motifs, not 26).

    Raises
    ------
    ParameterError
        Labelled sessions missing from the sessions table, or no grouping column.
    """
    meta = check_design(labels, sessions, group_column, min_animals=1)  # descriptive: any group size
    long = session_metrics(labels, n_motifs, fps=fps, column=column, bin_s=bin_s, motifs=motifs)
    keep = ["session"] + [c for c in (*META, group_column) if c in meta and c != "session"]
    keep = list(dict.fromkeys(keep))
    out = long.merge(meta[keep].astype({"session": str}), on="session", how="left")
    if "subject" not in out:
        out["subject"] = out["session"]
    out["subject"] = out["subject"].astype(str) + np.where(out["individual"].nunique() > 1,
                                                           "/" + out["individual"].astype(str), "")
    out["level"] = level
    return out


def per_subject(table: pd.DataFrame, by: Sequence[str] = ("metric", "motif")) -> pd.DataFrame:
    """Average the sessions of each subject (the animal as the unit): one value per subject, group and ``by``.

    Parameters
    ----------
    table : DataFrame
        Per-session rows with ``subject`` and ``value`` columns (``animal_table``); ``level`` and ``time_bin``
        are kept apart when present, metadata columns (group, sex, cohort) are carried along.
    by : sequence of str
        The columns kept apart besides the subject.

    Returns
    -------
    DataFrame
        One row per (``level``, ``by``, ``time_bin``, subject) with its metadata and the mean ``value``.
    """
    keys = [c for c in ("level", *by, "time_bin") if c in table] + ["subject"]
    meta = [c for c in table.columns if c in (*META, "group") and c not in keys]
    agg = table.groupby(keys + meta, dropna=False, sort=True)["value"].mean()
    return agg.reset_index()


def kinematics_table(features, labels: pd.DataFrame, sessions: pd.DataFrame,
                     names: Sequence[str] = ("speed", "body_length", "head_angle"), *,
                     group_column: str = "group") -> pd.DataFrame:
    """Mean kinematic features (03) per session, animal and motif, in the long format of ``animal_table``.

    So that "KO walk more slowly *within* walking" is one more row to test.

    Parameters
    ----------
    features : mapping
        ``{session: features}`` (03).
    labels : DataFrame
        The labels table.
    sessions : DataFrame
        The sessions table.
    names : sequence of str
        The features to average.
    group_column : str
        The sessions-table column that defines the groups.

    Returns
    -------
    DataFrame
        As ``animal_table``'s, metric = ``<feature>_mean``.
    """
    meta = check_design(labels, sessions, group_column, min_animals=1)  # descriptive: any group size
    ft = motif_features(features, labels, names, max_frames=10**9)
    cols = [c for c in names if c in ft]
    long = (ft.groupby(["session", "individual", "motif"])[cols].mean().reset_index()
            .melt(id_vars=["session", "individual", "motif"], value_vars=cols, var_name="metric"))
    long["metric"] = long["metric"] + "_mean"
    return _join(long, meta, group_column, "motif")


def transition_table(counts, sessions: pd.DataFrame, *, group_column: str = "group") -> pd.DataFrame:
    """Per-session transition probabilities and entropy rate in the long format of ``animal_table``.

    Parameters
    ----------
    counts : xarray.DataArray
        ``hierarchy.transition_counts``.
    sessions : DataFrame
        The sessions table.
    group_column : str
        The sessions-table column that defines the groups.

    Returns
    -------
    DataFrame
        Transition probabilities (metric ``P(->to)``, motif = from) and the entropy rate (metric ``entropy_rate``,
        motif -1).
    """
    p = probabilities(counts)
    rows = []
    for i, rec in enumerate(counts["recording"].values):
        s, ind = str(counts["session"].values[i]), str(counts["individual"].values[i])
        m = p.values[i]
        seen = counts.values[i].sum(axis=1) > 0
        for a in np.flatnonzero(seen):
            for b in range(m.shape[1]):
                rows.append((s, ind, int(a), f"P(->{b})", float(m[a, b])))
    long = pd.DataFrame(rows, columns=["session", "individual", "motif", "metric", "value"])
    ent = animal_summary(counts)[["session", "individual", "entropy_rate"]].rename(columns={"entropy_rate": "value"})
    long = pd.concat([long, ent.assign(motif=-1, metric="entropy_rate")], ignore_index=True)
    labels_like = long[["session"]].drop_duplicates().assign(individual="", frame=0, motif=0)
    meta = check_design(labels_like, sessions, group_column, min_animals=1)
    return _join(long, meta, group_column, "transition")


def _join(long: pd.DataFrame, meta: pd.DataFrame, group_column: str, level: str) -> pd.DataFrame:
    keep = list(dict.fromkeys(["session"] + [c for c in (*META, group_column) if c in meta and c != "session"]))
    out = long.merge(meta[keep].astype({"session": str}), on="session", how="left")
    if "subject" not in out:
        out["subject"] = out["session"]
    out["level"] = level
    return out
