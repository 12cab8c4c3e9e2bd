"""The poses Dataset schema: one place that builds, normalises and checks it.

Part of ``io``, the files layer and the flow's first room: every reader hands its poses on through it.

A poses Dataset has ``position(time, space, keypoint, individual)`` and
``confidence(time, keypoint, individual)``; ``time`` is in seconds, with an integer ``frame``
coordinate beside it. Unique keypoints of multi-animal DeepLabCut projects (objects or arena
landmarks under the individual ``single``) live in their own variables, ``unique_position(time,
space, unique_keypoint)`` and ``unique_confidence``, so they never join an animal's skeleton.

Attributes: ``fps``, ``source_software``, ``source_file``, ``session`` and ``log``, the provenance
log: one line per step that touched the data, as a single newline-joined string so that it
survives netCDF.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from behavnb.errors import PoseFormatError

if TYPE_CHECKING:
    import xarray as xr

DIMS = ("time", "space", "keypoint", "individual")
CONF_DIMS = ("time", "keypoint", "individual")
#: movement < 0.17 (the newest on Python 3.11) names these dims in the plural.
PLURAL_DIMS = {"keypoints": "keypoint", "individuals": "individual"}


@dataclass
class RawPoses:
    """What a format reader hands back before fps is resolved and the Dataset is built."""

    position: np.ndarray  # (time, space, keypoint, individual)
    confidence: np.ndarray  # (time, keypoint, individual)
    keypoints: list[str]
    individuals: list[str]
    source_software: str
    frames: np.ndarray | None = None  # integer frame numbers; default 0..T-1
    fps: float | None = None  # the rate the file itself states, if any
    space: list[str] | None = None
    unique_position: np.ndarray | None = None  # (time, space, unique_keypoint)
    unique_confidence: np.ndarray | None = None  # (time, unique_keypoint)
    unique_keypoints: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)


def missing_at_import(position: np.ndarray, confidence: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """Points the tracker did not find become missing: confidence exactly 0, or NaN in a file that scores points.

    Trackers write a position for every point, found or not (DeepLabCut often (0, 0) or the last
    position with likelihood 0; SLEAP NaN scores for points it did not predict). Counting those as
    data puts the animal in a corner of the arena. A file with no scores at all (labelled frames,
    SLEAP analysis files without point scores) keeps its positions. A NaN coordinate makes the whole
    point missing.

    Parameters
    ----------
    position : ndarray (time, space, keypoint, individual)
    confidence : ndarray (time, keypoint, individual)

    Returns
    -------
    position, confidence : ndarray
        float64 copies; missing points' positions set to NaN (confidences as read).
    note : str
        A log line saying how many points were set missing ("" when none).
    """
    position = np.array(position, dtype=np.float64)
    confidence = np.array(confidence, dtype=np.float64)
    scored = np.isfinite(confidence).any()
    lost = np.isnan(position).any(axis=1)
    unfound = (confidence == 0) | (np.isnan(confidence) & scored)
    newly = unfound & ~lost
    if newly.any() or lost.any():
        position[np.broadcast_to((unfound | lost)[:, None], position.shape)] = np.nan
    n = int(newly.sum())
    return position, confidence, (f"load_poses: {n} points with confidence 0 (or no score in a scored file) set "
                                  f"missing" if n else "")


def make_poses(raw: RawPoses, *, fps: float, source_file: str, session: str) -> xr.Dataset:
    """Build the canonical poses Dataset from a reader's arrays."""
    import xarray as xr

    n_time = raw.position.shape[0]
    frames = np.arange(n_time) if raw.frames is None else np.asarray(raw.frames, dtype=np.int64)
    space = raw.space or ["x", "y", "z"][: raw.position.shape[1]]
    coords = {
        "time": ("time", frames / float(fps), {"units": "s"}),
        "frame": ("time", frames),
        "space": list(space),
        "keypoint": [str(k) for k in raw.keypoints],
        "individual": [str(i) for i in raw.individuals],
    }
    position, confidence, note = missing_at_import(raw.position, raw.confidence)
    if note:
        raw.log.append(note)
    data_vars = {
        "position": (DIMS, position),
        "confidence": (CONF_DIMS, confidence),
    }
    if raw.unique_keypoints:
        coords["unique_keypoint"] = list(raw.unique_keypoints)
        data_vars["unique_position"] = (("time", "space", "unique_keypoint"), raw.unique_position)
        data_vars["unique_confidence"] = (("time", "unique_keypoint"), raw.unique_confidence)
    attrs = {
        **raw.attrs,
        "fps": float(fps),
        "source_software": raw.source_software,
        "source_file": str(source_file),
        "session": str(session),
        "log": "",
    }
    ds = xr.Dataset(data_vars, coords=coords, attrs=attrs)
    for line in raw.log:
        ds = append_log(ds, line)
    return ds


def normalise_dims(ds: xr.Dataset) -> xr.Dataset:
    """Rename movement's plural dims to singular ones and put dims in canonical order."""
    rename = {k: v for k, v in PLURAL_DIMS.items() if k in ds.dims or k in ds.coords}
    if rename:
        ds = ds.rename(rename)
    if "individual" not in ds.dims and "position" in ds:
        if "individual" in ds.coords and ds["individual"].ndim == 0:  # one animal selected out: keep its name
            name = ds["individual"].values.item()
            ds = ds.drop_vars("individual").expand_dims(individual=[str(name.decode() if isinstance(name, bytes) else name)],
                                                        axis=-1)
        else:
            ds = ds.expand_dims(individual=["individual_0"], axis=-1)
    missing = [d for d in DIMS if d not in ds.dims]
    if missing or "position" not in ds:
        raise PoseFormatError(
            f"dataset from {ds.attrs.get('source_file', '<memory>')} is not a poses dataset: it needs a "
            f"'position' variable with dims {DIMS}, but has variables {list(ds.data_vars)} and dims "
            f"{list(ds.dims)}. Load pose files with behavnb.io.load_poses."
        )
    ds["position"] = ds["position"].transpose(*DIMS)
    if "confidence" in ds:
        ds["confidence"] = ds["confidence"].transpose(*CONF_DIMS)
    return ds


def append_log(ds: xr.Dataset, line: str) -> xr.Dataset:
    """Return ``ds`` with one provenance line appended to ``attrs['log']`` (nothing else copied)."""
    ds = ds.copy(deep=False)
    ds.attrs = dict(ds.attrs)
    old = ds.attrs.get("log", "")
    ds.attrs["log"] = f"{old}\n{line}" if old else line
    return ds


def log_lines(ds: xr.Dataset) -> list[str]:
    """The provenance log of ``ds`` as a list of lines."""
    log = ds.attrs.get("log", "")
    return [line for line in log.split("\n") if line]
