"""The behaviour programs (motifs) of the synthetic mouse and the semi-Markov process that strings
them together.

Part of ``synth`` (synthetic cohorts with ground truth, beside the run layer).

Each motif has a bout-duration distribution (gamma, mean and coefficient of variation in seconds); what
its keypoints do is defined in :mod:`behavnb.synth.behaviours`.
Transitions never repeat a motif (a semi-Markov chain: how long a motif lasts is its duration
distribution's business, not the chain's).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from behavnb.errors import ParameterError

MOTIFS = ("rest", "walk", "run", "turn_left", "turn_right", "rear", "groom", "sniff")

#: motif -> (mean bout duration s, coefficient of variation)
DURATIONS = {
    "rest": (2.0, 0.5), "walk": (1.2, 0.45), "run": (0.7, 0.4), "turn_left": (0.6, 0.35),
    "turn_right": (0.6, 0.35), "rear": (1.1, 0.4), "groom": (2.5, 0.5), "sniff": (1.0, 0.45),
}

# from-motif -> {to-motif: weight}; rows are normalised, the diagonal is zero.
_TRANSITIONS = {
    "rest":       {"walk": 3, "turn_left": 0.5, "turn_right": 0.5, "rear": 1.5, "groom": 2.5, "sniff": 2},
    "walk":       {"rest": 1, "run": 1, "turn_left": 2, "turn_right": 2, "rear": 1.5, "groom": 0.5, "sniff": 2},
    "run":        {"rest": 1, "walk": 6, "turn_left": 1.5, "turn_right": 1.5},
    "turn_left":  {"rest": 1, "walk": 5, "run": 1, "rear": 1, "sniff": 2},
    "turn_right": {"rest": 1, "walk": 5, "run": 1, "rear": 1, "sniff": 2},
    "rear":       {"rest": 2, "walk": 3, "turn_left": 0.5, "turn_right": 0.5, "groom": 1, "sniff": 3},
    "groom":      {"rest": 5, "walk": 2, "rear": 1, "sniff": 2},
    "sniff":      {"rest": 1, "walk": 3.5, "turn_left": 1.5, "turn_right": 1.5, "rear": 2, "groom": 0.5},
}


def base_transitions() -> np.ndarray:
    """The reference transition matrix (rows: from, columns: to), rows summing to 1."""
    m = np.zeros((len(MOTIFS), len(MOTIFS)))
    for a, row in _TRANSITIONS.items():
        for b, w in row.items():
            m[MOTIFS.index(a), MOTIFS.index(b)] = w
    return m / m.sum(axis=1, keepdims=True)


def _factor_ok(v) -> bool:
    return (isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
            and bool(np.isfinite(v)) and v > 0)


@dataclass
class Effects:
    """Planted group effects, relative to the reference animal.

    usage: motif -> factor on the probability of entering it (more bouts of it);
    transition: (from, to) -> factor on that one transition;
    duration: motif -> factor on its mean bout duration;
    kinematics: motif -> factor on its speed (e.g. ``{"walk": 0.75}``, a slower walk).
    """

    usage: dict[str, float] = field(default_factory=dict)
    transition: dict[tuple[str, str], float] = field(default_factory=dict)
    duration: dict[str, float] = field(default_factory=dict)
    kinematics: dict[str, float] = field(default_factory=dict)

    def __post_init__(self):
        named = [*self.usage, *self.duration, *self.kinematics, *(m for pair in self.transition for m in pair)]
        unknown = sorted(set(named) - set(MOTIFS))
        if unknown:
            raise ParameterError(f"effects name unknown motif(s) {unknown}; motifs are {list(MOTIFS)}.")
        bad = {k: v for d in (self.usage, self.duration, self.kinematics) for k, v in d.items() if not _factor_ok(v)}
        bad.update({f"{a}->{b}": v for (a, b), v in self.transition.items() if not _factor_ok(v)})
        if bad:
            raise ParameterError(f"effect factors must be positive finite numbers: {bad}.")
        diagonal = [f"{a}->{b}" for a, b in self.transition if a == b]
        if diagonal:
            raise ParameterError(f"transition effects {diagonal} repeat a motif; the chain never repeats one (how long "
                                 "a motif lasts is set by duration effects, e.g. duration={'groom': 1.5}).")

    def to_json(self) -> dict:
        return {"usage": self.usage, "transition": {f"{a}->{b}": v for (a, b), v in self.transition.items()},
                "duration": self.duration, "kinematics": self.kinematics}


#: the default planted effects of the KO group: more rearing, walk->run more likely, longer grooming, slower walking.
DEFAULT_EFFECTS = Effects(usage={"rear": 1.8}, transition={("walk", "run"): 2.5}, duration={"groom": 1.5},
                          kinematics={"walk": 0.75})


@dataclass
class AnimalProgram:
    """One animal's behaviour: its transition matrix, bout-duration means and kinematic factors."""

    transitions: np.ndarray
    duration_mean: np.ndarray  # seconds, per motif
    duration_cv: np.ndarray
    speed_factor: np.ndarray  # per motif
    body_scale: float

    def to_json(self) -> dict:
        return {"transitions": np.round(self.transitions, 6).tolist(),
                "duration_mean_s": np.round(self.duration_mean, 6).tolist(),
                "speed_factor": np.round(self.speed_factor, 6).tolist(), "body_scale": round(self.body_scale, 6)}


