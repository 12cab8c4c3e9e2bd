"""Skeleton roles, decided once per project: which keypoints are the body, its axis, head, paws and tail,
and which are static arena landmarks.

Part of the run layer (``project``/``manifest``/``skeleton``): decided in notebook 01, read by preprocess,
features and the models' inputs.

Real pose files name their keypoints in every way (``Snout``, ``Front Paw R``, ``Butt/Proximal Tail``,
``forelegL4``, ``pt3``) and some points are not on the animal at all (maze corners, a water tube, a
joystick). Every later step needs to know which is which: alignment needs a front and a back, the
head angle a nose and a neck, the models only body points. :func:`infer_skeleton` decides this from
the names and, where names say nothing, from the data:

- **landmarks**: points that barely move in the arena while the body moves (their robust range is
  under ``landmark_ratio`` of the body's). They leave the body and are kept as arena geometry
  (``landmark_position`` in the cleaned data, the ``landmark_distance`` feature).
- **body axis**: anterior/posterior keypoints from their names (nose/snout/head/ears/neck vs tail
  base/hips/butt); failing that, from the data: animals move forwards, so the keypoint furthest
  ahead of the body centre along the direction of travel is the front.
- head points, nose, neck, paws, tail, body centre: from the names.

The result is a :class:`Skeleton`, saved as ``skeleton.yaml`` in the run directory by notebook 01,
read by every later notebook, and attached to each cleaned session as ``attrs["skeleton"]`` so that
functions downstream (alignment, features) find the roles without being told. One set of
parameters overrides it for the whole series: ``keypoints``, ``exclude_keypoints``, ``anterior``,
``posterior``, ``landmarks``.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from behavnb.errors import DataWarning, KeypointNotFoundError, ParameterError, PoseFileNotFoundError
from behavnb.utils import atomic_write_text

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

#: File name of the skeleton in a run directory.
FILE = "skeleton.yaml"

_NOT_AXIS = r"tip|end|paw|leg|wing|hand|foot|feet|limb|claw|toe|digit|wrist|ankle|elbow|knee"
_PATTERNS = {
    "nose": r"nose|snout|muzzle|beak|proboscis",
    "head": r"nose|snout|muzzle|head|ear|eye|neck|beak|mouth|jaw|cheek|whisker|antenna",
    "neck": r"neck|nape",
    "ears": r"ear(?!th)",
    "anterior": r"nose|snout|muzzle|head|neck|ear(?!th)|beak",
    "posterior": r"tail.?base|tail.?root|base.?of.?tail|tailstart|tail.?start|proximal.?tail|butt|(?<!f)hip|rump|"
                 r"pelvis|abdomen|cloaca|anus",
    "centre": r"mid.?spine|spine.?mid|centre|center|body.?cent|thorax|centroid|spine|back|trunk|torso|belly",
    "paws": r"paw|hand|foot|feet|limb|claw|toe|digit|wrist|ankle|leg",
    "tail": r"tail",
    "landmark": r"corner|maze|(?<![a-z])arm|tube|joystick|lever|(?<![a-z])port|object|arena|wall|landmark|"
                r"lick|spout|feeder|bottle|door|platform|marker|reference|cage",
}
#: names that say "on the animal": never taken for a landmark by the data alone (a head-fixed mouse's nose
#: barely moves in the image, but it is a body point)
_BODY_NAME = "|".join(_PATTERNS[r] for r in ("head", "posterior", "centre", "paws", "tail")) + r"|shoulder|elbow|knee|arm|hip"
_ROLES = ("nose", "neck", "head", "anterior", "posterior", "centre", "paws", "tail")


@dataclass
class Skeleton:
    """The roles of a project's keypoints (see the module docstring). Lists keep the data's order.

    Parameters
    ----------
    keypoints : list of str
        Every keypoint of the data.
    body : list of str
        The body points the models use (keypoints less landmarks and exclusions).
    landmarks : list of str
        Static arena points, kept as geometry.
    excluded : list of str
        Keypoints the user left out.
    anterior, posterior : list of str
        Front and back of the body axis.
    centre : list of str
        A body-centre keypoint, if any.
    nose, neck, head, paws, tail : list of str
        Keypoints of those parts, from their names.
    how : dict of str to str
        For each role, where it came from: ``"names"``, ``"data"``, ``"user"`` or ``"none"``.
    notes : list of str
        Sentences for the notebooks (what was decided and why); ``str(skeleton)`` joins them.
    """

    keypoints: list[str]
    body: list[str]
    landmarks: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    anterior: list[str] = field(default_factory=list)
    posterior: list[str] = field(default_factory=list)
    centre: list[str] = field(default_factory=list)
    nose: list[str] = field(default_factory=list)
    neck: list[str] = field(default_factory=list)
    head: list[str] = field(default_factory=list)
    paws: list[str] = field(default_factory=list)
    tail: list[str] = field(default_factory=list)
    how: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    # -- what the skeleton supports -------------------------------------------------------------
    @property
    def has_axis(self) -> bool:
        """True when a front and a back (distinct keypoints) are known."""
        return bool(self.anterior) and bool(self.posterior) and not set(self.anterior) & set(self.posterior)

    @property
    def dropped(self) -> list[str]:
        """Keypoints that are not body points (landmarks, user exclusions), in the data's order."""
        return [k for k in self.keypoints if k not in self.body]

    def neck_points(self) -> list[str]:
        """The neck, else the head points other than the nose (ears, eyes): the base of the head."""
        return neck_points(asdict(self))

    def supports(self, feature: str) -> bool:
        """Whether a per-frame feature of :mod:`behavnb.features` can be computed on this skeleton."""
        if feature == "head_angle":
            return bool(self.nose) and bool(self.neck_points()) and bool(self.posterior)
        if feature in ("body_length",):
            return self.has_axis
        if feature == "landmark_distance":
            return bool(self.landmarks)
        return len(self.body) >= 1

    def require(self, min_body: int = 2) -> Skeleton:
        """Raise a :class:`SkeletonError` naming the fix when the skeleton cannot support the series.

        Parameters
        ----------
        min_body : int
            The fewest body keypoints accepted (2: alignment needs a front and a back).

        Returns
        -------
        Skeleton
            ``self``, for chaining.

        Raises
        ------
        SkeletonError
            Fewer than ``min_body`` body keypoints, or no body axis.
        """
        if len(self.body) < min_body:
            raise SkeletonError(
                f"only {len(self.body)} body keypoint(s) {self.body} (of {self.keypoints}; landmarks {self.landmarks}, "
                f"excluded {self.excluded}): alignment and the models need at least {min_body}. Keep more keypoints "
                f"(-p keypoints=[...] or a shorter -p exclude_keypoints=[...]), or -p landmarks=[] if body points "
                f"were taken for static landmarks.")
        if not self.has_axis:
            raise SkeletonError(
                f"no body axis among {self.body}: front {self.anterior}, back {self.posterior}. Name them with "
                f"-p anterior=[...] -p posterior=[...] (e.g. anterior=[{self.body[0]!r}], posterior=[{self.body[-1]!r}]).")
        return self

    # -- files and attrs ---------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The skeleton as a plain dict (what ``save`` writes).

        Returns
        -------
        dict
        """
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping) -> Skeleton:
        """A skeleton from a dict such as ``to_dict`` gives (unknown keys are ignored).

        Parameters
        ----------
        d : mapping
            Field name -> value.

        Returns
        -------
        Skeleton
        """
        names = {f.name for f in fields(cls)}
        return cls(**{k: (dict(v) if k == "how" else list(v)) for k, v in d.items() if k in names})

    def save(self, path: str | Path) -> Path:
        """Write the skeleton as YAML (atomically).

        Parameters
        ----------
        path : str or Path
            The file, usually ``<project_dir>/skeleton.yaml`` (``skeleton.FILE``).

        Returns
        -------
        Path
            The written file.
        """
        import yaml

        return atomic_write_text(path, yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True))

    def table(self) -> pd.DataFrame:
        """One row per keypoint: its role(s) and whether the models use it (for the notebooks).

        Returns
        -------
        pandas.DataFrame
            ``keypoint, kind`` (body, landmark, excluded), ``roles``, ``decided from``.
        """
        import pandas as pd

        rows = []
        for k in self.keypoints:
            roles = [r for r in _ROLES if k in getattr(self, r)]
            kind = "landmark" if k in self.landmarks else "excluded" if k in self.excluded else "body"
            rows.append({"keypoint": k, "kind": kind, "roles": ", ".join(roles),
                         "decided from": ", ".join(sorted({self.how.get(r, "names") for r in roles}))
                         if roles else self.how.get("landmarks", "") if kind == "landmark" else ""})
        return pd.DataFrame(rows)

    def __str__(self) -> str:
        return "\n".join(self.notes)


def neck_points(roles: Mapping[str, list[str]]) -> list[str]:
    """From a roles mapping (a Skeleton's fields or :func:`roles_of`): the neck, else the head points other
    than the nose and paws (ears, eyes)."""
    return list(roles.get("neck") or [k for k in roles.get("head", []) if k not in roles.get("nose", [])
                                      and k not in roles.get("paws", [])])


class SkeletonError(ParameterError):
    """The keypoints cannot support a step (one point, no body axis): the message names the parameter to pass."""


def load(path: str | Path) -> Skeleton:
    """Read a ``skeleton.yaml``.

    Parameters
    ----------
    path : str or Path
        The file (or a run directory holding ``skeleton.yaml``).

    Returns
    -------
    Skeleton

    Raises
    ------
    PoseFileNotFoundError
        No such file (run notebook 01 first).
    """
    import yaml

    path = Path(path)
    if path.is_dir():
        path = path / FILE
    if not path.exists():
        raise PoseFileNotFoundError(f"{path}: no skeleton in this project yet; run notebook 01_import first.")
    return Skeleton.from_dict(yaml.safe_load(path.read_text()) or {})


def attach(ds: xr.Dataset, skeleton: Skeleton) -> xr.Dataset:
    """Record the skeleton's roles in ``ds.attrs["skeleton"]`` (JSON, so it survives netCDF).

    Parameters
    ----------
    ds : xarray.Dataset
        One session's poses.
    skeleton : Skeleton
        The project's skeleton.

    Returns
    -------
    xarray.Dataset
        A shallow copy of ``ds`` with the roles attached.
    """
    out = ds.copy(deep=False)
    roles = {r: [k for k in getattr(skeleton, r)] for r in _ROLES}
    roles["landmarks"] = list(skeleton.landmarks)
    out.attrs = {**ds.attrs, "skeleton": json.dumps(roles)}
    return out


def roles_of(ds: xr.Dataset) -> dict[str, list[str]]:
    """The roles attached to ``ds`` by :func:`attach`, limited to keypoints ``ds`` still has.

    Parameters
    ----------
    ds : xarray.Dataset
        Poses, cleaned poses or features carrying ``attrs["skeleton"]``.

    Returns
    -------
    dict of str to list of str
        Role -> keypoints (anterior, posterior, centre, nose, neck, head, paws, tail, landmarks);
        ``{}`` when no skeleton is attached.
    """
    text = ds.attrs.get("skeleton")
    if not text:
        return {}
    have = {str(k) for k in ds["keypoint"].values}
    roles = json.loads(text)
    return {r: [k for k in v if k in have] for r, v in roles.items() if r != "landmarks"} | {
        "landmarks": list(roles.get("landmarks", []))}


# -- inference ---------------------------------------------------------------------------------------

def _is_dataset(obj) -> bool:
    return hasattr(obj, "data_vars")  # an xarray Dataset is a Mapping too


def _match(names: Sequence[str], pattern: str, exclude: str | None = None) -> list[str]:
    return [n for n in names if re.search(pattern, n, re.I) and not (exclude and re.search(exclude, n, re.I))]


def _as_list(value: str | Sequence[str] | None) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _check_names(given: Sequence[str], have: Sequence[str], parameter: str) -> None:
    missing = [k for k in given if k not in have]
    if missing:
        raise KeypointNotFoundError(f"-p {parameter}: keypoint(s) {missing} not in the data; its keypoints are "
                                    f"{list(have)}. Pass names from that list.")


def keypoint_motion(poses: Mapping[str, xr.Dataset] | xr.Dataset, cutoff: float = 0.0) -> pd.DataFrame:
    """How far each keypoint moves in the arena, per session: the robust range of its position.

    The range is the distance between the 5th and 95th percentiles of x and y (3D: and z), over every
    frame and individual where the point is tracked above ``cutoff``; tracking noise and the odd
    jump stay out of it.

    Parameters
    ----------
    poses : mapping of session -> Dataset, or one Dataset
        Imported (not aligned) poses.
    cutoff : float
        Confidence below which a point counts as missing.

    Returns
    -------
    pandas.DataFrame
        One row per session and keypoint: ``session``, ``keypoint``, ``range`` (data units),
        ``tracked`` (fraction of frames with the point).
    """
    import pandas as pd

    if _is_dataset(poses):
        poses = {poses.attrs.get("session", "session"): poses}
    rows = []
    for s, ds in poses.items():
        pos = ds["position"].transpose("time", "space", "keypoint", "individual").values.astype(float)
        if "confidence" in ds and cutoff > 0:
            conf = ds["confidence"].transpose("time", "keypoint", "individual").values
            pos = np.where((conf >= cutoff)[:, None], pos, np.nan)
        n_ind = pos.shape[3]
        for k_i, k in enumerate(ds["keypoint"].values):
            best, tracked = np.nan, 0.0
            for i in range(n_ind):  # the individual that moves most (a landmark stays still in every one)
                p = pos[:, :, k_i, i]
                ok = ~np.isnan(p).any(axis=1)
                if ok.sum() < 10:
                    continue
                lo, hi = np.percentile(p[ok], [5, 95], axis=0)
                r = float(np.hypot.reduce(hi - lo))
                best, tracked = (r, ok.mean()) if not np.isfinite(best) or r > best else (best, tracked)
            rows.append({"session": s, "keypoint": str(k), "range": best, "tracked": tracked})
    return pd.DataFrame(rows)


def find_landmarks(poses: Mapping[str, xr.Dataset] | xr.Dataset, *, ratio: float = 0.1, cutoff: float = 0.0,
                   candidates: Sequence[str] | None = None) -> list[str]:
    """Keypoints that stay put in the arena while the body moves: static landmarks (maze corners, a port).

    In each session, a keypoint's robust range (:func:`keypoint_motion`) is compared with the body's:
    the 75th percentile of all keypoints' ranges (so that even a file with nearly half its points on
    the maze measures the body by its body points). A keypoint is a landmark when it is under
    ``ratio`` of that in the majority of the sessions where the body moved; a keypoint whose name
    says landmark (corner, maze, tube, lever, port, ...) needs only 2.5 x ``ratio``, and one whose
    name says body part (nose, ear, paw, tail, spine, ...) is never a landmark by the data alone (a
    head-fixed animal's nose barely moves in the image).

    Parameters
    ----------
    poses : mapping of session -> Dataset, or one Dataset
        Imported (not aligned) poses.
    ratio : float
        Largest range, relative to the body's, of a static point.
    cutoff : float
        Confidence below which a point counts as missing.
    candidates : sequence of str, optional
        Only these keypoints can be landmarks (default: all).

    Returns
    -------
    list of str
        The landmarks, in the data's order (empty when the body never moves: nothing can be told).
    """
    table = keypoint_motion(poses, cutoff)
    if table.empty:
        return []
    order = list(dict.fromkeys(table["keypoint"]))
    votes: dict[str, list[bool]] = {k: [] for k in order}
    for _, t in table.groupby("session", sort=False):
        r = t.set_index("keypoint")["range"]
        body = np.nanpercentile(r.values, 75) if np.isfinite(r.values).any() else np.nan
        if not np.isfinite(body) or body <= 0:
            continue
        for k, v in r.items():
            if np.isfinite(v) and not (re.search(_BODY_NAME, k, re.I) and not re.search(_PATTERNS["landmark"], k, re.I)):
                limit = ratio * (2.5 if re.search(_PATTERNS["landmark"], k, re.I) else 1.0)
                votes[k].append(v < limit * body)
    out = [k for k in order if votes[k] and np.mean(votes[k]) > 0.5]
    if candidates is not None:
        out = [k for k in out if k in set(candidates)]
    return out


def axis_from_motion(poses: Mapping[str, xr.Dataset] | xr.Dataset, keypoints: Sequence[str],
                     cutoff: float = 0.0) -> tuple[str, str, float] | None:
    """The front and back keypoints from the data: animals move forwards.

    For each keypoint, its offset from the body centre (the mean of ``keypoints``) is projected on the
    direction of travel in frames where the centre moves fast (above the 60th percentile of speed);
    the keypoint furthest ahead on average is the front, the one furthest behind the back.

    Parameters
    ----------
    poses : mapping of session -> Dataset, or one Dataset
        Imported poses.
    keypoints : sequence of str
        The body keypoints to choose from.
    cutoff : float
        Confidence below which a point counts as missing.

    Returns
    -------
    (front, back, separation) or None
        ``separation`` is the front's lead minus the back's, divided by their mean distance apart:
        near 1 the body moves clearly along that axis, near 0 nothing can be told. None when there
        are fewer than 2 keypoints or too few moving frames.
    """
    if _is_dataset(poses):
        poses = {"session": poses}
    keypoints = list(keypoints)
    if len(keypoints) < 2:
        return None
    lead_sum, dist_sum, n = np.zeros(len(keypoints)), 0.0, 0
    for ds in poses.values():
        sub = ds.sel(keypoint=keypoints)
        pos = sub["position"].transpose("time", "space", "keypoint", "individual").values[:, :2].astype(float)
        if "confidence" in sub and cutoff > 0:
            conf = sub["confidence"].transpose("time", "keypoint", "individual").values
            pos = np.where((conf >= cutoff)[:, None], pos, np.nan)
        full = ~np.isnan(pos).any(axis=(1, 2))  # (time, individual): every keypoint present
        with np.errstate(invalid="ignore"):
            centre = pos.mean(axis=2)  # (time, 2, individual)
        vel = np.full_like(centre, np.nan)
        if len(centre) > 2:
            vel[1:-1] = (centre[2:] - centre[:-2]) / 2
        speed = np.hypot(vel[:, 0], vel[:, 1])
        ok = full & np.isfinite(speed)
        if ok.sum() < 20:
            continue
        fast = ok & (speed > np.percentile(speed[ok], 60))
        unit = vel / np.where(speed > 0, speed, np.nan)[:, None]
        offset = pos - centre[:, :, None]  # (time, 2, keypoint, individual)
        lead = (offset * unit[:, :, None]).sum(axis=1)  # (time, keypoint, individual)
        t, i = np.nonzero(fast)
        lead_sum += np.nansum(lead[t, :, i], axis=0)
        spread = np.hypot(offset[:, 0], offset[:, 1])[t, :, i]
        dist_sum += float(np.nanmean(spread)) * len(t)
        n += len(t)
    if n == 0:
        return None
    lead = lead_sum / n
    front, back = int(np.argmax(lead)), int(np.argmin(lead))
    if front == back:
        return None
    return keypoints[front], keypoints[back], float((lead[front] - lead[back]) / max(2 * dist_sum / n, 1e-12))


def body_extremes(poses: Mapping[str, xr.Dataset] | xr.Dataset, keypoints: Sequence[str],
                  cutoff: float = 0.0) -> tuple[str, str] | None:
    """The two keypoints furthest apart on average (the body's two ends), the one listed first in front.

    Parameters
    ----------
    poses : mapping of session -> Dataset, or one Dataset
        Imported poses.
    keypoints : sequence of str
        The keypoints to choose from.
    cutoff : float
        Confidence below which a point counts as missing.

    Returns
    -------
    (first, second) or None
        None with fewer than 2 keypoints or no frame where two are tracked.
    """
    if _is_dataset(poses):
        poses = {"session": poses}
    keypoints = list(keypoints)
    if len(keypoints) < 2:
        return None
    total, count = np.zeros((len(keypoints),) * 2), np.zeros((len(keypoints),) * 2)
    for ds in poses.values():
        sub = ds.sel(keypoint=keypoints)
        pos = sub["position"].transpose("time", "individual", "keypoint", "space").values[..., :2].astype(float)
        if "confidence" in sub and cutoff > 0:
            conf = sub["confidence"].transpose("time", "individual", "keypoint").values
            pos = np.where((conf >= cutoff)[..., None], pos, np.nan)
        pos = pos.reshape(-1, len(keypoints), 2)[:: max(1, pos.shape[0] * pos.shape[1] // 5000)]  # a sample of frames
        d = np.hypot(*(pos[:, :, None] - pos[:, None, :]).transpose(3, 0, 1, 2))  # (frame, k, k)
        ok = np.isfinite(d)
        total += np.where(ok, d, 0).sum(axis=0)
        count += ok.sum(axis=0)
    if not count.any():
        return None
    mean = np.where(count > 0, total / np.maximum(count, 1), -1.0)
    i, j = np.unravel_index(np.argmax(mean), mean.shape)
    if mean[i, j] <= 0:
        return None
    i, j = sorted((int(i), int(j)))
    return keypoints[i], keypoints[j]


def infer_skeleton(
    poses: Mapping[str, xr.Dataset] | xr.Dataset,
    *,
    keypoints: Sequence[str] | None = None,
    exclude_keypoints: Sequence[str] | None = None,
    anterior: str | Sequence[str] | None = None,
    posterior: str | Sequence[str] | None = None,
    landmarks: str | Sequence[str] | None = None,
    cutoff: float = 0.0,
    landmark_ratio: float = 0.1,
) -> Skeleton:
    """Decide the roles of the keypoints of a study (see the module docstring).

    Parameters
    ----------
    poses : mapping of session -> Dataset, or one Dataset
        The imported sessions (every session must have the same keypoints, as notebook 01 checks).
    keypoints : sequence of str, optional
        Keep only these as body keypoints (overrides landmark detection for them).
    exclude_keypoints : sequence of str, optional
        Never use these as body keypoints.
    anterior, posterior : str or sequence of str, optional
        The front and back of the body; default from the names, else from the data.
    landmarks : "auto", None or sequence of str
        "auto" or None detects static points from the data; a list names them; [] means none.
    cutoff : float
        Confidence below which a point counts as missing while measuring motion.
    landmark_ratio : float
        See :func:`find_landmarks`.

    Returns
    -------
    Skeleton

    Raises
    ------
    KeypointNotFoundError
        An override names a keypoint the data does not have.
    ParameterError
        ``landmarks`` is neither "auto", a list nor None.
    """
    if _is_dataset(poses):
        poses = {poses.attrs.get("session", "session"): poses}
    if not poses:
        raise ParameterError("infer_skeleton: no sessions given.")
    names = [str(k) for k in next(iter(poses.values()))["keypoint"].values]
    how: dict[str, str] = {}
    notes: list[str] = []
    keep = _as_list(keypoints)
    exclude = _as_list(exclude_keypoints) or []
    for given, par in ((keep or [], "keypoints"), (exclude, "exclude_keypoints"),
                       (_as_list(anterior) or [], "anterior"), (_as_list(posterior) or [], "posterior")):
        _check_names(given, names, par)

    if isinstance(landmarks, str) and landmarks != "auto":
        landmarks = [landmarks]
    if landmarks is None or landmarks == "auto":
        pool = [k for k in names if keep is None or k not in keep]
        found = find_landmarks(poses, ratio=landmark_ratio, cutoff=cutoff, candidates=pool)
        how["landmarks"] = "data"
        if found:
            notes.append(f"static landmarks (barely move while the body moves; kept as arena geometry, not body): {found}")
    elif isinstance(landmarks, Sequence):
        found = [str(k) for k in landmarks]
        _check_names(found, names, "landmarks")
        how["landmarks"] = "user" if found else "none"
    else:
        raise ParameterError(f"landmarks={landmarks!r}: use None ('auto': detect them), a list of keypoint names, or [].")
    excluded = [k for k in names if k in exclude or (keep is not None and k not in keep and k not in found)]
    body = [k for k in names if k not in excluded and k not in found]
    if excluded:
        notes.append(f"excluded by you: {excluded}")

    roles: dict[str, list[str]] = {
        "nose": _match(body, _PATTERNS["nose"])[:1],
        "head": _match(body, _PATTERNS["head"], _NOT_AXIS),
        "neck": _match(body, _PATTERNS["neck"], _NOT_AXIS),
        "paws": _match(body, _PATTERNS["paws"]),
        "tail": [],
        "centre": [],
    }
    ant, post = _as_list(anterior), _as_list(posterior)
    how["anterior"] = how["posterior"] = "user" if ant and post else "names"
    if ant is None:
        ant = _match(body, _PATTERNS["anterior"], _NOT_AXIS)
    if post is None:
        post = [k for k in _match(body, _PATTERNS["posterior"], r"tip|end|paw|leg|wing|hand|foot") if k not in ant]
    if not ant or not post:
        guess = axis_from_motion(poses, body, cutoff)
        if guess is not None and guess[2] > 0.3:
            front, back, sep = guess
            how["anterior" if not ant else "posterior"] = "data"
            if not ant and not post:
                how["anterior"] = how["posterior"] = "data"
            ant = ant or [front]
            post = post or [back if back not in ant else next(k for k in body if k not in ant)]
            notes.append(f"body axis from the data (the front leads when the animal moves; separation {sep:.2f}): "
                         f"front {ant}, back {post}")
        else:  # no travel to read (a treadmill, a resting animal): the body's two ends, direction unknown
            ends = body_extremes(poses, [k for k in body if k not in (ant or []) + (post or [])] or body, cutoff)
            if ends is not None:
                front, back = ends
                how["anterior" if not ant else "posterior"] = "data"
                if not ant and not post:
                    how["anterior"] = how["posterior"] = "data"
                ant, post = ant or [front], post or [back]
                why = "" if guess is None else f" (separation {guess[2]:.2f})"
                notes.append(f"neither the names nor a clear direction of travel{why} tell the front from the back: "
                             f"the axis joins the two keypoints furthest apart, {ant} and {post}, in file order. "
                             f"Alignment only needs a consistent axis; name the real one with -p anterior=[...] "
                             f"-p posterior=[...] if you know it")
    if not roles["nose"] and ant and how["anterior"] == "data":
        roles["nose"] = ant[:1]
    if not roles["nose"] and roles["head"]:
        heads = [k for k in roles["head"] if not re.search(_PATTERNS["ears"] + "|eye|neck", k, re.I)]
        roles["nose"] = heads[:1]
    roles["tail"] = [k for k in _match(body, _PATTERNS["tail"]) if k not in post]
    roles["centre"] = next(([k] for p in _PATTERNS["centre"].split("|") for k in _match(body, p, _NOT_AXIS)
                            if k not in ant + post), [])
    sk = Skeleton(keypoints=names, body=body, landmarks=found, excluded=excluded, anterior=list(ant or []),
                  posterior=list(post or []), how=how, notes=notes, **roles)
    sk.notes.insert(0, f"{len(body)} body keypoint(s) of {len(names)}; front {sk.anterior}, back {sk.posterior}"
                       + (f", centre {sk.centre}" if sk.centre else "") + (f"; nose {sk.nose}" if sk.nose else "")
                       + (f", paws {sk.paws}" if sk.paws else "") + (f", tail {sk.tail}" if sk.tail else ""))
    return sk


def resolve(project_root: str | Path, poses: Mapping[str, xr.Dataset] | None = None, *, save: bool = True,
            cutoff: float = 0.0, **overrides) -> Skeleton:
    """The project's skeleton: ``skeleton.yaml`` when it exists and no override is given, else inferred.

    Overrides (``keypoints``, ``exclude_keypoints``, ``anterior``, ``posterior``, ``landmarks``; ``None``
    means "not given") re-decide the skeleton from
    ``poses`` and, with ``save``, rewrite the file.

    Parameters
    ----------
    project_root : str or Path
        The run directory.
    poses : mapping of session -> Dataset, optional
        The imported sessions; needed when the skeleton must be (re)inferred.
    save : bool
        Write ``skeleton.yaml`` when it was (re)inferred.
    cutoff : float
        Confidence below which a point counts as missing while measuring motion.
    **overrides
        Passed to :func:`infer_skeleton`.

    Returns
    -------
    Skeleton

    Raises
    ------
    ParameterError
        The skeleton must be inferred but no poses were given.
    """
    path = Path(project_root) / FILE
    given = {k: v for k, v in overrides.items() if v is not None and not (k == "landmarks" and v == "auto")}
    if path.exists():
        saved = load(path)
        if not given:
            return saved
    if poses is None:
        raise ParameterError(f"{path}: no skeleton yet (or overrides {given} to apply) and no poses to infer it from; "
                             f"run notebook 01_import first.")
    sk = infer_skeleton(poses, cutoff=cutoff, **overrides)
    if save:
        sk.save(path)
    return sk


def warn_dropped(sk: Skeleton) -> None:
    """One DataWarning listing the keypoints the models will not see (landmarks, exclusions)."""
    if sk.dropped:
        warnings.warn(f"keypoint(s) {sk.dropped} are not body points (landmarks {sk.landmarks}, excluded "
                      f"{sk.excluded}); the models use {sk.body}.", DataWarning, stacklevel=2)
