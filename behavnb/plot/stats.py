"""Figures of group statistics (notebook 09): usage by group with significance, volcano, effect heatmap,
significant transition differences, time-bin trajectories.

Part of the figures floor (``plot``/``widgets``), drawn from the tables ``stats`` gives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from behavnb.plot.motifs import _name
from behavnb.plot.poses import _plt

if TYPE_CHECKING:
    import matplotlib.figure

__all__ = ["stars", "group_values", "volcano", "effect_heatmap", "transition_differences", "time_bin_trajectories"]


def stars(q: float) -> str:
    """Stars for a q-value: ``***`` q < 0.001, ``**`` < 0.01, ``*`` < 0.05, else ``ns``.

    Parameters
    ----------
    q : float
        The q-value.

    Returns
    -------
    str
    """
    return "***" if q < 0.001 else "**" if q < 0.01 else "*" if q < 0.05 else "ns"


def _mean_ci(v: np.ndarray, n_boot: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    v = np.asarray(v, float)
    if len(v) < 2:
        return float(np.mean(v)) if len(v) else np.nan, np.nan, np.nan
    rng = np.random.default_rng(seed)
    reps = v[rng.integers(0, len(v), (n_boot, len(v)))].mean(axis=1)
    return float(v.mean()), float(np.percentile(reps, 2.5)), float(np.percentile(reps, 97.5))


def group_values(per_subject: pd.DataFrame, results: pd.DataFrame, metric: str = "usage",
                 names: Mapping[int, str] | None = None, groups: Sequence[str] | None = None) -> matplotlib.figure.Figure:
    """Per motif: one dot per animal, group mean with its bootstrap 95 % CI, and the q-value's stars above.

    Parameters
    ----------
    per_subject : pandas.DataFrame
        One row per animal, motif and metric (``stats.animal_table``, or ``stats.per_subject`` of it):
        ``group, motif, metric, value``.
    results : pandas.DataFrame
        ``stats.compare(...).table``: ``motif, metric, q``.
    metric : str, default "usage"
        The metric to draw.
    names : mapping of int to str, optional
        Motif -> name for the axis.
    groups : sequence of str, optional
        Groups in drawing order (default: sorted).

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    d = per_subject[per_subject["metric"] == metric]
    gs = list(groups) if groups is not None else sorted(d["group"].astype(str).unique())
    motifs = sorted(d["motif"].unique())
    fig, ax = plt.subplots(figsize=(max(4.5, 0.7 * len(motifs) * len(gs) + 1.5), 3.4))
    colours = plt.get_cmap("Set2")(np.arange(len(gs)))
    w = 0.8 / len(gs)
    rng = np.random.default_rng(0)
    res = results[results["metric"] == metric].set_index("motif")
    for gi, g in enumerate(gs):
        for mi, m in enumerate(motifs):
            v = d[(d["group"].astype(str) == g) & (d["motif"] == m)]["value"].to_numpy()
            x = mi + (gi - (len(gs) - 1) / 2) * w
            ax.scatter(x + rng.uniform(-w / 6, w / 6, len(v)), v, s=8, color=colours[gi], alpha=0.7, zorder=2)
            mean, lo, hi = _mean_ci(v)
            ax.errorbar(x, mean, yerr=[[mean - lo], [hi - mean]], fmt="_", color="k", ms=12, lw=1.2, zorder=3)
        ax.scatter([], [], color=colours[gi], label=g)
    top = ax.get_ylim()[1]
    for mi, m in enumerate(motifs):
        if m in res.index and np.isfinite(res.loc[m, "q"]):
            ax.text(mi, top, stars(res.loc[m, "q"]), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(motifs)), [_name(names, m) for m in motifs], rotation=45 if len(motifs) > 6 else 0,
                  ha="right" if len(motifs) > 6 else "center", fontsize="small")
    ax.set_ylabel(metric.replace("_", " "))
    ax.legend(frameon=False, fontsize="small")
    ax.set_title("dots: animals; bars: group mean and 95 % bootstrap CI; stars: q-value", fontsize="small")
    fig.tight_layout()
    return fig


