"""Tracking errors: left/right swaps, implausible jumps, and points far from the body (preprocess steps).

Each detector works per keypoint and individual with a robust scale (median absolute deviation),
so a threshold means the same on a paw as on the nose, in pixels or in centimetres.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from behavnb.io.schema import append_log
from behavnb.preprocess._core import (
    JUMP,
    OUTLIER,
    SWAPPED,
    add_flag,
    check_length,
    drop_points,
    ensure_flags,
    guess_reference,
    keypoint_index,
    lr_pairs,
    nanmean_axis,
    nanmedian_axis,
    point_missing,
    position_array,
    to_frames,
    with_position,
)

if TYPE_CHECKING:
    import xarray as xr

MAD_TO_SD = 1.4826


def body_axis(pos: np.ndarray, anterior: list[int], posterior: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Front and back points of the body, (time, space, individual): the mean of each keypoint set.

    The mean of the points present, so one missing point does not lose the frame; it is rotation
    invariant (a coordinate-wise median is not) and unmoved by a left/right swap.
    """
    return nanmean_axis(pos[:, :, anterior], axis=2), nanmean_axis(pos[:, :, posterior], axis=2)


def _robust_scale(x: np.ndarray, floor: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Median and MAD-based SD over time (axis 0), the SD never below ``floor``.

    Estimated from at most ~20,000 evenly spaced frames: plenty for a distribution's centre and
    spread, and it keeps an hour of data fast.
    """
    x = x[:: max(1, len(x) // 20000)]
    med = np.nanmedian(x, axis=0)
    sd = MAD_TO_SD * np.nanmedian(np.abs(x - med), axis=0)
    return med, np.maximum(np.nan_to_num(sd, nan=0.0), floor)


def _pair_axis(pos: np.ndarray, il: int, ir: int, anterior: Sequence[int], along: np.ndarray,
               body: np.ndarray) -> np.ndarray:
    """Unit axis (time, 2, individual) a left/right pair is judged against. A pair on the head (both in the
    anterior set, e.g. the ears) is judged against the head's own axis, from its midpoint to the front
    points ahead of it (the nose), so that a head turned far to one side (a mouse licking its flank) keeps
    its ears on their own sides; every other pair against the body axis."""
    on_head = il in anterior and ir in anterior
    ahead = [k for k in anterior if k not in (il, ir) and np.all(along[k] > along[[il, ir]].mean(axis=0))]
    axis = body
    if on_head and ahead:
        with warnings.catch_warnings():  # frames where every front point is missing: the body axis (below)
            warnings.simplefilter("ignore", RuntimeWarning)
            local = np.nanmean(pos[:, :2, ahead], axis=2) - 0.5 * (pos[:, :2, il] + pos[:, :2, ir])
        axis = np.where(np.isfinite(local).all(axis=1, keepdims=True), local, body)
    return axis / np.linalg.norm(axis, axis=1, keepdims=True)


def fix_swaps(ds: xr.Dataset, pairs: Sequence[tuple[str, str]] | None = None,
              anterior: Sequence[str] | None = None, posterior: Sequence[str] | None = None,
              margin: float = 0.3) -> xr.Dataset:
    """Swap left/right partners back where they sit on the wrong side of the body axis.

    Pairs on the head (ears) are judged against the head's own axis (towards the nose), others against the
    body axis. The expected side of each pair is its side in most frames. A frame counts as swapped when the
    pair's lateral separation has the other sign and exceeds ``margin`` times its typical size (so
    points that cross the midline, like paws under the body, are left alone).

    Parameters
    ----------
    ds : xarray.Dataset
        One session's poses.
    pairs : sequence of (str, str), optional
        Left/right keypoint pairs; default: names with left/right tokens (``ear_left``/``ear_right``,
        ``EarL``/``EarR``).
    anterior, posterior : sequence of str, optional
        Front and back keypoint sets of the body axis (default: ``guess_reference``).
    margin : float, default 0.3
        Fraction of the pair's typical separation a wrong-side frame must exceed.

    Returns
    -------
    xarray.Dataset
        Swapped points (and their confidences) exchanged and flagged ``swapped``.

    Raises
    ------
    KeypointNotFoundError
        When a named keypoint is not in ``ds``, or no body axis can be found.
    """
    ds = ensure_flags(ds)
    names = [str(k) for k in ds["keypoint"].values]
    pairs = lr_pairs(names) if pairs is None else [tuple(p) for p in pairs]
    if not pairs or ds.sizes["space"] < 2:
        return append_log(ds, "preprocess.fix_swaps: no left/right pairs; nothing done")
    ref = guess_reference(ds) if anterior is None or posterior is None else {}
    ant = keypoint_index(ds, anterior or ref["anterior"], "fix_swaps anterior")
    post = keypoint_index(ds, posterior or ref["posterior"], "fix_swaps posterior")
    pos = position_array(ds)
    conf = np.array(ds["confidence"].transpose("time", "keypoint", "individual").values)
    front, back = body_axis(pos, ant, post)
    body = front[:, :2] - back[:, :2]
    along = np.nanmedian(np.einsum("tsi,tski->tki", body / np.linalg.norm(body, axis=1, keepdims=True),
                                   pos[:, :2] - back[:, :2, None]), axis=0)  # (keypoint, individual)
    # the trunk's axis ends at the rearmost front point (the neck, not the nose): a head turned far to one
    # side must not swing the axis the paws and hips are judged against
    neck = ant[int(np.argmin(np.nanmean(along[ant], axis=1)))]
    trunk = pos[:, :2, neck] - back[:, :2]
    body = np.where(np.isfinite(trunk).all(axis=1, keepdims=True), trunk, body)
    swapped = np.zeros(ds["flag"].shape, dtype=bool)
    counts = {}
    for left, right in pairs:
        il, ir = keypoint_index(ds, [left, right], "fix_swaps pairs")
        axis = _pair_axis(pos, il, ir, ant, along, body)
        sep = pos[:, :2, il] - pos[:, :2, ir]  # (time, 2, individual)
        lateral = axis[:, 0] * sep[:, 1] - axis[:, 1] * sep[:, 0]
        typical = np.nanmedian(lateral[:: max(1, len(lateral) // 20000)], axis=0)  # expected signed separation per individual
        wrong = (np.sign(lateral) == -np.sign(typical)) & (np.abs(lateral) > margin * np.abs(typical))
        wrong &= np.isfinite(lateral)
        if not wrong.any():
            continue
        w4 = wrong[:, None, :]
        pos_l, pos_r = pos[:, :, il].copy(), pos[:, :, ir].copy()
        pos[:, :, il] = np.where(w4, pos_r, pos_l)
        pos[:, :, ir] = np.where(w4, pos_l, pos_r)
        conf[:, il], conf[:, ir] = np.where(wrong, conf[:, ir], conf[:, il]), np.where(wrong, conf[:, il], conf[:, ir])
        swapped[:, il] |= wrong
        swapped[:, ir] |= wrong
        counts[f"{left}/{right}"] = int(wrong.sum())
    out = with_position(ds, pos)
    out["confidence"] = (("time", "keypoint", "individual"), conf, dict(ds["confidence"].attrs))
    add_flag(out, swapped, SWAPPED)
    return append_log(out, f"preprocess.fix_swaps: pairs={[list(p) for p in pairs]}, margin={margin}; "
                           f"frames swapped back: {counts or 0}")


def remove_jumps(ds: xr.Dataset, window: int | str = "0.2s", k: float = 10.0, floor: float = 0.5) -> xr.Dataset:
    """Remove points that leave their own trajectory for a few frames (a Hampel filter).

    A point is a jump when its distance from the centred rolling median of its trajectory
    (``window`` long) exceeds ``k`` robust SDs of that distance for its keypoint. Jumps shorter
    than half the window are caught; longer excursions are left to ``remove_far_points``.

    Parameters
    ----------
    ds : xarray.Dataset
        One session's poses.
    window : int or str, default "0.2s"
        Rolling-median window: frames, or seconds as ``"0.2s"`` (made odd, at least 3 frames).
    k : float, default 10.0
        Robust SDs that make a jump.
    floor : float, default 0.5
        A jump is also at least this fraction of the body size, so a very steady keypoint is not over-cut.

    Returns
    -------
    xarray.Dataset
        Jumps set to NaN and flagged ``jump``.

    Raises
    ------
    ParameterError
        On a malformed window; :class:`~behavnb.errors.SessionTooShortError` when the session is shorter.
    """
    import bottleneck as bn

    ds = ensure_flags(ds)
    w = to_frames(ds, window, "jump window", minimum=3)
    w += 1 - w % 2  # odd, so the median is centred
    check_length(ds, w, "jump window")
    pos = position_array(ds)
    frame = pos
    t = pos.shape[0]
    flat = frame.reshape(t, -1).astype(np.float32)  # float32 halves the rolling median's time
    padded = np.concatenate([flat, np.full((w // 2, flat.shape[1]), np.nan, dtype=np.float32)])
    med = bn.move_median(padded, window=w, axis=0, min_count=max(3, w // 3))[w // 2:].reshape(pos.shape).astype(np.float64)
    dev = np.sqrt(np.nansum((frame - med) ** 2, axis=1))  # (time, keypoint, individual)
    dev[point_missing(frame) | point_missing(med)] = np.nan
    size = _body_size(pos)
    _, sd = _robust_scale(dev, floor=0.0)
    jump = dev > np.maximum(k * sd, floor * size)
    return drop_points(ds, pos, jump, JUMP, f"preprocess.remove_jumps: window={w} frames, k={k}")


def remove_far_points(ds: xr.Dataset, k: float = 6.0) -> xr.Dataset:
    """Remove points farther from the animal's robust centre than usual for their keypoint.

    The centre is the per-frame median of all keypoints of the individual; a point is an outlier
    when its distance exceeds that keypoint's median distance plus ``k`` robust SDs.

    Parameters
    ----------
    ds : xarray.Dataset
        One session's poses.
    k : float, default 6.0
        Robust SDs beyond the keypoint's median distance.

    Returns
    -------
    xarray.Dataset
        Far points set to NaN and flagged ``outlier``.
    """
    ds = ensure_flags(ds)
    pos = position_array(ds)
    centre = nanmedian_axis(pos, axis=2)  # (time, space, individual)
    dist = np.linalg.norm(pos - centre[:, :, None], axis=1)  # (time, keypoint, individual)
    size = _body_size(pos)
    med, sd = _robust_scale(dist, floor=0.05 * size)
    far = dist > med + k * sd
    return drop_points(ds, pos, far, OUTLIER, f"preprocess.remove_far_points: k={k}")


def remove_outliers(ds: xr.Dataset, *, swaps: bool = True, jump_window: int | str = "0.2s", jump_k: float = 10.0,
                    distance_k: float = 6.0, pairs: Sequence[tuple[str, str]] | None = None,
                    anterior: Sequence[str] | None = None, posterior: Sequence[str] | None = None) -> xr.Dataset:
    """Left/right swaps fixed (``swaps``), then jumps and far points removed (set to NaN and flagged)."""
    if swaps:
        ds = fix_swaps(ds, pairs=pairs, anterior=anterior, posterior=posterior)
    ds = remove_jumps(ds, window=jump_window, k=jump_k)
    return remove_far_points(ds, k=distance_k)


def _body_size(pos: np.ndarray) -> np.ndarray:
    """Typical distance of keypoints from the body's median point, per individual (a length scale)."""
    pos = pos[:: max(1, len(pos) // 20000)]
    centre = nanmedian_axis(pos, axis=2)
    dist = np.linalg.norm(pos - centre[:, :, None], axis=1)
    size = np.nanmedian(dist, axis=(0, 1)) if np.isfinite(dist).any() else np.ones(pos.shape[-1])
    return np.nan_to_num(np.asarray(size, dtype=float), nan=1.0)
