"""Figures of poses for notebooks 01-03 (matplotlib): import, cleaning QC, features.

Part of the figures floor (``plot``/``widgets``), drawn from what io, preprocess and features give.
Each function takes a poses Dataset (or a dict of them), draws on a new or given Axes, and returns the
Figure. No computation lives here that a test would need: summaries come from :mod:`behavnb.preprocess`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from behavnb.errors import ParameterError
from behavnb.preprocess import FLAGS, usable
from behavnb.preprocess._core import nanmean_axis

if TYPE_CHECKING:
    import matplotlib.figure
    import xarray as xr


def _plt():
    import matplotlib.pyplot as plt

    plt.rcParams.update({"figure.dpi": 100, "axes.spines.top": False, "axes.spines.right": False,
                         "axes.titlesize": "medium"})
    return plt


def _as_dict(poses) -> dict:
    return dict(poses) if isinstance(poses, Mapping) else {poses.attrs.get("session", "session"): poses}


def confidence_distribution(poses: Mapping[str, xr.Dataset] | xr.Dataset,
                            cutoff: float | None = None) -> matplotlib.figure.Figure:
    """Per-keypoint distribution of tracker confidence (box plots), pooled over sessions and animals.

    Parameters
    ----------
    poses : xarray.Dataset or mapping of str to xarray.Dataset
        One session's poses, or poses per session (as ``manifest.load_sessions`` gives them).
    cutoff : float, optional
        A confidence cutoff to draw as a dashed line.

    Returns
    -------
    matplotlib.figure.Figure
    """
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


def missing_heatmap(ds: xr.Dataset, cutoff: float = 0.0, individual: str | None = None,
                    bins: int = 200) -> matplotlib.figure.Figure:
    """Keypoint x time image of the fraction of frames missing or below ``cutoff`` (time in bins).

    Parameters
    ----------
    ds : xarray.Dataset
        One session's poses.
    cutoff : float, default 0.0
        Points with a lower confidence count as missing.
    individual : str, optional
        The animal to show (default: the first).
    bins : int, default 200
        Time bins (fewer when the session has fewer frames).

    Returns
    -------
    matplotlib.figure.Figure
    """
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
    """Lines of % points kept against the confidence cutoff, one per keypoint.

    Parameters
    ----------
    kept : pandas.DataFrame
        Columns ``keypoint``, ``cutoff``, ``kept`` (a fraction), as ``preprocess.kept_fraction`` gives.
    chosen : float, optional
        The cutoff in use, drawn as a dashed line.

    Returns
    -------
    matplotlib.figure.Figure
    """
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


def trajectories(poses: Mapping[str, xr.Dataset] | xr.Dataset, keypoint: str | None = None,
                 max_panels: int = 6) -> matplotlib.figure.Figure:
    """Each session's path in the arena (one keypoint, or the mean of all keypoints), coloured by time.

    Parameters
    ----------
    poses : xarray.Dataset or mapping of str to xarray.Dataset
        One session's poses, or poses per session; one panel per session.
    keypoint : str, optional
        The keypoint to follow (default: the mean of all keypoints).
    max_panels : int, default 6
        Sessions drawn at most (the first ones).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ParameterError
        When ``keypoint`` is not in a session.
    """
    plt = _plt()
    poses = _as_dict(poses)
    names = list(poses)[:max_panels]
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.2), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        ds = poses[name]
        if keypoint is not None and keypoint not in ds["keypoint"]:
            raise ParameterError(f"keypoint {keypoint!r} not in {list(ds['keypoint'].values)}: pass one of these.")
        arr = ds["position"].transpose("time", "individual", "keypoint", "space").values
        if keypoint:
            arr = arr[:, :, [list(ds["keypoint"].values).index(keypoint)]]
        centre = nanmean_axis(arr, axis=2)  # (time, individual, space)
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
    import warnings

    kps = [str(k) for k in ds["keypoint"].values]
    pos = ds["position"].transpose("time", "individual", "keypoint", "space").values
    centred = pos - np.expand_dims(nanmean_axis(pos, axis=2), 2)
    with warnings.catch_warnings():  # all-NaN keypoints are expected; numpy warns about them
        warnings.simplefilter("ignore", RuntimeWarning)
        median = np.nanmedian(centred.reshape(-1, *pos.shape[2:]), axis=0)  # (keypoint, space)
    return edges_from_pose(median, kps)


def edges_from_pose(pose: np.ndarray, keypoints: Sequence[str]) -> list[tuple[str, str]]:
    """Minimum-spanning-tree skeleton of one typical pose ``(keypoint, space)``; NaN keypoints are left out."""
    from scipy.sparse.csgraph import minimum_spanning_tree

    idx = np.flatnonzero(np.isfinite(pose).all(axis=1))
    if len(idx) < 2:
        return []
    d = np.linalg.norm(pose[idx, None] - pose[None, idx], axis=-1) + 1e-9
    tree = minimum_spanning_tree(d).tocoo()
    return [(str(keypoints[idx[i]]), str(keypoints[idx[j]])) for i, j in zip(tree.row, tree.col, strict=True)]


def skeleton_snapshot(ds: xr.Dataset, frames: Sequence[int] | None = None, edges: Sequence[tuple[str, str]] | None = None,
                      ax=None) -> matplotlib.figure.Figure:
    """Draw every animal's pose at a few frames.

    Default frames: 4 evenly spaced well-tracked frames for one animal, the best-tracked frame when
    there are several animals (overlaid frames of several animals are unreadable).

    Parameters
    ----------
    ds : xarray.Dataset
        One session's poses.
    frames : sequence of int, optional
        Frame indices to draw (default: as above).
    edges : sequence of (str, str), optional
        Keypoint pairs joined by lines (default: ``default_skeleton``, the spanning tree of the median pose).
    ax : matplotlib.axes.Axes, optional
        Draw here instead of on a new figure.

    Returns
    -------
    matplotlib.figure.Figure
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
                       label=(str(ind) if f_i == 0 and len(ds["individual"]) > 1
                              else (f"frame {f}" if i_i == 0 and len(ds["individual"]) == 1 else None)))
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


