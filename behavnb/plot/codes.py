"""Figures for VQ-MAP (notebook 05): the architecture, code usage, the decoded motif grid, co-embedding,
robustness to missing keypoints, and generated code sequences.

Part of the figures floor (``plot``/``widgets``), drawn from what models, embed, codes and evaluate give.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from behavnb.plot.poses import _plt, edges_from_pose

if TYPE_CHECKING:
    import matplotlib.figure
    import pandas as pd


def vqmap_diagram(config) -> matplotlib.figure.Figure:
    """VQ-MAP as boxes and arrows, with the sizes of ``config``.

    Parameters
    ----------
    config : behavnb.models.vqmap.VQMAPConfig
        The architecture to draw.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    c = config
    fig, ax = plt.subplots(figsize=(11, 3.6))
    ax.set_xlim(0, 11)
    ax.set_ylim(0, 3.6)
    ax.axis("off")
    feats = "position + velocity"
    boxes = [
        (0.05, 1.3, f"K keypoints x {c.window} frames\n({feats} each;\nany K, any order)", "#dbe9f6"),
        (2.05, 1.3, f"same 1-D convs for\nevery keypoint\n/{c.downsample} in time, dilated res", "#fde0c5"),
        (4.05, 1.3, f"mix keypoints:\n{c.slots} learned slots attend,\ntokens read back, pool", "#fde0c5"),
        (6.05, 2.2, f"type codebook\n{c.n_types} codes", "#e4d4f4"),
        (6.05, 0.4, f"subtype codebook\n{c.n_subtypes} codes", "#e4d4f4"),
        (8.3, 1.3, "conv decoder x{0}\none head per\nskeleton".format(c.downsample), "#d5f0d5"),
    ]
    for x, y, text, color in boxes:
        ax.add_patch(FancyBboxPatch((x, y), 1.8, 0.95, boxstyle="round,pad=0.05", fc=color, ec="0.4"))
        ax.text(x + 0.9, y + 0.47, text, ha="center", va="center", fontsize=8.2)

    def arrow(a, b):
        ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=14, color="0.3"))

    arrow((1.9, 1.77), (2.05, 1.77))
    arrow((3.9, 1.77), (4.05, 1.77))
    arrow((5.9, 1.9), (6.05, 2.5))
    arrow((5.9, 1.6), (6.05, 0.95))
    arrow((7.9, 2.5), (8.3, 2.0))
    arrow((7.9, 0.9), (8.3, 1.5))
    ax.text(10.2, 1.77, "poses of\nany skeleton", fontsize=8.2, va="center")
    how = "halves of the latent" if c.quantize == "split" else "type, then what type leaves"
    ax.text(5.5, 3.55, f"every {c.downsample} frames: motif = type x {c.n_subtypes} + subtype ({how}); "
            f"loss = reconstruction MSE + commitment" + (" + type summary" if c.type_summary else ""),
            ha="center", va="top", fontsize=9)
    if c.type_summary:
        ax.text(6.95, 3.2, "type alone -> each step's mean pose\nand how much each keypoint moves", ha="center",
                va="bottom", fontsize=7.5, color="0.3")
    fig.tight_layout()
    return fig


def code_usage(types, subtypes, n_types: int, n_subtypes: int, title: str = "") -> matplotlib.figure.Figure:
    """Usage of the type codes (bars) and of every type x subtype pair (heatmap, % of frames).

    Parameters
    ----------
    types, subtypes : array_like of int
        One type and one subtype code per frame (-1 for none, left out).
    n_types, n_subtypes : int
        Codebook sizes.
    title : str, default ""
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    t, s = np.asarray(types).ravel(), np.asarray(subtypes).ravel()
    ok = (t >= 0) & (s >= 0)
    grid = np.zeros((n_types, n_subtypes))
    np.add.at(grid, (t[ok], s[ok]), 1)
    grid = 100 * grid / max(grid.sum(), 1)
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.2), gridspec_kw={"width_ratios": [1, 2.4]})
    a.bar(np.arange(n_types), grid.sum(axis=1), color="#7a5195")
    a.set_xlabel("type")
    a.set_ylabel("% of frames")
    a.set_xticks(np.arange(n_types))
    im = b.imshow(grid, aspect="auto", cmap="magma_r")
    b.set_xlabel("subtype")
    b.set_ylabel("type")
    b.set_xticks(np.arange(n_subtypes))
    b.set_yticks(np.arange(n_types))
    fig.colorbar(im, ax=b, label="% of frames")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def motif_grid(poses: np.ndarray, keypoints: Sequence[str], usage: np.ndarray | None = None, n_frames: int = 5,
               edges: Sequence[tuple[str, str]] | None = None, min_usage: float = 0.0) -> matplotlib.figure.Figure:
    """Decoded motifs: types as rows, subtypes as columns, each cell a small-multiple skeleton.

    Frames go from light (early) to dark (late); cells used less than ``min_usage`` (%) are greyed.

    Parameters
    ----------
    poses : numpy.ndarray
        ``(n_types, n_subtypes, T, K, 2)`` decoded poses (``evaluate.decode_codes``, reshaped).
    keypoints : sequence of str
        The K keypoint names.
    usage : numpy.ndarray, optional
        ``(n_types, n_subtypes)`` % of frames per motif, written in each cell.
    n_frames : int, default 5
        Frames drawn per cell, evenly spaced.
    edges : sequence of (str, str), optional
        Keypoint pairs joined by lines (default: the spanning tree of the mean pose).
    min_usage : float, default 0.0
        Cells below this usage (%) are greyed.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    poses = np.asarray(poses)
    nt, ns, T = poses.shape[:3]
    edges = list(edges) if edges is not None else edges_from_pose(np.nanmean(poses[:, :, 0].reshape(-1, *poses.shape[3:]), 0),
                                                                   keypoints)
    kix = {k: i for i, k in enumerate(keypoints)}
    frames = np.linspace(0, T - 1, min(n_frames, T)).round().astype(int)
    cmap = plt.get_cmap("viridis")
    fig, axes = plt.subplots(nt, ns, figsize=(0.95 * ns, 0.95 * nt), squeeze=False)
    centre = np.nanmean(poses, axis=(2, 3), keepdims=True)
    lim = np.nanpercentile(np.abs(poses - centre), 99) * 1.05
    for i in range(nt):
        for j in range(ns):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_aspect("equal")
            rare = usage is not None and usage[i, j] < min_usage
            for f_i, f in enumerate(frames):
                col = "0.8" if rare else cmap(f_i / max(len(frames) - 1, 1))
                p = poses[i, j, f] - centre[i, j, 0, 0]
                for a, b in edges:
                    ax.plot(p[[kix[a], kix[b]], 0], p[[kix[a], kix[b]], 1], color=col, lw=0.7)
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            if usage is not None:
                ax.text(0.02, 0.02, f"{usage[i, j]:.1f}", transform=ax.transAxes, fontsize=5, color="0.3")
            if j == 0:
                ax.set_ylabel(f"type {i}", fontsize=7)
            if i == 0:
                ax.set_title(f"{j}", fontsize=7)
    # the title gets its own band above the column numbers: tight_layout alone lets them overlap on a big grid
    height = fig.get_size_inches()[1]
    fig.tight_layout(pad=0.2, h_pad=0.1, w_pad=0.1, rect=(0, 0, 1, 1 - 0.45 / height))
    fig.suptitle("decoded motifs: rows = type, columns = subtype (number: % of frames)", fontsize=9,
                 y=1 - 0.08 / height, va="top")
    return fig


