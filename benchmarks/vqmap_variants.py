"""VQ-MAP codes against the true motifs of synthetic-demo, for one architecture / training variant and seed.

    behavnb run 1 2 --profile demo --project-dir /tmp/demo        # the cleaned sessions, once
    python benchmarks/vqmap_variants.py /tmp/demo --seed 0 --config '{"dilations": [1, 3, 9], "code_dim": 8}'
    python benchmarks/vqmap_variants.py /tmp/demo --seed 0 --postprocess   # also votes / majority filters on the codes
    python benchmarks/vqmap_variants.py /tmp/demo --seed 0 --linear-velocity  # velocities not log-compressed
    python benchmarks/vqmap_variants.py /tmp/demo --seed 0 --loss '{"keypoint_dropout": 0.3}' --threads 1

Trains as notebook 05 does at the demo profile (6 epochs x 10,000 windows, batch 128, lr 1e-3 on a cosine
schedule, mixed precision, 20 % of windows held out), with ``--config`` overriding ``VQMAPConfig`` fields,
``--train`` overriding ``TrainConfig`` fields and ``--loss`` overriding ``VQMAPLoss`` fields, then prints NMI / ARI
of the motif and type codes (``segment.truth_agreement``) and which true behaviours share a type. Input variants:
``--linear-velocity`` (no signed-log step), ``--keypoint-scale`` (one scale per keypoint instead of one per group),
``--velocity-weight W`` (velocities count W times in the squared error). ``--threads 1`` lets two runs share a
2-core machine. ``--save F`` keeps the model for a closer look. Besides NMI it prints where the motif codes'
entropy goes (bits of H and I for type and motif). The results of the variants tried are in RESULTS.md ("Second
round" to "Fourth round"; runs before the fourth used ``--train '{"lr_schedule": "plateau"}'``, then the default).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import behavnb as bn
from behavnb.models import eval_mode, vqmap
from behavnb.runtime import autocast_dtype
from behavnb.stats.behaviorflow import smooth_labels


def votes(model, x: np.ndarray) -> np.ndarray:
    """Per-frame motif = majority over every window (stride ``downsample``) whose code steps cover the frame."""
    window, step, n_sub = model.TEMPORAL_WINDOW, model.config.downsample, model.config.n_subtypes
    starts = np.arange(0, len(x) - window + 1, step)
    data, offsets = torch.from_numpy(np.nan_to_num(x).astype(np.float32)), torch.arange(window)
    codes, dtype = [], autocast_dtype("cpu", "auto")  # as embed_codes_array: bfloat16 where the CPU has it
    with eval_mode(model), torch.inference_mode():
        for a in range(0, len(starts), 512):
            with torch.autocast("cpu", dtype=dtype, enabled=dtype is not None):
                z = model.encode(data[torch.as_tensor(starts[a:a + 512])[:, None] + offsets], None)
            _, it, is_, _, _ = model.quantize(z.float())
            codes.append((it * n_sub + is_).numpy())
    codes = np.concatenate(codes)  # (windows, steps)
    count = np.zeros((len(x), model.config.n_types * n_sub), np.int32)
    for k in range(codes.shape[1]):
        frames = starts[:, None] + k * step + np.arange(step)  # (windows, step)
        np.add.at(count, (frames.ravel(), np.repeat(codes[:, k], step)), 1)
    return np.where(count.sum(1) > 0, count.argmax(1), -1)


def information(labels: pd.DataFrame, truth: pd.DataFrame) -> str:
    """Where the motif codes' entropy goes, in bits: H(code), I(code; truth) for type and motif, and what the
    subtype adds (NMI = 2 I / (H(code) + H(truth)), so subtype entropy that carries no behaviour lowers it)."""
    from sklearn.metrics import mutual_info_score

    df = bn.codes._with_truth(labels, truth)
    df = df[df["motif"] >= 0]
    t = df["true_motif"].to_numpy()

    def h(x):
        p = np.unique(x, return_counts=True)[1] / len(x)
        return float(-(p * np.log2(p)).sum())

    bits = 1 / np.log(2)
    i_type, i_motif = mutual_info_score(t, df["type"]) * bits, mutual_info_score(t, df["motif"]) * bits
    return (f"bits: H(truth) {h(t):.2f}, H(type) {h(df['type']):.2f}, H(motif) {h(df['motif']):.2f}; "
            f"I(type; truth) {i_type:.2f}, I(motif; truth) {i_motif:.2f}: the subtype adds "
            f"{h(df['motif']) - h(df['type']):.2f} bits of entropy and {i_motif - i_type:.2f} of information")


def normalizer(linear_velocity: bool, keypoint_scale: bool, velocity_weight: float):
    """``bn.inputs.vqmap_normalizer`` with the input variants of the command line."""

    def fit(arrays, names):
        norm = bn.inputs.vqmap_normalizer(arrays, names)
        is_vel = np.array(["_v" in n for n in names])
        if linear_velocity:  # the rejected variant: no signed-log step, one RMS for all velocities
            norm.log_scale = None
            n, _ = bn.inputs.column_sums(arrays, lambda a: a, len(names))
            _, sq = bn.inputs.column_sums(arrays, lambda a: (a - norm.mean) ** 2, len(names))
            norm.std[is_vel] = float(np.sqrt(sq[is_vel].sum() / n[is_vel].sum())) or 1.0
        if keypoint_scale:  # one RMS per keypoint (positions) and per keypoint's velocity
            dev = norm.compress(np.concatenate(arrays).astype(np.float64)) - norm.mean
            groups = [n.rsplit("_", 1)[0] + ("/v" if v else "") for n, v in zip(names, is_vel, strict=True)]
            for g in dict.fromkeys(groups):
                idx = [i for i, h in enumerate(groups) if h == g]
                rms = float(np.sqrt(np.nanmean(dev[:, idx] ** 2)))
                norm.std[idx] = rms if rms > 1e-3 * np.median(norm.std) else 1.0  # the origin keypoint stays as it is
        norm.std[is_vel] /= np.sqrt(velocity_weight)
        return norm

    return fit


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("project_dir", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--config", default="{}", help="VQMAPConfig overrides, JSON")
    ap.add_argument("--train", default="{}", help="TrainConfig overrides, JSON")
    ap.add_argument("--loss", default="{}", help="VQMAPLoss overrides, JSON")
    ap.add_argument("--postprocess", action="store_true")
    ap.add_argument("--linear-velocity", action="store_true")
    ap.add_argument("--keypoint-scale", action="store_true")
    ap.add_argument("--velocity-weight", type=float, default=1.0)
    ap.add_argument("--save", type=Path, help="also torch.save the trained model and its windows' normalizer here")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    project = bn.project.Project(args.project_dir)
    cleaned = {s: project.read_clean(s) for s in project.usable_sessions()}
    skeleton = bn.inputs.Skeleton.from_dataset(next(iter(cleaned.values())))
    arch = vqmap.VQMAPConfig(skeletons=vqmap.skeleton_config({"main": skeleton}), **json.loads(args.config))
    matrices = bn.inputs.vqmap_matrices(cleaned, skeleton)
    fit_norm = normalizer(args.linear_velocity, args.keypoint_scale, args.velocity_weight)
    ws = bn.windows.build(matrices, arch.window, test_fraction=0.2, seed=args.seed, fit_normalizer=fit_norm)
    cfg = bn.train.TrainConfig(**{**dict(epochs=6, windows_per_epoch=10_000, batch_size=128, lr=1e-3,
                                         lr_schedule="cosine", device="cpu", seed=args.seed, amp="auto",
                                         eval_windows=4000), **json.loads(args.train)})
    torch.manual_seed(args.seed)
    t0 = time.perf_counter()
    model = bn.train.fit(arch.build(), ws, cfg, loss=vqmap.VQMAPLoss(**json.loads(args.loss)), progress=False).model
    print(f"trained in {time.perf_counter() - t0:.0f} s", flush=True)
    if args.save:
        torch.save({"model": model, "normalizer": ws.normalizer}, args.save)
    mats = {s: ws.normalizer.transform(x, names) for s, (x, names) in matrices.items()}
    n_sub = arch.n_subtypes
    variants = {"nearest window (default)": {s: bn.embed.embed_codes_array(model, x)["motif"] for s, x in mats.items()}}
    if args.postprocess:
        variants["votes of all covering windows"] = {s: votes(model, x) for s, x in mats.items()}
        for half in (4, 8, 12, 16):
            variants[f"majority of +-{half} frames"] = {s: smooth_labels(m, half)
                                                        for s, m in variants["nearest window (default)"].items()}
    truth, rows, tables = bn.manifest.load_truth("synthetic-demo"), [], {}
    for name, per in variants.items():
        tables[name] = labels = pd.concat([pd.DataFrame({"session": s, "individual": "mouse1", "frame": np.arange(len(m)),
                                                         "motif": m, "type": np.where(m >= 0, m // n_sub, -1)})
                                           for s, m in per.items()])
        agree = pd.DataFrame({c: bn.segment.truth_agreement(labels, truth, column=c) for c in ("motif", "type")}).T
        rows.append({"variant": name, "motif NMI": agree.loc["motif", "nmi"], "motif ARI": agree.loc["motif", "ari"],
                     "type NMI": agree.loc["type", "nmi"], "codes used": agree.loc["motif", "n_found"]})
    print(f"seed {args.seed}, config {args.config}, train {args.train}, loss {args.loss}, linear velocity "
          f"{args.linear_velocity}, keypoint scale {args.keypoint_scale}, velocity weight {args.velocity_weight}")
    print(pd.DataFrame(rows).round(3).to_string(index=False))
    share = bn.codes.per_motif_usage(tables["nearest window (default)"], truth, arch.n_types, column="type")
    if "motif_name" in truth:
        share = share.rename(index=dict(zip(truth["motif"], truth["motif_name"], strict=True)))
    print(information(tables["nearest window (default)"], truth))
    print("share of each true behaviour's frames in each type code:")
    print(share.round(2).to_string())


if __name__ == "__main__":
    main()
