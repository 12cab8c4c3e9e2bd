"""Figures of motifs (notebooks 06, 07): choosing k, recovery, usage, ethograms, UMAP, per-motif panels.

Part of the plot room of the flow (... hierarchy -> stats -> evaluate/health/demos -> **plot**/widgets -> export
...): it draws what ``codes`` and ``segment`` compute and changes nothing.

Every function takes motif names (``{motif: name}``, from ``motif_names.csv``) where it labels motifs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from behavnb.codes import motif_count
from behavnb.plot.poses import _plt, edges_from_pose
from behavnb.segment.tables import fps_of
from behavnb.segment.views import typical_trajectory

if TYPE_CHECKING:
    import matplotlib.figure

__all__ = ["motif_colours", "choose_k", "confusion", "bout_comparison", "usage_by_group", "ethogram", "umap",
           "umap_interactive", "draw_skeleton", "trajectory", "variability", "feature_distributions",
           "duration_histogram", "motif_panel", "method_comparison", "render_instances"]


def motif_colours(n: int) -> np.ndarray:
    """One colour per motif: tab10/tab20 up to 20 motifs, then evenly spaced hues."""
    plt = _plt()
    if n <= 10:
        return plt.get_cmap("tab10")(np.arange(n))
    if n <= 20:
        return plt.get_cmap("tab20")(np.arange(n))
    return plt.get_cmap("hsv")(np.linspace(0, 1, n, endpoint=False))


def _name(names: Mapping[int, str] | None, m: int) -> str:
    return (names or {}).get(int(m), f"motif {int(m)}")


def choose_k(table: pd.DataFrame) -> matplotlib.figure.Figure:
    """Stability, the usage rule and held-out likelihood against k, side by side (``segment.choose_k``).

    Parameters
    ----------
    table : DataFrame
        ``segment.choose_k``'s table, one row per k; the held-out panel only when it has ``heldout_loglik``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    has_ll = "heldout_loglik" in table
    fig, axes = plt.subplots(1, 3 if has_ll else 2, figsize=(11 if has_ll else 7.5, 3.2))
    k = table["k"]
    ax = axes[0]
    ax.errorbar(k, table["stability_ari"], yerr=[table["stability_ari"] - table["stability_min"], 0 * k], marker="o")
    ax.set(xlabel="k", ylabel="ARI between seeds", title="stability", ylim=(0, 1.02))
    ax = axes[1]
    ax.plot(k, k, ls=":", color="0.6", label="all motifs")
    ax.plot(k, table["motifs_above_usage"], marker="o", label=f"≥ {table.attrs.get('min_usage', 0.01):.0%} of frames")
    ax.set(xlabel="k", ylabel="motifs", title="usage rule")
    ax.legend(frameon=False, fontsize="small")
    if has_ll:
        ax = axes[2]
        ax.plot(k, table["heldout_loglik"], marker="o", label="held out")
        ax.plot(k, table["train_loglik"], marker=".", ls="--", color="0.5", label="training")
        ax.set(xlabel="k", ylabel="log-likelihood / frame", title="held-out likelihood")
        ax.legend(frameon=False, fontsize="small")
    fig.suptitle(f"choosing k ({table.attrs.get('method', '')})", fontsize="medium")
    fig.tight_layout()
    return fig


