"""Agreement with the true motifs (synthetic data) and the honest baseline beside every model score.

``kmeans_labels`` clusters the latents, ``scored_frames`` decides which frames any truth score uses, and
``scalar_baseline`` / ``with_baseline`` put the same clustering of four per-frame scalars beside it.
Part of ``behavnb.evaluate``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from behavnb import features as F
from behavnb.codes import _with_truth
from behavnb.errors import DataWarning, ParameterError
from behavnb.inputs import LOG_FEATURES
from behavnb.segment import agreement, motif_model

if TYPE_CHECKING:
    import xarray as xr



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
        scores = agreement(y, c)
        rows[BASELINE_METHODS[method]] = {**{n: scores[n] for n in ("ari", "nmi", "purity", "matched_accuracy")}, "k": k,
                                          **{n: scores[n] for n in ("n_true", "n_found", "frames")}}
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
