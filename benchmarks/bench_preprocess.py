"""Benchmark behavnb's preprocessing (target: full default cleaning of 1 h, 30 fps, 12 keypoints <= 0.5 s),
and compare with vame-py on the same input.

Usage::

    python benchmarks/bench_preprocess.py                       # behavnb only
    python benchmarks/bench_preprocess.py --vame-python /tmp/vamevenv/bin/python   # + vame-py 0.13

What it measures (best of ``--repeats`` warm runs, in this process):

1. ``preprocess.clean`` with every default step (confidence filter, swap fix, jump and far-point
   removal, interpolation, Savitzky-Golay smoothing, multi-point alignment) on a 1-hour synthetic
   session, 108,000 frames x 12 keypoints with DeepLabCut-like noise.
2. The same, and the steps one by one, on ``vame-tests/cropped_video.csv`` (6 keypoints) tiled to
   1 hour, with the comparable steps of vame-py's default ``vame.preprocessing`` (confidence 0.99 ->
   interpolation, Nose/Tailroot alignment, IQR outliers, Savitzky-Golay window 5): behavnb runs
   ``clean(confidence=0.99, anterior=['Nose'], posterior=['Tailroot'], smooth_window=5)``.
   vame-py runs in its own venv through ``benchmarks/vame_reference.py`` (it is GPL: we call it,
   never copy it) and reads/writes its project file in every step; its JSON reports that I/O
   separately, and the ratio is given with and without it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def best_of(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def synthetic_hour(fps: float = 30.0):
    from behavnb.synth import make_cohort

    cohort = make_cohort(None, groups=["WT"], animals_per_group=1, sessions_per_animal=(1, 1), duration_s=3600,
                         fps=fps, seed=1)
    ds = next(iter(cohort.poses.values()))
    return ds.drop_sel(keypoint=["paw_hind_left", "paw_hind_right"])  # 12 keypoints


def vame_hour(csv: Path, hours: float, fps: float):
    import xarray as xr

    from behavnb.io import load_poses

    one = load_poses(csv, fps=fps)
    reps = int(np.ceil(hours * 3600 * fps / one.sizes["time"]))
    ds = xr.concat([one] * reps, dim="time").isel(time=slice(0, int(hours * 3600 * fps)))
    n = ds.sizes["time"]
    return ds.assign_coords(time=np.arange(n) / fps, frame=("time", np.arange(n)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--vame-python", default=None, help="python of a venv with vame-py==0.13.0")
    ap.add_argument("--data", default=os.environ.get("BEHAVNB_DATA_DIR", str(ROOT.parent / "shared" / "data")))
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    import behavnb as bn

    P = bn.preprocess
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    ds = synthetic_hour()
    t = best_of(lambda: P.clean(ds), args.repeats)
    print(f"behavnb clean, synthetic 1 h: {ds.sizes['time']} frames x {ds.sizes['keypoint']} keypoints: {t:.3f} s "
          f"(target 0.5 s) {'ok' if t <= 0.5 else 'SLOW'}")
    steps = {
        "filter_confidence": lambda d: P.filter_confidence(d, 0.6), "fix_swaps": P.fix_swaps,
        "remove_jumps": P.remove_jumps, "remove_far_points": P.remove_far_points,
        "interpolate": P.interpolate, "smooth": P.smooth, "align": P.align,
    }
    d = ds
    for name, fn in steps.items():
        src = d
        print(f"  {name:18s} {best_of(lambda: fn(src), 3):.3f} s")
        d = fn(src)

    csv = Path(args.data) / "vame-tests" / "cropped_video.csv"
    vds = vame_hour(csv, 1.0, 30.0)
    kwargs = dict(confidence=0.99, anterior=["Nose"], posterior=["Tailroot"], smooth_window=5)
    tv = best_of(lambda: P.clean(vds, **kwargs), args.repeats)
    print(f"behavnb clean, vame-tests tiled to 1 h ({vds.sizes['time']} frames x {vds.sizes['keypoint']} keypoints): {tv:.3f} s")
    if args.vame_python:
        out = subprocess.run([args.vame_python, str(ROOT / "benchmarks" / "vame_reference.py"), "--input", str(csv),
                              "--hours", "1", "--fps", "30"], capture_output=True, text=True, check=True)
        ref = json.loads(out.stdout.strip().splitlines()[-1])
        io = ref.get("io_roundtrip_s", 0.0) * len(ref["steps"])
        print(f"vame-py {ref['version']}: {ref['total_s']:.3f} s ({json.dumps(ref['steps'])}); "
              f"without its per-step file I/O ~{ref['total_s'] - io:.3f} s")
        print(f"ratio vame-py / behavnb: {ref['total_s'] / tv:.1f}x (compute only: {(ref['total_s'] - io) / tv:.1f}x)")


if __name__ == "__main__":
    main()
