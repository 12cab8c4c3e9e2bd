"""Bootstrap stability of a hierarchy's communities, and community-level labels and usage.

Animals (recordings) are resampled with replacement; each resample's transition counts and usage are
the sums of the drawn animals' own (computed once), the tree is rebuilt and cut the same way. Two
summaries (Hennig's cluster-wise bootstrap, and a co-assignment matrix):

- ``co_assignment[i, j]``: the share of resamples in which motifs i and j land in the same community;
- per community of the full-data cut, ``stability``: the mean over resamples of its best Jaccard overlap
  with any community of the resample (1 = it always comes back whole; below ~0.6 it is not a real group).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

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
    r = np.eye(ref.max() + 1, dtype=bool)[ref]          # (k, C_ref)
    o = np.eye(other.max() + 1, dtype=bool)[other]      # (k, C_other)
    inter = r.T.astype(int) @ o.astype(int)
    union = r.sum(0)[:, None] + o.sum(0)[None, :] - inter
    return (inter / union).max(axis=1)


def bootstrap(counts: np.ndarray, usage: np.ndarray, build: Callable[[np.ndarray, np.ndarray], Tree], *,
              n: int | None = None, depth: int | None = None, n_boot: int = 200, seed: int = 0,
              progress: bool = True) -> Stability:
    """Resample animals ``n_boot`` times, rebuild with ``build(counts_kk, usage_k)`` and cut by ``n`` or ``depth``.

    ``counts``: per-animal transition counts ``(animal, k, k)``; ``usage``: per-animal frames per motif ``(animal, k)``.
    """
    from tqdm.auto import tqdm

    counts, usage = np.asarray(counts, float), np.asarray(usage, float)
    if counts.ndim != 3 or usage.ndim != 2 or len(counts) != len(usage):
        raise ParameterError(f"counts must be (animal, k, k) and usage (animal, k) for the same animals; got "
                             f"{counts.shape} and {usage.shape}.")
    if len(counts) < 2:
        raise ParameterError("bootstrap stability needs at least two animals (recordings).")
    ref = build(counts.sum(0), usage.sum(0)).cut(n, depth=depth)
    k = len(ref)
    rng = np.random.default_rng(seed)
    together = np.zeros((k, k))
    jac = np.zeros(ref.max() + 1)
    for _ in tqdm(range(n_boot), desc="bootstrap", disable=not progress):
        w = np.bincount(rng.integers(0, len(counts), len(counts)), minlength=len(counts)).astype(float)
        tree = build(np.tensordot(w, counts, axes=1), w @ usage)
        cut = tree.cut(n, depth=depth) if depth is None or depth <= tree.max_depth else tree.cut(depth=tree.max_depth)
        together += cut[:, None] == cut[None, :]
        jac += _jaccard_best(ref, cut)
    table = pd.DataFrame({"community": np.arange(ref.max() + 1),
                          "motifs": [list(np.flatnonzero(ref == c)) for c in range(ref.max() + 1)],
                          "size": np.bincount(ref), "stability": jac / n_boot})
    return Stability(ref, together / n_boot, table, n_boot)


def community_labels(labels: pd.DataFrame, communities: np.ndarray | Mapping[int, int], column: str = "motif") -> pd.DataFrame:
    """The labels table with a ``community`` column (-1 where the motif is -1)."""
    mapping = dict(enumerate(np.asarray(communities))) if not isinstance(communities, Mapping) else dict(communities)
    missing = sorted(int(m) for m in set(labels.loc[labels[column] >= 0, column].unique()) - set(mapping))
    if missing:
        raise ParameterError(f"motifs {missing[:10]} have no community: cut a tree built on all the labels' motifs.")
    return labels.assign(community=labels[column].map(mapping).fillna(-1).astype(np.int64))


def community_usage(labels: pd.DataFrame, communities: np.ndarray | Mapping[int, int]) -> pd.DataFrame:
    """Usage (fraction of frames) of each community per session and animal: the motif usage summed over members."""
    from behavnb.segment.tables import usage

    lab = community_labels(labels, communities)
    n = int(max(np.asarray(list(dict(enumerate(np.asarray(communities))).values()) if not isinstance(communities, Mapping)
                           else list(communities.values())))) + 1
    u = usage(lab, n, column="community").rename(columns={"motif": "community"})
    return u
