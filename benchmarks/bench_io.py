"""Benchmark behavnb's import time and pose loading against the targets (import <= 1 s, 1-h H5 load <= 2 s).

Usage::

    python benchmarks/bench_io.py                 # 1 h at 30 fps (108,000 frames), 12 keypoints
    python benchmarks/bench_io.py --frames 9000 --repeats 3 --keep /tmp/bench

What it measures

1. ``import behavnb`` in a fresh interpreter (``python -c``), median of ``--repeats`` runs: the time of the
   import statement itself (timed inside the child) and the whole child process wall time.
2. A synthetic single-animal DeepLabCut file, written the way DeepLabCut writes it
   (``df.to_hdf(path, key="df_with_missing", format="table", mode="w")``, pandas MultiIndex columns
   scorer/bodyparts/coords, x/y/likelihood) plus the same table as CSV; then, in this process, one
   warm-up and ``--repeats`` timed calls (median) of ``behavnb.io.load_poses(path, fps=30)`` for H5 and CSV,
   and of movement's ``movement.io.load_poses.from_dlc_file(path, fps=30)`` on the same H5 for comparison.
"""

from __future__ import annotations

import argparse
import gc
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from _machine import machine  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

TARGET_IMPORT_S = 1.0
TARGET_H5_S = 2.0
SCORER = "DLC_resnet50_benchApr1shuffle1_100000"


def in_fresh_process(statement: str, repeats: int) -> tuple[list[float], list[float]]:
    """(seconds of ``statement`` timed inside a new interpreter, that child's wall seconds) per run."""
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    inner, wall = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        wall.append(time.perf_counter() - t0)
        inner.append(float(out.stdout.strip().splitlines()[-1]))
    return inner, wall


