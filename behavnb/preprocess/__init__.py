"""Cleaning and egocentric alignment of poses, every step a pure function ``Dataset -> Dataset``.

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

from behavnb.errors import DataWarning, ParameterError
from behavnb.io.schema import append_log
from behavnb.preprocess._core import FLAGS, guess_reference, longest_run, lr_pairs, to_frames
from behavnb.preprocess.align import align, rotate_translate, scale, units_of
from behavnb.preprocess.confidence import filter_confidence, kept_fraction, missing_summary, usable
from behavnb.preprocess.outliers import fix_swaps, remove_far_points, remove_jumps, remove_outliers
from behavnb.preprocess.qc import alignment_quality, qc_summary, qc_table, score_filters
from behavnb.preprocess.temporal import interpolate, smooth

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

__all__ = [
    "FLAGS", "Pipeline", "align", "alignment_quality", "clean", "clean_sessions", "drop_empty_keypoints", "empty_keypoints",
    "filter_confidence", "fix_swaps", "guess_reference", "interpolate", "kept_fraction", "longest_run", "lr_pairs",
    "missing_summary", "qc_summary", "qc_table", "remove_far_points", "remove_jumps", "remove_outliers",
    "rotate_translate", "scale", "score_filters", "select_keypoints", "smooth", "to_frames", "units_of", "usable",
]


def select_keypoints(ds: xr.Dataset, keypoints: Sequence[str] | Mapping[str, str]) -> xr.Dataset:
    """Keep only ``keypoints`` (in that order); a mapping ``{old: new}`` also renames them.

    E.g. a reduced, renamed skeleton of the synthetic mice to co-embed with the full one (notebook 05).
    Variables without a keypoint dimension (centroid, heading) are kept as they are; logged in attrs.
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
    return [str(k) for k, good in zip(ds["keypoint"].values, ok) if not good]


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


@dataclass
class Pipeline:
    """The default cleaning chain with its parameters in one place; ``None`` switches a step off.

    Windows and gaps are frames (int) or seconds (``"0.5s"``). ``anterior``/``posterior`` (or
    ``centre``/``heading`` for 2-point alignment) default to sets guessed from keypoint names.
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
    px_per_cm: float | None = None
    body_length: bool = False
    on_empty: str = "drop"
    drop: Sequence[str] = field(default_factory=list)

    def __call__(self, ds: xr.Dataset) -> xr.Dataset:
        ds = drop_empty_keypoints(ds, self.confidence or 0.0, self.on_empty, also=self.drop)
        ref = self._reference(ds)
        if self.confidence is not None:
            ds = filter_confidence(ds, self.confidence)
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
        ds = scale(ds, px_per_cm=self.px_per_cm, body_length=self.body_length)
        return ds

    def _reference(self, ds: xr.Dataset) -> dict[str, list[str]]:
        if self.heading is not None:
            return {}
        if self.anterior is not None and self.posterior is not None:
            return {"anterior": list(self.anterior), "posterior": list(self.posterior)}
        if self.anterior is not None or self.posterior is not None:
            raise ParameterError("give both anterior=[...] and posterior=[...], or neither (guessed from names).")
        return guess_reference(ds)

    def params(self) -> dict:
        """The parameters as a plain dict (saved beside the cleaned data)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


def clean(ds: xr.Dataset, **params) -> xr.Dataset:
    """Run the default ``Pipeline`` (keyword arguments override its parameters) on one session."""
    return Pipeline(**params)(ds)


def _clean_one(pipeline: Pipeline, ds: xr.Dataset) -> tuple[xr.Dataset, pd.DataFrame]:
    out = pipeline(ds)
    return out, qc_table(out)


def clean_sessions(poses: Mapping[str, xr.Dataset], pipeline: Pipeline | None = None, *, progress: bool = True,
                   max_missing: float = 20.0, max_reference_missing: float = 20.0, scheduler: str | None = None,
                   ) -> tuple[dict[str, xr.Dataset], pd.DataFrame, pd.DataFrame]:
    """Clean every session with one pipeline; returns (cleaned, qc per keypoint, qc per session).

    A keypoint with no usable point in *any* session is dropped from *every* session (with a
    warning), so all sessions keep one keypoint set for the models. ``scheduler``: clean the
    sessions in parallel with Dask (see :mod:`behavnb.parallel`); every session is tried, then one
    error names those that failed.
    """
    import pandas as pd

    from behavnb.parallel import map_items, raise_failures

    pipeline = pipeline or Pipeline()
    empty = sorted({k for ds in poses.values() for k in empty_keypoints(ds, pipeline.confidence or 0.0)})
    if empty and pipeline.on_empty == "drop":
        bad = {s: e for s, ds in poses.items() if (e := empty_keypoints(ds, pipeline.confidence or 0.0))}
        warnings.warn(f"keypoint(s) {empty} have no usable point in {len(bad)} session(s) ({', '.join(list(bad)[:5])}"
                      f"{', …' if len(bad) > 5 else ''}); dropping them from all {len(poses)} sessions.",
                      DataWarning, stacklevel=2)
        pipeline = Pipeline(**{**asdict(pipeline), "drop": sorted(set(pipeline.drop) | set(empty))})
    cleaned, tables = {}, []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices of missing keypoints
        if empty and pipeline.on_empty == "drop":
            warnings.simplefilter("ignore", DataWarning)  # already reported above, once
        outcomes = map_items(lambda ds: _clean_one(pipeline, ds), poses.items(), scheduler=scheduler,
                             desc="cleaning", progress=progress)
    raise_failures(outcomes, "sessions", "Check those files (02's QC table), or leave them out of the sessions table.")
    for o in outcomes:
        cleaned[o.key], table = o.value
        tables.append(table)
    qc = pd.concat(tables, ignore_index=True)
    summary = qc_summary(qc, cleaned, max_missing=max_missing, max_reference_missing=max_reference_missing)
    failed = summary[~summary["qc_pass"]]
    if len(failed):
        warnings.warn(f"{len(failed)} session/individual(s) fail QC and will be skipped downstream: "
                      + "; ".join(f"{r.session}/{r.individual}: {r.qc_reason}" for r in failed.head(5).itertuples()),
                      DataWarning, stacklevel=2)
    return cleaned, qc, summary



