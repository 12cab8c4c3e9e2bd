"""Latents as sequences: one ``(time, latent)`` array per session and animal, checked to come from one model.

Part of the segment room of the flow (... embed -> codes/**segment** -> hierarchy -> stats ...): how the motif
models read ``embed``'s latents.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from behavnb.errors import ParameterError


@dataclass
class Sequence:
    """One animal in one session: its per-frame latents (NaN rows = no latent) and optional codes."""

    session: str
    individual: str
    time: np.ndarray
    x: np.ndarray
    codes: dict[str, np.ndarray]


def _source(da) -> dict:
    attrs = dict(getattr(da, "attrs", {}) or {})
    return {k: attrs[k] for k in ("model", "model_id", "window", "downsample", "n_types", "n_subtypes") if k in attrs}


def sequences(latents: Mapping[str, object]) -> tuple[list[Sequence], dict]:
    """``{session: DataArray (time, latent[, individual]) or array}`` -> sequences and their common source.

    Every session must come from the same model (the ``model``/``model_id`` attributes ``embed``
    writes) and have the same number of latent dimensions; mixing them is an error, because motifs
    fitted on one model's latents mean nothing on another's.
    """
    if not isinstance(latents, Mapping) or not latents:
        raise ParameterError("latents must be a non-empty {session: DataArray (time, latent)} mapping, as "
                             "project.read_latents gives per session.")
    seqs, source, first = [], None, None
    for s, da in latents.items():
        src = _source(da)
        if source is None:
            source, first = src, s
        elif src != source:
            diff = {k: (source.get(k), src.get(k)) for k in set(src) | set(source) if source.get(k) != src.get(k)}
            raise ParameterError(f"latents from different models are mixed: session {s!r} differs from {first!r} in "
                                 f"{diff}. Fit motifs on the latents of one model (one latents/<name>/ folder).")
        if hasattr(da, "dims") and "individual" in da.dims:
            parts = [(str(i), da.sel(individual=i)) for i in da["individual"].values]
        elif hasattr(da, "dims"):
            ind = str(da["individual"].values) if "individual" in da.coords else "individual_0"
            parts = [(ind, da)]
        else:
            parts = [("individual_0", da)]
        for ind, d in parts:
            if hasattr(d, "dims"):
                if "time" not in d.dims or d.ndim != 2:
                    raise ParameterError(f"session {s!r}: latents must have dims (time, latent), got {d.dims}.")
                d = d.transpose("time", ...)
            x = np.asarray(getattr(d, "values", d), dtype=np.float64)
            if x.ndim != 2:
                raise ParameterError(f"session {s!r}: latents must be (time, latent), got shape {x.shape}.")
            t = np.asarray(d["time"].values, dtype=float) if hasattr(d, "coords") and "time" in d.coords \
                else np.arange(len(x), dtype=float)
            codes = {c: np.asarray(d[c].values, dtype=np.int64) for c in ("motif", "type", "subtype")
                     if hasattr(d, "coords") and c in d.coords}
            seqs.append(Sequence(str(s), ind, t, x, codes))
    dims = {q.x.shape[1] for q in seqs}
    if len(dims) > 1:
        raise ParameterError(f"latents from different models are mixed: latent sizes {sorted(dims)} across sessions. "
                             f"Fit motifs on the latents of one model.")
    source = dict(source or {})
    source["n_latent"] = dims.pop()
    return seqs, source


def finite_runs(x: np.ndarray, min_length: int = 1) -> list[tuple[int, int]]:
    """``(start, stop)`` of the runs of rows without NaN, at least ``min_length`` long."""
    ok = np.isfinite(x).all(axis=1)
    edges = np.diff(np.concatenate([[0], ok.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(int(a), int(b)) for a, b in zip(starts, stops, strict=True) if b - a >= min_length]


def labels_frame(seqs: list[Sequence], labels: list[np.ndarray], extra: dict[str, list[np.ndarray]] | None = None):
    """The labels table (session, individual, frame, time, motif[, ...]): exactly one row per frame."""
    import pandas as pd

    parts = []
    for i, (q, y) in enumerate(zip(seqs, labels, strict=True)):
        if len(y) != len(q.x):
            raise AssertionError(f"{q.session}: {len(y)} labels for {len(q.x)} frames")
        part = {"session": q.session, "individual": q.individual, "frame": np.arange(len(y), dtype=np.int64),
                "time": q.time, "motif": np.asarray(y, dtype=np.int64)}
        for c, vals in (extra or {}).items():
            part[c] = np.asarray(vals[i], dtype=np.int64)
        parts.append(pd.DataFrame(part))
    table = pd.concat(parts, ignore_index=True)
    table["session"] = table["session"].astype(str)
    table["individual"] = table["individual"].astype(str)
    return table