def peak_rss_mb(path: Path, fps: float) -> float:
    """Peak RSS increase (MB) of ``load_poses(path)`` in a new interpreter, over the RSS after the imports (Linux:
    the peak is reset through ``/proc/self/clear_refs`` first, so the imports' own peak does not hide it)."""
    code = ("import re; from behavnb.io import load_poses; import numpy, pandas, xarray; "
            "kb = lambda k: int(re.search(k + r':\\s+(\\d+)', open('/proc/self/status').read()).group(1)); "
            "open('/proc/self/clear_refs', 'w').write('5'); b = kb('VmRSS'); "
            f"load_poses({str(path)!r}, fps={fps}); "
            "print((kb('VmHWM') - b) / 1024)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def make_table(n_frames: int, n_keypoints: int, seed: int = 0):
    """A DLC single-animal predictions table: a random-walking mouse, float32-precision values like DLC's."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    centre = np.cumsum(rng.normal(0, 2.0, size=(n_frames, 2)), axis=0) + 300.0
    offsets = rng.normal(0, 20.0, size=(1, n_keypoints, 2))
    xy = centre[:, None, :] + offsets + rng.normal(0, 1.5, size=(n_frames, n_keypoints, 2))
    likelihood = rng.beta(8, 1, size=(n_frames, n_keypoints, 1))
    values = np.concatenate([xy, likelihood], axis=2).astype(np.float32).astype(np.float64)
    bodyparts = [f"kp{k:02d}" for k in range(n_keypoints)]
    columns = pd.MultiIndex.from_product([[SCORER], bodyparts, ["x", "y", "likelihood"]],
                                         names=["scorer", "bodyparts", "coords"])
    return pd.DataFrame(values.reshape(n_frames, -1), columns=columns)


def timed(fn, repeats: int) -> list[float]:
    """One untimed warm-up call, then ``repeats`` timed calls."""
    fn()
    out = []
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def fmt(values: list[float]) -> str:
    return f"{statistics.median(values):.4f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=108_000, help="frames to generate (default: 1 h at 30 fps)")
    ap.add_argument("--keypoints", type=int, default=12)
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--repeats", type=int, default=5, help="timed runs per measurement (median reported)")
    ap.add_argument("--keep", type=Path, default=None, help="write the generated files here and keep them")
    ap.add_argument("--skip-movement", action="store_true", help="do not time movement's loader")
    ap.add_argument("--skip-csv", action="store_true", help="do not write or time the CSV")
    args = ap.parse_args(argv)

    print(f"machine: {machine()}", flush=True)
    inner, wall = in_fresh_process("import behavnb", args.repeats)
    io_inner, _ = in_fresh_process("import behavnb.io", args.repeats)
    _, bare = in_fresh_process("pass", args.repeats)
    print(f"import behavnb: {fmt(inner)} s (child process {fmt(wall)} s, bare interpreter {fmt(bare)} s); "
          f"import behavnb.io: {fmt(io_inner)} s", flush=True)

    import pandas as pd

    import behavnb
    from behavnb.io import load_poses

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="behavnb-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        df = make_table(args.frames, args.keypoints)
        h5 = workdir / f"benchsession{SCORER}.h5"
        csv = h5.with_suffix(".csv")
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PyTables' NaturalNameWarning etc.
            df.to_hdf(h5, key="df_with_missing", format="table", mode="w")
        t_h5 = time.perf_counter() - t0
        print(f"wrote {h5.name}: {h5.stat().st_size / 1e6:.1f} MB in {t_h5:.1f} s", flush=True)
        if not args.skip_csv:
            t0 = time.perf_counter()
            df.to_csv(csv)
            print(f"wrote {csv.name}: {csv.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - t0:.1f} s", flush=True)
        ref = df.to_numpy()
        del df

        rows: list[tuple[str, list[float] | None, str]] = []
        ds = load_poses(h5, fps=args.fps)
        assert ds.sizes["time"] == args.frames and ds.sizes["keypoint"] == args.keypoints, dict(ds.sizes)
        assert np.array_equal(ds["position"].values[:, 0, :, 0], ref[:, 0::3]), "H5 x values differ"
        rows.append(("behavnb `load_poses` H5", timed(lambda: load_poses(h5, fps=args.fps), args.repeats),
                     f"<= {TARGET_H5_S:g} s"))
        if not args.skip_csv:
            ds = load_poses(csv, fps=args.fps)
            assert np.array_equal(ds["confidence"].values[:, :, 0], ref[:, 2::3]), "CSV likelihoods differ"
            rows.append(("behavnb `load_poses` CSV", timed(lambda: load_poses(csv, fps=args.fps), args.repeats), "-"))
            mem = [peak_rss_mb(csv, args.fps) for _ in range(2)]
            print(f"load_poses CSV, fresh process: peak RSS +{max(mem):.0f} MB for a {csv.stat().st_size / 1e6:.1f} MB "
                  f"file ({max(mem) / (csv.stat().st_size / 2**20):.1f}x)", flush=True)
        cold, _ = in_fresh_process(f"from behavnb.io import load_poses; load_poses({str(h5)!r}, fps={args.fps})",
                                   args.repeats)
        rows.append(("fresh process: `import behavnb.io` + first H5 load", cold, "-"))
        if not args.skip_movement:
            from movement.io import load_poses as mload

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rows.append(("movement `from_dlc_file` H5",
                             timed(lambda: mload.from_dlc_file(h5, fps=args.fps), args.repeats), "(comparison)"))
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)

    import movement

    print()
    print(f"behavnb {behavnb.__version__}, movement {movement.__version__}, pandas {pd.__version__}, "
          f"numpy {np.__version__}; {args.frames} frames x {args.keypoints} keypoints, single animal; "
          f"median of {args.repeats} (after 1 warm-up for loads)")
    print()
    print("| measurement | median (s) | min (s) | target | ok |")
    print("|---|---|---|---|---|")
    ok_import = statistics.median(inner) <= TARGET_IMPORT_S
    print(f"| `import behavnb` (fresh process) | {fmt(inner)} | {min(inner):.4f} | <= {TARGET_IMPORT_S:g} s | "
          f"{'yes' if ok_import else 'NO'} |")
    print(f"| python startup + `import behavnb` (child wall; bare python {fmt(bare)}) | {fmt(wall)} | {min(wall):.4f} | - | |")
    print(f"| `import behavnb.io` (fresh process) | {fmt(io_inner)} | {min(io_inner):.4f} | - | |")
    all_ok = ok_import
    for name, times, target in rows:
        ok = ""
        if target.startswith("<="):
            ok = "yes" if statistics.median(times) <= TARGET_H5_S else "NO"
            all_ok &= ok == "yes"
        print(f"| {name} | {fmt(times)} | {min(times):.4f} | {target} | {ok} |")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
