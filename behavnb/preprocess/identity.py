"""Identities of multi-animal tracks: fragments stitched into animals, identity swaps repaired.

A preprocess step (io -> **preprocess** -> features -> ...), run first on multi-animal files.

Multi-animal trackers (SLEAP, maDLC) make two kinds of identity errors:

- **fragments**: an animal's track breaks whenever the tracker loses it, and the track that picks
  it up again gets a new ``individual`` name, so a two-mouse file can hold dozens of tracks, most of
  them short. :func:`stitch_tracks` links fragments back into ``n_animals`` identities.
- **swaps**: two tracks trade animals for a stretch of frames (until they trade back), maDLC's main
  failure. :func:`repair_identity_swaps` finds the frames where the tracks jump onto each other's
  previous positions and swaps them back, flagging every repaired point (``FLAGS["id_swap"]``).

Both leave a single-animal file unchanged, work in 2D and 3D, and treat NaN as "not seen".
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from behavnb.errors import DataWarning, ParameterError
from behavnb.io.schema import append_log
from behavnb.preprocess._core import (
    FLAG_DIMS,
    ID_SWAP,
    MISSING,
    ensure_flags,
    fill_index,
    nanmedian_axis,
    point_missing,
    position_array,
    to_frames,
)

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

_BIG = 1e12  # an infeasible entry of an assignment problem
_END = 0.5  # cost of ending a chain, in body lengths
STITCH_ATTR = "identity_fragments"


@dataclass
class _Fragment:
    track: int  # index of the input individual
    start: int  # first visible frame
    stop: int  # last visible frame + 1
    visible: int  # frames with at least one keypoint
    begin: np.ndarray  # centroid at ``start``
    end: np.ndarray  # centroid at ``stop - 1``
    v_begin: np.ndarray  # velocity (per frame) over the first frames
    v_end: np.ndarray  # velocity over the last frames
    pose_begin: np.ndarray  # keypoints (space, keypoint) at ``start``
    pose_end: np.ndarray  # keypoints at ``stop - 1``
    slot: int = -1
    status: str = "dropped"
    reason: str = ""


def _runs(mask: np.ndarray, max_gap: int) -> list[tuple[int, int]]:
    """(start, stop) of the runs of True in ``mask``, runs closer than ``max_gap`` missing frames merged."""
    idx = np.flatnonzero(mask)
    if not len(idx):
        return []
    breaks = np.flatnonzero(np.diff(idx) > max_gap + 1)
    starts = idx[np.r_[0, breaks + 1]]
    stops = idx[np.r_[breaks, len(idx) - 1]] + 1
    return list(zip(starts.tolist(), stops.tolist(), strict=True))


def _velocity(centroid: np.ndarray, a: int, b: int) -> np.ndarray:
    """Mean velocity (per frame) between frames a and b of one track's centroid; 0 when unknown."""
    if b == a:
        return np.zeros(centroid.shape[1])
    v = (centroid[b] - centroid[a]) / (b - a)
    return np.where(np.isfinite(v), v, 0.0)


