"""What a trained VQ-MAP model learned: held-out scores, robustness to dropped keypoints, decoded codes and
cross-skeleton conversion. Part of ``behavnb.evaluate``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from behavnb.inputs import vqmap_matrices
from behavnb.models import eval_mode
from behavnb.windows import WindowSet


def _vq_batches(model, windows, starts, batch_size: int = 512):
    import torch

    if not hasattr(windows, "data"):
        raise ValueError("pass one dataset's WindowSet (e.g. multi.sets['name']), not a MultiWindowSet.")
    for a in range(0, len(starts), batch_size):
        x = windows.gather(np.asarray(starts[a:a + batch_size]))[:, : model.TEMPORAL_WINDOW]
        yield model.prepare(torch.from_numpy(x).to(next(model.parameters()).device))


def vqmap_scores(model, windows: WindowSet, *, dataset: str | None = None, n: int = 4000, seed: int = 0) -> pd.Series:
    """Held-out reconstruction of a VQ-MAP model (normalised units): MSE and R^2 of positions and velocities.

    R^2 = 1 - SSE / SST per feature group, SST about the held-out mean of each column. Without held-out
    windows the training windows are scored.

    Parameters
    ----------
    model : behavnb.models.vqmap.VQMAP
        A trained VQ-MAP model.
    windows : WindowSet
        One dataset's windows (``multi.sets[name]`` of a ``MultiWindowSet``).
    dataset : str, optional
        Which of the model's skeletons the windows are; None when it has one.
    n : int
        At most this many windows, a seeded random subset.
    seed : int
        Seed of the subset.

    Returns
    -------
    pandas.Series
        ``position_mse``, ``position_r2`` and, when the model reads velocities, ``velocity_mse``,
        ``velocity_r2`` (name ``held-out``).

    Raises
    ------
    ValueError
        A ``MultiWindowSet`` instead of one dataset's windows.
    ParameterError
        ``dataset`` is not one of the model's, or is missing for a model of several skeletons.
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
    for name, g in zip(("position", "velocity"), groups, strict=False):
        tg, rg = t[..., g], r[..., g]
        sse = float(((rg - tg) ** 2).sum())
        sst = float(((tg - tg.mean(axis=(0, 1), keepdims=True)) ** 2).sum())
        out[f"{name}_mse"] = sse / tg.size
        out[f"{name}_r2"] = 1 - sse / sst if sst > 0 else float("nan")
    return pd.Series(out, name="held-out")


def vqmap_dropout_curve(model, windows: WindowSet, *, dataset: str | None = None, n: int = 1000, seed: int = 0,
                        repeats: int = 3) -> pd.DataFrame:
    """Held-out reconstruction MSE of the *full* skeleton when 0 .. K-1 random keypoints are hidden from the encoder.

    Parameters
    ----------
    model : behavnb.models.vqmap.VQMAP
        A trained VQ-MAP model.
    windows : WindowSet
        One dataset's windows (held-out ones, else the training ones, are scored).
    dataset : str, optional
        Which of the model's skeletons the windows are; None when it has one.
    n : int
        At most this many windows, a seeded random subset.
    seed : int
        Seed of the subset and of the hidden keypoints.
    repeats : int
        Random draws of the hidden keypoints per count (averaged); one with none hidden.

    Returns
    -------
    DataFrame
        One row per number of hidden keypoints: ``dropped``, ``kept``, ``mse`` (normalised units).

    Raises
    ------
    ValueError
        A ``MultiWindowSet`` instead of one dataset's windows.
    ParameterError
        ``dataset`` is not one of the model's, or is missing for a model of several skeletons.
    """
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
    (``inputs.vqmap_matrices``).
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

    Parameters
    ----------
    model : behavnb.models.vqmap.VQMAP
        A trained VQ-MAP model.
    types : array-like of int
        ``(n, steps)`` type codes.
    subtypes : array-like of int
        ``(n, steps)`` subtype codes.
    normalizer : Normalizer or dict of str to Normalizer
        The dataset's normaliser, or one per dataset.
    dataset : str, optional
        Which of the model's skeletons to decode into; None when it has one.
    travel : bool
        Add the body's own travel to the egocentric positions.

    Returns
    -------
    positions : numpy.ndarray
        ``(n, steps * downsample, K, 2)`` x and y of each keypoint, in data units.
    keypoints : list of str
        The skeleton's K keypoints.

    Raises
    ------
    ParameterError
        ``dataset`` is not one of the model's, or is missing for a model of several skeletons.
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
    head; the result is compared with the same frames of ``target_sessions``.

    Parameters
    ----------
    model : behavnb.models.vqmap.VQMAP
        A VQ-MAP model trained on both skeletons.
    source_sessions : dict of str to xarray.Dataset
        Cleaned poses per session, tracked with the ``source`` skeleton.
    target_sessions : dict of str to xarray.Dataset
        The same sessions tracked with the ``target`` skeleton; only sessions in both are used.
    normalizers : mapping of str to Normalizer
        One normaliser per dataset.
    source : str
        The dataset (skeleton) to encode from.
    target : str
        The dataset (skeleton) to decode into.
    n : int
        At most this many complete windows, a seeded random subset.
    seed : int
        Seed of the subset.

    Returns
    -------
    dict
        Position ``mse`` and ``r2`` (target's normalised units), the number of ``windows`` and, for plotting,
        ``truth`` and ``converted`` egocentric poses ``(n, T, K, 2)`` in data units with the target's
        ``keypoints``.

    Raises
    ------
    ValueError
        No session in both, or no complete window in both skeletons' sessions.
    """
    import torch

    sk_s, sk_t = model.skeletons[source], model.skeletons[target]
    norm_s, norm_t = normalizers[source], normalizers[target]
    common = [s for s in source_sessions if s in target_sessions]
    if not common:
        raise ValueError("source_sessions and target_sessions share no session.")
    ms = vqmap_matrices({s: source_sessions[s] for s in common}, sk_s)
    mt = vqmap_matrices({s: target_sessions[s] for s in common}, sk_t)
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