def usage_by_dataset(usages: Mapping[str, np.ndarray], n_types: int, n_subtypes: int) -> matplotlib.figure.Figure:
    """Motif usage (type x subtype, % of frames) of several datasets side by side, on one colour scale.

    Parameters
    ----------
    usages : mapping of str to numpy.ndarray
        Dataset name -> usage fraction per motif code (``n_types * n_subtypes`` values).
    n_types, n_subtypes : int
        Codebook sizes.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    grids = {k: 100 * np.asarray(u).reshape(n_types, n_subtypes) for k, u in usages.items()}
    vmax = max(float(g.max()) for g in grids.values())
    fig, axes = plt.subplots(1, len(grids), figsize=(4.6 * len(grids), 2.8), squeeze=False)
    for ax, (name, g) in zip(axes[0], grids.items(), strict=True):
        im = ax.imshow(g, aspect="auto", cmap="magma_r", vmin=0, vmax=vmax)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("subtype")
        ax.set_ylabel("type")
    fig.colorbar(im, ax=list(axes[0]), label="% of frames")
    return fig


def js_comparison(table: pd.DataFrame) -> matplotlib.figure.Figure:
    """Matched vs shuffled JS divergence per true motif.

    Parameters
    ----------
    table : pandas.DataFrame
        ``codes.coembedding_similarity``'s table: ``matched_js`` and ``shuffled_js`` per motif (index).

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 2.8))
    x = np.arange(len(table))
    ax.bar(x - 0.2, table["matched_js"], 0.4, label="same behaviour, two skeletons")
    ax.bar(x + 0.2, table["shuffled_js"], 0.4, label="different behaviours (shuffled)", color="0.7")
    ax.set_xticks(x, [str(i) for i in table.index], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("JS divergence of code usage (bits)")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def dropout_curve(table: pd.DataFrame) -> matplotlib.figure.Figure:
    """Held-out reconstruction error of the full skeleton against the number of keypoints hidden from the encoder.

    Parameters
    ----------
    table : pandas.DataFrame
        ``evaluate.vqmap_dropout_curve``'s table: ``dropped``, ``mse``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.5, 2.8))
    ax.plot(table["dropped"], table["mse"], "o-")
    ax.set_xlabel("keypoints hidden from the encoder")
    ax.set_ylabel("reconstruction MSE\n(normalised units)")
    ax.set_ylim(0, None)
    fig.tight_layout()
    return fig


def sequence_comparison(real_usage: np.ndarray, generated_usage: np.ndarray, real_trans: np.ndarray,
                        generated_trans: np.ndarray) -> matplotlib.figure.Figure:
    """Code usage (real vs generated, one point per code) and the two transition matrices.

    Parameters
    ----------
    real_usage, generated_usage : numpy.ndarray
        Usage fraction per code of the real and the generated sequences (``codes.usage``).
    real_trans, generated_trans : numpy.ndarray
        ``(codes, codes)`` transition matrices (``codes.transitions``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    m = max(real_usage.max(), generated_usage.max()) * 100 * 1.05
    axes[0].scatter(100 * real_usage, 100 * generated_usage, s=10)
    axes[0].plot([0, m], [0, m], color="0.6", lw=0.8)
    axes[0].set_xlabel("real usage (%)")
    axes[0].set_ylabel("generated usage (%)")
    used = np.flatnonzero((real_usage > 0) | (generated_usage > 0))
    vmax = max(real_trans[np.ix_(used, used)].max(), generated_trans[np.ix_(used, used)].max())
    for ax, mat, title in ((axes[1], real_trans, "real transitions"), (axes[2], generated_trans, "generated transitions")):
        ax.imshow(mat[np.ix_(used, used)], cmap="Blues", vmin=0, vmax=vmax)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("next code")
        ax.set_ylabel("code")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


__all__ = ["vqmap_diagram", "code_usage", "motif_grid", "usage_by_dataset", "js_comparison", "dropout_curve",
           "sequence_comparison"]
