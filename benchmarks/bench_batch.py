"""Batch throughput: 4 rows (cohorts) run one after another vs. on a 2-worker Dask LocalCluster.

    python benchmarks/bench_batch.py [--rows 4] [--workers 2] [--notebooks "01 02 03 04 05 06"] [--profile fast]

Each row is the series (default 01-06: import, cleaning, features, both models, motifs) on its own
copy of synthetic-tiny, in the fast profile. Three runs into fresh folders:

- ``sequential``: the rows one after another in this process (``scheduler="sync"``), the way a user
  would loop ``behavnb run`` over cohorts; each kernel uses every core it likes;
- ``local:1``: the same through a one-worker LocalCluster (single-threaded worker), the engine's overhead;
- ``local:N``: N workers. Target: wall(local:N) <= 0.6 x wall(sequential).

``--sessions``: instead, the per-session steps inside one project: loading and cleaning the 25 sessions
of synthetic-demo (``manifest.load_sessions``, ``preprocess.clean_sessions``) in this process vs. on a
LocalCluster of ``--workers`` processes (the cluster's start-up included).
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
    ap.add_argument("--sessions", action="store_true", help="time the per-session steps instead of batch rows")
    args = ap.parse_args()
    if args.sessions:
        return sessions(args.workers)

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


def sessions(workers: int) -> None:
    import warnings

    from behavnb import manifest
    from behavnb.parallel import connect
    from behavnb.preprocess import clean_sessions

    table = manifest.sessions("synthetic-demo")
    results, rows = {}, []
    for label in ("sync", f"local:{workers}"):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if label == "sync":
                poses = manifest.load_sessions(table, progress=False)
                t1 = time.perf_counter()
                clean_sessions(poses, progress=False)
            else:
                with connect(label) as client:  # one cluster for both steps, as a notebook would keep it
                    poses = manifest.load_sessions(table, progress=False, scheduler=client.scheduler.address)
                    t1 = time.perf_counter()
                    clean_sessions(poses, progress=False, scheduler=client.scheduler.address)
        t2 = time.perf_counter()
        results[label] = {"load_s": round(t1 - t0, 1), "clean_s": round(t2 - t1, 1), "total_s": round(t2 - t0, 1)}
        rows.append(f"| {label} | {t1 - t0:.1f} | {t2 - t1:.1f} | {t2 - t0:.1f} |")
    results["sessions"] = len(table)
    report(["engine", "load 25 sessions (s)", "clean (s)", "total (s)"], rows, results)


if __name__ == "__main__":
    main()
