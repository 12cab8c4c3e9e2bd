"""Latents for every frame: batched inference with an explicit window-to-frame alignment.

The room after ``train`` in the flow (... models -> train -> **embed** -> codes/segment -> hierarchy ...):
a trained model turns every frame of every cleaned session into a latent (VAME) or a code (VQ-MAP),
which segment, hierarchy and stats work on.

The latent of frame ``t`` is the posterior mean of the window centred on ``t``: frames
``t - window // 2`` to ``t - window // 2 + window - 1``. Near the ends of a session, where that
window would run off the data, the nearest complete window is used instead (``edge`` is True
there). A window that contains an unusable frame (NaN after ``inputs.session_matrix``) gives a NaN
latent. So every frame gets exactly one latent, and later labels exactly one value per frame.

Training and embedding use the same path: ``inputs.session_matrix`` then the model's saved
``Normalizer`` (which refuses features that differ from the training ones).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from behavnb.errors import ParameterError, SessionTooShortError
from behavnb.inputs import Normalizer, session_matrix, vqmap_matrices
from behavnb.models import eval_mode, fingerprint
from behavnb.parallel import map_items, raise_failures, resolve_scheduler
from behavnb.runtime import autocast_dtype, map_batches, release_memory
from behavnb.windows import WindowSet

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

ALIGNMENT = ("centred: latent of frame t from frames t - window//2 ... t - window//2 + window - 1; "
             "ends use the nearest complete window")


def window_starts(n_frames: int, window: int) -> tuple[np.ndarray, np.ndarray]:
    """The start frame of each frame's window, and whether it is an edge frame (window not centred)."""
    if n_frames < window:
        raise SessionTooShortError(f"{n_frames} frames are fewer than one model window ({window}): this session "
                                   f"cannot be embedded; leave it out or train with a shorter window.")
    centred = np.arange(n_frames) - window // 2
    starts = np.clip(centred, 0, n_frames - window)
    return starts.astype(np.int64), starts != centred


