"""Egocentric alignment and units: where the animal is goes to separate variables, its posture to ``ego_position``.

A preprocess step (io -> **preprocess** -> features -> ...), the last of the default chain.

Alignment removes location and heading from the pose, which a posture model needs, but locomotion
matters for behaviour: the allocentric ``centroid``, ``heading`` and ``speed`` are kept beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from behavnb.errors import ParameterError
from behavnb.io.schema import append_log
from behavnb.preprocess._core import guess_reference, keypoint_index, nanmean_axis, position_array, velocity
from behavnb.preprocess.outliers import body_axis

if TYPE_CHECKING:
    import xarray as xr

POSE_DIMS = ("time", "space", "keypoint", "individual")


def units_of(ds: xr.Dataset) -> str:
    """The unit of ``position``: ``attrs['units']`` if set, else image pixels."""
    return str(ds.attrs.get("units", "px"))


def align(ds: xr.Dataset, *, centre: str | Sequence[str] | None = None, heading: str | None = None,
          anterior: Sequence[str] | None = None, posterior: Sequence[str] | None = None,
          axis: str = "x") -> xr.Dataset:
    """Rotate and translate each pose so that the body faces along ``axis`` from the origin.

    Two modes, chosen by which arguments are given:

    - **2-point**: ``centre`` keypoint -> (0, 0), ``heading`` keypoint onto the positive ``axis``.
    - **multi-point**: ``anterior`` and ``posterior`` keypoint sets; the heading runs from the
      mean of the posterior set to the mean of the anterior set (of the points present), so one
      missing point does not lose the frame. The origin is ``centre`` (a keypoint or set) if
      given, else the midpoint of the two set means.

    With no arguments the sets are guessed from the names (nose/ears/neck vs tail base/hips), and
    the origin is a body-centre keypoint (mid-spine, centre) if there is one.
    Frames whose reference points are missing have NaN ``ego_position``; they are counted in
    ``reference_missing``. In 3D the rotation is about the vertical axis and z is left as it is.

    Adds ``ego_position``, ``centroid(time, space, individual)``, ``heading(time, individual)`` in
    radians (atan2 in the data's own frame: with image y pointing down, positive is clockwise on
    screen) and ``speed(time, individual)`` of the centroid.
    """
    if axis not in ("x", "y"):
        raise ParameterError(f"axis={axis!r}: the heading goes onto 'x' or 'y'.")
    pos = position_array(ds)
    if heading is not None:
        if centre is None or not isinstance(centre, str) or anterior or posterior:
            raise ParameterError("2-point alignment takes centre='<keypoint>' and heading='<keypoint>' "
                                 "(use anterior=[...], posterior=[...] for the multi-point mode).")
        ic = keypoint_index(ds, centre, "align centre")
        ih = keypoint_index(ds, heading, "align heading")
        origin, front = pos[:, :, ic[0]], pos[:, :, ih[0]]
        back = origin
        mode = f"2-point: centre={centre!r}, heading={heading!r}"
    else:
        if anterior is None or posterior is None:
            if anterior is not None or posterior is not None:
                raise ParameterError("multi-point alignment needs both anterior=[...] and posterior=[...].")
            guess = guess_reference(ds)
            anterior, posterior = guess["anterior"], guess["posterior"]
            centre = guess.get("centre") if centre is None else centre
        ia = keypoint_index(ds, anterior, "align anterior")
        ip = keypoint_index(ds, posterior, "align posterior")
        front, back = body_axis(pos, ia, ip)
        if centre is None:
            origin = (front + back) / 2
        else:
            origin = nanmean_axis(pos[:, :, keypoint_index(ds, centre, "align centre")], axis=2)
        mode = f"multi-point: anterior={list(anterior)}, posterior={list(posterior)}, centre={centre!r}"

    vec = front[:, :2] - back[:, :2]  # (time, 2, individual)
    angle = np.arctan2(vec[:, 1], vec[:, 0])  # (time, individual)
    missing = ~np.isfinite(angle) | ~np.isfinite(origin[:, :2]).all(axis=1) | (np.hypot(vec[:, 0], vec[:, 1]) == 0)
    angle[missing] = np.nan
    target = 0.0 if axis == "x" else np.pi / 2
    rot = target - angle
    c, s = np.cos(rot)[:, None], np.sin(rot)[:, None]  # (time, 1, individual)
    dx = pos[:, 0] - origin[:, None, 0]
    dy = pos[:, 1] - origin[:, None, 1]
    ego = pos.copy()
    ego[:, 0] = c * dx - s * dy
    ego[:, 1] = s * dx + c * dy
    ego[np.broadcast_to(missing[:, None, None, :], ego.shape)] = np.nan

    fps = float(ds.attrs.get("fps") or np.nan)
    centroid = origin.copy()
    centroid[np.broadcast_to(missing[:, None], centroid.shape)] = np.nan
    speed = _speed(centroid[:, :2], fps)
    units = units_of(ds)
    out = ds.copy(deep=False)
    out["ego_position"] = (POSE_DIMS, ego, {"units": units, "description": f"egocentric pose ({mode}; heading on +{axis})"})
    out["centroid"] = (("time", "space", "individual"), centroid, {"units": units, "description": "allocentric body centre"})
    out["heading"] = (("time", "individual"), angle, {"units": "rad", "description": "body axis angle, atan2(dy, dx)"})
    out["speed"] = (("time", "individual"), speed, {"units": f"{units}/s", "description": "centroid speed"})
    out["reference_missing"] = (("time", "individual"), missing)
    length = np.hypot(vec[:, 0], vec[:, 1])
    out.attrs = {**ds.attrs, "alignment": mode, "aligned_axis": axis,
                 "body_length": (float(np.nanmedian(length[:: max(1, len(length) // 20000)]))
                                 if np.isfinite(length).any() else float("nan"))}
    return append_log(out, f"preprocess.align: {mode}, axis={axis}; {int(missing.sum())} frame(s) without "
                           f"reference points ({100 * missing.mean():.2f} %)")


def _speed(xy: np.ndarray, fps: float) -> np.ndarray:
    """Speed along axis 0 of (time, 2, individual) positions, central differences, per second."""
    v = velocity(xy, fps)
    return np.hypot(v[:, 0], v[:, 1])


def scale(ds: xr.Dataset, *, px_per_cm: float | None = None, body_length: bool = False) -> xr.Dataset:
    """Convert pixels to centimetres (``px_per_cm``) and/or express the egocentric pose in body lengths.

    ``px_per_cm`` divides every positional variable (position, ego_position, centroid, speed).
    ``body_length=True`` divides ``ego_position`` by the session's median body length (front to
    back of the alignment axis), so animals of different size share one posture scale; the
    allocentric variables keep their units.
    """
    out = ds.copy(deep=False)
    done = []
    if px_per_cm is not None:
        if not np.isfinite(px_per_cm) or px_per_cm <= 0:
            raise ParameterError(f"px_per_cm={px_per_cm!r} must be a positive number (pixels per centimetre).")
        if units_of(ds) != "px":
            raise ParameterError(f"session {ds.attrs.get('session')!r} is already in {units_of(ds)!r}, not pixels.")
        for var in ("position", "ego_position", "centroid", "speed", "unique_position", "landmark_position"):
            if var in out:
                attrs = dict(out[var].attrs)
                out[var] = out[var] / px_per_cm
                if "units" in attrs:
                    attrs["units"] = attrs["units"].replace("px", "cm")
                out[var].attrs = attrs
        out.attrs = {**out.attrs, "units": "cm", "px_per_cm": float(px_per_cm)}
        if "body_length" in out.attrs:
            out.attrs["body_length"] = out.attrs["body_length"] / px_per_cm
        done.append(f"px_per_cm={px_per_cm}")
    if body_length:
        if "ego_position" not in out:
            raise ParameterError("body_length=True scales the egocentric pose: run preprocess.align first.")
        length = float(out.attrs.get("body_length", np.nan))
        if not np.isfinite(length) or length <= 0:
            raise ParameterError(f"session {ds.attrs.get('session')!r}: no body length (reference points missing?).")
        out["ego_position"] = out["ego_position"] / length
        out["ego_position"].attrs = {"units": "body lengths", "description": ds["ego_position"].attrs.get("description", "")}
        done.append(f"body_length={length:.3g} {units_of(out)}")
    if not done:
        return out
    return append_log(out, "preprocess.scale: " + ", ".join(done))


def rotate_translate(pos: np.ndarray, angle: float, shift: Sequence[float]) -> np.ndarray:
    """Rotate (time, space, ...) positions by ``angle`` about the origin and shift them (tests, augmentation)."""
    c, s = np.cos(angle), np.sin(angle)
    out = pos.copy()
    out[:, 0] = c * pos[:, 0] - s * pos[:, 1] + shift[0]
    out[:, 1] = s * pos[:, 0] + c * pos[:, 1] + shift[1]
    return out
