"""Speed of the default group analysis: 100 animals (one session each, 5 min at 30 fps) x 50 motifs.

    python benchmarks/bench_stats.py [--animals 100] [--motifs 50]

Times ``stats.animal_table`` (usage, bout count, rate, mean duration per motif), ``stats.compare`` (all motifs x
all metrics: Mann-Whitney, effect sizes with 2,000 bootstrap resamples, BH), the repertoire PERMANOVA with 10,000
permutations and the transition test with 10,000 permutations. Target: all of it <= 30 s.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd
from _machine import machine


def labels_table(animals: int, k: int, frames: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    parts, meta = [], []
    for a in range(animals):
        bouts = rng.integers(0, k, frames // 15 + 1)
        y = np.repeat(bouts, 15)[:frames]
        s = f"animal{a:03d}"
        parts.append(pd.DataFrame({"session": s, "individual": "m", "frame": np.arange(frames),
                                   "time": np.arange(frames) / 30.0, "motif": y}))
        meta.append({"session": s, "subject": s, "group": "A" if a % 2 else "B"})
    return pd.concat(parts, ignore_index=True), pd.DataFrame(meta)


def main() -> None:
    from behavnb import hierarchy, stats

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--animals", type=int, default=100)
    ap.add_argument("--motifs", type=int, default=50)
    args = ap.parse_args()
    labels, meta = labels_table(args.animals, args.motifs, 9000)
    times = {}
    t0 = time.perf_counter()
    table = stats.animal_table(labels, meta, args.motifs)
    times["animal_table"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = stats.compare(table, n_boot=2000)
    times["compare (all motifs x 4 metrics)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    wide = stats.per_subject(table[table["metric"] == "usage"]).pivot_table(index=["subject", "group"], columns="motif",
                                                                            values="value")
    stats.repertoire_test(wide, wide.index.get_level_values("group"), n_perm=10_000)
    times["repertoire PERMANOVA, 10,000 permutations"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    stats.transition_test(hierarchy.transition_counts(labels, args.motifs, self_transitions=False), meta, n_perm=10_000)
    times["transition test, 10,000 permutations"] = time.perf_counter() - t0
    total = sum(times.values())
    print(f"machine: {machine()}")
    print(f"{args.animals} animals x {args.motifs} motifs, {len(res.table)} tests\n")
    print("| step | seconds |\n|---|---|")
    for k, v in times.items():
        print(f"| {k} | {v:.2f} |")
    print(f"| **total** (target <= 30 s) | **{total:.2f}** |")
    print(json.dumps({"times": times, "total": total}))


if __name__ == "__main__":
    main()
