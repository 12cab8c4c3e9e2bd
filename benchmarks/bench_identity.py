"""Benchmark behavnb's identity handling of multi-animal tracks against planted truth (goal: swap repair
precision and recall >= 0.9).

Usage::

    python benchmarks/bench_identity.py                 # seeds 100-109, 5-minute sessions
    python benchmarks/bench_identity.py --seeds 10 --duration 600

What it measures, per seed (one 2- or 3-mouse session of ``make_cohort(animals_per_session=2)``, confidence
filter 0.6 first, as in ``Pipeline``):

1. ``repair_identity_swaps`` on identity swaps planted by the generator's noise model
   (``NoiseSpec.id_swap_*``, at any moment): the default short swaps (rate 4e-4/frame, 5-40 frames)
   and long, persisting ones (1e-3/frame, 30-300 frames); then swaps planted by
   ``synth.noise.plant_id_swaps`` only where two animals' centres are closer than 60 px (7.5 cm),
   as trackers make them, in 2- and 3-mouse sessions (1e-3/frame, 30-300 frames). Precision and
   recall per frame and individual, from ``score_filters``' "identity swap repair" row.
2. ``stitch_tracks`` on the same session without swaps, broken into fragments by
   ``synth.noise.fragment_tracks`` (a loss every 5 s or every 2 s per animal, 1-10 / 1-20 frames
   lost, plus false duplicate tracks): accuracy = fraction of the frames where an animal has a
   true fragment that end up in the identity matched to that animal (``score_stitching``).
3. The same fragmenting of a real SLEAP file (the fly courtship example, 2 flies, 3,000 frames).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import report  # noqa: E402

SWAPS = {"short swaps (default)": dict(id_swap_rate=0.0004, id_swap_frames=(5, 40)),
         "long swaps": dict(id_swap_rate=0.001, id_swap_frames=(30, 300))}
FRAGMENTS = {"fragments every 5 s": dict(break_rate=1 / 150, gap_frames=(1, 10), spurious_rate=1 / 600),
             "fragments every 2 s": dict(break_rate=1 / 60, gap_frames=(1, 20), spurious_rate=1 / 300)}


NEAR = {"2 mice, swaps near contact": dict(animals=2), "3 mice, swaps near contact": dict(animals=3)}
NEAR_PX = 60.0  # centres closer than ~7.5 cm (0.9 body length at 8 px/cm)


def session(seed: int, duration: float, animals: int = 2, **noise):
    from behavnb.preprocess import filter_confidence
    from behavnb.synth import NoiseSpec, make_cohort

    spec = NoiseSpec(missing="nan", **({"id_swap_rate": 0.0} | noise))
    cohort = make_cohort(None, groups=["WT"], animals_per_group=1, sessions_per_animal=1, duration_s=duration,
                         animals_per_session=animals, noise=spec, seed=seed)
    name, ds = next(iter(cohort.poses.items()))
    return name, filter_confidence(ds, 0.6), cohort.noise


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=100,
                        help="seeds 0-9 were used to choose stitch_tracks' end-of-chain cost; report on others")
    parser.add_argument("--duration", type=float, default=300.0, help="session length (s)")
    args = parser.parse_args()

    import pandas as pd

    import behavnb
    from behavnb.preprocess import score_filters
    from behavnb.preprocess.identity import repair_identity_swaps, score_stitching, stitch_tracks
    from behavnb.synth.noise import fragment_tracks, plant_id_swaps

    results: dict = {"versions": {"behavnb": behavnb.__version__, "numpy": np.__version__},
                     "seeds": [args.first_seed, args.first_seed + args.seeds - 1], "duration_s": args.duration}
    rows = []
    for label, noise in (SWAPS | NEAR).items():
        prec, rec, planted, secs = [], [], [], []
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            name, ds, truth = session(seed, args.duration, **noise)
            if label in NEAR:
                ds, planted_truth = plant_id_swaps(ds, rate=0.001, frames=(30, 300), near=NEAR_PX, seed=seed)
                truth = pd.concat([truth, planted_truth], ignore_index=True)
            t = time.perf_counter()
            out = repair_identity_swaps(ds)
            secs.append(time.perf_counter() - t)
            row = score_filters({name: out}, truth).set_index("filter").loc["identity swap repair"]
            planted.append(int(row["planted"]))
            if row["planted"]:
                prec.append(row["precision"] if row["flagged"] else 0.0)
                rec.append(row["recall"])
        results[label] = {"precision": prec, "recall": rec, "planted": planted, "seconds": secs}
        ok = bool(prec) and np.mean(prec) >= 0.9 and np.mean(rec) >= 0.9  # the goal, on the mean over seeds
        rows.append(f"| swap repair, {label} | {np.mean(prec):.3f} (min {min(prec):.3f}) | {np.mean(rec):.3f} "
                    f"(min {min(rec):.3f}) | | {np.mean(secs):.3f} | {ok} | {len(prec)}/{args.seeds} sessions with "
                    f"swaps, {int(np.mean(planted))} swapped frame-individuals per session |")
    for label, frag in FRAGMENTS.items():
        acc, spur, tracks, secs = [], [], [], []
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            _, ds, _ = session(seed, args.duration)
            broken, truth = fragment_tracks(ds, seed=seed, **frag)
            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = stitch_tracks(broken)
            secs.append(time.perf_counter() - t)
            score = score_stitching(out, truth)
            acc.append(score["accuracy"])
            spur.append(score["spurious_kept"])
            tracks.append(broken.sizes["individual"])
        results[label] = {"accuracy": acc, "spurious_kept": spur, "tracks": tracks, "seconds": secs}
        rows.append(f"| stitching, {label} | | | {np.mean(acc):.4f} (min {min(acc):.4f}) | {np.mean(secs):.3f} | | "
                    f"{int(np.mean(tracks))} tracks per session; false-track frames kept {np.mean(spur):.3f} |")
    data = Path(os.environ.get("BEHAVNB_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
    fly = data / "sleap-examples" / "fly_courtship_example" / "predictions.analysis.h5"
    if fly.exists():
        from behavnb.io import load_poses

        ds = load_poses(fly, fps=30)  # the file states no frame rate
        acc, tracks = [], []
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            broken, truth = fragment_tracks(ds, seed=seed, **FRAGMENTS["fragments every 5 s"])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = stitch_tracks(broken)
            acc.append(score_stitching(out, truth)["accuracy"])
            tracks.append(broken.sizes["individual"])
        results["fly courtship, fragments every 5 s"] = {"accuracy": acc, "tracks": tracks}
        rows.append(f"| stitching, real SLEAP fly file fragmented every 5 s | | | {np.mean(acc):.4f} (min {min(acc):.4f})"
                    f" | | | {int(np.mean(tracks))} tracks, 3,000 frames, fps taken as 30 |")
    report(["case", "precision", "recall", "stitch accuracy", "time (s)", "mean >= 0.9", "notes"], rows, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
