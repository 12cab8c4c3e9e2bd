"""From motif bouts to movement: per-frame kinematic series, and the path through the arena.

Part of ``synth`` (synthetic cohorts with ground truth, beside the run layer).

Body-model parameters are set per bout (each bout draws its own, :mod:`behavnb.synth.behaviours`),
blended across bout edges with a short moving average; speed and turning rate are integrated into
heading and position. When a bout would take the animal within ``margin`` of a wall, it turns along the
wall there, veering slightly inwards, and carries on at most of its pace (thigmotaxis). The path is integrated
bout by bout (vectorised inside a bout), because where a bout starts depends on where the last one ended.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import uniform_filter1d

from behavnb.synth.behaviours import PARAMS, bout_parameters
from behavnb.synth.body import stride_hz
from behavnb.synth.programs import MOTIFS, AnimalProgram

TURN_AWAY_RATE = 5.0  # rad/s when steering away from a wall
WALL_VEER, WALL_PACE = 0.35, 0.8  # at a wall: rad inwards from the wall's direction; fraction of the speed kept
#: the rhythms of the body model and the parameter that sets each one's frequency (Hz)
RHYTHMS = {"scan": "scan_hz", "sniff": "sniff_hz", "groom": "groom_hz", "lick": "lick_hz", "breath": "breath_hz"}


@dataclass
class Camera:
    """One session's top-view camera: its scale and where the arena sits in the image (pixels, y down)."""

    px_per_cm: float
    left_px: float  # image x of the arena's left wall
    bottom_px: float  # image y of the arena's bottom wall (larger y is lower in the image)
    image_px: float  # the image is square, this many pixels a side

    def to_pixels(self, xy: np.ndarray) -> np.ndarray:
        """Arena cm (y up) -> image px (y down), for arrays whose last axis is (x, y[, z]); z is scaled."""
        out = xy * self.px_per_cm
        out[..., 0] += self.left_px
        out[..., 1] = self.bottom_px - out[..., 1]
        return out

    def arena_box(self, size_cm: float) -> dict[str, float]:
        """The arena's walls in image pixels, as the sessions table and the registry give an arena."""
        return {"xmin": round(self.left_px, 3), "ymin": round(self.bottom_px - size_cm * self.px_per_cm, 3),
                "xmax": round(self.left_px + size_cm * self.px_per_cm, 3), "ymax": round(self.bottom_px, 3)}


@dataclass
class Arena:
    """A square open field, in cm, and the cameras that film it: ``px_per_cm`` and ``border_px`` are the
    nominal camera; each session's camera differs in scale by up to ``scale_jitter`` (a fraction) and in
    placement by up to ``offset_px``, as cameras moved or refocused between sessions do."""

    size_cm: float = 50.0
    px_per_cm: float = 8.0
    border_px: float = 100.0
    margin_cm: float = 4.0
    image_px: float = 640.0  # wide enough for the largest arena placement with a tail over the wall
    scale_jitter: float = 0.15
    offset_px: float = 40.0

    def nominal(self) -> Camera:
        return Camera(self.px_per_cm, self.border_px, self.border_px + self.size_cm * self.px_per_cm, self.image_px)

    def camera(self, rng: np.random.Generator) -> Camera:
        """A session's camera, drawn around the nominal one."""
        scale = self.px_per_cm * (1 + self.scale_jitter * rng.uniform(-1, 1))
        dx, dy = self.offset_px * rng.uniform(-1, 1, 2)
        top = self.border_px + dy  # image y of the arena's top wall
        return Camera(float(scale), float(self.border_px + dx), float(top + self.size_cm * scale), self.image_px)


def kinematic_series(program: AnimalProgram, motifs: np.ndarray, lengths: np.ndarray, fps: float,
                     rng: np.random.Generator, blend_s: float = 0.15) -> dict[str, np.ndarray]:
    """Per-frame body-model parameters: each bout draws its own (:mod:`behavnb.synth.behaviours`), scaled
    by the animal's speed factors, then smoothly blended across bout edges."""
    per_bout = bout_parameters(motifs, MOTIFS, rng)
    per_bout[:, PARAMS.index("speed")] *= program.speed_factor[motifs]
    frames = np.repeat(per_bout, lengths, axis=0)
    width = max(1, int(round(blend_s * fps)))
    frames = uniform_filter1d(frames, size=width, axis=0, mode="nearest")
    return {p: frames[:, i] for i, p in enumerate(PARAMS)}


def rhythm_phases(series: dict[str, np.ndarray], fps: float, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Running phases (rad) of the gait and of every other rhythm: the integral of its frequency, so a
    frequency that changes at a bout edge never makes the phase jump."""
    hz = {"gait": stride_hz(series["speed"]) * (series["gait"] > 0), **{k: series[p] for k, p in RHYTHMS.items()}}
    start = rng.uniform(0, 2 * np.pi, len(hz))
    return {k: start[i] + np.cumsum(2 * np.pi * f / fps) for i, (k, f) in enumerate(hz.items())}


def integrate_path(series: dict[str, np.ndarray], lengths: np.ndarray, fps: float, arena: Arena,
                   rng: np.random.Generator, start: tuple[np.ndarray, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Centre (time, 2) in cm and heading (time,) in rad; turns along walls.

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
            # meeting a wall, a mouse turns along it (thigmotaxis) and keeps most of its pace, veering a little
            # inwards so that it leaves the wall again; in a corner it turns out along the corner's diagonal
            inward = np.zeros(2)  # the inward normal of the wall(s) it would cross
            q = p_seg[k]
            inward[0] = float(q[0] < lo) - float(q[0] > hi)
            inward[1] = float(q[1] < lo) - float(q[1] > hi)
            inward = inward / np.linalg.norm(inward) if inward.any() else (centre_xy - p) / np.linalg.norm(centre_xy - p)
            along = np.array([-inward[1], inward[0]])
            if along @ np.array([np.cos(th), np.sin(th)]) < 0:
                along = -along
            direction = along * np.cos(WALL_VEER) + inward * np.sin(WALL_VEER)
            target = np.arctan2(direction[1], direction[0])
            turn = (target - th + np.pi) % (2 * np.pi) - np.pi
            n_turn = max(2, int(np.ceil(abs(turn) / TURN_AWAY_RATE * fps)))
            omega[i:i + n_turn] = turn * fps / n_turn
            speed[i:i + n_turn] *= WALL_PACE
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
