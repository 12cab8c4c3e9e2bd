"""Figures of transitions and motif hierarchies (notebook 08).

Part of the plot room of the flow (... hierarchy -> stats -> evaluate/health/demos -> **plot**/widgets -> export
...): it draws what ``hierarchy`` computes and changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from behavnb.hierarchy import community_count, graph
from behavnb.plot.motifs import _name, motif_colours
from behavnb.plot.poses import _plt

if TYPE_CHECKING:
    import matplotlib.figure

__all__ = ["transition_heatmaps", "transition_graph", "dendrogram", "co_assignment", "sankey", "tree_comparison",
           "values_by_group"]


def _ticks(ax, k: int, names) -> None:
    labels = [_name(names, m) for m in range(k)]
    ax.set_xticks(range(k), labels, rotation=60, ha="right", fontsize="x-small")
    ax.set_yticks(range(k), labels, fontsize="x-small")


def transition_heatmaps(probs, names: Mapping[int, str] | None = None, difference: Sequence[str] | None = None
                        ) -> matplotlib.figure.Figure:
    """One heatmap per group of transition probabilities, then the difference of two groups.

    Parameters
    ----------
    probs : xarray.DataArray
        ``(group, from_motif, to_motif)`` probabilities (``hierarchy.group_mean`` or ``hierarchy.pooled`` with
        groups).
    names : mapping, optional
        ``{motif: name}``.
    difference : sequence of str, optional
        ``(a, b)``: the last panel shows a - b; default the first group minus the last, in the order of
        ``probs`` (no difference panel with one group).

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    groups = [str(g) for g in probs["group"].values]
    k = probs.sizes["from_motif"]
    diff = list(difference) if difference else ([groups[0], groups[-1]] if len(groups) > 1 else None)
    n = len(groups) + (1 if diff else 0)
    fig, axes = plt.subplots(1, n, figsize=(3.6 * n + 0.6, 3.9), squeeze=False)
    vmax = float(probs.max())
    for ax, g in zip(axes[0], groups, strict=False):
        im = ax.imshow(probs.sel(group=g).values, cmap="viridis", vmin=0, vmax=vmax)
        ax.set_title(f"{g}: P(to | from)", fontsize="small")
        _ticks(ax, k, names)
        ax.set_xlabel("to", fontsize="small")
        ax.set_ylabel("from", fontsize="small")
    fig.colorbar(im, ax=axes[0, len(groups) - 1], fraction=0.046)
    if diff:
        d = probs.sel(group=diff[0]).values - probs.sel(group=diff[1]).values
        lim = float(np.abs(d).max()) or 1.0
        ax = axes[0, -1]
        im = ax.imshow(d, cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_title(f"{diff[0]} − {diff[1]}", fontsize="small")
        _ticks(ax, k, names)
        fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


def transition_graph(p: np.ndarray, usage: np.ndarray, names: Mapping[int, str] | None = None, *,
                     min_probability: float = 0.1, communities: np.ndarray | None = None, ax=None
                     ) -> matplotlib.figure.Figure:
    """Motifs as nodes (size = usage, colour = community), transitions as arrows (width = probability).

    Parameters
    ----------
    p : numpy.ndarray
        ``(k, k)`` transition probabilities (``hierarchy.pooled(counts).values``).
    usage : numpy.ndarray
        ``(k,)`` usage of each motif.
    names : mapping, optional
        ``{motif: name}``.
    min_probability : float
        Transitions below it are not drawn.
    communities : numpy.ndarray, optional
        The community of each motif (``Tree.cut``; ids 0 .. n-1): node colours.
    ax : matplotlib.axes.Axes, optional
        Where to draw.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ParameterError
        Community ids that are not 0 .. n-1.
    """
    import networkx as nx

    plt = _plt()
    g = graph(p, usage, min_probability=min_probability, names=names)
    fig = ax.figure if ax is not None else plt.subplots(figsize=(5.2, 5.2))[0]
    ax = ax or fig.axes[0]
    pos = nx.circular_layout(g)
    k = len(p)
    cols = motif_colours(community_count(communities))[communities] if communities is not None else motif_colours(k)
    sizes = 3000 * np.asarray(usage, float) / max(float(np.max(usage)), 1e-12) + 50
    widths = [6 * d["probability"] for _, _, d in g.edges(data=True)]
    nx.draw_networkx_edges(g, pos, ax=ax, width=widths, alpha=0.6, arrowsize=12, connectionstyle="arc3,rad=0.15",
                           node_size=sizes)
    nx.draw_networkx_nodes(g, pos, ax=ax, node_size=sizes, node_color=cols, alpha=0.9)
    nx.draw_networkx_labels(g, pos, ax=ax, labels={m: _name(names, m) for m in g.nodes}, font_size=7)
    ax.set_title(f"transitions ≥ {min_probability:.0%} (width = probability, size = usage)", fontsize="small")
    ax.axis("off")
    fig.tight_layout()
    return fig


def dendrogram(tree, communities: np.ndarray | None = None, stability=None, names: Mapping[int, str] | None = None,
               ax=None, title: str = "") -> matplotlib.figure.Figure:
    """The tree as a dendrogram, leaves coloured by community; with a ``Stability``, each community's score.

    Parameters
    ----------
    tree : hierarchy.Tree
        The motif tree.
    communities : numpy.ndarray, optional
        The community of each motif (``Tree.cut``; ids 0 .. n-1): leaf colours.
    stability : hierarchy.Stability, optional
        Its per-community scores are written under the communities.
    names : mapping, optional
        ``{motif: name}``.
    ax : matplotlib.axes.Axes, optional
        Where to draw.
    title : str
        Default: the method (and stability).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ParameterError
        Community ids that are not 0 .. n-1.
    """
    from scipy.cluster.hierarchy import dendrogram as scipy_dendrogram

    plt = _plt()
    fig = ax.figure if ax is not None else plt.subplots(figsize=(max(4.0, 0.45 * tree.n_leaves + 1.5), 3.6))[0]
    ax = ax or fig.axes[0]
    z = tree.linkage()
    out = scipy_dendrogram(z, ax=ax, labels=[_name(names, m) for m in range(tree.n_leaves)], color_threshold=0,
                           above_threshold_color="0.4", leaf_rotation=60, leaf_font_size=7)
    if communities is not None:
        cols = motif_colours(community_count(communities))
        for lbl, leaf in zip(ax.get_xticklabels(), out["leaves"], strict=True):
            lbl.set_color(cols[communities[leaf]])
            lbl.set_fontweight("bold")
        if stability is not None:
            xs = {leaf: 5 + 10 * i for i, leaf in enumerate(out["leaves"])}
            for row in stability.table.itertuples():
                x = np.mean([xs[m] for m in row.motifs])
                ax.text(x, ax.get_ylim()[1] * 0.02, f"{row.stability:.2f}", ha="center", va="bottom", fontsize=7,
                        color=cols[row.community], bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})
    ax.set_ylabel("merge order" if tree.method.startswith("vame") or tree.method.startswith("vq") else "distance")
    ax.set_title(title or f"{tree.method}" + (f": stability {stability.score:.2f}" if stability is not None else ""),
                 fontsize="small")
    fig.tight_layout()
    return fig


