"""Model inputs: every model's per-frame input matrix and its normalisation, in one place.

The room between ``features`` and ``windows`` in the flow (io -> preprocess -> features -> **inputs**
-> windows -> models -> train -> embed ...). A model reads a session as a ``(frame, column)`` float32
matrix with named columns:

- VAME: the egocentric pose (``session_matrices``), optionally with kinematic features
  (``extra_features``, log1p on speeds), z-scored per column (``Normalizer``).
- VQ-MAP: a ``Skeleton``'s egocentric pose columns then every keypoint's velocity in the body frame
  (``body_frame_velocity``, ``vqmap_matrices``), one scale for positions and one for signed-log
  velocities (``vqmap_normalizer``).

Frames missing a few columns are interpolated (``fill_sparse_gaps``); the fitted ``Normalizer`` is
saved with the model and refuses data whose columns differ from those it was fitted on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from behavnb.errors import ParameterError
from behavnb.preprocess import velocity

if TYPE_CHECKING:
    import xarray as xr


def fill_sparse_gaps(x: np.ndarray, min_present: float = 2 / 3) -> np.ndarray:
    """Fill a frame's missing columns by linear interpolation in time if at least ``min_present`` of them are present.

    After cleaning, single keypoints still miss now and then (gaps longer than ``max_gap``), and in
    a 14-keypoint pose that leaves ~half the frames with *some* column missing, so a window of 45
    frames would rarely be complete. The model needs complete windows; a frame that lacks most of the
    body stays NaN (unusable), one that lacks a paw gets the paw interpolated (nearest value at the
    ends). Interpolating every gap, as VAME does, would invent whole postures.
    """
    x = np.array(x, dtype=np.float32, copy=True)
    bad = ~np.isfinite(x)
    if not bad.any():
        return x
    ok_frames = (~bad).mean(axis=1) >= min_present
    t = np.arange(len(x))
    for j in np.flatnonzero(bad.any(axis=0)):
        good = ~bad[:, j]
        if good.sum() == 0:
            continue
        fill = bad[:, j] & ok_frames
        x[fill, j] = np.interp(t[fill], t[good], x[good, j])
    x[~ok_frames] = np.nan
    return x


def pose_columns(ds: xr.Dataset, var: str = "ego_position") -> list[str]:
    """The column names ``session_matrix`` gives a pose: ``<keypoint>_<space>``, keypoint-major."""
    return [f"{k}_{s}" for k in ds[var]["keypoint"].values for s in ds[var]["space"].values]


def session_matrix(ds: xr.Dataset, individual: str | None = None, extra: xr.DataArray | None = None,
                   var: str = "ego_position", min_present: float | None = 2 / 3,
                   columns: Sequence[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """One individual's egocentric pose as ``(time, keypoint x space [+ extra])`` and the column names.

    ``extra`` is ``extra_features(...)`` (dims time, feature, individual), appended as columns;
    ``columns`` keeps only these columns, in this order (e.g. a VQ-MAP skeleton's, which drops z to
    project 3D data onto x, y).
    Missing values of frames with at least ``min_present`` of their columns are interpolated
    (``fill_sparse_gaps``); ``None`` keeps every NaN. Training and embedding both go through here.
    """
    if var not in ds:
        raise ParameterError(f"session {ds.attrs.get('session', '?')!r} has no {var!r}: windows are built from "
                             f"cleaned, aligned poses (notebook 02_preprocess, preprocess.clean).")
    ind = individual if individual is not None else str(ds["individual"].values[0])
    pose = ds[var].sel(individual=ind).transpose("time", "keypoint", "space")
    x = pose.values.reshape(pose.sizes["time"], -1)
    names = pose_columns(ds, var)
    if extra is not None:
        e = extra.sel(individual=ind).transpose("time", "feature").values
        if len(e) != len(x):
            raise ParameterError(f"extra inputs have {len(e)} frames but the pose has {len(x)}.")
        x = np.concatenate([x, e], axis=1)
        names += [str(f) for f in extra["feature"].values]
    if columns is not None:
        missing = [c for c in columns if c not in names]
        if missing:
            raise ParameterError(f"session {ds.attrs.get('session', '?')!r} has no column(s) {missing}; it has {names}.")
        x, names = x[:, [names.index(c) for c in columns]], list(columns)
    if min_present is not None:
        x = fill_sparse_gaps(x, min_present)
    return np.ascontiguousarray(x, dtype=np.float32), names


def session_matrices(cleaned: Mapping[str, xr.Dataset], extra: Mapping[str, xr.DataArray] | None = None,
                     min_present: float | None = 2 / 3,
                     columns: Sequence[str] | None = None) -> dict[str, tuple[np.ndarray, list[str]]]:
    """``session_matrix`` of every animal of every session, ready for ``windows.build``.

    Parameters
    ----------
    cleaned : mapping of str to xarray.Dataset
        Cleaned, aligned sessions (notebook 02).
    extra : mapping of str to xarray.DataArray, optional
        Session -> its ``extra_features(...)``, appended as columns.
    min_present : float or None, default 2/3
        Frames with at least this share of their columns get the rest interpolated (``fill_sparse_gaps``);
        None keeps every NaN.
    columns : sequence of str, optional
        Keep only these columns, in this order.

    Returns
    -------
    dict of str to (numpy.ndarray, list of str)
        ``{key: (array, names)}``; the key is the session name, or ``"<session>/<individual>"`` when a
        session has several animals.

    Raises
    ------
    ParameterError
        When a session is not cleaned and aligned, lacks a named column, or its extras have another length.
    """
    out = {}
    for s, ds in cleaned.items():
        inds = [str(i) for i in ds["individual"].values]
        for ind in inds:
            key = s if len(inds) == 1 else f"{s}/{ind}"
            out[key] = session_matrix(ds, ind, None if extra is None else extra[s], min_present=min_present,
                                      columns=columns)
    return out


def column_sums(arrays: Sequence[np.ndarray], fn: Callable[[np.ndarray], np.ndarray],
                n_columns: int) -> tuple[np.ndarray, np.ndarray]:
    """Per column: the count of finite values of ``fn(a)`` and their sum, over ``arrays``, one array at a time.

    Parameters
    ----------
    arrays
        ``(frames, n_columns)`` arrays; each is converted to float64 on its own.
    fn
        Applied to each float64 array before counting and summing (identity, a compression, squared deviations).
    n_columns
        Columns of every array.

    Returns
    -------
    tuple of numpy.ndarray
        Counts (int64) and sums (float64), each ``(n_columns,)``.
    """
    count, total = np.zeros(n_columns, dtype=np.int64), np.zeros(n_columns)
    for a in arrays:
        v = fn(np.asarray(a, dtype=np.float64))
        finite = np.isfinite(v)
        count += finite.sum(axis=0)
        total += np.where(finite, v, 0.0).sum(axis=0)
    return count, total


@dataclass
class Normalizer:
    """Per-feature z-scoring fitted on training frames only (NaN ignored).

    ``log_scale`` (optional, per feature; 0 = none) first compresses a heavy-tailed signed feature
    ``x -> sign(x) * log1p(|x| / s)``: linear below ``s``, logarithmic above it, so that a sniff's
    small head movements and a run's large ones both count in a squared error. ``mean`` and ``std``
    are then those of the compressed values; ``inverse_transform`` undoes both steps.
    """

    names: list[str] = field(default_factory=list)
    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    log_scale: np.ndarray | None = None

    def fit(self, arrays: Sequence[np.ndarray], names: Sequence[str]) -> Normalizer:
        """Fit mean and std per feature on ``arrays`` (``(frames, features)`` each; NaN ignored), one array at a time.

        Two passes over the arrays (sums, then squared deviations), so memory holds one array in float64 at a time,
        not all of them concatenated (20 sessions x 30 min: 1 GB less at ``build``).

        Parameters
        ----------
        arrays
            The training frames, in any number of pieces with the same columns.
        names
            One name per column.

        Returns
        -------
        Normalizer
            ``self``, fitted.

        Raises
        ------
        ParameterError
            A column count differs from ``names``, or a feature has fewer than 2 finite values.
        """
        arrays = list(arrays)
        for a in arrays:
            if np.ndim(a) != 2 or np.shape(a)[1] != len(names):
                raise ParameterError(f"an array of shape {np.shape(a)} for {len(names)} feature names.")
        n, total = column_sums(arrays, self.compress, len(names))
        if (n < 2).any():
            empty = [nm for nm, c in zip(names, n, strict=True) if c < 2]
            raise ParameterError(f"feature(s) {empty} have no training data (all NaN); drop them before fitting.")
        self.names = list(names)
        self.mean = total / n
        _, squares = column_sums(arrays, lambda x: (self.compress(x) - self.mean) ** 2, len(names))
        self.std = np.sqrt(squares / (n - 1))
        self.std[self.std < 1e-8] = 1.0  # a constant feature (e.g. the origin keypoint) stays at 0
        return self

    def _logged(self) -> np.ndarray | None:
        """Mask of the columns with a signed-log step, or None when there are none."""
        if self.log_scale is None or not np.any(self.log_scale > 0):
            return None
        return self.log_scale > 0

    def compress(self, x: np.ndarray) -> np.ndarray:
        """The signed-log step alone (identity where ``log_scale`` is 0 or unset)."""
        on = self._logged()
        if on is None:
            return x
        out = np.array(x, dtype=np.float64, copy=True)
        out[..., on] = np.sign(out[..., on]) * np.log1p(np.abs(out[..., on]) / self.log_scale[on])
        return out

    def check(self, names: Sequence[str]) -> None:
        """Raise if ``names`` differ from the features the normalizer was fitted on, naming the difference."""
        if list(names) != self.names:
            missing = [n for n in self.names if n not in names]
            extra = [n for n in names if n not in self.names]
            detail = (f"missing {missing}" if missing else "") + (", " if missing and extra else "") + \
                (f"unexpected {extra}" if extra else "")
            raise ParameterError(
                f"the input features differ from those the model was trained on: {detail or 'same names, other order'}. "
                f"Embed data cleaned with the same keypoints and features, or retrain.")

    def transform(self, x: np.ndarray, names: Sequence[str] | None = None) -> np.ndarray:
        if self.mean is None:
            raise ParameterError("Normalizer is not fitted; call fit() first or load a saved one.")
        if names is not None:
            self.check(names)
        return ((self.compress(x) - self.mean) / self.std).astype(np.float32)

    def inverse_transform(self, z: np.ndarray) -> np.ndarray:
        u = z * self.std + self.mean
        on = self._logged()
        if on is None:
            return u
        u = np.array(u, dtype=np.float64, copy=True)
        u[..., on] = np.sign(u[..., on]) * np.expm1(np.abs(u[..., on])) * self.log_scale[on]
        return u

    def to_json(self) -> str:
        d = {"names": self.names, "mean": self.mean.tolist(), "std": self.std.tolist()}
        if self.log_scale is not None:
            d["log_scale"] = self.log_scale.tolist()
        return json.dumps(d)

    @classmethod
    def _from_dict(cls, d: dict) -> Normalizer:
        log = d.get("log_scale")
        return cls(d["names"], np.asarray(d["mean"]), np.asarray(d["std"]), None if log is None else np.asarray(log))

    @classmethod
    def from_json(cls, text: str) -> Normalizer | NormalizerSet:
        d = json.loads(text)
        if "datasets" in d:  # a co-embedding model: one normalizer per dataset
            return NormalizerSet({k: cls._from_dict(v) for k, v in d["datasets"].items()})
        return cls._from_dict(d)


class NormalizerSet(dict):
    """``{dataset: Normalizer}`` of a model trained on several datasets; saved as one JSON file."""

    @property
    def names(self) -> list[str]:
        return [f"{ds}:{n}" for ds, norm in self.items() for n in norm.names]

    def to_json(self) -> str:
        return json.dumps({"datasets": {k: json.loads(v.to_json()) for k, v in self.items()}})


#: Features that ``extra_features(log_speeds=True)`` passes through log1p: non-negative, heavy-tailed speeds.
LOG_FEATURES = ("speed", "keypoint_speed")


def extra_features(features: xr.Dataset, names: Sequence[str], *, log_speeds: bool = False) -> xr.DataArray:
    """Selected per-frame features stacked as ``(time, feature, individual)``: extra inputs for a model.

    Speeds are heavy-tailed: z-scored as they are, running and the odd tracking jump take up the
    scale and the slow behaviours (resting, sniffing, grooming) crowd together near zero; on the
    logarithmic scale they spread out (notebook 04).

    Parameters
    ----------
    features : xarray.Dataset
        One session's features (``features.compute``, notebook 03).
    names : sequence of str
        Feature names to select, in this order (e.g. ``features.MODEL_FEATURES``).
    log_speeds : bool
        Take ``log1p`` of the speeds (``LOG_FEATURES``; their column names get a ``log1p_`` prefix).

    Returns
    -------
    xarray.DataArray
        ``(time, feature, individual)``; per-keypoint features expand to one column per keypoint
        (``keypoint_speed:nose``). Pass as ``extra`` to ``session_matrices``.

    Raises
    ------
    ParameterError
        A name was not computed, or a feature is pairwise (reduce it over ``partner`` first).
    """
    missing = [n for n in names if n not in features]
    if missing:
        raise ParameterError(f"feature(s) {missing} not computed; available: {list(features.data_vars)}.")
    cols, labels = [], []
    for n in names:
        da = features[n]
        if "partner" in da.dims:
            raise ParameterError(f"{n!r} is pairwise; reduce it first (e.g. .min('partner')).")
        label = n
        if log_speeds and n in LOG_FEATURES:
            da, label = np.log1p(abs(da)), f"log1p_{n}"
        extra = [d for d in da.dims if d not in ("time", "individual")]  # keypoint, landmark
        if extra:
            for k in da[extra[0]].values:
                cols.append(da.sel({extra[0]: k}).transpose("time", "individual").values)
                labels.append(f"{label}:{k}")
        else:
            cols.append(da.transpose("time", "individual").values)
            labels.append(label)
    arr = np.stack(cols, axis=1)
    import xarray as xr  # lazily, as everywhere in behavnb: windows and train need no xarray

    return xr.DataArray(arr, dims=("time", "feature", "individual"),
                        coords={"time": features["time"], "feature": labels, "individual": features["individual"]},
                        name="inputs")


# --- VQ-MAP: a keypoint-agnostic skeleton and body-frame velocities -------------------------------

REGIONS = ("other", "head", "trunk", "limb", "tail")
_REGION_PATTERNS = [  # first match wins; matched against the lower-cased name ("rear" is not an ear)
    ("tail", r"tail"),
    ("head", r"nose|snout|(?<![a-z])ear|(?<![a-z])eye|head|mouth|chin|whisker|neck"),
    ("limb", r"paw|foot|feet|hand|limb|leg|knee|elbow|wrist|ankle|toe|finger|claw|(?<![a-z])fore|(?<![a-z])hind"),
    ("trunk", r"spine|back|body|center|centre|hip|shoulder|thorax|abdomen|belly|trunk|butt|torso|mid|chest|pelvis|rear"),
]


def guess_region(keypoint: str) -> str:
    """Body region of a keypoint from its name (``"other"`` when nothing matches)."""
    name = keypoint.lower()
    for region, pattern in _REGION_PATTERNS:
        if re.search(pattern, name):
            return region
    return "other"


@dataclass
class Skeleton:
    """The keypoints of one dataset, in the order of its model input columns, and their body regions.

    VQ-MAP's view of a skeleton (not :class:`behavnb.skeleton.Skeleton`, the project's keypoint roles).

    Parameters
    ----------
    keypoints : list of str
        Distinct keypoint names, in input-column order.
    dims : {2, 3}, default 2
        Coordinates per keypoint (x, y or x, y, z).
    regions : dict of str to str, optional
        ``{keypoint: region}`` (one of ``REGIONS``) overriding the regions guessed from the names.

    Raises
    ------
    ParameterError
        On empty or repeated keypoints, another ``dims``, or an unknown region.
    """

    keypoints: list[str]
    dims: int = 2
    regions: dict[str, str] | None = None  # None: guessed from the names

    def __post_init__(self):
        self.keypoints = [str(k) for k in self.keypoints]
        if len(set(self.keypoints)) != len(self.keypoints) or not self.keypoints:
            raise ParameterError(f"skeleton keypoints {self.keypoints} must be a non-empty list of distinct names.")
        if self.dims not in (2, 3):
            raise ParameterError(f"skeleton dims={self.dims}: 2 (x, y) or 3 (x, y, z).")
        regions = {k: guess_region(k) for k in self.keypoints}
        regions.update(self.regions or {})
        bad = {k: r for k, r in regions.items() if r not in REGIONS}
        if bad:
            raise ParameterError(f"unknown body region(s) {bad}; use one of {REGIONS}.")
        self.regions = {k: regions[k] for k in self.keypoints}

    @property
    def columns(self) -> list[str]:
        """Model input columns, keypoint-major: ``nose_x, nose_y, ...`` (as ``session_matrix`` names them)."""
        return [f"{k}_{s}" for k in self.keypoints for s in "xyz"[: self.dims]]

    def region_ids(self) -> list[int]:
        return [REGIONS.index(self.regions[k]) for k in self.keypoints]

    def check(self, names, source: str = "the data") -> None:
        """Raise if ``names`` (input columns) lack any keypoint of this skeleton, naming them."""
        missing = [c for c in self.columns if c not in list(names)]
        if missing:
            kps = sorted({c.rsplit("_", 1)[0] for c in missing})
            raise ParameterError(f"the skeleton names keypoint(s) {kps} that {source} does not have; available "
                                 f"columns: {list(names)[:12]}{' ...' if len(names) > 12 else ''}. Fix the skeleton spec "
                                 f"or the data.")

    @classmethod
    def from_dataset(cls, ds, regions: dict[str, str] | None = None) -> Skeleton:
        """The skeleton of a cleaned session's egocentric pose (all its keypoints, in its order).

        Parameters
        ----------
        ds : xarray.Dataset
            A cleaned, aligned session (``ego_position``).
        regions : dict, optional
            ``{keypoint: region}`` overriding the regions guessed from the names.

        Returns
        -------
        Skeleton
        """
        return cls.from_columns(pose_columns(ds), regions)

    @classmethod
    def from_columns(cls, names, regions: dict[str, str] | None = None) -> Skeleton:
        """The skeleton of pose columns ``<keypoint>_x, <keypoint>_y[, <keypoint>_z]`` (other columns ignored)."""
        names = list(names)
        kps = [n[:-2] for n in names if n.endswith("_x") and f"{n[:-2]}_y" in names]
        if not kps:
            raise ParameterError(f"no pose columns (<keypoint>_x, <keypoint>_y) among {names[:8]}.")
        has_z = [f"{k}_z" in names for k in kps]
        if any(has_z) and not all(has_z):
            raise ParameterError("some keypoints have a z column and others do not; use all 2D or all 3D.")
        return cls(kps, 3 if all(has_z) else 2, regions)


def velocity_columns(skeleton: Skeleton) -> list[str]:
    """Names of the velocity columns: ``<keypoint>_vx, <keypoint>_vy[, <keypoint>_vz]``."""
    return [f"{k}_v{s}" for k in skeleton.keypoints for s in "xyz"[: skeleton.dims]]


def body_frame_velocity(ds) -> "xr.DataArray":
    """Every keypoint's velocity in the world, rotated into the body frame of its frame (per frame, data units).

    ``(time, feature, individual)`` with features ``<keypoint>_v<space>``, from the cleaned
    allocentric ``position`` (central differences) and the body angle of the alignment (``heading``
    minus the axis the heading was put on). Locomotion and turning show up here as motion of every
    keypoint; the values do not depend on where the animal is or which way it faces.
    """
    for var in ("position", "heading", "ego_position"):
        if var not in ds:
            raise ParameterError(f"session {ds.attrs.get('session', '?')!r} has no {var!r}: VQ-MAP reads cleaned, "
                                 f"aligned poses (notebook 02_preprocess, preprocess.clean).")
    on_y = "heading on +y" in ds["ego_position"].attrs.get("description", "")
    angle = ds["heading"].transpose("time", "individual").values - (np.pi / 2 if on_y else 0.0)
    pos = ds["position"].transpose("time", "space", "keypoint", "individual").values
    vel = velocity(pos)  # per frame
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]  # (time, 1, individual)
    bx, by = cos * vel[:, 0] + sin * vel[:, 1], -sin * vel[:, 0] + cos * vel[:, 1]
    comps = [bx, by] + ([vel[:, 2]] if pos.shape[1] == 3 else [])
    arr = np.stack(comps, axis=2)  # (time, keypoint, space, individual)
    spaces = [str(v) for v in ds["space"].values]
    names = [f"{k}_v{sp}" for k in ds["keypoint"].values for sp in spaces]
    import xarray as xr  # lazily, as everywhere in behavnb: windows and train need no xarray

    return xr.DataArray(arr.reshape(len(arr), -1, arr.shape[-1]), dims=("time", "feature", "individual"),
                        coords={"time": ds["time"].values, "feature": names, "individual": ds["individual"].values},
                        name="velocity")


def vqmap_matrices(cleaned: Mapping[str, xr.Dataset], skeleton: Skeleton) -> dict[str, tuple[np.ndarray, list[str]]]:
    """VQ-MAP's input matrices: the skeleton's egocentric pose columns, then their body-frame velocities.

    Parameters
    ----------
    cleaned : mapping of str to xarray.Dataset
        Cleaned, aligned sessions (notebook 02).
    skeleton : Skeleton
        Which keypoints, in which order (``Skeleton.from_dataset``); 3D data projected to a 2D skeleton
        loses z.

    Returns
    -------
    dict
        ``{key: (array, columns)}`` for ``windows.build``: one entry per session, or per
        ``"<session>/<individual>"`` when a session has several animals (``session_matrices``).

    Raises
    ------
    ParameterError
        The skeleton names keypoints a session lacks, or a session is not cleaned and aligned.
    """
    for s, ds in cleaned.items():
        if "ego_position" in ds:  # (session_matrix says what to do when it is missing)
            skeleton.check(pose_columns(ds), f"session {s!r}")
    extra = {s: body_frame_velocity(ds) for s, ds in cleaned.items()}
    return session_matrices(cleaned, extra, columns=skeleton.columns + velocity_columns(skeleton))


def vqmap_normalizer(arrays: Sequence[np.ndarray], names: Sequence[str]) -> Normalizer:
    """VQ-MAP's scaling: pose columns centred on the mean posture, one scale for all of them, one for all velocities.

    Per-column z-scores would distort the body's geometry (every keypoint's spread would become 1);
    one scale keeps the relative amplitudes (a tail tip moves more than an ear) and puts datasets in
    pixels or centimetres on the same footing. The velocities are first compressed
    ``v -> sign(v) log1p(|v| / m)``, m = the median ``|velocity|`` of the training frames: speeds span
    two orders of magnitude (a sniffing head against a running body), and on a linear scale the
    squared error hears only the fast ones.

    Parameters
    ----------
    arrays : sequence of numpy.ndarray
        The training frames, ``(frames, columns)`` each (``vqmap_matrices``).
    names : sequence of str
        The column names.

    Returns
    -------
    Normalizer
        Fitted; pass this function as ``windows.build(..., fit_normalizer=vqmap_normalizer)``.

    Raises
    ------
    ParameterError
        A column has no training data (all NaN).
    """
    names = list(names)
    arrays = list(arrays)
    is_vel = np.array(["_v" in n and n.rsplit("_v", 1)[1] in ("x", "y", "z") for n in names])
    n, _ = column_sums(arrays, lambda a: a, len(names))
    if (n < 2).any():
        raise ParameterError(f"column(s) {[c for c, m in zip(names, n, strict=True) if m < 2]} have no training data "
                             "(all NaN).")
    log_scale = None
    if is_vel.any():  # the velocity columns alone are gathered, for their median
        speeds = np.concatenate([np.abs(np.asarray(a)[:, is_vel], dtype=np.float64).ravel() for a in arrays])
        speeds = speeds[speeds > 0]  # NaN compares False: dropped too
        m = float(np.median(speeds)) if speeds.size else 0.0
        del speeds
        log_scale = np.where(is_vel, m if m > 0 else 1.0, 0.0)
    norm = Normalizer(names, None, None, log_scale)
    _, total = column_sums(arrays, norm.compress, len(names))
    mean = np.where(is_vel, 0.0, total / n)
    std = np.ones(len(names))
    _, squares = column_sums(arrays, lambda a: (norm.compress(a) - mean) ** 2, len(names))
    for group in (is_vel, ~is_vel):
        if n[group].sum():
            std[group] = float(np.sqrt(squares[group].sum() / n[group].sum())) or 1.0
    norm.mean, norm.std = mean, std
    return norm
