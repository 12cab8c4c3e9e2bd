"""Calibration of the group tests on simulated cohorts (synth.label_cohort: 8 animals per group, 2 sessions each).

    python benchmarks/calibrate_stats.py [--cohorts 200]

Prints the false-positive rate at alpha = 0.05 under the null (per-motif animal-level test, the same test with
sessions as units, and the repertoire PERMANOVA), and the power for a +30 % usage effect on one motif
(rear: its entry probability x 1.3 in the second group), with the time taken.
"""

from __future__ import annotations

import argparse
import json
import time

from _machine import machine


def main() -> None:
    from behavnb import stats
    from behavnb.synth import MOTIFS, Effects

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cohorts", type=int, default=200)
    args = ap.parse_args()
    print(f"machine: {machine()}")
    t0 = time.perf_counter()
    null = stats.error_rates(args.cohorts, effects="null", progress=False)
    t_null = time.perf_counter() - t0
    t0 = time.perf_counter()
    rear = MOTIFS.index("rear")
    power = stats.error_rates(args.cohorts, effects={"KO": Effects(usage={"rear": 1.3})}, target_motif=rear,
                              seed=10_000, progress=False)
    t_power = time.perf_counter() - t0
    out = {"cohorts": args.cohorts,
           "fpr_animal": float(null["animal_fp"].mean()), "fpr_session": float(null["session_fp"].mean()),
           "fpr_repertoire": float((null["repertoire_p"] < 0.05).mean()),
           "power_p": float((power["target_p"] < 0.05).mean()), "power_q": float((power["target_q"] < 0.05).mean()),
           "power_repertoire": float((power["repertoire_p"] < 0.05).mean()),
           "seconds_null": round(t_null, 1), "seconds_power": round(t_power, 1)}
    print("| quantity | value |\n|---|---|")
    for k, v in out.items():
        print(f"| {k} | {v:.3f} |" if isinstance(v, float) else f"| {k} | {v} |")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
