"""Confidence: how much data each cutoff keeps, and the filter that applies one (first preprocess step)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from behavnb.preprocess._core import (
    LOW_CONFIDENCE,
    check_fraction,
    drop_points,
    ensure_flags,
    longest_run,
    point_missing,
    position_array,
)

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr


def usable(ds: xr.Dataset, cutoff: float = 0.0) -> xr.DataArray:
    """True where a point is tracked (not NaN) and, if the file has confidences, confidence >= cutoff.

    Notes
    -----
    Files without confidence (SLEAP analysis files without point scores, DLC labeled-data) have
    NaN confidence; their points count as usable whenever the position is present.
    """
    cutoff = check_fraction(cutoff, "cutoff")
    present = ds["position"].notnull().all("space")
    conf = ds["confidence"]
    return present & (conf.isnull() | (conf >= cutoff))


def kept_fraction(poses: Mapping[str, xr.Dataset] | xr.Dataset, cutoffs: Sequence[float]) -> pd.DataFrame:
    """Fraction of points kept at each confidence cutoff, per keypoint, pooled over sessions.

    Parameters
    ----------
    poses : xarray.Dataset or mapping of str to xarray.Dataset
        One session's poses, or poses per session.
    cutoffs : sequence of float
        Cutoffs in [0, 1].

    Returns
    -------
    pandas.DataFrame
        Tidy: ``cutoff, keypoint, kept`` (kept in [0, 1]).

    Raises
    ------
    ParameterError
        When a cutoff is outside [0, 1].
    """
    import pandas as pd

    if not isinstance(poses, Mapping):
        poses = {poses.attrs.get("session", "session"): poses}
    cutoffs = [check_fraction(c, "cutoff") for c in cutoffs]
    rows = []
    keypoints = list(next(iter(poses.values()))["keypoint"].values)
    for c in cutoffs:
        kept = np.zeros(len(keypoints))
        total = np.zeros(len(keypoints))
        for ds in poses.values():
            ok = usable(ds, c).transpose("keypoint", ...).values.reshape(len(ds["keypoint"]), -1)
            idx = [keypoints.index(k) for k in ds["keypoint"].values]
            kept[idx] += ok.sum(axis=1)
            total[idx] += ok.shape[1]
        rows += [{"cutoff": c, "keypoint": k, "kept": kept[i] / max(total[i], 1)} for i, k in enumerate(keypoints)]
    return pd.DataFrame(rows)


def missing_summary(ds: xr.Dataset, cutoff: float = 0.0) -> pd.DataFrame:
    """Per keypoint and individual: % missing (NaN), % below the cutoff, and the longest gap in frames.

    Parameters
    ----------
    ds : xarray.Dataset
        One session's poses.
    cutoff : float, default 0.0
        Confidence below which a present point counts as low.

    Returns
    -------
    pandas.DataFrame
        ``keypoint, individual, pct_missing, pct_low_confidence, longest_gap_frames``.

    Raises
    ------
    ParameterError
        When ``cutoff`` is outside [0, 1].
    """
    import pandas as pd

    cutoff = check_fraction(cutoff, "cutoff")
    present = ds["position"].notnull().all("space")
    ok = usable(ds, cutoff)
    bad = (~ok).transpose("time", ...).values  # (time, keypoint, individual)
    longest = longest_run(bad)
    rows = []
    for k_i, k in enumerate(ds["keypoint"].values):
        for i_i, ind in enumerate(ds["individual"].values):
            rows.append({
                "keypoint": str(k), "individual": str(ind),
                "pct_missing": 100 * float((~present).values[:, k_i, i_i].mean()),
                "pct_low_confidence": 100 * float((present & ~ok).values[:, k_i, i_i].mean()),
                "longest_gap_frames": int(longest[k_i, i_i]),
            })
    return pd.DataFrame(rows)


def filter_confidence(ds: xr.Dataset, threshold: float = 0.6) -> xr.Dataset:
    """Set points whose confidence is below ``threshold`` to NaN, flagging them ``low_confidence``.

    Parameters
    ----------
    ds : xarray.Dataset
        One session's poses.
    threshold : float, default 0.6
        Confidence cutoff in [0, 1].

    Returns
    -------
    xarray.Dataset

    Raises
    ------
    ParameterError
        When ``threshold`` is outside [0, 1].

    Notes
    -----
    Points without a confidence (NaN, e.g. SLEAP files without scores) are kept. 0.6 is
    DeepLabCut's plotting default; 0.9, common in VAME projects, can remove most of a paw or tail
    tip: look at ``kept_fraction`` first (notebook 01) and the QC table after.
    """
    threshold = check_fraction(threshold, "threshold")
    ds = ensure_flags(ds)
    conf = ds["confidence"].transpose("time", "keypoint", "individual").values
    pos = position_array(ds)
    low = ~point_missing(pos) & (conf < threshold)  # NaN confidence compares False: kept
    return drop_points(ds, pos, low, LOW_CONFIDENCE, f"preprocess.filter_confidence: threshold={threshold}")
