"""Labelled videos: a session's video with its skeleton, current motif and community, and a scrolling ethogram.

Motifs are judged by watching them on the animal (does "groom" look like grooming?): this is DeepLabCut's
``create_labeled_video`` for a segmentation. Each frame of the source video (OpenCV, :mod:`behavnb.io.video`)
gets the skeleton (dots, and the spanning-tree edges of :func:`behavnb.plot.poses.default_skeleton`; one colour
per animal), the motif's name and colour and its community at the chosen cut, and below it a strip of motifs
(and communities) over ``strip_seconds`` around the frame, with a cursor. Without a video: a blank arena.

Coordinates: the cleaned poses (what the segmentation saw). 02 leaves ``position`` allocentric and its
``scale`` step only divides by ``px_per_cm``, so ``pixels = position * px_per_cm`` is exact (positions in
other units fall back to the raw poses). Frames: pose frame ``i`` is video frame ``frame[i]``, the pose file's
own number (usually ``i``; gaps in those numbers skip video frames); the output has the poses' frame rate. A
video up to ``tolerance`` frames longer or shorter is reported (:class:`~behavnb.errors.DataWarning`) and pose
frames past its end are drawn on a blank frame; a larger difference is an error.

Speed: the strip is built once for the session (each frame's window is a column lookup), pixel coordinates
for all frames at once; a thread decodes and resizes while the main thread draws with OpenCV primitives and
ffmpeg (libx264 ``veryfast``, CRF 23) encodes in its own process (``benchmarks/bench_export_video.py``).
"""

from __future__ import annotations

import queue
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from behavnb.errors import DataWarning, ParameterError
from behavnb.export.results import load_results, open_project
from behavnb.io.video import Video, find_video
from behavnb.manifest import session_geometry
from behavnb.plot.motifs import motif_colours
from behavnb.plot.poses import default_skeleton
from behavnb.project import Project
from behavnb.utils import atomic_path

#: libx264 settings: veryfast keeps up with decoding and drawing on 2 cores; CRF 23 is x264's default quality
ENCODER = ["-preset", "veryfast", "-crf", "23"]
#: BGR colours of animals (skeletons) and of the blank arena
ANIMALS = [(255, 0, 255), (255, 255, 0), (0, 255, 255), (0, 255, 0), (0, 128, 255), (255, 128, 0), (128, 0, 255)]
BACKGROUND, ARENA, UNLABELLED = (40, 40, 40), (110, 110, 110), (90, 90, 90)
SHIFT = 4  # cv2 fixed-point bits: sub-pixel skeletons


@dataclass
class _Plan:
    """Everything a frame needs, computed once for the session."""

    session: str
    motifs: str
    fps: float
    video: Path | None
    n_video: int
    vframe: np.ndarray  # (time,) video frame of each pose frame: the pose file's own frame numbers (gaps kept)
    blank: np.ndarray  # (height, width, 3) BGR: the frame where there is no video frame
    pts: np.ndarray  # (time, individual, keypoint, 2) int32 output pixels, fixed point (SHIFT bits)
    ok: np.ndarray  # (time, individual, keypoint) bool
    edges: list[tuple[int, int]]
    individuals: list[str]
    motif: np.ndarray  # (time, individual), -1 unlabelled
    community: np.ndarray | None  # (time, individual), -1 unlabelled
    names: dict[int, str]
    motif_bgr: np.ndarray  # row m + 1: colour of motif m; row 0: unlabelled
    comm_bgr: np.ndarray | None
    strip: np.ndarray  # (strip height, time + window, 3) BGR: the whole session's ethogram, padded
    columns: np.ndarray  # output column x -> strip column - f for frame f
    cursor: int  # output column of the current frame

    @property
    def n(self) -> int:
        return len(self.motif)

    @property
    def size(self) -> tuple[int, int]:
        return self.blank.shape[1], self.blank.shape[0]

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.blank.shape[0] + self.strip.shape[0], self.blank.shape[1], 3


def _bgr(rgba: np.ndarray) -> np.ndarray:
    return np.vstack([[UNLABELLED], np.round(np.asarray(rgba)[:, 2::-1] * 255)]).astype(np.uint8)


def _even(x: float) -> int:
    return max(2, 2 * int(round(x / 2)))


