"""Training budgets against quality: VAME's and VQ-MAP's agreement with the truth at several budgets, same data and seed.

    . /work/venv/bin/activate
    BEHAVNB_DATA_DIR=/work/shared/data python benchmarks/bench_demo_budget.py vame 10x20000,10x8000 --seeds 0 1 2
    BEHAVNB_DATA_DIR=/work/shared/data python benchmarks/bench_demo_budget.py vqmap 6x10000,6x6000 --seeds 0 1 2 --lr 2e-3

Trains exactly as notebooks 04 and 05 do (``bench_truth.run_vame`` / ``run_vqmap``) with the budget replaced
(``epochs x windows_per_epoch``), and prints one JSON line per (seed, budget): ARI/NMI against the truth and the
training time. ``--lr`` overrides the peak learning rate; ``--kl-full`` puts VAME's KL at full weight from epoch 1
(to separate the KL ramp from the training length). Used to choose the demo profile's budgets (issue 22).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_truth as bt  # noqa: E402

import behavnb as bn  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", choices=["vame", "vqmap"])
    ap.add_argument("budgets", help="comma-separated EPOCHSxWINDOWS, e.g. 10x20000,10x8000")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--dataset", default="synthetic-demo")
    ap.add_argument("--lr", type=float, default=None, help="peak learning rate (default: the notebook's)")
    ap.add_argument("--kl-full", action="store_true", help="VAME: KL at full weight from the first epoch")
    args = ap.parse_args()
    budgets = [tuple(int(v) for v in b.split("x")) for b in args.budgets.split(",")]
    data = bt.prepare(args.dataset)
    if args.kl_full:
        from behavnb.models import vame
        vame.kl_weight = lambda *a, **k: 1.0
    if args.lr is not None:
        base = bn.train.TrainConfig

        class WithLR(base):  # the benchmark's calls pass lr themselves; this one wins
            def __init__(self, *a, **k):
                k["lr"] = args.lr
                super().__init__(*a, **k)

        bn.train.TrainConfig = WithLR
    for seed in args.seeds:
        for epochs, windows in budgets:
            bn.runtime.BUDGETS[args.model] = {"epochs": (epochs,) * 3, "windows_per_epoch": (windows,) * 3}
            rt = bn.runtime.setup("demo", "auto", seed, need_device=True)
            t0 = time.perf_counter()
            row = {"model": args.model, "seed": seed, "budget": f"{epochs}x{windows}", "lr": args.lr,
                   "threads": rt.threads}
            if args.model == "vame":
                out = bt.run_vame(data, rt, seed)
                row.update({k: round(out["vame"][k], 4) for k in ("ari", "nmi")}, train_s=round(out["vame"]["train_s"], 1))
            else:
                out = bt.run_vqmap(data, rt, seed)
                for level in ("motif", "type"):
                    row.update({f"{level}_{k}": round(out[f"vqmap_{level}"][k], 4) for k in ("ari", "nmi")})
                row.update(motif_codes_used=out["vqmap_motif"]["n_codes_used"],
                           train_s=round(out["vqmap_motif"]["train_s"], 1))
            row["total_s"] = round(time.perf_counter() - t0, 1)
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