def confusion(table: pd.DataFrame, title: str = "", ax=None) -> matplotlib.figure.Figure:
    """Heatmap of ``segment.confusion`` (rows: true motifs, columns: found motifs in matched order).

    Parameters
    ----------
    table : DataFrame
        ``segment.confusion(..., normalize=True)``: each row sums to 1.
    title : str
        The panel's title.
    ax : matplotlib.axes.Axes, optional
        Where to draw.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    fig = ax.figure if ax is not None else plt.subplots(figsize=(0.45 * table.shape[1] + 2, 0.4 * table.shape[0] + 1.5))[0]
    ax = ax or fig.axes[0]
    im = ax.imshow(table.to_numpy(), cmap="Blues", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(table.shape[1]), [str(c) for c in table.columns], fontsize="small")
    ax.set_yticks(range(table.shape[0]), [str(r) for r in table.index], fontsize="small")
    ax.set(xlabel="found motif (matched order)", ylabel="true motif", title=title)
    fig.colorbar(im, ax=ax, label="share of the true motif's frames")
    fig.tight_layout()
    return fig


def method_comparison(scores: pd.DataFrame) -> matplotlib.figure.Figure:
    """Bars of ARI / NMI / matched accuracy per method (rows of ``scores``).

    Parameters
    ----------
    scores : DataFrame
        One row per method (the index labels the bars), with any of the columns ``ari``, ``nmi`` and
        ``matched_accuracy`` (``segment.truth_agreement``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    cols = [c for c in ("ari", "nmi", "matched_accuracy") if c in scores]
    fig, ax = plt.subplots(figsize=(1.4 * len(scores) + 2.5, 3))
    w = 0.8 / len(cols)
    for i, c in enumerate(cols):
        ax.bar(np.arange(len(scores)) + i * w, scores[c], w, label=c.replace("_", " "))
    ax.set_xticks(np.arange(len(scores)) + w * (len(cols) - 1) / 2, scores.index, fontsize="small")
    ax.set(ylim=(0, 1), ylabel="agreement with the true motifs")
    ax.legend(frameon=False, fontsize="small", ncols=len(cols))
    fig.tight_layout()
    return fig


def bout_comparison(table: pd.DataFrame) -> matplotlib.figure.Figure:
    """Mean bout duration, true against found, per true motif (``segment.bout_comparison``).

    Parameters
    ----------
    table : DataFrame
        ``segment.bout_comparison``'s table; its ``all`` row goes into the title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(3.6, 3.4))
    per = table.drop(index="all", errors="ignore")
    ax.scatter(per["true_mean_s"], per["found_mean_s"], s=30)
    for m, r in per.iterrows():
        ax.annotate(str(m), (r["true_mean_s"], r["found_mean_s"]), textcoords="offset points", xytext=(4, 2), fontsize="small")
    hi = float(np.nanmax(per[["true_mean_s", "found_mean_s"]].to_numpy())) * 1.1
    ax.plot([0, hi], [0, hi], color="0.5", ls=":")
    ax.fill_between([0, hi], [0, 0.7 * hi], [0, 1.3 * hi], color="0.9", zorder=0, label="±30 %")
    ax.set(xlabel="true mean bout (s)", ylabel="found mean bout (s)", xlim=(0, hi), ylim=(0, hi))
    if "all" in table.index:
        ax.set_title(f"all bouts: found/true = {table.loc['all', 'ratio']:.2f}", fontsize="small")
    ax.legend(frameon=False, fontsize="small")
    fig.tight_layout()
    return fig


def usage_by_group(usage: pd.DataFrame, groups: Mapping[str, str] | None = None, names: Mapping[int, str] | None = None,
                   motifs: Sequence[int] | None = None, ax=None) -> matplotlib.figure.Figure:
    """Per-motif usage (fraction of frames), one dot per session and animal, a box per group.

    Parameters
    ----------
    usage : DataFrame
        ``codes.usage``'s long table (session, individual, motif, fraction).
    groups : mapping of str to str, optional
        ``{session: group}``; sessions it does not list go to group ``"all"``.
    names : mapping, optional
        ``{motif: name}`` for the axis labels.
    motifs : sequence of int, optional
        The motifs to show; default every motif of ``usage``.
    ax : matplotlib.axes.Axes, optional
        Where to draw.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    u = usage.copy()
    u["group"] = u["session"].map(groups).fillna("all") if groups else "all"
    motifs = list(motifs) if motifs is not None else sorted(u["motif"].unique())
    u = u[u["motif"].isin(motifs)]
    gs = sorted(u["group"].unique())
    fig = ax.figure if ax is not None else plt.subplots(figsize=(max(4.0, 0.55 * len(motifs) * len(gs) + 1.5), 3.2))[0]
    ax = ax or fig.axes[0]
    colours = plt.get_cmap("Set2")(np.arange(len(gs)))
    w = 0.8 / len(gs)
    rng = np.random.default_rng(0)
    for gi, g in enumerate(gs):
        data = [u.loc[(u["motif"] == m) & (u["group"] == g), "fraction"].to_numpy() for m in motifs]
        pos = np.arange(len(motifs)) + (gi - (len(gs) - 1) / 2) * w
        bp = ax.boxplot(data, positions=pos, widths=w * 0.85, patch_artist=True, showfliers=False)
        for patch in bp["boxes"]:
            patch.set(facecolor=colours[gi], alpha=0.6)
        for p, d in zip(pos, data, strict=True):
            ax.scatter(p + rng.uniform(-w / 5, w / 5, len(d)), d, s=6, color="k", alpha=0.6, zorder=3)
        ax.plot([], [], color=colours[gi], lw=6, alpha=0.6, label=g)
    ax.set_xticks(range(len(motifs)), [_name(names, m) for m in motifs], rotation=45 if len(motifs) > 6 else 0,
                  ha="right" if len(motifs) > 6 else "center", fontsize="small")
    ax.set(ylabel="usage (fraction of frames)")
    if len(gs) > 1:
        ax.legend(frameon=False, fontsize="small")
    fig.tight_layout()
    return fig


def ethogram(labels: pd.DataFrame, groups: Mapping[str, str] | None = None, names: Mapping[int, str] | None = None,
             max_sessions: int = 24, max_seconds: float | None = None, *, n_motifs: int | None = None,
             fps: float | None = None) -> matplotlib.figure.Figure:
    """Motif raster: one row per session (and animal), time on x, colour = motif; one panel per group.

    Parameters
    ----------
    labels : DataFrame
        The labels table (``segment.read_segmentation(folder).labels``).
    groups : mapping, optional
        ``{session: group}``; one panel per group.
    names : mapping, optional
        ``{motif: name}`` for the legend.
    max_sessions : int
        Rows shown in all (shared between the groups).
    max_seconds : float, optional
        Only the first seconds of each recording.
    n_motifs : int, optional
        k, which sets the colours; None: the labels' metadata (``codes.motif_count``).
    fps : float, optional
        Frame rate; None: the labels' metadata, else their ``time`` column.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ParameterError
        k unknown.
    """
    plt = _plt()
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    ok = labels["motif"] >= 0
    k = max(motif_count(labels, n_motifs), 1)
    colours = motif_colours(k)
    cmap = ListedColormap(colours).with_extremes(bad="white")
    keys = labels[["session", "individual"]].drop_duplicates()
    keys["group"] = keys["session"].map(groups).fillna("all") if groups else "all"
    gs = sorted(keys["group"].unique())
    per_group = max(1, max_sessions // len(gs))
    fps = float(fps or fps_of(labels))
    rows_by_group = {g: keys[keys["group"] == g].head(per_group) for g in gs}
    n_rows = [len(r) for r in rows_by_group.values()]
    fig, axes = plt.subplots(len(gs), 1, figsize=(10, 0.28 * sum(n_rows) + 1.2 * len(gs) + 0.8),
                             gridspec_kw={"height_ratios": n_rows}, squeeze=False)
    lab = labels.set_index(["session", "individual"])
    for ax, g in zip(axes[:, 0], gs, strict=True):
        rows = rows_by_group[g]
        seqs = []
        for s, ind in zip(rows["session"], rows["individual"], strict=True):
            y = lab.loc[(s, ind)].sort_values("frame")["motif"].to_numpy().astype(float)
            if max_seconds:
                y = y[: int(max_seconds * fps)]
            seqs.append(y)
        width = max(len(y) for y in seqs)
        img = np.full((len(seqs), width), np.nan)
        for i, y in enumerate(seqs):
            img[i, : len(y)] = np.where(y >= 0, y, np.nan)
        ax.imshow(np.ma.masked_invalid(img), aspect="auto", interpolation="nearest", cmap=cmap, vmin=-0.5, vmax=k - 0.5,
                  extent=(0, width / fps, len(seqs) - 0.5, -0.5))
        multi = rows["individual"].nunique() > 1
        ticks = [f"{s} {i}" if multi else s for s, i in zip(rows["session"], rows["individual"], strict=True)]
        ax.set_yticks(range(len(seqs)), ticks, fontsize="x-small")
        ax.set_title(f"group {g}" if len(gs) > 1 else "", fontsize="small", loc="left")
    axes[-1, 0].set_xlabel("time (s)")
    handles = [Patch(color=colours[m], label=_name(names, m)) for m in range(k) if m in set(labels.loc[ok, "motif"])]
    fig.legend(handles=handles, loc="upper center", ncols=min(len(handles), 8), fontsize="x-small", frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.93 if len(handles) <= 8 else 0.88))
    return fig


def umap(table: pd.DataFrame, color: str = "motif", names: Mapping[int, str] | None = None, ax=None,
         selected: np.ndarray | None = None) -> matplotlib.figure.Figure:
    """Static UMAP scatter (``segment.umap_table``), coloured by motif, session, group or time.

    Parameters
    ----------
    table : DataFrame
        ``segment.umap_table``'s table (``umap_1``, ``umap_2`` and the columns to colour by).
    color : str
        ``"time"`` (a colour scale) or a column of ``table`` (``"motif"``, ``"session"``, ``"group"``, ...).
    names : mapping, optional
        ``{motif: name}`` for the legend.
    ax : matplotlib.axes.Axes, optional
        Where to draw.
    selected : numpy.ndarray, optional
        Row numbers of points to circle.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    KeyError
        ``color`` is not ``"time"`` and not a column of ``table``.
    """
    plt = _plt()
    fig = ax.figure if ax is not None else plt.subplots(figsize=(5.2, 4.6))[0]
    ax = ax or fig.axes[0]
    x, y = table["umap_1"].to_numpy(), table["umap_2"].to_numpy()
    if color == "time":
        sc = ax.scatter(x, y, c=table["time"], s=2, cmap="viridis", rasterized=True)
        fig.colorbar(sc, ax=ax, label="time in session (s)")
    else:
        if color not in table:
            raise KeyError(f"cannot colour by {color!r}: the table has {list(table.columns)}")
        cats = sorted(table[color].unique(), key=str)
        colours = motif_colours(max(int(max(cats)) + 1, 1)) if color in ("motif", "type", "subtype") \
            and all(isinstance(c, (int, np.integer)) for c in cats) else motif_colours(len(cats))
        for i, c in enumerate(cats):
            sel = table[color].to_numpy() == c
            col = colours[int(c)] if color in ("motif", "type", "subtype") and int(c) >= 0 else colours[i % len(colours)]
            label = _name(names, c) if color == "motif" else str(c)
            ax.scatter(x[sel], y[sel], s=2, color=col if (color != "motif" or c >= 0) else "0.8", label=label, rasterized=True)
        if len(cats) <= 20:
            ax.legend(markerscale=4, fontsize="x-small", frameon=False, loc="center left", bbox_to_anchor=(1, 0.5))
    if selected is not None and len(selected):
        ax.scatter(x[selected], y[selected], s=25, facecolors="none", edgecolors="k", lw=1, label="selected")
    ax.set(xticks=[], yticks=[], xlabel="UMAP 1", ylabel="UMAP 2")
    ax.set_title(f"UMAP of {len(table):,} frames, coloured by {color}", fontsize="small")
    fig.tight_layout()
    return fig


def umap_interactive(table: pd.DataFrame, color: str = "motif", names: Mapping[int, str] | None = None):
    """Interactive plotly UMAP: hover shows session, animal, frame, time and motif; box/lasso select points.

    Parameters
    ----------
    table : DataFrame
        ``segment.umap_table``'s table.
    color : str
        ``"time"``, ``"motif"`` (coloured by name) or another column of ``table``.
    names : mapping, optional
        ``{motif: name}``.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    import plotly.express as px

    t = table.copy()
    if "motif" in t:
        t["motif name"] = [_name(names, m) for m in t["motif"]]
    col = "motif name" if color == "motif" else color
    if color != "time":
        t[col] = t[col].astype(str)
    hover = [c for c in ("session", "individual", "frame", "time", "motif", "motif name", "group") if c in t]
    fig = px.scatter(t, x="umap_1", y="umap_2", color=col, hover_data=hover, render_mode="webgl",
                     title=f"UMAP of {len(t):,} frames (hover for session/frame/motif)")
    fig.update_traces(marker={"size": 3})
    fig.update_layout(width=700, height=550, legend={"itemsizing": "constant"}, dragmode="lasso")
    return fig


# -- per-motif panels -----------------------------------------------------------------------------------------

def draw_skeleton(ax, pose: np.ndarray, edges: Sequence[tuple[int, int]], color="k", alpha: float = 1.0, lw: float = 1.5,
                  size: float = 10):
    """One pose ``(keypoint, 2)`` as dots and edges (``edges`` as keypoint index pairs)."""
    artists = []
    for a, b in edges:
        artists += ax.plot(pose[[a, b], 0], pose[[a, b], 1], color=color, alpha=alpha, lw=lw)
    artists.append(ax.scatter(pose[:, 0], pose[:, 1], color=color, alpha=alpha, s=size, zorder=3))
    return artists


def _edges(median: np.ndarray, keypoints: Sequence[str], edges=None) -> list[tuple[int, int]]:
    import warnings

    kps = list(keypoints)
    if edges is None:
        with warnings.catch_warnings():  # keypoints missing in every instance are expected
            warnings.simplefilter("ignore", RuntimeWarning)
            edges = edges_from_pose(np.nanmedian(median.reshape(-1, *median.shape[-2:]), axis=0), kps)
    named = edges
    return [(kps.index(a), kps.index(b)) for a, b in named]


def _pose_axes(ax, units: str) -> None:
    """Skeleton axes: equal aspect; with ``units``, small ticks and x/y labels in them, else no ticks."""
    ax.set_aspect("equal", adjustable="datalim")
    if units:
        ax.set_xlabel(f"x ({units}; heading →)", fontsize="small")
        ax.set_ylabel(f"y ({units})", fontsize="small")
        ax.tick_params(labelsize="x-small")
    else:
        ax.set(xticks=[], yticks=[])


def trajectory(poses: np.ndarray, keypoints: Sequence[str], ax=None, edges=None, title: str = "",
               units: str = "") -> matplotlib.figure.Figure:
    """The typical trajectory: the median skeleton over instances at each relative time, light (onset) to dark (end).

    Parameters
    ----------
    poses
        Instances ``(n, steps, keypoint, 2)`` (``MotifData.poses``), egocentric.
    keypoints, edges
        Keypoint names; the skeleton's edges (default: from the median pose).
    ax
        Axes to draw into (default: a new figure).
    title
        The panel's title (default: says what is drawn).
    units
        The poses' units ("cm", "px"): labelled axes with ticks; "" hides the ticks.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    fig = ax.figure if ax is not None else plt.subplots(figsize=(3.4, 3.4))[0]
    ax = ax or fig.axes[0]
    med, _ = typical_trajectory(poses)
    e = _edges(med, keypoints, edges)
    cmap = plt.get_cmap("viridis")
    steps = np.linspace(0, len(med) - 1, min(5, len(med))).astype(int)
    for j, i in enumerate(steps):
        draw_skeleton(ax, med[i], e, color=cmap(j / max(len(steps) - 1, 1)), alpha=0.9, lw=1.3, size=6)
    _pose_axes(ax, units)
    ax.set(title=title or f"median skeleton, onset → end ({len(poses)} instances)")
    ax.title.set_fontsize("small")
    return fig


def variability(poses: np.ndarray, keypoints: Sequence[str], ax=None, edges=None,
                units: str = "") -> matplotlib.figure.Figure:
    """Instance-to-instance variability: every instance's mid-bout pose over the median, circles = keypoint spread.

    Parameters
    ----------
    poses
        Instances ``(n, steps, keypoint, 2)`` (``MotifData.poses``).
    keypoints, edges
        Keypoint names; the skeleton's edges (default: from the median pose).
    ax
        Axes to draw into (default: a new figure).
    units
        The poses' units ("cm", "px"), for the spread in the title and labelled axes; "" hides the ticks.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    fig = ax.figure if ax is not None else plt.subplots(figsize=(3.4, 3.4))[0]
    ax = ax or fig.axes[0]
    med, spread = typical_trajectory(poses)
    mid = len(med) // 2
    e = _edges(med, keypoints, edges)
    for p in poses[:, mid]:
        draw_skeleton(ax, p, e, color="tab:gray", alpha=0.35, lw=0.8, size=3)
    draw_skeleton(ax, med[mid], e, color="k", lw=2, size=8)
    from matplotlib.patches import Circle

    for k in range(med.shape[1]):
        if np.isfinite(med[mid, k]).all() and np.isfinite(spread[mid, k]):
            ax.add_patch(Circle(med[mid, k], spread[mid, k], fill=False, color="tab:red", lw=0.8))
    _pose_axes(ax, units)
    ax.set_title(f"variability mid-bout (median spread {np.nanmedian(spread[mid]):.2g}{' ' + units if units else ''})",
                 fontsize="small")
    return fig


def feature_distributions(feature_table: pd.DataFrame, motif: int, features: Sequence[str] | None = None,
                          axes=None, units: Mapping[str, str] | None = None) -> matplotlib.figure.Figure:
    """Each kinematic feature's distribution in the motif against all frames (``segment.motif_features``).

    Parameters
    ----------
    feature_table
        ``segment.motif_features``: one row per frame, a ``motif`` column and one column per feature.
    motif
        The motif to show against all frames.
    features
        The features (default: speed, body length, head angle, those present).
    axes
        One axes per feature (default: a new figure).
    units
        Feature -> units ("cm/s", "rad"), for the x labels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    units = units or {}
    features = [f for f in (features or ("speed", "body_length", "head_angle")) if f in feature_table]
    if axes is None:
        fig, axes = plt.subplots(1, len(features), figsize=(2.6 * len(features), 2.4), squeeze=False)
        axes = axes[0]
    fig = axes[0].figure
    sel = feature_table["motif"] == motif
    for ax, f in zip(axes, features, strict=False):
        allv = feature_table[f].dropna().to_numpy()
        mv = feature_table.loc[sel, f].dropna().to_numpy()
        lo, hi = np.nanpercentile(allv, [1, 99]) if len(allv) else (0, 1)
        bins = np.linspace(lo, hi if hi > lo else lo + 1, 40)
        ax.hist(allv, bins=bins, density=True, color="0.8", label="all frames")
        if len(mv):
            ax.hist(mv, bins=bins, density=True, histtype="step", lw=1.8, color="tab:red", label="this motif")
        u = units.get(f, "")
        ax.set(xlabel=f.replace("_", " ") + (f" ({u})" if u else ""), yticks=[], ylabel="density")
    axes[0].legend(frameon=False, fontsize="x-small")
    return fig


def duration_histogram(bout_table: pd.DataFrame, motif: int, ax=None) -> matplotlib.figure.Figure:
    """Bout durations of one motif (s); the dashed line is the median."""
    plt = _plt()
    fig = ax.figure if ax is not None else plt.subplots(figsize=(3, 2.4))[0]
    ax = ax or fig.axes[0]
    d = bout_table.loc[bout_table["motif"] == motif, "duration_s"].to_numpy()
    if len(d):
        ax.hist(d, bins=np.linspace(0, np.percentile(d, 99) + 1e-9, 30), color="tab:blue", alpha=0.8)
        ax.axvline(np.median(d), color="k", ls="--", lw=1)
    ax.set(xlabel="bout duration (s)", ylabel="bouts")
    ax.set_title(f"{len(d)} bouts, median {np.median(d) if len(d) else float('nan'):.2f} s", fontsize="small")
    return fig


def _feature_units(features: Mapping | None) -> dict[str, str]:
    """Feature -> units, from the ``units`` attrs of the first session's features (03 writes them)."""
    first = next(iter((features or {}).values()), None)
    if first is None:
        return {}
    return {str(n): str(v.attrs["units"]) for n, v in first.data_vars.items() if v.attrs.get("units")}


def motif_panel(data, motif: int, n_instances: int = 12, seed: int = 0, edges=None) -> matplotlib.figure.Figure:
    """The four panels of one motif from a ``segment.MotifData``: typical trajectory, variability, usage per group,
    duration histogram, and (with features) the kinematics below.

    Parameters
    ----------
    data : segment.MotifData
        The labels, cleaned poses, features and names to draw from.
    motif : int
        The motif.
    n_instances : int
        Random bouts behind the trajectory and variability panels.
    seed : int
        Seed of that sample.
    edges : sequence of (str, str), optional
        The skeleton's edges as keypoint name pairs; default: from the median pose.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    inst = data.instances(motif, n_instances, seed)
    ft = data.feature_table()
    n_feat = len([f for f in ("speed", "body_length", "head_angle") if ft is not None and f in ft])
    fig = plt.figure(figsize=(12, 6.2 if n_feat else 3.4))
    gs = fig.add_gridspec(2 if n_feat else 1, 4 if not n_feat else max(4, n_feat))
    axes = [fig.add_subplot(gs[0, i]) for i in range(4)]
    if len(inst):
        poses, kps = data.poses(inst)
        first = next(iter(data.cleaned.values()), None)
        # the poses' units: the cleaned data's, else the features' lengths', else pixels (as 03 assumes)
        units = str((first.attrs.get("units") if first is not None else None)
                    or _feature_units(data.features).get("body_length") or "px")
        trajectory(poses, kps, ax=axes[0], edges=edges, units=units)
        variability(poses, kps, ax=axes[1], edges=edges, units=units)
    else:
        for ax in axes[:2]:
            ax.text(0.5, 0.5, "no bout long enough", ha="center", transform=ax.transAxes)
    usage_by_group(data.usage, data.groups, data.names, motifs=[motif], ax=axes[2])
    axes[2].set_title("usage per session", fontsize="small")
    duration_histogram(data.bouts, motif, ax=axes[3])
    if n_feat:
        feature_distributions(ft, motif, axes=[fig.add_subplot(gs[1, i]) for i in range(n_feat)],
                              units=_feature_units(data.features))
    fig.suptitle(f"{data.name(motif)} (motif {motif}): {data.share.get(motif, 0):.1%} of frames", fontsize="medium")
    fig.tight_layout()
    return fig


def render_instances(clips: Sequence[np.ndarray], keypoints: Sequence[str], frame: int | None = None, *,
                     edges=None, video: Sequence[np.ndarray | None] | None = None, title: str = "",
                     ncols: int = 4, size: float = 2.0) -> matplotlib.figure.Figure:
    """A grid of instances at one frame (or every instance's last frame when shorter): skeletons, and the video
    frame beside/under it when given. ``frame=None`` draws the middle frame."""
    plt = _plt()
    n = len(clips)
    ncols = min(ncols, max(n, 1))
    nrows = int(np.ceil(max(n, 1) / ncols))
    has_video = video is not None and any(v is not None and len(v) for v in video)
    fig, axes = plt.subplots(nrows * (2 if has_video else 1), ncols,
                             figsize=(size * ncols, size * nrows * (2 if has_video else 1)), squeeze=False)
    allp = np.concatenate([c.reshape(-1, c.shape[-1]) for c in clips]) if n else np.zeros((1, 2))
    lo, hi = np.nanpercentile(allp, 1, axis=0), np.nanpercentile(allp, 99, axis=0)
    pad = 0.15 * np.nanmax(hi - lo) if np.isfinite(hi - lo).all() else 1.0
    for ax in axes.ravel():
        ax.set(xticks=[], yticks=[])
        ax.set_aspect("equal")
        for sp in ax.spines.values():
            sp.set_visible(False)
    for i, clip in enumerate(clips):
        r, c = divmod(i, ncols)
        ax = axes[r * (2 if has_video else 1), c]
        t = min(len(clip) - 1, len(clip) // 2 if frame is None else frame)
        e = _edges(clip, keypoints, edges)
        draw_skeleton(ax, clip[t], e, color=motif_colours(10)[i % 10])
        ax.set(xlim=(lo[0] - pad, hi[0] + pad), ylim=(lo[1] - pad, hi[1] + pad))
        ax.set_title(f"{t + 1}/{len(clip)}", fontsize="x-small")
        if has_video:
            vax = axes[r * 2 + 1, c]
            v = video[i]
            if v is not None and len(v):
                vax.imshow(v[min(t, len(v) - 1)])
            else:
                vax.text(0.5, 0.5, "no video", ha="center", va="center", transform=vax.transAxes, fontsize="small")
    if title:
        fig.suptitle(title, fontsize="small")
    fig.tight_layout()
    return fig
