"""What each synthetic behaviour looks like: per-bout ranges of the keypoint dynamics that define it.

Part of ``synth`` (synthetic cohorts with ground truth, beside the run layer).

Each motif is defined by how the keypoints move over time, not by one body-level number. Every bout draws
its own values from the ranges below, so that behaviour pairs overlap in the body-level scalars (centre
speed, turning rate, body length, head angle) the way real ones do: resting, grooming and sniffing in place
are all still and hunched to a similar degree; slow walks and exploratory progression share speeds; a
mouse licking its flank bends its body and turns its head as a turning mouse does; a rearing mouse and a
face-grooming one are both short from above. What tells them apart is the rhythm and which keypoints carry
it: forepaw strokes at the face, a fast nose oscillation, alternating paws, breathing alone.

Ranges, rounded from these sources (values for adult C57BL/6 mice unless said; the generator draws within
or around them, it does not fit any one study):

- **Locomotion.** Overground walking ~5-20 cm/s with a trot (diagonal limb pairs in antiphase), faster
  runs as a gallop/half-bound (hind limbs nearly in phase); stride frequency rises with speed, ~2.5-4 Hz
  when walking to ~5-7 Hz when running (Bellardita & Kiehn 2015, Curr Biol 25:1426; Machado et al. 2015,
  eLife 4:e07892; Herbin et al. 2007, Physiol Behav 92:877). Spontaneous runs in an open field mostly
  20-40 cm/s. The trunk undulates laterally once per stride.
- **Exploratory sniffing.** Sniffing at 6-12 Hz with head bobbing locked to it (Welker 1964, Behaviour
  22:223; Wesson et al. 2008, PLoS Biol 6:e82; Kurnikova et al. 2017, Curr Biol 27:688), slow head scans
  of ~15-30 deg at about 0.5-1.5 Hz, slow forward progression of a few cm/s, body stretched.
- **Grooming.** Bouts of seconds; face washing with elliptical, bilateral forepaw strokes at ~5-7 Hz, head
  tucked, body still and hunched; body licking with the head turned to the flank (~60-80 deg) and slower
  head movements of ~1.5-3 Hz (Berridge et al. 1987, Behav Neurosci 101:504; Kalueff et al. 2016, Nat Rev
  Neurosci 17:45).
- **Resting / immobility.** No locomotion, hunched, the flanks moving with breathing at ~2.5-4 Hz (resting
  respiration; sniffing is what raises it above 6 Hz: Wesson et al. 2008).
- **Rearing.** ~0.5-2 s; from above the front of the body foreshortens by 30-60 % (trunk pitch ~35-70 deg),
  the forepaws leave the floor and are often hidden under the head in a top view (low tracking
  confidence, the common DeepLabCut/SLEAP experience); the head scans.
- **Turning.** Heading changes of 90-180 deg within about a second (1.5-3.5 rad/s) at low speed, the
  spine bent into the turn.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: per-frame parameters of the body model, in this order; each bout draws its own value of each
PARAMS = (
    "speed",      # forward speed of the body centre, cm/s
    "omega",      # turning rate, rad/s (+ = left)
    "pitch",      # rearing: pitch of the front of the body, rad
    "curl",       # hunching: fraction by which the front half of the body shortens (0..0.35)
    "bend",       # static lateral bend of the spine, rad at the nose (+ = left)
    "head_yaw",   # static yaw of the head about the neck, rad (+ = left)
    "scan_amp",   # slow head scan amplitude, rad
    "scan_hz",
    "sniff_amp",  # fast nose/head oscillation amplitude, cm
    "sniff_hz",
    "groom_amp",  # face washing: forepaw strokes at the face, 0..1
    "groom_hz",
    "lick_amp",   # body licking: nose sweeping along the flank, 0..1
    "lick_hz",
    "gait",       # stepping, 0..1
    "bound",      # gait pattern: 0 trot (diagonal pairs), 1 half-bound (hind pair together)
    "paws_up",    # forepaws lifted off the floor (rearing), 0..1
    "breath_hz",
)


def fixed(v: float) -> tuple:
    return ("fixed", float(v))


def uniform(lo: float, hi: float) -> tuple:
    return ("uniform", float(lo), float(hi))


def lognormal(median: float, sd_log: float) -> tuple:
    return ("lognormal", float(median), float(sd_log))


def normal(mean: float, sd: float) -> tuple:
    return ("normal", float(mean), float(sd))


def signed(lo: float, hi: float) -> tuple:
    """A magnitude drawn uniformly in [lo, hi] with a random sign (left or right)."""
    return ("signed", float(lo), float(hi))


def draw(spec: tuple, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` draws from a parameter spec (one per bout); always consumes two arrays of random numbers,
    so that changing one behaviour's ranges never shifts the random stream of the others."""
    u, z = rng.random(n), rng.normal(0.0, 1.0, n)
    kind, *a = spec
    if kind == "fixed":
        return np.full(n, a[0])
    if kind == "uniform":
        return a[0] + (a[1] - a[0]) * u
    if kind == "lognormal":
        return a[0] * np.exp(a[1] * z)
    if kind == "normal":
        return a[0] + a[1] * z
    if kind == "signed":
        return np.where(z < 0, -1.0, 1.0) * (a[0] + (a[1] - a[0]) * u)
    raise ValueError(f"unknown parameter distribution {kind!r}")


