"""What a trained VAME-style model reconstructs and predicts on held-out windows, and the motion it generates.

Part of ``behavnb.evaluate`` (a check room: ... stats -> **evaluate**/health/demos -> plot/widgets ...).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from behavnb.errors import DataWarning
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

    Parameters
    ----------
    model : behavnb.models.vame.RNN_VAE
        A trained VAME model.
    windows : WindowSet
        The windows it was trained on (its normaliser is undone on the outputs).
    starts : array-like of int, optional
        Window starts to run; default ``windows.test``.
    n : int or None
        At most this many windows, a seeded random subset; None: all.
    seed : int
        Seed of the subset.
    batch_size : int
        Windows per forward pass.

    Returns
    -------
    Reconstruction
        Inputs, reconstructions and (with a future decoder) true and predicted future frames,
        ``(n, frames, features)`` in the data's units.
    """

    import torch

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
    """MSE and R^2 per keypoint (rows; ``all`` last) for reconstruction and, if present, future prediction.

    Parameters
    ----------
    rec : Reconstruction
        From ``reconstruct``.

    Returns
    -------
    DataFrame
        Index ``keypoint``; columns ``reconstruction_mse``, ``reconstruction_r2`` and, with future frames,
        ``prediction_mse``, ``prediction_r2``.
    """
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
    """Draw ``n`` latents from a Gaussian mixture fitted to ``latents`` (NaN rows dropped).

    Parameters
    ----------
    latents : numpy.ndarray
        ``(frames, Z)`` latents, e.g. one session's embedding.
    n : int
        Number of latents to draw.
    n_components : int
        Mixture components (at most the number of finite rows).
    seed : int
        Seed of the fit and the draw.
    max_fit : int
        The mixture is fitted on at most this many rows, a random subset.

    Returns
    -------
    z : numpy.ndarray
        ``(n, Z)`` float32 samples, in random order.
    component : numpy.ndarray
        ``(n,)`` the mixture component each sample came from.
    """
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
    """Decode latents ``(n, Z)`` into pose sequences ``(n, T, F)`` in original units (the future decoder if ``future``).

    Parameters
    ----------
    model : behavnb.models.vame.RNN_VAE
        A trained VAME model.
    z : numpy.ndarray
        ``(n, Z)`` latents (e.g. from ``sample_latents``).
    windows_or_normalizer : WindowSet or Normalizer
        The normaliser to undo, or windows that carry it.
    future : bool
        Use the future decoder instead of the reconstruction decoder.

    Returns
    -------
    numpy.ndarray
        ``(n, T, F)`` sequences with the model's input columns, in the data's units.

    Raises
    ------
    ValueError
        ``future=True`` for a model without a future decoder.
    """
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

    Parameters
    ----------
    seq : numpy.ndarray
        ``(..., F)`` values, e.g. ``Reconstruction.inputs`` or ``decode``'s output.
    names : list of str
        The ``F`` column names.

    Returns
    -------
    poses : numpy.ndarray
        ``(..., keypoint, 2)`` x and y per keypoint.
    keypoints : list of str
        The keypoints, in column order.
    """
    kps = [n[:-2] for n in names if n.endswith("_x") and f"{n[:-2]}_y" in names]
    ix = [names.index(f"{k}_x") for k in kps]
    iy = [names.index(f"{k}_y") for k in kps]
    return np.stack([seq[..., ix], seq[..., iy]], axis=-1), kps
