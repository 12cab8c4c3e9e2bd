"""Cleaning and egocentric alignment of poses, every step a pure function ``Dataset -> Dataset``.

Second room of the flow (io -> **preprocess** -> features -> inputs -> ...): it takes the poses ``io``
reads and gives the cleaned, aligned poses that features and the models start from.

The default chain (``clean`` / ``Pipeline``)::

    filter_confidence -> remove_outliers (fix_swaps, remove_jumps, remove_far_points)
    -> interpolate -> smooth -> align -> scale

Each step works on all keypoints and individuals at once (no per-frame Python), records what it did
to every point in ``flag`` and appends a line to ``attrs['log']``. ``qc_table`` turns the flags into
the per-keypoint QC report.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from behavnb.errors import BehavnbError, DataWarning, ParameterError
from behavnb.io.schema import append_log
from behavnb.parallel import map_items, raise_failures
from behavnb.preprocess._core import FLAGS, guess_reference, keypoint_index, longest_run, lr_pairs, to_frames, velocity
from behavnb.preprocess.align import align, rotate_translate, scale, units_of
from behavnb.preprocess.confidence import filter_confidence, kept_fraction, missing_summary, usable
from behavnb.preprocess.identity import repair_identity_swaps, score_stitching, stitch_table, stitch_tracks
from behavnb.preprocess.outliers import fix_swaps, remove_far_points, remove_jumps, remove_outliers
from behavnb.preprocess.qc import alignment_quality, qc_summary, qc_table, score_filters
from behavnb.preprocess.temporal import interpolate, smooth

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

__all__ = [
    "FLAGS", "Pipeline", "align", "alignment_quality", "clean", "clean_sessions", "drop_empty_keypoints", "empty_keypoints",
    "filter_confidence", "fix_swaps", "guess_reference", "interpolate", "keep_landmarks", "kept_fraction", "longest_run",
    "lr_pairs",
    "missing_summary", "qc_summary", "qc_table", "remove_far_points", "remove_jumps", "remove_outliers",
    "repair_identity_swaps", "rotate_translate", "scale", "score_filters", "score_stitching", "select_keypoints", "smooth",
    "stitch_table", "stitch_tracks", "to_frames", "units_of", "usable", "velocity",
]


def select_keypoints(ds: xr.Dataset, keypoints: Sequence[str] | Mapping[str, str]) -> xr.Dataset:
    """Keep only ``keypoints`` (in that order); a mapping ``{old: new}`` also renames them.

    E.g. a reduced, renamed skeleton of the synthetic mice to co-embed with the full one (notebook 05).
    Variables without a keypoint dimension (centroid, heading) are kept as they are; logged in attrs.

    Parameters
    ----------
    ds : xarray.Dataset
        Poses (imported or cleaned).
    keypoints : sequence of str or mapping of str to str
        The keypoints to keep, or ``{old name: new name}``.

    Returns
    -------
    xarray.Dataset

    Raises
    ------
    ParameterError
        When a named keypoint is not in ``ds``.
    """
    mapping = dict(keypoints) if isinstance(keypoints, Mapping) else {k: k for k in keypoints}
    have = [str(k) for k in ds["keypoint"].values]
    missing = [k for k in mapping if k not in have]
    if missing:
        raise ParameterError(f"session {ds.attrs.get('session', '?')!r} has no keypoint(s) {missing}; it has {have}.")
    out = ds.sel(keypoint=list(mapping)).assign_coords(keypoint=list(mapping.values()))
    return append_log(out, f"select_keypoints: {mapping}")


def empty_keypoints(ds: xr.Dataset, cutoff: float = 0.0) -> list[str]:
    """Keypoints with no usable point at all (every individual, every frame) at this confidence cutoff."""
    ok = usable(ds, cutoff).any(("time", "individual")).values
    return [str(k) for k, good in zip(ds["keypoint"].values, ok, strict=True) if not good]


def drop_empty_keypoints(ds: xr.Dataset, cutoff: float = 0.0, on_empty: str = "drop",
                         also: Sequence[str] = ()) -> xr.Dataset:
    """Drop (with a warning) or refuse keypoints that have no usable point, plus any named in ``also``."""
    if on_empty not in ("drop", "raise"):
        raise ParameterError(f"on_empty={on_empty!r}: use 'drop' or 'raise'.")
    empty = sorted(set(empty_keypoints(ds, cutoff)) | set(also) & {str(k) for k in ds["keypoint"].values})
    if not empty:
        return ds
    where = f"session {ds.attrs.get('session', '?')!r}"
    if on_empty == "raise":
        raise ParameterError(
            f"{where}: keypoint(s) {empty} have no point above confidence {cutoff} (all NaN). Fix the tracking, "
            f"lower the cutoff, or pass on_empty='drop' to remove them.")
    warnings.warn(f"{where}: dropping keypoint(s) {empty}: no usable point at confidence >= {cutoff}.",
                  DataWarning, stacklevel=2)
    out = ds.drop_sel(keypoint=empty)
    return append_log(out, f"preprocess.drop_empty_keypoints: dropped {empty}")


def keep_landmarks(ds: xr.Dataset, landmarks: Sequence[str], cutoff: float = 0.0) -> xr.Dataset:
    """Move static landmark keypoints (maze corners, a port) out of the skeleton into ``landmark_position``.

    Each landmark's place is its median over the frames (and individuals) where it is tracked above
    ``cutoff``: ``landmark_position(landmark, space)``, in the units of ``position`` (``scale`` converts
    it with the rest). Features such as the distance to each landmark use it; the models never see it.

    Parameters
    ----------
    ds : xarray.Dataset
        Imported poses.
    landmarks : sequence of str
        Keypoints that are landmarks (see :func:`behavnb.skeleton.find_landmarks`).
    cutoff : float
        Confidence below which a point is not used.

    Returns
    -------
    xarray.Dataset
        ``ds`` without those keypoints, with ``landmark_position``.

    Raises
    ------
    KeypointNotFoundError
        A landmark is not in ``ds``.
    """
    import xarray as xr

    landmarks = [str(k) for k in landmarks]
    if not landmarks:
        return ds
    idx = keypoint_index(ds, landmarks, "landmarks")
    pos = ds["position"].transpose("time", "space", "keypoint", "individual").values[:, :, idx]
    ok = usable(ds, cutoff).transpose("time", "keypoint", "individual").values[:, idx]
    pos = np.where(ok[:, None], pos, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a landmark never tracked stays NaN
        where = np.nanmedian(pos.transpose(0, 3, 1, 2).reshape(-1, pos.shape[1], len(idx)), axis=0).T
    out = ds.drop_sel(keypoint=landmarks)
    out["landmark_position"] = xr.DataArray(where, dims=("landmark", "space"),
                                            coords={"landmark": landmarks, "space": ds["space"].values},
                                            attrs={"units": units_of(ds), "description": "median place of each static landmark"})
    return append_log(out, f"preprocess.keep_landmarks: {landmarks} kept as arena geometry (landmark_position)")


@dataclass
class Pipeline:
    """The default cleaning chain with its parameters in one place; ``None`` switches a step off.

    Windows and gaps are frames (int) or seconds (``"0.5s"``). Calling the pipeline on one session's poses
    runs the steps in order and returns the cleaned poses; ``params()`` gives the parameters to save.

    Parameters
    ----------
    confidence : float or None, default 0.6
        Points below this tracker confidence become missing (``filter_confidence``).
    swaps : bool, default True
        Swap left/right partners back (``fix_swaps``).
    jump_window : int, str or None, default "0.2s"
        Window of the jump filter (``remove_jumps``).
    jump_k : float, default 10.0
        Robust SDs from the trajectory's rolling median that make a jump.
    distance_k : float or None, default 6.0
        Robust SDs from the body centre that make a far point (``remove_far_points``).
    max_gap : int, str or None, default "0.5s"
        Longest gap filled (``interpolate``).
    interpolation : {"linear", "cubic"}, default "linear"
        How gaps are filled.
    smoothing : {"savgol", "median"} or None, default "savgol"
        The smoothing filter (``smooth``).
    smooth_window : int or str, default "0.2s"
        Its window.
    polyorder : int, default 2
        Savitzky-Golay polynomial order.
    centre : str or sequence of str, optional
        The alignment origin (a keypoint or set), or with ``heading`` the centre of 2-point alignment.
    heading : str, optional
        2-point alignment: this keypoint goes onto the positive ``axis``.
    anterior, posterior : sequence of str, optional
        Front and back keypoint sets of multi-point alignment and of the swap check; default: the skeleton
        attached to the data, else sets guessed from keypoint names.
    axis : {"x", "y"}, default "x"
        The axis the body faces along after alignment.
    px_per_cm : float or mapping of str to float, optional
        One image scale, or session -> scale where cameras differ between sessions
        (:func:`behavnb.manifest.session_geometry` reads it from the sessions table); None stays in pixels.
    body_length : bool, default False
        Express the egocentric pose in body lengths (``scale``).
    on_empty : {"drop", "raise"}, default "drop"
        What to do with a keypoint that has no usable point.
    drop : sequence of str
        Keypoints left out altogether.
    landmarks : sequence of str
        Static keypoints that leave the skeleton as arena geometry (:func:`keep_landmarks`).
    identities : bool, default True
        With several individuals, link fragment tracks into identities and repair identity swaps
        (:mod:`behavnb.preprocess.identity`).
    n_animals : int, optional
        Identities to link into (default: from the tracks).
    stitch_gap : int or str, default "1s"
        Longest gap a track link bridges.
    min_track : int or str, default "1s"
        Linked tracks shorter than this only fill gaps; leftovers are dropped.

    Raises
    ------
    ParameterError
        When called with half a reference (only ``anterior`` or only ``posterior``), a per-session
        ``px_per_cm`` without the session, or a bad window; each step raises on its own bad input.

    See Also
    --------
    clean : one call with keyword overrides.
    clean_sessions : every session, with QC.
    """

    confidence: float | None = 0.6
    swaps: bool = True
    jump_window: int | str | None = "0.2s"
    jump_k: float = 10.0
    distance_k: float | None = 6.0
    max_gap: int | str | None = "0.5s"
    interpolation: str = "linear"
    smoothing: str | None = "savgol"
    smooth_window: int | str = "0.2s"
    polyorder: int = 2
    centre: str | Sequence[str] | None = None
    heading: str | None = None
    anterior: Sequence[str] | None = None
    posterior: Sequence[str] | None = None
    axis: str = "x"
    px_per_cm: float | Mapping[str, float | None] | None = None
    body_length: bool = False
    on_empty: str = "drop"
    drop: Sequence[str] = field(default_factory=list)
    landmarks: Sequence[str] = field(default_factory=list)
    identities: bool = True
    n_animals: int | None = None
    stitch_gap: int | str = "1s"
    min_track: int | str = "1s"

    def __call__(self, ds: xr.Dataset) -> xr.Dataset:
        ds = keep_landmarks(ds, [k for k in self.landmarks if k in ds["keypoint"].values], self.confidence or 0.0)
        ds = drop_empty_keypoints(ds, self.confidence or 0.0, self.on_empty, also=self.drop)
        ref = self._reference(ds)
        if self.confidence is not None:
            ds = filter_confidence(ds, self.confidence)
        if self.identities and ds.sizes["individual"] > 1:  # fragment tracks -> identities, then identity swaps
            ds = stitch_tracks(ds, max_gap=self.stitch_gap, min_length=self.min_track, n_animals=self.n_animals)
            ds = repair_identity_swaps(ds)
        if self.swaps:
            ds = fix_swaps(ds, anterior=ref.get("anterior"), posterior=ref.get("posterior"))
        if self.jump_window is not None:
            ds = remove_jumps(ds, window=self.jump_window, k=self.jump_k)
        if self.distance_k is not None:
            ds = remove_far_points(ds, k=self.distance_k)
        if self.max_gap is not None:
            ds = interpolate(ds, max_gap=self.max_gap, method=self.interpolation)
        if self.smoothing is not None:
            ds = smooth(ds, method=self.smoothing, window=self.smooth_window, polyorder=self.polyorder)
        centre = self.centre if self.centre is not None or self.heading else ref.get("centre")
        ds = align(ds, centre=centre, heading=self.heading, anterior=ref.get("anterior"),
                   posterior=ref.get("posterior"), axis=self.axis)
        ds = scale(ds, px_per_cm=self._scale_of(ds), body_length=self.body_length)
        return ds

    def _scale_of(self, ds: xr.Dataset) -> float | None:
        """The session's scale: one for all, or looked up by the session id (cameras differ per session)."""
        if not isinstance(self.px_per_cm, Mapping):
            return self.px_per_cm
        session = ds.attrs.get("session")
        if session not in self.px_per_cm:
            raise ParameterError(f"session {session!r} has no entry in px_per_cm (a per-session mapping): give every "
                                 "session its scale (a sessions-table px_per_cm column), or one number for all.")
        return self.px_per_cm[session]

    def _reference(self, ds: xr.Dataset) -> dict[str, list[str]]:
        if self.heading is not None:
            return {}
        if self.anterior is not None and self.posterior is not None:
            return {"anterior": list(self.anterior), "posterior": list(self.posterior)}
        if self.anterior is not None or self.posterior is not None:
            raise ParameterError("give both anterior=[...] and posterior=[...], or neither (guessed from names).")
        return guess_reference(ds)

    def params(self) -> dict:
        """The parameters as a plain dict (saved beside the cleaned data as params.yaml).

        Returns
        -------
        dict
        """
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


