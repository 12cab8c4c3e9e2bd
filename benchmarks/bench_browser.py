"""Time the motif browser on a run directory: build, then a change of motif for every motif (target <= 1 s).

Needs a run directory where notebooks 01-06 ran (e.g. ``behavnb run /tmp/demo --profile demo --notebooks
01 02 03 04 06``).

    python benchmarks/bench_browser.py /tmp/demo [--motifs vame-hmm-8] [--n-instances 8]
"""

from __future__ import annotations

import argparse
import time

import matplotlib

matplotlib.use("Agg")


def main() -> None:
    import numpy as np

    import behavnb as bn
    from behavnb import segment

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("project_dir")
    ap.add_argument("--motifs", default=None, help="folder under motifs/ (default: newest vame-hmm-*)")
    ap.add_argument("--n-instances", type=int, default=8)
    args = ap.parse_args()
    project = bn.project.Project(args.project_dir)
    name = args.motifs or project.find_motifs("vame-hmm")
    labels = bn.segment.read_segmentation(project.motifs_dir(name)).labels  # with k and fps in attrs
    sessions = sorted(set(labels["session"]))
    t0 = time.perf_counter()
    cleaned = {s: project.read_clean(s) for s in sessions}
    features = {s: project.read_features(s) for s in sessions}
    t_read = time.perf_counter() - t0
    t0 = time.perf_counter()
    data = segment.MotifData(labels, cleaned, features=features, sessions=project.read_sessions())
    t_data = time.perf_counter() - t0
    t0 = time.perf_counter()
    browser = bn.widgets.MotifBrowser(data, n_instances=args.n_instances)
    t_build = time.perf_counter() - t0
    changes = []
    for m in data.motifs[1:] + data.motifs[:1]:
        t0 = time.perf_counter()
        browser.motif = m
        changes.append(time.perf_counter() - t0)
    frames = []
    for f in range(1, 11):
        t0 = time.perf_counter()
        browser.frame_w.value = f
        frames.append(time.perf_counter() - t0)
    from _machine import machine

    print(f"machine: {machine()}")
    print(f"run dir {args.project_dir}, motifs/{name}: {len(sessions)} sessions, {len(labels):,} frames, "
          f"{len(data.motifs)} motifs, {args.n_instances} instances\n")
    print("| step | seconds |\n|---|---|")
    print(f"| read cleaned poses + features | {t_read:.2f} |")
    print(f"| MotifData (bouts, usage) | {t_data:.2f} |")
    print(f"| build the browser (first motif drawn) | {t_build:.2f} |")
    print(f"| motif change, median of {len(changes)} (max) | {np.median(changes):.2f} ({max(changes):.2f}) |")
    print(f"| animation frame (slider step), median (max) | {np.median(frames):.3f} ({max(frames):.3f}) |")


if __name__ == "__main__":
    main()
