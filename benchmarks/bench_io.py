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
3. The CSV against vame-py's way of reading it, in ``--pairs`` interleaved rounds (the order alternating, so that
   machine load hits every side alike; median [min-max]): behavnb's ``load_poses(csv)``; the plain pandas read
   of a DLC CSV, ``pd.read_csv(csv, header=[0, 1, 2], index_col=0).to_numpy()`` (a floor for any pandas-based
   reader); and movement's ``from_dlc_file(csv)``, which vame-py 0.13's ``load_pose_estimation`` calls.
4. Peak memory of one CSV load in a fresh process (VmHWM after a reset, over the RSS after the imports), for
   ``load_poses`` and for the pandas read, in MB and as a multiple of the file size (target <= 2x).
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


def peak_rss_mb(path: Path, fps: float, statement: str | None = None) -> float:
    """Peak RSS increase (MB) of ``load_poses(path)`` (or ``statement``, which may use ``path``) in a new
    interpreter, over the RSS after the imports (Linux: the peak is reset through ``/proc/self/clear_refs``
    first, so the imports' own peak does not hide it). A small CSV is loaded first so that lazy imports
    (pyarrow's CSV reader, xarray's backends) are not counted as the load's memory."""
    small = path.with_name("warmup_" + path.name)
    if not small.exists():
        with open(path, "rb") as src, open(small, "wb") as dst:
            dst.writelines(line for _, line in zip(range(50), src, strict=False))
    statement = statement or f"load_poses(path, fps={fps})"
    code = ("import re; from pathlib import Path; from behavnb.io import load_poses; import numpy, pandas, xarray; "
            "kb = lambda k: int(re.search(k + r':\\s+(\\d+)', open('/proc/self/status').read()).group(1)); "
            f"path = Path({str(small)!r}); {statement}; path = Path({str(path)!r}); "
            "open('/proc/self/clear_refs', 'w').write('5'); b = kb('VmRSS'); "
            f"{statement}; "
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


def interleaved(sides: dict, pairs: int) -> dict[str, list[float]]:
    """Seconds per call of each side over ``pairs`` rounds, after one warm-up each; the order alternates per round."""
    for fn in sides.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in sides}
    for r in range(pairs):
        for name in (list(sides) if r % 2 == 0 else list(sides)[::-1]):
            gc.collect()
            t0 = time.perf_counter()
            sides[name]()
            times[name].append(time.perf_counter() - t0)
    return times


def median_range(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} [{min(values):.3f}-{max(values):.3f}]"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=108_000, help="frames to generate (default: 1 h at 30 fps)")
    ap.add_argument("--keypoints", type=int, default=12)
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--repeats", type=int, default=5, help="timed runs per measurement (median reported)")
    ap.add_argument("--keep", type=Path, default=None, help="write the generated files here and keep them")
    ap.add_argument("--skip-movement", action="store_true", help="do not time movement's loader")
    ap.add_argument("--skip-csv", action="store_true", help="do not write or time the CSV")
    ap.add_argument("--pairs", type=int, default=5, help="interleaved rounds of the CSV comparison")
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
            sides = {"behavnb `load_poses` CSV": lambda: load_poses(csv, fps=args.fps),
                     "pandas `read_csv(header=[0, 1, 2], index_col=0)` (vame-py style)":
                         lambda: pd.read_csv(csv, header=[0, 1, 2], index_col=0).to_numpy()}
            if not args.skip_movement:
                from movement.io import load_poses as mload

                sides["movement `from_dlc_file` CSV (what vame-py 0.13 calls)"] = lambda: mload.from_dlc_file(csv, fps=args.fps)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                csv_times = interleaved(sides, args.pairs)
            mb = csv.stat().st_size / 2**20
            print(f"\nCSV, {args.pairs} interleaved rounds, seconds median [min-max]:", flush=True)
            for name, ts in csv_times.items():
                print(f"  {name}: {median_range(ts)}", flush=True)
            for name, stmt in (("behavnb load_poses", None),
                               ("pandas read_csv(header=[0, 1, 2]).to_numpy()",
                                "pandas.read_csv(path, header=[0, 1, 2], index_col=0).to_numpy()")):
                mem = [peak_rss_mb(csv, args.fps, stmt) for _ in range(3)]
                print(f"{name} CSV, fresh process: peak RSS +{statistics.median(mem):.0f} MiB "
                      f"[{min(mem):.0f}-{max(mem):.0f}] for a {mb:.1f} MiB file "
                      f"({statistics.median(mem) / mb:.2f}x the file)", flush=True)
            rows.append(("behavnb `load_poses` CSV", timed(lambda: load_poses(csv, fps=args.fps), args.repeats), "-"))
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