def clean(ds: xr.Dataset, **params) -> xr.Dataset:
    """Run the default ``Pipeline`` (keyword arguments override its parameters) on one session.

    Parameters
    ----------
    ds : xarray.Dataset
        One session's imported poses (``io.load_poses``).
    **params
        Any of :class:`Pipeline`'s parameters, e.g. ``confidence=0.6, max_gap="0.5s"``.

    Returns
    -------
    xarray.Dataset
        Cleaned poses: ``position`` (NaN where removed and not filled), ``flag``, ``ego_position``,
        ``centroid``, ``heading``, ``speed``; each step logged in ``attrs["log"]``.

    Raises
    ------
    ParameterError
        On a bad parameter value; :class:`~behavnb.errors.KeypointNotFoundError` on an unknown keypoint.

    Examples
    --------
    >>> import behavnb as bn
    >>> ds = bn.io.load_poses("m1_day1DLC_resnet50_openfieldMay1shuffle1_100000.h5", fps=30)  # doctest: +SKIP
    >>> clean = bn.preprocess.clean(ds, confidence=0.6, max_gap="0.5s", px_per_cm=8.0)  # doctest: +SKIP
    >>> bn.preprocess.qc_table(clean)  # what each step did to every keypoint  # doctest: +SKIP
    """
    return Pipeline(**params)(ds)


