"""VQ-MAP speed: one training epoch over 50,000 frames and embedding frames/s, default-size model.

    . .venv/bin/activate
    python benchmarks/bench_vqmap.py [--device cpu|cuda] [--sessions 6]

Data: the first ``--sessions`` cleaned sessions of ``synthetic-demo`` (9,000 frames each, 14
keypoints, positions + body-frame velocities: 56 columns). "An epoch over 50k frames" is 50,000 / 32
= 1,563 windows of 32 frames, i.e. every frame seen once (``windows_per_epoch``), batch 128; the first
epoch is warm-up and not counted. Embedding: ``embed.embed_codes_array`` on every session (overlapping
windows, stride 16: each frame is encoded twice), frames per second of session. Both in float32 and,
where the device has it, with mixed precision (bfloat16 on CPUs with native support, float16 on CUDA).

The last stdout line is JSON; the table for RESULTS.md is printed above it.
"""
from __future__ import annotations

import argparse
import json
import time
import warnings

import torch

import behavnb as bn
from behavnb import embed, train, windows as W
from behavnb.models import vqmap
from behavnb.runtime import autocast_dtype


def sessions(n: int) -> dict:
    table = bn.manifest.sessions("synthetic-demo").iloc[:n]
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _, row in table.iterrows():
            out[row["session"]] = bn.preprocess.clean(bn.io.load_poses(row["file"], fps=float(row["fps"])),
                                                       px_per_cm=float(row["px_per_cm"]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--sessions", type=int, default=6)
    ap.add_argument("--frames", type=int, default=50_000)
    ap.add_argument("--epochs", type=int, default=3)
    args = ap.parse_args()
    cleaned = sessions(args.sessions)
    sk = bn.inputs.Skeleton.from_dataset(next(iter(cleaned.values())))
    ws = W.build(bn.inputs.vqmap_matrices(cleaned, sk), 32, fit_normalizer=bn.inputs.vqmap_normalizer)
    arch = vqmap.VQMAPConfig(skeletons=vqmap.skeleton_config({"demo": sk}))
    n_windows = args.frames // arch.window
    results, rows = {"device": args.device, "threads": torch.get_num_threads(), "windows_per_epoch": n_windows}, []
    precisions = [False] + (["auto"] if autocast_dtype(args.device, "auto") is not None else [])
    for amp in precisions:
        torch.manual_seed(0)
        model = arch.build()
        cfg = train.TrainConfig(epochs=args.epochs, windows_per_epoch=n_windows, batch_size=128, lr=1e-3, amp=amp,
                                device=args.device, eval_windows=500, early_stop=None)
        res = train.fit(model, ws, cfg, loss=vqmap.VQMAPLoss(), progress=False)
        h = res.history.iloc[1:]  # the first epoch is warm-up
        epoch_s = float((n_windows / h["windows_per_s"]).mean())
        name = "fp32" if amp is False else str(autocast_dtype(args.device, amp)).replace("torch.", "")
        frames = sum(ds.sizes["time"] for ds in cleaned.values())
        mats = {k: ws.normalizer.transform(x, n) for k, (x, n) in bn.inputs.vqmap_matrices(cleaned, sk).items()}
        model = res.model
        embed.embed_codes_array(model, next(iter(mats.values()))[:2000], amp=amp)  # warm-up
        t0 = time.perf_counter()
        for x in mats.values():
            embed.embed_codes_array(model, x, amp=amp)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        emb = frames / (time.perf_counter() - t0)
        results[name] = {"epoch_s_50k_frames": epoch_s, "train_windows_per_s": float(h["windows_per_s"].mean()),
                         "embed_frames_per_s": emb}
        rows.append(f"| {name} | {epoch_s:.2f} | {float(h['windows_per_s'].mean()):.0f} | {emb:,.0f} |")
    print("| precision | epoch over 50k frames (s) | training windows/s | embedding frames/s |")
    print("|---|---|---|---|")
    print("\n".join(rows))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
