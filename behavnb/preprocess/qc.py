"""Quality control: what cleaning did to each keypoint, and which sessions should not be used (end of preprocess)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from behavnb.preprocess._core import FLAGS, MISSING, longest_run

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr


def qc_table(ds: xr.Dataset) -> pd.DataFrame:
    """One row per individual and keypoint: % of frames touched by each step, and the longest gap left.

    Parameters
    ----------
    ds : xarray.Dataset
        One session's cleaned poses (with ``flag``; without it only missing points are counted).

    Returns
    -------
    pandas.DataFrame
        Columns: session, individual, keypoint, pct_missing_input, pct_low_confidence, pct_outlier,
        pct_jump, pct_swapped, pct_interpolated, pct_missing (after cleaning), longest_gap_frames,
        longest_gap_s.
    """
    import pandas as pd

    flag = ds["flag"].transpose("time", "keypoint", "individual").values if "flag" in ds else None
    if flag is None:
        flag = np.where(ds["position"].isnull().any("space").transpose("time", "keypoint", "individual").values,
                        MISSING, 0).astype(np.uint8)
    missing_now = ds["position"].isnull().any("space").transpose("time", "keypoint", "individual").values
    gap = longest_run(missing_now)
    n = max(flag.shape[0], 1)
    fps = float(ds.attrs.get("fps") or np.nan)
    rows = []
    for k_i, k in enumerate(ds["keypoint"].values):
        for i_i, ind in enumerate(ds["individual"].values):
            f = flag[:, k_i, i_i]
            row = {"session": ds.attrs.get("session", ""), "individual": str(ind), "keypoint": str(k)}
            for name, bit in FLAGS.items():
                key = "pct_missing_input" if name == "missing" else f"pct_{name}"
                row[key] = 100 * np.count_nonzero(f & bit) / n
            row["pct_missing"] = 100 * missing_now[:, k_i, i_i].sum() / n
            row["longest_gap_frames"] = int(gap[k_i, i_i])
            row["longest_gap_s"] = gap[k_i, i_i] / fps if np.isfinite(fps) else np.nan
            rows.append(row)
    return pd.DataFrame(rows)


def qc_summary(qc: pd.DataFrame, cleaned: Mapping[str, xr.Dataset] | None = None, *, max_missing: float = 20.0,
               max_reference_missing: float = 20.0) -> pd.DataFrame:
    """Per session and individual: mean % missing after cleaning, % frames without alignment reference, pass/fail.

    A session fails when the average keypoint is missing in more than ``max_missing`` % of frames,
    or the alignment reference in more than ``max_reference_missing`` %. Failing sessions are
    flagged with the reason, never dropped silently: later notebooks skip them with a warning.
    """
    import pandas as pd

    out = (qc.groupby(["session", "individual"], sort=False)
             .agg(pct_missing=("pct_missing", "mean"), pct_removed=("pct_low_confidence", "mean"),
                  pct_outlier=("pct_outlier", "mean"), pct_jump=("pct_jump", "mean"),
                  pct_interpolated=("pct_interpolated", "mean"), worst_keypoint_missing=("pct_missing", "max"))
             .reset_index())
    ref = []
    for row in out.itertuples(index=False):
        ds = (cleaned or {}).get(row.session)
        if ds is not None and "reference_missing" in ds:
            ref.append(100 * float(ds["reference_missing"].sel(individual=row.individual).mean()))
        else:
            ref.append(np.nan)
    out["pct_reference_missing"] = ref
    reasons = []
    for row in out.itertuples(index=False):
        r = []
        if row.pct_missing > max_missing:
            r.append(f"{row.pct_missing:.1f} % of points missing (> {max_missing} %)")
        if np.isfinite(row.pct_reference_missing) and row.pct_reference_missing > max_reference_missing:
            r.append(f"alignment reference missing in {row.pct_reference_missing:.1f} % of frames "
                     f"(> {max_reference_missing} %)")
        reasons.append("; ".join(r))
    out["qc_pass"] = [not r for r in reasons]
    out["qc_reason"] = reasons
    return pd.DataFrame(out)


def alignment_quality(cleaned: Mapping[str, xr.Dataset]) -> dict[str, float]:
    """How well an alignment held, pooled over sessions.

    Parameters
    ----------
    cleaned : mapping of str to xarray.Dataset
        Cleaned, aligned poses per session (with ``heading`` and ``reference_missing``).

    Returns
    -------
    dict of str to float
        ``"% frames without reference"`` and ``"median |turning rate| (rad/s)"`` (the median
        frame-to-frame heading change; lower means a steadier body axis).
    """
    lost, turns = [], []
    for ds in cleaned.values():
        h = ds["heading"].transpose("time", "individual").values
        lost.append(float(ds["reference_missing"].values.mean()))
        step = (np.diff(h, axis=0) + np.pi) % (2 * np.pi) - np.pi
        turns.append(np.abs(step).ravel() * float(ds.attrs.get("fps") or 1.0))
    turns = np.concatenate(turns)
    return {"% frames without reference": 100 * float(np.mean(lost)),
            "median |turning rate| (rad/s)": float(np.nanmedian(turns)) if np.isfinite(turns).any() else float("nan")}


def score_filters(cleaned: Mapping[str, xr.Dataset], noise: pd.DataFrame) -> pd.DataFrame:
    """Precision and recall of the cleaning against known corruptions (a synthetic cohort's ``truth_noise``).

    Rows: ``swap fix`` (points swapped back vs planted left/right swaps), ``jump removal`` (points
    removed as jumps or far points vs planted jumps), ``jump cleaning`` (jumps removed by any
    step, the confidence filter included) and ``identity swap repair`` (frames and individuals
    with a point flagged ``id_swap`` vs those with a planted identity swap; counted per frame and
    individual, not per point, because a swap moves the whole animal and later corruptions such
    as dropouts overwrite some of its points in the truth). Precision counts a removed point as
    right when it was corrupted in any way.

    Parameters
    ----------
    cleaned : mapping of str to xarray.Dataset
        Cleaned poses per session (with ``flag``).
    noise : pandas.DataFrame
        The planted corruptions: session, individual, frame, keypoint, kind (jump, lr_swap, dropout, id_swap).

    Returns
    -------
    pandas.DataFrame
        ``filter, planted, flagged, precision, recall``.
    """
    import pandas as pd

    counts = {k: 0 for k in ("swap_tp", "swap_found", "swap_true", "jump_tp", "jump_found", "jump_found_any",
                             "jump_true", "jump_cleaned", "id_tp", "id_found", "id_true")}
    for session, ds in cleaned.items():
        flag = ds["flag"].transpose("time", "keypoint", "individual").values
        frames = ds["frame"].values if "frame" in ds.coords else np.arange(ds.sizes["time"])
        row_of = {int(f): i for i, f in enumerate(frames)}
        kps = {str(k): i for i, k in enumerate(ds["keypoint"].values)}
        inds = {str(k): i for i, k in enumerate(ds["individual"].values)}
        truth = {kind: np.zeros(flag.shape, bool) for kind in ("jump", "lr_swap", "id_swap", "any")}
        sub = noise[noise["session"] == session]
        if len(inds) == 1:  # single-animal files name their one individual differently from the generator
            sub = sub.assign(individual=next(iter(inds)))
        sub = sub[sub["keypoint"].isin(kps) & sub["individual"].isin(inds) & sub["frame"].isin(row_of)]
        idx = tuple(sub[c].map(m).to_numpy(dtype=np.int64) for c, m in
                    (("frame", row_of), ("keypoint", kps), ("individual", inds)))
        truth["any"][idx] = True
        for kind in ("jump", "lr_swap", "id_swap"):
            m = (sub["kind"] == kind).to_numpy()
            truth[kind][tuple(i[m] for i in idx)] = True
        swapped = (flag & FLAGS["swapped"]) > 0
        removed = (flag & (FLAGS["jump"] | FLAGS["outlier"])) > 0
        cleaned_any = removed | ((flag & FLAGS["low_confidence"]) > 0)
        counts["swap_tp"] += int((swapped & truth["lr_swap"]).sum())
        counts["swap_found"] += int(swapped.sum())
        counts["swap_true"] += int(truth["lr_swap"].sum())
        counts["jump_tp"] += int((removed & truth["jump"]).sum())
        counts["jump_found"] += int(removed.sum())
        counts["jump_found_any"] += int((removed & truth["any"]).sum())
        counts["jump_true"] += int(truth["jump"].sum())
        counts["jump_cleaned"] += int((cleaned_any & truth["jump"]).sum())
        id_found = ((flag & FLAGS["id_swap"]) > 0).any(axis=1)  # (time, individual)
        id_true = truth["id_swap"].any(axis=1)
        counts["id_tp"] += int((id_found & id_true).sum())
        counts["id_found"] += int(id_found.sum())
        counts["id_true"] += int(id_true.sum())
    c = counts

    def ratio(a: int, b: int) -> float:
        return a / b if b else float("nan")

    return pd.DataFrame([
        {"filter": "swap fix", "planted": c["swap_true"], "flagged": c["swap_found"],
         "precision": ratio(c["swap_tp"], c["swap_found"]), "recall": ratio(c["swap_tp"], c["swap_true"])},
        {"filter": "jump removal", "planted": c["jump_true"], "flagged": c["jump_found"],
         "precision": ratio(c["jump_found_any"], c["jump_found"]), "recall": ratio(c["jump_tp"], c["jump_true"])},
        {"filter": "jump cleaning (any step)", "planted": c["jump_true"], "flagged": np.nan,
         "precision": np.nan, "recall": ratio(c["jump_cleaned"], c["jump_true"])},
        {"filter": "identity swap repair", "planted": c["id_true"], "flagged": c["id_found"],
         "precision": ratio(c["id_tp"], c["id_found"]), "recall": ratio(c["id_tp"], c["id_true"])},
    ])