# --- preprocessing QC (notebook 02) ------------------------------------------------------------------------

_FLAG_STYLE = {"interpolated": ("tab:blue", "interpolated"), "low_confidence": ("tab:orange", "low confidence"),
               "jump": ("tab:red", "jump"), "outlier": ("tab:purple", "far from body"),
               "swapped": ("tab:green", "L/R swap fixed"),
               "id_swap": ("tab:brown", "identity swap fixed")}  # drawn in this order: the cause on top


def before_after(raw: xr.Dataset, clean: xr.Dataset, keypoint: str, individual: str | None = None,
                 start_s: float = 0.0, duration_s: float = 20.0) -> matplotlib.figure.Figure:
    """x and y of one keypoint over time, raw (grey) and cleaned (black), with what each step did marked.

    Parameters
    ----------
    raw : xarray.Dataset
        The poses before cleaning.
    clean : xarray.Dataset
        The same poses after cleaning steps (with the ``flag`` variable they write).
    keypoint : str
        The keypoint to show.
    individual : str, optional
        The animal to show (default: the first).
    start_s : float, default 0.0
        Start of the shown stretch, in seconds from the session's start.
    duration_s : float, default 20.0
        Length of the shown stretch in seconds.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    ind = individual or str(clean["individual"].values[0])
    t = clean["time"].values
    sel = (t >= t[0] + start_s) & (t < t[0] + start_s + duration_s)
    fig, axes = plt.subplots(2, 1, figsize=(10, 4.5), sharex=True)
    flag = clean["flag"].sel(keypoint=keypoint, individual=ind).values[sel]
    for ax, coord in zip(axes, ("x", "y"), strict=True):
        r = raw["position"].sel(keypoint=keypoint, individual=ind, space=coord).values[sel]
        c = clean["position"].sel(keypoint=keypoint, individual=ind, space=coord).values[sel]
        ax.plot(t[sel], r, color="0.7", lw=1, label="raw")
        ax.plot(t[sel], c, color="k", lw=1, label="cleaned")
        for name, (color, label) in _FLAG_STYLE.items():
            hit = (flag & FLAGS[name]) > 0
            if hit.any():
                y = np.where(np.isfinite(r[hit]), r[hit], c[hit])
                ax.scatter(t[sel][hit], y, s=12, color=color, label=label, zorder=3)
        ax.set_ylabel(f"{coord} ({clean.attrs.get('units', 'px')})")
    axes[0].set_title(f"{clean.attrs.get('session', '')} · {keypoint} · {ind}")
    axes[0].legend(loc="upper right", fontsize="small", ncol=3, frameon=False)
    axes[1].set_xlabel("time (s)")
    fig.tight_layout()
    return fig


def pose_cloud(cleaned: Mapping[str, xr.Dataset] | xr.Dataset, ax=None, max_frames: int = 3000,
               title: str | None = None, seed: int = 0) -> matplotlib.figure.Figure:
    """Every keypoint of the egocentric pose over many frames, one colour per keypoint.

    A tight, separated cloud per keypoint means alignment worked; smeared clouds mean a wobbly heading
    or tracking errors.

    Parameters
    ----------
    cleaned : xarray.Dataset or mapping of str to xarray.Dataset
        Cleaned, aligned poses (with ``ego_position``), one session or per session.
    ax : matplotlib.axes.Axes, optional
        Draw here instead of on a new figure.
    max_frames : int, default 3000
        Frames drawn in all, sampled evenly across sessions.
    title : str, optional
        Axes title (default "aligned poses").
    seed : int, default 0
        Seed of the frame sample.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    cleaned = _as_dict(cleaned)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6, 4))
    rng = np.random.default_rng(seed)
    first = next(iter(cleaned.values()))
    names = [str(k) for k in first["keypoint"].values]
    colors = plt.get_cmap("tab20")(np.linspace(0, 1, max(len(names), 2)))
    per = max(1, max_frames // len(cleaned))
    for ds in cleaned.values():
        ego = ds["ego_position"].transpose("time", "individual", "keypoint", "space").values[..., :2]
        ego = ego.reshape(-1, ego.shape[2], 2)
        take = rng.choice(len(ego), size=min(per, len(ego)), replace=False)
        for k, name in enumerate(names):
            ax.scatter(ego[take, k, 0], ego[take, k, 1], s=2, alpha=0.25, color=colors[k],
                       label=name if ds is first else None, rasterized=True)
    ax.set_aspect("equal")
    ax.set_xlabel(f"x ({first['ego_position'].attrs.get('units', '')}; heading →)")
    ax.set_ylabel("y")
    ax.set_title(title or "aligned poses")
    ax.legend(markerscale=5, fontsize="x-small", frameon=False, loc="center left", bbox_to_anchor=(1, 0.5))
    fig.tight_layout()
    return fig


def alignment_comparison(modes: Mapping[str, Mapping[str, xr.Dataset] | xr.Dataset]) -> matplotlib.figure.Figure:
    """Pose clouds side by side, one per alignment mode (e.g. 2-point vs anterior/posterior sets).

    Parameters
    ----------
    modes : mapping of str to (xarray.Dataset or mapping of str to xarray.Dataset)
        Mode name -> the poses cleaned that way (see ``pose_cloud``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    fig, axes = plt.subplots(1, len(modes), figsize=(6 * len(modes), 4), squeeze=False)
    for ax, (name, cleaned) in zip(axes[0], modes.items(), strict=True):
        pose_cloud(cleaned, ax=ax, title=name)
    fig.tight_layout()
    return fig


def qc_heatmap(qc, value: str = "pct_missing", max_sessions: int = 60) -> matplotlib.figure.Figure:
    """Sessions (rows) x keypoints (columns), coloured by a QC column.

    Parameters
    ----------
    qc : pandas.DataFrame
        The per-keypoint QC table (``preprocess.qc_table``, or ``clean_sessions``' first table).
    value : str, default "pct_missing"
        The column to colour by.
    max_sessions : int, default 60
        Rows drawn at most (session/individual pairs).

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    table = qc.assign(row=qc["session"] + np.where(qc["individual"].nunique() > 1, "/" + qc["individual"], ""))
    grid = table.pivot_table(index="row", columns="keypoint", values=value, sort=False).iloc[:max_sessions]
    fig, ax = plt.subplots(figsize=(0.45 * grid.shape[1] + 3, 0.22 * grid.shape[0] + 1.8))
    im = ax.imshow(grid.values, aspect="auto", cmap="magma_r", vmin=0, vmax=max(float(np.nanmax(grid.values)), 1.0))
    ax.set_xticks(range(grid.shape[1]), grid.columns, rotation=60, ha="right", fontsize="small")
    ax.set_yticks(range(grid.shape[0]), grid.index, fontsize="x-small")
    fig.colorbar(im, ax=ax, label=value.replace("_", " ").replace("pct", "%"))
    fig.tight_layout()
    return fig


# --- features (notebook 03) --------------------------------------------------------------------------------


def feature_by_group(values: Mapping[str, np.ndarray], groups: Mapping[str, str], name: str, units: str = "",
                     bins: int = 60, range_: tuple[float, float] | None = None,
                     circular: bool = False) -> matplotlib.figure.Figure:
    """Distribution of a feature pooled per group (density histograms, one line per group).

    The density's units are 1 / the feature's; a circular feature (an angle in radians) is drawn on a polar axis
    with the legend outside it, so that it does not cover the radial labels.

    Parameters
    ----------
    values : mapping of str to numpy.ndarray
        Per session, the feature's values (any shape; pooled).
    groups : mapping of str to str
        Session -> group (sessions not in it go to "all").
    name, units : str
        The feature's name and units ("cm/s", "rad", ...), for the axis labels.
    bins : int, default 60
        Histogram bins.
    range_ : (float, float), optional
        Histogram range (default: the pooled 0.5-99.5 % quantiles per group).
    circular : bool, default False
        Draw on a polar axis (angles in radians).

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    by_group: dict[str, list[np.ndarray]] = {}
    for session, v in values.items():
        by_group.setdefault(groups.get(session, "all"), []).append(np.ravel(v))
    fig = plt.figure(figsize=(5.8 if circular else 5, 3.8 if circular else 3.5))
    ax = fig.add_subplot(projection="polar" if circular else None)
    for g, parts in sorted(by_group.items()):
        x = np.concatenate(parts)
        x = x[np.isfinite(x)]
        lo, hi = range_ or (np.quantile(x, 0.005), np.quantile(x, 0.995))
        h, edges = np.histogram(x, bins=bins, range=(lo, hi), density=True)
        mids = (edges[1:] + edges[:-1]) / 2
        ax.plot(np.append(mids, mids[0]) if circular else mids, np.append(h, h[0]) if circular else h,
                label=f"{g} (n={len(parts)})")
    density = f"density (per {units})" if units else "density"
    if circular:  # angle ticks in degrees; radius = density
        ax.set_rlabel_position(112.5)
        ax.tick_params(axis="y", labelsize="x-small")
        ax.set_title(f"{name} (deg); radius: {density}", fontsize="medium", pad=14)
        ax.legend(frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1.12, 1.0))
    else:
        ax.set_xlabel(f"{name} ({units})" if units else name)
        ax.set_ylabel(density)
        ax.set_title(name)
        ax.legend(frameon=False, fontsize="small")
    fig.tight_layout()
    return fig


def occupancy(cleaned: Mapping[str, xr.Dataset], groups: Mapping[str, str] | None = None,
              bins: int = 40) -> matplotlib.figure.Figure:
    """Where the animals spent their time: a 2-D histogram of the body centre, one panel per group.

    Each panel shows the % of the group's frames in each bin (one colour scale for all panels, with a colorbar),
    the axes in the data's units (``attrs["units"]`` of the cleaned poses).

    Parameters
    ----------
    cleaned : mapping of str to xarray.Dataset
        Per session, the cleaned poses (with ``centroid``).
    groups : mapping of str to str, optional
        Session -> group (sessions not in it go to "all").
    bins : int, default 40
        Bins per axis.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    groups = groups or {}
    by_group: dict[str, list[np.ndarray]] = {}
    for session, ds in cleaned.items():
        xy = ds["centroid"].transpose("time", "individual", "space").values[..., :2].reshape(-1, 2)
        by_group.setdefault(groups.get(session, "all"), []).append(xy[np.isfinite(xy).all(axis=1)])
    units = str(next(iter(cleaned.values())).attrs.get("units", "px")) if cleaned else "px"
    allxy = np.concatenate([np.concatenate(v) for v in by_group.values()])
    rng = [[allxy[:, 0].min(), allxy[:, 0].max()], [allxy[:, 1].min(), allxy[:, 1].max()]]
    hists = {}
    for g, parts in sorted(by_group.items()):
        xy = np.concatenate(parts)
        h, xe, ye = np.histogram2d(xy[:, 0], xy[:, 1], bins=bins, range=rng)
        hists[g] = 100 * h / max(len(xy), 1)
    vmax = max(float(h.max()) for h in hists.values()) or 1.0
    fig, axes = plt.subplots(1, len(hists), figsize=(4.2 * len(hists) + 1.0, 3.8), squeeze=False, layout="constrained")
    for ax, (g, h) in zip(axes[0], hists.items(), strict=True):
        im = ax.imshow(h.T, origin="upper", extent=(xe[0], xe[-1], ye[-1], ye[0]), cmap="viridis", aspect="equal",
                       vmin=0, vmax=vmax)
        ax.set_title(f"{g}: {len(by_group[g])} session(s)")
        ax.set_xlabel(f"x ({units})")
        ax.set_ylabel(f"y ({units})")
    fig.colorbar(im, ax=list(axes[0]), label="% of frames per bin", shrink=0.9)
    return fig


def body_length_stability(features: Mapping[str, xr.Dataset], max_sessions: int = 30) -> matplotlib.figure.Figure:
    """Per session, the body length's median and 5-95 % range.

    It should be steady within and across sessions; a drifting or wide range points at tracking or
    scale problems.

    Parameters
    ----------
    features : mapping of str to xarray.Dataset
        Per session, the features of ``features.compute`` (with ``body_length``).
    max_sessions : int, default 30
        Sessions drawn at most (the first ones).

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    items = list(features.items())[:max_sessions]
    fig, ax = plt.subplots(figsize=(max(5, 0.3 * len(items) + 2), 3.5))
    for i, (session, f) in enumerate(items):
        v = f["body_length"].values.ravel()
        v = v[np.isfinite(v)]
        if len(v):
            lo, med, hi = np.quantile(v, [0.05, 0.5, 0.95])
            ax.plot([i, i], [lo, hi], color="0.6")
            ax.plot(i, med, "o", color="k", ms=4)
    ax.set_xticks(range(len(items)), [s for s, _ in items], rotation=70, fontsize="x-small")
    units = items[0][1]["body_length"].attrs.get("units", "") if items else ""
    ax.set_ylabel(f"body length ({units})")
    fig.tight_layout()
    return fig


def timescales(curves: Mapping[str, xr.DataArray], bouts_s: Sequence[float] | None = None,
               window_s: float | None = None) -> matplotlib.figure.Figure:
    """Autocorrelation of features against lag, with the model window and (if known) typical bout length.

    Parameters
    ----------
    curves : mapping of str to xarray.DataArray
        Feature name -> its autocorrelation over ``lag`` (``features.autocorrelation``).
    bouts_s : sequence of float, optional
        True bout durations in seconds; their interquartile range is shaded.
    window_s : float, optional
        The model's time window in seconds, drawn as a dashed line.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, ac in curves.items():
        ax.plot(ac["lag"].values, ac.values, label=name)
    ax.axhline(np.exp(-1), color="0.6", ls=":", lw=1)
    if window_s is not None:
        ax.axvline(window_s, color="k", ls="--", lw=1, label=f"model window {window_s:.2g} s")
    if bouts_s is not None and len(bouts_s):
        ax.axvspan(np.quantile(bouts_s, 0.25), np.quantile(bouts_s, 0.75), color="tab:green", alpha=0.15,
                   label="true bout length (IQR)")
    ax.set_xlabel("lag (s)")
    ax.set_ylabel("autocorrelation")
    ax.legend(frameon=False, fontsize="small")
    fig.tight_layout()
    return fig


def social_trace(social, individual: str, partner: str, episodes: np.ndarray | None = None,
                 duration_s: float = 60.0) -> matplotlib.figure.Figure:
    """Nose-to-nose and centre distance of one pair over time, with labelled social episodes shaded.

    Parameters
    ----------
    social : xarray.Dataset
        Pairwise features from ``features.social`` (``distance``, ``nose_nose``).
    individual, partner : str
        The pair: the animal and the one it is measured against.
    episodes : numpy.ndarray, optional
        A label per frame (e.g. the synthetic truth's ``social`` column); "none" is not shaded.
    duration_s : float, default 60.0
        Seconds shown from the start.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    t = social["time"].values
    sel = t < t[0] + duration_s
    fig, ax = plt.subplots(figsize=(10, 3))
    for name, color in (("distance", "0.5"), ("nose_nose", "k")):
        da = social[name].sel(individual=individual, partner=partner)
        ax.plot(t[sel], da.values[sel], color=color, lw=1, label=name.replace("_", "-"))
    if episodes is not None:
        ep = np.asarray(episodes)[sel]
        colors = dict(zip(sorted({str(e) for e in ep} - {"none", "nan"}), plt.get_cmap("Set2").colors, strict=False))
        for name, color in colors.items():
            on = ep.astype(str) == name
            ax.fill_between(t[sel], 0, 1, where=on, color=color, alpha=0.35, transform=ax.get_xaxis_transform(), label=name)
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"distance ({social['distance'].attrs.get('units', '')})")
    ax.set_title(f"{individual} → {partner}")
    ax.legend(frameon=False, fontsize="small", ncol=5, loc="upper right")
    fig.tight_layout()
    return fig

__all__ = [n for n, v in list(globals().items())
           if callable(v) and getattr(v, "__module__", "") == __name__ and not n.startswith("_")]
