"""Time generating the registered synthetic datasets (simulation + writing all files).

    python benchmarks/bench_synth.py [--repeats 3]

Targets (issue "Step 2"): synthetic-demo <= 10 s, synthetic-tiny <= 1 s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from behavnb import manifest, synth

TARGETS = {"synthetic-demo": 10.0, "synthetic-tiny": 1.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    synth.make_cohort(None, animals_per_group=1, sessions_per_animal=1, duration_s=5)  # warm imports
    ok = True
    print("| dataset | sessions | frames | simulate (s) | simulate + write (s) | target | ok |")
    print("|---|---|---|---|---|---|---|")
    for name, target in TARGETS.items():
        params = manifest.info(name)["generator"]["params"]
        sim, full = [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            cohort = synth.make_cohort(None, **params)
            sim.append(time.perf_counter() - t0)
            with tempfile.TemporaryDirectory() as tmp:
                t0 = time.perf_counter()
                synth.make_cohort(Path(tmp), **params)
                full.append(time.perf_counter() - t0)
        med = statistics.median(full)
        ok &= med <= target
        print(f"| {name} | {len(cohort.sessions)} | {len(cohort.truth)} | {statistics.median(sim):.2f} | {med:.2f} "
              f"| <= {target:g} s | {'yes' if med <= target else 'NO'} |")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
