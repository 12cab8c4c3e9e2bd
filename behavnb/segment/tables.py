"""Tables derived from the labels table: bouts, bout statistics, onsets, the wide usage matrix.

Part of the segment room of the flow (... embed -> codes/**segment** -> hierarchy -> stats ...): ``hierarchy``
and ``stats`` count bouts and transitions from these tables.

The labels table has one row per frame: (session, individual, frame, time, motif); motif -1 marks a
frame without a label. Everything here is vectorised over the whole table (no per-session loops). Usage
itself is ``codes.usage``; the number of motifs comes from the caller or the labels' metadata
(``codes.motif_count``), never from the largest label.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from behavnb.codes import KEYS, check_labels, motif_count
from behavnb.errors import ParameterError


def recording_arrays(labels: pd.DataFrame, column: str = "motif"):
    """``(rec, frame, motif, keys)``: the rows in recording then frame order, ``rec`` numbering the recordings in
    sorted (session, individual) order and ``keys`` their (session, individual) names.

    Per-column factorize and numpy only (a MultiIndex over millions of rows is slow); a table that is already
    in that order (the usual case) is not sorted again.
    """
    need = set(KEYS) | {"frame", column}
    if not need <= set(labels.columns):
        raise ParameterError(f"not a labels table: missing {sorted(need - set(labels.columns))}.")
    (sc, sn), (ic, iname) = (pd.factorize(labels[c], sort=True, use_na_sentinel=False) for c in KEYS)
    n_ind = max(len(iname), 1)
    key = sc.astype(np.int64) * n_ind + ic
    f = labels["frame"].to_numpy()
    col = labels[column]
    m = (col.fillna(-1) if col.hasnans else col).to_numpy().astype(np.int64, copy=False)  # missing = -1
    dk, df = np.diff(key), np.diff(f)
    if not ((dk > 0) | ((dk == 0) & (df > 0))).all():
        order = np.lexsort((f, key))
        key, f, m = key[order], f[order], m[order]
    new = np.ones(len(key), bool)
    new[1:] = key[1:] != key[:-1]
    rec = np.cumsum(new) - 1
    firsts = key[new]
    keys = [(str(sn[s]), str(iname[i])) for s, i in zip(firsts // n_ind, firsts % n_ind, strict=True)]
    return rec, f, m, keys


def fps_of(labels: pd.DataFrame) -> float:
    """A labels table's frame rate: its segmentation metadata (``attrs["fps"]``), else from ``time`` and ``frame``.

    Parameters
    ----------
    labels : DataFrame
        A labels table; ``segment.read_segmentation`` sets ``attrs["fps"]`` (the rate 06 recorded).

    Returns
    -------
    float
        Frames per second (without metadata: the median over one recording, any row order).

    Raises
    ------
    ParameterError
        No metadata and no usable ``time`` column.
    """
    if labels.attrs.get("fps"):
        return float(labels.attrs["fps"])
    if "time" not in labels:
        raise ParameterError("the labels table has no time column: pass fps.")
    first = labels.iloc[0]
    sub = labels[labels["session"] == first["session"]]
    if "individual" in sub:
        sub = sub[sub["individual"] == first["individual"]]
    sub = sub.sort_values("frame").head(2000)
    df, dt = np.diff(sub["frame"].to_numpy()), np.diff(sub["time"].to_numpy().astype(float))
    rate = df[df > 0] / dt[df > 0]
    rate = rate[np.isfinite(rate) & (rate > 0)]
    if not len(rate):
        raise ParameterError("cannot infer the frame rate from the labels' time column: pass fps.")
    return float(np.median(rate))


def usage_matrix(usage_table: pd.DataFrame) -> pd.DataFrame:
    """``codes.usage``'s long table -> wide (rows session/individual, columns motif, values fraction)."""
    return usage_table.pivot_table(index=KEYS, columns="motif", values="fraction", fill_value=0.0)


