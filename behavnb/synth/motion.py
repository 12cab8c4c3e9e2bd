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
    border_px: float = 100.0  # wide enough that a tail reaching over the wall stays in the image
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
                   rng: np.random.Generator, start: tuple[np.ndarray, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Centre (time, 2) in cm and heading (time,) in rad; turns away from walls.

    ``start`` is the (centre, heading) just before the first frame; default a random place.
    Modifies ``series['omega']`` and ``series['speed']`` in place where the animal steers off a wall,
    so that body bend and the recorded truth follow what the animal really did.
    """
    omega, speed = series["omega"], series["speed"]
    n_t = len(omega)
    lo, hi = arena.margin_cm, arena.size_cm - arena.margin_cm
    centre_xy = np.full(2, arena.size_cm / 2)
    pos = np.empty((n_t, 2))
    heading = np.empty(n_t)
    if start is None:
        p, th = rng.uniform(lo + 5, hi - 5, 2), rng.uniform(-np.pi, np.pi)
    else:
        p, th = np.asarray(start[0], dtype=float), float(start[1])
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


SOCIAL = ("none", "approach", "follow", "nose_to_nose")


def social_episodes(n_frames: int, fps: float, rng: np.random.Generator, mean_gap_s: float = 12.0
                    ) -> list[tuple[int, int, str]]:
    """(start, end, kind) of social episodes: approach, follow or nose-to-nose, separated by own behaviour."""
    span = {"approach": (2.0, 4.0), "follow": (3.0, 6.0), "nose_to_nose": (2.5, 4.5)}
    out, t = [], int(rng.exponential(mean_gap_s) * fps)
    while t < n_frames - fps:
        kind = SOCIAL[1 + int(rng.integers(3))]
        length = int(rng.uniform(*span[kind]) * fps)
        out.append((t, min(t + length, n_frames), kind))
        t += length + int((2.0 + rng.exponential(mean_gap_s)) * fps)
    return out


#: the fastest a follower turns during a social episode, rad/s (about a turn motif's rate): faster
#: turning would bend the body (curvature follows the turning rate) into a coil
SOCIAL_TURN_RATE = 3.5
#: how far behind the (lagged) leader a follower keeps, in body lengths, and the lag, s
FOLLOW_STANDOFF, FOLLOW_LAG_S = 1.0, 0.5


def social_path(kind: str, leader: dict[str, np.ndarray], a: int, b: int, p0: np.ndarray, th0: float,
                body_length: float, fps: float, arena: Arena) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The follower's centre, heading and 'in contact' mask for frames a..b of a social episode.

    approach: move to a point beside the leader's head and stop there, facing it;
    follow: trail the leader's path, about one body length behind where the leader was half a second
    ago (a stand-off: the follower never walks onto the leader), facing the leader's tail base;
    nose_to_nose: come round to face the leader, noses almost touching.
    Positions are built from the leader's known path (vectorised); blending from the follower's own
    state keeps the path continuous. Heading turns towards what the follower faces at no more than
    ``SOCIAL_TURN_RATE``, and holds where that target is too close to give a direction.
    """
    idx = np.arange(a, b)
    n = b - a
    l_centre, l_heading = leader["centre"][idx], leader["heading"][idx]
    l_dir = np.stack([np.cos(l_heading), np.sin(l_heading)], axis=1)
    l_nose = l_centre + 0.5 * body_length * l_dir
    if kind == "follow":
        lag = np.maximum(idx - int(round(FOLLOW_LAG_S * fps)), 0)
        lag_dir = np.stack([np.cos(leader["heading"][lag]), np.sin(leader["heading"][lag])], axis=1)
        target = leader["centre"][lag] - FOLLOW_STANDOFF * body_length * lag_dir
        face = l_centre - 0.45 * body_length * l_dir  # the leader's tail base
        ramp = 1.0 * fps
    elif kind == "approach":
        side = p0 - l_centre[0]
        side = side / max(np.linalg.norm(side), 1e-6)
        target = l_nose + side * 0.9 * body_length
        face = l_nose
        ramp = 0.6 * n
    else:  # nose_to_nose
        target = l_nose + l_dir * 0.55 * body_length
        face = l_nose
        ramp = 0.6 * n
    tau = np.clip(np.arange(n) / max(ramp, 1), 0, 1)
    w = (tau * tau * (3 - 2 * tau))[:, None]  # smoothstep
    pos = (1 - w) * p0 + w * target
    if kind == "follow":  # where the leader stops or turns back, keep the stand-off rather than walk onto it
        away = pos - l_centre
        dist = np.linalg.norm(away, axis=1, keepdims=True)
        away = np.where(dist > 1e-6, away / np.maximum(dist, 1e-6), -l_dir)
        pos = np.where(dist < 0.8 * body_length, l_centre + 0.8 * body_length * away, pos)
    lo, hi = arena.margin_cm, arena.size_cm - arena.margin_cm
    np.clip(pos, lo, hi, out=pos)  # no squeezing through walls
    if kind == "follow":  # a leader by a wall or in a corner: the nearest stand-off point inside the arena
        close = np.flatnonzero(np.linalg.norm(pos - l_centre, axis=1) < 0.75 * body_length)
        if close.size:
            ang = np.linspace(-np.pi, np.pi, 24, endpoint=False)
            ring = l_centre[close, None] + 0.8 * body_length * np.stack([np.cos(ang), np.sin(ang)], axis=-1)
            cost = np.linalg.norm(ring - pos[close, None], axis=-1) + 1e6 * ((ring < lo) | (ring > hi)).any(axis=-1)
            pos[close] = np.clip(ring[np.arange(close.size), np.argmin(cost, axis=1)], lo, hi)
    to_face = face - pos
    want = np.arctan2(to_face[:, 1], to_face[:, 0])
    near = np.linalg.norm(to_face, axis=1) < 0.1 * body_length  # no usable direction: keep the heading
    heading = np.empty(n)
    th, step = float(th0), SOCIAL_TURN_RATE / fps
    for i in range(n):  # rate-limited turning is sequential; episodes are a few seconds long
        if not near[i]:
            th += float(np.clip((want[i] - th + np.pi) % (2 * np.pi) - np.pi, -step, step))
        heading[i] = th
    contact = (w[:, 0] >= 1.0) & (kind != "follow")
    return pos, heading, contact
