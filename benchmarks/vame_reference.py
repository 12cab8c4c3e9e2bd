"""Time vame-py's default pose preprocessing (reference side of the preprocessing benchmark).

Run ONLY with a separate vame-py venv (vame-py is GPL: we call it, we never copy it):

    python3.11 -m venv /tmp/vamevenv
    /tmp/vamevenv/bin/pip install torch==2.13.0          # CPU wheel; install first
    /tmp/vamevenv/bin/pip install vame-py==0.13.0 "matplotlib<3.11"
    /tmp/vamevenv/bin/python benchmarks/vame_reference.py \
        --input /work/shared/data/vame-tests/cropped_video.csv --hours 1 --fps 30

What it does: tiles the DLC CSV to ``hours * 3600 * fps`` frames, creates a throw-away
VAME project (``vame.init_new_project``, untimed setup) and then times, with
``time.perf_counter``, the four steps ``vame.preprocessing`` runs by default, called one by
one with the same arguments the wrapper uses (so each can be timed):

  lowconf_cleaning                 conf < config["pose_confidence"] (0.99) -> NaN, np.interp
  egocentrically_align_and_center  centre on Nose, rotate so Tailroot lies on -y (per-frame loop)
  outlier_cleaning                 |z| > iqr_factor (4) * IQR(z) -> NaN, np.interp
  savgol_filtering                 scipy savgol_filter, window 5, order 2

(rescaling is off by default in vame.preprocessing and is not timed.) Every vame step reads
the session's netCDF file from the project, computes, and rewrites the file, so each time
includes that I/O; ``io_roundtrip_s`` is one such read+write alone, for reference.
Times are the best of 3 repeats (1 if a repeat takes > 60 s). The last stdout line is JSON.
"""
import argparse
import json
import logging
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np
import vame
from vame.io.load_poses import read_pose_estimation_file
from vame.preprocessing.alignment import egocentrically_align_and_center
from vame.preprocessing.cleaning import lowconf_cleaning, outlier_cleaning
from vame.preprocessing.filter import savgol_filtering


def tile_dlc_csv(src: Path, dst: Path, n_frames: int) -> int:
    """Repeat the data rows of a DLC CSV (3 header rows) to n_frames rows, renumbering the index."""
    lines = src.read_text().splitlines()
    header, rows = lines[:3], [ln.split(",", 1)[1] for ln in lines[3:] if ln]
    with dst.open("w") as f:
        f.write("\n".join(header) + "\n")
        for i in range(n_frames):
            f.write(f"{i},{rows[i % len(rows)]}\n")
    return len(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", required=True, type=Path, help="DeepLabCut CSV")
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--center", default="Nose", help="centered_reference_keypoint")
    ap.add_argument("--orient", default="Tailroot", help="orientation_reference_keypoint")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    logging.disable(logging.INFO)  # vame logs every step at INFO to stderr

    n_frames = int(round(args.hours * 3600 * args.fps))
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "session.csv"
        tile_dlc_csv(args.input, csv, n_frames)
        t0 = time.perf_counter()
        _, config = vame.init_new_project(
            project_name="bench", poses_estimations=[str(csv)], source_software="DeepLabCut",
            working_directory=tmp, fps=args.fps,
        )
        init_s = time.perf_counter() - t0
        nc = Path(config["project_path"]) / "data" / "processed" / "session_processed.nc"

        # Same call sequence / variable names as vame.preprocessing(config, center, orient).
        steps = {
            "lowconf_cleaning": lambda: lowconf_cleaning(
                config, read_from_variable="position",
                save_to_variable="position_cleaned_lowconf", save_logs=False),
            "egocentric_alignment": lambda: egocentrically_align_and_center(
                config, centered_reference_keypoint=args.center,
                orientation_reference_keypoint=args.orient,
                read_from_variable="position_cleaned_lowconf",
                save_to_variable="position_egocentric_aligned", save_logs=False),
            "outlier_cleaning": lambda: outlier_cleaning(
                config, read_from_variable="position_egocentric_aligned",
                save_to_variable="position_processed", save_logs=False),
            "savgol_filtering": lambda: savgol_filtering(
                config, read_from_variable="position_processed",
                save_to_variable="position_processed", save_logs=False),
        }
        best = {name: float("inf") for name in steps}
        for rep in range(args.repeats):
            rep_total = 0.0
            for name, fn in steps.items():
                t0 = time.perf_counter()
                fn()
                dt = time.perf_counter() - t0
                best[name] = min(best[name], dt)
                rep_total += dt
            if rep_total > 60:
                break

        # I/O overhead each vame step pays: read the project netCDF and write it back.
        t0 = time.perf_counter()
        _, _, ds = read_pose_estimation_file(file_path=str(nc))
        ds.to_netcdf(path=str(nc), engine="netcdf4")
        io_s = time.perf_counter() - t0

        # Sanity checks on the final dataset.
        aligned = ds["position_egocentric_aligned"].sel(individuals=ds.individuals[0])
        proc = ds["position_processed"].sel(individuals=ds.individuals[0])
        checks = {
            "frames": int(ds.sizes["time"]),
            "nan_processed": int(np.isnan(proc.values).sum()),
            "center_max_abs_aligned": float(np.abs(aligned.sel(keypoints=args.center)).max()),
            "center_max_abs_processed": float(np.abs(proc.sel(keypoints=args.center)).max()),
            "orient_max_abs_x_aligned": float(np.abs(aligned.sel(keypoints=args.orient, space="x")).max()),
            "orient_max_y_aligned": float(aligned.sel(keypoints=args.orient, space="y").max()),
            "pct_lowconf": float(ds["percentage_low_confidence"].values.mean()),
            "pct_iqr_outliers": float(ds["percentage_iqr_outliers"].values.mean()),
        }

    print(json.dumps({
        "tool": "vame-py", "version": version("vame-py"), "frames": n_frames,
        "keypoints": int(ds.sizes["keypoints"]),
        "steps": {k: round(v, 4) for k, v in best.items()},
        "total_s": round(sum(best.values()), 4),
        "io_roundtrip_s": round(io_s, 4), "init_project_s": round(init_s, 4),
        "repeats": rep + 1, "reference_keypoints": [args.center, args.orient], "checks": checks,
    }))


if __name__ == "__main__":
    main()
