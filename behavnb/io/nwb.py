"""NWB files with ndx-pose pose estimation, through movement (pynwb + ndx-pose underneath).

A reader of ``io``, the files layer and the flow's first room (io -> preprocess -> ...).

Both layouts load: ndx-pose 0.1 (series straight under ``PoseEstimation``, no Skeleton) and
ndx-pose >= 0.2 (a ``Skeletons`` container and a skeleton link). One ``PoseEstimation`` object holds
one animal; a file with several becomes a multi-individual dataset.

Notes
-----
Some exporters write frame indices (0, 1, 2, ...) as ``timestamps`` in seconds, which reads as 1 Hz.
Such timestamps are not trusted as a frame rate: fps then has to come from the caller or manifest.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from behavnb.errors import EmptyFileError, PoseFormatError
from behavnb.io.schema import RawPoses
from behavnb.io.sleap import from_movement


def nwb_name(name: str) -> str:
    """``name`` as an NWB object name: NWB forbids '/' and ':' (a path separator and a reserved character), so each
    becomes '_'. A skeleton keeps the true keypoint names as its nodes; :func:`read_nwb` maps them back."""
    return str(name).replace("/", "_").replace(":", "_")


def pose_estimations(path: Path) -> list[tuple[str, str]]:
    """(processing module, PoseEstimation name) pairs found in an NWB file."""
    import h5py

    found: list[tuple[str, str]] = []
    try:
        with h5py.File(path, "r") as f:
            for mod_name, mod in f.get("processing", {}).items():
                for name, obj in mod.items():
                    nd_type = obj.attrs.get("neurodata_type", b"")
                    nd_type = nd_type.decode() if isinstance(nd_type, bytes) else str(nd_type)
                    if nd_type == "PoseEstimation":
                        found.append((mod_name, name))
    except OSError as exc:
        raise PoseFormatError(f"{path}: not a readable NWB (HDF5) file ({exc}).") from exc
    return found


def _layout(path: Path, module: str, name: str) -> tuple[list[str] | None, float]:
    """The skeleton's node order (None if the file has no Skeleton) and the first timestamp in seconds."""
    import h5py

    def text(v) -> str:
        return v.decode() if isinstance(v, bytes) else str(v)

    with h5py.File(path, "r") as f:
        pe = f[f"processing/{module}/{name}"]
        groups = [o for o in pe.values() if isinstance(o, h5py.Group)]
        nodes = None
        for g in [o for o in groups if text(o.attrs.get("neurodata_type", "")) == "Skeleton"] + [pe]:
            if "nodes" in g:
                nodes = [text(n) for n in g["nodes"][()]]
                break
        start = 0.0
        series = [o for o in groups if text(o.attrs.get("neurodata_type", "")) == "PoseEstimationSeries"]
        if series:
            s0 = series[0]
            if "timestamps" in s0 and len(s0["timestamps"]):
                start = float(s0["timestamps"][0])
            elif "starting_time" in s0:
                start = float(s0["starting_time"][()])
    return nodes, start


def read_nwb(path: Path) -> RawPoses:
    """Read every ndx-pose ``PoseEstimation`` in an NWB file; each one is an individual."""
    import ndx_pose  # noqa: F401  registers the ndx-pose namespace for files written without cached specs
    import xarray as xr
    from movement.io import load_poses as mload

    found = pose_estimations(path)
    if not found:
        raise PoseFormatError(
            f"{path}: no ndx-pose PoseEstimation object under /processing; this NWB file holds no poses. "
            "Write poses with ndx-pose (e.g. DeepLabCut's or SLEAP's NWB export)."
        )
    parts = []
    for module, name in found:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = mload.from_nwb_file(path, processing_module_key=module, pose_estimation_key=name)
        nodes, start = _layout(path, module, name)
        if nodes:  # movement sorts keypoints by name; keep the skeleton's order (and its names: series names
            kps = [str(k) for k in ds["keypoints"].values]  # cannot hold '/' or ':')
            true = {nwb_name(n): n for n in nodes if nwb_name(n) != n and nwb_name(n) in kps and n not in kps}
            if true:
                ds = ds.assign_coords(keypoints=[true.get(k, k) for k in kps])
                kps = [true.get(k, k) for k in kps]
            ds = ds.sel(keypoints=[k for k in nodes if k in kps] + [k for k in kps if k not in nodes])
        if len(found) > 1 or name != "PoseEstimation":  # name individuals after their PoseEstimation
            ds = ds.assign_coords(individuals=[name])
        # movement's time starts at 0 for every PoseEstimation; put each back on the file's own clock
        # (rounded to whole frames, so that animals share time points) before they are combined
        rate = float(ds.attrs.get("fps") or 0)
        times = ds["time"].values.astype(float) + start
        ds = ds.assign_coords(time=np.round(times * rate) / rate if rate else times)
        parts.append(ds)
    # an animal absent from part of the recording is NaN there (outer join on time)
    ds = parts[0] if len(parts) == 1 else xr.concat(parts, dim="individuals", join="outer")
    if ds.sizes["time"] == 0:
        raise EmptyFileError(f"{path}: the PoseEstimation series are empty.")
    raw = from_movement(ds, str(ds.attrs.get("source_software") or "NWB"),
                        f"load_poses: read {path.name} as NWB ndx-pose ({len(found)} PoseEstimation object(s))")
    raw.attrs["nwb_source_software"] = str(ds.attrs.get("source_software", ""))
    times = np.asarray(ds["time"].values, dtype=float)
    fps = float(ds.attrs.get("fps") or 0) or None
    if len(times) > 1 and np.array_equal(times - times[0], np.arange(len(times))) and times[0] == int(times[0]):
        raw.log.append("load_poses: NWB timestamps are frame indices (0, 1, 2, ...), not seconds; fps not taken from the file")
        fps, rate = None, 1.0  # the 'seconds' are frame numbers
    else:
        rate = fps
    raw.fps = fps
    if rate:  # frame numbers on the file's clock; frames where no animal was tracked become NaN frames
        frames = np.round(times * rate).astype(np.int64)
        full = np.arange(frames.min(), frames.max() + 1)
        if len(full) != len(frames):
            at = frames - full[0]
            pos = np.full((len(full), *raw.position.shape[1:]), np.nan)
            conf = np.full((len(full), *raw.confidence.shape[1:]), np.nan)
            pos[at], conf[at] = raw.position, raw.confidence
            raw.position, raw.confidence = pos, conf
        raw.frames = full
    if len(parts) > 1:
        raw.log.append("load_poses: each PoseEstimation kept its own start time; an animal is NaN where it was "
                       "not tracked")
    return raw