def _scales(centroid: np.ndarray, pos: np.ndarray) -> tuple[float, float]:
    """A body length and a fast per-frame centroid speed (95th percentile), both in position units."""
    sub = slice(None, None, max(1, len(pos) // 20000))
    p, c = pos[sub], centroid[sub]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        reach = np.nanmax(np.sqrt(np.nansum((p - c[:, :, None]) ** 2, axis=1)), axis=1)  # (time, individual)
        body = 2 * float(np.nanmedian(reach)) if np.isfinite(reach).any() else np.nan
        step = np.sqrt(np.sum(np.diff(centroid, axis=0) ** 2, axis=1))
        speed = float(np.nanpercentile(step, 95)) if np.isfinite(step).any() else np.nan
    if not np.isfinite(body) or body <= 0:
        body = 10 * speed if np.isfinite(speed) and speed > 0 else 1.0
    if not np.isfinite(speed) or speed <= 0:
        speed = 0.05 * body
    return body, speed


def _pose_distance(p: np.ndarray, q: np.ndarray, fallback: float) -> float:
    """Median distance between corresponding keypoints (space, keypoint) seen in both; ``fallback`` if none."""
    d = np.sqrt(np.sum((p - q) ** 2, axis=0))
    d = d[np.isfinite(d)]
    return float(np.median(d)) if len(d) else fallback


def _link_cost(a: _Fragment, b: _Fragment, horizon: int) -> float:
    """How far ``b``'s first pose lies from ``a``'s last, each moved forward/backward with its velocity.

    Whole poses (median keypoint distance), not centres: two animals in contact have close centres
    but different poses.
    """
    gap = max(b.start - (a.stop - 1), 1)
    h = min(gap, horizon)
    fwd, bwd = a.v_end * h, b.v_begin * h
    forward = _pose_distance(a.pose_end + fwd[:, None], b.pose_begin, np.linalg.norm(a.end + fwd - b.begin))
    backward = _pose_distance(b.pose_begin - bwd[:, None], a.pose_end, np.linalg.norm(b.begin - bwd - a.end))
    return float(0.5 * (forward + backward))


def _n_animals(visible: np.ndarray) -> int:
    """How many animals: the 95th percentile of simultaneously visible tracks over frames with any track."""
    count = visible.sum(axis=1)
    count = count[count > 0]
    return max(1, int(np.percentile(count, 95, method="lower"))) if len(count) else 1


def stitch_tracks(ds: xr.Dataset, *, max_gap: int | str = "1s", min_length: int | str = "1s",
                  n_animals: int | None = None, max_distance: float | None = None) -> xr.Dataset:
    """Link track fragments into ``n_animals`` identities by position and velocity continuity.

    Each input ``individual`` is cut into fragments at gaps longer than ``max_gap``. Then:

    1. fragments are linked end -> start across gaps up to ``max_gap`` by one assignment problem
       (:func:`scipy.optimize.linear_sum_assignment`); the cost is the median keypoint distance
       between each fragment's last pose, moved with its velocity over the gap, and the next one's
       first pose (and the same backwards); ending a chain costs half a body length, so a link is
       taken only when cheaper than that (and a false track cannot win a link by letting a real
       one end), and never beyond a body length plus a fast animal's travel over the gap;
    2. the linked chains at least ``min_length`` long are placed, longest first, into
       ``n_animals`` identities, never two overlapping in time in one identity, each next to the
       chains it continues best (across gaps longer than ``max_gap`` too: the one free identity
       is the best guess);
    3. shorter chains fill the gaps they continue (within ``max_gap`` and the distance limit).

    Fragments that fit nowhere are dropped: short ones quietly (logged), long ones and empty tracks
    with a :class:`~behavnb.errors.DataWarning`. The identities are named after the input track
    that gives each most frames.

    Parameters
    ----------
    ds : xarray.Dataset
        Poses with ``position(time, space, keypoint, individual)``; any number of individuals.
    max_gap : int or str
        Longest gap bridged by a continuity link: frames (int) or ``"1s"``.
    min_length : int or str
        Fragments shorter than this are only used to fill gaps of the identities.
    n_animals : int, optional
        Number of identities. Default: the 95th percentile of the number of tracks visible at
        once, counting fragments of at least ``min_length`` (at least 1).
    max_distance : float, optional
        The length scale of links, in position units (default: a body length estimated from the
        keypoints): a link costs less than half of it, and never more than it plus the 95th
        percentile of per-frame travel times the gap.

    Returns
    -------
    xarray.Dataset
        ``ds`` with ``n_animals`` individuals; every variable with time and individual dimensions
        gathered from the fragments (NaN, and ``flag`` = missing, where an identity has none). The
        fate of every fragment is stored as JSON in ``attrs["identity_fragments"]``: read it with
        :func:`stitch_table` (per fragment or per identity; the QC table of notebook 02).

    Raises
    ------
    ParameterError
        ``n_animals`` < 1, or a bad ``max_gap``/``min_length``.

    Notes
    -----
    A single-animal file is returned unchanged (one log line). When the tracks are already whole
    animal tracks (one fragment each), the result is the input. Swaps *within* a fragment are
    left to :func:`repair_identity_swaps`, which should run after this.
    """
    from scipy.optimize import linear_sum_assignment

    where = f"session {ds.attrs.get('session', '?')!r}"
    if n_animals is not None and (isinstance(n_animals, bool) or int(n_animals) < 1):
        raise ParameterError(f"n_animals={n_animals!r}: give the number of animals in the arena (>= 1), or None.")
    gap = to_frames(ds, max_gap, "max_gap", minimum=0)
    min_len = to_frames(ds, min_length, "min_length", minimum=1)
    n_in = ds.sizes["individual"]
    if n_in < 2 and (n_animals is None or int(n_animals) == n_in):
        return append_log(ds, "preprocess.stitch_tracks: one track; nothing to stitch")
    ds = ensure_flags(ds)
    pos = position_array(ds)
    n_t = pos.shape[0]
    seen = ~point_missing(pos)  # (time, keypoint, individual)
    visible = seen.any(axis=1)  # (time, individual)
    centroid = nanmedian_axis(pos, axis=2)  # (time, space, individual)
    body, speed = _scales(centroid, pos)
    base = float(max_distance) if max_distance is not None else body
    names = [str(i) for i in ds["individual"].values]

    frags: list[_Fragment] = []
    empty = []
    for i in range(n_in):
        runs = _runs(visible[:, i], gap)
        if not runs:
            empty.append(names[i])
        for a, b in runs:
            m = min(5, b - a - 1)
            frags.append(_Fragment(i, a, b, int(visible[a:b, i].sum()), centroid[a, :, i], centroid[b - 1, :, i],
                                   _velocity(centroid[:, :, i], a, a + m), _velocity(centroid[:, :, i], b - 1 - m, b - 1),
                                   pos[a, :, :, i], pos[b - 1, :, :, i]))

    if n_animals is not None:
        k = int(n_animals)
    else:  # count the tracks seen at once in fragments of at least min_length (not brief false detections)
        solid = np.zeros_like(visible)
        for f in frags:
            if f.visible >= min_len:
                solid[f.start:f.stop, f.track] = visible[f.start:f.stop, f.track]
        k = _n_animals(solid if solid.any() else visible)

    def gate(g: int) -> float:
        return base + speed * g

    # 1. fragments linked end -> start across gaps up to max_gap: one assignment problem (rows: ends,
    #    columns: starts, then one "no link" column per row)
    n_f = len(frags)
    succ = np.full(n_f, -1)
    if n_f > 1:
        cost = np.full((n_f, 2 * n_f), _BIG)
        begins = np.array([f.start for f in frags])
        for r, a in enumerate(frags):
            for c in np.flatnonzero((begins >= a.stop) & (begins - (a.stop - 1) <= gap + 1)):
                d = _link_cost(a, frags[c], gap)
                if d <= gate(frags[c].start - (a.stop - 1)):
                    cost[r, c] = d
            cost[r, n_f + r] = _END * base  # ending a chain here: a link must be cheaper than this (or win overall)
        rows, cols = linear_sum_assignment(cost)
        for r, c in zip(rows, cols, strict=True):
            if c < n_f and cost[r, c] < _BIG:
                succ[r] = c
    has_pred = np.zeros(n_f, bool)
    has_pred[succ[succ >= 0]] = True
    chains = []
    for s in np.flatnonzero(~has_pred):
        chain, j = [], s
        while j >= 0:
            chain.append(frags[j])
            j = succ[j]
        chains.append(chain)

    # 2. chains of at least min_length into k identities, longest first, never overlapping
    occupied = np.zeros((n_t, k), bool)
    members: list[list[_Fragment]] = [[] for _ in range(k)]

    def neighbours(slot: int, start: int, stop: int) -> tuple[_Fragment | None, _Fragment | None]:
        before = [f for f in members[slot] if f.stop <= start]
        after = [f for f in members[slot] if f.start >= stop]
        return (max(before, key=lambda f: f.stop) if before else None,
                min(after, key=lambda f: f.start) if after else None)

    def place(chain: list[_Fragment], slot: int, status: str) -> None:
        for n, f in enumerate(chain):
            f.slot, f.status = slot, status if n == 0 else "linked"
            members[slot].append(f)
        occupied[chain[0].start:chain[-1].stop, slot] = True  # and the gaps the links bridge

    size = {id(c[0]): sum(f.visible for f in c) for c in chains}
    long_chains = [c for c in chains if size[id(c[0])] >= min_len]
    dropped_long = []
    for chain in sorted(long_chains, key=lambda c: -size[id(c[0])]):
        start, stop = chain[0].start, chain[-1].stop
        costs = np.full(k, np.inf)
        for s in range(k):
            if occupied[start:stop, s].any():
                continue
            if not members[s]:
                costs[s] = gate(gap + 1)  # a new identity costs as much as the worst allowed link
                continue
            prev, nxt = neighbours(s, start, stop)
            c = [_link_cost(prev, chain[0], gap)] if prev is not None else []
            c += [_link_cost(chain[-1], nxt, gap)] if nxt is not None else []
            costs[s] = float(np.mean(c))
        if not np.isfinite(costs).any():
            for f in chain:
                f.reason = f"overlaps every one of the {k} identities"
            dropped_long.append(chain)
            continue
        place(chain, int(np.argmin(costs)), "placed")

    # 3. shorter chains fill the gaps they continue (within max_gap and the distance limit)
    for chain in sorted((c for c in chains if size[id(c[0])] < min_len), key=lambda c: c[0].start):
        first, last = chain[0], chain[-1]
        best, best_cost = -1, np.inf
        for s in range(k):
            if occupied[first.start:last.stop, s].any():
                continue
            prev, nxt = neighbours(s, first.start, last.stop)
            c = []
            if prev is not None and first.start - (prev.stop - 1) <= gap + 1:
                d = _link_cost(prev, first, gap)
                c += [d] if d <= gate(first.start - prev.stop + 1) else [np.inf]
            if nxt is not None and nxt.start - (last.stop - 1) <= gap + 1:
                d = _link_cost(last, nxt, gap)
                c += [d] if d <= gate(nxt.start - last.stop + 1) else [np.inf]
            if c and np.mean(c) < best_cost:
                best, best_cost = s, float(np.mean(c))
        if best >= 0:
            place(chain, best, "filled")
        else:
            for f in chain:
                f.reason = f"shorter than min_length ({min_len} frames) and continues no identity"

    # identities named after the input track giving each most frames
    share = np.zeros((k, n_in))
    for f in frags:
        if f.slot >= 0:
            share[f.slot, f.track] += f.visible
    rows, cols = linear_sum_assignment(-share)
    label = {int(r): int(c) for r, c in zip(rows, cols, strict=True) if share[r, c] > 0}
    used = set(label.values())
    spare = iter(n for n in range(n_in) if n not in used)
    order = sorted(range(k), key=lambda s: (label.get(s, n_in), s))
    out_names, src_of_slot = [], []
    for s in order:
        if s in label:
            out_names.append(names[label[s]])
        else:
            out_names.append(f"identity_{len(out_names)}")
            while out_names[-1] in names:
                out_names[-1] += "_"
        src_of_slot.append(label.get(s, next(spare, 0)))
    new_index = {s: j for j, s in enumerate(order)}

    src = np.full((n_t, k), -1, dtype=np.int64)
    for f in frags:
        if f.slot >= 0:
            src[f.start:f.stop, new_index[f.slot]] = f.track
    out = _gather(ds, src, src_of_slot, out_names)

    table = [{"track": names[f.track], "start": f.start, "stop": f.stop, "frames": f.visible,
              "identity": out_names[new_index[f.slot]] if f.slot >= 0 else "", "status": f.status,
              "reason": f.reason} for f in sorted(frags, key=lambda f: (f.start, f.track))]
    table += [{"track": n, "start": 0, "stop": 0, "frames": 0, "identity": "", "status": "dropped",
               "reason": "no visible point (all NaN)"} for n in empty]
    out.attrs = dict(out.attrs)
    out.attrs[STITCH_ATTR] = json.dumps(table)
    n_drop = sum(r["status"] == "dropped" for r in table)
    n_short = sum(r["status"] == "dropped" and r["reason"].startswith("shorter") for r in table)
    long_lost = [f for chain in dropped_long for f in chain]
    if empty or long_lost:
        warnings.warn(
            f"{where}: stitch_tracks dropped {len(empty)} empty track(s) {empty[:5]} and {len(long_lost)} fragment(s) "
            f"({sum(f.visible for f in long_lost)} frames) in chains of >= {min_len} frames that overlap every one of "
            f"the {k} identities; pass n_animals= if there are more animals. See stitch_table(ds, per='fragment').",
            DataWarning, stacklevel=2)
    n_linked = sum(r["status"] in ("linked", "filled") for r in table)
    return append_log(out, f"preprocess.stitch_tracks: max_gap={gap} frames, min_length={min_len} frames, "
                           f"n_animals={k}{'' if n_animals is not None else ' (estimated)'}; {n_in} tracks -> "
                           f"{len(frags)} fragments -> {k} identities; {n_linked} linked, {n_drop} dropped "
                           f"({n_short} short, {len(empty)} empty, {len(long_lost)} overlapping)")


def _gather(ds: xr.Dataset, src: np.ndarray, src_of_slot: list[int], names: list[str]) -> xr.Dataset:
    """A dataset whose individual j takes, at frame t, input individual ``src[t, j]`` (-1: none)."""
    out = ds.isel(individual=src_of_slot).assign_coords(individual=names)
    n_t = src.shape[0]
    t_idx = np.arange(n_t)[:, None]
    none = src < 0
    for name, var in ds.data_vars.items():
        if "time" not in var.dims or "individual" not in var.dims:
            continue
        other = [d for d in var.dims if d not in ("time", "individual")]
        arr = var.transpose("time", "individual", *other).values
        got = arr[t_idx, np.maximum(src, 0)]  # (time, k, ...)
        fill = MISSING if name == "flag" else (np.nan if np.issubdtype(arr.dtype, np.floating) else 0)
        got[none] = fill
        order = [("time", "individual", *other).index(d) for d in var.dims]
        out[name] = (var.dims, np.transpose(got, order), var.attrs)
    return out


def stitch_table(ds: xr.Dataset, per: str = "individual") -> pd.DataFrame:
    """What :func:`stitch_tracks` did: one row per fragment, or per identity (for the QC table).

    Parameters
    ----------
    ds : xarray.Dataset
        The output of :func:`stitch_tracks`.
    per : {"individual", "fragment"}
        ``"fragment"``: track, start, stop (frame indices, stop exclusive), frames, identity,
        status (placed, linked, filled, dropped), reason. ``"individual"``: session, individual,
        n_fragments, n_tracks, frames, pct_frames (of the session), dropped_fragments and
        dropped_frames (session totals).

    Returns
    -------
    pandas.DataFrame
        Empty (with the columns) when ``ds`` was not stitched.

    Raises
    ------
    ParameterError
        ``per`` is neither "individual" nor "fragment".
    """
    import pandas as pd

    cols = ["track", "start", "stop", "frames", "identity", "status", "reason"]
    frag = pd.DataFrame(json.loads(ds.attrs.get(STITCH_ATTR, "[]")), columns=cols)
    if per == "fragment":
        return frag
    if per != "individual":
        raise ParameterError(f"per={per!r}: use 'individual' or 'fragment'.")
    kept, lost = frag[frag["status"] != "dropped"], frag[frag["status"] == "dropped"]
    rows = []
    for ind in ds["individual"].values if len(frag) else []:
        mine = kept[kept["identity"] == str(ind)]
        rows.append({"session": ds.attrs.get("session", ""), "individual": str(ind), "n_fragments": len(mine),
                     "n_tracks": mine["track"].nunique(), "frames": int(mine["frames"].sum()),
                     "pct_frames": 100 * mine["frames"].sum() / max(ds.sizes["time"], 1),
                     "dropped_fragments": len(lost), "dropped_frames": int(lost["frames"].sum())})
    return pd.DataFrame(rows, columns=["session", "individual", "n_fragments", "n_tracks", "frames", "pct_frames",
                                       "dropped_fragments", "dropped_frames"])


def repair_identity_swaps(ds: xr.Dataset, *, max_age: int | str = "0.5s", ratio: float = 0.5,
                          min_distance: float | None = None, chunk: int = 20000) -> xr.Dataset:
    """Swap identities back where tracks jump onto each other's previous positions, and flag the points.

    For every frame, each track's keypoints are compared with every track's last seen keypoints
    (at most ``max_age`` old): the median keypoint distance. A frame is a swap event when the best
    assignment of current to previous tracks (Hungarian, over the tracks seen in both) costs less
    than ``ratio`` times keeping them, and at least ``min_distance`` less per moved track. A swap
    persists until the next event, so the events are composed into per-segment identity
    permutations; of the two (or k!) readings, the one that changes the fewest frames is kept
    (the tracker is right most of the time). Every point of a repaired frame and individual gets
    the ``id_swap`` flag; its position, confidence and flags move with it.

    Parameters
    ----------
    ds : xarray.Dataset
        Poses with two or more individuals (one: returned unchanged).
    max_age : int or str
        Oldest "last seen" position compared (frames or ``"0.5s"``).
    ratio : float
        How much cheaper (as a fraction of keeping) a swap must be; in (0, 1].
    min_distance : float, optional
        Least saving per moved track, in position units. Default: 3 times the median
        frame-to-frame keypoint motion (so jitter alone never makes a swap).
    chunk : int
        Frames per block of the vectorised distance computation (memory).

    Returns
    -------
    xarray.Dataset
        The repaired poses, with ``flag`` and a log line (number of events and repaired frames).

    Raises
    ------
    ParameterError
        ``ratio`` outside (0, 1].

    Notes
    -----
    Evidence comes from frames where the animals are seen on both sides of the event; a swap made
    while one animal is hidden longer than ``max_age`` is not seen. Two animals that overlap
    completely look the same either way and are left as they are.
    """
    from scipy.optimize import linear_sum_assignment

    if not 0 < ratio <= 1:
        raise ParameterError(f"ratio={ratio!r}: give a fraction in (0, 1] (0.5: a swap must halve the cost).")
    n = ds.sizes["individual"]
    if n < 2:
        return append_log(ds, "preprocess.repair_identity_swaps: one individual; nothing to repair")
    age = to_frames(ds, max_age, "max_age", minimum=1)
    ds = ensure_flags(ds)
    pos = position_array(ds)
    n_t = pos.shape[0]
    missing = point_missing(pos)  # (time, keypoint, individual)
    last = fill_index(~missing, forward=True)
    prev = np.concatenate([np.full((1,) + last.shape[1:], -1), last[:-1]])
    stale = (prev < 0) | (np.arange(n_t)[:, None, None] - prev > age)

    cost = np.full((n_t, n, n), np.nan)  # cost[t, now, before]
    for a in range(0, n_t, chunk):
        b = min(a + chunk, n_t)
        p = pos[a:b]
        idx = np.maximum(prev[a:b], 0)[:, None]  # (time, 1, keypoint, individual)
        before = np.take_along_axis(pos, np.broadcast_to(idx, (b - a,) + pos.shape[1:]), axis=0)
        before[np.broadcast_to(stale[a:b, None], before.shape)] = np.nan
        d = np.sqrt(np.sum((p[..., :, None] - before[..., None, :]) ** 2, axis=1))  # (time, keypoint, now, before)
        cost[a:b] = nanmedian_axis(d, axis=1)
    diag = np.einsum("tii->ti", cost)
    if min_distance is not None:
        floor = float(min_distance)
    else:  # a few times the typical frame-to-frame motion of a keypoint
        floor = 3 * float(np.nanmedian(diag)) if np.isfinite(diag).any() else 0.0
    off = np.where(np.eye(n, dtype=bool), np.inf, np.nan_to_num(cost, nan=np.inf))
    cand = np.flatnonzero((np.isfinite(diag) & (off.min(axis=2) < ratio * diag)).any(axis=1))

    events = []  # (frame, mapping before-track -> now-track)
    for t in cand:
        seen = np.flatnonzero(np.isfinite(diag[t]))
        if len(seen) < 2:
            continue
        sub = np.nan_to_num(cost[t][np.ix_(seen, seen)], nan=_BIG)
        r, c = linear_sum_assignment(sub)
        keep, new = float(np.trace(sub)), float(sub[r, c].sum())
        moved = int((r != c).sum())
        if moved and new < ratio * keep and keep - new > floor * moved:
            m = np.arange(n)
            m[seen[c]] = seen[r]  # the animal on track seen[c] before is on track seen[r] now
            events.append((int(t), m))

    # identity -> raw track per frame, composed event by event
    cur = np.arange(n)
    starts, perms = [0], [cur.copy()]
    for t, m in events:
        cur = m[cur]
        starts.append(t)
        perms.append(cur.copy())
    lengths = np.diff(np.r_[starts, n_t])
    src = np.repeat(np.array(perms), lengths, axis=0)  # (time, identity): raw track
    counts = np.zeros((n, n))
    np.add.at(counts, (np.repeat(np.arange(n)[None], n_t, 0).ravel(), src.ravel()), 1)
    rows, cols = linear_sum_assignment(-counts)  # identity rows[j] reads best as raw track cols[j]
    relabel = np.empty(n, dtype=np.int64)
    relabel[cols] = rows
    src = src[:, relabel]  # output individual r takes raw track src[t, r]
    changed = src != np.arange(n)[None]  # (time, individual)
    out = _gather(ds, src, list(range(n)), [str(i) for i in ds["individual"].values])
    flag = out["flag"].transpose(*FLAG_DIMS).values
    out["flag"] = (FLAG_DIMS, flag | np.where(changed[:, None, :], ID_SWAP, 0).astype(np.uint8), ds["flag"].attrs)
    return append_log(out, f"preprocess.repair_identity_swaps: max_age={age} frames, ratio={ratio}, "
                           f"min_distance={floor:.3g}; {len(events)} swap events, {int(changed.any(axis=1).sum())} "
                           f"frames repaired ({100 * changed.any(axis=1).mean():.2f} %)")


def score_stitching(stitched: xr.Dataset, truth: pd.DataFrame) -> dict[str, float]:
    """How well :func:`stitch_tracks` recovered the animals of fragmented tracks with known truth.

    Parameters
    ----------
    stitched : xarray.Dataset
        The output of :func:`stitch_tracks`.
    truth : pandas.DataFrame
        One row per input track: track, start, stop (frame indices, stop exclusive), individual
        (the animal; "" for a false track), as :func:`behavnb.synth.noise.fragment_tracks` returns.

    Returns
    -------
    dict
        ``accuracy``: fraction of the frames in which an animal has a true fragment that end up in
        the identity matched to that animal (identities matched to animals by most shared frames);
        ``spurious_kept``: fraction of false-track frames kept in some identity; ``identities``.
    """
    from scipy.optimize import linear_sum_assignment

    frag = stitch_table(stitched, per="fragment")
    n_t = stitched.sizes["time"]
    idents = [str(i) for i in stitched["individual"].values]
    real = truth[truth["individual"] != ""]
    animals = sorted(real["individual"].unique())
    cover = np.zeros((n_t, len(animals)), bool)
    for r in real.itertuples():
        cover[r.start:r.stop, animals.index(r.individual)] = True
    animal_of = dict(zip(truth["track"], truth["individual"], strict=True))
    label = np.full((n_t, len(idents)), -2)  # -2: nothing, -1: a false track, else the animal
    for r in frag[frag["identity"] != ""].itertuples():
        a = animal_of.get(r.track, "")
        label[r.start:r.stop, idents.index(r.identity)] = animals.index(a) if a else -1
    shared = np.array([[np.sum((label[:, k] == j) & cover[:, j]) for j in range(len(animals))]
                       for k in range(len(idents))])
    rows, cols = linear_sum_assignment(-shared)
    false = truth[truth["individual"] == ""]
    false_frames = int((false["stop"] - false["start"]).sum())
    return {"accuracy": float(shared[rows, cols].sum() / max(cover.sum(), 1)),
            "spurious_kept": float((label == -1).sum() / false_frames) if false_frames else float("nan"),
            "identities": len(idents)}