def _positions(project: Project, session: str, individual: str | None):
    """The cleaned poses and their positions in video pixels ``(time, individual, keypoint, 2)``."""
    ds = project.read_clean(session)
    units, px_per_cm = str(ds.attrs.get("units", "px")), ds.attrs.get("px_per_cm")
    scale = 1.0 if units == "px" else float(px_per_cm) if units == "cm" and px_per_cm else None
    if scale is None:  # units with no way back to pixels: the tracker's own
        ds, scale = project.read_poses(session), 1.0
    if individual is not None:
        have = [str(i) for i in ds["individual"].values]
        if str(individual) not in have:
            raise ParameterError(f"session {session!r} has no individual {individual!r}; it has {have}.")
        ds = ds.sel(individual=[individual])
    return ds, ds["position"].transpose("time", "individual", "keypoint", "space").values[..., :2] * scale


def _plan(project_dir, session: str, *, motifs, individual, cut, video, width, strip_seconds, tolerance,
          edges) -> _Plan:
    import cv2

    if not strip_seconds or strip_seconds <= 0:
        raise ParameterError(f"strip_seconds={strip_seconds!r}: give the ethogram window in seconds (> 0).")
    res = load_results(project_dir, motifs)  # names 06_segment when there is no segmentation
    session = str(session)
    labels, fps = res.session_labels(session), res.fps(session)
    ds, pos = _positions(res.project, session, individual)
    n, inds = pos.shape[0], [str(i) for i in ds["individual"].values]
    vframe = (ds["frame"].values.astype(np.int64) if "frame" in ds.coords  # a pose file may start late or skip frames
              else np.arange(n, dtype=np.int64))
    row = res.sessions[res.sessions["session"].astype(str) == session].iloc[0]
    path = find_video(row.get("file"), video if video is not None else row.get("video"))
    box, n_video = None, 0
    if path is not None:  # video pixels -> output pixels: a scale
        vid = Video(path)
        n_video, end = vid.n_frames, int(vframe[-1]) + 1 if n else 0
        poses = f"{n}" + (f" (frames {vframe[0]}..{end - 1})" if n and (vframe[0] or end != n) else "")
        diff = f"{n_video - end:+d}, tolerance {tolerance}"
        if abs(n_video - end) > tolerance:
            raise ParameterError(f"{path}: the video has {n_video} frames but the poses of session {session!r} have "
                                 f"{poses} ({diff}). Pass the session's own video (video=... or the sessions table's "
                                 f"'video' column), or a larger tolerance= if only its end was cut.")
        if n_video != end:
            warnings.warn(f"{path}: the video has {n_video} frames, the poses of session {session!r} have {poses} "
                          f"({diff}); frames are matched by number, pose frames past the video's end are drawn "
                          f"on a blank frame.", DataWarning, stacklevel=3)
        (vw, vh), w = vid.size, _even(width or vid.size[0])
        origin, size = np.zeros(2), (w, _even(vh * w / vw))
        scale = np.array(size) / [vw, vh]
    else:  # blank arena: the sessions table's arena rectangle, else the poses' extent, with a margin
        box = session_geometry(res.sessions).get(session, {}).get("arena")
        if box and {"xmin", "ymin", "xmax", "ymax"} <= set(box):
            lo, hi = np.array([box["xmin"], box["ymin"]]), np.array([box["xmax"], box["ymax"]])
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                lo, hi = np.nanpercentile(pos, [0.5, 99.5], axis=(0, 1, 2))
            lo, hi, box = np.nan_to_num(lo, nan=0.0), np.nan_to_num(hi, nan=1.0), None
        margin = 0.05 * max(float(np.max(hi - lo)), 1e-9)
        origin, extent, w = lo - margin, np.maximum(hi - lo + 2 * margin, 1e-9), _even(width or 640)
        size = (w, _even(w * extent[1] / extent[0]))
        scale = np.array(size) / extent
    blank = np.full((size[1], size[0], 3), BACKGROUND, np.uint8)
    if box:
        corners = np.round((np.array([lo, hi]) - origin) * scale).astype(int).tolist()
        cv2.rectangle(blank, corners[0], corners[1], ARENA, max(1, size[0] // 320))
    xy = (pos - origin) * scale
    ok = np.isfinite(xy).all(-1)
    pts = np.round(np.where(ok[..., None], xy, 0).clip(-1e5, 1e5) * (1 << SHIFT)).astype(np.int32)
    kps = [str(k) for k in ds["keypoint"].values]
    named = default_skeleton(ds) if edges is None else [(str(a), str(b)) for a, b in edges]
    pairs = [(kps.index(a), kps.index(b)) for a, b in named if a in kps and b in kps]

    motif = np.full((n, len(inds)), -1, np.int64)
    for i, ind in enumerate(inds):
        sub = labels[labels["individual"] == ind]
        fr, m = sub["frame"].to_numpy().astype(np.int64), sub["motif"].to_numpy()
        keep = (fr >= 0) & (fr < n)
        motif[fr[keep], i] = m[keep]
    k = max([*res.motif_ids, *res.names, int(motif.max())]) + 1
    motif_bgr, cmap = _bgr(motif_colours(k)), res.community_map(cut)
    community = comm_bgr = None
    if cmap:
        community = np.array([cmap.get(m, -1) for m in range(k)] + [-1])[motif]  # motif -1 -> community -1
        comm_bgr = _bgr(motif_colours(max(cmap.values()) + 1))

    # the ethogram strip of the whole session, once: per animal a motif band (then thinner community bands)
    u = size[0] / 640
    bands = [(max(6, round(14 * u)), motif_bgr[motif[:, i] + 1]) for i in range(len(inds))]
    if community is not None:
        bands += [(max(3, round(6 * u)), comm_bgr[community[:, i] + 1]) for i in range(len(inds))]
    gap, window = max(1, round(3 * u)), max(3, int(round(strip_seconds * fps)))
    strip = np.full((_even(gap + sum(b + gap for b, _ in bands)), n + window, 3), 20, np.uint8)
    y = gap
    for b, colours in bands:
        strip[y:y + b, window // 2:window // 2 + n] = colours[None]
        y += b + gap
    columns = np.arange(size[0]) * window // size[0]  # frame f's window is strip columns f .. f + window - 1
    cursor = min(size[0] - 1, int((window // 2 + 0.5) * size[0] / window))
    return _Plan(session, res.name, fps, path, n_video, vframe, blank, pts, ok, pairs, inds, motif,
                 community, res.names, motif_bgr, comm_bgr, strip, columns, cursor)


def _draw(plan: _Plan, f: int, frame: np.ndarray | None, canvas: np.ndarray) -> np.ndarray:
    """Frame ``f`` drawn into ``canvas`` (BGR) over ``frame`` (BGR at the output size; None: blank)."""
    import cv2

    w, h = plan.size
    img = canvas[:h]
    img[:] = plan.blank if frame is None else frame
    np.take(plan.strip, f + plan.columns, axis=1, out=canvas[h:])
    u = w / 640
    lw, r = max(1, round(2 * u)), max(2, round(3 * u)) << SHIFT
    cv2.line(canvas, (plan.cursor, h), (plan.cursor, canvas.shape[0] - 1), (255, 255, 255), lw)
    for i in range(len(plan.individuals)):
        colour, p, ok = ANIMALS[i % len(ANIMALS)], plan.pts[f, i].tolist(), plan.ok[f, i].tolist()
        for a, b in plan.edges:
            if ok[a] and ok[b]:
                cv2.line(img, p[a], p[b], colour, lw, cv2.LINE_AA, SHIFT)
        for k in (k for k, v in enumerate(ok) if v):
            cv2.circle(img, p[k], r, colour, -1, cv2.LINE_AA, SHIFT)
    font, scale, thick = cv2.FONT_HERSHEY_SIMPLEX, max(0.4, 0.6 * u), max(1, round(1.5 * u))
    step, box = int(30 * scale) + 4, int(30 * scale) - 4  # line height, colour swatch side

    def text(t: str, x: int, y: int) -> int:  # white on a black outline; returns the x after it
        for col, th in (((0, 0, 0), thick + 2), ((255, 255, 255), thick)):
            cv2.putText(img, t, (x, y + box - 2), font, scale, col, th, cv2.LINE_AA)
        return x + cv2.getTextSize(t, font, scale, thick)[0][0]

    t = f"{plan.vframe[f] / plan.fps:.2f} s  frame {plan.vframe[f]}"
    text(t, w - 8 - cv2.getTextSize(t, font, scale, thick)[0][0], 8)
    for i, ind in enumerate(plan.individuals):
        m, y = int(plan.motif[f, i]), 8 + i * step
        cv2.rectangle(img, (8, y), (8 + box, y + box), plan.motif_bgr[m + 1].tolist(), -1)
        name = plan.names.get(m, f"motif {m}")
        name = "unlabelled" if m < 0 else name if name.endswith(f"({m})") or name == f"motif {m}" else f"{name} ({m})"
        x = text(f"{ind}: {name}" if len(plan.individuals) > 1 else name, 14 + box, y) + step // 2
        if plan.community is not None:
            c = int(plan.community[f, i])
            cv2.rectangle(img, (x, y), (x + box, y + box), plan.comm_bgr[c + 1].tolist(), -1)
            text("community -" if c < 0 else f"community {c}", x + box + 6, y)
    return canvas


def _source(plan: _Plan, start: int, stop: int):
    """The video frames of pose frames ``start .. stop - 1`` (BGR, at the output size): video frame ``vframe[i]`` for
    pose frame ``i`` (frames the poses skip are read and passed over); None past the video's end or without one."""
    import cv2

    want = plan.vframe[start:stop]
    done = 0
    if plan.video is not None and len(want) and want[0] < plan.n_video:
        cap = cv2.VideoCapture(str(plan.video))
        try:
            cap.set(cv2.CAP_PROP_POS_FRAMES, int(want[0]))
            at = int(want[0])
            while done < len(want):
                ok, frame = cap.read()
                if not ok:
                    break
                at += 1
                if at - 1 < want[done]:  # a video frame the poses skip
                    continue
                done += 1
                yield frame if frame.shape[:2] == plan.blank.shape[:2] else \
                    cv2.resize(frame, plan.size, interpolation=cv2.INTER_AREA)
        finally:
            cap.release()
    yield from (None for _ in range(done, len(want)))


def _prefetch(items, size: int = 32):
    """``items`` iterated in a background thread (OpenCV decodes and resizes without the GIL), in order."""
    q, stop = queue.Queue(maxsize=size), threading.Event()
    end = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False

    def work() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(end)
        except BaseException as exc:  # raised again in the caller's thread
            put(exc)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        while (item := q.get()) is not end:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
        items.close()


def _range(plan: _Plan, start: int, stop: int | None) -> tuple[int, int]:
    stop = plan.n if stop is None else int(stop)
    if not 0 <= int(start) < stop <= plan.n:
        raise ParameterError(f"frames start={start}, stop={stop}: session {plan.session!r} has {plan.n} pose frames; "
                             f"give 0 <= start < stop <= {plan.n}.")
    return int(start), stop


def clip_frames(n_frames: int, fps: float, seconds: float, at: float = 30.0) -> tuple[int, int]:
    """Pose frames ``(start, stop)`` of a clip of ``seconds`` starting ``at`` seconds in, moved earlier (to 0 at the
    latest) so that it fits in a session of ``n_frames`` frames; the whole session when it is shorter.

    Parameters
    ----------
    n_frames : int
        The session's pose frames.
    fps : float
        Frames per second.
    seconds, at : float
        Length of the clip and where it should start, in seconds.

    Returns
    -------
    tuple of int
        ``start, stop`` for :func:`labelled_video`.

    Raises
    ------
    ParameterError
        An empty session, or a length or rate that is not positive.
    """
    if n_frames < 1 or fps <= 0 or seconds <= 0:
        raise ParameterError(f"clip_frames: n_frames={n_frames}, fps={fps}, seconds={seconds}; all must be positive.")
    length = max(1, int(round(seconds * fps)))
    start = max(0, min(int(round(at * fps)), n_frames - length))
    return start, min(start + length, n_frames)


def render_frame(project_dir: str | Path | Project, session: str, frame: int, *, motifs: str | None = None,
                 individual: str | None = None, cut: int | None = None, video: str | Path | None = None,
                 width: int | None = None, strip_seconds: float = 5.0, tolerance: int = 2,
                 edges: list[tuple[str, str]] | None = None) -> np.ndarray:
    """One frame of :func:`labelled_video`, as an RGB image (for a notebook, or to check a layout).

    Parameters are those of :func:`labelled_video`; ``frame`` is the pose frame number.

    Returns
    -------
    numpy.ndarray
        ``(height, width, 3)`` uint8 RGB: the frame and, below it, the ethogram strip.

    Raises
    ------
    ParameterError
        As :func:`labelled_video`, or a frame outside the session.
    """
    plan = _plan(project_dir, session, motifs=motifs, individual=individual, cut=cut, video=video, width=width,
                 strip_seconds=strip_seconds, tolerance=tolerance, edges=edges)
    f = _range(plan, frame, int(frame) + 1)[0]
    return _draw(plan, f, next(_source(plan, f, f + 1)), np.empty(plan.shape, np.uint8))[:, :, ::-1].copy()


def labelled_video(project_dir: str | Path | Project, session: str, out_path: str | Path | None = None, *,
                   motifs: str | None = None, individual: str | None = None, start: int = 0, stop: int | None = None,
                   cut: int | None = None, video: str | Path | None = None, width: int | None = None,
                   strip_seconds: float = 5.0, overwrite: bool = False, progress: bool = True, tolerance: int = 2,
                   edges: list[tuple[str, str]] | None = None) -> Path:
    """Write a session's video with skeleton, motif, community and a scrolling ethogram strip (H.264 MP4).

    Parameters
    ----------
    project_dir : str, Path or Project
        A run directory with a segmentation (06) and cleaned poses (02).
    session : str
        The session id.
    out_path : str or Path, optional
        The MP4 to write; default ``<project>/exports/video/<session>_<motifs>.mp4``.
    motifs : str, optional
        A folder under ``motifs/``; default the newest ``vame-hmm-*`` (:func:`behavnb.export.load_results`).
    individual : str, optional
        Draw and label only this animal; default every animal (one colour and one strip row each).
    start, stop : int
        Pose frames ``start .. stop - 1`` (0-based, as the labels' ``frame``); default the whole session.
    cut : int, optional
        Number of communities shown; default the cut 08 chose (no community when 08 has not run).
    video : str or Path, optional
        The source video; default the sessions table's ``video`` column, else a video beside the pose file
        (:func:`behavnb.io.video.find_video`); a blank arena when there is none.
    width : int, optional
        Output width in pixels (rounded to even); default the video's, 640 for a blank arena.
    strip_seconds : float
        The ethogram strip's window, centred on the current frame.
    overwrite : bool
        Replace an existing ``out_path``.
    progress : bool
        Show a progress bar (tqdm).
    tolerance : int
        Frames by which video and poses may differ (reported); more is an error.
    edges : list of (str, str), optional
        Skeleton edges by keypoint name; default the minimum spanning tree of the median pose; ``[]``: dots only.

    Returns
    -------
    pathlib.Path
        The video written (frame rate: the poses').

    Raises
    ------
    ParameterError
        ``out_path`` exists and ``overwrite`` is False; video and poses differ by more than ``tolerance`` frames;
        a bad frame range, individual or cut.
    PoseFileNotFoundError
        No sessions table, segmentation (run 06_segment) or cleaned poses (02_preprocess); a missing video file.
    """
    import imageio_ffmpeg
    from tqdm.auto import tqdm

    project = open_project(project_dir)
    plan = _plan(project, session, motifs=motifs, individual=individual, cut=cut, video=video, width=width,
                 strip_seconds=strip_seconds, tolerance=tolerance, edges=edges)
    start, stop = _range(plan, start, stop)
    out = Path(out_path) if out_path else project.root / "exports" / "video" / f"{plan.session}_{plan.motifs}.mp4"
    if out.exists() and not overwrite:
        raise ParameterError(f"{out} exists: pass overwrite=True (behavnb export video --overwrite) to replace it, "
                             f"or choose another out_path.")
    canvas = np.empty(plan.shape, np.uint8)
    with atomic_path(out) as tmp:  # the file appears whole, or not at all
        writer = imageio_ffmpeg.write_frames(str(tmp), (plan.shape[1], plan.shape[0]), pix_fmt_in="bgr24",
                                             fps=plan.fps, codec="libx264", quality=None, macro_block_size=1,
                                             output_params=[*ENCODER, "-f", "mp4"])
        writer.send(None)
        frames = _prefetch(_source(plan, start, stop))
        try:
            bar = tqdm(frames, total=stop - start, disable=not progress, unit="frame", desc=f"{plan.session} video")
            for f, frame in enumerate(bar, start):
                writer.send(_draw(plan, f, frame, canvas))
        finally:
            frames.close()
            writer.close()
    return out