def _clean_one(pipeline: Pipeline, ds: xr.Dataset) -> tuple[xr.Dataset, pd.DataFrame]:
    out = pipeline(ds)
    return out, qc_table(out)


def screen_session(ds: xr.Dataset, cutoff: float = 0.0, min_frames: int = 1) -> str:
    """Why a whole session cannot be cleaned at all ("" when it can): too few frames, or no usable point.

    Parameters
    ----------
    ds : xarray.Dataset
        Imported poses of one session.
    cutoff : float
        Confidence below which a point is not usable.
    min_frames : int
        Fewest frames a session needs (the models' windows; 02's ``min_frames``).

    Returns
    -------
    str
        The reason, for the QC table, or "".
    """
    n = ds.sizes["time"]
    if n < max(min_frames, 1):
        return f"{n} frames, fewer than min_frames={min_frames} (the models' windows need that many)"
    if not bool(usable(ds, cutoff).any()):
        return f"no usable point in any frame (all missing, or confidence below {cutoff})"
    return ""


def _excluded_rows(ds: xr.Dataset, reason: str) -> list[dict]:
    return [{"session": ds.attrs.get("session", ""), "individual": str(i), "pct_missing": 100.0, "pct_removed": np.nan,
             "pct_outlier": np.nan, "pct_jump": np.nan, "pct_interpolated": np.nan, "worst_keypoint_missing": 100.0,
             "pct_reference_missing": np.nan, "qc_pass": False, "qc_reason": reason} for i in ds["individual"].values]


