"""How often the tests say "different" when nothing is (false-positive rate) or when something is (power).

Cohorts come from ``synth.label_cohort`` (the series' behaviour model, labels only). For each cohort:
- ``animal``: the default test (``compare``: sessions averaged per animal, Mann-Whitney per motif on usage);
- ``session``: the same test with every session treated as an independent animal (pseudoreplication);
- ``repertoire``: the PERMANOVA on CLR usage, one test per cohort.
A rate is the share of (cohort, motif) tests with p < alpha (per cohort for the repertoire test).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd


def error_rates(n_cohorts: int = 200, *, effects: str | Mapping = "null", animals_per_group: int = 8,
                sessions_per_animal: int = 2, duration_s: float = 300.0, alpha: float = 0.05, n_perm: int = 999,
                target_motif: int | None = None, seed: int = 0, progress: bool = True) -> pd.DataFrame:
    """One row per cohort: the share of motifs with p < alpha for the animal-level and the session-level test, the
    repertoire test's p, and (with ``target_motif``) whether that motif's animal-level p and q are below alpha."""
    from tqdm.auto import tqdm

    from behavnb.stats.compare import compare
    from behavnb.stats.compositional import repertoire_test
    from behavnb.stats.tables import animal_table, per_subject
    from behavnb.synth.labels import label_cohort

    rows = []
    for c in tqdm(range(n_cohorts), desc="cohorts", disable=not progress):
        labels, sessions = label_cohort(animals_per_group=animals_per_group, sessions_per_animal=sessions_per_animal,
                                        duration_s=duration_s, effects=effects, seed=seed + c)
        table = animal_table(labels, sessions, 8, fps=30.0)
        usage = table[table["metric"] == "usage"]
        by_animal = compare(usage, n_boot=0).table
        by_session = compare(usage.assign(subject=usage["session"]), n_boot=0).table
        wide = per_subject(usage).pivot_table(index=["subject", "group"], columns="motif", values="value")
        rep = repertoire_test(wide, wide.index.get_level_values("group"), n_perm=n_perm, seed=seed + c)
        row = {"cohort": c, "animal_fp": float((by_animal["p"] < alpha).mean()),
               "session_fp": float((by_session["p"] < alpha).mean()), "repertoire_p": rep["p"]}
        if target_motif is not None:
            hit = by_animal[by_animal["motif"] == target_motif].iloc[0]
            row.update({"target_p": float(hit["p"]), "target_q": float(hit["q"])})
        rows.append(row)
    return pd.DataFrame(rows)
