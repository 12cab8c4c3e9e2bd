"""Motif transitions and the hierarchy of motifs: which follow which, and which belong together.

The room after codes/segment in the flow (... embed -> codes/segment -> **hierarchy** -> stats ...): it reads
a segmentation's labels and hands ``stats`` community labels and transition tables.

- ``transition_counts``, ``probabilities``, ``pooled``, ``group_mean``, ``stationary``, ``entropy_rate``,
  ``animal_summary``, ``graph`` (``transitions``): per recording, never across recordings or gaps;
- ``Tree`` and its builders ``vame_tree`` (VAME's greedy merge, 2022 and 2024 costs), ``linkage_tree`` on
  ``transition_distance`` / ``centroid_distance`` / ``combine``, and ``vq_tree`` (``tree``); ``Tree.cut``
  by depth or number;
- ``bootstrap`` stability, ``community_labels``, ``community_usage`` and ``community_count`` (``stability``);
- ``build``, ``motif_means``, ``cut_stability``, ``suggest_cut`` (here): any method's tree from counts and
  usage, motif centroids, choosing where to cut.

The number of motifs k comes from the caller or the labels' metadata (``segment.read_segmentation``), never
from the largest label.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from behavnb.codes import motif_count
from behavnb.errors import ParameterError
from behavnb.hierarchy.stability import Stability, bootstrap, community_count, community_labels, community_usage
from behavnb.hierarchy.transitions import (
    animal_summary,
    entropy_rate,
    graph,
    group_mean,
    pooled,
    probabilities,
    recording_usage,
    stationary,
    transition_counts,
)
from behavnb.hierarchy.tree import COSTS, Tree, centroid_distance, combine, linkage_tree, transition_distance, vame_tree, vq_tree
from behavnb.segment._data import sequences

METHODS = ("vame", "linkage", "vq")


def build(method: str, counts: np.ndarray, usage: np.ndarray, *, cost: str = "2024", linkage_method: str = "average",
          similarity: np.ndarray | None = None, weight: float = 0.5, n_types: int | None = None,
          n_subtypes: int | None = None) -> Tree:
    """A motif tree from pooled bout-level counts ``(k, k)`` and usage ``(k,)``.

    Parameters
    ----------
    method : {"vame", "linkage", "vq"}
        ``"vame"``: VAME's greedy merge; ``"linkage"``: agglomerative clustering on the transition distance,
        mixed with ``similarity`` when given; ``"vq"``: the type -> subtype tree of VQ-MAP codes.
    counts : numpy.ndarray
        ``(k, k)`` bout-level transition counts, pooled over recordings.
    usage : numpy.ndarray
        ``(k,)`` usage of each motif.
    cost : {"2024", "2022", "2024-symmetric"}
        The merge cost of ``"vame"`` (see ``tree``).
    linkage_method : str
        scipy's linkage method for ``"linkage"`` (``"average"``, ``"complete"``, ...).
    similarity : numpy.ndarray, optional
        A ``(k, k)`` distance from latents or kinematics (e.g. ``centroid_distance``), mixed into the
        ``"linkage"`` distance.
    weight : float
        The share of ``similarity`` in that mix (0 to 1).
    n_types : int, optional
        Number of types (``"vq"`` only).
    n_subtypes : int, optional
        Number of subtypes per type (``"vq"`` only).

    Returns
    -------
    Tree
        A tree whose leaves are motifs 0 .. k-1.

    Raises
    ------
    ParameterError
        An unknown method or cost, counts that do not match the usage, or ``"vq"`` without ``n_types`` and
        ``n_subtypes``.
    """
    if method == "vame":
        return vame_tree(counts, usage, cost)
    if method == "linkage":
        d = transition_distance(counts)
        if similarity is not None:
            d = combine(d, similarity, weights=[1 - weight, weight])
        return linkage_tree(d, linkage_method)
    if method == "vq":
        if not n_types or not n_subtypes:
            raise ParameterError("the 'vq' tree needs n_types and n_subtypes (the VQ-MAP latents' attributes).")
        return vq_tree(n_types, n_subtypes)
    raise ParameterError(f"unknown hierarchy method {method!r}; use one of {list(METHODS)}.")


def motif_means(latents, labels, n_motifs: int | None = None) -> np.ndarray:
    """Mean latent of each motif, for ``centroid_distance``.

    Parameters
    ----------
    latents : mapping
        ``{session: latents}`` the labels were computed from.
    labels : DataFrame
        The labels table.
    n_motifs : int, optional
        k; None: the labels' metadata (``codes.motif_count``).

    Returns
    -------
    numpy.ndarray
        ``(k, latent)``; NaN rows for motifs without frames.

    Raises
    ------
    ParameterError
        k unknown.
    """
    k = motif_count(labels, n_motifs)
    seqs, _ = sequences(latents)
    lab = labels.set_index(["session", "individual"]).sort_values("frame")
    sums, counts = None, np.zeros(k)
    for q in seqs:
        y = lab.loc[(q.session, q.individual), "motif"].to_numpy()
        ok = (y >= 0) & np.isfinite(q.x).all(axis=1)
        if sums is None:
            sums = np.zeros((k, q.x.shape[1]))
        np.add.at(sums, y[ok], q.x[ok])
        counts += np.bincount(y[ok], minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts[:, None]


def cut_stability(counts: np.ndarray, usage: np.ndarray, build_fn, ns, *, n_boot: int = 100, seed: int = 0,
                  progress: bool = True):
    """Bootstrap stability score for each number of communities in ``ns``.

    Parameters
    ----------
    counts, usage : numpy.ndarray
        Per-animal bout counts ``(animal, k, k)`` and usage ``(animal, k)`` (``recording_usage``).
    build_fn : callable
        ``build_fn(counts, usage) -> Tree`` on pooled values.
    ns : iterable of int
        Numbers of communities.
    n_boot, seed : int
        Bootstrap resamples of animals and their seed.
    progress : bool
        Show a progress bar.

    Returns
    -------
    DataFrame
        One row per n: ``n``, ``score``, ``min_community``.
    """
    rows = []
    for n in tqdm(list(ns), desc="stability per cut", disable=not progress):
        st = bootstrap(counts, usage, build_fn, n=int(n), n_boot=n_boot, seed=seed, progress=False)
        rows.append({"n": int(n), "score": st.score, "min_community": float(st.table["stability"].min())})
    return pd.DataFrame(rows)


def suggest_cut(scores, min_score: float = 0.9, min_n: int = 3) -> int:
    """The fewest communities (at least ``min_n``) whose stability score reaches ``min_score``; else the most stable.

    Cuts into nearly single motifs are always stable, so the most stable cut alone is not the answer.

    Parameters
    ----------
    scores : DataFrame
        ``cut_stability``'s table.
    min_score : float
        The stability a cut must reach.
    min_n : int
        The fewest communities considered.

    Returns
    -------
    int
        The number of communities.
    """
    ok = scores[(scores["n"] >= min_n) & (scores["score"] >= min_score)]
    if len(ok):
        return int(ok["n"].min())
    pool = scores[scores["n"] >= min_n] if (scores["n"] >= min_n).any() else scores
    return int(pool.loc[pool["score"].idxmax(), "n"])


__all__ = [
    "motif_means", "cut_stability", "suggest_cut",
    "transition_counts", "probabilities", "pooled", "group_mean", "stationary", "entropy_rate", "animal_summary",
    "graph", "recording_usage",
    "Tree", "vame_tree", "linkage_tree", "vq_tree", "transition_distance", "centroid_distance", "combine",
    "COSTS", "METHODS", "build",
    "bootstrap", "Stability", "community_labels", "community_usage", "community_count",
]
