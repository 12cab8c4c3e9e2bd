"""Cleaning poses. So far: the confidence summaries that help choose a cutoff before cleaning.

All functions are vectorised over time, keypoints and individuals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from behavnb.errors import ParameterError

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr


def _check_cutoff(cutoff: float) -> float:
    if not 0.0 <= float(cutoff) <= 1.0:
        raise ParameterError(f"confidence cutoff {cutoff!r} is outside [0, 1]; trackers report likelihoods in [0, 1].")
    return float(cutoff)


def usable(ds: xr.Dataset, cutoff: float = 0.0) -> xr.DataArray:
    """True where a point is tracked (not NaN) and, if the file has confidences, confidence >= cutoff.

    Notes
    -----
    Files without confidence (SLEAP analysis files without point scores, DLC labeled-data) have
    NaN confidence; their points count as usable whenever the position is present.
    """
    cutoff = _check_cutoff(cutoff)
    present = ds["position"].notnull().all("space")
    conf = ds["confidence"]
    return present & (conf.isnull() | (conf >= cutoff))


def kept_fraction(poses: Mapping[str, xr.Dataset] | xr.Dataset, cutoffs: Sequence[float]) -> pd.DataFrame:
    """Fraction of points kept at each confidence cutoff, per keypoint, pooled over sessions.

    Returns a tidy table ``cutoff, keypoint, kept`` (kept in [0, 1]).
    """
    import pandas as pd

    if not isinstance(poses, Mapping):
        poses = {poses.attrs.get("session", "session"): poses}
    cutoffs = [_check_cutoff(c) for c in cutoffs]
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
    """Per keypoint and individual: % missing (NaN), % below the cutoff, and the longest gap in frames."""
    import pandas as pd

    cutoff = _check_cutoff(cutoff)
    present = ds["position"].notnull().all("space")
    ok = usable(ds, cutoff)
    bad = (~ok).transpose("time", ...).values  # (time, keypoint, individual)
    longest = _longest_run(bad)
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


def _longest_run(mask: np.ndarray) -> np.ndarray:
    """Length of the longest run of True along axis 0, for every other index (vectorised)."""
    t = mask.shape[0]
    flat = mask.reshape(t, -1)
    idx = np.arange(1, t + 1)[:, None]
    # position of the last False at or before each frame; run length = frame - last False
    last_false = np.maximum.accumulate(np.where(~flat, idx, 0), axis=0)
    run = np.where(flat, idx - last_false, 0)
    return run.max(axis=0).reshape(mask.shape[1:]) if t else np.zeros(mask.shape[1:], dtype=int)
