"""What a trained sequence model learned: held-out reconstruction/prediction scores and generated motion.

A check room after the analysis in the flow (... hierarchy -> stats -> **evaluate**/health/demos -> plot/widgets
...): it reads a trained model and its windows or latents, and changes nothing upstream.

- ``reconstruct``: inputs, reconstructions, true and predicted future frames for some windows, in the
  data's own units (the normaliser undone).
- ``scores``: MSE and R^2 per keypoint for reconstruction and future prediction on held-out windows.
  R^2 = 1 - SSE / SST with SST about the held-out mean of each coordinate, pooled over a
  keypoint's coordinates; 1 is perfect, 0 is no better than the mean posture.
- ``sample_latents`` / ``decode``: generative sampling as in VAME: draw latents from a Gaussian
  mixture fitted to the embedding (or take motif centres) and decode them into pose sequences.
- ``kmeans_labels`` (synthetic data): k-means on the latents, labels to score against the true motifs with
  ``segment.truth_agreement``; ``scored_frames`` decides which frames any truth score uses.
- ``scalar_baseline``: the same k-means and notebook 06's HMM on four per-frame kinematic scalars (speed,
  turning, body length, head angle), scored on the model's frames with the model's k; ``with_baseline`` puts
  it beside the model's score. Every ARI/NMI a notebook shows has it beside it.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from behavnb import features as F
from behavnb.codes import _with_truth, purity
from behavnb.errors import DataWarning, ParameterError
from behavnb.inputs import LOG_FEATURES, vqmap_matrices
from behavnb.models import eval_mode
from behavnb.segment import matching, motif_model
from behavnb.windows import WindowSet

if TYPE_CHECKING:
    import xarray as xr


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
    import warnings

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


def _latent_frames(latents: Mapping[str, object], truth: pd.DataFrame, *, max_frames: int | None = 100_000,
                   seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """The frames ``kmeans_labels`` clusters, with their latents: finite latents, a seeded subsample.

    Returns the frame table (session[, individual], frame, true_motif) and the latents of those rows.
    """
    parts, zs = [], []
    for s, z in latents.items():
        t = truth[truth["session"] == s]
        if "individual" in t and t["individual"].nunique() > 1:
            t = t[t["individual"] == t["individual"].iloc[0]]
        t = t.sort_values("frame")
        z = np.asarray(z)
        if len(t) != len(z):
            raise ParameterError(f"session {s!r}: {len(z)} latents but {len(t)} truth frames; pass the latents and the "
                                 f"truth of the same dataset.")
        ok = np.isfinite(z).all(axis=1)
        part = pd.DataFrame({"session": str(s), "frame": np.flatnonzero(ok).astype(np.int64),
                             "true_motif": t["motif"].to_numpy()[ok]})
        if "individual" in t:
            part.insert(1, "individual", t["individual"].astype(str).to_numpy()[ok])
        parts.append(part)
        zs.append(z[ok])
    if not parts:
        raise ParameterError("no session of the latents is in the truth table; pass the truth of the same dataset.")
    frames, Z = pd.concat(parts, ignore_index=True), np.concatenate(zs)
    if max_frames is not None and len(Z) > max_frames:
        keep = np.random.default_rng(seed).choice(len(Z), max_frames, replace=False)
        frames, Z = frames.iloc[keep].reset_index(drop=True), Z[keep]
    return frames, Z


def scored_frames(frames: pd.DataFrame | Mapping[str, object], truth: pd.DataFrame, *, column: str = "motif",
                  max_frames: int | None = 100_000, seed: int = 0) -> pd.DataFrame:
    """The frames on which a model's agreement with the truth is computed, each with its true motif.

    The one place that decides which frames a truth score uses, shared by the models' scores and by
    :func:`scalar_baseline`, so that a baseline is scored on exactly the model's frames.

    Parameters
    ----------
    frames : DataFrame or mapping
        What the model was scored on. A labels table (session[, individual], frame, ``column``), as
        ``segment.truth_agreement`` scores it: the frames the truth has whose ``column`` is a code (>= 0). Or
        ``{session: (time, latent) latents}``, as :func:`kmeans_labels` clusters them: the frames with finite
        latents, a seeded subsample of ``max_frames``.
    truth : DataFrame
        The truth table of ``manifest.load_truth`` (session, frame, motif[, individual]).
    column : str
        The labels table's code column (labels tables only).
    max_frames, seed : int
        The subsample of :func:`kmeans_labels` (latents only); use the same values as for the model's score.

    Returns
    -------
    DataFrame
        session[, individual], frame, true_motif: one row per scored frame.

    Raises
    ------
    ParameterError
        No truth, a truth table without motifs, or no frame shared with the truth.
    """
    _check_truth(truth)
    if isinstance(frames, pd.DataFrame):
        if column not in frames:
            raise ParameterError(f"the labels table has no {column!r} column (columns: {list(frames.columns)}); "
                                 f"pass column=... .")
        try:
            merged = _with_truth(frames, truth)
        except ValueError as err:
            raise ParameterError(str(err)) from err
        merged = merged[merged[column] >= 0]
        keys = [c for c in ("session", "individual", "frame") if c in merged]
        return merged[keys + ["true_motif"]].reset_index(drop=True)
    if not isinstance(frames, Mapping):
        raise ParameterError(f"frames must be a labels table or a {{session: latents}} mapping, not "
                             f"{type(frames).__name__}.")
    return _latent_frames(frames, truth, max_frames=max_frames, seed=seed)[0]


def _check_truth(truth) -> None:
    if truth is None or not isinstance(truth, pd.DataFrame) or truth.empty:
        raise ParameterError("no ground truth: agreement with the true motifs needs manifest.load_truth(dataset) "
                             "(synthetic data); real data have none, so skip this comparison.")
    missing = [c for c in ("session", "frame", "motif") if c not in truth]
    if missing:
        raise ParameterError(f"the truth table lacks column(s) {missing} (columns: {list(truth.columns)}); pass the "
                             f"table of manifest.load_truth.")


def kmeans_labels(latents: Mapping[str, object], truth: pd.DataFrame, n_clusters: int | None = None, *,
                  max_frames: int = 100_000, seed: int = 0) -> pd.DataFrame:
    """k-means on a model's latents, on the frames a truth score uses (synthetic data).

    How well the plainest clustering of the latents recovers known motifs: score the result with
    ``segment.truth_agreement(labels, truth)``. Frames with NaN latents are left out; a seeded subsample of
    ``max_frames`` is clustered (:func:`scored_frames` chooses them). :func:`scalar_baseline` with the same
    latents, k and seed scores the simplest baseline on the same frames.

    Parameters
    ----------
    latents : mapping
        ``{session: (time, latent) array or DataArray}`` of one animal per session.
    truth : DataFrame
        ``manifest.load_truth``'s table (session, frame, motif[, individual]).
    n_clusters : int, optional
        k; None: the number of true motifs among the scored frames.
    max_frames, seed : int
        The seeded subsample clustered, and the seed of k-means.

    Returns
    -------
    DataFrame
        session[, individual], frame, motif (the cluster): one row per clustered frame; ``attrs["n_motifs"]``
        is k.

    Raises
    ------
    ParameterError
        No truth, or a session whose latents and truth differ in length.

    Examples
    --------
    >>> labels = kmeans_labels(latents, truth, seed=0)  # doctest: +SKIP
    >>> segment.truth_agreement(labels, truth)["ari"]  # doctest: +SKIP
    """
    from sklearn.cluster import KMeans  # scikit-learn loads in ~1 s: only when clustering

    _check_truth(truth)
    frames, Z = _latent_frames(latents, truth, max_frames=max_frames, seed=seed)
    k = int(n_clusters or len(np.unique(frames["true_motif"].to_numpy())))
    found = KMeans(k, n_init=10, random_state=seed).fit_predict(Z)
    labels = frames.drop(columns="true_motif").assign(motif=found.astype(np.int64))
    labels.attrs.update({"method": "kmeans", "n_motifs": k, "motifs": list(range(k))})
    return labels


# -- the scalar baseline: what four per-frame numbers recover, beside every model score ----------------------

#: The per-frame kinematic scalars of :func:`scalar_baseline` (it uses those the skeleton supports).
BASELINE_SCALARS = ("speed", "angular_velocity", "body_length", "head_angle")

#: The baseline's clusterings: ``segment.motif_model`` method -> row name of the table.
BASELINE_METHODS = {"kmeans": "scalars + k-means (baseline)", "hmm": "scalars + HMM (baseline)"}


def baseline_scalars(data: Mapping[str, xr.Dataset], names: Sequence[str] = BASELINE_SCALARS, *,
                     log_speeds: bool = False, fill_missing: bool = True) -> dict[str, xr.DataArray]:
    """The baseline's per-frame scalars of every session, z-scored over all sessions together.

    Parameters
    ----------
    data : mapping
        ``{session: cleaned poses}`` (``project.read_clean``; the scalars are computed) or ``{session: features}``
        (``project.read_features``, 03's output; the scalars are read).
    names : sequence of str
        Scalars to use (keys of ``features.FEATURES``, one number per frame). Those the skeleton of every
        session supports are kept (``features.supported``): no head angle without a nose and a neck or ears.
    log_speeds : bool
        Take ``log1p`` of the speed first, as notebook 04 feeds it to VAME. Off by default: on the first
        (v1) synthetic demo cohort the plain z-scored speed gave the stronger baseline (k-means ARI 0.60
        against 0.57 with ``log1p``; HMM 0.61 against 0.56; benchmarks/notes/baseline.md), and a baseline
        should be the strongest simple one.
    fill_missing : bool
        Fill a scalar missing in some frames (a body point still missing after cleaning) by linear
        interpolation in time, the nearest value at a recording's ends, as the models' inputs bridge such
        frames, so the baseline labels every frame a model labels. False: those frames stay NaN.

    Returns
    -------
    dict
        ``{session: DataArray (time, latent, individual)}`` with the scalar names as ``latent``, the names kept
        in ``attrs["scalars"]`` and the number of frames filled in ``attrs["frames_filled"]``; NaN only where a
        scalar is missing in a whole recording (or anywhere, without ``fill_missing``). A motif model
        (``segment.motif_model``) takes it as latents.

    Raises
    ------
    ParameterError
        No sessions, or none of ``names`` is supported by the skeleton.
    """
    import xarray as xr

    if not data:
        raise ParameterError("no sessions given: pass {session: cleaned poses or features}.")
    bad = [n for n in names if n not in F.FEATURES]
    if bad:
        raise ParameterError(f"unknown scalar(s) {bad}; choose from {list(F.FEATURES)}.")
    kept = [n for n in names if all(n in F.supported(ds, [n]) for ds in data.values())]
    if not kept:
        raise ParameterError(f"none of the scalars {list(names)} is supported by the sessions' skeleton (first session "
                             f"{next(iter(data))!r}); the baseline needs at least one of them.")
    arrays = {}
    for s, ds in data.items():
        cols = []
        for n in kept:
            da = F.FEATURES[n](ds) if "position" in ds else ds[n]
            if set(da.dims) != {"time", "individual"}:
                raise ParameterError(f"scalar {n!r} of session {s!r} has dims {da.dims}; the baseline needs one number "
                                     f"per frame and animal (time, individual).")
            v = da.transpose("time", "individual").values.astype(np.float64)
            cols.append(np.log1p(np.abs(v)) if log_speeds and n in LOG_FEATURES else v)
        a = np.stack(cols, axis=1)
        filled = 0
        if fill_missing and np.isnan(a).any():
            before = np.isnan(a).any(axis=1).sum()
            flat = pd.DataFrame(a.reshape(len(a), -1)).interpolate(limit_direction="both").to_numpy()
            a = flat.reshape(a.shape)
            filled = int(before - np.isnan(a).any(axis=1).sum())
        arrays[s] = (a, [str(i) for i in ds["individual"].values], filled)
    pooled = np.concatenate([a.transpose(0, 2, 1).reshape(-1, len(kept)) for a, _, _ in arrays.values()])
    mean, std = np.nanmean(pooled, axis=0), np.nanstd(pooled, axis=0)
    std = np.where(std > 0, std, 1.0)
    out = {}
    for s, (a, inds, filled) in arrays.items():
        z = (a - mean[None, :, None]) / std[None, :, None]
        out[str(s)] = xr.DataArray(z, dims=("time", "latent", "individual"),
                                   coords={"latent": list(kept), "individual": inds}, name="scalars",
                                   attrs={"model": "scalars", "scalars": ", ".join(kept), "frames_filled": filled})
    return out


def scalar_baseline(data: Mapping[str, xr.Dataset], truth: pd.DataFrame,
                    frames: pd.DataFrame | Mapping[str, object], *, n_clusters: int | None = None,
                    column: str = "motif", methods: Sequence[str] = ("kmeans", "hmm"),
                    scalars: Sequence[str] = BASELINE_SCALARS, log_speeds: bool = False, fill_missing: bool = True,
                    covariance: str = "tied", sticky: float = 10.0, max_frames: int | None = 100_000,
                    seed: int = 0) -> pd.DataFrame:
    """The simplest honest baseline for a model's agreement with the truth: clusters of per-frame kinematic scalars.

    Body speed, angular velocity, body length and head angle (those the skeleton supports) are
    z-scored and cut into k clusters by k-means and by the sticky Gaussian HMM of notebook 06
    (``segment.HMMMotifs``), then scored against the true motifs on exactly the frames the model's
    score uses (:func:`scored_frames`). A model's ARI/NMI means something only beside this: if four
    numbers per frame recover the behaviours as well, the model has not shown that it adds anything.

    Parameters
    ----------
    data : mapping
        ``{session: cleaned poses or features}`` (see :func:`baseline_scalars`); at least the sessions of ``frames``.
    truth : DataFrame
        The truth table of ``manifest.load_truth`` (synthetic data).
    frames : DataFrame or mapping
        What the model's score used: its labels table, or its ``{session: latents}`` (see :func:`scored_frames`).
    n_clusters : int, optional
        k; None: the number of true motifs among the scored frames. Pass the model's k when it differs.
    column : str
        The labels table's code column (labels tables only).
    methods : sequence of str
        "kmeans" and/or "hmm".
    scalars : sequence of str
        The scalars to use, of which those the skeleton supports are kept.
    log_speeds : bool
        ``log1p`` of the speed before z-scoring (off: see :func:`baseline_scalars`).
    fill_missing : bool
        Interpolate scalars missing in some frames (see :func:`baseline_scalars`), so that the baseline is scored
        on every frame the model is. Frames still without scalars are left out of its score, with a DataWarning.
    covariance, sticky : str, float
        The HMM's covariance and self-transition prior (notebook 06's defaults).
    max_frames : int, optional
        :func:`kmeans_labels`' subsample when ``frames`` are latents (the same value as the model's score).
    seed : int
        Seed of the clusterings and of the subsample; the same seed gives the same table.

    Returns
    -------
    DataFrame
        One row per method (``BASELINE_METHODS``' names); columns ``ari``, ``nmi``, ``purity``,
        ``matched_accuracy`` (share of frames whose cluster is Hungarian-matched to their true motif), ``k``,
        ``n_true``, ``n_found``, ``frames`` (as ``segment.truth_agreement``'s, plus ``k``). ``attrs``: ``scalars``
        (those used), ``frames_filled`` (interpolated, over all frames of the scored sessions) and
        ``frames_without_scalars`` (scored frames left out).

    Raises
    ------
    ParameterError
        No truth, k < 2, an unknown method, sessions of ``frames`` missing from ``data``, or no usable scalar.
    """
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    _check_truth(truth)
    unknown = [m for m in methods if m not in BASELINE_METHODS]
    if unknown or not methods:
        raise ParameterError(f"methods {list(methods)}: choose one or more of {list(BASELINE_METHODS)}.")
    scored = scored_frames(frames, truth, column=column, max_frames=max_frames, seed=seed)
    if scored.empty:
        raise ParameterError("the model's frames share no frame with a code and a true motif; nothing to score.")
    k = int(n_clusters) if n_clusters is not None else int(scored["true_motif"].nunique())
    if k < 2:
        raise ParameterError(f"k = {k}: the baseline needs at least 2 clusters (pass n_clusters >= 2; the scored frames "
                             f"hold {scored['true_motif'].nunique()} true motif(s)).")
    sessions = list(dict.fromkeys(scored["session"].astype(str)))
    missing = [s for s in sessions if s not in data]
    if missing:
        raise ParameterError(f"session(s) {missing[:5]} of the model's frames are not in the data given to the "
                             f"baseline; pass the cleaned poses (or features) of every scored session.")
    z = baseline_scalars({s: data[s] for s in sessions}, scalars, log_speeds=log_speeds, fill_missing=fill_missing)
    rows = {}
    for method in methods:
        labels = motif_model(method, k, seed=seed, covariance=covariance, sticky=sticky).fit(z).predict(z)
        joined = _join_labels(scored, labels)
        ok = joined["motif"].to_numpy() >= 0
        y, c = joined["true_motif"].to_numpy()[ok], joined["motif"].to_numpy()[ok].astype(np.int64)
        mapping = matching(pd.crosstab(y, c))
        rows[BASELINE_METHODS[method]] = {
            "ari": float(adjusted_rand_score(y, c)), "nmi": float(normalized_mutual_info_score(y, c)),
            "purity": purity(c, y), "matched_accuracy": float(np.mean(pd.Series(c).map(mapping).to_numpy() == y)),
            "k": k, "n_true": int(len(np.unique(y))), "n_found": int(len(np.unique(c))), "frames": int(ok.sum())}
    lost = len(scored) - int(ok.sum())
    if lost:
        why = "a scalar missing in a whole recording" if fill_missing else "body points missing; fill_missing=False"
        warnings.warn(f"the scalar baseline has no scalars for {lost} of the {len(scored)} scored frames ({why}); its "
                      f"scores leave them out.", DataWarning, stacklevel=2)
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.attrs.update(scalars=z[sessions[0]].attrs["scalars"], frames_without_scalars=lost,
                     frames_filled=int(sum(v.attrs["frames_filled"] for v in z.values())))
    return out


def _join_labels(scored: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """The baseline's label of each scored frame (-1 where it has none), matched by session, frame and animal."""
    keys = ["session", "frame"]
    if "individual" in scored and set(scored["individual"].astype(str)) & set(labels["individual"]):
        keys = ["session", "individual", "frame"]
        scored = scored.assign(individual=scored["individual"].astype(str))
    elif (labels.groupby("session")["individual"].nunique() > 1).any():
        raise ParameterError("the scored frames name none of the animals of a multi-animal session; the baseline "
                             "cannot tell which animal's scalars to use. Name the labels' individuals as the poses do.")
    out = scored.merge(labels[keys + ["motif"]], on=keys, how="left")
    out["motif"] = out["motif"].fillna(-1).astype(np.int64)
    return out


def with_baseline(scores: Mapping | pd.Series | pd.DataFrame, baseline: pd.DataFrame, *,
                  name: str = "model") -> pd.DataFrame:
    """A model's truth scores and the scalar baseline's in one table: the model's rows first, its columns.

    Parameters
    ----------
    scores : dict, Series or DataFrame
        The model's score: ``segment.truth_agreement``'s dict, or a table of them (one row per model or
        label column).
    baseline : DataFrame
        :func:`scalar_baseline`'s table.
    name : str
        Row name of a dict or Series score.

    Returns
    -------
    DataFrame
        The model's rows then the baseline's, with the model's columns (a column the baseline lacks is NaN
        there).

    Raises
    ------
    ParameterError
        A score of another type.
    """
    if isinstance(scores, Mapping):
        model = pd.DataFrame([dict(scores)], index=[name])
    elif isinstance(scores, pd.Series):
        model = scores.to_frame(name).T
    elif isinstance(scores, pd.DataFrame):
        model = scores
    else:
        raise ParameterError(f"scores must be a dict, Series or DataFrame, not {type(scores).__name__}.")
    return pd.concat([model, baseline.reindex(columns=model.columns)]).rename_axis(model.index.name)


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
