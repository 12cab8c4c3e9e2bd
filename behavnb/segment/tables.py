"""Tables derived from the labels table: usage, bouts, bout statistics, onsets.

The labels table has one row per frame: (session, individual, frame, time, motif); motif -1 marks a
frame without a label. Everything here is vectorised over the whole table (no per-session loops).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from behavnb.errors import ParameterError

KEYS = ["session", "individual"]


def _check(labels: pd.DataFrame, column: str = "motif") -> pd.DataFrame:
    need = set(KEYS) | {"frame", column}
    if not isinstance(labels, pd.DataFrame) or not need <= set(labels.columns):
        missing = sorted(need - set(getattr(labels, "columns", [])))
        raise ParameterError(f"not a labels table: missing columns {missing} (need session, individual, frame, {column}).")
    return labels.sort_values(KEYS + ["frame"], kind="stable").reset_index(drop=True)


def fps_of(labels: pd.DataFrame) -> float:
    """Frame rate from the labels' ``time`` column (median frame interval)."""
    if "time" not in labels:
        raise ParameterError("the labels table has no time column: pass fps.")
    dt = np.diff(labels["time"].to_numpy()[:1000])
    dt = dt[dt > 0]
    if not len(dt):
        raise ParameterError("cannot infer the frame rate from the labels' time column: pass fps.")
    return float(1.0 / np.median(dt))


def usage(labels: pd.DataFrame, n_motifs: int | None = None, column: str = "motif") -> pd.DataFrame:
    """Fraction of each session's (and animal's) labelled frames in each motif: long format, every motif listed.

    Columns: session, individual, motif, frames, fraction. Motifs a session never uses appear with 0,
    so group statistics see the zeros. ``n_motifs`` defaults to the largest motif number + 1.
    """
    labels = _check(labels, column)
    ok = labels[labels[column] >= 0]
    k = int(n_motifs) if n_motifs is not None else int(ok[column].max()) + 1 if len(ok) else 0
    if len(ok) and int(ok[column].max()) >= k:
        raise ParameterError(f"the labels use motif {int(ok[column].max())} but n_motifs={k}: pass n_motifs above it.")
    counts = ok.groupby(KEYS + [column]).size().unstack(column, fill_value=0)
    groups = labels[KEYS].drop_duplicates()
    counts = counts.reindex(columns=range(k), fill_value=0).reindex(
        pd.MultiIndex.from_frame(groups), fill_value=0)
    total = counts.sum(axis=1).replace(0, np.nan)
    frac = counts.div(total, axis=0).fillna(0.0)
    out = counts.stack().rename("frames").to_frame().join(frac.stack().rename("fraction"))
    out.index.names = KEYS + ["motif"]
    return out.reset_index()


def usage_matrix(usage_table: pd.DataFrame) -> pd.DataFrame:
    """Usage long table -> wide (rows session/individual, columns motif, values fraction)."""
    return usage_table.pivot_table(index=KEYS, columns="motif", values="fraction", fill_value=0.0)


def bouts(labels: pd.DataFrame, fps: float | None = None, column: str = "motif") -> pd.DataFrame:
    """Runs of one motif: session, individual, motif, start, end (last frame, inclusive), n_frames,
    start_s, duration_s, censored.

    A run ends where the motif changes, at a gap in the frame numbers, or at the end of the session;
    frames without a label (-1) end a run and are not bouts themselves. ``censored`` marks bouts cut
    by the start or end of the recording or by unlabelled frames: their true duration is unknown
    (longer than measured), so duration statistics may want to leave them out.
    """
    labels = _check(labels, column)
    fps = float(fps) if fps else fps_of(labels)
    m = labels[column].to_numpy()
    f = labels["frame"].to_numpy()
    key = pd.factorize(pd.MultiIndex.from_frame(labels[KEYS]))[0]
    new = np.ones(len(m), bool)
    new[1:] = (m[1:] != m[:-1]) | (key[1:] != key[:-1]) | (f[1:] != f[:-1] + 1)
    starts = np.flatnonzero(new)
    stops = np.append(starts[1:], len(m))
    before_ok = np.zeros(len(starts), bool)  # the run follows a labelled frame of the same recording
    before_ok[1:] = (key[starts[1:] - 1] == key[starts[1:]]) & (m[starts[1:] - 1] >= 0) & (f[starts[1:] - 1] == f[starts[1:]] - 1)
    after_ok = np.zeros(len(starts), bool)
    inner = stops < len(m)
    s_in = stops[inner]
    after_ok[inner] = (key[s_in] == key[s_in - 1]) & (m[s_in] >= 0) & (f[s_in] == f[s_in - 1] + 1)
    out = pd.DataFrame({"session": labels["session"].to_numpy()[starts], "individual": labels["individual"].to_numpy()[starts],
                        "motif": m[starts], "start": f[starts], "end": f[stops - 1], "n_frames": stops - starts})
    out["start_s"] = out["start"] / fps
    out["duration_s"] = out["n_frames"] / fps
    out["censored"] = ~(before_ok & after_ok)
    return out[out["motif"] >= 0].reset_index(drop=True)


def bout_stats(bout_table: pd.DataFrame, labels: pd.DataFrame | None = None, n_motifs: int | None = None,
               fps: float | None = None, include_censored: bool = True) -> pd.DataFrame:
    """Per session, animal and motif: n_bouts, bouts_per_min, mean_duration_s, median_duration_s.

    With ``labels`` every motif of every recording is listed (zeros where a motif never occurs; NaN
    durations there), and the rate uses the recording's labelled time.
    """
    b = bout_table if include_censored else bout_table[~bout_table["censored"]]
    g = b.groupby(KEYS + ["motif"])["duration_s"]
    out = pd.DataFrame({"n_bouts": g.size(), "mean_duration_s": g.mean(), "median_duration_s": g.median()})
    if labels is not None:
        labels = _check(labels)
        fps = float(fps) if fps else fps_of(labels)
        k = int(n_motifs) if n_motifs is not None else int(max(labels["motif"].max(), b["motif"].max() if len(b) else -1)) + 1
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
    labels = _check(labels, column)
    out = {}
    for key, g in labels.groupby(KEYS, sort=False):
        f = g["frame"].to_numpy()
        y = np.full(int(f.max()) + 1, -1, np.int64)
        y[f] = g[column].to_numpy()
        out[(str(key[0]), str(key[1]))] = y
    return out