def tree_comparison(trees: Mapping[str, object], cuts: Mapping[str, np.ndarray], stabilities: Mapping[str, object] | None = None,
                    names: Mapping[int, str] | None = None) -> matplotlib.figure.Figure:
    """Several methods' dendrograms side by side.

    Parameters
    ----------
    trees : mapping of str to hierarchy.Tree
        ``{method: tree}``, one panel each, over the same motifs.
    cuts : mapping of str to numpy.ndarray
        ``{method: community of each motif}`` (``Tree.cut``): leaf colours; a method it lacks is drawn plain.
    stabilities : mapping of str to hierarchy.Stability, optional
        ``{method: stability}``: each community's score, and the overall score in the title.
    names : mapping, optional
        ``{motif: name}``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    n = len(trees)
    width = max(4.0, 0.4 * next(iter(trees.values())).n_leaves + 1.5)
    fig, axes = plt.subplots(1, n, figsize=(width * n, 3.8), squeeze=False)
    for ax, (name, tree) in zip(axes[0], trees.items(), strict=True):
        st = (stabilities or {}).get(name)
        dendrogram(tree, cuts.get(name), st, names, ax=ax,
                   title=f"{name}" + (f" (stability {st.score:.2f})" if st is not None else ""))
    fig.tight_layout()
    return fig


def co_assignment(stability, names: Mapping[int, str] | None = None, ax=None) -> matplotlib.figure.Figure:
    """How often each pair of motifs stays in one community across bootstrap resamples (ordered by community).

    Parameters
    ----------
    stability : hierarchy.Stability
        From ``hierarchy.bootstrap``.
    names : mapping, optional
        ``{motif: name}``.
    ax : matplotlib.axes.Axes, optional
        Where to draw.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    order = np.argsort(stability.communities, kind="stable")
    m = stability.co_assignment[np.ix_(order, order)]
    fig = ax.figure if ax is not None else plt.subplots(figsize=(4.4, 3.9))[0]
    ax = ax or fig.axes[0]
    im = ax.imshow(m, cmap="magma", vmin=0, vmax=1)
    ax.set_xticks(range(len(order)), [_name(names, i) for i in order], rotation=60, ha="right", fontsize="x-small")
    ax.set_yticks(range(len(order)), [_name(names, i) for i in order], fontsize="x-small")
    fig.colorbar(im, ax=ax, label="share of resamples together")
    ax.set_title(f"co-assignment over {stability.n_boot} bootstrap resamples", fontsize="small")
    fig.tight_layout()
    return fig


