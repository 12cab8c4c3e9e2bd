"""Motif-to-motif transitions per recording: counts, probabilities, group averages, entropy rate, graph.

Part of the hierarchy room of the flow (... codes/segment -> **hierarchy** -> stats ...): the trees and
``stats.transition_test`` start from these counts.

A transition is a pair of consecutive frames (``self_transitions=True``, frame level) or of consecutive
bouts (``self_transitions=False``, bout level: a motif never follows itself) inside one recording (session
and animal). Frames without a label (-1) and gaps in the frame numbers break the sequence: nothing is
counted into or out of them, and nothing crosses from one recording to the next. The number of motifs k comes
from the caller or the labels' metadata (``codes.motif_count``), never from the largest label.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from behavnb.codes import KEYS, motif_count, usage
from behavnb.errors import DataWarning, ParameterError
from behavnb.segment.tables import recording_arrays


def transition_counts(labels: pd.DataFrame, n_motifs: int | None = None, *, self_transitions: bool = True,
                      column: str = "motif", warn: bool = True):
    """Transition counts per recording (session and animal).

    Vectorised over the whole table: one ``np.add.at`` for every recording at once. A recording with no
    transition between different motifs (one motif throughout) gets a warning, and its bout-level matrix
    is all zeros.

    Parameters
    ----------
    labels : DataFrame
        The labels table (session, individual, frame, ``column``).
    n_motifs : int, optional
        k; None: the labels' metadata (``codes.motif_count``).
    self_transitions : bool
        True: frame level (consecutive frames); False: bout level (a motif never follows itself).
    column : str
        The label column.
    warn : bool
        Warn about recordings that never switch motif.

    Returns
    -------
    xarray.DataArray
        ``(recording, from_motif, to_motif)`` counts with ``session``/``individual`` coordinates per recording.

    Raises
    ------
    ParameterError
        Not a labels table, k unknown, or labels at or above k.
    """
    import xarray as xr  # xarray loads in ~0.5 s: only when counts are made

    k = motif_count(labels, n_motifs, column)
    rec, f, m, uniq = recording_arrays(labels, column)
    if (m >= k).any():
        raise ParameterError(f"the labels use motif {int(m.max())} but n_motifs={k}.")
    # consecutive pairs inside a recording, both labelled, no frame gap
    a, b = slice(None, -1), slice(1, None)
    ok = (rec[a] == rec[b]) & (f[b] == f[a] + 1) & (m[a] >= 0) & (m[b] >= 0)
    src, dst, r = m[a][ok], m[b][ok], rec[a][ok]
    if not self_transitions:
        change = src != dst
        src, dst, r = src[change], dst[change], r[change]
    counts = np.zeros((len(uniq), k, k), np.int64)
    np.add.at(counts, (r, src, dst), 1)
    offdiag = counts.sum(axis=(1, 2)) - np.trace(counts, axis1=1, axis2=2)
    if warn and (offdiag == 0).any():
        bad = [f"{s}/{i}" for (s, i), z in zip(uniq, offdiag == 0, strict=True) if z]
        warnings.warn(f"{len(bad)} recording(s) never switch motif ({bad[:5]}{' …' if len(bad) > 5 else ''}): their "
                      f"transitions between motifs are all zero.", DataWarning, stacklevel=2)
    return xr.DataArray(counts, dims=("recording", "from_motif", "to_motif"),
                        coords={"recording": [f"{s}/{i}" for s, i in uniq],
                                "session": ("recording", [s for s, _ in uniq]),
                                "individual": ("recording", [i for _, i in uniq]),
                                "from_motif": np.arange(k), "to_motif": np.arange(k)},
                        name="transition_counts", attrs={"self_transitions": int(self_transitions), "column": column})


def probabilities(counts):
    """Row-normalised transition probabilities (rows without any transition stay all zero).

    Parameters
    ----------
    counts : xarray.DataArray
        Transition counts with ``from_motif`` and ``to_motif`` dimensions (``transition_counts``, or summed
        over recordings).

    Returns
    -------
    xarray.DataArray
        ``transition_probability`` with the dimensions, coordinates and attrs of ``counts``.
    """
    c = counts.astype(float)
    rows = c.sum("to_motif")
    p = (c / rows.where(rows > 0)).fillna(0.0)
    p.name = "transition_probability"
    p.attrs = dict(counts.attrs)
    return p


def pooled(counts, groups: Mapping[str, str] | None = None):
    """Probabilities from counts summed over recordings (per group when ``groups`` maps session -> group).

    Parameters
    ----------
    counts : xarray.DataArray
        ``(recording, from_motif, to_motif)`` counts (``transition_counts``).
    groups : mapping of str to str, optional
        ``{session: group}``; sessions it does not list pool into group ``"?"``.

    Returns
    -------
    xarray.DataArray
        ``(from_motif, to_motif)`` probabilities, or ``(group, from_motif, to_motif)`` with ``groups``.
    """
    if groups is None:
        return probabilities(counts.sum("recording"))
    g = [str(groups.get(s, "?")) for s in counts["session"].values]
    summed = counts.assign_coords(group=("recording", g)).groupby("group").sum("recording")
    return probabilities(summed)


def group_mean(probs, groups: Mapping[str, str]):
    """The mean of per-animal probability matrices per group (each animal counts once): ``(group, from, to)``.

    Row i averages the animals that left motif i at least once (an animal never seen leaving it has no
    estimate there, rather than a row of zeros), so every row with data sums to 1.

    Parameters
    ----------
    probs : xarray.DataArray
        ``(recording, from_motif, to_motif)`` probabilities per recording (``probabilities(counts)``).
    groups : mapping of str to str
        ``{session: group}``; sessions it does not list fall into group ``"?"``.

    Returns
    -------
    xarray.DataArray
        ``(group, from_motif, to_motif)`` mean probabilities (0 where no animal of the group has data).
    """
    g = [str(groups.get(s, "?")) for s in probs["session"].values]
    seen = probs.sum("to_motif") > 0
    return (probs.where(seen).assign_coords(group=("recording", g)).groupby("group")
            .mean("recording", skipna=True).fillna(0.0))


def stationary(p: np.ndarray) -> np.ndarray:
    """Stationary distribution of a transition matrix (rows without transitions are treated as uniform)."""
    p = np.asarray(p, float)
    k = len(p)
    rows = p.sum(axis=1, keepdims=True)
    q = np.where(rows > 0, p / np.where(rows > 0, rows, 1), 1.0 / k)
    vals, vecs = np.linalg.eig(q.T)
    v = np.real(vecs[:, np.argmin(np.abs(vals - 1))])
    v = np.abs(v)
    return v / v.sum()


def entropy_rate(p: np.ndarray, pi: np.ndarray | None = None) -> float:
    """Entropy rate (bits per transition): -sum_i pi_i sum_j P_ij log2 P_ij. 0 = fully predictable."""
    p = np.asarray(p, float)
    pi = stationary(p) if pi is None else np.asarray(pi, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(p > 0, p * np.log2(p), 0.0).sum(axis=1)
    return float((pi * h).sum())


def animal_summary(counts) -> pd.DataFrame:
    """Per recording: n_transitions, entropy_rate (bits), and the stationary probability of each motif.

    Parameters
    ----------
    counts : xarray.DataArray
        ``(recording, from_motif, to_motif)`` counts (``transition_counts``).

    Returns
    -------
    DataFrame
        One row per recording: ``session``, ``individual``, ``n_transitions``, ``entropy_rate`` and
        ``stationary_<motif>`` for each motif.
    """
    probs = probabilities(counts)
    rows = []
    for i, rec in enumerate(counts["recording"].values):
        p = probs.values[i]
        pi = stationary(p)
        row = {"session": str(counts["session"].values[i]), "individual": str(counts["individual"].values[i]),
               "n_transitions": int(counts.values[i].sum()), "entropy_rate": entropy_rate(p, pi)}
        row.update({f"stationary_{m}": float(v) for m, v in enumerate(pi)})
        rows.append(row)
    return pd.DataFrame(rows)


def graph(p: np.ndarray, usage: np.ndarray | None = None, *, min_probability: float = 0.05,
          names: Mapping[int, str] | None = None):
    """A networkx DiGraph: nodes = motifs (attrs usage, name), edges with probability >= ``min_probability``."""
    import networkx as nx

    p = np.asarray(p, float)
    g = nx.DiGraph()
    for m in range(len(p)):
        g.add_node(m, usage=float(usage[m]) if usage is not None else float("nan"),
                   name=(names or {}).get(m, f"motif {m}"))
    for i, j in zip(*np.nonzero(p >= min_probability), strict=True):
        if i != j:
            g.add_edge(int(i), int(j), probability=float(p[i, j]))
    return g


def recording_usage(labels: pd.DataFrame, counts) -> np.ndarray:
    """Frames per motif in the recording order of ``counts``, as ``bootstrap`` needs it beside them.

    Parameters
    ----------
    labels : DataFrame
        The labels table.
    counts : xarray.DataArray
        ``transition_counts(labels, k)``: k and the recording order come from it.

    Returns
    -------
    numpy.ndarray
        ``(recording, k)`` frame counts.
    """
    k = counts.sizes["from_motif"]
    u = usage(labels, k).pivot_table(index=KEYS, columns="motif", values="frames", fill_value=0)
    idx = pd.MultiIndex.from_arrays([counts["session"].values.astype(str), counts["individual"].values.astype(str)])
    u.index = pd.MultiIndex.from_arrays([u.index.get_level_values(0).astype(str), u.index.get_level_values(1).astype(str)])
    return u.reindex(index=idx, columns=range(k), fill_value=0).to_numpy(float)

