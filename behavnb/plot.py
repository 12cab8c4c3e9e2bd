"""Figures for the notebooks (matplotlib). Each function takes a poses Dataset (or a dict of them),
draws on a new or given Axes, and returns the Figure. No computation lives here that a test would
need: summaries come from :mod:`behavnb.preprocess`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from behavnb.errors import ParameterError

if TYPE_CHECKING:
    import matplotlib.figure
    import xarray as xr


def _plt():
    import matplotlib.pyplot as plt

    plt.rcParams.update({"figure.dpi": 100, "axes.spines.top": False, "axes.spines.right": False,
                         "axes.titlesize": "medium"})
    return plt


def _nanmean(a: np.ndarray, axis: int, keepdims: bool = False) -> np.ndarray:
    """nanmean without the all-NaN warning (plain numpy: xarray's numbagg path JIT-compiles for seconds)."""
    n = np.isfinite(a).sum(axis=axis, keepdims=keepdims)
    total = np.nansum(a, axis=axis, keepdims=keepdims)
    return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def _as_dict(poses) -> dict:
    return dict(poses) if isinstance(poses, Mapping) else {poses.attrs.get("session", "session"): poses}


def confidence_distribution(poses: Mapping[str, xr.Dataset] | xr.Dataset, cutoff: float | None = None) -> matplotlib.figure.Figure:
    """Per-keypoint distribution of tracker confidence (box plots), pooled over sessions and animals."""
    plt = _plt()
    poses = _as_dict(poses)
    keypoints = list(next(iter(poses.values()))["keypoint"].values)
    data = []
    for k in keypoints:
        vals = np.concatenate([ds["confidence"].sel(keypoint=k).values.ravel() for ds in poses.values() if k in ds["keypoint"]])
        data.append(vals[np.isfinite(vals)])
    fig, ax = plt.subplots(figsize=(max(5, 0.45 * len(keypoints)), 3.2))
    if not any(len(d) for d in data):
        ax.text(0.5, 0.5, "these files carry no confidence scores", ha="center", va="center", transform=ax.transAxes)
    else:
        ax.boxplot([d if len(d) else [np.nan] for d in data], showfliers=False)
        ax.set_xticks(range(1, len(keypoints) + 1), keypoints, rotation=60, ha="right")
    if cutoff is not None:
        ax.axhline(cutoff, color="crimson", ls="--", lw=1, label=f"cutoff {cutoff:g}")
        ax.legend(loc="lower right", frameon=False)
    ax.set_ylabel("confidence")
    ax.set_title("Tracker confidence per keypoint")
    fig.tight_layout()
    return fig


def missing_heatmap(ds: xr.Dataset, cutoff: float = 0.0, individual: str | None = None, bins: int = 200) -> matplotlib.figure.Figure:
    """Keypoint x time image of the fraction of frames missing or below ``cutoff`` (time in bins)."""
    from behavnb.preprocess import usable

    plt = _plt()
    ind = individual or str(ds["individual"].values[0])
    bad = ~usable(ds, cutoff).sel(individual=ind).transpose("keypoint", "time").values
    n_t = bad.shape[1]
    bins = max(1, min(bins, n_t))
    edges = np.linspace(0, n_t, bins + 1).astype(int)
    frac = np.add.reduceat(bad.astype(float), edges[:-1], axis=1) / np.diff(edges)
    t = ds["time"].values
    fig, ax = plt.subplots(figsize=(8, 0.25 * len(ds["keypoint"]) + 1.2))
    im = ax.imshow(frac, aspect="auto", cmap="magma_r", vmin=0, vmax=1, interpolation="nearest",
                   extent=(t[0], t[-1], len(ds["keypoint"]) - 0.5, -0.5))
    ax.set_yticks(range(len(ds["keypoint"])), ds["keypoint"].values)
    ax.set_xlabel("time (s)")
    ax.set_title(f"{ds.attrs.get('session', '')} / {ind}: missing or confidence < {cutoff:g}")
    fig.colorbar(im, ax=ax, label="fraction of frames", fraction=0.03)
    fig.tight_layout()
    return fig


def kept_vs_cutoff(kept, chosen: float | None = None) -> matplotlib.figure.Figure:
    """Lines of % points kept against the confidence cutoff, one per keypoint (from ``preprocess.kept_fraction``)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for k, g in kept.groupby("keypoint", sort=False):
        ax.plot(g["cutoff"], 100 * g["kept"], lw=1, label=k)
    if chosen is not None:
        ax.axvline(chosen, color="crimson", ls="--", lw=1)
    ax.set_xlabel("confidence cutoff")
    ax.set_ylabel("% points kept")
    ax.set_ylim(0, 101)
    ax.legend(ncol=2, fontsize="x-small", frameon=False, bbox_to_anchor=(1.0, 1.0), loc="upper left")
    ax.set_title("How much data each cutoff keeps")
    fig.tight_layout()
    return fig


def trajectories(poses: Mapping[str, xr.Dataset] | xr.Dataset, keypoint: str | None = None, max_panels: int = 6) -> matplotlib.figure.Figure:
    """Each session's path in the arena (one keypoint, or the mean of all keypoints), coloured by time."""
    plt = _plt()
    poses = _as_dict(poses)
    names = list(poses)[:max_panels]
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.2), squeeze=False)
    for ax, name in zip(axes[0], names):
        ds = poses[name]
        if keypoint is not None and keypoint not in ds["keypoint"]:
            raise ParameterError(f"keypoint {keypoint!r} not in {list(ds['keypoint'].values)}: pass one of these.")
        arr = ds["position"].transpose("time", "individual", "keypoint", "space").values
        if keypoint:
            arr = arr[:, :, [list(ds["keypoint"].values).index(keypoint)]]
        centre = _nanmean(arr, axis=2)  # (time, individual, space)
        for i_i in range(centre.shape[1]):
            xy = centre[:, i_i]
            ax.scatter(xy[:, 0], xy[:, 1], c=ds["time"].values, s=2, cmap="viridis")
        ax.set_aspect("equal")
        ax.invert_yaxis()  # image coordinates: y grows downwards
        ax.set_title(name, fontsize="small")
        ax.set_xlabel("x (px)")
    axes[0][0].set_ylabel("y (px)")
    fig.suptitle(f"Trajectories ({keypoint or 'mean of keypoints'}; colour = time)", fontsize="medium")
    fig.tight_layout()
    return fig


