"""Tracking noise like real DeepLabCut/SLEAP output, with a record of every corruption.

Part of ``synth`` (synthetic cohorts with ground truth, beside the run layer).

Applied in image pixels to ``position (time, space, keypoint, individual)``:

- jitter: Gaussian, larger for paws and the tail tip;
- likelihood: high for well-visible points, lower and more spread for paws;
- occlusions: episodes where a point is lost (likelihood < 0.1; position NaN, or (0, 0) like
  DeepLabCut writes), more often where the posture hides it (forepaws under a rearing mouse's head);
- jumps: a point detected far from where it is, with middling likelihood, for a few frames;
- left/right swaps of paired keypoints; identity swaps between animals (multi-animal).

The corruption codes (``CLEAN, DROPOUT, JUMP, LR_SWAP, ID_SWAP``) let later steps measure how well
their filters find them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CLEAN, DROPOUT, JUMP, LR_SWAP, ID_SWAP = 0, 1, 2, 3, 4
CODES = {DROPOUT: "dropout", JUMP: "jump", LR_SWAP: "lr_swap", ID_SWAP: "id_swap"}
_HARD = ("paw", "tail_tip")


@dataclass
class NoiseSpec:
    """Rates are per point and frame (events start), durations in frames."""

    jitter_px: float = 0.8
    jitter_hard_px: float = 1.6
    dropout_rate: float = 0.0015
    dropout_hard_rate: float = 0.006
    dropout_frames: tuple[int, int] = (2, 30)
    jump_rate: float = 0.0008
    jump_frames: tuple[int, int] = (1, 3)
    jump_px: tuple[float, float] = (25.0, 120.0)
    lr_swap_rate: float = 0.0006
    lr_swap_frames: tuple[int, int] = (2, 12)
    id_swap_rate: float = 0.0004
    id_swap_frames: tuple[int, int] = (5, 40)
    missing: str = "zeros"  # "zeros" (DeepLabCut style) or "nan"
    posture_occlusion: float = 1.0  # factor on the occlusions a posture causes (0: none)

    @classmethod
    def none(cls) -> NoiseSpec:
        return cls(0.0, 0.0, 0.0, 0.0, (1, 1), 0.0, (1, 1), (0.0, 0.0), 0.0, (1, 1), 0.0, (1, 1), "nan", 0.0)


def _episodes(rng: np.random.Generator, shape: tuple[int, ...], rate: np.ndarray | float,
              frames: tuple[int, int]) -> np.ndarray:
    """Boolean (time, ...) mask of episodes that start at ``rate`` per frame and last ``frames`` (uniform)."""
    n_t = shape[0]
    starts = rng.random(shape) < rate
    t_idx, *rest = np.nonzero(starts)
    length = rng.integers(frames[0], frames[1] + 1, len(t_idx))
    count = np.zeros((n_t + 1, *shape[1:]), dtype=np.int32)
    np.add.at(count, (t_idx, *rest), 1)
    np.add.at(count, (np.minimum(t_idx + length, n_t), *rest), -1)
    return np.cumsum(count, axis=0)[:n_t] > 0


def corrupt(position: np.ndarray, keypoints: list[str], pairs: list[tuple[str, str]], spec: NoiseSpec,
            rng: np.random.Generator, hidden: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Noisy ``position`` (time, space, keypoint, individual) in px, its likelihood and corruption codes.

    ``hidden`` (time, keypoint, individual): extra occlusion episode start rates per frame from the posture
    (scaled by ``spec.posture_occlusion``).
    """
    n_t, n_s, n_k, n_i = position.shape
    hard = np.array([any(h in k for h in _HARD) for k in keypoints])
    pos = position.copy()
    code = np.zeros((n_t, n_k, n_i), dtype=np.int8)

    if n_i > 1 and spec.id_swap_rate > 0:  # identity swaps: animals 0 and 1 trade every keypoint
        swap = _episodes(rng, (n_t,), spec.id_swap_rate, spec.id_swap_frames)
        pos[swap, :, :, 0], pos[swap, :, :, 1] = position[swap, :, :, 1], position[swap, :, :, 0]
        code[swap, :, :2] = ID_SWAP
    idx = {k: i for i, k in enumerate(keypoints)}
    for a, b in pairs:  # left/right swaps
        if a in idx and b in idx and spec.lr_swap_rate > 0:
            ia, ib = idx[a], idx[b]
            swap = _episodes(rng, (n_t, n_i), spec.lr_swap_rate, spec.lr_swap_frames)
            t, i = np.nonzero(swap)
            pa, pb = pos[t, :, ia, i].copy(), pos[t, :, ib, i].copy()
            pos[t, :, ia, i], pos[t, :, ib, i] = pb, pa
            code[t, ia, i] = code[t, ib, i] = LR_SWAP

    sd = np.where(hard, spec.jitter_hard_px, spec.jitter_px)[None, None, :, None]
    pos += rng.normal(0, 1, pos.shape) * sd
    lik = np.where(hard[None, :, None], 1 - rng.beta(1.5, 10, (n_t, n_k, n_i)), 1 - rng.beta(1, 60, (n_t, n_k, n_i)))

    jump = _episodes(rng, (n_t, n_k, n_i), spec.jump_rate, spec.jump_frames) & (code == CLEAN)
    t, k, i = np.nonzero(jump)
    angle = rng.uniform(0, 2 * np.pi, len(t))
    dist = rng.uniform(*spec.jump_px, len(t))
    pos[t, 0, k, i] += dist * np.cos(angle)
    pos[t, 1, k, i] += dist * np.sin(angle)
    lik[t, k, i] = rng.uniform(0.3, 0.75, len(t))
    code[jump] = JUMP

    rate = np.where(hard, spec.dropout_hard_rate, spec.dropout_rate)[None, :, None]
    if hidden is not None and spec.posture_occlusion > 0:
        rate = rate + spec.posture_occlusion * hidden
    drop = _episodes(rng, (n_t, n_k, n_i), rate, spec.dropout_frames)
    t, k, i = np.nonzero(drop)
    pos[t, :, k, i] = 0.0 if spec.missing == "zeros" else np.nan
    lik[drop] = rng.uniform(0.0, 0.08, drop.sum())
    code[drop] = DROPOUT
    return pos, lik, code


