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


def reconstruct(model, windows: WindowSet, starts=None, *, n: int | None = 2000, seed: int = 0,
                batch_size: int = 1024) -> Reconstruction:
    """Run the model in eval mode on held-out windows (``windows.test`` by default; a seeded subset of ``n``)."""
    import torch

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

    return Reconstruction(starts, back(inputs), back(recs), back(futs), back(preds), list(windows.names))


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