def sankey(levels: Mapping[str, np.ndarray], usage: np.ndarray, names: Mapping[int, str] | None = None,
           level_names: Mapping[str, Mapping[int, str]] | None = None):
    """Plotly Sankey: motifs -> each level's communities in turn, flows sized by usage.

    Parameters
    ----------
    levels : mapping
        ``{level name: community of each motif}`` in order, e.g. ``{"4 communities": cut4, "2": cut2}``; ids
        0 .. n-1 (``Tree.cut``). For VQ codes: ``{"type": vq_tree.cut(depth=1)}``.
    usage : numpy.ndarray
        ``(k,)`` usage of each motif.
    names : mapping, optional
        ``{motif: name}``.
    level_names : mapping, optional
        ``{level name: {community: name}}``.

    Returns
    -------
    plotly.graph_objects.Figure

    Raises
    ------
    ParameterError
        Community ids that are not 0 .. n-1.
    """
    import plotly.graph_objects as go

    k = len(usage)
    labels = [_name(names, m) for m in range(k)]
    offsets, prev = {}, np.arange(k)
    prev_offset = 0
    src, dst, val = [], [], []
    offset = k
    for lvl, assign in levels.items():
        assign = np.asarray(assign)
        n = community_count(assign)
        labels += [((level_names or {}).get(lvl, {}) or {}).get(c, f"{lvl} {c}") for c in range(n)]
        for m in range(k):
            src.append(prev_offset + int(prev[m]))
            dst.append(offset + int(assign[m]))
            val.append(float(usage[m]))
        offsets[lvl] = offset
        prev, prev_offset = assign, offset
        offset += n
    # merge duplicate links (several motifs of one community flowing on)
    links = {}
    for s, d, v in zip(src, dst, val, strict=True):
        links[(s, d)] = links.get((s, d), 0.0) + v
    fig = go.Figure(go.Sankey(node={"label": labels, "pad": 12, "thickness": 14},
                              link={"source": [s for s, _ in links], "target": [d for _, d in links],
                                    "value": list(links.values())}))
    fig.update_layout(title="motifs → communities (width = usage)", width=760, height=460, font_size=10)
    return fig


def values_by_group(table, column: str, groups: Mapping[str, str], ylabel: str = "", ax=None) -> matplotlib.figure.Figure:
    """One value per animal (a column of ``table`` with a ``session`` column), a box and dots per group.

    Parameters
    ----------
    table : DataFrame
        One row per animal, with a ``session`` column and ``column`` (e.g. ``hierarchy.animal_summary``).
    column : str
        The value to plot.
    groups : mapping of str to str
        ``{session: group}``; sessions it does not list go to group ``"all"``.
    ylabel : str
        Default: ``column`` with spaces for underscores.
    ax : matplotlib.axes.Axes, optional
        Where to draw.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    t = table.assign(group=table["session"].map(groups).fillna("all"))
    gs = sorted(t["group"].unique())
    fig = ax.figure if ax is not None else plt.subplots(figsize=(1.3 * len(gs) + 1.8, 3.2))[0]
    ax = ax or fig.axes[0]
    data = [t.loc[t["group"] == g, column].to_numpy() for g in gs]
    bp = ax.boxplot(data, widths=0.5, patch_artist=True, showfliers=False)
    for patch, c in zip(bp["boxes"], plt.get_cmap("Set2")(np.arange(len(gs))), strict=True):
        patch.set(facecolor=c, alpha=0.6)
    rng = np.random.default_rng(0)
    for i, d in enumerate(data):
        ax.scatter(i + 1 + rng.uniform(-0.12, 0.12, len(d)), d, s=12, color="k", zorder=3)
    ax.set_xticks(range(1, len(gs) + 1), gs)
    ax.set_ylabel(ylabel or column.replace("_", " "))
    fig.tight_layout()
    return fig
