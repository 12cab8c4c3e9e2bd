"""VAME training/embedding speed and time-to-quality: behavnb against vame-py 0.13.0, same data, same run.

    . .venv/bin/activate
    python benchmarks/bench_vame.py --vame-python /tmp/vamevenv/bin/python            # speed and time-to-quality
    python benchmarks/bench_vame.py --pairs 3 --our-epochs 3   # speed only, vame-py and behavnb interleaved

(the vame-py venv: ``python3.11 -m venv /tmp/vamevenv && /tmp/vamevenv/bin/pip install torch==2.13.0 &&
/tmp/vamevenv/bin/pip install vame-py==0.13.0 "matplotlib<3.11"``; vame-py is GPL, we only run it.)

Data: the first ``--frames`` frames of one cleaned ``synthetic-demo`` session, egocentric x/y of its 14
keypoints (28 features, no extra inputs: what vame-py models); the first 80 % train, the last 20 % test.
Both sides train on the same train frames and report reconstruction R^2 on the same held-out windows
(``evaluate.scores`` definition, original units).

1. vame-py (``vame_train_reference.py``): its own dataset, DataLoader, model and epoch functions,
   default architecture and loss, ``--ref-epochs`` epochs (50): training windows/s, wall time, final R^2,
   embedding windows/s (its per-window default and its batched variant).
2. behavnb, identical architecture (``PRESETS["vame"]``) and the reference's objective
   (``REFERENCE_LOSS``, no gradient clipping): training windows/s over ``--our-epochs`` epochs
   (the first one is warm-up and not counted), embedding windows/s (``embed.embed_array``), in float32
   and, on CPUs with native bfloat16, with bfloat16 autocast.
3. behavnb time-to-quality: ``PRESETS["cpu_fast"]`` with its ``PRESET_TRAINING`` and the default
   objective and precision (``amp="auto"``), trained until its held-out R^2 reaches vame-py's final
   R^2; wall time including the per-epoch evaluation.

The last stdout line is JSON; the table for RESULTS.md is printed above it.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

import behavnb as bn
from behavnb import embed, evaluate, train, windows as W
from behavnb.models import vame

#: vame-py's default objective: summed MSE, mean KL, the cluster penalty (lambda 0.1 over 30 singular values)
REFERENCE_LOSS = vame.VAMELoss(cluster_weight=0.1, n_clusters=30, cluster="vame", reduction="vame")


def data(frames: int, seed: int = 0):
    table = bn.manifest.sessions("synthetic-demo")
    row = table.iloc[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = bn.preprocess.clean(bn.io.load_poses(row["file"], fps=float(row["fps"])), px_per_cm=float(row["px_per_cm"]))
    x, names = bn.inputs.session_matrix(ds, min_present=0.0)  # every gap interpolated: vame-py needs finite data
    x = x[:frames]
    assert np.isfinite(x).all()
    n_tr = int(0.8 * len(x))
    return x[:n_tr], x[n_tr:], names


def windowset(x_tr, x_te, names, T, future):
    """Train windows in the first session, held-out windows in the second; normaliser fitted on train only."""
    norm = bn.inputs.Normalizer().fit([x_tr], names)
    ws = W.build({"train": (x_tr, names), "test": (x_te, names)}, T, test_fraction=0.0, normalizer=norm,
                 future=future)
    split = ws.sessions["test"][0]
    ws.test = ws.train[ws.train >= split]
    ws.train = ws.train[ws.train < split]
    return ws


def r2(model, ws, starts):
    rec = evaluate.reconstruct(model, ws, starts, n=None)
    return float(evaluate.scores(rec).loc["all", "reconstruction_r2"])


def identical_speeds(ws, names, x_tr, x_te, T: int, epochs: int) -> dict[str, float]:
    """behavnb at vame-py's architecture and objective: training and embedding windows/s, float32 and bfloat16.

    ``embed_fp32_b64``: float32 at vame-py's embedding batch (64), the like-for-like figure; the others use
    behavnb's default batch (256 on a CPU).
    """
    speeds = {}
    x_all = None
    for amp in (False, True):
        if amp and not bn.runtime.cpu_has_native_bf16():
            continue
        torch.manual_seed(0)
        model = vame.PRESETS["vame"].build(len(names))
        cfg = train.TrainConfig(epochs=epochs, batch_size=256, lr=5e-4, grad_clip=None, early_stop=None,
                                eval_windows=2000, device="cpu", amp=amp)
        res = train.fit(model, ws, cfg, loss=REFERENCE_LOSS, progress=False)
        tag = "bf16" if amp else "fp32"
        speeds[f"train_{tag}"] = float(res.history["windows_per_s"].iloc[1:].mean())  # first epoch = warm-up
        x_all = ws.normalizer.transform(np.concatenate([x_tr, x_te]))
        embed.embed_array(model, x_all[:2000], T, amp=amp)  # warm-up
        t0 = time.perf_counter()
        embed.embed_array(model, x_all, T, amp=amp)
        speeds[f"embed_{tag}"] = len(x_all) / (time.perf_counter() - t0)
        if not amp:
            t0 = time.perf_counter()
            embed.embed_array(model, x_all, T, amp=False, batch_size=64)
            speeds["embed_fp32_b64"] = len(x_all) / (time.perf_counter() - t0)
        else:  # bf16 latents against float32 ones
            z16 = embed.embed_array(model, x_all, T, amp=True)
            z32 = embed.embed_array(model, x_all, T, amp=False)
            speeds["bf16_latent_corr"] = float(np.corrcoef(z16.ravel(), z32.ravel())[0, 1])
    return speeds


def pairs(args, x_tr, x_te, names, ws, T: int) -> None:
    """vame-py and behavnb alternately (A, B, A, B, ...), ``args.pairs`` rounds: median [range] of each speed."""
    out = Path(args.ref_json).parent
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "data.npz", train=x_tr, test=x_te, test_starts=ws.test - ws.sessions["test"][0])
    rows = []
    for i in range(args.pairs):
        proc = subprocess.run([args.vame_python, str(Path(__file__).with_name("vame_train_reference.py")),
                               "--data", str(out / "data.npz"), "--epochs", str(args.our_epochs),
                               "--warmup-epochs", "1", "--embed-frames", str(len(x_te))],
                              capture_output=True, text=True)
        if proc.returncode:
            sys.exit(f"vame-py reference failed:\n{proc.stderr[-3000:]}")
        ref = json.loads(proc.stdout.strip().splitlines()[-1])
        ours = identical_speeds(ws, names, x_tr, x_te, T, args.our_epochs)
        row = {"pair": i, "vame_train": ref["train_windows_per_s"], "vame_embed": ref["embed_windows_per_s_optimized"],
               "vame_embed_default": ref["embed_windows_per_s_default"], **ours}
        rows.append(row)
        print(json.dumps(row), flush=True)
    table = {k: [r[k] for r in rows] for k in rows[0] if k != "pair"}
    ratio = {k: [r[k] / r["vame_train" if k.startswith("train") else "vame_embed"] for r in rows]
             for k in rows[0] if k.startswith(("train_", "embed_"))}

    def fmt(v, digits=0):
        return f"{np.median(v):,.{digits}f} [{min(v):,.{digits}f}-{max(v):,.{digits}f}]"

    print("| measurement | vame-py 0.13.0 | behavnb | behavnb / vame-py (per pair) |")
    print("|---|---|---|---|")
    for k, label in (("train_fp32", "training windows/s, float32"), ("train_bf16", "training windows/s, bfloat16"),
                     ("embed_fp32_b64", "embedding windows/s, float32, batch 64 (vame-py's)"),
                     ("embed_fp32", "embedding windows/s, float32, batch 256 (behavnb's)"),
                     ("embed_bf16", "embedding windows/s, bfloat16, batch 256 (behavnb's default here)")):
        if k in table:
            base = "vame_train" if k.startswith("train") else "vame_embed"
            print(f"| {label} | {fmt(table[base])} | {fmt(table[k])} | {fmt(ratio[k], 2)}x |")
    print(json.dumps({"pairs": rows, "machine": {"torch": torch.__version__, "threads": torch.get_num_threads()}}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vame-python", default="/tmp/vamevenv/bin/python")
    ap.add_argument("--frames", type=int, default=5000)
    ap.add_argument("--ref-epochs", type=int, default=50)
    ap.add_argument("--our-epochs", type=int, default=3)
    ap.add_argument("--max-fast-epochs", type=int, default=60)
    ap.add_argument("--skip-reference", action="store_true", help="reuse --ref-json instead of running vame-py")
    ap.add_argument("--ref-json", default="/tmp/bench_vame/reference.json")
    ap.add_argument("--pairs", type=int, default=0,
                    help="speed only: vame-py and behavnb alternately, this many rounds (--our-epochs each, the first "
                         "one not counted); median and range")
    args = ap.parse_args()
    T, FUT = 30, 15
    x_tr, x_te, names = data(args.frames)
    ws = windowset(x_tr, x_te, names, T, FUT)
    test_starts = ws.test  # windows of T + FUT frames; R^2 on their first T
    print(f"{len(x_tr)} train + {len(x_te)} test frames, {len(names)} features; {len(ws.train)} train windows")
    if args.pairs:
        return pairs(args, x_tr, x_te, names, ws, T)

    out = Path(args.ref_json).parent
    out.mkdir(parents=True, exist_ok=True)
    if not args.skip_reference:
        np.savez(out / "data.npz", train=x_tr, test=x_te, test_starts=test_starts - ws.sessions["test"][0])
        t0 = time.perf_counter()
        proc = subprocess.run([args.vame_python, str(Path(__file__).with_name("vame_train_reference.py")),
                               "--data", str(out / "data.npz"), "--epochs", str(args.ref_epochs)],
                              capture_output=True, text=True)
        if proc.returncode:
            sys.exit(f"vame-py reference failed:\n{proc.stderr[-3000:]}")
        Path(args.ref_json).write_text(proc.stdout.strip().splitlines()[-1])
        print(f"vame-py reference ran in {time.perf_counter() - t0:.0f} s")
    ref = json.loads(Path(args.ref_json).read_text())

    # 2. identical architecture and objective, float32 and (where the CPU has it natively) bfloat16 autocast
    speeds = identical_speeds(ws, names, x_tr, x_te, T, args.our_epochs)

    # 3. time-to-quality with cpu_fast
    target = ref["final_r2"]
    torch.manual_seed(0)
    fast = vame.PRESETS["cpu_fast"].build(len(names))
    reached = {}
    t_start = time.perf_counter()

    def check(history):
        score = r2(fast, ws, test_starts)
        history.loc[history.index[-1], "r2"] = score
        if score >= target and not reached:
            reached.update(epoch=int(history["epoch"].iloc[-1]), r2=score, wall_s=time.perf_counter() - t_start)
            return True
        return False

    fcfg = train.TrainConfig(epochs=args.max_fast_epochs, early_stop=None, eval_windows=500, device="cpu",
                             **vame.PRESET_TRAINING["cpu_fast"])
    train.fit(fast, ws, fcfg, loss=vame.VAMELoss(), progress=False, callbacks=[check])
    if not reached:
        reached.update(epoch=None, r2=r2(fast, ws, test_starts), wall_s=time.perf_counter() - t_start)

    ref_curve = ref["curve"]
    ref_first = next((c for c in ref_curve if c["r2"] >= target), ref_curve[-1])
    result = {
        "frames_train": len(x_tr), "frames_test": len(x_te), "features": len(names),
        "vame_py": {k: ref[k] for k in ("train_windows_per_s", "embed_windows_per_s_default",
                                        "embed_windows_per_s_optimized", "epochs", "train_s", "wall_s", "final_r2")},
        "behavnb_identical": speeds,
        "ratios": {k: v / (ref["train_windows_per_s"] if k.startswith("train") else ref["embed_windows_per_s_optimized"])
                   for k, v in speeds.items() if k.startswith(("train_", "embed_"))},
        "time_to_quality": {"target_r2": target, "vame_py_wall_s_50_epochs": ref["wall_s"],
                            "vame_py_first_epoch_reaching": ref_first["epoch"],
                            "cpu_fast": reached, "ratio": reached["wall_s"] / ref["wall_s"]},
        "machine": {"torch": torch.__version__, "threads": torch.get_num_threads()},
    }
    r = result["ratios"]
    for tag in ("fp32", "bf16"):
        if f"train_{tag}" in speeds:
            print(f"| training windows/s, default architecture, {tag} | {ref['train_windows_per_s']:.0f} | "
                  f"{speeds[f'train_{tag}']:.0f} | {r[f'train_{tag}']:.2f}x |")
            print(f"| embedding windows/s, {tag} (vs vame-py batched; its per-window default: "
                  f"{ref['embed_windows_per_s_default']:.0f}) | {ref['embed_windows_per_s_optimized']:.0f} | "
                  f"{speeds[f'embed_{tag}']:.0f} | {r[f'embed_{tag}']:.2f}x |")
    print(f"| time to held-out R^2 >= {target:.3f} | {ref['wall_s']:.0f} s (50 epochs) | {reached['wall_s']:.1f} s "
          f"(cpu_fast, epoch {reached['epoch']}) | {result['time_to_quality']['ratio']:.3f} |")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