def volcano(results: pd.DataFrame, names: Mapping[int, str] | None = None, q: float = 0.05) -> matplotlib.figure.Figure:
    """Effect against -log10 q, one point per motif and metric; labelled where q < ``q``.

    Parameters
    ----------
    results : pandas.DataFrame
        ``stats.compare(...).table`` of two groups: ``motif, metric, effect, q``.
    names : mapping of int to str, optional
        Motif -> name for the labels.
    q : float, default 0.05
        The significance level drawn and labelled.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    r = results.dropna(subset=["q"])
    fig, ax = plt.subplots(figsize=(4.8, 3.8))
    metrics = sorted(r["metric"].unique())
    cols = plt.get_cmap("tab10")(np.arange(len(metrics)))
    for c, m in zip(cols, metrics, strict=True):
        d = r[r["metric"] == m]
        ax.scatter(d["effect"], -np.log10(d["q"]), s=18, color=c, label=m)
        for _, row in d[d["q"] < q].iterrows():
            ax.annotate(_name(names, row["motif"]), (row["effect"], -np.log10(row["q"])), fontsize=7,
                        textcoords="offset points", xytext=(3, 2))
    ax.axhline(-np.log10(q), color="0.5", ls=":", lw=1)
    ax.axvline(0, color="0.8", lw=1)
    ax.set(xlabel="effect (log2 fold change; Hedges' g for durations)", ylabel="-log10 q")
    ax.legend(frameon=False, fontsize="x-small")
    fig.tight_layout()
    return fig


def effect_heatmap(results: pd.DataFrame, names: Mapping[int, str] | None = None) -> matplotlib.figure.Figure:
    """Motifs x metrics, colour = effect (each metric scaled to its largest ``|effect|``), stars = q.

    Parameters
    ----------
    results : pandas.DataFrame
        ``stats.compare(...).table`` of two groups: ``motif, metric, effect, q``.
    names : mapping of int to str, optional
        Motif -> name for the rows.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    eff = results.pivot_table(index="motif", columns="metric", values="effect")
    # q is NaN for a whole metric kept out of the FDR family (bout count beside bout rate): align, no stars there
    qv = results.pivot_table(index="motif", columns="metric", values="q", dropna=False).reindex(
        index=eff.index, columns=eff.columns)
    scaled = eff / eff.abs().max().replace(0, 1)
    fig, ax = plt.subplots(figsize=(1.2 * eff.shape[1] + 2.5, 0.35 * eff.shape[0] + 1.5))
    im = ax.imshow(scaled.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    for i in range(eff.shape[0]):
        for j in range(eff.shape[1]):
            s = stars(qv.iloc[i, j]) if np.isfinite(qv.iloc[i, j]) else ""
            ax.text(j, i, "" if s == "ns" else s, ha="center", va="center", fontsize=7)
    ax.set_xticks(range(eff.shape[1]), [c.replace("_", " ") for c in eff.columns], rotation=30, ha="right", fontsize="small")
    ax.set_yticks(range(eff.shape[0]), [_name(names, m) for m in eff.index], fontsize="small")
    fig.colorbar(im, ax=ax, label="effect / max |effect| of the metric")
    fig.tight_layout()
    return fig


def transition_differences(edges: pd.DataFrame, usage: np.ndarray | None = None, names: Mapping[int, str] | None = None,
                           q: float = 0.05, groups: Sequence[str] = ("", "")) -> matplotlib.figure.Figure:
    """The transition graph with only the edges whose group difference has q < ``q``.

    Red edges are more frequent in the second group, blue in the first.

    Parameters
    ----------
    edges : pandas.DataFrame
        ``stats.transition_test``'s per-edge table: ``from_motif, to_motif, difference, q``.
    usage : numpy.ndarray, optional
        Usage per motif, for the node sizes.
    names : mapping of int to str, optional
        Motif -> name for the node labels.
    q : float, default 0.05
        Edges at or above this q are left out.
    groups : (str, str), default ("", "")
        The two groups (reference first), for the title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import networkx as nx

    plt = _plt()
    k = int(max(edges["from_motif"].max(), edges["to_motif"].max())) + 1
    g = nx.DiGraph()
    g.add_nodes_from(range(k))
    sig = edges[edges["q"] < q]
    for r in sig.itertuples():
        g.add_edge(int(r.from_motif), int(r.to_motif), diff=float(r.difference))
    fig, ax = plt.subplots(figsize=(5, 5))
    pos = nx.circular_layout(g)
    sizes = 300 + (2500 * np.asarray(usage) / np.max(usage) if usage is not None else 0)
    nx.draw_networkx_nodes(g, pos, ax=ax, node_size=sizes, node_color="0.85")
    nx.draw_networkx_labels(g, pos, ax=ax, labels={m: _name(names, m) for m in g.nodes}, font_size=7)
    if len(sig):
        d = [g.edges[e]["diff"] for e in g.edges]
        nx.draw_networkx_edges(g, pos, ax=ax, edge_color=["tab:red" if x > 0 else "tab:blue" for x in d],
                               width=[1 + 20 * abs(x) for x in d], arrowsize=14, connectionstyle="arc3,rad=0.15",
                               node_size=sizes)
    a, b = groups
    ax.set_title(f"{len(sig)} transitions with q < {q}" + (f" (red: more in {b} than {a})" if a else ""), fontsize="small")
    ax.axis("off")
    fig.tight_layout()
    return fig


def time_bin_trajectories(per_subject: pd.DataFrame, metric: str, motif: int, names: Mapping[int, str] | None = None,
                          bin_s: float | None = None) -> matplotlib.figure.Figure:
    """Mean +- bootstrap 95 % CI of one motif's metric across time bins, one line per group.

    Parameters
    ----------
    per_subject : pandas.DataFrame
        Per-animal values with a ``time_bin`` column (``stats.animal_table(..., bin_s=...)``, then
        ``stats.per_subject``).
    metric : str
        The metric to draw.
    motif : int
        The motif.
    names : mapping of int to str, optional
        Motif -> name for the title.
    bin_s : float, optional
        Bin length in seconds, for a time axis in s.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    KeyError
        When the table has no ``time_bin`` column.
    """
    plt = _plt()
    d = per_subject[(per_subject["metric"] == metric) & (per_subject["motif"] == motif)]
    if "time_bin" not in d:
        raise KeyError("the table has no time_bin column: build it with animal_table(..., bin_s=...).")
    fig, ax = plt.subplots(figsize=(4.6, 3.2))
    for g, gd in d.groupby("group"):
        stats_ = [(b, *_mean_ci(v["value"].to_numpy())) for b, v in gd.groupby("time_bin")]
        b, m, lo, hi = map(np.array, zip(*stats_, strict=True))
        x = b * (bin_s or 1)
        ax.plot(x, m, marker="o", label=str(g))
        ax.fill_between(x, lo, hi, alpha=0.2)
    ax.set(xlabel="time bin start (s)" if bin_s else "time bin", ylabel=metric.replace("_", " "),
           title=f"{_name(names, motif)} over the session")
    ax.legend(frameon=False, fontsize="small")
    fig.tight_layout()
    return fig
