"""What a trained sequence model learned: held-out reconstruction/prediction scores and generated motion.

- ``reconstruct``: inputs, reconstructions, true and predicted future frames for some windows, in the
  data's own units (the normaliser undone).
- ``scores``: MSE and R^2 per keypoint for reconstruction and future prediction on held-out windows.
  R^2 = 1 - SSE / SST with SST about the held-out mean of each coordinate, pooled over a
  keypoint's coordinates; 1 is perfect, 0 is no better than the mean posture.
- ``sample_latents`` / ``decode``: generative sampling as in VAME: draw latents from a Gaussian
  mixture fitted to the embedding (or take motif centres) and decode them into pose sequences.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from behavnb.models import eval_mode
from behavnb.windows import WindowSet


@dataclass
class Reconstruction:
    """Windows and what the model made of them, ``(n, frames, features)`` in original units."""

    starts: np.ndarray
    inputs: np.ndarray
    reconstruction: np.ndarray
    future: np.ndarray | None
    prediction: np.ndarray | None
    names: list[str]
    held_out: bool = True  # False: scored on training windows (the sessions left no held-out window)


def reconstruct(model, windows: WindowSet, starts=None, *, n: int | None = 2000, seed: int = 0,
                batch_size: int = 1024) -> Reconstruction:
    """Run the model in eval mode on held-out windows (``windows.test`` by default; a seeded subset of ``n``).

    When the sessions are too short to leave a held-out window (a pilot of a few seconds), the training
    windows are used instead, with a warning, and ``held_out`` is False: such scores flatter the model.
    """
    import warnings

    import torch

    from behavnb.errors import DataWarning

    held_out = True
    if starts is None and len(windows.test) == 0:
        warnings.warn(f"no held-out windows ({len(windows.train)} training windows; the sessions are too short for a "
                      f"held-out part): scoring on training windows, which flatters the model.", DataWarning, stacklevel=2)
        starts, held_out = windows.train, False
    starts = np.asarray(windows.test if starts is None else starts)
    if n is not None and len(starts) > n:
        starts = np.sort(np.random.default_rng(seed).choice(starts, n, replace=False))
    device = next(model.parameters()).device
    data = torch.from_numpy(windows.data).to(device)
    T = windows.window
    inputs, recs, futs, preds = [], [], [], []
    with eval_mode(model), torch.inference_mode():
        for a in range(0, len(starts), batch_size):
            batch = windows.gather(torch.as_tensor(starts[a:a + batch_size], device=device), data)
            out = model(batch[:, :T])
            inputs.append(batch[:, :T].cpu().numpy())
            recs.append(out[0].float().cpu().numpy())
            if len(out) == 5 and windows.future:
                k = min(windows.future, out[1].shape[1])
                futs.append(batch[:, T:T + k].cpu().numpy())
                preds.append(out[1][:, :k].float().cpu().numpy())
    inv = windows.normalizer.inverse_transform
    f = len(windows.names)

    def back(parts):
        if not parts:
            return None
        arr = np.concatenate(parts)
        return inv(arr.reshape(-1, f)).reshape(arr.shape)

    return Reconstruction(starts, back(inputs), back(recs), back(futs), back(preds), list(windows.names), held_out)


def _keypoint_of(name: str) -> str:
    base, _, axis = name.rpartition("_")
    return base if axis in ("x", "y", "z") and base else name


def scores(rec: Reconstruction) -> pd.DataFrame:
    """MSE and R^2 per keypoint (rows; ``all`` last) for reconstruction and, if present, future prediction."""
    groups: dict[str, list[int]] = {}
    for j, nm in enumerate(rec.names):
        groups.setdefault(_keypoint_of(nm), []).append(j)
    groups["all"] = list(range(len(rec.names)))

    def table(truth, pred, label):
        t = truth.reshape(-1, truth.shape[-1])
        p = pred.reshape(-1, pred.shape[-1])
        se = (t - p) ** 2
        ss = (t - t.mean(axis=0)) ** 2
        rows = {}
        for kp, cols in groups.items():
            sst = ss[:, cols].sum()
            rows[kp] = {f"{label}_mse": se[:, cols].mean(),
                        f"{label}_r2": 1 - se[:, cols].sum() / sst if sst > 0 else np.nan}
        return pd.DataFrame(rows).T

    out = table(rec.inputs, rec.reconstruction, "reconstruction")
    if rec.future is not None:
        out = out.join(table(rec.future, rec.prediction, "prediction"))
    out.index.name = "keypoint"
    return out


def sample_latents(latents: np.ndarray, n: int, *, n_components: int = 10, seed: int = 0,
                   max_fit: int = 50_000) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` latents from a Gaussian mixture fitted to ``latents`` (NaN rows dropped); returns (z, component)."""
    from sklearn.mixture import GaussianMixture

    z = np.asarray(latents, dtype=np.float64)
    z = z[np.isfinite(z).all(axis=1)]
    if len(z) > max_fit:
        z = z[np.random.default_rng(seed).choice(len(z), max_fit, replace=False)]
    gmm = GaussianMixture(n_components=min(n_components, len(z)), covariance_type="full", random_state=seed,
                          reg_covar=1e-4).fit(z)
    samples, comp = gmm.sample(n)
    order = np.random.default_rng(seed).permutation(n)  # sklearn returns them sorted by component
    return samples[order].astype(np.float32), comp[order]


