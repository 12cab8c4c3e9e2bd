"""Bootstrap stability of a hierarchy's communities, and community-level labels and usage.

Part of the hierarchy room of the flow (... codes/segment -> **hierarchy** -> stats ...).

Animals (recordings) are resampled with replacement; each resample's transition counts and usage are
the sums of the drawn animals' own (computed once), the tree is rebuilt and cut the same way. Two
summaries (Hennig's cluster-wise bootstrap, and a co-assignment matrix):

- ``co_assignment[i, j]``: the share of resamples in which motifs i and j land in the same community;
- per community of the full-data cut, ``stability``: the mean over resamples of its best Jaccard overlap
  with any community of the resample (1 = it always comes back whole; below ~0.6 it is not a real group).

``community_labels`` / ``community_usage`` carry the motifs' labels to communities; ``community_count`` is the
number of communities of a cut (its ids are 0 .. n-1, as ``Tree.cut`` numbers them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from behavnb.codes import usage
from behavnb.errors import ParameterError
from behavnb.hierarchy.tree import Tree


@dataclass
class Stability:
    communities: np.ndarray          # full-data community of each motif
    co_assignment: np.ndarray        # (k, k) share of resamples together
    table: pd.DataFrame              # community, motifs, size, stability
    n_boot: int

    @property
    def score(self) -> float:
        """Mean community stability, each community weighted by its number of motifs."""
        return float(np.average(self.table["stability"], weights=self.table["size"]))


def _jaccard_best(ref: np.ndarray, other: np.ndarray) -> np.ndarray:
    """For each community of ``ref``, its best Jaccard overlap with a community of ``other``."""
    r = np.eye(community_count(ref), dtype=bool)[ref]      # (k, C_ref)
    o = np.eye(community_count(other), dtype=bool)[other]  # (k, C_other)
    inter = r.T.astype(int) @ o.astype(int)
    union = r.sum(0)[:, None] + o.sum(0)[None, :] - inter
    return (inter / union).max(axis=1)


def bootstrap(counts: np.ndarray, usage: np.ndarray, build: Callable[[np.ndarray, np.ndarray], Tree], *,
              n: int | None = None, depth: int | None = None, n_boot: int = 200, seed: int = 0,
              progress: bool = True) -> Stability:
    """Resample animals ``n_boot`` times, rebuild with ``build(counts_kk, usage_k)`` and cut by ``n`` or ``depth``.

    Parameters
    ----------
    counts : numpy.ndarray
        Per-animal transition counts ``(animal, k, k)``.
    usage : numpy.ndarray
        Per-animal frames per motif ``(animal, k)`` (``recording_usage``).
    build : callable
        ``build(counts, usage) -> Tree`` on pooled values.
    n, depth : int, optional
        Cut into ``n`` communities, or at ``depth`` (one of the two).
    n_boot, seed : int
        Resamples and their seed.
    progress : bool
        Show a progress bar.

    Returns
    -------
    Stability
        The full-data cut (``communities``), the co-assignment matrix and each community's stability.

    Raises
    ------
    ParameterError
        Counts and usage of different animals or shapes, or fewer than two animals.
    """
    counts, usage = np.asarray(counts, float), np.asarray(usage, float)
    if counts.ndim != 3 or usage.ndim != 2 or len(counts) != len(usage):
        raise ParameterError(f"counts must be (animal, k, k) and usage (animal, k) for the same animals; got "
                             f"{counts.shape} and {usage.shape}.")
    if len(counts) < 2:
        raise ParameterError("bootstrap stability needs at least two animals (recordings).")
    ref = build(counts.sum(0), usage.sum(0)).cut(n, depth=depth)
    k, n_ref = len(ref), community_count(ref)
    rng = np.random.default_rng(seed)
    together = np.zeros((k, k))
    jac = np.zeros(n_ref)
    for _ in tqdm(range(n_boot), desc="bootstrap", disable=not progress):
        w = np.bincount(rng.integers(0, len(counts), len(counts)), minlength=len(counts)).astype(float)
        tree = build(np.tensordot(w, counts, axes=1), w @ usage)
        cut = tree.cut(n, depth=depth) if depth is None or depth <= tree.max_depth else tree.cut(depth=tree.max_depth)
        together += cut[:, None] == cut[None, :]
        jac += _jaccard_best(ref, cut)
    table = pd.DataFrame({"community": np.arange(n_ref),
                          "motifs": [list(np.flatnonzero(ref == c)) for c in range(n_ref)],
                          "size": np.bincount(ref), "stability": jac / n_boot})
    return Stability(ref, together / n_boot, table, n_boot)


def _mapping(communities: np.ndarray | Mapping[int, int]) -> dict[int, int]:
    return dict(communities) if isinstance(communities, Mapping) else dict(enumerate(np.asarray(communities)))


def community_count(communities: np.ndarray | Mapping[int, int]) -> int:
    """The number of communities of a cut.

    Parameters
    ----------
    communities : array or mapping
        The community of each motif (``Tree.cut``), or ``{motif: community}``.

    Returns
    -------
    int
        n, the ids being 0 .. n-1.

    Raises
    ------
    ParameterError
        Ids that are not 0 .. n-1 (negative, or with a gap).
    """
    ids = np.unique(np.asarray(list(_mapping(communities).values()), dtype=np.int64))
    if not np.array_equal(ids, np.arange(len(ids))):
        raise ParameterError(f"community ids must be 0 .. n-1, as Tree.cut numbers them; got {ids[:20].tolist()}.")
    return len(ids)


def community_labels(labels: pd.DataFrame, communities: np.ndarray | Mapping[int, int], column: str = "motif") -> pd.DataFrame:
    """The labels table with a ``community`` column.

    Parameters
    ----------
    labels : DataFrame
        The labels table.
    communities : array or mapping
        The community of each motif (``Tree.cut``), or ``{motif: community}``.
    column : str
        The motif column.

    Returns
    -------
    DataFrame
        ``labels`` plus ``community`` (-1 where the motif is -1).

    Raises
    ------
    ParameterError
        A labelled motif without a community.
    """
    mapping = _mapping(communities)
    missing = sorted(int(m) for m in set(labels.loc[labels[column] >= 0, column].unique()) - set(mapping))
    if missing:
        raise ParameterError(f"motifs {missing[:10]} have no community: cut a tree built on all the labels' motifs.")
    return labels.assign(community=labels[column].map(mapping).fillna(-1).astype(np.int64))


def community_usage(labels: pd.DataFrame, communities: np.ndarray | Mapping[int, int]) -> pd.DataFrame:
    """Usage of each community per session and animal: the motif usage summed over its members.

    Parameters
    ----------
    labels : DataFrame
        The labels table.
    communities : array or mapping
        The community of each motif (``Tree.cut``), or ``{motif: community}``; ids 0 .. n-1.

    Returns
    -------
    DataFrame
        session, individual, community, frames, fraction; every community of every recording.

    Raises
    ------
    ParameterError
        A labelled motif without a community, or community ids that are not 0 .. n-1.
    """
    lab = community_labels(labels, communities)
    return usage(lab, community_count(communities), column="community").rename(columns={"motif": "community"})