@dataclass
class Behaviour:
    """Per-bout distributions of the body-model parameters of one motif (unnamed parameters: 0), and the
    tracking occlusions its posture causes (keypoint-name pattern -> episode start rate per frame)."""

    params: dict[str, tuple]
    hidden: dict[str, float] = field(default_factory=dict)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n bouts, len(PARAMS)) parameter values."""
        unknown = set(self.params) - set(PARAMS)
        if unknown:
            raise ValueError(f"unknown body parameters {sorted(unknown)}")
        return np.stack([draw(self.params.get(p, fixed(0.0)), n, rng) for p in PARAMS], axis=1)


_BREATH = uniform(2.5, 4.0)  # resting respiration, Hz
_STILL = dict(speed=fixed(0.0), omega=normal(0.0, 0.05), breath_hz=_BREATH)

BEHAVIOURS = {
    "rest": Behaviour({**_STILL, "curl": uniform(0.08, 0.26), "bend": normal(0.0, 0.15),
                       "head_yaw": normal(0.0, 0.12)},
                      hidden={"paw": 0.02}),
    "walk": Behaviour({"speed": lognormal(9.0, 0.35), "omega": normal(0.0, 0.45), "curl": uniform(-0.04, 0.06),
                       "head_yaw": normal(0.0, 0.1), "scan_amp": uniform(0.0, 0.12), "scan_hz": uniform(0.5, 1.5),
                       "gait": fixed(1.0), "bound": uniform(0.0, 0.15), "breath_hz": uniform(4.0, 7.0)}),
    "run": Behaviour({"speed": lognormal(24.0, 0.3), "omega": normal(0.0, 0.3), "curl": uniform(-0.06, 0.04),
                      "gait": fixed(1.0), "bound": uniform(0.4, 1.0), "breath_hz": uniform(6.0, 10.0)}),
    "turn_left": Behaviour({"speed": lognormal(2.5, 0.5), "omega": uniform(1.5, 3.5), "curl": uniform(0.0, 0.15),
                            "scan_amp": uniform(0.0, 0.15), "scan_hz": uniform(0.5, 1.5), "gait": uniform(0.3, 0.6),
                            "breath_hz": uniform(4.0, 8.0)}),
    "turn_right": Behaviour({"speed": lognormal(2.5, 0.5), "omega": uniform(-3.5, -1.5), "curl": uniform(0.0, 0.15),
                             "scan_amp": uniform(0.0, 0.15), "scan_hz": uniform(0.5, 1.5), "gait": uniform(0.3, 0.6),
                             "breath_hz": uniform(4.0, 8.0)}),
    "rear": Behaviour({**_STILL, "pitch": uniform(0.6, 1.2), "head_yaw": normal(0.0, 0.15),
                       "scan_amp": uniform(0.05, 0.35), "scan_hz": uniform(0.5, 1.5), "paws_up": fixed(1.0),
                       "sniff_amp": uniform(0.0, 0.2), "sniff_hz": uniform(6.0, 11.0), "breath_hz": uniform(6.0, 11.0)},
                      hidden={"paw_front": 0.15}),
    # the style-specific parameters of a grooming bout are in GROOM_STYLES
    "groom": Behaviour({**_STILL, "curl": uniform(0.10, 0.30)}, hidden={"paw_front": 0.03}),
    "sniff": Behaviour({"speed": lognormal(1.5, 0.7), "omega": normal(0.0, 0.45), "curl": uniform(-0.08, 0.12),
                        "head_yaw": normal(0.0, 0.15), "scan_amp": uniform(0.2, 0.5), "scan_hz": uniform(0.5, 1.5),
                        "sniff_amp": uniform(0.15, 0.4), "sniff_hz": uniform(6.0, 11.0), "gait": uniform(0.0, 0.3),
                        "breath_hz": uniform(6.0, 11.0)}),
}


#: grooming bouts are face washing or body licking: probability, and that style's parameters (body licking
#: turns the head and bends the spine to one flank, the same side for both)
GROOM_STYLES = {
    "face": (0.6, {"groom_amp": uniform(0.6, 1.0), "groom_hz": uniform(5.0, 7.0)}),
    "body": (0.4, {"lick_amp": uniform(0.6, 1.0), "lick_hz": uniform(1.5, 3.0), "head_yaw": uniform(1.0, 1.4),
                   "bend": uniform(0.2, 0.45)}),
}


def bout_parameters(motifs: np.ndarray, names: tuple[str, ...], rng: np.random.Generator) -> np.ndarray:
    """(bouts, len(PARAMS)): every bout's parameters, drawn from its motif's ranges (and, for grooming,
    from the style drawn for that bout)."""
    out = np.zeros((len(motifs), len(PARAMS)))
    for m, name in enumerate(names):
        at = np.flatnonzero(motifs == m)
        out[at] = BEHAVIOURS[name].sample(len(at), rng)
        if name == "groom":
            face = rng.random(len(at)) < GROOM_STYLES["face"][0]
            side = np.where(rng.random(len(at)) < 0.5, -1.0, 1.0)
            for style, (_, params) in GROOM_STYLES.items():
                mine = face if style == "face" else ~face
                for p, spec in params.items():
                    v = draw(spec, len(at), rng) * (side if p in ("head_yaw", "bend") else 1.0)
                    out[at, PARAMS.index(p)] = np.where(mine, v, out[at, PARAMS.index(p)])
    return out
