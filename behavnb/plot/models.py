"""Figures for the model notebooks: architecture diagram, (live) loss curves, reconstructions, generated motion.

Part of the figures floor (``plot``/``widgets``), drawn from what models, train and evaluate give.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from behavnb.plot.poses import _plt, edges_from_pose

if TYPE_CHECKING:
    import matplotlib.figure
    import pandas as pd


def vame_diagram(config, num_features: int) -> matplotlib.figure.Figure:
    """The RNN-VAE as boxes and arrows, with the sizes of ``config``.

    Parameters
    ----------
    config : behavnb.models.vame.VAMEConfig
        The architecture to draw.
    num_features : int
        Input columns per frame.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    c = config
    fig, ax = plt.subplots(figsize=(10, 3.4))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 3.4)
    ax.axis("off")
    boxes = {
        "in": (0.1, 1.2, f"window\n{c.TEMPORAL_WINDOW} frames x {num_features}\n(egocentric pose)", "#dbe9f6"),
        "enc": (2.1, 1.2, f"encoder\n2-layer bidirectional GRU\nhidden {c.hidden_size_layer_1}", "#fde0c5"),
        "lat": (4.3, 1.2, f"z ~ N(mu, sigma^2)\n{c.ZDIMS} dims\n(the embedding = mu)", "#e4d4f4"),
        "dec": (6.6, 2.15, f"decoder: GRU, hidden {c.hidden_size_rec}\n-> the same {c.TEMPORAL_WINDOW} frames", "#d5f0d5"),
    }
    if c.FUTURE_DECODER:
        boxes["fut"] = (6.6, 0.25, f"future decoder: GRU, hidden {c.hidden_size_pred}\n-> the next {c.FUTURE_STEPS} frames",
                        "#d5f0d5")
    for x, y, text, color in boxes.values():
        ax.add_patch(FancyBboxPatch((x, y), 1.85 if x < 6 else 3.2, 0.95, boxstyle="round,pad=0.05", fc=color,
                                    ec="0.4"))
        ax.text(x + (0.92 if x < 6 else 1.6), y + 0.47, text, ha="center", va="center", fontsize=8.5)

    def arrow(a, b):
        ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=14, color="0.3"))

    arrow((2.0, 1.67), (2.1, 1.67))
    arrow((4.0, 1.67), (4.3, 1.67))
    arrow((6.2, 1.9), (6.6, 2.5))
    if c.FUTURE_DECODER:
        arrow((6.2, 1.45), (6.6, 0.8))
    ax.text(5, 3.3, "loss = reconstruction MSE + future MSE + beta * KL(q(z|window) || N(0, I))", ha="center",
            va="top", fontsize=9)
    fig.tight_layout()
    return fig