def bouts(labels: pd.DataFrame, fps: float | None = None, column: str = "motif") -> pd.DataFrame:
    """Runs of one motif: session, individual, motif, start, end (last frame, inclusive), n_frames,
    start_s, duration_s, censored.

    A run ends where the motif changes, at a gap in the frame numbers, or at the end of the session;
    frames without a label (-1) end a run and are not bouts themselves. ``censored`` marks bouts cut
    by the start or end of the recording or by unlabelled frames: their true duration is unknown
    (longer than measured), so duration statistics may want to leave them out.

    Parameters
    ----------
    labels : DataFrame
        A labels table (session, individual, frame, time, ``column``), in any row order.
    fps : float, optional
        Frame rate; None: from the labels' ``time`` column.
    column : str
        The label column (``motif``, ``type``, ``community``, ...); the output names it ``motif``.

    Returns
    -------
    DataFrame
        One row per bout, in recording then frame order, with the columns above.

    Raises
    ------
    ParameterError
        Not a labels table (missing columns), or no ``fps`` and no usable ``time`` column.
    """
    fps = float(fps) if fps else fps_of(labels)
    rec, f, m, keys = recording_arrays(labels, column)
    new = np.ones(len(m), bool)
    new[1:] = (m[1:] != m[:-1]) | (rec[1:] != rec[:-1]) | (f[1:] != f[:-1] + 1)
    starts = np.flatnonzero(new)
    stops = np.append(starts[1:], len(m))
    before_ok = np.zeros(len(starts), bool)  # the run follows a labelled frame of the same recording
    before_ok[1:] = (rec[starts[1:] - 1] == rec[starts[1:]]) & (m[starts[1:] - 1] >= 0) & (f[starts[1:] - 1] == f[starts[1:]] - 1)
    after_ok = np.zeros(len(starts), bool)
    inner = stops < len(m)
    s_in = stops[inner]
    after_ok[inner] = (rec[s_in] == rec[s_in - 1]) & (m[s_in] >= 0) & (f[s_in] == f[s_in - 1] + 1)
    sessions = np.array([k[0] for k in keys], dtype=object)
    individuals = np.array([k[1] for k in keys], dtype=object)
    r = rec[starts]
    out = pd.DataFrame({"session": sessions[r], "individual": individuals[r],
                        "motif": m[starts], "start": f[starts], "end": f[stops - 1], "n_frames": stops - starts})
    out["start_s"] = out["start"] / fps
    out["duration_s"] = out["n_frames"] / fps
    out["censored"] = ~(before_ok & after_ok)
    return out[out["motif"] >= 0].reset_index(drop=True)


def bout_stats(bout_table: pd.DataFrame, labels: pd.DataFrame | None = None, n_motifs: int | None = None,
               fps: float | None = None, include_censored: bool = True) -> pd.DataFrame:
    """Per session, animal and motif: n_bouts, bouts_per_min, mean_duration_s, median_duration_s.

    Parameters
    ----------
    bout_table : DataFrame
        ``bouts``' table.
    labels : DataFrame, optional
        The labels table: then every motif 0 .. k-1 of every recording is listed (zeros where a motif never
        occurs; NaN durations there), and the rate uses the recording's labelled time.
    n_motifs : int, optional
        k (with ``labels``); None: the labels' metadata (``codes.motif_count``).
    fps : float, optional
        Frame rate; None: from the labels' ``time`` column.
    include_censored : bool
        Count bouts cut by the recording's ends or unlabelled frames.

    Returns
    -------
    DataFrame
        session, individual, motif, n_bouts, mean_duration_s, median_duration_s[, bouts_per_min].

    Raises
    ------
    ParameterError
        With ``labels``: k unknown, or not a labels table.
    """
    b = bout_table if include_censored else bout_table[~bout_table["censored"]]
    g = b.groupby(KEYS + ["motif"])["duration_s"]
    out = pd.DataFrame({"n_bouts": g.size(), "mean_duration_s": g.mean(), "median_duration_s": g.median()})
    if labels is not None:
        k = motif_count(labels, n_motifs)
        labels = check_labels(labels)
        fps = float(fps) if fps else fps_of(labels)
        groups = labels[KEYS].drop_duplicates()
        idx = pd.MultiIndex.from_tuples([(s, i, m) for s, i in groups.itertuples(index=False) for m in range(k)],
                                        names=KEYS + ["motif"])
        out = out.reindex(idx)
        out["n_bouts"] = out["n_bouts"].fillna(0).astype(int)
        minutes = (labels[labels["motif"] >= 0].groupby(KEYS).size() / fps / 60.0)
        out["bouts_per_min"] = out["n_bouts"] / minutes.reindex(out.index.droplevel("motif")).to_numpy()
    return out.reset_index()


def onsets(bout_table: pd.DataFrame) -> pd.DataFrame:
    """When each motif starts: session, individual, motif, frame, time_s (one row per bout, in time order)."""
    out = bout_table[KEYS + ["motif", "start", "start_s"]].rename(columns={"start": "frame", "start_s": "time_s"})
    return out.sort_values(KEYS + ["frame"]).reset_index(drop=True)


def label_arrays(labels: pd.DataFrame, column: str = "motif") -> dict[tuple[str, str], np.ndarray]:
    """``{(session, individual): labels array indexed by frame}`` (frames missing from the table are -1)."""
    labels = check_labels(labels, column)
    out = {}
    for key, g in labels.groupby(KEYS, sort=False):
        f = g["frame"].to_numpy()
        y = np.full(int(f.max()) + 1, -1, np.int64)
        y[f] = g[column].to_numpy()
        out[(str(key[0]), str(key[1]))] = y
    return out