def _scale_entries(trans: np.ndarray, cells: list[tuple[int, int]], f: float, cap: float = 0.95) -> np.ndarray:
    """Multiply transition probabilities by ``f`` (at most ``cap``), renormalising the rest of each row."""
    trans = trans.copy()
    for a, b in cells:
        p = trans[a, b]
        if p <= 0 or a == b:
            continue
        new = min(p * f, cap)
        others = np.arange(trans.shape[1]) != b
        trans[a, others] *= (1 - new) / (1 - p)
        trans[a, b] = new
    return trans


def animal_program(effects: Effects | None, rng: np.random.Generator, *, usage_sd: float = 0.2,
                   duration_sd: float = 0.12, speed_sd: float = 0.08, size_sd: float = 0.075) -> AnimalProgram:
    """Draw one animal: group effects plus per-animal random effects on usage, durations, speed and size."""
    effects = effects or Effects()
    n = len(MOTIFS)
    trans = base_transitions()
    col = np.exp(rng.normal(0, usage_sd, n))  # per-animal preference for entering each motif
    trans = trans * col[None, :]
    trans /= trans.sum(axis=1, keepdims=True)
    # group effects act on probabilities: entering motif m becomes f times as likely from every motif
    # (the row's other entries shrink in proportion, so rows still sum to 1)
    for m, f in effects.usage.items():
        trans = _scale_entries(trans, [(a, MOTIFS.index(m)) for a in range(n)], f)
    for (a, b), f in effects.transition.items():
        trans = _scale_entries(trans, [(MOTIFS.index(a), MOTIFS.index(b))], f)
    mean = np.array([DURATIONS[m][0] for m in MOTIFS]) * np.exp(rng.normal(0, duration_sd, n))
    for m, f in effects.duration.items():
        mean[MOTIFS.index(m)] *= f
    cv = np.array([DURATIONS[m][1] for m in MOTIFS])
    speed = np.full(n, np.exp(rng.normal(0, speed_sd)))
    for m, f in effects.kinematics.items():
        speed[MOTIFS.index(m)] *= f
    return AnimalProgram(trans, mean, cv, speed, float(np.exp(rng.normal(0, size_sd))))


def sample_bouts(program: AnimalProgram, n_frames: int, fps: float, rng: np.random.Generator,
                 min_frames: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Semi-Markov bouts covering ``n_frames``: (motif index per bout, frames per bout)."""
    n = len(MOTIFS)
    shape = 1.0 / program.duration_cv**2
    scale = program.duration_mean / shape
    # draw generously in one go (mean bout >= 0.5 s), then cut at n_frames
    expected = int(n_frames / (fps * program.duration_mean.min())) + 50
    cum = np.cumsum(program.transitions, axis=1)
    motifs = np.empty(expected, dtype=np.int64)
    state = rng.integers(n)
    u = rng.random(expected)
    for i in range(expected):  # a loop over bouts, not frames: the chain is sequential by nature
        motifs[i] = state
        state = min(int(np.searchsorted(cum[state], u[i] * cum[state, -1])), n - 1)
    lengths = np.maximum(np.round(rng.gamma(shape[motifs], scale[motifs]) * fps).astype(np.int64), min_frames)
    ends = np.cumsum(lengths)
    k = int(np.searchsorted(ends, n_frames)) + 1
    if k > expected:
        raise RuntimeError("bout budget too small; this is a bug in behavnb.synth")
    motifs, lengths = motifs[:k], lengths[:k].copy()
    lengths[-1] -= ends[k - 1] - n_frames
    return motifs, lengths