def loss_curves(history: pd.DataFrame, ax=None, terms: Sequence[str] | None = None) -> matplotlib.figure.Figure:
    """Training (solid) and held-out (dashed) loss terms per epoch, log scale; the learning rate in grey.

    Parameters
    ----------
    history : pandas.DataFrame
        ``train.fit``'s history: ``epoch``, ``train_<term>``, ``test_<term>`` (or ``train_eval_<term>``), ``lr``.
    ax : matplotlib.axes.Axes, optional
        Draw here (cleared first) instead of on a new figure.
    terms : sequence of str, optional
        Loss terms to draw (default: VAME's loss, reconstruction, future, kl, those present).

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 3.2))
    else:
        fig = ax.figure
    ax.clear()
    terms = [t for t in (terms or ("loss", "reconstruction", "future", "kl")) if f"train_{t}" in history]
    colors = dict(zip(terms, plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False))
    held = "test" if any(c.startswith("test_") for c in history.columns) else "train_eval"
    for t in terms:
        ax.plot(history["epoch"], history[f"train_{t}"], color=colors[t], label=t)
        if f"{held}_{t}" in history:
            ax.plot(history["epoch"], history[f"{held}_{t}"], color=colors[t], ls="--")
    ax.set_yscale("symlog", linthresh=1e-3)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (solid: training, dashed: held out)")
    ax.legend(fontsize=8, ncol=len(terms), loc="upper right")
    if "lr" in history and history["lr"].nunique() > 1:
        ax2 = ax.twinx()
        ax2.plot(history["epoch"], history["lr"], color="0.6", lw=1)
        ax2.set_ylabel("learning rate", color="0.5")
    fig.tight_layout()
    return fig


class LiveLoss:
    """A ``fit(callbacks=[LiveLoss()])`` callback: redraws the loss curves after every epoch in a notebook.

    Outside IPython it does nothing.

    Parameters
    ----------
    terms : sequence of str, optional
        Loss terms to draw (see ``loss_curves``), e.g. ``["reconstruction", "commitment"]`` for VQ-MAP.
    every : int, default 1
        Redraw every this many epochs.
    """

    def __init__(self, terms: Sequence[str] | None = None, every: int = 1):
        self.terms, self.every, self.handle, self.fig = terms, every, None, None

    def __call__(self, history: pd.DataFrame) -> None:
        if len(history) % self.every:
            return
        plt = _plt()
        try:
            from IPython.display import display
        except ImportError:  # no IPython: nothing to redraw
            return
        if self.fig is None:
            self.fig, _ = plt.subplots(figsize=(7, 3.2))
            plt.close(self.fig)  # shown through the display handle only
        loss_curves(history, ax=self.fig.axes[0], terms=self.terms)
        if self.handle is None:
            self.handle = display(self.fig, display_id=True)
        else:
            self.handle.update(self.fig)


def _unit_of(name: str, length_units: str | None) -> str:
    """A model input's units from its name (``evaluate`` columns): positions in the poses' units, angles in rad."""
    lu = length_units or "data units"
    if name.startswith("log1p_"):
        return f"log(1 + {lu}/s)" if "speed" in name else "log1p"
    if "angular_velocity" in name:
        return "rad/s"
    if name.endswith("angle") or name in ("heading",):
        return "rad"
    if "speed" in name or "velocity" in name:
        return f"{lu}/s"
    return lu


def reconstructions(rec, columns: Sequence[str] | None = None, n: int = 3, fps: float | None = None,
                    seed: int = 0, length_units: str | None = None) -> matplotlib.figure.Figure:
    """Held-out windows (black), their reconstruction (blue) and the predicted next frames (orange, dashed).

    Parameters
    ----------
    rec
        ``evaluate.reconstruct(...)``; one row per example window, one column per coordinate.
    columns
        The model inputs to show (default: the first two).
    n, seed
        Example windows, drawn with ``seed``.
    fps
        Frame rate, for a time axis in s (else frames).
    length_units
        The poses' units ("cm", "px"), for the y labels of positions and speeds (None: "data units").

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.lines import Line2D

    plt = _plt()
    columns = list(columns or rec.names[:2])
    idx = np.random.default_rng(seed).choice(len(rec.inputs), min(n, len(rec.inputs)), replace=False)
    fig, axes = plt.subplots(len(idx), len(columns), figsize=(3.3 * len(columns), 1.9 * len(idx)), squeeze=False,
                             sharex=True)
    T = rec.inputs.shape[1]
    scale = 1.0 / fps if fps else 1.0
    t_in = np.arange(T) * scale
    for r, i in enumerate(idx):
        for c, name in enumerate(columns):
            j = rec.names.index(name)
            ax = axes[r, c]
            ax.plot(t_in, rec.inputs[i, :, j], color="k", lw=1.2)
            ax.plot(t_in, rec.reconstruction[i, :, j], color="tab:blue", lw=1.2)
            if rec.future is not None:
                t_f = (T + np.arange(rec.future.shape[1])) * scale
                ax.plot(t_f, rec.future[i, :, j], color="k", lw=1.2)
                ax.plot(t_f, rec.prediction[i, :, j], color="tab:orange", lw=1.2, ls="--")
                ax.axvline((T - 0.5) * scale, color="0.8", lw=0.8)
            if r == 0:
                ax.set_title(name)
            if r == len(idx) // 2:
                ax.set_ylabel(_unit_of(name, length_units), fontsize="small")
    for ax in axes[-1]:
        ax.set_xlabel("time in window (s)" if fps else "frame in window (frames)")
    handles = [Line2D([], [], color="k", lw=1.2, label="data"),
               Line2D([], [], color="tab:blue", lw=1.2, label="reconstruction")]
    if rec.future is not None:
        handles.append(Line2D([], [], color="tab:orange", lw=1.2, ls="--", label="prediction"))
    fig.legend(handles=handles, loc="upper right", fontsize=8, ncol=len(handles), frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig


def skeleton_sequences(poses: np.ndarray, keypoints: Sequence[str], titles: Sequence[str] | None = None,
                       n_frames: int = 6, edges: Sequence[tuple[str, str]] | None = None,
                       ncols: int = 5) -> matplotlib.figure.Figure:
    """Pose sequences as stick figures, ``n_frames`` per panel, light (early) to dark (late).

    Parameters
    ----------
    poses : numpy.ndarray
        ``(n, T, keypoint, 2)`` sequences (``evaluate.to_poses``, ``evaluate.decode_codes``).
    keypoints : sequence of str
        The keypoint names.
    titles : sequence of str, optional
        One title per panel.
    n_frames : int, default 6
        Frames drawn per panel, evenly spaced.
    edges : sequence of (str, str), optional
        Keypoint pairs joined by lines (default: the spanning tree of the mean pose).
    ncols : int, default 5
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    poses = np.asarray(poses)
    n, T = poses.shape[:2]
    edges = list(edges) if edges is not None else edges_from_pose(np.nanmean(poses.reshape(-1, *poses.shape[2:]), 0),
                                                                   keypoints)
    kix = {k: i for i, k in enumerate(keypoints)}
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.3 * ncols, 2.3 * nrows), squeeze=False)
    lim = np.nanpercentile(np.abs(poses), 99) * 1.1
    frames = np.linspace(0, T - 1, min(n_frames, T)).round().astype(int)
    cmap = plt.get_cmap("viridis")
    for i, ax in enumerate(axes.ravel()):
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= n:
            ax.axis("off")
            continue
        for k, f in enumerate(frames):
            col = cmap(k / max(len(frames) - 1, 1))
            p = poses[i, f]
            for a, b in edges:
                ax.plot(p[[kix[a], kix[b]], 0], p[[kix[a], kix[b]], 1], color=col, lw=1.2, alpha=0.85)
            ax.scatter(p[:, 0], p[:, 1], s=4, color=col)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=8)
    fig.tight_layout()
    return fig


def score_bars(table: pd.DataFrame, column: str = "reconstruction_r2") -> matplotlib.figure.Figure:
    """One bar per keypoint (``evaluate.scores``), e.g. held-out R^2 of the reconstruction and of the prediction.

    The legend sits above the axes, so that it never hides a bar.

    Parameters
    ----------
    table
        ``evaluate.scores``: one row per model input, columns such as ``reconstruction_r2``.
    column
        The score to show; its ``prediction`` twin is added when present.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    cols = [c for c in (column, column.replace("reconstruction", "prediction")) if c in table]
    fig, ax = plt.subplots(figsize=(max(4, 0.45 * len(table)), 3.3))
    w = 0.8 / len(cols)
    x = np.arange(len(table))
    for k, c in enumerate(cols):
        ax.bar(x + k * w - 0.4 + w / 2, table[c], width=w, label=c.replace("_", " "))
    ax.set_xticks(x, table.index, rotation=60, ha="right", fontsize=8)
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_ylim(min(0, float(np.nanmin(table[cols].to_numpy())) - 0.05), 1.02)
    ax.set_ylabel("R² (1 = perfect)" if column.endswith("r2") else column.replace("_", " "))
    ax.legend(fontsize=8, ncol=len(cols), frameon=False, loc="lower left", bbox_to_anchor=(0, 1.0))
    fig.tight_layout()
    return fig


__all__ = ["vame_diagram", "loss_curves", "LiveLoss", "reconstructions", "skeleton_sequences", "score_bars"]
