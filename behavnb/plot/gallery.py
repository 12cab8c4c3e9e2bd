"""Export a motif gallery: per motif an animated GIF of instances as skeletons, an MP4 of their video when the
sessions have videos, a PNG of the motif's panels, and one ``index.html`` that shows them all with names and
usage.

Part of the figures floor (``plot``/``widgets``), drawn from a segmentation (``segment.MotifData``); notebook 07.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from behavnb.plot.motifs import _edges, motif_colours, motif_panel
from behavnb.plot.poses import _plt, default_skeleton

__all__ = ["skeleton_frames", "video_grid", "export_gallery"]


def skeleton_frames(clips: Sequence[np.ndarray], keypoints: Sequence[str], *, edges=None, ncols: int = 3,
                    size: float = 1.8, dpi: int = 60, title: str = "") -> np.ndarray:
    """Animate instances side by side: ``(T, H, W, 3)`` uint8, T = longest clip (shorter ones hold their last pose).

    One figure is drawn once and only its lines move, so a frame costs milliseconds.
    """
    plt = _plt()
    n = len(clips)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.3 if title else 0)), squeeze=False, dpi=dpi)
    allp = np.concatenate([c.reshape(-1, c.shape[-1]) for c in clips])
    lo, hi = np.nanpercentile(allp, 1, axis=0), np.nanpercentile(allp, 99, axis=0)
    pad = 0.15 * float(np.nanmax(hi - lo))
    e = _edges(clips[0], keypoints, edges)
    artists = []
    for i, ax in enumerate(axes.ravel()):
        ax.set(xticks=[], yticks=[], xlim=(lo[0] - pad, hi[0] + pad), ylim=(lo[1] - pad, hi[1] + pad))
        ax.set_aspect("equal")
        for sp in ax.spines.values():
            sp.set_visible(False)
        if i < n:
            col = motif_colours(10)[i % 10]
            lines = [ax.plot([], [], color=col, lw=1.5)[0] for _ in e]
            dots = ax.plot([], [], "o", color=col, ms=2.5)[0]
            artists.append((lines, dots))
    if title:
        fig.suptitle(title, fontsize="small")
    fig.tight_layout()
    frames = []
    for t in range(max(len(c) for c in clips)):
        for clip, (lines, dots) in zip(clips, artists, strict=True):
            p = clip[min(t, len(clip) - 1)]
            for ln, (a, b) in zip(lines, e, strict=True):
                ln.set_data(p[[a, b], 0], p[[a, b], 1])
            dots.set_data(p[:, 0], p[:, 1])
        fig.canvas.draw()
        frames.append(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy())
    plt.close(fig)
    return np.stack(frames)


def video_grid(videos: Sequence[np.ndarray], ncols: int = 3, height: int = 160) -> np.ndarray:
    """Tile video clips ``(T_i, H_i, W_i, 3)`` into one ``(T, H, W, 3)`` movie (shorter clips hold their last frame)."""
    import cv2

    vids = [v for v in videos if v is not None and len(v)]
    resized = [np.stack([cv2.resize(f, (int(round(f.shape[1] * height / f.shape[0])) // 2 * 2, height)) for f in v])
               for v in vids]
    width = max(v.shape[2] for v in resized)
    ncols = min(ncols, len(resized))
    nrows = int(np.ceil(len(resized) / ncols))
    T = max(len(v) for v in resized)
    out = np.zeros((T, nrows * height, ncols * width, 3), np.uint8)
    for i, v in enumerate(resized):
        r, c = divmod(i, ncols)
        for t in range(T):
            f = v[min(t, len(v) - 1)]
            out[t, r * height:(r + 1) * height, c * width:c * width + f.shape[1]] = f
    return out


def export_gallery(data, out_dir: str | Path, motifs: Sequence[int] | None = None, *, n_instances: int = 6,
                   max_frames: int = 60, playback_fps: float | None = None, video: bool = True, panels: bool = True,
                   seed: int = 0, progress: bool = True) -> Path:
    """Write a motif gallery for each motif of a ``segment.MotifData``.

    Per motif ``<out_dir>/motif_<m>.gif`` (skeletons), ``motif_<m>_video.mp4`` (when videos exist) and
    ``motif_<m>.png`` (panels); then ``index.html`` and ``motifs.csv``. Files are written to a temporary
    folder first and moved into place at the end, so an interrupted export leaves no half-written gallery;
    an existing ``out_dir`` is replaced.

    Parameters
    ----------
    data : behavnb.segment.MotifData
        The labels, cleaned poses, bouts and names of one segmentation.
    out_dir : str or Path
        The gallery folder, e.g. ``project.motifs_dir(name) / "gallery"``.
    motifs : sequence of int, optional
        Motifs to export (default: all).
    n_instances : int, default 6
        Instances (bouts) shown per motif.
    max_frames : int, default 60
        Frames per instance at most.
    playback_fps : float, optional
        Frame rate of the GIFs and MP4s (default: the data's).
    video : bool, default True
        Also write the MP4 of the instances' video where sessions have one.
    panels : bool, default True
        Also write the PNG of ``plot.motif_panel``.
    seed : int, default 0
        Seed of the instance sample.
    progress : bool, default True
        Show a progress bar.

    Returns
    -------
    Path
        ``<out_dir>/index.html``.
    """
    import shutil
    import tempfile

    import imageio.v3 as iio
    from tqdm.auto import tqdm

    out_dir = Path(out_dir)
    motifs = list(motifs) if motifs is not None else list(data.motifs)
    fps = playback_fps or data.fps
    keypoints = [str(k) for k in next(iter(data.cleaned.values()))["keypoint"].values]
    edges = default_skeleton(next(iter(data.cleaned.values())))
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".gallery-", dir=out_dir.parent))
    rows = []
    try:
        for m in tqdm(motifs, desc="gallery", disable=not progress):
            inst = data.instances(m, n_instances, seed)
            row = {"motif": m, "name": data.name(m), "share": data.share.get(m, 0.0),
                   "bouts": int((data.bouts["motif"] == m).sum()),
                   "median_s": float(data.bouts.loc[data.bouts["motif"] == m, "duration_s"].median()),
                   "gif": "", "mp4": "", "png": ""}
            if len(inst):
                clips = [c[:max_frames] for c in data.clips(inst)]
                frames = skeleton_frames(clips, keypoints, edges=edges, title=f"{data.name(m)}: {len(clips)} instances")
                iio.imwrite(tmp / f"motif_{m}.gif", frames, duration=1000 / fps, loop=0)
                row["gif"] = f"motif_{m}.gif"
                if video:
                    vids = [data.video_clip(r) for r in inst.itertuples(index=False)]
                    vids = [v[:max_frames] for v in vids if v is not None and len(v)]
                    if vids:
                        _write_mp4(tmp / f"motif_{m}_video.mp4", video_grid(vids), fps)
                        row["mp4"] = f"motif_{m}_video.mp4"
            if panels:
                fig = motif_panel(data, m, seed=seed)
                fig.savefig(tmp / f"motif_{m}.png", dpi=70)
                _plt().close(fig)
                row["png"] = f"motif_{m}.png"
            rows.append(row)
        (tmp / "index.html").write_text(_index_html(rows, data))
        pd.DataFrame(rows).to_csv(tmp / "motifs.csv", index=False)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir / "index.html"


def _write_mp4(path: Path, frames: np.ndarray, fps: float) -> None:
    import imageio

    with imageio.get_writer(path, fps=fps, codec="libx264", quality=6, macro_block_size=2) as w:
        for f in frames:
            w.append_data(f)


def _index_html(rows: list[dict], data) -> str:
    e = html.escape
    cells = []
    for r in rows:
        media = []
        if r["gif"]:
            media.append(f'<img src="{r["gif"]}" alt="skeletons of motif {r["motif"]}"/>')
        if r["mp4"]:
            media.append(f'<video src="{r["mp4"]}" controls loop muted width="360"></video>')
        if r["png"]:
            media.append(f'<a href="{r["png"]}"><img src="{r["png"]}" width="520" alt="panels"/></a>')
        cells.append(f'<section><h2>{e(r["name"])} <small>(motif {r["motif"]})</small></h2>'
                     f'<p>{r["share"]:.1%} of frames, {r["bouts"]} bouts, median bout {r["median_s"]:.2f} s</p>'
                     f'{"".join(media)}</section>')
    groups = sorted(set(data.groups.values())) if data.groups else []
    note = f"groups: {', '.join(e(g) for g in groups)}; " if groups else ""
    return ("<!doctype html><html><head><meta charset='utf-8'><title>motif gallery</title>"
            "<style>body{font-family:sans-serif;max-width:1200px;margin:auto}section{border-top:1px solid #ccc;"
            "padding:8px 0}img,video{vertical-align:top;margin:4px}</style></head><body>"
            f"<h1>Motif gallery</h1><p>{len(rows)} motifs; {note}{len(data.labels['session'].unique())} sessions. "
            f"Names come from motif_names.csv.</p>{''.join(cells)}</body></html>")