def _dropped_track_rows(ds: xr.Dataset) -> list[dict]:
    """QC rows for input tracks that stitching dropped whole (empty tracks, short fragments), with the reason."""
    frag = stitch_table(ds, per="fragment")
    if frag.empty:
        return []
    kept = set(frag.loc[frag["status"] != "dropped", "track"]) | {str(i) for i in ds["individual"].values}
    rows = []
    for track, f in frag[~frag["track"].isin(kept)].groupby("track", sort=False):
        reason = "; ".join(sorted({str(r) for r in f["reason"] if r}))
        row = _excluded_rows(ds.isel(individual=[0]), f"track dropped when linking tracks into identities: {reason}")[0]
        rows.append({**row, "individual": str(track)})
    return rows


def clean_sessions(poses: Mapping[str, xr.Dataset], pipeline: Pipeline | None = None, *, progress: bool = True,
                   max_missing: float = 20.0, max_reference_missing: float = 20.0, scheduler: str | None = None,
                   min_frames: int = 1) -> tuple[dict[str, xr.Dataset], pd.DataFrame, pd.DataFrame]:
    """Clean every session with one pipeline; returns (cleaned, qc per keypoint, qc per session/individual).

    Real studies arrive with bad sessions and bad tracks; none of them stops the study:

    - a session with fewer than ``min_frames`` frames, or no usable point at all, is not cleaned: it
      gets a failing QC row with the reason, and no entry in ``cleaned``;
    - a session whose cleaning fails on its data (a :class:`~behavnb.errors.BehavnbError`) likewise;
    - an individual that fails QC (an empty or fragment track, too much missing) is dropped from
      its session's cleaned data, with the reason in the QC table; the session keeps its other
      individuals and fails only when none is left;
    - a keypoint with no usable point in *any* session is dropped from *every* session (with a
      warning), so all sessions keep one keypoint set for the models.

    ``scheduler``: clean the sessions in parallel with Dask (see :mod:`behavnb.parallel`).

    Parameters
    ----------
    poses : mapping of session -> Dataset
        Imported sessions.
    pipeline : Pipeline, optional
        The cleaning chain (default ``Pipeline()``).
    progress : bool
        Show a progress bar.
    max_missing, max_reference_missing : float
        QC thresholds in % (see :func:`qc_summary`).
    scheduler : str, optional
        Dask scheduler for the per-session work.
    min_frames : int
        Sessions shorter than this are excluded (QC reason says so).

    Returns
    -------
    cleaned : dict of session -> Dataset
        Every session that could be cleaned (those failing QC too, for inspection;
        ``Project.usable_sessions`` skips them), without its failing individuals.
    qc : pandas.DataFrame
        One row per session, individual and keypoint (:func:`qc_table`).
    summary : pandas.DataFrame
        One row per session and individual, with ``qc_pass`` and ``qc_reason``.
    """
    import pandas as pd

    pipeline = pipeline or Pipeline()
    cutoff = pipeline.confidence or 0.0
    excluded = {s: r for s, ds in poses.items() if (r := screen_session(ds, cutoff, min_frames))}
    if excluded:
        warnings.warn(f"{len(excluded)} session(s) excluded before cleaning: "
                      + "; ".join(f"{s}: {r}" for s, r in list(excluded.items())[:5]), DataWarning, stacklevel=2)
    todo = {s: ds for s, ds in poses.items() if s not in excluded}
    landmarks = set(pipeline.landmarks)
    empty = sorted({k for ds in todo.values() for k in empty_keypoints(ds, cutoff)} - landmarks)
    if empty and pipeline.on_empty == "drop":
        bad = {s: e for s, ds in todo.items() if (e := empty_keypoints(ds, cutoff))}
        warnings.warn(f"keypoint(s) {empty} have no usable point in {len(bad)} session(s) ({', '.join(list(bad)[:5])}"
                      f"{', …' if len(bad) > 5 else ''}); dropping them from all {len(todo)} sessions.",
                      DataWarning, stacklevel=2)
        pipeline = Pipeline(**{**asdict(pipeline), "drop": sorted(set(pipeline.drop) | set(empty))})
    cleaned, tables, rows = {}, [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices of missing keypoints
        if empty and pipeline.on_empty == "drop":
            warnings.simplefilter("ignore", DataWarning)  # already reported above, once
        outcomes = map_items(lambda ds: _clean_one(pipeline, ds), todo.items(), scheduler=scheduler,
                             desc="cleaning", progress=progress)
    for o in outcomes:
        if o.ok:
            cleaned[o.key], table = o.value
            tables.append(table)
        elif isinstance(o.exception, BehavnbError):  # a data problem of this session: excluded, with the reason
            excluded[o.key] = f"cleaning failed: {o.exception}"
    raise_failures([o for o in outcomes if not o.ok and o.key not in excluded], "sessions",
                   "Check those files (02's QC table), or leave them out of the sessions table.")
    for s in poses:
        if s in excluded:
            rows += _excluded_rows(poses[s], excluded[s])
        elif s in cleaned:
            rows += _dropped_track_rows(cleaned[s])
    qc = pd.concat(tables, ignore_index=True) if tables else qc_table(next(iter(poses.values())).isel(time=slice(0, 0)))
    summary = qc_summary(qc, cleaned, max_missing=max_missing, max_reference_missing=max_reference_missing)
    if rows:
        summary = pd.concat([summary, pd.DataFrame(rows)], ignore_index=True)
        order = {s: i for i, s in enumerate(poses)}
        summary = summary.sort_values("session", key=lambda c: c.map(order), kind="stable").reset_index(drop=True)
    cleaned = _drop_failed_individuals(cleaned, summary)
    failed = summary[~summary["qc_pass"].astype(bool)]
    if len(failed):
        warnings.warn(f"{len(failed)} session/individual(s) fail QC and will be skipped downstream: "
                      + "; ".join(f"{r.session}/{r.individual}: {r.qc_reason}" for r in failed.head(5).itertuples()),
                      DataWarning, stacklevel=2)
    return cleaned, qc, summary


def _drop_failed_individuals(cleaned: dict[str, xr.Dataset], summary: pd.DataFrame) -> dict[str, xr.Dataset]:
    """Drop individuals that failed QC from sessions where others passed (logged); whole failures stay as they are."""
    out = {}
    for s, ds in cleaned.items():
        rows = summary[summary["session"] == s]
        bad = [str(i) for i in rows.loc[~rows["qc_pass"].astype(bool), "individual"]]
        if bad and len(bad) < ds.sizes["individual"]:
            ds = append_log(ds.drop_sel(individual=bad), f"preprocess.clean_sessions: dropped individual(s) {bad} "
                                                         f"(failed QC: see qc_sessions.csv)")
        out[s] = ds
    return out
