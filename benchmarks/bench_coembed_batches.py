"""Co-embedding batches on a CPU: fixed per-skeleton shares against shares varying every batch (time and memory).

    . /work/venv/bin/activate
    behavnb demo --project-dir /tmp/demo          # once: a demo run directory (01-05)
    for v in "fixed bf16" "varying bf16" "fixed fp32" "varying fp32"; do
        python benchmarks/bench_coembed_batches.py --project-dir /tmp/demo $v; done

Each call is one fresh process: it builds 05's two co-embedding window sets (the full skeleton and the reduced one
that ``demos.plan_vqmap_demos`` chooses), trains the co-embedding VQ-MAP for 2 epochs x 3,000 windows as 05 does, and
prints the fit's wall time, the resident memory the fit leaves behind (after gc + malloc_trim) and the process peak.
``varying`` replaces ``MultiWindowSet._mixed_order`` by one shuffle of all windows (before 2026-12-06): each batch
then mixes the skeletons in a new proportion, so its tensors have new shapes every step, and oneDNN builds (and
keeps) kernels per shape.
"""
from __future__ import annotations

import argparse
import resource
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--project-dir", required=True, help="a demo run directory (cleaned poses of 02)")
    ap.add_argument("batches", choices=("fixed", "varying"))
    ap.add_argument("precision", choices=("bf16", "fp32"))
    args = ap.parse_args()

    import torch

    import behavnb as bn
    import behavnb.windows as W
    from behavnb.models import vqmap

    if args.batches == "varying":
        W.MultiWindowSet._mixed_order = lambda self, gen, bs, first: torch.randperm(int(first[-1]), generator=gen)
    project = bn.project.Project(args.project_dir)
    sessions = project.usable_sessions()
    cleaned = {s: project.read_clean(s) for s in sessions}
    plan = bn.demos.plan_vqmap_demos(cleaned, bn.skeleton.roles_of(cleaned[sessions[0]]), window=32, downsample=8,
                                     coembed=True, coembed_keypoints="auto", generate=False, max_sessions=None)
    first = {s: cleaned[s] for s in plan.coembed_sessions[0]}
    second = {s: bn.preprocess.select_keypoints(cleaned[s], plan.coembed) for s in plan.coembed_sessions[1]}
    sk_a, sk_b = bn.inputs.Skeleton.from_dataset(cleaned[sessions[0]]), bn.inputs.Skeleton(list(plan.coembed.values()))
    sets = {n: W.build(bn.inputs.vqmap_matrices(part, sk), 32, seed=0, fit_normalizer=bn.inputs.vqmap_normalizer)
            for n, part, sk in (("full", first, sk_a), ("reduced", second, sk_b))}
    multi = W.MultiWindowSet(sets, schedule="mixed")
    arch = vqmap.VQMAPConfig(skeletons=vqmap.skeleton_config({"full": sk_a, "reduced": sk_b}), window=32, downsample=8,
                             n_types=8, n_subtypes=16)

    def rss() -> float:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096 / 2**20

    bn.runtime.release_memory()
    before = rss()
    torch.manual_seed(0)
    cfg = bn.train.TrainConfig(epochs=2, windows_per_epoch=3000, batch_size=128, lr=2e-3, device="cpu", seed=0,
                               amp="auto" if args.precision == "bf16" else False, eval_windows=1000,
                               lr_schedule="cosine")
    t = time.perf_counter()
    res = bn.train.fit(arch.build(), multi, cfg, loss=vqmap.VQMAPLoss(), progress=False)
    seconds = time.perf_counter() - t
    bn.runtime.release_memory()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.batches} {args.precision}: fit {seconds:.1f} s, RSS kept +{rss() - before:.0f} MB, peak {peak:.0f} MB "
          f"(before the fit {before:.0f} MB), test loss {res.history['test_loss'].iloc[-1]:.4f}")


if __name__ == "__main__":
    main()
