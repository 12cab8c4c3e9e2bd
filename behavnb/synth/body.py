"""The synthetic mouse's body: keypoints in the body frame, posed by per-frame kinematic parameters,
then placed in the arena. Everything is vectorised over frames.

Body frame: x forward (towards the nose), y to the animal's left, z up; centimetres, origin at the
mid-spine. The arena frame has y pointing up (a top-view camera that is not mirrored).
"""

from __future__ import annotations

import numpy as np

#: keypoint -> (x, y, z) at rest, cm
SKELETON = {
    "nose": (4.6, 0.0, 1.3),
    "ear_left": (3.1, 0.95, 2.1),
    "ear_right": (3.1, -0.95, 2.1),
    "neck": (2.5, 0.0, 2.4),
    "mid_spine": (0.0, 0.0, 3.0),
    "hip_left": (-1.9, 1.15, 2.4),
    "hip_right": (-1.9, -1.15, 2.4),
    "tail_base": (-3.8, 0.0, 1.6),
    "tail_mid": (-7.3, 0.0, 0.4),
    "tail_tip": (-10.8, 0.0, 0.1),
}
PAWS = {
    "paw_front_left": (2.0, 1.0, 0.0),
    "paw_front_right": (2.0, -1.0, 0.0),
    "paw_hind_left": (-2.4, 1.35, 0.0),
    "paw_hind_right": (-2.4, -1.35, 0.0),
}
#: left/right pairs (for swaps and for checks)
LR_PAIRS = [("ear_left", "ear_right"), ("hip_left", "hip_right"), ("paw_front_left", "paw_front_right"),
            ("paw_hind_left", "paw_hind_right")]
HEAD = ("nose", "ear_left", "ear_right")
NECK_X = 2.5
#: gait phase of each paw: a trot, diagonal pairs together
_PAW_PHASE = {"paw_front_left": 0.0, "paw_hind_right": 0.0, "paw_front_right": np.pi, "paw_hind_left": np.pi}


def keypoint_names(paws: bool = True) -> list[str]:
    return list(SKELETON) + (list(PAWS) if paws else [])


def pose_body_frame(params: dict[str, np.ndarray], phases: dict[str, np.ndarray], body_scale: float,
                    paws: bool = True) -> np.ndarray:
    """Keypoints in the body frame, (time, keypoint, 3), from kinematic parameter series.

    params: ``speed`` (cm/s), ``omega`` (rad/s), ``pitch`` (rad), ``groom``, ``scan``, ``gait`` (0-1).
    phases: ``gait``, ``groom``, ``scan``, ``breath`` (rad), running phases of the rhythms.
    """
    names = keypoint_names(paws)
    rest = np.array([SKELETON.get(n) or PAWS[n] for n in names], dtype=float)  # (K, 3)
    t_len = len(params["speed"])
    x = np.broadcast_to(rest[:, 0], (t_len, len(names))).copy()
    y = np.broadcast_to(rest[:, 1], (t_len, len(names))).copy()
    z = np.broadcast_to(rest[:, 2], (t_len, len(names))).copy()
    idx = {n: i for i, n in enumerate(names)}
    head = [idx[n] for n in HEAD]
    col = lambda a: a[:, None]  # noqa: E731

    # breathing: the flanks move in and out a little, always
    y *= 1 + 0.03 * col(np.sin(phases["breath"]))

    # gait: paws step back and forth, hips sway, the tail swings
    g = params["gait"] * np.clip(params["speed"] / 10.0, 0.3, 2.0)
    if paws:
        for n, ph in _PAW_PHASE.items():
            x[:, idx[n]] += 0.9 * g * np.sin(phases["gait"] + ph)
            z[:, idx[n]] += 0.4 * g * np.clip(np.cos(phases["gait"] + ph), 0, None)
    for n in ("hip_left", "hip_right"):
        y[:, idx[n]] += 0.2 * g * np.sin(phases["gait"])

    # head scan (sniffing): the head sweeps about the neck, the nose twitches
    yaw = 0.55 * params["scan"] * np.sin(phases["scan"]) + 0.05 * params["scan"] * np.sin(3.7 * phases["scan"])
    hx, hy = x[:, head] - NECK_X, y[:, head]
    c, s = col(np.cos(yaw)), col(np.sin(yaw))
    x[:, head], y[:, head] = NECK_X + c * hx - s * hy, s * hx + c * hy

    # grooming: the head tucks in, the nose and front paws move rhythmically near the face
    gr = col(params["groom"])
    anterior = rest[:, 0] > 0
    x[:, anterior] *= 1 - 0.3 * gr
    z[:, head] -= 0.6 * gr
    stroke = np.sin(phases["groom"])
    x[:, idx["nose"]] += 0.35 * params["groom"] * stroke
    y[:, idx["nose"]] += 0.3 * params["groom"] * np.cos(phases["groom"])
    if paws:
        for n, side in (("paw_front_left", 1), ("paw_front_right", -1)):
            reach = params["groom"] * (0.6 + 0.4 * np.sin(phases["groom"] + (0 if side > 0 else np.pi)))
            x[:, idx[n]] += reach * (x[:, idx["nose"]] - 0.6 - x[:, idx[n]])
            y[:, idx[n]] += reach * (side * 0.4 - y[:, idx[n]])
            z[:, idx[n]] += reach * 1.2

    # rearing: the front of the body pitches up; from above it shortens, in 3D the nose and neck rise
    p = col(params["pitch"])
    xa = x[:, anterior]
    x[:, anterior] = xa * np.cos(p)
    z[:, anterior] += xa * np.sin(p)

    # turning bends the spine into an arc (curvature follows the turning rate), walking undulates it
    kappa = 0.035 * params["omega"] + 0.012 * g * np.sin(phases["gait"] + np.pi / 2)
    a = col(kappa) * x
    sx = x * np.sinc(a / np.pi)
    sy = x * (a / 2) * np.sinc(a / (2 * np.pi)) ** 2
    x, y = sx - y * np.sin(a), sy + y * np.cos(a)
    return np.stack([x, y, z], axis=-1) * body_scale


def place(body: np.ndarray, centre: np.ndarray, heading: np.ndarray) -> np.ndarray:
    """Rotate body-frame keypoints by the heading and move them to the centre: (time, keypoint, 3)."""
    c, s = np.cos(heading)[:, None], np.sin(heading)[:, None]
    x = centre[:, 0:1] + c * body[..., 0] - s * body[..., 1]
    y = centre[:, 1:2] + s * body[..., 0] + c * body[..., 1]
    return np.stack([x, y, body[..., 2]], axis=-1)
