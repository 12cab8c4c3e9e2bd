"""Kinematic and social features of cleaned poses, each a DataArray with its units in ``attrs``.

Third room of the flow (io -> preprocess -> **features** -> inputs -> windows -> models ...). Input is
the output of ``preprocess.clean`` (it needs ``centroid``, ``heading``, ``ego_position``).
Derivatives are central differences per second; a NaN next to a frame makes that frame's value NaN
rather than an invented number. Angles are radians in the data's own frame (image y points down,
so positive angular velocity is clockwise on screen).

``compute`` gathers them into one Dataset (written to ``features/`` by notebook 03), and
``bn.inputs.extra_features`` picks some as extra inputs for the models (e.g. speed next to the pose).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from behavnb.errors import DataWarning, KeypointNotFoundError, ParameterError
from behavnb.preprocess import guess_reference, units_of
from behavnb.preprocess._core import fps_of, keypoint_index, nanmean_axis, velocity
from behavnb.preprocess.outliers import body_axis
from behavnb.skeleton import neck_points, roles_of

if TYPE_CHECKING:
    import xarray as xr


def _need(ds: xr.Dataset, var: str) -> None:
    if var not in ds:
        raise ParameterError(f"session {ds.attrs.get('session', '?')!r} has no {var!r}: features need cleaned, "
                             f"aligned poses (preprocess.clean or preprocess.align).")


def _wrap(a: np.ndarray) -> np.ndarray:
    return (a + np.pi) % (2 * np.pi) - np.pi


def _da(ds: xr.Dataset, values: np.ndarray, dims: tuple[str, ...], units: str, description: str, name: str) -> xr.DataArray:
    import xarray as xr

    coords = {d: ds[d] for d in dims if d in ds.coords}
    if "time" in dims:
        coords["frame"] = ds["frame"] if "frame" in ds.coords else ("time", np.arange(ds.sizes["time"]))
    return xr.DataArray(values, dims=dims, coords=coords, name=name, attrs={"units": units, "description": description})


def _fps(ds: xr.Dataset) -> float:
    return fps_of(ds, "a derivative per second")


def speed(ds: xr.Dataset) -> xr.DataArray:
    """Speed of the body centre (allocentric), per individual."""
    _need(ds, "centroid")
    xy = ds["centroid"].transpose("time", "space", "individual").values[:, :2]
    v = velocity(xy, _fps(ds))
    return _da(ds, np.hypot(v[:, 0], v[:, 1]), ("time", "individual"), f"{units_of(ds)}/s", "body centre speed", "speed")


def acceleration(ds: xr.Dataset) -> xr.DataArray:
    """Rate of change of the body speed (positive = speeding up)."""
    s = speed(ds)
    return _da(ds, velocity(s.values, _fps(ds)), ("time", "individual"), f"{units_of(ds)}/s^2",
               "tangential acceleration of the body centre", "acceleration")


def angular_velocity(ds: xr.Dataset) -> xr.DataArray:
    """Turning rate of the body axis; wrapping at +-pi is handled, so a turn through 180 deg is smooth."""
    _need(ds, "heading")
    h = ds["heading"].transpose("time", "individual").values
    fps = _fps(ds)
    w = np.full_like(h, np.nan)
    if len(h) >= 3:
        w[1:-1] = _wrap(h[2:] - h[:-2]) / 2 * fps
    if len(h) >= 2:
        w[0], w[-1] = _wrap(h[1] - h[0]) * fps, _wrap(h[-1] - h[-2]) * fps
    return _da(ds, w, ("time", "individual"), "rad/s", "angular velocity of the heading", "angular_velocity")


def _reference(ds: xr.Dataset, anterior: Sequence[str] | None, posterior: Sequence[str] | None) -> tuple[list[int], list[int]]:
    if anterior is None or posterior is None:
        guess = guess_reference(ds)
        anterior, posterior = anterior or guess["anterior"], posterior or guess["posterior"]
    return keypoint_index(ds, anterior, "anterior"), keypoint_index(ds, posterior, "posterior")


def body_length(ds: xr.Dataset, anterior: Sequence[str] | None = None, posterior: Sequence[str] | None = None) -> xr.DataArray:
    """Distance from the back (posterior set) to the front (anterior set) of the body, per frame.

    It shrinks when the animal rears or hunches, and its stability over a session is a check on tracking.
    """
    pos = ds["position"].transpose("time", "space", "keypoint", "individual").values
    ia, ip = _reference(ds, anterior, posterior)
    front, back = body_axis(pos, ia, ip)
    d = front[:, :2] - back[:, :2]
    return _da(ds, np.hypot(d[:, 0], d[:, 1]), ("time", "individual"), units_of(ds), "front-to-back body length", "body_length")


def _find(ds: xr.Dataset, pattern: str, role: str) -> list[int]:
    names = [str(k) for k in ds["keypoint"].values]
    hits = [i for i, n in enumerate(names) if re.search(pattern, n, re.IGNORECASE)]
    if not hits:
        raise KeypointNotFoundError(f"no {role} keypoint recognised in {names}; pass it by name.")
    return hits


def head_angle(ds: xr.Dataset, nose: str | None = None, neck: str | Sequence[str] | None = None,
               posterior: Sequence[str] | None = None) -> xr.DataArray:
    """Angle of the head (neck -> nose) relative to the body (back -> neck); 0 = head in line with the body.

    Defaults: the skeleton's nose and neck (else its other head points: ears, eyes) when one is
    attached (:mod:`behavnb.skeleton`), else the nose/snout keypoint and the neck or the midpoint of
    the ears by name; the posterior set.
    """
    pos = ds["position"].transpose("time", "space", "keypoint", "individual").values
    roles = roles_of(ds)
    i_nose = keypoint_index(ds, nose or roles["nose"][:1], "nose") if nose or roles.get("nose") else \
        _find(ds, r"nose|snout", "nose")[:1]
    if neck is not None:
        i_neck = keypoint_index(ds, neck, "neck")
    elif roles:
        base = neck_points(roles)
        if not base:
            raise KeypointNotFoundError(f"session {ds.attrs.get('session', '?')!r}: no neck, ears or eyes in the "
                                        f"skeleton's head points {roles.get('head')}; the head angle needs the base "
                                        f"of the head. Pass neck=... by name.")
        i_neck = keypoint_index(ds, base, "neck")
    else:
        try:
            i_neck = _find(ds, r"neck", "neck")
        except KeypointNotFoundError:
            i_neck = _find(ds, r"ear", "neck or ear")
    ip = keypoint_index(ds, posterior or guess_reference(ds)["posterior"], "posterior")
    p_nose = pos[:, :2, i_nose[0]]
    p_neck = nanmean_axis(pos[:, :2, i_neck], axis=2)
    p_back = nanmean_axis(pos[:, :2, ip], axis=2)
    head = p_nose - p_neck
    body = p_neck - p_back
    ang = _wrap(np.arctan2(head[:, 1], head[:, 0]) - np.arctan2(body[:, 1], body[:, 0]))
    return _da(ds, ang, ("time", "individual"), "rad", "head angle relative to the body axis", "head_angle")


def arena_from_hull(ds: xr.Dataset | Sequence[xr.Dataset]) -> np.ndarray:
    """The convex hull of all centroid positions (of one or several sessions), as polygon vertices (n, 2)."""
    from scipy.spatial import ConvexHull

    sessions = [ds] if not isinstance(ds, Sequence) else list(ds)
    pts = np.concatenate([s["centroid"].transpose("time", "individual", "space").values[..., :2].reshape(-1, 2)
                          for s in sessions])
    pts = pts[np.isfinite(pts).all(axis=1)]
    if len(pts) < 3:
        raise ParameterError("too few tracked positions to estimate the arena; pass arena=... explicitly.")
    hull = ConvexHull(pts)
    return pts[hull.vertices]


def arena_in_units(arena: Mapping | None, units: str, px_per_cm: float | None = None) -> dict | None:
    """A registry arena given in pixels (e.g. ``manifest.info(name)["arena"]``), in the data's ``units``.

    Parameters
    ----------
    arena : mapping, optional
        ``{"shape": "rectangle", "xmin", "ymin", "xmax", "ymax"}`` or ``{"shape": "circle", "cx", "cy", "r"}``
        in pixels; None or empty for none.
    units : str
        The data's units (``attrs["units"]`` of the cleaned poses): "px" or "cm".
    px_per_cm : float, optional
        The session's scale, needed when ``units`` is "cm".

    Returns
    -------
    dict or None
        The arena in ``units``; None when there is no arena.

    Raises
    ------
    ParameterError
        When the data are not in pixels and no scale is known.
    """
    if not arena:
        return None
    arena = dict(arena)
    if units == "px":
        return arena
    if units == "cm" and px_per_cm:
        return {k: (v if k == "shape" else float(v) / px_per_cm) for k, v in arena.items()}
    raise ParameterError(f"the arena is given in pixels but the data are in {units!r} with no px_per_cm; "
                         f"pass arena=... in {units}.")


def _arena_polygon(arena: Mapping | np.ndarray) -> tuple[str, np.ndarray]:
    if isinstance(arena, Mapping):
        shape = arena.get("shape", "rectangle")
        if shape == "rectangle":
            x0, y0, x1, y1 = (float(arena[k]) for k in ("xmin", "ymin", "xmax", "ymax"))
            return "polygon", np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
        if shape == "circle":
            return "circle", np.array([float(arena["cx"]), float(arena["cy"]), float(arena["r"])])
        raise ParameterError(f"arena shape {shape!r}: use 'rectangle' (xmin, ymin, xmax, ymax) or 'circle' (cx, cy, r).")
    poly = np.asarray(arena, dtype=float)
    if poly.ndim != 2 or poly.shape[1] != 2 or len(poly) < 3:
        raise ParameterError("arena must be a dict (rectangle/circle) or polygon vertices of shape (n >= 3, 2).")
    return "polygon", poly


def wall_distance(ds: xr.Dataset, arena: Mapping | np.ndarray | None = None) -> xr.DataArray:
    """Distance from the body centre to the nearest arena wall (negative outside the arena).

    ``arena``: ``{"shape": "rectangle", "xmin", "ymin", "xmax", "ymax"}``, ``{"shape": "circle", "cx",
    "cy", "r"}`` (in the data's units), polygon vertices, or None for the convex hull of this
    session's positions (an underestimate of the arena when the animal never reached its corners).
    """
    _need(ds, "centroid")
    kind, geom = _arena_polygon(arena_from_hull(ds) if arena is None else arena)
    xy = ds["centroid"].transpose("time", "individual", "space").values[..., :2]  # (time, ind, 2)
    if kind == "circle":
        d = geom[2] - np.hypot(xy[..., 0] - geom[0], xy[..., 1] - geom[1])
    else:
        a, b = geom, np.roll(geom, -1, axis=0)  # edges a -> b
        ab = b - a
        ap = xy[..., None, :] - a  # (time, ind, edge, 2)
        t = np.clip((ap * ab).sum(-1) / (ab * ab).sum(-1), 0, 1)
        nearest = a + t[..., None] * ab
        dist = np.hypot(*(xy[..., None, :] - nearest).transpose(3, 0, 1, 2)).min(axis=-1)
        d = np.where(_inside(xy, geom), dist, -dist)
    source = "convex hull of positions" if arena is None else "given arena"
    return _da(ds, d, ("time", "individual"), units_of(ds), f"distance to the nearest wall ({source})", "wall_distance")


def landmark_distance(ds: xr.Dataset) -> xr.DataArray:
    """Distance from the body centre to each static landmark (maze corners, a port), per frame.

    Landmarks are the keypoints that 02 moved into ``landmark_position`` (see
    :func:`behavnb.preprocess.keep_landmarks`): arena geometry, e.g. the distance to a maze arm's end.

    Parameters
    ----------
    ds : xarray.Dataset
        Cleaned poses with ``centroid`` and ``landmark_position``.

    Returns
    -------
    xarray.DataArray
        ``(time, landmark, individual)`` in the data's units.

    Raises
    ------
    KeypointNotFoundError
        The session has no landmarks.
    """
    _need(ds, "centroid")
    if "landmark_position" not in ds:
        raise KeypointNotFoundError(f"session {ds.attrs.get('session', '?')!r} has no static landmarks "
                                    f"(landmark_position); 02 keeps them when the skeleton names some.")
    xy = ds["centroid"].transpose("time", "space", "individual").values[:, :2]
    lm = ds["landmark_position"].transpose("landmark", "space").values[:, :2]  # (landmark, 2)
    d = np.hypot(xy[:, 0, None, :] - lm[None, :, 0, None], xy[:, 1, None, :] - lm[None, :, 1, None])
    da = _da(ds, d, ("time", "landmark", "individual"), units_of(ds), "distance from the body centre to each landmark",
             "landmark_distance")
    return da.assign_coords(landmark=ds["landmark_position"]["landmark"].values)


def supported(ds: xr.Dataset, names: Sequence[str]) -> list[str]:
    """Those of ``names`` that this session's skeleton can give (no head angle without a neck or ears, ...).

    Parameters
    ----------
    ds : xarray.Dataset
        Cleaned poses (with the skeleton attached by 02) or a features Dataset from :func:`compute`.
    names : sequence of str
        Feature names (keys of ``FEATURES``).

    Returns
    -------
    list of str
        The supported names, in the given order. On a features Dataset: those it holds.
    """
    if "position" not in ds:  # a features Dataset: what 03 computed
        return [n for n in names if n in ds.data_vars]
    roles = roles_of(ds)
    out = []
    for n in names:
        if n == "head_angle":
            ok = (bool(roles.get("nose")) and bool(neck_points(roles))) if roles else _has_head(ds)
        elif n == "landmark_distance":
            ok = "landmark_position" in ds
        else:
            ok = n in FEATURES
        if ok:
            out.append(n)
    return out


def _has_head(ds: xr.Dataset) -> bool:
    names = " ".join(str(k) for k in ds["keypoint"].values)
    return bool(re.search(r"nose|snout", names, re.I)) and bool(re.search(r"neck|ear", names, re.I))


def _inside(xy: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Even-odd rule point-in-polygon, vectorised over points."""
    x, y = xy[..., 0, None], xy[..., 1, None]
    x0, y0 = poly[:, 0], poly[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        cross = ((y0 > y) != (y1 > y)) & (x < (x1 - x0) * (y - y0) / (y1 - y0) + x0)
    return cross.sum(axis=-1) % 2 == 1


def keypoint_speed(ds: xr.Dataset) -> xr.DataArray:
    """Speed of every keypoint in the egocentric frame: how fast each body part moves relative to the body."""
    _need(ds, "ego_position")
    ego = ds["ego_position"].transpose("time", "space", "keypoint", "individual").values
    v = velocity(ego, _fps(ds))
    unit = ds["ego_position"].attrs.get("units", units_of(ds))
    return _da(ds, np.sqrt((v ** 2).sum(axis=1)), ("time", "keypoint", "individual"), f"{unit}/s",
               "egocentric keypoint speed", "keypoint_speed")


def social(ds: xr.Dataset, nose: str | None = None, tail: str | None = None) -> xr.Dataset:
    """Pairwise features for every ordered pair (individual, partner) of a multi-animal session.

    distance (centroids), nose_nose, nose_tail (my nose to the partner's tail base), relative_heading
    (partner's heading minus mine), facing_angle (between my heading and the direction to the
    partner; 0 = facing it) and approach_speed (my velocity towards the partner; positive = approaching).

    Parameters
    ----------
    ds : xarray.Dataset
        Cleaned poses of a session with two or more individuals.
    nose : str, optional
        The nose keypoint (default: the skeleton's nose, else its front, else a name like nose/snout).
    tail : str, optional
        The tail-base keypoint (default: the skeleton's back, else a name like tail base/tail root).

    Returns
    -------
    xarray.Dataset
        One variable per feature, dims ``(time, individual, partner)``, NaN on the diagonal; units in attrs.

    Raises
    ------
    ParameterError
        When the session has one individual or is not cleaned; :class:`~behavnb.errors.KeypointNotFoundError`
        when no nose or tail base can be found.
    """
    import xarray as xr

    _need(ds, "centroid")
    inds = [str(i) for i in ds["individual"].values]
    if len(inds) < 2:
        raise ParameterError(f"session {ds.attrs.get('session', '?')!r} has one individual; social features need two or more.")
    pos = ds["position"].transpose("time", "space", "keypoint", "individual").values[:, :2]
    roles = roles_of(ds)
    nose = nose or (roles.get("nose") or roles.get("anterior") or [None])[0]
    tail = tail or (roles.get("posterior") or [None])[0]
    i_nose = keypoint_index(ds, nose, "nose")[0] if nose else _find(ds, r"nose|snout", "nose")[0]
    i_tail = keypoint_index(ds, tail, "tail")[0] if tail else _find(ds, r"tail.?base|tail.?root|tailbase", "tail base")[0]
    c = ds["centroid"].transpose("time", "space", "individual").values[:, :2]
    h = ds["heading"].transpose("time", "individual").values
    fps = _fps(ds)
    vel = velocity(c, fps)  # (time, 2, ind)
    me, other = (slice(None), slice(None), slice(None), None), (slice(None), slice(None), None, slice(None))
    to_partner = c[:, :, None, :] - c[:, :, :, None]  # (time, 2, me, partner)
    dist = np.hypot(to_partner[:, 0], to_partner[:, 1])
    nose_p = pos[:, :, i_nose]
    tail_p = pos[:, :, i_tail]
    nn = np.hypot(*(nose_p[me] - nose_p[other]).transpose(1, 0, 2, 3))
    nt = np.hypot(*(nose_p[me] - tail_p[other]).transpose(1, 0, 2, 3))
    rel = _wrap(h[:, None, :] - h[:, :, None])
    direction = np.arctan2(to_partner[:, 1], to_partner[:, 0])
    facing = np.abs(_wrap(direction - h[:, :, None]))
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = to_partner / dist[:, None]
    approach = (vel[:, :, :, None] * unit).sum(axis=1)
    eye = np.eye(len(inds), dtype=bool)[None]
    u = units_of(ds)
    coords = {"time": ds["time"], "individual": inds, "partner": inds}
    if "frame" in ds.coords:
        coords["frame"] = ds["frame"]
    out = {}
    for name, val, units, desc in [
        ("distance", dist, u, "distance between body centres"),
        ("nose_nose", nn, u, "distance between noses"),
        ("nose_tail", nt, u, "my nose to the partner's tail base"),
        ("relative_heading", rel, "rad", "partner's heading minus mine"),
        ("facing_angle", facing, "rad", "angle between my heading and the direction to the partner (0 = facing)"),
        ("approach_speed", approach, f"{u}/s", "my velocity towards the partner (positive = approaching)"),
    ]:
        val = np.where(eye, np.nan, val)
        out[name] = xr.DataArray(val, dims=("time", "individual", "partner"), coords=coords,
                                 attrs={"units": units, "description": desc})
    return xr.Dataset(out, attrs={"session": ds.attrs.get("session", "")})


#: Single-animal features by name: what ``compute`` gathers and ``bn.inputs.extra_features`` can select.
FEATURES: dict[str, Callable[..., xr.DataArray]] = {
    "speed": speed, "acceleration": acceleration, "angular_velocity": angular_velocity,
    "body_length": body_length, "head_angle": head_angle, "wall_distance": wall_distance,
    "keypoint_speed": keypoint_speed, "landmark_distance": landmark_distance,
}

#: The per-frame features a model may take beside the pose by default (``extra_features="auto"`` in
#: notebook 04): those of these the skeleton supports.
MODEL_FEATURES = ("speed", "angular_velocity", "keypoint_speed", "head_angle")


def compute(ds: xr.Dataset, include: Sequence[str] | None = None, arena: Mapping | np.ndarray | None = None) -> xr.Dataset:
    """All features of one session as a Dataset (social ones too when there are several individuals).

    Parameters
    ----------
    ds : xarray.Dataset
        One session's cleaned poses.
    include : sequence of str, optional
        Feature names (keys of ``FEATURES``); default: every one the skeleton supports (others are
        skipped with a warning).
    arena : mapping or numpy.ndarray, optional
        The arena for ``wall_distance``, in the data's units (see ``wall_distance``); None: the convex
        hull of the positions.

    Returns
    -------
    xarray.Dataset
        One variable per feature (units and description in attrs), plus ``social_*`` with several animals.

    Raises
    ------
    ParameterError
        On an unknown feature name, or poses that are not cleaned; a named feature whose keypoints are
        missing raises :class:`~behavnb.errors.KeypointNotFoundError`.
    """
    import xarray as xr

    names = list(FEATURES) if include is None else list(include)
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise ParameterError(f"unknown feature(s) {unknown}; available: {list(FEATURES)}.")
    data, skipped = {}, {}
    if include is None:  # by default, what the skeleton supports, quietly (the skeleton table says why)
        names = [n for n in names if n in supported(ds, names) or (n == "head_angle" and not roles_of(ds))]
    for n in names:
        try:
            data[n] = FEATURES[n](ds, arena=arena) if n == "wall_distance" else FEATURES[n](ds)
        except KeypointNotFoundError as err:
            if include is not None:
                raise
            skipped[n] = str(err)
            continue
        data[n] = data[n].drop_vars([c for c in data[n].coords if c not in data[n].dims and c != "frame"])
    out = xr.Dataset(data, attrs={k: ds.attrs[k] for k in ("session", "fps", "units") if k in ds.attrs})
    if ds.sizes["individual"] > 1 and include is None:
        soc = social(ds)
        out = out.assign({f"social_{k}": v for k, v in soc.data_vars.items()})
    out.attrs["units"] = units_of(ds)
    if skipped:
        warnings.warn(f"session {ds.attrs.get('session', '?')!r}: skipped feature(s) {list(skipped)}: "
                      + " ".join(skipped.values()), DataWarning, stacklevel=2)
        out.attrs["skipped_features"] = ", ".join(skipped)
    return out


def autocorrelation(series: Sequence[np.ndarray] | np.ndarray, fps: float, max_lag_s: float = 3.0) -> xr.DataArray:
    """Autocorrelation of a feature against lag (seconds), pooled over sessions.

    How fast it decays is the feature's timescale: a model window much shorter than that sees no
    change, one much longer mixes several behaviours.

    Parameters
    ----------
    series : numpy.ndarray or sequence of numpy.ndarray
        One 1-D series, or several (sessions, animals); NaNs are skipped.
    fps : float
        Frames per second.
    max_lag_s : float, default 3.0
        Longest lag in seconds.

    Returns
    -------
    xarray.DataArray
        Dims ``lag`` (seconds).
    """
    import xarray as xr

    arrays = [np.asarray(series, dtype=float)] if isinstance(series, np.ndarray) and np.ndim(series) == 1 else \
        [np.asarray(s, dtype=float) for s in series]
    lags = np.arange(int(round(max_lag_s * fps)) + 1)
    num, den = np.zeros(len(lags)), np.zeros(len(lags))
    for x in arrays:
        x = x - np.nanmean(x)
        var = np.nanmean(x * x)
        for i, lag in enumerate(lags):  # a loop over lags (~100), each vectorised over frames
            if lag >= len(x):
                break
            prod = x[: len(x) - lag] * x[lag:]
            ok = np.isfinite(prod)
            num[i] += prod[ok].sum() / max(var, 1e-12)
            den[i] += ok.sum()
    with np.errstate(invalid="ignore"):
        ac = num / den
    return xr.DataArray(ac, dims="lag", coords={"lag": lags / fps}, attrs={"units": "", "lag_units": "s"}, name="autocorrelation")


def timescale(ac: xr.DataArray, level: float = float(np.exp(-1))) -> float:
    """First lag (s) at which an autocorrelation falls below ``level``; NaN if never.

    Parameters
    ----------
    ac : xarray.DataArray
        An autocorrelation from :func:`autocorrelation`.
    level : float, default 1/e
        The threshold.

    Returns
    -------
    float
    """
    below = np.nonzero(ac.values < level)[0]
    return float(ac["lag"].values[below[0]]) if len(below) else float("nan")


def bout_durations(labels: np.ndarray, fps: float) -> dict[int, np.ndarray]:
    """Durations (s) of the runs of equal labels in a 1-D label sequence, per label value.

    Parameters
    ----------
    labels : numpy.ndarray
        One label per frame (one animal of one session).
    fps : float
        Frames per second.

    Returns
    -------
    dict of int to numpy.ndarray
        Label -> the durations of its runs in seconds.
    """
    labels = np.asarray(labels)
    if labels.size == 0:
        return {}
    change = np.flatnonzero(np.diff(labels) != 0) + 1
    starts = np.concatenate([[0], change])
    lengths = np.diff(np.concatenate([starts, [len(labels)]]))
    values = labels[starts]
    return {int(v): lengths[values == v] / fps for v in np.unique(values)}