def _missing(x: np.ndarray, starts: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Frames with any NaN, and whether each window starting at ``starts`` contains one (vectorised)."""
    bad = ~np.isfinite(x).all(axis=1)
    cum = np.concatenate([[0], np.cumsum(bad)])
    return bad, (cum[starts + window] - cum[starts]) > 0


def embed_array(model, x: np.ndarray, window: int, *, batch_size: int | None = None, device: str | None = None,
                progress: bool = False, amp: bool | str = "auto") -> np.ndarray:
    """Latents ``(n_frames, Z)`` of a normalised ``(n_frames, F)`` array, one per frame (see module docstring).

    ``amp="auto"`` (default) runs the encoder under float16 (CUDA) or bfloat16 (CPUs that compute it
    natively) autocast, about 2x faster there; the latents correlate > 0.99999 with float32 ones
    (benchmarks/bench_vame.py). ``amp=False`` is float32 everywhere. ``batch_size`` defaults to 256
    windows on the CPU (fastest there) and 4096 on a GPU.
    """
    import torch

    x = np.asarray(x, dtype=np.float32)
    starts, _ = window_starts(len(x), window)
    bad, has_bad = _missing(x, starts, window)
    device = device or next(model.parameters()).device
    data = torch.from_numpy(np.where(bad[:, None], 0.0, x).astype(np.float32)).to(device)
    dev_type = torch.device(device).type
    batch_size = batch_size or (256 if dev_type == "cpu" else 4096)
    dtype = autocast_dtype(dev_type, amp)
    offsets = torch.arange(window, device=device)

    def one(part: slice) -> torch.Tensor:  # autocast and inference mode are per thread (runtime.map_batches)
        with torch.inference_mode():
            s = torch.as_tensor(starts[part], device=device)
            with torch.autocast(device_type=dev_type, dtype=dtype) if dtype else contextlib.nullcontext():
                return model.embed(data[s[:, None] + offsets]).float()

    with eval_mode(model), torch.inference_mode():
        out = map_batches(one, len(starts), batch_size, dev_type, progress=progress, desc="embed")
        z = torch.cat(out).cpu().numpy()  # one device-to-host copy
    z[has_bad] = np.nan
    return z


def _as_dataarray(z: np.ndarray, ds, window: int, individual: str, model_name: str, model_id: str = "") -> xr.DataArray:
    import xarray as xr

    _, edge = window_starts(len(z), window)
    return xr.DataArray(
        z, dims=("time", "latent"),
        coords={"time": ds["time"].values, "latent": np.arange(z.shape[1]), "individual": individual,
                "edge": ("time", edge)},
        name="embedding",
        attrs={"session": str(ds.attrs.get("session", "")), "fps": float(ds.attrs.get("fps", np.nan)),
               "model": model_name, "model_id": model_id, "window": int(window), "alignment": ALIGNMENT,
               "missing_frames": int(np.isnan(z).any(axis=1).sum())})


def embed_session(model, ds: xr.Dataset, normalizer: Normalizer, *, individual: str | None = None,
                  extra: xr.DataArray | None = None, window: int | None = None, batch_size: int | None = None,
                  model_name: str = "vame", amp: bool | str = "auto") -> xr.DataArray:
    """One individual of a cleaned session -> DataArray ``(time, latent)``, aligned to the session's frames.

    The features are checked against ``normalizer`` (the one saved with the model): different
    keypoints or extra inputs raise an error that names the difference.
    """
    window = window or model.TEMPORAL_WINDOW
    ind = individual if individual is not None else str(ds["individual"].values[0])
    x, names = session_matrix(ds, ind, extra)
    try:
        normalizer.check(names)
    except Exception as exc:
        raise type(exc)(f"session {ds.attrs.get('session', '?')!r}: {exc}") from None

    z = embed_array(model, normalizer.transform(x), window, batch_size=batch_size, amp=amp)
    return _as_dataarray(z, ds, window, ind, model_name, fingerprint(model))


def embed_sessions(model, datasets: Mapping[str, xr.Dataset], normalizer: Normalizer, *,
                   extra: Mapping[str, xr.DataArray] | None = None, batch_size: int | None = None, model_name: str = "vame",
                   progress: bool = True, amp: bool | str = "auto", scheduler: str | None = None) -> dict[str, xr.DataArray]:
    """Every session -> ``(time, latent)``; sessions with several animals get an ``individual`` dimension too.

    Parameters
    ----------
    model : torch.nn.Module
        A trained VAME model (``train.load_model(...).model``).
    datasets : mapping of str to xarray.Dataset
        Cleaned sessions.
    normalizer : Normalizer
        The one saved with the model (``train.load_model(...).normalizer``); different columns raise.
    extra : mapping of str to xarray.DataArray, optional
        Session -> the extra features the model was trained with (``inputs.extra_features``).
    batch_size : int, optional
        Windows per batch; default 256 on a CPU, 4096 on a GPU.
    model_name : str, default "vame"
        Stored in each result's attrs.
    progress : bool, default True
        Show a progress bar.
    amp : bool or "auto", default "auto"
        Autocast: float16 on CUDA, bfloat16 on CPUs that compute it natively; False is float32.
    scheduler : str, optional
        ``"local"`` or a Dask address embeds the sessions in parallel worker processes, on their CPUs
        (see :mod:`behavnb.parallel`). On a GPU keep the default (sync): it batches windows already.

    Returns
    -------
    dict of str to xarray.DataArray
        Session -> latents ``(time, latent[, individual])`` with an ``edge`` coordinate; attrs say the
        model, its fingerprint, the window and the alignment.

    Raises
    ------
    ParameterError
        When the columns differ from the normalizer's, or a parallel scheduler is asked for with the model
        on a GPU; :class:`~behavnb.errors.SessionTooShortError` for a session shorter than a window.
    """
    import xarray as xr

    def one(item: tuple) -> xr.DataArray:  # the item carries its own session, so a worker gets only that one
        ds, ex = item
        per = [embed_session(model, ds, normalizer, individual=str(i), extra=ex, batch_size=batch_size,
                             model_name=model_name, amp=amp) for i in ds["individual"].values]
        return per[0] if len(per) == 1 else xr.concat(per, dim="individual")

    return _per_session(model, one, [(s, (ds, (extra or {}).get(s))) for s, ds in datasets.items()], scheduler,
                        "embedding sessions", progress)


def _per_session(model, fn, items: list, scheduler: str | None, desc: str, progress: bool) -> dict:
    """``fn`` over ``(session, item)`` pairs with ``behavnb.parallel``; one error names every session that failed."""
    if resolve_scheduler(scheduler) != "sync":
        device = next(model.parameters()).device.type
        if device != "cpu":
            raise ParameterError(f"scheduler={scheduler!r} embeds on the workers' CPUs but the model is on {device}: "
                                 "move it with model.cpu(), or embed on the GPU with scheduler='sync'.")
    outcomes = map_items(fn, items, scheduler=scheduler, desc=desc, progress=progress)
    release_memory()  # the batches' activations, back to the OS
    raise_failures(outcomes, "sessions", "Those sessions cannot be embedded; see the errors above.")
    return {o.key: o.value for o in outcomes}


def embed_windowset(model, windows: WindowSet, *, batch_size: int | None = None,
                    amp: bool | str = "auto") -> dict[str, np.ndarray]:
    """Latents of every session inside a ``WindowSet`` (the data exactly as training saw it): ``{key: (T, Z)}``."""
    return {k: embed_array(model, windows.data[a:a + n], windows.window, batch_size=batch_size, amp=amp)
            for k, (a, n) in windows.sessions.items()}


# -- VQ-MAP: discrete codes per frame ----------------------------------------------------------------

CODE_ALIGNMENT = ("overlapping windows (stride window/2); frame t takes the code step covering it in the window whose "
                  "centre is nearest to t, so codes change at most every `downsample` frames, on multiples of it; the "
                  "last window ends on the last frame, so in the last half window steps may sit off that grid")


def code_window_starts(n_frames: int, window: int, downsample: int) -> np.ndarray:
    """Starts of the overlapping encoding windows: every ``window // 2`` frames (a multiple of ``downsample``), plus the last."""
    if n_frames < window:
        raise SessionTooShortError(f"{n_frames} frames are fewer than one model window ({window}): this session "
                                   f"cannot be encoded; leave it out or use a shorter window.")
    stride = max(downsample, (window // 2) // downsample * downsample)
    starts = np.arange(0, n_frames - window + 1, stride)
    if starts[-1] != n_frames - window:
        starts = np.append(starts, n_frames - window)
    return starts.astype(np.int64)


def frame_assignment(n_frames: int, starts: np.ndarray, window: int, downsample: int) -> tuple[np.ndarray, np.ndarray]:
    """For every frame: the window it is read from (nearest centre) and the code step inside that window."""
    t = np.arange(n_frames) + 0.5
    centres = starts + window / 2
    j = np.clip(np.searchsorted(centres, t), 1, len(starts) - 1) if len(starts) > 1 else np.zeros(n_frames, int)
    if len(starts) > 1:
        j = np.where(np.abs(t - centres[j - 1]) <= np.abs(t - centres[j]), j - 1, j)
    step = (np.arange(n_frames) - starts[j]) // downsample
    return j, step


def embed_codes_array(model, x: np.ndarray, dataset: str | None = None, *, batch_size: int | None = None,
                      amp: bool | str = "auto", progress: bool = False) -> dict[str, np.ndarray]:
    """Per-frame latent ``(n_frames, L)`` and codes (type, subtype, motif; -1 where unusable) of a normalised array.

    ``x`` is ``(n_frames, K*D)`` in the skeleton's column order. A window containing an unusable
    (NaN) frame gives NaN latents and code -1 to the frames read from it (see ``CODE_ALIGNMENT``).
    """
    import torch

    x = np.asarray(x, dtype=np.float32)
    window, ds_factor = model.TEMPORAL_WINDOW, model.config.downsample
    starts = code_window_starts(len(x), window, ds_factor)
    # CPU batches of 128: 05's 25 demo sessions encode in 6.2 s with +185 MB at the peak, against 10.2 s and
    # +380 MB with 512 (Intel Xeon, bfloat16; the attention over keypoints grows with the batch)
    bad, window_bad = _missing(x, starts, window)
    device = next(model.parameters()).device
    dev_type = device.type
    dtype = autocast_dtype(dev_type, amp)
    batch_size = batch_size or (128 if dev_type == "cpu" else 8192)
    data = torch.from_numpy(np.where(bad[:, None], 0.0, x).astype(np.float32)).to(device)
    offsets = torch.arange(window, device=device)

    def one(part: slice) -> tuple:  # autocast and inference mode are per thread (runtime.map_batches)
        with torch.inference_mode():
            s = torch.as_tensor(starts[part], device=device)
            with torch.autocast(device_type=dev_type, dtype=dtype) if dtype else contextlib.nullcontext():
                z = model.encode(data[s[:, None] + offsets], dataset)
            _, it, is_, _, _ = model.quantize(z.float())
            return z.float(), it, is_

    with eval_mode(model), torch.inference_mode():
        parts = map_batches(one, len(starts), batch_size, dev_type, progress=progress, desc="encode")
        z, it, is_ = (torch.cat(v).cpu().numpy() for v in zip(*parts, strict=True))  # (n_windows, steps[, L])
    j, step = frame_assignment(len(x), starts, window, ds_factor)
    latent, typ, sub = z[j, step], it[j, step].astype(np.int64), is_[j, step].astype(np.int64)
    unusable = window_bad[j]
    latent[unusable] = np.nan
    typ[unusable] = -1
    sub[unusable] = -1
    motif = np.where(unusable, -1, typ * model.config.n_subtypes + sub)
    return {"latent": latent, "type": typ, "subtype": sub, "motif": motif, "window_start": starts[j]}


def embed_codes_session(model, ds: xr.Dataset, normalizer: Normalizer, *, dataset: str | None = None,
                        individual: str | None = None, batch_size: int | None = None, model_name: str = "vqmap",
                        amp: bool | str = "auto") -> xr.DataArray:
    """One individual of a cleaned session -> latents ``(time, latent)`` with ``type``, ``subtype``, ``motif`` coords.

    The columns are the model skeleton's (``dataset``: positions and velocities; ``inputs.vqmap_matrices``),
    checked against ``normalizer``.
    """
    import xarray as xr

    ds_name = model._dataset(dataset)
    if isinstance(normalizer, dict):  # a co-embedding model's NormalizerSet
        if ds_name not in normalizer:
            raise ParameterError(f"the normalizers are for {sorted(normalizer)}, not for dataset {ds_name!r}.")
        normalizer = normalizer[ds_name]
    ind = individual if individual is not None else str(ds["individual"].values[0])
    session = ds.attrs.get("session", "?")
    one = ds.sel(individual=[ind])
    x, names = next(iter(vqmap_matrices({session: one}, model.skeletons[ds_name]).values()))
    try:
        normalizer.check(names)
    except Exception as exc:
        raise type(exc)(f"session {session!r}: {exc}") from None
    out = embed_codes_array(model, normalizer.transform(x), ds_name, batch_size=batch_size, amp=amp)
    return xr.DataArray(
        out["latent"], dims=("time", "latent"),
        coords={"time": ds["time"].values, "latent": np.arange(out["latent"].shape[1]), "individual": ind,
                "type": ("time", out["type"]), "subtype": ("time", out["subtype"]), "motif": ("time", out["motif"])},
        name="embedding",
        attrs={"session": str(session), "fps": float(ds.attrs.get("fps", np.nan)), "model": model_name,
               "model_id": fingerprint(model), "dataset": ds_name, "window": int(model.TEMPORAL_WINDOW),
               "downsample": int(model.config.downsample),
               "n_types": int(model.config.n_types), "n_subtypes": int(model.config.n_subtypes),
               "alignment": CODE_ALIGNMENT, "missing_frames": int((out["motif"] < 0).sum())})


def embed_codes_sessions(model, datasets: Mapping[str, xr.Dataset], normalizer, *, dataset: str | None = None,
                         batch_size: int | None = None, model_name: str = "vqmap", progress: bool = True,
                         amp: bool | str = "auto", scheduler: str | None = None) -> dict[str, xr.DataArray]:
    """Every session (and animal) -> VQ-MAP codes and latents.

    Parameters
    ----------
    model : torch.nn.Module
        A trained VQ-MAP model.
    datasets : mapping of str to xarray.Dataset
        Cleaned sessions.
    normalizer : Normalizer or NormalizerSet
        The one saved with the model; a ``NormalizerSet`` for a co-embedding model.
    dataset : str, optional
        Which of the model's skeletons (datasets) these sessions are; default: its only one.
    batch_size : int, optional
        Windows per batch.
    model_name : str, default "vqmap"
        Stored in each result's attrs.
    progress : bool, default True
        Show a progress bar.
    amp : bool or "auto", default "auto"
        Autocast, as for ``embed_sessions``.
    scheduler : str, optional
        As for ``embed_sessions`` (sessions in parallel on the workers' CPUs).

    Returns
    -------
    dict of str to xarray.DataArray
        Session -> latents ``(time, latent[, individual])`` with ``type``, ``subtype`` and ``motif`` coordinates
        (-1 where no usable code).

    Raises
    ------
    ParameterError
        When the skeleton or columns differ from the model's, or the dataset is unknown.
    """
    import xarray as xr

    ds_name = model._dataset(dataset)

    def one(ds: xr.Dataset) -> xr.DataArray:
        per = [embed_codes_session(model, ds, normalizer, dataset=ds_name, individual=str(i), batch_size=batch_size,
                                   model_name=model_name, amp=amp) for i in ds["individual"].values]
        return per[0] if len(per) == 1 else xr.concat(per, dim="individual", coords="different", compat="equals")

    return _per_session(model, one, list(datasets.items()), scheduler, "encoding sessions", progress)


def labels_table(latents: Mapping[str, xr.DataArray]) -> pd.DataFrame:
    """The labels table of per-frame coded latents.

    Frames without a usable code keep their row, with motif -1, so there is exactly one row per frame.

    Parameters
    ----------
    latents : mapping of str to xarray.DataArray
        Session -> coded latents (``embed_codes_sessions``).

    Returns
    -------
    pandas.DataFrame
        ``session, individual, frame, time, motif[, type, subtype]``.
    """
    import pandas as pd

    rows = []
    for s, da in latents.items():
        das = [da.sel(individual=i) for i in da["individual"].values] if "individual" in da.dims else [da]
        for d in das:
            part = {"session": s, "individual": str(d["individual"].values), "frame": np.arange(d.sizes["time"]),
                    "time": d["time"].values}
            for c in ("motif", "type", "subtype"):
                if c in d.coords:
                    part[c] = d[c].values.astype(np.int64)
            rows.append(pd.DataFrame(part))
    return pd.concat(rows, ignore_index=True)