def decode(model, z: np.ndarray, windows_or_normalizer, *, future: bool = False) -> np.ndarray:
    """Decode latents ``(n, Z)`` into pose sequences ``(n, T, F)`` in original units (the future decoder if ``future``)."""
    import torch

    norm = getattr(windows_or_normalizer, "normalizer", windows_or_normalizer)
    device = next(model.parameters()).device
    dec = model.decoder_future if future else model.decoder
    if dec is None:
        raise ValueError("this model has no future decoder (FUTURE_DECODER=False).")
    with eval_mode(model), torch.inference_mode():
        out = dec(torch.as_tensor(np.asarray(z, dtype=np.float32), device=device)).float().cpu().numpy()
    return norm.inverse_transform(out.reshape(-1, out.shape[-1])).reshape(out.shape)


def to_poses(seq: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[str]]:
    """``(..., F)`` pose columns ``<keypoint>_x, <keypoint>_y`` -> ``(..., keypoint, 2)`` and keypoint names.

    Extra (non-pose) columns are dropped.
    """
    kps = [n[:-2] for n in names if n.endswith("_x") and f"{n[:-2]}_y" in names]
    ix = [names.index(f"{k}_x") for k in kps]
    iy = [names.index(f"{k}_y") for k in kps]
    return np.stack([seq[..., ix], seq[..., iy]], axis=-1), kps


