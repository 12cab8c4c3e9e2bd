"""Filling short gaps and smoothing over time, vectorised over every keypoint and individual (preprocess steps)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from behavnb.errors import ParameterError
from behavnb.io.schema import append_log
from behavnb.preprocess._core import (
    INTERPOLATED,
    add_flag,
    check_length,
    ensure_flags,
    fill_index,
    point_missing,
    position_array,
    to_frames,
    with_position,
)

if TYPE_CHECKING:
    import xarray as xr


def _linear_fill(pos: np.ndarray, fill: np.ndarray, prev: np.ndarray, nxt: np.ndarray, edges: bool = False) -> np.ndarray:
    """Linear interpolation of ``pos`` (time, space, ...) at frames ``fill`` (time, ...).

    ``prev``/``nxt`` are the last/next tracked frame (``fill_index``); with ``edges`` the frames
    before the first or after the last tracked one take its value.
    """
    t = pos.shape[0]
    if edges:
        prev, nxt = np.where(prev < 0, nxt, prev), np.where(nxt >= t, prev, nxt)
    t_idx, k_idx, i_idx = np.nonzero(fill)  # only the points to fill: they are few
    p = np.clip(prev[t_idx, k_idx, i_idx], 0, t - 1)
    n = np.clip(nxt[t_idx, k_idx, i_idx], 0, t - 1)
    x0, x1 = pos[p, :, k_idx, i_idx], pos[n, :, k_idx, i_idx]  # (points, space)
    frac = ((t_idx - p) / np.maximum(n - p, 1))[:, None]
    out = pos.copy()
    out[t_idx, :, k_idx, i_idx] = x0 + (x1 - x0) * frac
    return out


def interpolate(ds: xr.Dataset, max_gap: int | str = "0.5s", method: str = "linear") -> xr.Dataset:
    """Fill gaps of at most ``max_gap`` frames between two tracked points; longer gaps stay NaN.

    Gaps at the start or end of a session are never filled (nothing to interpolate from). Filled points
    are flagged ``interpolated``; the QC table reports them and the longest remaining gap.

    Parameters
    ----------
    ds : xarray.Dataset
        One session's poses.
    max_gap : int or str, default "0.5s"
        Longest gap filled: frames, or seconds as ``"0.5s"``.
    method : {"linear", "cubic"}, default "linear"
        Straight lines, or a cubic spline through the tracked points of each trajectory.

    Returns
    -------
    xarray.Dataset

    Raises
    ------
    ParameterError
        On an unknown ``method`` or a malformed ``max_gap``.
    """
    if method not in ("linear", "cubic"):
        raise ParameterError(f"method={method!r}: use 'linear' or 'cubic'.")
    ds = ensure_flags(ds)
    gap = to_frames(ds, max_gap, "max_gap", minimum=0)
    pos = position_array(ds)
    valid = ~point_missing(pos)  # (time, keypoint, individual)
    t = pos.shape[0]
    prev, nxt = fill_index(valid, True), fill_index(valid, False)
    # a missing frame lies in a gap of nxt - prev - 1 frames, inside the session if both exist
    fill = ~valid & (prev >= 0) & (nxt < t) & (nxt - prev - 1 <= gap)
    if fill.any():
        pos = _linear_fill(pos, fill, prev, nxt)
        if method == "cubic":
            pos = _cubic_fill(pos, fill, valid)
    out = with_position(ds, pos)
    add_flag(out, fill, INTERPOLATED)
    left = int((~valid & ~fill).sum())
    return append_log(out, f"preprocess.interpolate: max_gap={gap} frames, method={method}; filled "
                           f"{int(fill.sum())} points, {left} remain missing")


def _cubic_fill(pos: np.ndarray, fill: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Cubic-spline fill, one spline per trajectory (a loop over keypoints, not frames)."""
    from scipy.interpolate import CubicSpline

    out = pos  # already linearly filled: the fallback for trajectories with too few points
    frames = np.arange(pos.shape[0])
    for k in range(pos.shape[2]):
        for i in range(pos.shape[3]):
            v, f = valid[:, k, i], fill[:, k, i]
            if f.any() and v.sum() >= 4:
                spline = CubicSpline(frames[v], pos[v, :, k, i], axis=0)
                out[f, :, k, i] = spline(frames[f])
    return out


def smooth(ds: xr.Dataset, method: str = "savgol", window: int | str = "0.2s", polyorder: int = 2) -> xr.Dataset:
    """Smooth every trajectory: Savitzky-Golay (``"savgol"``) or rolling median (``"median"``).

    Missing points stay missing: the filter runs on a gap-bridged copy and NaNs are put back, so a
    gap never spreads over its neighbours. The window is centred and odd.

    Parameters
    ----------
    ds : xarray.Dataset
        One session's poses.
    method : {"savgol", "median"}, default "savgol"
        The filter.
    window : int or str, default "0.2s"
        Frames, or seconds as ``"0.2s"``.
    polyorder : int, default 2
        Savitzky-Golay polynomial order; below the window in frames.

    Returns
    -------
    xarray.Dataset

    Raises
    ------
    ParameterError
        On an unknown ``method``, a malformed window or ``polyorder`` not below the window;
        :class:`~behavnb.errors.SessionTooShortError` when the session is shorter than the window.

    Notes
    -----
    Savitzky-Golay keeps peaks (fast head movements) better than a moving average; the rolling
    median removes single-frame spikes but flattens fast rhythms. A window near the duration of
    the fastest behaviour you care about (e.g. ~0.1 s for paw strokes during grooming) erases it.
    """
    if method not in ("savgol", "median"):
        raise ParameterError(f"method={method!r}: use 'savgol' or 'median'.")
    ds = ensure_flags(ds)
    w = to_frames(ds, window, "smoothing window", minimum=1)
    w += 1 - w % 2
    check_length(ds, w, "smoothing window")
    if method == "savgol" and polyorder >= w:
        raise ParameterError(f"polyorder={polyorder} must be smaller than the window ({w} frames).")
    pos = position_array(ds)
    missing = np.isnan(pos)
    if w > 1:
        if method == "savgol":
            from scipy.signal import savgol_filter

            bridged = pos
            if missing.any():
                valid = ~missing.any(axis=1)
                bridged = _linear_fill(pos, ~valid, fill_index(valid, True), fill_index(valid, False), edges=True)
            sm = savgol_filter(np.nan_to_num(bridged), w, polyorder, axis=0, mode="interp")
        else:
            import bottleneck as bn

            pad = np.full((w // 2,) + pos.shape[1:], np.nan)
            sm = bn.move_median(np.concatenate([pos, pad]), window=w, axis=0, min_count=1)[w // 2:]
        pos = np.where(missing, np.nan, sm)
    out = with_position(ds, pos)
    extra = f", polyorder={polyorder}" if method == "savgol" else ""
    return append_log(out, f"preprocess.smooth: method={method}, window={w} frames{extra}")
