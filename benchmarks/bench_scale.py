"""The pipeline at lab scale: N sessions x 30 min through import, cleaning, windows, VAME, embedding and the HMM.

    . /work/venv/bin/activate
    python benchmarks/bench_scale.py --sessions 5 10 20          # each N in its own process (its own peak memory)
    python benchmarks/bench_scale.py --sessions 20 --only embed   # one phase's figures (the others still run)

A synthetic cohort of 20 single-animal sessions of 30 min at 30 fps (54,000 frames, 14 keypoints) is generated
once into ``--data`` (DeepLabCut CSVs, ~300 MB; not timed). Each N then runs in a fresh process, with the package's
own calls in the notebooks' order and defaults:

- ``load``: ``manifest.load_sessions`` (01); ``clean``: 02's pipeline and QC; ``features``: 04's extra inputs;
- ``windows``: ``windows.build`` (04's window, future steps and split); ``train``: VAME ``cpu_fast`` at the demo
  budget (10 epochs x 8,000 windows; independent of N);
- ``embed``: ``embed.embed_sessions`` of every frame; ``hmm``: 06's ``HMMMotifs(covariance="tied", sticky=10)`` fitted
  on all frames and ``predict``; ``tables``: bouts and usage.

Per phase: wall time and the peak resident memory during the phase (sampled every 20 ms); at the end the process's
peak (VmHWM). One JSON line per N.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

FPS, MINUTES, N_MAX = 30.0, 30, 20


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class Phases:
    """Wall time and peak RSS per named phase, from a sampling thread."""

    def __init__(self) -> None:
        self.rows: dict[str, dict] = {}
        self._peak = 0.0
        self._stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self._peak = max(self._peak, rss_mb())

    def run(self, name: str, fn, *args, **kwargs):
        self._peak = rss_mb()
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        self.rows[name] = {"s": round(time.perf_counter() - t0, 2), "peak_mb": round(max(self._peak, rss_mb()))}
        print(f"  {name}: {self.rows[name]}", file=sys.stderr, flush=True)
        return out


def generate(data: Path) -> None:
    import behavnb as bn

    if (data / "sessions.csv").exists():
        return
    t0 = time.perf_counter()
    bn.synth.make_cohort(data, animals_per_group=N_MAX // 2, sessions_per_animal=1, duration_s=MINUTES * 60, fps=FPS,
                         seed=0)
    print(f"generated {N_MAX} sessions x {MINUTES} min in {time.perf_counter() - t0:.0f} s -> {data}", file=sys.stderr)


def one(data: Path, n: int, seed: int) -> dict:
    import pandas as pd
    import torch

    import behavnb as bn
    from behavnb.models import vame

    P = bn.preprocess
    rt = bn.runtime.setup("demo", "cpu", seed)
    ph = Phases()
    table = bn.manifest.sessions(data)
    table = table[table["session"].isin(sorted(table["session"])[:n])]  # the same first n sessions every time
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        poses = ph.run("load", bn.manifest.load_sessions, table, progress=False)
        skeleton = bn.skeleton.infer_skeleton(poses, cutoff=0.6)
        poses = {s: bn.skeleton.attach(ds, skeleton) for s, ds in poses.items()}
        pipeline = P.Pipeline(confidence=0.6, max_gap="0.5s", smoothing="savgol", smooth_window="0.2s",
                              landmarks=skeleton.landmarks, drop=skeleton.excluded)
        cleaned, _, _ = ph.run("clean", P.clean_sessions, poses, pipeline, max_missing=20.0,
                               max_reference_missing=20.0, min_frames=32, progress=False)
        del poses
        first = next(iter(cleaned.values()))
        names = bn.features.supported(first, bn.features.MODEL_FEATURES)

        def features():
            return {s: bn.inputs.extra_features(bn.features.compute(ds, include=names), names, log_speeds=True)
                    for s, ds in cleaned.items()}

        extras = ph.run("features", features)
        window = 15  # 04's default at 30 fps: 0.5 s
        matrices = bn.inputs.session_matrices(cleaned, extras)
        ws = ph.run("windows", bn.windows.build, matrices, window, future=window, test_fraction=0.2, seed=seed)
        del matrices
        arch = dataclasses.replace(vame.PRESETS["cpu_fast"], TEMPORAL_WINDOW=window, FUTURE_STEPS=window)
        torch.manual_seed(seed)
        model = arch.build(len(ws.names))
        config = bn.train.TrainConfig(**rt.budget("vame"), device="cpu", seed=seed, **vame.PRESET_TRAINING["cpu_fast"],
                                      eval_windows=4_000)
        result = ph.run("train", bn.train.fit, model, ws, config, loss=vame.VAMELoss(beta=0.1, future_to_encoder=False),
                        progress=False)
        normalizer = ws.normalizer
        del ws
        latents = ph.run("embed", bn.embed.embed_sessions, result.model, cleaned, normalizer, extra=extras,
                         progress=False)
        del extras
        k = 8

        def hmm():
            m = bn.segment.HMMMotifs(k, seed=seed, covariance="tied", sticky=10.0).fit(latents)
            return m, m.predict(latents)

        _, labels = ph.run("hmm", hmm)

        def tables():
            bouts = bn.segment.bouts(labels)
            return bn.codes.usage(labels, k), bn.segment.bout_stats(bouts, labels, k)

        ph.run("tables", tables)
    frames = sum(z.sizes["time"] for z in latents.values())
    with open("/proc/self/status") as f:
        hwm = next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmHWM"))
    return {"sessions": n, "frames": int(frames), "threads": rt.threads, "torch": torch.__version__,
            "total_s": round(sum(r["s"] for r in ph.rows.values()), 1), "peak_mb": round(hwm),
            "embed_frames_per_s": round(frames / ph.rows["embed"]["s"]),
            "hmm_frames_per_s": round(frames / ph.rows["hmm"]["s"]), "phases": ph.rows,
            "pandas": pd.__version__}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, nargs="+", default=[5, 10, 20])
    ap.add_argument("--data", type=Path, default=Path("/tmp/behavnb-scale-data"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(one(args.data, args.child, args.seed)), flush=True)
        return
    generate(args.data)
    for n in args.sessions:
        if not 1 <= n <= N_MAX:
            raise SystemExit(f"--sessions {n}: choose 1-{N_MAX}")
        subprocess.run([sys.executable, __file__, "--child", str(n), "--data", str(args.data), "--seed",
                        str(args.seed)], check=True)


if __name__ == "__main__":
    main()
