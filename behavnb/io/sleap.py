"""SLEAP ``.slp`` and ``.analysis.h5`` through movement (which decodes .slp with sleap-io),
plus SLEAP's CSV export, which movement does not read.

A reader of ``io``, the files layer and the flow's first room (io -> preprocess -> ...).

SLEAP stores no frame rate, so fps must come from the caller or the manifest. Tracks become
individuals; an untracked single-animal file gets one individual.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from behavnb.errors import EmptyFileError, PoseFormatError
from behavnb.io.schema import RawPoses, normalise_dims


def from_movement(ds, software: str, log: str) -> RawPoses:
    """Arrays of a movement poses dataset (plural or singular dims)."""
    ds = normalise_dims(ds)
    pos = ds["position"].values
    conf = ds["confidence"].values if "confidence" in ds else np.full(pos[:, 0].shape, np.nan)
    return RawPoses(
        position=pos,
        confidence=conf,
        keypoints=[str(k) for k in ds["keypoint"].values],
        individuals=[str(i) for i in ds["individual"].values],
        source_software=software,
        space=[str(s) for s in ds["space"].values],
        log=[log],
    )


def read_sleap(path: Path) -> RawPoses:
    """Read a SLEAP ``.slp`` labels file or ``.analysis.h5`` file."""
    from movement.io import load_poses as mload

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = mload.from_sleap_file(path, fps=None)
    except (OSError, KeyError, ValueError, IndexError) as exc:
        raise PoseFormatError(f"{path}: not a readable SLEAP file ({type(exc).__name__}: {exc}). "
                              "Re-export it from SLEAP (File > Export Analysis HDF5).") from exc
    if ds.sizes.get("time", 0) == 0:
        raise EmptyFileError(f"{path}: the SLEAP file holds no predicted frames; run inference on the video first.")
    raw = from_movement(ds, "SLEAP", f"load_poses: read {path.name} as SLEAP ({path.suffix} via movement/sleap-io)")
    if np.isnan(raw.confidence).all():
        raw.log.append("load_poses: the file has no point scores; confidence is NaN")
    return raw


def read_sleap_csv(path: Path) -> RawPoses:
    """Read SLEAP's CSV export: ``track, frame_idx, instance.score, <node>.x, <node>.y, <node>.score``."""
    import pandas as pd

    try:
        df = pd.read_csv(path)
    except pd.errors.EmptyDataError as exc:
        raise EmptyFileError(f"{path} is empty: re-export it from SLEAP.") from exc
    if df.empty:
        raise EmptyFileError(f"{path}: header only, no rows; re-export it from SLEAP.")
    nodes = [c[:-2] for c in df.columns if c.endswith(".x")]
    if not nodes or "frame_idx" not in df:
        raise PoseFormatError(f"{path}: not a SLEAP CSV export (needs frame_idx and <node>.x/.y columns).")
    frames = df["frame_idx"].to_numpy(dtype=np.int64)
    tracks = df["track"].astype("string") if "track" in df else pd.Series(pd.NA, index=df.index, dtype="string")
    untracked = tracks.isna().to_numpy()
    log = [f"load_poses: read {path.name} as SLEAP CSV export"]
    per_frame = pd.Series(frames[untracked]).groupby(frames[untracked]).cumcount().to_numpy()
    if per_frame.size and per_frame.max() > 0:
        # several untracked instances in a frame: keep them all, as instance_0..n in file order (like
        # movement does for untracked .slp files); they are not the same animal from frame to frame
        tracks[untracked] = [f"instance_{k}" for k in per_frame]
        n_inst = int(per_frame.max()) + 1
        msg = (f"{path.name}: up to {n_inst} untracked instances per frame; they become individuals "
               f"instance_0..instance_{n_inst - 1} in file order, which are not identities across frames. "
               "Run SLEAP's tracker for identities.")
        warnings.warn(msg, stacklevel=4)
        log.append(f"load_poses: {msg}")
    else:
        tracks = tracks.fillna("individual_0")
    dup = pd.DataFrame({"t": tracks.to_numpy(), "f": frames}).duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise PoseFormatError(f"{path}: track {tracks.iloc[row]!r} appears more than once in frame {frames[row]} "
                              f"({int(dup.sum())} such row(s)); one track holds one instance per frame.")
    names = list(dict.fromkeys(tracks))
    first, last = frames.min(), frames.max()
    t_idx, i_idx = frames - first, np.array([names.index(t) for t in tracks])
    pos = np.full((last - first + 1, 2, len(nodes), len(names)), np.nan)
    conf = np.full((last - first + 1, len(nodes), len(names)), np.nan)
    for k, n in enumerate(nodes):
        pos[t_idx, 0, k, i_idx] = pd.to_numeric(df[f"{n}.x"], errors="raise")
        pos[t_idx, 1, k, i_idx] = pd.to_numeric(df[f"{n}.y"], errors="raise")
        if f"{n}.score" in df:
            conf[t_idx, k, i_idx] = pd.to_numeric(df[f"{n}.score"], errors="raise")
    return RawPoses(pos, conf, nodes, names, "SLEAP", frames=np.arange(first, last + 1), log=log)
