"""From motif bouts to movement: per-frame kinematic series, and the path through the arena.

Targets are set per bout (each bout draws its own speed and turning rate around the motif's), blended
across bout edges with a short moving average, and integrated into heading and position. The animal
turns away from walls: when a bout would take it within ``margin`` of a wall, it turns towards the
arena centre there and carries on. The path is integrated bout by bout (vectorised inside a bout),
because where a bout starts depends on where the last one ended.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import uniform_filter1d

from behavnb.synth.programs import KINEMATICS, MOTIFS, PARAMS, AnimalProgram

GAIT_HZ = (2.0, 0.12)  # gait frequency = a + b * speed (cm/s)
GROOM_HZ, SCAN_HZ, BREATH_HZ = 5.0, 1.3, 2.5
TURN_AWAY_RATE = 5.0  # rad/s when steering away from a wall


@dataclass
class Arena:
    """A square open field, in cm, with its camera mapping to pixels."""

    size_cm: float = 50.0
    px_per_cm: float = 8.0
    border_px: float = 40.0
    margin_cm: float = 4.0

    @property
    def image_px(self) -> float:
        return self.size_cm * self.px_per_cm + 2 * self.border_px

    def to_pixels(self, xy: np.ndarray) -> np.ndarray:
        """Arena cm (y up) -> image px (y down), for arrays whose last axis is (x, y[, z])."""
        out = xy * self.px_per_cm
        out[..., 0] += self.border_px
        out[..., 1] = self.image_px - self.border_px - out[..., 1]
        return out


def kinematic_series(program: AnimalProgram, motifs: np.ndarray, lengths: np.ndarray, fps: float,
                     rng: np.random.Generator, blend_s: float = 0.15) -> dict[str, np.ndarray]:
    """Per-frame targets for every kinematic parameter, with per-bout variation, smoothly blended."""
    table = np.array([[KINEMATICS[m][p] for p in PARAMS] for m in MOTIFS])  # (motif, param)
    per_bout = table[motifs].copy()
    n = len(motifs)
    sp, om = PARAMS.index("speed"), PARAMS.index("omega")
    per_bout[:, sp] *= program.speed_factor[motifs] * np.exp(rng.normal(0, 0.15, n))
    per_bout[:, om] *= np.exp(rng.normal(0, 0.2, n))
    wander = np.isin(motifs, [MOTIFS.index("walk"), MOTIFS.index("run")])
    per_bout[wander, om] += rng.normal(0, 0.35, wander.sum())  # walks curve gently
    per_bout[:, PARAMS.index("pitch")] *= np.exp(rng.normal(0, 0.1, n))
    frames = np.repeat(per_bout, lengths, axis=0)
    width = max(1, int(round(blend_s * fps)))
    frames = uniform_filter1d(frames, size=width, axis=0, mode="nearest")
    return {p: frames[:, i] for i, p in enumerate(PARAMS)}


def rhythm_phases(series: dict[str, np.ndarray], fps: float, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Running phases of the gait, grooming, head-scan and breathing rhythms (no jumps at bout edges)."""
    gait_hz = GAIT_HZ[0] + GAIT_HZ[1] * series["speed"]
    start = rng.uniform(0, 2 * np.pi, 4)
    step = 2 * np.pi / fps
    return {
        "gait": start[0] + np.cumsum(gait_hz * step),
        "groom": start[1] + GROOM_HZ * step * np.arange(len(gait_hz)),
        "scan": start[2] + SCAN_HZ * step * np.arange(len(gait_hz)),
        "breath": start[3] + BREATH_HZ * step * np.arange(len(gait_hz)),
    }


def integrate_path(series: dict[str, np.ndarray], lengths: np.ndarray, fps: float, arena: Arena,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Centre (time, 2) in cm and heading (time,) in rad; turns away from walls.

    Modifies ``series['omega']`` and ``series['speed']`` in place where the animal steers off a wall,
    so that body bend and the recorded truth follow what the animal really did.
    """
    omega, speed = series["omega"], series["speed"]
    n_t = len(omega)
    lo, hi = arena.margin_cm, arena.size_cm - arena.margin_cm
    centre_xy = np.full(2, arena.size_cm / 2)
    pos = np.empty((n_t, 2))
    heading = np.empty(n_t)
    p = rng.uniform(lo + 5, hi - 5, 2)
    th = rng.uniform(-np.pi, np.pi)
    bounds = np.cumsum(lengths)
    i, b, steered_at = 0, 0, -1
    while i < n_t:
        while bounds[b] <= i:
            b += 1
        j = int(bounds[b])
        th_seg = th + np.cumsum(omega[i:j]) / fps
        step = speed[i:j, None] / fps * np.stack([np.cos(th_seg), np.sin(th_seg)], axis=1)
        p_seg = p + np.cumsum(step, axis=0)
        out = ((p_seg < lo) | (p_seg > hi)).any(axis=1)
        k = int(np.argmax(out)) if out.any() else j - i
        if k < j - i and steered_at != i + k:
            heading[i:i + k], pos[i:i + k] = th_seg[:k], p_seg[:k]
            if k:
                th, p = th_seg[k - 1], p_seg[k - 1]
            i += k
            # turn towards the centre, quickly, slowing down meanwhile
            target = np.arctan2(*(centre_xy - p)[::-1])
            turn = (target - th + np.pi) % (2 * np.pi) - np.pi
            n_turn = max(2, int(np.ceil(abs(turn) / TURN_AWAY_RATE * fps)))
            omega[i:i + n_turn] = turn * fps / n_turn
            speed[i:i + n_turn] *= 0.3
            steered_at = i
            continue
        heading[i:j], pos[i:j] = th_seg, p_seg
        th, p, i = th_seg[-1], p_seg[-1], j
    np.clip(pos, 0.5, arena.size_cm - 0.5, out=pos)  # the walls themselves are never crossed
    return pos, heading
