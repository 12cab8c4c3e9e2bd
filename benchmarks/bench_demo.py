"""The whole demo, timed: wall time, peak memory per kernel, and the slowest cells of each notebook.

    . /work/venv/bin/activate
    BEHAVNB_DATA_DIR=/work/shared/data python benchmarks/bench_demo.py --project-dir /tmp/demo-run

Runs ``behavnb demo`` under ``/usr/bin/time -v`` in a fresh run directory with an empty cache, samples the
resident memory of every process in the tree every 0.2 s (psutil), and then reads papermill's per-cell durations
from the executed notebooks. Prints one JSON object (issue 22: demo <= 6 min, peak <= 1.5 GB, each notebook <= 90 s).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import psutil


def _sample(proc: psutil.Process, peaks: dict[str, float], first_seen: dict[str, float], stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            procs = [proc, *proc.children(recursive=True)]
        except psutil.Error:
            break
        for p in procs:
            try:
                key = f"kernel {p.pid}" if "ipykernel" in " ".join(p.cmdline()) else p.name()
                rss = p.memory_info().rss / 2**20
            except psutil.Error:
                continue
            first_seen.setdefault(key, time.time())
            peaks[key] = max(peaks.get(key, 0.0), rss)
        stop.wait(0.2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--project-dir", type=Path, required=True, help="a new directory for the run")
    args = ap.parse_args()
    if args.project_dir.exists():
        sys.exit(f"{args.project_dir} exists; give a new directory")
    env = dict(os.environ, BEHAVNB_CACHE_DIR=tempfile.mkdtemp(prefix="behavnb-cache-"))
    cmd = ["/usr/bin/time", "-v", "behavnb", "demo", "--project-dir", str(args.project_dir)]
    peaks: dict[str, float] = {}
    first_seen: dict[str, float] = {}
    stop = threading.Event()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    sampler = threading.Thread(target=_sample, args=(psutil.Process(proc.pid), peaks, first_seen, stop), daemon=True)
    sampler.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - t0
    stop.set()
    sampler.join()
    kernels = sorted((k for k in peaks if k.startswith("kernel ")), key=first_seen.get)  # one per notebook, in order
    maxrss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
    notebooks = {}
    for n, path in enumerate(sorted((args.project_dir / "reports" / "notebooks").glob("*.ipynb"))):
        nb = nbformat.read(path, as_version=4)
        cells = [(c.get("metadata", {}).get("papermill", {}).get("duration") or 0.0, i) for i, c in enumerate(nb.cells)]
        notebooks[path.stem] = {
            "seconds": round(sum(d for d, _ in cells), 1),
            "kernel_peak_mb": round(peaks[kernels[n]]) if n < len(kernels) else None,
            "slowest_cells": [(i, round(d, 1)) for d, i in sorted(cells, reverse=True)[:5]],
        }
    print(json.dumps({
        "returncode": proc.returncode,
        "wall_s": round(wall, 1),
        "max_rss_mb": round(int(maxrss.group(1)) / 1024) if maxrss else None,
        "peak_mb_other_processes": {k: round(v) for k, v in peaks.items() if not k.startswith("kernel ")},
        "notebooks": notebooks,
    }, indent=1))
    if proc.returncode:
        print(err[-3000:], file=sys.stderr)


if __name__ == "__main__":
    main()
