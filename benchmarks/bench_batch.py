"""Batch throughput: 4 rows (cohorts) run one after another vs. on a 2-worker Dask LocalCluster.

    python benchmarks/bench_batch.py [--rows 4] [--workers 2] [--notebooks "01 02 03 04 05 06"] [--profile fast]

Each row is the series (default 01-06: import, cleaning, features, both models, motifs) on its own
copy of synthetic-tiny, in the fast profile. Three runs into fresh folders:

- ``sequential``: the rows one after another in this process (``scheduler="sync"``), the way a user
  would loop ``behavnb run`` over cohorts; each kernel uses every core it likes;
- ``local:1``: the same through a one-worker LocalCluster (single-threaded worker), the engine's overhead;
- ``local:N``: N workers. Target: wall(local:N) <= 0.6 x wall(sequential).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from _machine import report


def main() -> None:
    from behavnb import manifest
    from behavnb.batch import run_batch

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--notebooks", default="01 02 03 04 05 06")
    ap.add_argument("--profile", default="fast")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    src = manifest.dataset_dir("synthetic-tiny")
    manifest.sessions("synthetic-tiny")  # generate it once, outside the timings
    lines = ["row,dataset,profile,notebooks,seed"]
    for i in range(args.rows):
        shutil.copytree(src, work / f"cohort{i}")
        lines.append(f"r{i},cohort{i},{args.profile},{args.notebooks},{i}")
    (work / "m.csv").write_text("\n".join(lines) + "\n")

    results, rows = {}, []
    for label, scheduler, workers in [("sequential", "sync", None), ("local:1", "local", 1),
                                      (f"local:{args.workers}", "local", args.workers)]:
        out = work / label.replace(":", "-")
        t0 = time.perf_counter()
        summary = run_batch(work / "m.csv", out_dir=out, scheduler=scheduler, workers=workers, progress=False)
        wall = time.perf_counter() - t0
        assert (summary["status"] == "ok").all(), summary.to_string()
        results[label] = {"wall_s": round(wall, 1), "row_s": summary["seconds"].tolist()}
        print(f"{label}: {wall:.1f} s (rows {summary['seconds'].tolist()})", flush=True)
    seq = results["sequential"]["wall_s"]
    for label, r in results.items():
        r["ratio"] = round(r["wall_s"] / seq, 2)
        rows.append(f"| {label} | {r['wall_s']:.1f} | {r['ratio']:.2f} | {', '.join(f'{s:.0f}' for s in r['row_s'])} |")
    results["target"] = "wall(local:N) <= 0.6 x sequential"
    results["config"] = vars(args)
    report(["engine", "wall (s)", "x sequential", "per-row (s)"], rows, results)
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({"ok": results[f"local:{args.workers}"]["ratio"] <= 0.6}))


if __name__ == "__main__":
    main()
