"""Shared pieces of the preprocessing steps: point flags, window sizes, keypoint lookup, fast NaN helpers.

Inside the preprocess room of the flow (io -> preprocess -> features -> ...). Every step records what it
did to each point in the ``flag(time, keypoint, individual)`` variable, a bit field, so the QC table and
the precision/recall of the filters are computed from the data itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from behavnb.errors import KeypointNotFoundError, ParameterError, SessionTooShortError
from behavnb.io.schema import append_log
from behavnb.skeleton import infer_skeleton, roles_of

if TYPE_CHECKING:
    import xarray as xr

#: Bits of the ``flag`` variable. A point can carry several (e.g. a jump that was then interpolated).
MISSING = 1  # NaN in the input
LOW_CONFIDENCE = 2  # removed by the confidence filter
OUTLIER = 4  # removed: too far from the body centre
JUMP = 8  # removed: implausible frame-to-frame jump
SWAPPED = 16  # left/right partner swapped back
INTERPOLATED = 32  # filled by interpolation
ID_SWAP = 64  # identity swap between animals repaired (preprocess.identity)
FLAGS = {"missing": MISSING, "low_confidence": LOW_CONFIDENCE, "outlier": OUTLIER, "jump": JUMP,
         "swapped": SWAPPED, "interpolated": INTERPOLATED, "id_swap": ID_SWAP}
FLAG_DIMS = ("time", "keypoint", "individual")


def ensure_flags(ds: xr.Dataset) -> xr.Dataset:
    """Return ``ds`` with a ``flag`` variable (created from the input's NaNs when absent)."""
    if "flag" in ds:
        return ds
    missing = ds["position"].isnull().any("space").transpose(*FLAG_DIMS).values
    ds = ds.copy(deep=False)
    ds["flag"] = (FLAG_DIMS, np.where(missing, MISSING, 0).astype(np.uint8), {
        "description": "bit field: " + ", ".join(f"{v}={k}" for k, v in FLAGS.items())})
    return ds


def add_flag(ds: xr.Dataset, mask: np.ndarray, bit: int) -> None:
    """OR ``bit`` into ``ds.flag`` where ``mask`` (time, keypoint, individual) is True, in place."""
    ds["flag"] = (FLAG_DIMS, ds["flag"].values | np.where(mask, bit, 0).astype(np.uint8), ds["flag"].attrs)


def drop_points(ds: xr.Dataset, pos: np.ndarray, mask: np.ndarray, bit: int, step: str) -> xr.Dataset:
    """Set the points in ``mask`` (time, keypoint, individual) to NaN, flag them with ``bit`` and log ``step``."""
    pos[np.broadcast_to(mask[:, None], pos.shape)] = np.nan
    out = with_position(ds, pos)
    add_flag(out, mask, bit)
    n = int(mask.sum())
    return append_log(out, f"{step}; removed {n} points ({100 * n / max(mask.size, 1):.2f} %)")


def position_array(ds: xr.Dataset) -> np.ndarray:
    """A writable float copy of ``position`` as (time, space, keypoint, individual)."""
    return np.array(ds["position"].transpose("time", "space", "keypoint", "individual").values, dtype=np.float64)


def with_position(ds: xr.Dataset, pos: np.ndarray, var: str = "position") -> xr.Dataset:
    """A shallow copy of ``ds`` whose ``var`` holds ``pos`` (same dims as ``position``)."""
    out = ds.copy(deep=False)
    out[var] = (("time", "space", "keypoint", "individual"), pos, dict(ds["position"].attrs))
    return out


def fps_of(ds: xr.Dataset, need: str, fix: str = "") -> float:
    """A session's frame rate (``attrs['fps']``): the one place a poses or features Dataset's fps is read.

    Parameters
    ----------
    ds : xarray.Dataset
        Poses, cleaned poses or features of one session.
    need : str
        What needs the rate, for the error ("derivatives per second").
    fix : str
        A further way out to suggest, if any ("or give the window in frames (an int)").

    Returns
    -------
    float
        Frames per second.

    Raises
    ------
    ParameterError
        The session has no positive, finite fps.
    """
    fps = ds.attrs.get("fps")
    if fps is None or not np.isfinite(float(fps)) or float(fps) <= 0:
        raise ParameterError(
            f"{need} needs the frame rate, but session {ds.attrs.get('session', '?')!r} has no frame rate "
            f"(attrs['fps']={fps!r}). Set ds.attrs['fps'] (or the sessions table's fps column, then rerun "
            f"01_import){', ' + fix if fix else ''}.")
    return float(fps)


def to_frames(ds: xr.Dataset, value: int | str, name: str, *, minimum: int = 1) -> int:
    """A window or gap length in frames: an int is frames; a string ``"0.25s"``/``"250ms"``/``"7f"``.

    Floats are refused, because ``5`` frames and ``5.0`` seconds are too easy to confuse.
    """
    if isinstance(value, (bool, float)) or not isinstance(value, (int, np.integer, str)):
        raise ParameterError(
            f"{name}={value!r}: give frames as an int (e.g. 7) or seconds as a string (e.g. '0.25s').")
    if isinstance(value, str):
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(s|sec|seconds?|ms|f|frames?)\s*", value)
        if not m:
            raise ParameterError(f"{name}={value!r}: write seconds as '0.25s' or '250ms', frames as '7f' or 7.")
        number, unit = float(m.group(1)), m.group(2)
        if unit.startswith("f"):
            frames = int(round(number))
        else:
            seconds = number / 1000 if unit == "ms" else number
            frames = int(round(seconds * fps_of(ds, f"{name}={value!r} (in seconds)", "or give it in frames (an int)")))
    else:
        frames = int(value)
    if frames < minimum:
        raise ParameterError(f"{name}={value!r} is {frames} frame(s); it must be at least {minimum}.")
    return frames


def check_length(ds: xr.Dataset, frames: int, what: str) -> None:
    n = ds.sizes["time"]
    if n < frames:
        raise SessionTooShortError(
            f"session {ds.attrs.get('session', '?')!r} has {n} frames, shorter than the {what} "
            f"({frames} frames). Use a shorter window, or leave this session out of the sessions table.")


def check_fraction(value: float, name: str) -> float:
    if not 0.0 <= float(value) <= 1.0:
        raise ParameterError(f"{name}={value!r} is outside [0, 1]; trackers report likelihoods in [0, 1].")
    return float(value)


def keypoint_index(ds: xr.Dataset, names: str | Sequence[str], role: str) -> list[int]:
    """Indices of keypoints given by name; an unknown name raises with the list of available ones."""
    names = [names] if isinstance(names, str) else list(names)
    available = [str(k) for k in ds["keypoint"].values]
    missing = [n for n in names if n not in available]
    if missing or not names:
        raise KeypointNotFoundError(
            f"{role}: keypoint(s) {missing or names!r} not in session {ds.attrs.get('session', '?')!r}; "
            f"available: {available}. Pass one of these names.")
    return [available.index(n) for n in names]


def guess_reference(ds: xr.Dataset) -> dict[str, list[str]]:
    """Anterior and posterior keypoint sets, and a body-centre keypoint when there is one.

    From the project's skeleton when attached (``attrs["skeleton"]``), else decided on the spot by
    :func:`behavnb.skeleton.infer_skeleton` (names first: nose/ears/neck vs tail base/hips; then the
    direction of travel).

    Parameters
    ----------
    ds : xarray.Dataset
        Poses of one session.

    Returns
    -------
    dict of str to list of str
        ``{"anterior": [...], "posterior": [...]}``, plus ``"centre": [keypoint]`` when there is one.

    Raises
    ------
    KeypointNotFoundError
        When no body axis can be found; the message lists the keypoints.
    """
    roles = roles_of(ds)  # the project's skeleton (notebooks 01/02), when attached
    if not (roles.get("anterior") and roles.get("posterior")):
        sk = infer_skeleton(ds, landmarks=[])
        roles = {"anterior": sk.anterior, "posterior": sk.posterior, "centre": sk.centre}
    anterior, posterior = roles["anterior"], [k for k in roles["posterior"] if k not in roles["anterior"]]
    if not anterior or not posterior:
        names = [str(k) for k in ds["keypoint"].values]
        raise KeypointNotFoundError(
            f"cannot find the body axis of session {ds.attrs.get('session', '?')!r} from its keypoints {names} "
            f"(neither the names nor the direction of travel tell the front from the back); pass anterior=[...] "
            f"and posterior=[...] (e.g. anterior=['nose'], posterior=['tail_base']).")
    centre = roles.get("centre", [])[:1]
    return {"anterior": anterior, "posterior": posterior, **({"centre": centre} if centre else {})}


def lr_pairs(names: Sequence[str]) -> list[tuple[str, str]]:
    """Left/right keypoint pairs recognised from their names (ear_left/ear_right, EarL/EarR, Left_paw/Right_paw)."""
    tokens = [(r"(?i)left", "right"), (r"(?i)(?<=[_\-\s])l(?=$|[_\-\s])", "r"), (r"(?<=[a-z])L(?=$|[_\-])", "R"),
              (r"(?i)^l(?=[_\-])", "r")]
    pairs = []
    for name in names:
        for pattern, repl in tokens:
            if re.search(pattern, name):
                def swap(m: re.Match, repl: str = repl) -> str:
                    s = m.group(0)
                    out = repl if s.islower() else repl.upper() if s.isupper() else repl.capitalize()
                    return out
                partner = re.sub(pattern, swap, name, count=1)
                if partner in names and partner != name and (partner, name) not in pairs:
                    pairs.append((name, partner))
                break
    return pairs


def fill_index(valid: np.ndarray, forward: bool = True) -> np.ndarray:
    """For each frame (axis 0), the index of the last valid frame at or before it (or first at or after it).

    -1 (forward) or T (backward) where there is none. Vectorised over the other axes.
    """
    t = valid.shape[0]
    idx = np.arange(t).reshape((t,) + (1,) * (valid.ndim - 1))
    if forward:
        return np.maximum.accumulate(np.where(valid, idx, -1), axis=0)
    rev = np.where(valid, idx, t)[::-1]
    return np.minimum.accumulate(rev, axis=0)[::-1]


def longest_run(mask: np.ndarray) -> np.ndarray:
    """Length of the longest run of True along axis 0, for every other index."""
    t = mask.shape[0]
    if t == 0:
        return np.zeros(mask.shape[1:], dtype=int)
    last_false = fill_index(~mask, forward=True)
    run = np.where(mask, np.arange(t).reshape((t,) + (1,) * (mask.ndim - 1)) - last_false, 0)
    return run.max(axis=0)


def nanmedian_axis(a: np.ndarray, axis: int) -> np.ndarray:
    """NaN-ignoring median along a short axis, much faster than ``np.nanmedian`` on many small groups."""
    a = np.moveaxis(a, axis, -1)
    s = np.sort(a, axis=-1)  # NaNs sort last
    n = (~np.isnan(a)).sum(axis=-1)
    lo = np.take_along_axis(s, np.maximum((n - 1) // 2, 0)[..., None], axis=-1)[..., 0]
    hi = np.take_along_axis(s, np.maximum(n // 2, 0)[..., None], axis=-1)[..., 0]
    out = (lo + hi) / 2
    out[n == 0] = np.nan
    return out


def nanmean_axis(a: np.ndarray, axis: int) -> np.ndarray:
    """NaN-ignoring mean with no warning on all-NaN slices (they give NaN)."""
    n = (~np.isnan(a)).sum(axis=axis)
    total = np.nansum(a, axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def point_missing(pos: np.ndarray) -> np.ndarray:
    """(time, space, keypoint, individual) -> True where any coordinate is NaN (faster than ``isnan().any``)."""
    return np.isnan(pos.sum(axis=1))


def velocity(x: np.ndarray, fps: float = 1.0) -> np.ndarray:
    """Rate of change along axis 0 (time): central differences, one-sided at the ends.

    The one derivative every velocity and speed in behavnb comes from (the centroid speed of
    ``align``, the kinematic features, VQ-MAP's body-frame velocities).

    Parameters
    ----------
    x : numpy.ndarray
        Values with time on axis 0; any further axes (space, keypoint, individual) are kept.
    fps : float
        Frames per second: the result is per second; 1 gives it per frame.

    Returns
    -------
    numpy.ndarray
        Same shape as ``x``; all NaN when there are fewer than 2 frames. A NaN next to a frame makes
        that frame's value NaN rather than an invented number.
    """
    if x.shape[0] < 2:
        return np.full_like(x, np.nan, dtype=float)
    return np.gradient(x, axis=0) * fps
