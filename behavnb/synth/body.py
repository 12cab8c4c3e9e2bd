"""The synthetic mouse's body: keypoints in the body frame, posed by per-frame kinematic parameters,
then placed in the arena. Everything is vectorised over frames.

Part of ``synth`` (synthetic cohorts with ground truth, beside the run layer).

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
#: phase offsets of the paws (rad) in a trot (diagonal pairs together) and in a half-bound (the hind pair
#: together, the forepaws slightly apart); a gait's ``bound`` parameter moves between the two
_TROT = {"paw_front_left": 0.0, "paw_hind_right": 0.0, "paw_front_right": np.pi, "paw_hind_left": np.pi}
_BOUND = {"paw_front_left": 0.8 * np.pi, "paw_front_right": 1.2 * np.pi, "paw_hind_left": 0.0, "paw_hind_right": 0.0}


def keypoint_names(paws: bool = True) -> list[str]:
    return list(SKELETON) + (list(PAWS) if paws else [])


def stride_hz(speed: np.ndarray) -> np.ndarray:
    """Stride frequency (Hz) at a forward speed (cm/s): ~3 Hz at 10 cm/s to ~6-7 Hz at 40 cm/s (see
    :mod:`behavnb.synth.behaviours` for the sources)."""
    return np.clip(2.0 + 0.12 * np.asarray(speed, dtype=float), 2.0, 8.0)


def pose_body_frame(params: dict[str, np.ndarray], phases: dict[str, np.ndarray], body_scale: float,
                    paws: bool = True) -> np.ndarray:
    """Keypoints in the body frame, (time, keypoint, 3), from per-frame body-model parameters.

    params: the series of :data:`behavnb.synth.behaviours.PARAMS`; phases: running phases (rad) of the
    ``gait``, ``scan``, ``sniff``, ``groom``, ``lick`` and ``breath`` rhythms.
    """
    names = keypoint_names(paws)
    rest = np.array([SKELETON.get(n) or PAWS[n] for n in names], dtype=float)  # (K, 3)
    t_len = len(params["speed"])
    x = np.broadcast_to(rest[:, 0], (t_len, len(names))).copy()
    y = np.broadcast_to(rest[:, 1], (t_len, len(names))).copy()
    z = np.broadcast_to(rest[:, 2], (t_len, len(names))).copy()
    idx = {n: i for i, n in enumerate(names)}
    head = [idx[n] for n in HEAD]
    nose = idx["nose"]
    front_paws = [idx[n] for n in ("paw_front_left", "paw_front_right")] if paws else []
    col = lambda a: a[:, None]  # noqa: E731
    sin, cos = np.sin, np.cos

    # breathing: the flanks move in and out a little, always
    y *= 1 + 0.03 * col(sin(phases["breath"]))

    # gait: each paw swings through half a stride length (speed / stride frequency) about its rest place
    # and lifts in its swing phase; the hips sway and the head bobs twice per stride
    g = params["gait"]
    half_stride = 0.5 * np.clip(params["speed"] / stride_hz(params["speed"]), 0.3, 4.0) * g
    if paws:
        b = params["bound"]
        for n in _TROT:
            ph = phases["gait"] + (1 - b) * _TROT[n] + b * _BOUND[n]
            x[:, idx[n]] += half_stride * sin(ph)
            z[:, idx[n]] += 0.5 * g * np.clip(cos(ph), 0, None)
    for n in ("hip_left", "hip_right"):
        y[:, idx[n]] += 0.2 * g * sin(phases["gait"])
    x[:, head] += col(0.1 * g * sin(2 * phases["gait"]))

    # sniffing: the nose oscillates fast and the head bobs with it
    s_amp = params["sniff_amp"]
    x[:, head] += col(0.4 * s_amp * sin(phases["sniff"]))
    x[:, nose] += s_amp * sin(phases["sniff"])
    y[:, nose] += 0.4 * s_amp * cos(phases["sniff"])

    # the head turns about the neck: a held yaw, a slow scan, and in body licking a sweep along the flank
    lick = params["lick_amp"]
    yaw = params["head_yaw"] + params["scan_amp"] * sin(phases["scan"]) + 0.25 * lick * sin(phases["lick"])
    hx, hy = x[:, head] - NECK_X, y[:, head]
    c, s = col(cos(yaw)), col(sin(yaw))
    x[:, head], y[:, head] = NECK_X + c * hx - s * hy, s * hx + c * hy
    x[:, nose] -= lick * (1.0 + 0.6 * sin(phases["lick"]))  # the nose works back along the flank
    z[:, head] -= col(0.8 * lick)

    # face washing: the head tucks in, both forepaws stroke over the face in ellipses, the nose follows
    ga = params["groom_amp"]
    anterior = rest[:, 0] > 0
    x[:, anterior] *= 1 - 0.25 * col(ga)
    z[:, head] -= col(0.6 * ga)
    x[:, nose] += 0.3 * ga * sin(phases["groom"])
    y[:, nose] += 0.25 * ga * cos(phases["groom"])
    for i, side in zip(front_paws, (1.0, -1.0), strict=False):
        reach = col(ga)[:, 0]
        tx = x[:, nose] - 0.7 + 0.5 * sin(phases["groom"])
        ty = side * (0.45 + 0.35 * cos(phases["groom"]))
        x[:, i] += reach * (tx - x[:, i])
        y[:, i] += reach * (ty - y[:, i])
        z[:, i] += reach * (1.2 + 0.4 * sin(phases["groom"]))

    # hunching: the front half shortens, the back half less, the back arches
    curl = col(params["curl"])
    x *= 1 - np.where(anterior, 1.0, 0.5) * curl
    z[:, idx["mid_spine"]] += 2.0 * curl[:, 0]

    # rearing: the forepaws leave the floor to the chest, the front of the body pitches up; from above it
    # foreshortens, in 3D the nose and neck rise
    up = params["paws_up"]
    for i in front_paws:
        x[:, i] += up * (NECK_X - 0.3 - x[:, i])
        z[:, i] += 2.5 * up
    p = col(params["pitch"])
    xa = x[:, anterior]
    x[:, anterior] = xa * cos(p)
    z[:, anterior] += xa * sin(p)

    # the spine bends into an arc: with the turning rate, a held bend (body licking, lying curled), and the
    # lateral undulation of the trunk once per stride
    kappa = 0.035 * params["omega"] + params["bend"] / SKELETON["nose"][0] + 0.012 * g * sin(phases["gait"] + np.pi / 2)
    a = col(kappa) * x
    sx = x * np.sinc(a / np.pi)
    sy = x * (a / 2) * np.sinc(a / (2 * np.pi)) ** 2
    x, y = sx - y * sin(a), sy + y * cos(a)
    return np.stack([x, y, z], axis=-1) * body_scale


def place(body: np.ndarray, centre: np.ndarray, heading: np.ndarray) -> np.ndarray:
    """Rotate body-frame keypoints by the heading and move them to the centre: (time, keypoint, 3)."""
    c, s = np.cos(heading)[:, None], np.sin(heading)[:, None]
    x = centre[:, 0:1] + c * body[..., 0] - s * body[..., 1]
    y = centre[:, 1:2] + s * body[..., 0] + c * body[..., 1]
    return np.stack([x, y, body[..., 2]], axis=-1)
