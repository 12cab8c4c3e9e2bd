"""Label-only cohorts: the same behaviour model as ``make_cohort`` (per-animal programs with random effects,
planted group effects, semi-Markov bouts), without poses, so that thousands of cohorts can be drawn in
seconds. Statistics are calibrated on these: a null cohort (``effects="null"``) must give about 5 %
false positives at alpha = 0.05.

Part of ``synth`` (synthetic cohorts with ground truth, beside the run layer); ``stats`` calibrates on it.

The labels are not those of ``make_cohort`` with the same seed (that one also draws paths and noise from
the animal's stream); the distribution is the same.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from behavnb.synth.cohort import _group_effects
from behavnb.synth.programs import Effects, animal_program, sample_bouts


def label_cohort(*, groups: Sequence[str] = ("WT", "KO"), animals_per_group: int = 8, sessions_per_animal: int = 2,
                 duration_s: float = 300.0, fps: float = 30.0, effects: str | Mapping[str, Effects | None] = "null",
                 seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(labels, sessions)``: a labels table (session, individual, frame, time, motif) and its sessions table
    (session, subject, group, sex, cohort). Sessions of one animal share its program (its random effects), as
    repeated recordings of one mouse do."""
    parts = list(label_cohort_parts(groups=groups, animals_per_group=animals_per_group,
                                    sessions_per_animal=sessions_per_animal, duration_s=duration_s, fps=fps,
                                    effects=effects, seed=seed, animals_per_part=None))
    return pd.concat([p[0] for p in parts], ignore_index=True), pd.concat([p[1] for p in parts], ignore_index=True)


def label_cohort_parts(*, groups: Sequence[str] = ("WT", "KO"), animals_per_group: int = 8, sessions_per_animal: int = 2,
                       duration_s: float = 300.0, fps: float = 30.0,
                       effects: str | Mapping[str, Effects | None] = "null", seed: int = 0,
                       animals_per_part: int | None = 50) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """``label_cohort``'s cohort in parts of ``animals_per_part`` animals (None: one part), the same animals and labels.

    Every animal draws from its own seed, so a part needs nothing of the others: a large null cohort (300 animals a
    group, 10 million frames) is summarised part by part in a fraction of the memory of the whole table.

    Parameters
    ----------
    groups, animals_per_group, sessions_per_animal, duration_s, fps, effects, seed
        As :func:`label_cohort`.
    animals_per_part
        Animals per yielded part.

    Returns
    -------
    iterator of (pandas.DataFrame, pandas.DataFrame)
        ``(labels, sessions)`` of each part, in :func:`label_cohort`'s row order.
    """
    per_group = _group_effects(list(groups), effects)
    n_frames = int(round(duration_s * fps))
    seeds = np.random.SeedSequence(seed).spawn(len(groups) * animals_per_group)
    frames = np.arange(n_frames)
    labels, rows, n_animals = [], [], 0
    for g_i, group in enumerate(groups):
        for a in range(animals_per_group):
            rng = np.random.default_rng(seeds[g_i * animals_per_group + a])
            subject = f"{group}_{a + 1:02d}"
            program = animal_program(per_group[group], rng)
            sex = "F" if rng.random() < 0.5 else "M"
            for s in range(sessions_per_animal):
                session = f"{subject}_s{s + 1}"
                motifs, lengths = sample_bouts(program, n_frames, fps, rng)
                labels.append(pd.DataFrame({"session": session, "individual": "mouse1", "frame": frames,
                                            "time": frames / fps, "motif": np.repeat(motifs, lengths)}))
                rows.append({"session": session, "subject": subject, "group": group, "sex": sex, "cohort": f"c{a % 2 + 1}"})
            n_animals += 1
            if animals_per_part and n_animals % animals_per_part == 0:
                yield pd.concat(labels, ignore_index=True), pd.DataFrame(rows)
                labels, rows = [], []
    if labels:
        yield pd.concat(labels, ignore_index=True), pd.DataFrame(rows)
