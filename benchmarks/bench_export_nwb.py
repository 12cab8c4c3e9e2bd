"""NWB export speed: ``behavnb.export.nwb.export_nwb`` of a finished run directory (target: the 25-session demo
study in <= 30 s on a 2-core CPU, validation included).

    . .venv/bin/activate
    behavnb run --dataset synthetic-demo --profile fast --project-dir /tmp/fastrun   # once, if needed
    python benchmarks/bench_export_nwb.py --project-dir /tmp/fastrun [--out /tmp/nwb-bench] [--repeats 1]

Timed, in this process, after ``import behavnb`` (pynwb and the extensions are imported by the first export and
counted in it, as a user's first call would):

- ``export_nwb(..., validate=True)``: the default call, one file per session, each validated before it takes its
  place (the target);
- ``export_nwb(..., validate=False, overwrite=True)``: writing only;
- validation alone: ``validate_nwb`` (the specs read once) and ``pynwb.validate(path=...)`` (as pynwb does it,
  specs re-read per file) over the same files.

Printed: sessions, frames, seconds, MB written, per-session seconds; the last stdout line is JSON.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import warnings
from importlib.metadata import version
from pathlib import Path

from _machine import report  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

TARGET_S = 30.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--project-dir", required=True, help="a finished run directory (06 and 08 done)")
    ap.add_argument("--out", default=None, help="output folder (default: a temporary one, removed afterwards)")
    ap.add_argument("--motifs", default=None, help="a folder under motifs/ (default: the newest vame-hmm-*)")
    ap.add_argument("--repeats", type=int, default=1, help="timed runs of the writing-only export (median)")
    args = ap.parse_args()

    import behavnb  # noqa: F401  (not counted)
    from behavnb.export import load_results

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="bench-nwb-"))
    for old in out.glob("*.nwb"):  # an earlier run's files only: --out may hold other things
        old.unlink()
    try:
        t = time.perf_counter()
        from behavnb.export.nwb import export_nwb, validate_nwb

        paths = export_nwb(args.project_dir, out, motifs=args.motifs, progress=False)
        full = time.perf_counter() - t
        write = []
        for _ in range(max(args.repeats, 1)):
            t = time.perf_counter()
            export_nwb(args.project_dir, out, motifs=args.motifs, progress=False, overwrite=True, validate=False)
            write.append(time.perf_counter() - t)
        write_s = sorted(write)[len(write) // 2]
        t = time.perf_counter()
        errors = sum(len(validate_nwb(p)) for p in paths)
        ours = time.perf_counter() - t
        import pynwb

        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            errors_pynwb = sum(len(pynwb.validate(path=str(p))) for p in paths)
        theirs = time.perf_counter() - t
        results = load_results(args.project_dir, args.motifs)
        frames = int(len(results.labels))
        mb = sum(p.stat().st_size for p in paths) / 2**20
    finally:
        if not args.out:
            shutil.rmtree(out, ignore_errors=True)
    n = len(paths)
    versions = {m: version(m) for m in ("pynwb", "hdmf", "ndx-pose", "ndx-ethogram", "ndx-vame")}
    cmd = "python " + " ".join(sys.argv)
    rows = [f"| export_nwb (validate=True, default) | {n} | {frames:,} | {full:.1f} | {full / n:.2f} | {mb:.1f} | "
            f"{'yes' if full <= TARGET_S else 'NO'} (<= {TARGET_S:.0f} s) |",
            f"| export_nwb (validate=False), median of {len(write)} | {n} | {frames:,} | {write_s:.1f} | "
            f"{write_s / n:.2f} | {mb:.1f} | |",
            f"| validate_nwb, all files ({errors} errors) | {n} | | {ours:.1f} | {ours / n:.2f} | | |",
            f"| pynwb.validate(path=...), all files ({errors_pynwb} errors) | {n} | | {theirs:.1f} | {theirs / n:.2f} "
            f"| | |"]
    print(f"command: {cmd}")
    report(["step", "sessions", "frames", "seconds", "s/session", "MB written", "target"], rows,
           {"sessions": n, "frames": frames, "export_s": round(full, 2), "write_only_s": round(write_s, 2),
            "validate_s": round(ours, 2), "pynwb_validate_s": round(theirs, 2), "mb": round(mb, 1),
            "errors": errors, "pynwb_errors": errors_pynwb, "target_s": TARGET_S, "versions": versions})
    return 0 if errors == 0 and errors_pynwb == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
