"""Do the models earn their keep? VAME and VQ-MAP against the scalar baseline and a supervised reference.

    . /work/venv/bin/activate
    python benchmarks/bench_truth.py --dataset synthetic-demo --seeds 0 1 2 --profile demo

For each seed the series' own package calls (not the notebooks) prepare the data as 01-03 do (import,
skeleton, the 02 cleaning pipeline and QC, 04's extra features) and train both models as 04 and 05 do
(same presets, budgets from ``runtime.BUDGETS`` for ``--profile``, same windows, losses and training
options). Reported per seed and as the mean over seeds:

- VAME: k-means (k = number of true motifs) on the latents against the truth, ARI and NMI
  (``evaluate.kmeans_labels`` scored by ``segment.truth_agreement``, notebook 04's check);
- VQ-MAP: NMI (and ARI) of the 128 motif codes and of the 8 type codes (``segment.truth_agreement``, notebook 05);
- the scalar baseline (``evaluate.scalar_baseline``): k-means and notebook 06's sticky HMM on the per-frame
  speed, angular velocity, body length and head angle, with the same k, on the same frames as each model's
  score (VAME's subsample; VQ-MAP's coded frames); and, for the motif codes, k-means on the scalars with
  k = the number of motif codes VQ-MAP used (the same number of clusters);
- a supervised reference: a gradient-boosted classifier (scikit-learn ``HistGradientBoostingClassifier``)
  on VAME's windows (the same windows and inputs the model sees, summarised per feature by centre value,
  mean, sd, min, max and mean absolute change), trained on some animals and tested on held-out animals,
  predicting the true motif of the window's centre frame: balanced accuracy. The same classifier on the
  four baseline scalars of the centre frame says how much those alone could tell with labels.

Only ``manifest.load_truth`` (session, frame, motif) is read from the synthetic data's generator side.
The goals (issue 21): baseline ARI <= 0.45; VAME ARI >= baseline + 0.15; VQ-MAP motif NMI >= baseline + 0.10
(means of 3 seeds at the demo profile); supervised balanced accuracy >= 0.85.

stdout: progress lines, then the machine, a markdown table and the results as JSON (last line);
``--json PATH`` also writes the JSON to a file.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import report  # noqa: E402

import behavnb as bn  # noqa: E402


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# -- data: what 01-03 do -------------------------------------------------------------------------------------


def prepare(dataset: str) -> dict:
    """Import, skeleton, clean (02's pipeline and QC) and 04's extra features, in memory."""
    P = bn.preprocess
    table = bn.manifest.sessions(dataset)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        poses = bn.manifest.load_sessions(table, progress=False)
        skeleton = bn.skeleton.infer_skeleton(poses, cutoff=0.6)
        poses = {s: bn.skeleton.attach(ds, skeleton) for s, ds in poses.items()}
        meta = bn.manifest.registry().get(dataset, {})
        geometry = bn.manifest.session_geometry(table, meta)  # a scale per session where cameras differ (02)
        scales = {s: g["px_per_cm"] for s, g in geometry.items() if s in poses}
        px_per_cm = scales if any(scales.values()) else None
        pipeline = P.Pipeline(confidence=0.6, max_gap="0.5s", smoothing="savgol", smooth_window="0.2s",
                              px_per_cm=px_per_cm, landmarks=skeleton.landmarks, drop=skeleton.excluded)
        cleaned, _, summary = P.clean_sessions(poses, pipeline, max_missing=20.0, max_reference_missing=20.0,
                                               min_frames=32, progress=False)
        passed = set(summary.loc[summary["qc_pass"].astype(bool), "session"].astype(str))
        cleaned = {s: ds for s, ds in cleaned.items() if s in passed}
        first = next(iter(cleaned.values()))
        extra_features = bn.features.supported(first, bn.features.MODEL_FEATURES)
        extras = {s: bn.inputs.extra_features(bn.features.compute(ds, include=extra_features), extra_features,
                                              log_speeds=True) for s, ds in cleaned.items()}
    subjects = dict(zip(table["session"].astype(str), table["subject"].astype(str), strict=True)) if "subject" in table else \
        {s: s for s in cleaned}
    return {"cleaned": cleaned, "extras": extras, "extra_features": extra_features, "subjects": subjects,
            "truth": bn.manifest.load_truth(dataset), "fps": float(first.attrs["fps"])}


# -- the models, as 04 and 05 train them ------------------------------------------------------------------------


def run_vame(data: dict, rt, seed: int) -> dict:
    import torch

    from behavnb.models import vame

    cleaned, extras, truth = data["cleaned"], data["extras"], data["truth"]
    matrices = bn.inputs.session_matrices(cleaned, extras)
    preset = "vame" if rt.device.startswith("cuda") else "cpu_fast"
    arch = dataclasses.replace(vame.PRESETS[preset], TEMPORAL_WINDOW=15, FUTURE_STEPS=15)
    ws = bn.windows.build(matrices, 15, future=15, test_fraction=0.2, seed=seed)
    torch.manual_seed(seed)
    model = arch.build(len(ws.names))
    loss = vame.VAMELoss(beta=0.1, future_to_encoder=False)
    config = bn.train.TrainConfig(**rt.budget("vame"), device=rt.device, seed=seed, **vame.PRESET_TRAINING[preset],
                                  eval_windows=rt.pick(fast=2_000, demo=4_000, full=20_000))
    t0 = time.perf_counter()
    result = bn.train.fit(model, ws, config, loss=loss, progress=False)
    train_s = time.perf_counter() - t0
    latents = bn.embed.embed_sessions(result.model, cleaned, ws.normalizer, extra=extras, progress=False)
    one_animal = {s: z.values for s, z in latents.items() if "individual" not in z.dims}
    clusters = bn.evaluate.kmeans_labels(one_animal, truth, seed=seed)
    k = clusters.attrs["n_motifs"]
    scores = bn.segment.truth_agreement(clusters, truth)
    agreement = {"ari": scores["ari"], "nmi": scores["nmi"], "k": k, "frames": scores["frames"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bn.errors.DataWarning)
        baseline = bn.evaluate.scalar_baseline(cleaned, truth, one_animal, n_clusters=k, seed=seed)
    return {"vame": {**agreement, "train_s": train_s, "epochs": len(result.history)},
            "baseline_vame_frames": _rows(baseline), "windows": ws}


def run_vqmap(data: dict, rt, seed: int) -> dict:
    import torch

    from behavnb.models import vqmap

    cleaned, truth = data["cleaned"], data["truth"]
    first = next(iter(cleaned.values()))
    skeleton = bn.inputs.Skeleton.from_dataset(first)
    n_types, n_subtypes = 8, 16
    arch = vqmap.VQMAPConfig(skeletons=vqmap.skeleton_config({"main": skeleton}), window=32, downsample=8,
                             n_types=n_types, n_subtypes=n_subtypes, quantize="split")
    matrices = bn.inputs.vqmap_matrices(cleaned, skeleton)
    ws = bn.windows.build(matrices, 32, test_fraction=0.2, seed=seed, fit_normalizer=bn.inputs.vqmap_normalizer)
    torch.manual_seed(seed)
    model = arch.build()
    config = bn.train.TrainConfig(**rt.budget("vqmap"), batch_size=128, lr=rt.pick(fast=1e-3, demo=2e-3, full=1e-3),
                                  lr_schedule="cosine",
                                  device=rt.device, seed=seed, amp="auto",
                                  eval_windows=rt.pick(fast=500, demo=2_000, full=20_000))
    t0 = time.perf_counter()
    result = bn.train.fit(model, ws, config, loss=vqmap.VQMAPLoss(), progress=False)
    train_s = time.perf_counter() - t0
    latents = bn.embed.embed_codes_sessions(result.model, cleaned, ws.normalizer, amp="auto", progress=False)
    labels = bn.embed.labels_table(latents)
    agreement = pd.DataFrame({c: bn.segment.truth_agreement(labels, truth, column=c) for c in ("motif", "type")}).T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bn.errors.DataWarning)
        baseline = bn.evaluate.scalar_baseline(cleaned, truth, labels, seed=seed)
        k_codes = int(agreement.loc["motif", "n_found"])
        same_k = bn.evaluate.scalar_baseline(cleaned, truth, labels, n_clusters=k_codes, methods=["kmeans"], seed=seed)
    out = {f"vqmap_{level}": {"ari": float(agreement.loc[level, "ari"]), "nmi": float(agreement.loc[level, "nmi"]),
                              "n_codes_used": int(agreement.loc[level, "n_found"]),
                              "frames": int(agreement.loc[level, "frames"])} for level in ("motif", "type")}
    out["vqmap_motif"]["train_s"] = train_s
    out["baseline_vqmap_frames"] = _rows(baseline)
    out["baseline_kmeans_k_codes"] = _rows(same_k)[bn.evaluate.BASELINE_METHODS["kmeans"]]
    return out


def _rows(table: pd.DataFrame) -> dict:
    return {name: {c: float(v) for c, v in row.items()} for name, row in table.iterrows()}


# -- the supervised reference -------------------------------------------------------------------------------------


def _summaries(x: np.ndarray) -> np.ndarray:
    """Windows ``(n, T, F)`` -> per-feature centre, mean, sd, min, max and mean absolute change ``(n, 6F)``."""
    return np.concatenate([x[:, x.shape[1] // 2], x.mean(1), x.std(1), x.min(1), x.max(1),
                           np.abs(np.diff(x, axis=1)).mean(1)], axis=1)


def supervised(data: dict, ws, seed: int, *, n_train: int = 40_000, n_test: int = 20_000,
               held_out: float = 0.3) -> dict:
    """Balanced accuracy of a classifier on the model's windows, trained on some animals, tested on the others.

    Each window is labelled with the true motif of its centre frame. Animals (``subject``) are split at
    random (seeded): ``held_out`` of them are only tested on. Multi-animal sessions are left out.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import balanced_accuracy_score

    truth, cleaned = data["truth"], data["cleaned"]
    single = [k for k in ws.sessions if k in cleaned and cleaned[k].sizes["individual"] == 1]
    scalars = bn.evaluate.baseline_scalars({k: cleaned[k] for k in single})
    n_rows = len(ws.data)
    motif = np.full(n_rows, -1, np.int64)  # per row of ws.data: the true motif, the animal, the four scalars
    animal = np.full(n_rows, "", dtype=object)
    scal = np.full((n_rows, scalars[single[0]].sizes["latent"]), np.nan)
    for k in single:  # one step per session
        first, n = ws.sessions[k]
        t = truth[truth["session"] == k].sort_values("frame")
        if len(t) != n:
            continue
        motif[first:first + n] = t["motif"].to_numpy()
        animal[first:first + n] = data["subjects"].get(k, k)
        scal[first:first + n] = scalars[k].values[:, :, 0]
    starts = np.sort(np.concatenate([ws.train, ws.test]))
    centre = starts + ws.window // 2
    starts, centre = starts[motif[centre] >= 0], centre[motif[centre] >= 0]
    animals = np.array(sorted(set(animal[centre])))
    rng = np.random.default_rng(seed)
    test_animals = rng.choice(animals, max(1, int(round(held_out * len(animals)))), replace=False)
    is_test = np.isin(animal[centre], test_animals)
    tr, te = np.flatnonzero(~is_test), np.flatnonzero(is_test)
    tr = np.sort(rng.choice(tr, min(n_train, len(tr)), replace=False))
    te = np.sort(rng.choice(te, min(n_test, len(te)), replace=False))
    y = motif[centre]

    def fit_score(X_tr, X_te) -> float:
        clf = HistGradientBoostingClassifier(max_iter=200, random_state=seed, class_weight="balanced")
        clf.fit(X_tr, y[tr])
        return float(balanced_accuracy_score(y[te], clf.predict(X_te)))

    def windows(idx):
        return _summaries(ws.gather(starts[idx])[:, : ws.window].astype(np.float32))

    return {"windows_balanced_accuracy": fit_score(windows(tr), windows(te)),
            "scalars_balanced_accuracy": fit_score(scal[centre[tr]], scal[centre[te]]),
            "train_windows": int(len(tr)), "test_windows": int(len(te)),
            "test_animals": sorted(str(a) for a in test_animals), "animals": int(len(animals))}


# -- the report ---------------------------------------------------------------------------------------------------


def one_seed(data: dict, profile: str, device: str, seed: int) -> dict:
    rt = bn.runtime.setup(profile, device, seed, need_device=True)
    log(f"seed {seed}: VAME ({rt.profile}, {rt.device})")
    out = run_vame(data, rt, seed)
    ws = out.pop("windows")
    log(f"seed {seed}: VAME ARI {out['vame']['ari']:.3f}; supervised reference")
    out["supervised"] = supervised(data, ws, seed)
    log(f"seed {seed}: balanced accuracy {out['supervised']['windows_balanced_accuracy']:.3f}; VQ-MAP")
    out.update(run_vqmap(data, rt, seed))
    log(f"seed {seed}: VQ-MAP motif NMI {out['vqmap_motif']['nmi']:.3f}")
    return out


def rows_of(res: dict) -> dict[str, tuple[float, float]]:
    """Table rows (name -> ARI, NMI) of one seed's results."""
    km, hmm = bn.evaluate.BASELINE_METHODS["kmeans"], bn.evaluate.BASELINE_METHODS["hmm"]
    bv, bq = res["baseline_vame_frames"], res["baseline_vqmap_frames"]
    return {
        "VAME latents + k-means": (res["vame"]["ari"], res["vame"]["nmi"]),
        f"{km}, VAME's frames": (bv[km]["ari"], bv[km]["nmi"]),
        f"{hmm}, VAME's frames": (bv[hmm]["ari"], bv[hmm]["nmi"]),
        "VQ-MAP motif codes": (res["vqmap_motif"]["ari"], res["vqmap_motif"]["nmi"]),
        "VQ-MAP type codes": (res["vqmap_type"]["ari"], res["vqmap_type"]["nmi"]),
        f"{km}, VQ-MAP's frames": (bq[km]["ari"], bq[km]["nmi"]),
        f"{hmm}, VQ-MAP's frames": (bq[hmm]["ari"], bq[hmm]["nmi"]),
        "scalars + k-means with k = VQ-MAP's motif codes used": (res["baseline_kmeans_k_codes"]["ari"],
                                                                 res["baseline_kmeans_k_codes"]["nmi"]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="synthetic-demo")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--profile", default="demo", choices=bn.runtime.PROFILES)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args()
    if not bn.manifest.has_truth(args.dataset):
        sys.exit(f"{args.dataset!r} has no ground truth: this benchmark needs a synthetic dataset.")
    t0 = time.perf_counter()
    log(f"preparing {args.dataset}")
    data = prepare(args.dataset)
    log(f"{len(data['cleaned'])} sessions, {len(set(data['subjects'].values()))} animals, extra features "
        f"{data['extra_features']}")
    per_seed = {}
    for seed in args.seeds:
        per_seed[seed] = one_seed(data, args.profile, args.device, seed)
    table = {seed: rows_of(r) for seed, r in per_seed.items()}
    names = list(next(iter(table.values())))
    mean = {n: tuple(float(np.mean([table[s][n][i] for s in table])) for i in (0, 1)) for n in names}
    sup = {k: float(np.mean([r["supervised"][k] for r in per_seed.values()]))
           for k in ("windows_balanced_accuracy", "scalars_balanced_accuracy")}
    seeds_txt = ", ".join(str(s) for s in args.seeds)
    columns = ["ARI / NMI vs truth"] + [f"seed {s}" for s in args.seeds] + [f"mean ({len(args.seeds)} seeds)"]
    rows = [f"| {n} | " + " | ".join(f"{table[s][n][0]:.3f} / {table[s][n][1]:.3f}" for s in args.seeds)
            + f" | {mean[n][0]:.3f} / {mean[n][1]:.3f} |" for n in names]
    for k, label in (("windows_balanced_accuracy", "supervised on VAME's windows, held-out animals (balanced acc.)"),
                     ("scalars_balanced_accuracy", "supervised on the 4 scalars, held-out animals (balanced acc.)")):
        rows.append(f"| {label} | " + " | ".join(f"{per_seed[s]['supervised'][k]:.3f}" for s in args.seeds)
                    + f" | {sup[k]:.3f} |")
    km, hmm = bn.evaluate.BASELINE_METHODS["kmeans"], bn.evaluate.BASELINE_METHODS["hmm"]
    goals = {}
    for which, pick in (("k-means baseline", lambda a, b: a), ("stronger baseline", max)):
        base_v = pick(mean[f"{km}, VAME's frames"][0], mean[f"{hmm}, VAME's frames"][0])  # ARI, VAME's frames
        base_q = pick(mean[f"{km}, VQ-MAP's frames"][1], mean[f"{hmm}, VQ-MAP's frames"][1])  # NMI, VQ-MAP's frames
        goals[which] = {"baseline_ari_le_0.45": base_v <= 0.45,
                        "vame_ari_ge_baseline_plus_0.15": mean["VAME latents + k-means"][0] >= base_v + 0.15,
                        "vqmap_motif_nmi_ge_baseline_plus_0.10": mean["VQ-MAP motif codes"][1] >= base_q + 0.10}
    goals["supervised_balanced_accuracy_ge_0.85"] = sup["windows_balanced_accuracy"] >= 0.85
    import sklearn
    import torch

    results = {"dataset": args.dataset, "profile": args.profile, "seeds": args.seeds,
               "per_seed": {str(s): r for s, r in per_seed.items()},
               "mean": {n: {"ari": v[0], "nmi": v[1]} for n, v in mean.items()}, "supervised_mean": sup,
               "goals_met": goals, "wall_s": time.perf_counter() - t0,
               "versions": {"behavnb": getattr(bn, "__version__", "?"), "torch": torch.__version__,
                            "sklearn": sklearn.__version__}}
    log(f"done in {results['wall_s']:.0f} s (seeds {seeds_txt})")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    report(columns, rows, results)


if __name__ == "__main__":
    main()
