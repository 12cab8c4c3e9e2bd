"""Tracking noise like real DeepLabCut/SLEAP output, with a record of every corruption.

Applied in image pixels to ``position (time, space, keypoint, individual)``:

- jitter: Gaussian, larger for paws and the tail tip;
- likelihood: high for well-visible points, lower and more spread for paws;
- occlusions: episodes where a point is lost (likelihood < 0.1; position NaN, or (0, 0) like
  DeepLabCut writes);
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

    @classmethod
    def none(cls) -> NoiseSpec:
        return cls(0.0, 0.0, 0.0, 0.0, (1, 1), 0.0, (1, 1), (0.0, 0.0), 0.0, (1, 1), 0.0, (1, 1), "nan")


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
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Noisy ``position`` (time, space, keypoint, individual) in px, its likelihood and corruption codes."""
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
    drop = _episodes(rng, (n_t, n_k, n_i), rate, spec.dropout_frames)
    t, k, i = np.nonzero(drop)
    pos[t, :, k, i] = 0.0 if spec.missing == "zeros" else np.nan
    lik[drop] = rng.uniform(0.0, 0.08, drop.sum())
    code[drop] = DROPOUT
    return pos, lik, code
