"""Motif hierarchies: one ``Tree`` type for every method, cut into communities by depth or by number.

Part of the hierarchy room of the flow (... codes/segment -> **hierarchy** -> stats ...).

Methods (each returns a ``Tree`` whose leaves are motifs 0..k-1):

- ``vame_tree``: VAME's greedy merge. At each step two motifs (or merged groups) become one, and their
  usage and transition counts are pooled. ``cost="2022"`` merges the pair with the highest transition
  probability (the original paper's rule). ``cost="2024"`` minimises ``u_i + u_j / (P_ij + P_ji)`` exactly as
  VAME's current code evaluates it (the division binds before the sum, so it is not symmetric in i and j
  and favours merging a rarely used motif i with anything it transitions to); this is the change that
  balances VAME's figures. ``cost="2024-symmetric"`` is what that formula presumably meant:
  ``(u_i + u_j) / (P_ij + P_ji)``. Pairs that never transition are merged last.
- ``linkage_tree``: agglomerative clustering (scipy) on any symmetric motif distance, e.g.
  ``transition_distance`` (motifs that often follow each other are close), ``centroid_distance`` (motifs
  whose latents or kinematics look alike are close), or a weighted mix (``combine``).
- ``vq_tree``: for VQ-MAP codes the natural tree: root -> types -> subtypes (motif = type * n_subtypes + subtype).

Cutting (``Tree.cut``) assigns every motif to exactly one community, at every depth and every count.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from behavnb.errors import ParameterError

COSTS = ("2022", "2024", "2024-symmetric")


@dataclass
class Tree:
    """A rooted tree over motifs 0..k-1. Node ids: leaves are motifs; internal nodes k, k+1, ... (root last).

    ``height`` orders the merges (larger = merged later, nearer the root); ``method`` says how it was built.
    """

    n_leaves: int
    children: dict[int, list[int]]
    height: dict[int, float]
    method: str = ""
    info: dict = field(default_factory=dict)

    @property
    def root(self) -> int:
        return max(self.children) if self.children else 0

    def leaves(self, node: int) -> list[int]:
        if node < self.n_leaves:
            return [node]
        return sorted(m for c in self.children[node] for m in self.leaves(c))

    def depths(self) -> dict[int, int]:
        """Depth of every node (root = 0)."""
        out, stack = {}, [(self.root, 0)]
        while stack:
            n, d = stack.pop()
            out[n] = d
            stack += [(c, d + 1) for c in self.children.get(n, [])]
        return out

    @property
    def max_depth(self) -> int:
        return max(self.depths().values())

    def cut(self, n: int | None = None, *, depth: int | None = None) -> np.ndarray:
        """Community of each motif (array of length k; communities numbered by their smallest motif).

        Give exactly one of ``n`` and ``depth``.

        Parameters
        ----------
        n : int, optional
            Split the latest merges first until there are at least ``n`` communities (exactly n for binary
            trees); 1 .. k.
        depth : int, optional
            The subtrees hanging at this depth (leaves shallower than it keep their own community): 0 = one
            community, ``max_depth`` = every motif alone.

        Returns
        -------
        numpy.ndarray
            ``(k,)`` int64 community ids 0 .. n-1.

        Raises
        ------
        ParameterError
            Both or neither of ``n`` and ``depth``, or a value outside the tree.
        """
        if (n is None) == (depth is None):
            raise ParameterError("cut the tree either by depth=... or by n=... (number of communities), not both.")
        if depth is not None:
            if depth < 0 or depth > self.max_depth:
                raise ParameterError(f"depth {depth} is outside this tree: its depth goes from 0 to {self.max_depth} "
                                     f"(the maximum depth).")
            dep = self.depths()
            tops = [node for node, d in dep.items() if d == depth or (d < depth and node < self.n_leaves)]
        else:
            if not 1 <= n <= self.n_leaves:
                raise ParameterError(f"n={n} communities: choose between 1 and {self.n_leaves} (the number of motifs).")
            tops = [self.root]
            while len(tops) < n:
                internal = [t for t in tops if t >= self.n_leaves]
                split = max(internal, key=lambda t: (self.height[t], t))
                tops.remove(split)
                tops += self.children[split]
        groups = sorted((self.leaves(t) for t in tops), key=min)
        out = np.full(self.n_leaves, -1, np.int64)
        for c, members in enumerate(groups):
            out[members] = c
        assert (out >= 0).all()  # every motif in exactly one community
        return out

    def linkage(self) -> np.ndarray:
        """A scipy linkage matrix (for ``dendrogram``); non-binary nodes become chains at their own height."""
        rows, next_id = [], self.n_leaves

        def build(node: int) -> int:
            nonlocal next_id
            if node < self.n_leaves:
                return node
            kids = [build(c) for c in self.children[node]]
            cur = kids[0]
            for other in kids[1:]:
                size = len(self._leaf_ids(cur, rows)) + len(self._leaf_ids(other, rows))
                rows.append([cur, other, float(self.height[node]), size])
                cur = next_id
                next_id += 1
            return cur

        build(self.root)
        return np.array(rows, float).reshape(-1, 4)

    def to_dict(self) -> dict:
        """A JSON-ready description (``tree.json``): children, heights, method, info."""
        return {"n_leaves": self.n_leaves, "method": self.method, "info": self.info,
                "children": {str(k): v for k, v in self.children.items()},
                "height": {str(k): v for k, v in self.height.items()}}

    @staticmethod
    def from_dict(d: dict) -> Tree:
        return Tree(int(d["n_leaves"]), {int(k): [int(c) for c in v] for k, v in d["children"].items()},
                    {int(k): float(v) for k, v in d["height"].items()}, d.get("method", ""), d.get("info", {}))

    def _leaf_ids(self, i: int, rows) -> list[int]:
        if i < self.n_leaves:
            return [i]
        a, b = rows[i - self.n_leaves][:2]
        return self._leaf_ids(int(a), rows) + self._leaf_ids(int(b), rows)


def from_linkage(z: np.ndarray, n_leaves: int, method: str) -> Tree:
    children, height = {}, {}
    for i, (a, b, h, _) in enumerate(z):
        children[n_leaves + i] = [int(a), int(b)]
        height[n_leaves + i] = float(h)
    return Tree(n_leaves, children, height, method)


def transition_distance(p: np.ndarray) -> np.ndarray:
    """1 - symmetric transition probability (self-transitions ignored), scaled so the closest pair is 0..1."""
    p = np.asarray(p, float).copy()
    np.fill_diagonal(p, 0.0)
    rows = p.sum(axis=1, keepdims=True)
    p = np.divide(p, rows, out=np.zeros_like(p), where=rows > 0)
    s = (p + p.T) / 2
    top = s.max()
    d = 1.0 - (s / top if top > 0 else s)
    np.fill_diagonal(d, 0.0)
    return d


def centroid_distance(means: np.ndarray) -> np.ndarray:
    """Euclidean distance between motif means (latents or standardised kinematics), scaled to a maximum of 1.

    Parameters
    ----------
    means : numpy.ndarray
        ``(k, d)`` mean of each motif (e.g. ``motif_means``).

    Returns
    -------
    numpy.ndarray
        ``(k, k)`` symmetric distances, 0 on the diagonal.
    """
    x = np.asarray(means, float)
    d = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
    return d / d.max() if d.max() > 0 else d


def combine(*distances: np.ndarray, weights=None) -> np.ndarray:
    """Weighted mean of distance matrices (equal weights by default)."""
    w = np.ones(len(distances)) if weights is None else np.asarray(weights, float)
    return sum(wi * d for wi, d in zip(w, distances, strict=True)) / w.sum()


def linkage_tree(distance: np.ndarray, method: str = "average") -> Tree:
    """Agglomerative clustering of motifs on a symmetric distance matrix (scipy ``linkage``)."""
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import squareform

    d = np.asarray(distance, float)
    if d.ndim != 2 or d.shape[0] != d.shape[1] or not np.allclose(d, d.T):
        raise ParameterError(f"the motif distance must be a symmetric square matrix, got shape {d.shape}.")
    if len(d) < 2:
        raise ParameterError("a hierarchy needs at least two motifs.")
    z = linkage(squareform(d, checks=False), method=method)
    return from_linkage(z, len(d), f"linkage ({method})")


def vame_tree(counts: np.ndarray, usage: np.ndarray, cost: str = "2024") -> Tree:
    """VAME's greedy merge on bout-level transition counts ``(k, k)`` and motif usage ``(k,)`` (see module doc)."""
    if cost not in COSTS:
        raise ParameterError(f"cost must be one of {list(COSTS)}, not {cost!r}.")
    c = np.asarray(counts, float).copy()
    u = np.asarray(usage, float).copy()
    k = len(u)
    if c.shape != (k, k):
        raise ParameterError(f"counts of shape {c.shape} do not match {k} motifs' usage.")
    active = list(range(k))  # node id of each current group
    members_of = {m: [m] for m in range(k)}
    children, height = {}, {}
    node = k
    while len(active) > 1:
        n = len(active)
        cc = c.copy()
        np.fill_diagonal(cc, 0.0)
        rows = cc.sum(axis=1, keepdims=True)
        p = np.divide(cc, rows, out=np.zeros_like(cc), where=rows > 0)
        pair = p + p.T
        with np.errstate(divide="ignore", invalid="ignore"):
            if cost == "2022":
                score = np.where(p > 0, -p, np.inf)  # highest probability first; never-transitioning pairs last
            elif cost == "2024":
                score = u[:, None] + np.where(pair > 0, u[None, :] / pair, np.inf)
            else:
                score = np.where(pair > 0, (u[:, None] + u[None, :]) / pair, np.inf)
        score[np.eye(n, dtype=bool)] = np.inf
        if not np.isfinite(score).any():  # nothing transitions any more: merge the two least used groups
            i, j = np.argsort(u)[:2]
        else:
            i, j = np.unravel_index(np.argmin(score), score.shape)
        i, j = sorted((int(i), int(j)))
        children[node] = [active[i], active[j]]
        height[node] = float(node - k + 1)
        members_of[node] = members_of[active[i]] + members_of[active[j]]
        # pool i and j into i, drop j
        c[i, :] += c[j, :]
        c[:, i] += c[:, j]
        c = np.delete(np.delete(c, j, 0), j, 1)
        u[i] += u[j]
        u = np.delete(u, j)
        active[i] = node
        del active[j]
        node += 1
    return Tree(k, children, height, f"vame ({cost})", {"cost": cost})


def vq_tree(n_types: int, n_subtypes: int) -> Tree:
    """Root -> ``n_types`` types -> their ``n_subtypes`` subtypes (leaf = type * n_subtypes + subtype)."""
    k = n_types * n_subtypes
    children, height = {}, {}
    for t in range(n_types):
        children[k + t] = [t * n_subtypes + s for s in range(n_subtypes)]
        height[k + t] = 1.0
    root = k + n_types
    children[root] = [k + t for t in range(n_types)]
    height[root] = 2.0
    return Tree(k, children, height, "vq (type -> subtype)", {"n_types": n_types, "n_subtypes": n_subtypes})
