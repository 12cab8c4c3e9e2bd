"""Video frames for motif clips: find a session's video, check it against the poses, cut frame ranges.

Part of ``io``, the files layer: the motif browser, the gallery and ``export.video`` read videos through it.

OpenCV (``opencv-python-headless``, installed with movement) reads the frames. A video rarely has
exactly as many frames as the pose file (encoders drop or pad one at the ends): a difference up to
``tolerance`` frames is silent, a larger one warns with both numbers; clips are always clamped to
the frames the video has.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from behavnb.errors import DataWarning, ParameterError, PoseFileNotFoundError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".m4v")


def find_video(pose_file: str | Path | None = None, video: str | Path | None = None) -> Path | None:
    """The session's video: ``video`` if given (it must exist), else a file next to ``pose_file`` with the same
    stem and a video suffix (``rec1.csv`` -> ``rec1.mp4``); None when there is none."""
    if video is not None and str(video) not in ("", "nan", "None"):
        p = Path(video)
        if not p.exists():
            raise PoseFileNotFoundError(f"{p}: video not found. Fix the 'video' column of the sessions table or "
                                        f"leave it empty (the browser then shows skeletons only).")
        return p
    if pose_file is None or str(pose_file) in ("", "nan", "None"):
        return None
    pose_file = Path(pose_file)
    stem = pose_file.name.split(".")[0]
    for suffix in VIDEO_SUFFIXES:
        for cand in (pose_file.with_name(stem + suffix), pose_file.with_name(stem + suffix.upper())):
            if cand.exists():
                return cand
    return None


class Video:
    """One video file opened with OpenCV: ``n_frames``, ``fps``, ``size``, and ``clip(start, stop)``."""

    def __init__(self, path: str | Path, n_pose_frames: int | None = None, tolerance: int = 2):
        import cv2

        self.path = Path(path)
        if not self.path.exists():
            raise PoseFileNotFoundError(f"{self.path}: video not found.")
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            raise ParameterError(f"{self.path}: OpenCV cannot open this video; re-encode it as H.264 MP4 "
                                 f"(ffmpeg -i in -c:v libx264 out.mp4).")
        self.n_frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.fps = float(cap.get(cv2.CAP_PROP_FPS))
        self.size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        cap.release()
        self.n_pose_frames = n_pose_frames
        if n_pose_frames is not None and abs(self.n_frames - n_pose_frames) > tolerance:
            warnings.warn(f"{self.path}: the video has {self.n_frames} frames but the poses have {n_pose_frames} "
                          f"(difference {self.n_frames - n_pose_frames:+d}, tolerance {tolerance}); clips are clamped "
                          f"to the video's frames. Check that this is the right video and that it was not trimmed.",
                          DataWarning, stacklevel=2)

    def __repr__(self) -> str:
        return f"Video({self.path.name!r}, {self.n_frames} frames, {self.fps:g} fps, {self.size[0]}x{self.size[1]})"

    def clip(self, start: int, stop: int, *, max_width: int | None = 320, step: int = 1) -> np.ndarray:
        """Frames ``start`` ... ``stop - 1`` (pose frame numbers), clamped to the video: ``(T, H, W, 3)`` RGB uint8.

        ``max_width`` shrinks large frames (a browser does not need 1000 px). Empty when the range lies
        wholly outside the video.
        """
        import cv2

        a, b = max(int(start), 0), min(int(stop), self.n_frames)
        if b <= a:
            return np.zeros((0, 1, 1, 3), np.uint8)
        cap = cv2.VideoCapture(str(self.path))
        cap.set(cv2.CAP_PROP_POS_FRAMES, a)
        frames = []
        for i in range(a, b):
            ok, frame = cap.read()
            if not ok:
                break
            if (i - a) % step:
                continue
            if max_width and frame.shape[1] > max_width:
                h = int(round(frame.shape[0] * max_width / frame.shape[1]))
                frame = cv2.resize(frame, (max_width, h), interpolation=cv2.INTER_AREA)
            frames.append(frame[:, :, ::-1])
        cap.release()
        return np.stack(frames) if frames else np.zeros((0, 1, 1, 3), np.uint8)
