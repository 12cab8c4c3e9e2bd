"""Benchmark ``behavnb.export.video.labelled_video`` (target: >= 150 frames/s for a 5-minute, 30 fps, 640x480 session).

Usage::

    python benchmarks/bench_export_video.py                          # build in a temporary folder, time, delete
    python benchmarks/bench_export_video.py --keep /tmp/bench-video  # keep (and reuse) the run dir and video
    python benchmarks/bench_export_video.py --minutes 1 --repeats 1  # a quick look

What it measures

1. A tiny run directory with one synthetic 5-minute session (``synth.make_cohort(animals_per_group=1,
   sessions_per_animal=1, duration_s=300, fps=30, seed=0)``, its first session, 14 keypoints), its poses
   scaled to fit a 640x480 camera image and cleaned with ``px_per_cm`` (so the export converts cm back to
   pixels), the true behaviours as 8 motifs, and 3 communities; beside it a 640x480 H.264 video at 30 fps
   (a textured arena, the animal as a dark ellipse at its pose, sensor noise), built once (not timed).
2. ``labelled_video(project, session, overwrite=True, progress=False)`` on the whole session, best of
   ``--repeats`` (wall seconds of the call, plan included), as frames/s; the output read back for its
   frame count.
3. Where the time goes, each stage alone over the session: decoding (``cv2.VideoCapture.read``), drawing
   (``_draw`` on blank frames) and encoding (``imageio_ffmpeg.write_frames`` with the exporter's settings) of
   one drawn frame with a changing column (easier to encode than real video: an upper bound).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _machine import machine  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

TARGET_FPS = 150.0
W, H = 640, 480


def build(root: Path, minutes: float) -> str:
    """The run directory and its video under ``root`` (reused when present); returns the session id."""
    import cv2
    import imageio_ffmpeg
    import pandas as pd
    import xarray as xr

    import behavnb as bn

    project = bn.project.Project(root / "run")
    cohort = bn.synth.make_cohort(animals_per_group=1, sessions_per_animal=1, duration_s=int(60 * minutes), fps=30,
                                  seed=0)
    row = cohort.sessions.iloc[0]
    session = str(row["session"])
    if (root / "run" / "motifs").exists():
        return session
    ds = cohort.poses[session]
    # fit the synthetic camera (about 600 px square) into 640x480: one scale and shift, applied to the arena too
    s, shift = 0.75, np.array([100.0, 10.0])
    ds["position"] = ds["position"] * s + xr.DataArray(shift, dims="space", coords={"space": ds["space"].values})
    box = {c: float(row[f"arena_{c}"]) * s + shift[0 if c[0] == "x" else 1] for c in ("xmin", "ymin", "xmax", "ymax")}
    video = root / f"{session}.mp4"
    pos = ds["position"].transpose("time", "individual", "keypoint", "space").values[:, 0]
    centre = np.nanmean(pos, axis=1)
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.normal(128, 40, (H, W)).astype(np.float32), (0, 0), 6)
    back = np.clip(texture, 0, 255).astype(np.uint8)
    cv2.rectangle(back, (int(box["xmin"]), int(box["ymin"])), (int(box["xmax"]), int(box["ymax"])), 230, 3)
    noise = [rng.normal(0, 4, (H, W)).astype(np.int16) for _ in range(8)]
    writer = imageio_ffmpeg.write_frames(str(video), (W, H), pix_fmt_in="gray", fps=30, codec="libx264", quality=None,
                                         macro_block_size=1, output_params=["-preset", "fast", "-crf", "23"])
    writer.send(None)
    for t in range(len(pos)):
        img = back.copy()
        if np.isfinite(centre[t]).all():
            cv2.ellipse(img, (int(centre[t, 0]), int(centre[t, 1])), (22, 11), 0, 0, 360, 40, -1)
        writer.send(np.clip(img + noise[t % 8], 0, 255).astype(np.uint8))
    writer.close()
    scale = float(row["px_per_cm"]) * s
    project.write_sessions(pd.DataFrame([{"session": session, "subject": row["subject"], "group": row["group"],
                                          "file": "", "fps": 30.0, "video": str(video), "px_per_cm": scale,
                                          **{f"arena_{c}": v for c, v in box.items()}}]))
    project.write_poses(ds)
    clean = bn.preprocess.clean(ds, px_per_cm=scale)
    project.write_dataset(clean, project.clean_path(session))
    truth = cohort.truth[cohort.truth["session"] == session]
    n = clean.sizes["time"]
    labels = pd.DataFrame({"session": session, "individual": str(clean["individual"].values[0]),
                           "frame": np.arange(n), "time": np.arange(n) / 30.0,
                           "motif": truth["motif"].to_numpy()[:n].astype(np.int64)})
    name = "vame-hmm-8"
    project.motifs_dir(name).mkdir(parents=True, exist_ok=True)
    project.write_table(labels, project.labels_path(name))
    names = dict(zip(truth["motif"], truth["motif_name"], strict=True))
    bn.segment.write_names(project.motif_names_path(name), range(8))
    bn.segment.rename_defaults(project.motif_names_path(name), {int(m): str(v) for m, v in names.items()})
    hdir = project.hierarchy_dir(name)
    project.write_table(pd.DataFrame({"method": "linkage", "n_communities": 3, "motif": np.arange(8),
                                      "community": np.arange(8) % 3}), hdir / "communities.csv")
    return session


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=5.0, help="session length (default 5)")
    ap.add_argument("--repeats", type=int, default=2, help="timed exports, best of (default 2)")
    ap.add_argument("--keep", default=None, help="folder to build in and keep (reused when it holds a build)")
    args = ap.parse_args()
    import cv2
    import imageio_ffmpeg

    import behavnb as bn
    from behavnb.export.video import ENCODER, _draw, _plan, labelled_video

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-video-"))
    root.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine()}", flush=True)
    t = time.perf_counter()
    session = build(root, args.minutes)
    print(f"built {root} in {time.perf_counter() - t:.1f} s", flush=True)
    project = root / "run"
    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        out = labelled_video(project, session, overwrite=True, progress=False)
        times.append(time.perf_counter() - t)
    cap = cv2.VideoCapture(str(out))
    n, size = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), (int(cap.get(3)), int(cap.get(4)))
    cap.release()
    best = min(times)
    # where the time goes: each stage alone on the same frames
    plan = _plan(project, session, motifs=None, individual=None, cut=None, video=None, width=None, strip_seconds=5.0,
                 tolerance=2, edges=None)
    cap, t = cv2.VideoCapture(str(plan.video)), time.perf_counter()
    while cap.read()[0]:
        pass
    decode = time.perf_counter() - t
    canvas, t = np.empty(plan.shape, np.uint8), time.perf_counter()
    for f in range(plan.n):
        _draw(plan, f, None, canvas)
    draw = time.perf_counter() - t
    frame, t = _draw(plan, plan.n // 2, None, canvas).copy(), time.perf_counter()
    writer = imageio_ffmpeg.write_frames(str(root / "encode-only.mp4"), (plan.shape[1], plan.shape[0]),
                                         pix_fmt_in="bgr24", fps=30, codec="libx264", quality=None, macro_block_size=1,
                                         output_params=[*ENCODER, "-f", "mp4"])
    writer.send(None)
    for f in range(plan.n):
        frame[:, f % plan.shape[1]] = f % 256  # a changing column, so frames differ
        writer.send(frame)
    writer.close()
    encode = time.perf_counter() - t
    fps = n / best
    results = {"machine": machine(), "frames": n, "size": list(size), "seconds": [round(x, 2) for x in times],
               "fps": round(fps, 1), "target_fps": TARGET_FPS, "ok": fps >= TARGET_FPS, "encoder": ENCODER,
               "decode_fps": round(plan.n / decode, 1), "draw_fps": round(plan.n / draw, 1),
               "encode_fps": round(plan.n / encode, 1),
               "versions": {"behavnb": bn.__version__, "opencv": cv2.__version__,
                            "imageio-ffmpeg": imageio_ffmpeg.__version__}}
    print(f"command: python {' '.join(sys.argv)}")
    print(f"labelled_video: {n} frames ({args.minutes:g} min at 30 fps) of {size[0]}x{size[1]} (640x480 video + "
          f"ethogram strip) in {best:.1f} s (best of {args.repeats}: {', '.join(f'{x:.1f}' for x in times)}) = "
          f"{fps:.0f} frames/s (target >= {TARGET_FPS:.0f}: {'ok' if fps >= TARGET_FPS else 'MISSED'})")
    print(f"stages alone: decode {results['decode_fps']:.0f} frames/s, draw {results['draw_fps']:.0f} frames/s, "
          f"encode (libx264 {' '.join(ENCODER)}) {results['encode_fps']:.0f} frames/s")
    print(json.dumps(results))
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