def truth_agreement(latents: dict, truth: pd.DataFrame, n_clusters: int | None = None, *, max_frames: int = 100_000,
                    seed: int = 0) -> dict:
    """How well k-means on the latents recovers known motifs (synthetic data): ARI and NMI.

    ``latents`` is ``{session: (time, latent) array or DataArray}`` (one individual per session),
    ``truth`` the table of ``manifest.load_truth`` (session, frame, motif). k defaults to the true
    number of motifs. Frames with NaN latents are left out; a seeded subsample of ``max_frames`` is
    clustered. ARI 1 = identical partitions, 0 = chance.
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    zs, ys = [], []
    for s, z in latents.items():
        t = truth[truth["session"] == s]
        if "individual" in t and t["individual"].nunique() > 1:
            t = t[t["individual"] == t["individual"].iloc[0]]
        y = t.sort_values("frame")["motif"].to_numpy()
        z = np.asarray(z)
        if len(y) != len(z):
            raise ValueError(f"session {s!r}: {len(z)} latents but {len(y)} truth frames.")
        ok = np.isfinite(z).all(axis=1)
        zs.append(z[ok])
        ys.append(y[ok])
    if not zs:
        raise ValueError("no session of the latents is in the truth table.")
    Z, Y = np.concatenate(zs), np.concatenate(ys)
    if len(Z) > max_frames:
        keep = np.random.default_rng(seed).choice(len(Z), max_frames, replace=False)
        Z, Y = Z[keep], Y[keep]
    k = n_clusters or len(np.unique(Y))
    labels = KMeans(k, n_init=10, random_state=seed).fit_predict(Z)
    return {"ari": float(adjusted_rand_score(Y, labels)), "nmi": float(normalized_mutual_info_score(Y, labels)),
            "k": int(k), "frames": int(len(Z))}


# -- VQ-MAP: held-out error, robustness to missing keypoints, decoded codes --------------------------------


def _vq_batches(model, windows, starts, batch_size: int = 512):
    import torch

    if not hasattr(windows, "data"):
        raise ValueError("pass one dataset's WindowSet (e.g. multi.sets['name']), not a MultiWindowSet.")
    for a in range(0, len(starts), batch_size):
        x = windows.gather(np.asarray(starts[a:a + batch_size]))[:, : model.TEMPORAL_WINDOW]
        yield model.prepare(torch.from_numpy(x).to(next(model.parameters()).device))


def vqmap_scores(model, windows: WindowSet, *, dataset: str | None = None, n: int = 4000, seed: int = 0) -> pd.Series:
    """Held-out reconstruction of a VQ-MAP model (normalised units): MSE and R^2 of positions and velocities.

    R^2 = 1 - SSE / SST per feature group, SST about the held-out mean of each column.
    """
    import torch

    starts = np.asarray(windows.test if len(windows.test) else windows.train)
    if len(starts) > n:
        starts = np.sort(np.random.default_rng(seed).choice(starts, n, replace=False))
    d = model.dims
    targets, recs = [], []
    with eval_mode(model), torch.inference_mode():
        for x in _vq_batches(model, windows, starts):
            out = model(x, dataset)["reconstruction"].float()
            targets.append(x.float().cpu().numpy())
            recs.append(out.cpu().numpy())
    t, r = np.concatenate(targets), np.concatenate(recs)  # (n, T, K, C)
    groups = [slice(0, d), slice(d, 2 * d)] if t.shape[-1] == 2 * d else [slice(0, d)]
    out = {}
    for name, g in zip(("position", "velocity"), groups):
        tg, rg = t[..., g], r[..., g]
        sse = float(((rg - tg) ** 2).sum())
        sst = float(((tg - tg.mean(axis=(0, 1), keepdims=True)) ** 2).sum())
        out[f"{name}_mse"] = sse / tg.size
        out[f"{name}_r2"] = 1 - sse / sst if sst > 0 else float("nan")
    return pd.Series(out, name="held-out")


def vqmap_dropout_curve(model, windows: WindowSet, *, dataset: str | None = None, n: int = 1000, seed: int = 0,
                        repeats: int = 3) -> pd.DataFrame:
    """Held-out reconstruction MSE of the *full* skeleton when 0 .. K-1 random keypoints are hidden from the encoder."""
    import torch

    rng = np.random.default_rng(seed)
    starts = np.asarray(windows.test if len(windows.test) else windows.train)
    starts = np.sort(rng.choice(starts, min(n, len(starts)), replace=False))
    rows = []
    with eval_mode(model), torch.inference_mode():
        xs = list(_vq_batches(model, windows, starts))
        k = xs[0].shape[2]
        for n_drop in range(k):
            errs = []
            for _ in range(repeats if n_drop else 1):
                sse, total = 0.0, 0
                for x in xs:
                    mask = torch.zeros(len(x), k, dtype=torch.bool, device=x.device)
                    if n_drop:
                        idx = torch.as_tensor(np.argsort(rng.random((len(x), k)), axis=1)[:, :n_drop], device=x.device)
                        mask.scatter_(1, idx, True)
                    rec = model(x.masked_fill(mask[:, None, :, None], 0.0), dataset, mask=mask)["reconstruction"]
                    sse += float(((rec.float() - x.float()) ** 2).sum())
                    total += x.numel()
                errs.append(sse / total)
            rows.append({"dropped": n_drop, "kept": k - n_drop, "mse": float(np.mean(errs))})
    return pd.DataFrame(rows)


def _in_units(out: np.ndarray, norm, d: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Model features ``(n, T, K, d or 2d)`` -> positions and velocities ``(n, T, K, d)`` in data units.

    The normaliser's columns are the positions, keypoint-major, then the velocities
    (``models.vqmap.input_matrices``); velocities are None for a position-only model.
    """
    n, T, k = out.shape[:3]
    parts = [out[..., i * d:(i + 1) * d].reshape(n, T, k * d) for i in range(out.shape[-1] // d)]
    cols = np.concatenate(parts, axis=-1)
    raw = norm.inverse_transform(cols.reshape(-1, cols.shape[-1])).reshape(n, T, len(parts), k, d)
    return raw[:, :, 0], (raw[:, :, 1] if len(parts) > 1 else None)


def decode_codes(model, types, subtypes, normalizer, *, dataset: str | None = None,
                 travel: bool = True) -> tuple[np.ndarray, list[str]]:
    """Decode code sequences ``(n, steps)`` into skeleton motion ``(n, steps * downsample, K, 2)`` in data units.

    Positions are egocentric; with ``travel`` each frame is shifted by the integrated mean
    keypoint velocity (the body's own travel, in its frame, ignoring rotation), so a running code
    moves across its panel and a resting one stays put.
    """
    import torch

    ds = model._dataset(dataset)
    sk = model.skeletons[ds]
    norm = normalizer[ds] if isinstance(normalizer, dict) else normalizer
    t = torch.as_tensor(np.asarray(types), dtype=torch.long)
    s = torch.as_tensor(np.asarray(subtypes), dtype=torch.long)
    with eval_mode(model), torch.inference_mode():
        dev = next(model.parameters()).device
        out = model.decode(model.codes_to_latent(t.to(dev), s.to(dev)), ds).float().cpu().numpy()  # (n, T, K, C)
    pos, vel = _in_units(out, norm, sk.dims)
    pos = pos[..., :2]
    if travel and vel is not None:
        pos = pos + np.cumsum(vel[..., :2].mean(axis=2), axis=1)[:, :, None, :]  # mean keypoint velocity per frame
    return pos, list(sk.keypoints)


def vqmap_conversion(model, source_sessions: dict, target_sessions: dict, normalizers, *, source: str, target: str,
                     n: int = 500, seed: int = 0) -> dict:
    """Cross-skeleton conversion checked against truth: the same sessions tracked with two skeletons.

    Windows of ``source_sessions`` (``source``'s skeleton) are encoded and decoded with ``target``'s
    head; the result is compared with the same frames of ``target_sessions``. Returns position
    ``mse`` and ``r2`` (target's normalised units) and, for plotting, ``truth`` and ``converted``
    egocentric poses ``(n, T, K, 2)`` in data units with the target's ``keypoints``.
    """
    import torch

    from behavnb.models.vqmap import input_matrices

    sk_s, sk_t = model.skeletons[source], model.skeletons[target]
    norm_s, norm_t = normalizers[source], normalizers[target]
    common = [s for s in source_sessions if s in target_sessions]
    if not common:
        raise ValueError("source_sessions and target_sessions share no session.")
    ms = input_matrices({s: source_sessions[s] for s in common}, sk_s, velocity=model.config.velocity)
    mt = input_matrices({s: target_sessions[s] for s in common}, sk_t, velocity=model.config.velocity)
    T, rng = model.TEMPORAL_WINDOW, np.random.default_rng(seed)
    xs, ys = [], []
    for key in ms:
        a, b = norm_s.transform(ms[key][0], ms[key][1]), norm_t.transform(mt[key][0], mt[key][1])
        ok = np.isfinite(a).all(1) & np.isfinite(b).all(1)
        run = np.convolve(ok.astype(int), np.ones(T, int), "valid") == T
        starts = np.flatnonzero(run)[::T]
        xs += [a[s:s + T] for s in starts]
        ys += [b[s:s + T] for s in starts]
    if not xs:
        raise ValueError(f"no complete window of {T} frames in both skeletons' sessions: nothing to convert.")
    pick = rng.choice(len(xs), min(n, len(xs)), replace=False)
    x = torch.from_numpy(np.stack([xs[i] for i in pick]))
    y = np.stack([ys[i] for i in pick])
    dev = next(model.parameters()).device
    with eval_mode(model), torch.inference_mode():
        out = model.convert(x.to(dev), source, target).float().cpu().numpy()  # (n, T, K, C)
        truth = model.prepare(torch.from_numpy(y), target).numpy()
    d = sk_t.dims
    err = out[..., :d] - truth[..., :d]
    sst = ((truth[..., :d] - truth[..., :d].mean(axis=(0, 1), keepdims=True)) ** 2).sum()
    return {"mse": float((err ** 2).mean()), "r2": float(1 - (err ** 2).sum() / sst),
            "truth": _in_units(truth, norm_t, d)[0][..., :2], "converted": _in_units(out, norm_t, d)[0][..., :2],
            "keypoints": list(sk_t.keypoints), "windows": int(len(pick))}