def fragment_tracks(ds, *, break_rate: float = 1 / 150, gap_frames: tuple[int, int] = (1, 10),
                    spurious_rate: float = 0.0, spurious_frames: tuple[int, int] = (3, 20),
                    spurious_offset: tuple[float, float] = (0.3, 1.5), seed: int = 0):
    """Break each animal's track into fragments, as SLEAP/maDLC trackers write them, with the truth.

    Every animal loses its track at ``break_rate`` per frame for ``gap_frames`` frames (the points
    become NaN); each piece between losses becomes its own ``individual`` (``track_0``,
    ``track_1``, ... in a random order, so a track's name says nothing about the animal). With
    ``spurious_rate`` > 0, short false tracks also appear: a copy of an animal's pose shifted by
    ``spurious_offset`` body lengths (a duplicate detection), lasting ``spurious_frames``.

    Parameters
    ----------
    ds : xarray.Dataset
        Poses with one track per animal (e.g. a session of ``make_cohort(animals_per_session=2)``).
    break_rate : float
        Track losses per animal and frame.
    gap_frames : (int, int)
        Range of frames lost at each break (uniform, inclusive).
    spurious_rate : float
        False tracks started per animal and frame.
    spurious_frames : (int, int)
        Range of their lengths.
    spurious_offset : (float, float)
        Range of their distance from the animal, in body lengths.
    seed : int
        Seed of the random draws.

    Returns
    -------
    fragmented : xarray.Dataset
        The same frames with one individual per fragment (position, confidence and any other
        variable with time and individual dimensions; NaN outside the fragment).
    truth : pandas.DataFrame
        One row per fragment: track, start, stop (frame indices, stop exclusive), individual (the
        animal it shows; "" for a spurious track), spurious (bool).
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    names = [str(i) for i in ds["individual"].values]
    pos = ds["position"].transpose("time", "space", "keypoint", "individual").values
    n_t = pos.shape[0]
    pieces = []  # (animal, start, stop, spurious offset or None)
    for i, name in enumerate(names):
        breaks = np.flatnonzero(rng.random(n_t) < break_rate)
        lost = np.zeros(n_t + 1, dtype=np.int32)
        length = rng.integers(gap_frames[0], gap_frames[1] + 1, len(breaks))
        np.add.at(lost, breaks, 1)
        np.add.at(lost, np.minimum(breaks + length, n_t), -1)
        seen = (np.cumsum(lost)[:n_t] == 0) & ~np.isnan(pos[..., i]).any(axis=1).all(axis=1)
        edges = np.flatnonzero(np.diff(np.r_[0, seen.astype(np.int8), 0]))
        pieces += [(i, int(a), int(b), None) for a, b in zip(edges[::2], edges[1::2], strict=True)]
        if spurious_rate > 0:
            body = np.nanmedian(np.linalg.norm(pos[:, :, :, i] - np.nanmedian(pos[:, :, :, i], axis=2)[:, :, None],
                                               axis=1)) * 2
            for a in np.flatnonzero(rng.random(n_t) < spurious_rate):
                b = min(n_t, int(a + rng.integers(spurious_frames[0], spurious_frames[1] + 1)))
                angle = rng.uniform(0, 2 * np.pi)
                shift = np.zeros(pos.shape[1])
                shift[:2] = rng.uniform(*spurious_offset) * body * np.array([np.cos(angle), np.sin(angle)])
                pieces.append((i, int(a), b, shift))
    order = rng.permutation(len(pieces))
    pieces = [pieces[j] for j in order]
    out = ds.isel(individual=[p[0] for p in pieces]).assign_coords(individual=[f"track_{j}" for j in range(len(pieces))])
    for name, var in ds.data_vars.items():
        if "time" not in var.dims or "individual" not in var.dims:
            continue
        arr = out[name].transpose("time", "individual", ...).values.copy()
        keep = np.zeros(arr.shape[:2], dtype=bool)
        for j, (_, a, b, shift) in enumerate(pieces):
            keep[a:b, j] = True
            if shift is not None and name == "position":
                sp = list(out[name].transpose("time", "individual", ...).dims).index("space") - 2
                arr[a:b, j] += np.expand_dims(shift, tuple(range(1, arr.ndim - 2 - sp)))
        fill = np.nan if np.issubdtype(arr.dtype, np.floating) else 0
        arr[~keep] = fill
        out[name] = (("time", "individual", *[d for d in out[name].dims if d not in ("time", "individual")]), arr,
                     var.attrs)
        out[name] = out[name].transpose(*var.dims)
    truth = pd.DataFrame({"track": [f"track_{j}" for j in range(len(pieces))],
                          "start": [p[1] for p in pieces], "stop": [p[2] for p in pieces],
                          "individual": [names[p[0]] if p[3] is None else "" for p in pieces],
                          "spurious": [p[3] is not None for p in pieces]})
    return out, truth


def plant_id_swaps(ds, *, rate: float = 0.001, frames: tuple[int, int] = (30, 300), near: float | None = None,
                   seed: int = 0):
    """Swap whole animals between tracks for stretches of frames, as multi-animal trackers do, with the truth.

    Unlike ``NoiseSpec.id_swap_rate`` (animals 0 and 1, at any moment), each swap here picks a
    pair of animals at random and, with ``near``, starts only where the pair's centres are closer
    than ``near`` (position units): trackers confuse animals that touch. Swaps persist for
    ``frames`` and may overlap (they compose).

    Parameters
    ----------
    ds : xarray.Dataset
        Poses with two or more individuals.
    rate : float
        Swaps started per frame (the expected count is ``rate * n_frames``).
    frames : (int, int)
        Range of swap lengths (uniform, inclusive).
    near : float, optional
        Start swaps only where the two animals' median keypoints are closer than this.
    seed : int
        Seed of the random draws.

    Returns
    -------
    swapped : xarray.Dataset
        ``ds`` with the swapped stretches (every variable with time and individual dimensions).
    truth : pandas.DataFrame
        Columns session, individual, frame, keypoint, kind (``"id_swap"``): every point of every
        track that shows another animal (the layout of a cohort's ``truth_noise``).
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    names = [str(i) for i in ds["individual"].values]
    n_t, n_i = ds.sizes["time"], len(names)
    shown = np.tile(np.arange(n_i), (n_t, 1))  # (time, track): the animal the track shows
    if n_i > 1:
        centre = np.nanmedian(ds["position"].transpose("time", "space", "keypoint", "individual").values, axis=2)
        for _ in range(rng.poisson(rate * n_t)):
            i, j = rng.choice(n_i, 2, replace=False)
            ok = np.ones(n_t, bool)
            if near is not None:
                with np.errstate(invalid="ignore"):
                    ok = np.linalg.norm(centre[:, :, i] - centre[:, :, j], axis=1) < near
            if not ok.any():
                continue
            a = int(rng.choice(np.flatnonzero(ok)))
            b = min(n_t, a + int(rng.integers(frames[0], frames[1] + 1)))
            shown[a:b, [i, j]] = shown[a:b, [j, i]]
    out = ds.copy()
    t_idx = np.arange(n_t)[:, None]
    for name, var in ds.data_vars.items():
        if "time" in var.dims and "individual" in var.dims:
            other = [d for d in var.dims if d not in ("time", "individual")]
            arr = var.transpose("time", "individual", *other).values
            out[name] = (("time", "individual", *other), arr[t_idx, shown], var.attrs)
            out[name] = out[name].transpose(*var.dims)
    t, i = np.nonzero(shown != np.arange(n_i)[None])
    frame_no = ds["frame"].values if "frame" in ds.coords else np.arange(n_t)
    kps = [str(k) for k in ds["keypoint"].values]
    truth = pd.DataFrame({"session": ds.attrs.get("session", ""), "individual": np.repeat(np.array(names)[i], len(kps)),
                          "frame": np.repeat(frame_no[t], len(kps)), "keypoint": np.tile(kps, len(t)), "kind": "id_swap"})
    return out, truth