def default_skeleton(ds: xr.Dataset) -> list[tuple[str, str]]:
    """Skeleton edges: the minimum spanning tree of the median (centred) pose.

    The spanning tree joins each keypoint to its nearest neighbours on the typical body, which draws a
    readable stick figure for any keypoint set without naming conventions.
    """
    from scipy.sparse.csgraph import minimum_spanning_tree

    import warnings

    kps = [str(k) for k in ds["keypoint"].values]
    pos = ds["position"].transpose("time", "individual", "keypoint", "space").values
    centred = pos - _nanmean(pos, axis=2, keepdims=True)
    with warnings.catch_warnings():  # all-NaN keypoints are expected; numpy warns about them
        warnings.simplefilter("ignore", RuntimeWarning)
        median = np.nanmedian(centred.reshape(-1, *pos.shape[2:]), axis=0)  # (keypoint, space)
    ok = np.isfinite(median).all(axis=1)
    idx = np.flatnonzero(ok)
    if len(idx) < 2:
        return []
    d = np.linalg.norm(median[idx, None] - median[None, idx], axis=-1) + 1e-9
    tree = minimum_spanning_tree(d).tocoo()
    return [(kps[idx[i]], kps[idx[j]]) for i, j in zip(tree.row, tree.col)]


def skeleton_snapshot(ds: xr.Dataset, frames: Sequence[int] | None = None, edges: Sequence[tuple[str, str]] | None = None,
                      ax=None) -> matplotlib.figure.Figure:
    """Draw every animal's pose at a few frames.

    Default frames: 4 evenly spaced well-tracked frames for one animal, the best-tracked frame when
    there are several animals (overlaid frames of several animals are unreadable).
    """
    plt = _plt()
    edges = list(edges) if edges is not None else default_skeleton(ds)
    kps = [str(k) for k in ds["keypoint"].values]
    pos = ds["position"].transpose("time", "individual", "keypoint", "space").values
    if frames is None:
        quality = np.isfinite(pos).all(-1).mean(axis=(1, 2))
        good = np.flatnonzero(quality >= quality.max() - 1e-9)
        n = 4 if len(ds["individual"]) == 1 else 1
        frames = good[np.linspace(0, len(good) - 1, min(n, len(good))).astype(int)]
    fig = ax.figure if ax is not None else plt.subplots(figsize=(4.5, 4.5))[0]
    ax = ax or fig.axes[0]
    colours = plt.get_cmap("tab10")
    for f_i, f in enumerate(frames):
        for i_i, ind in enumerate(ds["individual"].values):
            p = pos[f, i_i]
            c = colours(i_i if len(ds["individual"]) > 1 else f_i)
            for a, b in edges:
                pa, pb = p[kps.index(a)], p[kps.index(b)]
                ax.plot([pa[0], pb[0]], [pa[1], pb[1]], color=c, lw=1.5, alpha=0.8)
            ax.scatter(p[:, 0], p[:, 1], color=c, s=12, zorder=3,
                       label=(str(ind) if f_i == 0 and len(ds["individual"]) > 1 else (f"frame {f}" if i_i == 0 and len(ds["individual"]) == 1 else None)))
    if "unique_position" in ds:
        u = ds["unique_position"].transpose("time", "unique_keypoint", "space").values[frames[0]]
        ax.scatter(u[:, 0], u[:, 1], marker="*", color="k", s=60, label="unique keypoints")
    first = int(frames[0])
    nose = next((k for k in kps if k.lower() in ("nose", "snout", "head")), None)
    if nose:
        p = pos[first, 0, kps.index(nose)]
        if np.isfinite(p).all():
            ax.annotate(nose, p, textcoords="offset points", xytext=(5, 5), fontsize="small")
    ax.set_aspect("equal")
    ax.invert_yaxis()
    ax.legend(frameon=False, fontsize="small")
    ax.set_title(f"{ds.attrs.get('session', '')}: skeleton at frames {', '.join(str(int(f)) for f in frames)}", fontsize="small")
    fig.tight_layout()
    return fig
