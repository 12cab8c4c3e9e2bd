"""Training windows from cleaned poses: session-aware, split by contiguous chunks, normalised once.

- ``session_matrix`` turns one session (egocentric pose, plus optional features) into a
  ``(time, feature)`` array with named columns.
- ``Normalizer`` holds per-feature mean and std, fitted on training frames only; it is saved with a
  model and refuses data whose features differ from those it was fitted on.
- ``split_chunks`` marks contiguous test chunks per session, so test windows are never neighbours
  of training windows that share most of their frames.
- ``WindowSet`` keeps every session in one pre-normalised array and the start frame of every valid
  window; a batch is gathered with one indexing operation (on the GPU too, no per-sample Python).
  A window never spans two sessions, a missing frame, or the gap where a test chunk was cut out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from behavnb.errors import ParameterError, SessionTooShortError

if TYPE_CHECKING:
    import xarray as xr


def fill_sparse_gaps(x: np.ndarray, min_present: float = 2 / 3) -> np.ndarray:
    """Fill a frame's missing columns by linear interpolation in time if at least ``min_present`` of them are present.

    After cleaning, single keypoints still miss now and then (gaps longer than ``max_gap``), and in
    a 14-keypoint pose that leaves ~half the frames with *some* column missing, so a window of 45
    frames would rarely be complete. The model needs complete windows; a frame that lacks most of the
    body stays NaN (unusable), one that lacks a paw gets the paw interpolated (nearest value at the
    ends). Interpolating every gap, as VAME does, would invent whole postures.
    """
    x = np.array(x, dtype=np.float32, copy=True)
    bad = ~np.isfinite(x)
    if not bad.any():
        return x
    ok_frames = (~bad).mean(axis=1) >= min_present
    t = np.arange(len(x))
    for j in np.flatnonzero(bad.any(axis=0)):
        good = ~bad[:, j]
        if good.sum() == 0:
            continue
        fill = bad[:, j] & ok_frames
        x[fill, j] = np.interp(t[fill], t[good], x[good, j])
    x[~ok_frames] = np.nan
    return x


def pose_columns(ds: xr.Dataset, var: str = "ego_position") -> list[str]:
    """The column names ``session_matrix`` gives a pose: ``<keypoint>_<space>``, keypoint-major."""
    return [f"{k}_{s}" for k in ds[var]["keypoint"].values for s in ds[var]["space"].values]


def session_matrix(ds: xr.Dataset, individual: str | None = None, extra: xr.DataArray | None = None,
                   var: str = "ego_position", min_present: float | None = 2 / 3,
                   columns: Sequence[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """One individual's egocentric pose as ``(time, keypoint x space [+ extra])`` and the column names.

    ``extra`` is ``features.model_inputs(...)`` (dims time, feature, individual), appended as columns;
    ``columns`` keeps only these columns, in this order (e.g. a VQ-MAP skeleton's, which drops z to
    project 3D data onto x, y).
    Missing values of frames with at least ``min_present`` of their columns are interpolated
    (``fill_sparse_gaps``); ``None`` keeps every NaN. Training and embedding both go through here.
    """
    if var not in ds:
        raise ParameterError(f"session {ds.attrs.get('session', '?')!r} has no {var!r}: windows are built from "
                             f"cleaned, aligned poses (notebook 02_preprocess, preprocess.clean).")
    ind = individual if individual is not None else str(ds["individual"].values[0])
    pose = ds[var].sel(individual=ind).transpose("time", "keypoint", "space")
    x = pose.values.reshape(pose.sizes["time"], -1)
    names = pose_columns(ds, var)
    if extra is not None:
        e = extra.sel(individual=ind).transpose("time", "feature").values
        if len(e) != len(x):
            raise ParameterError(f"extra inputs have {len(e)} frames but the pose has {len(x)}.")
        x = np.concatenate([x, e], axis=1)
        names += [str(f) for f in extra["feature"].values]
    if columns is not None:
        missing = [c for c in columns if c not in names]
        if missing:
            raise ParameterError(f"session {ds.attrs.get('session', '?')!r} has no column(s) {missing}; it has {names}.")
        x, names = x[:, [names.index(c) for c in columns]], list(columns)
    if min_present is not None:
        x = fill_sparse_gaps(x, min_present)
    return np.ascontiguousarray(x, dtype=np.float32), names


def session_matrices(cleaned: Mapping[str, xr.Dataset], extra: Mapping[str, xr.DataArray] | None = None,
                     min_present: float | None = 2 / 3,
                     columns: Sequence[str] | None = None) -> dict[str, tuple[np.ndarray, list[str]]]:
    """``session_matrix`` of every animal of every session: ``{key: (array, names)}``, ready for ``build``.

    The key is the session name, or ``"<session>/<individual>"`` when a session has several animals.
    ``extra`` maps a session to its ``features.model_inputs(...)``.
    """
    out = {}
    for s, ds in cleaned.items():
        inds = [str(i) for i in ds["individual"].values]
        for ind in inds:
            key = s if len(inds) == 1 else f"{s}/{ind}"
            out[key] = session_matrix(ds, ind, None if extra is None else extra[s], min_present=min_present,
                                      columns=columns)
    return out


def column_sums(arrays: Sequence[np.ndarray], fn: Callable[[np.ndarray], np.ndarray],
                n_columns: int) -> tuple[np.ndarray, np.ndarray]:
    """Per column: the count of finite values of ``fn(a)`` and their sum, over ``arrays``, one array at a time.

    Parameters
    ----------
    arrays
        ``(frames, n_columns)`` arrays; each is converted to float64 on its own.
    fn
        Applied to each float64 array before counting and summing (identity, a compression, squared deviations).
    n_columns
        Columns of every array.

    Returns
    -------
    tuple of numpy.ndarray
        Counts (int64) and sums (float64), each ``(n_columns,)``.
    """
    count, total = np.zeros(n_columns, dtype=np.int64), np.zeros(n_columns)
    for a in arrays:
        v = fn(np.asarray(a, dtype=np.float64))
        finite = np.isfinite(v)
        count += finite.sum(axis=0)
        total += np.where(finite, v, 0.0).sum(axis=0)
    return count, total


@dataclass
class Normalizer:
    """Per-feature z-scoring fitted on training frames only (NaN ignored).

    ``log_scale`` (optional, per feature; 0 = none) first compresses a heavy-tailed signed feature
    ``x -> sign(x) * log1p(|x| / s)``: linear below ``s``, logarithmic above it, so that a sniff's
    small head movements and a run's large ones both count in a squared error. ``mean`` and ``std``
    are then those of the compressed values; ``inverse_transform`` undoes both steps.
    """

    names: list[str] = field(default_factory=list)
    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    log_scale: np.ndarray | None = None

    def fit(self, arrays: Sequence[np.ndarray], names: Sequence[str]) -> Normalizer:
        """Fit mean and std per feature on ``arrays`` (``(frames, features)`` each; NaN ignored), one array at a time.

        Two passes over the arrays (sums, then squared deviations), so memory holds one array in float64 at a time,
        not all of them concatenated (20 sessions x 30 min: 1 GB less at ``build``).

        Parameters
        ----------
        arrays
            The training frames, in any number of pieces with the same columns.
        names
            One name per column.

        Returns
        -------
        Normalizer
            ``self``, fitted.

        Raises
        ------
        ParameterError
            A column count differs from ``names``, or a feature has fewer than 2 finite values.
        """
        arrays = list(arrays)
        for a in arrays:
            if np.ndim(a) != 2 or np.shape(a)[1] != len(names):
                raise ParameterError(f"an array of shape {np.shape(a)} for {len(names)} feature names.")
        n, total = column_sums(arrays, self.compress, len(names))
        if (n < 2).any():
            empty = [nm for nm, c in zip(names, n, strict=True) if c < 2]
            raise ParameterError(f"feature(s) {empty} have no training data (all NaN); drop them before fitting.")
        self.names = list(names)
        self.mean = total / n
        _, squares = column_sums(arrays, lambda x: (self.compress(x) - self.mean) ** 2, len(names))
        self.std = np.sqrt(squares / (n - 1))
        self.std[self.std < 1e-8] = 1.0  # a constant feature (e.g. the origin keypoint) stays at 0
        return self

    def _logged(self) -> np.ndarray | None:
        """Mask of the columns with a signed-log step, or None when there are none."""
        if self.log_scale is None or not np.any(self.log_scale > 0):
            return None
        return self.log_scale > 0

    def compress(self, x: np.ndarray) -> np.ndarray:
        """The signed-log step alone (identity where ``log_scale`` is 0 or unset)."""
        on = self._logged()
        if on is None:
            return x
        out = np.array(x, dtype=np.float64, copy=True)
        out[..., on] = np.sign(out[..., on]) * np.log1p(np.abs(out[..., on]) / self.log_scale[on])
        return out

    def check(self, names: Sequence[str]) -> None:
        """Raise if ``names`` differ from the features the normalizer was fitted on, naming the difference."""
        if list(names) != self.names:
            missing = [n for n in self.names if n not in names]
            extra = [n for n in names if n not in self.names]
            detail = (f"missing {missing}" if missing else "") + (", " if missing and extra else "") + \
                (f"unexpected {extra}" if extra else "")
            raise ParameterError(
                f"the input features differ from those the model was trained on: {detail or 'same names, other order'}. "
                f"Embed data cleaned with the same keypoints and features, or retrain.")

    def transform(self, x: np.ndarray, names: Sequence[str] | None = None) -> np.ndarray:
        if self.mean is None:
            raise ParameterError("Normalizer is not fitted; call fit() first or load a saved one.")
        if names is not None:
            self.check(names)
        return ((self.compress(x) - self.mean) / self.std).astype(np.float32)

    def inverse_transform(self, z: np.ndarray) -> np.ndarray:
        u = z * self.std + self.mean
        on = self._logged()
        if on is None:
            return u
        u = np.array(u, dtype=np.float64, copy=True)
        u[..., on] = np.sign(u[..., on]) * np.expm1(np.abs(u[..., on])) * self.log_scale[on]
        return u

    def to_json(self) -> str:
        d = {"names": self.names, "mean": self.mean.tolist(), "std": self.std.tolist()}
        if self.log_scale is not None:
            d["log_scale"] = self.log_scale.tolist()
        return json.dumps(d)

    @classmethod
    def _from_dict(cls, d: dict) -> Normalizer:
        log = d.get("log_scale")
        return cls(d["names"], np.asarray(d["mean"]), np.asarray(d["std"]), None if log is None else np.asarray(log))

    @classmethod
    def from_json(cls, text: str) -> Normalizer | NormalizerSet:
        d = json.loads(text)
        if "datasets" in d:  # a co-embedding model: one normalizer per dataset
            return NormalizerSet({k: cls._from_dict(v) for k, v in d["datasets"].items()})
        return cls._from_dict(d)


class NormalizerSet(dict):
    """``{dataset: Normalizer}`` of a model trained on several datasets; saved as one JSON file."""

    @property
    def names(self) -> list[str]:
        return [f"{ds}:{n}" for ds, norm in self.items() for n in norm.names]

    def to_json(self) -> str:
        return json.dumps({"datasets": {k: json.loads(v.to_json()) for k, v in self.items()}})


def split_chunks(n_frames: int, test_fraction: float = 0.2, n_chunks: int = 10, seed: int = 0) -> np.ndarray:
    """Boolean per-frame mask of test frames: ``n_chunks`` contiguous chunks, a seeded share of them for test."""
    if not 0.0 <= test_fraction < 1.0:
        raise ParameterError(f"test_fraction={test_fraction!r} must be in [0, 1).")
    n_chunks = max(1, min(n_chunks, n_frames))
    edges = np.linspace(0, n_frames, n_chunks + 1).round().astype(int)
    n_test = int(round(test_fraction * n_chunks))
    if test_fraction > 0 and n_test == 0:
        n_test = 1 if n_chunks > 1 else 0
    chosen = np.random.default_rng(seed).choice(n_chunks, size=n_test, replace=False)
    mask = np.zeros(n_frames, dtype=bool)
    for c in chosen:
        mask[edges[c]:edges[c + 1]] = True
    return mask


def valid_starts(usable: np.ndarray, window: int) -> np.ndarray:
    """Start frames s such that frames s .. s+window-1 are all usable (vectorised)."""
    usable = np.asarray(usable, dtype=bool)
    if len(usable) < window:
        return np.zeros(0, dtype=np.int64)
    run = np.convolve(usable.astype(np.int64), np.ones(window, dtype=np.int64), mode="valid")
    return np.flatnonzero(run == window).astype(np.int64)


def _is_tensor(x) -> bool:
    """A torch tensor (numpy >= 2 arrays have a ``device`` attribute too, so that is no test)."""
    import sys

    torch = sys.modules.get("torch")
    return torch is not None and torch.is_tensor(x)


@dataclass
class WindowSet:
    """All sessions in one normalised array with the start row of every train and test window."""

    data: np.ndarray  # (rows, features), sessions stacked
    names: list[str]
    window: int
    train: np.ndarray  # start rows
    test: np.ndarray
    sessions: dict[str, tuple[int, int]]  # key -> (first row, n_frames)
    normalizer: Normalizer
    future: int = 0  # frames after the window that come with it (the future decoder's target)

    @property
    def span(self) -> int:
        """Frames per gathered sample: the window plus its future."""
        return self.window + self.future

    def gather(self, starts: np.ndarray, data=None):
        """Samples starting at ``starts``: ``(batch, window + future, features)``, on numpy or torch data.

        With torch data and start indices on its device, this is one indexing operation on the device.
        """
        data = self.data if data is None else data
        if _is_tensor(data):  # torch: index on the data's device
            import torch

            starts = torch.as_tensor(starts, device=data.device)
            return data[starts[:, None] + torch.arange(self.span, device=data.device)]
        return data[np.asarray(starts)[:, None] + np.arange(self.span)]

    def device_data(self, device="cpu"):
        """The normalised data as a torch tensor on ``device`` (what ``gather`` indexes in training)."""
        import torch

        return torch.from_numpy(np.ascontiguousarray(self.data)).to(device)

    def epoch_order(self, generator, batch_size: int):
        """A seeded shuffle of the training windows (positions in ``train``) for one epoch."""
        import torch

        return torch.randperm(len(self.train), generator=generator)

    @staticmethod
    def batch_len(batch) -> int:
        return len(batch)

    def __repr__(self) -> str:
        return (f"WindowSet({len(self.sessions)} sessions, window={self.window}+{self.future}, features={len(self.names)}, "
                f"train={len(self.train)}, test={len(self.test)})")


def build(matrices: Mapping[str, tuple[np.ndarray, list[str]]], window: int, *, test_fraction: float = 0.2,
          n_chunks: int = 10, seed: int = 0, normalizer: Normalizer | None = None, future: int = 0,
          fit_normalizer: Callable[[list[np.ndarray], list[str]], Normalizer] | None = None) -> WindowSet:
    """Windows of ``window`` frames (+ ``future`` frames after each) from ``{key: session_matrix(...)}``.

    The normalizer is fitted on training frames only (unless one is given): per-feature z-scores, or
    what ``fit_normalizer(train_arrays, names)`` returns (VQ-MAP's one shared scale). A frame with any NaN
    feature is unusable; a sample (window + future) never covers one, never crosses from one
    session into the next, and never bridges a test chunk. Raises if a session is shorter than a window.
    """
    if window < 2:
        raise ParameterError(f"window={window}: a window needs at least 2 frames.")
    if future < 0:
        raise ParameterError(f"future={future}: must be >= 0.")
    span = window + future
    names = None
    rows, train, test, spans, train_parts = 0, [], [], {}, []
    for i, (key, (x, cols)) in enumerate(matrices.items()):
        if names is None:
            names = list(cols)
        elif list(cols) != names:
            Normalizer(names).check(cols)
        if len(x) < window:
            raise SessionTooShortError(f"session {key!r} has {len(x)} frames, fewer than one model window ({window}); "
                                       f"use a shorter window or leave the session out.")
        ok = np.isfinite(x).all(axis=1)
        is_test = split_chunks(len(x), test_fraction, n_chunks, seed + i)
        train.append(rows + valid_starts(ok & ~is_test, span))
        test.append(rows + valid_starts(ok & is_test, span))
        train_parts.append(x[ok & ~is_test])
        spans[key] = (rows, len(x))
        rows += len(x)
    if names is None:
        raise ParameterError("no sessions to build windows from.")
    norm = normalizer or (fit_normalizer or Normalizer().fit)(train_parts, names)
    norm.check(names)
    data = np.empty((rows, len(names)), dtype=np.float32)  # filled session by session: no list of copies
    for key, (x, _) in matrices.items():
        a, n = spans[key]
        data[a:a + n] = norm.transform(x)
    train_idx, test_idx = np.concatenate(train), np.concatenate(test)
    if len(train_idx) == 0:
        raise SessionTooShortError(f"no complete training sample of {span} frames (window {window} + future {future}): "
                                   f"too many missing frames or sessions too short.")
    return WindowSet(data, names, window, train_idx, test_idx, spans, norm, future)


@dataclass
class MultiWindowSet:
    """Several datasets' ``WindowSet``s (co-embedding), all with the same window, for ``train.fit``.

    Window starts are global: dataset ``i``'s start ``s`` becomes ``offset[i] + s``, as if the data
    were stacked; ``gather`` returns ``{dataset: (batch, window, features)}`` (each dataset keeps its
    own columns). ``schedule="mixed"`` shuffles all windows together, so a batch mixes datasets (each with a fixed
    share of every batch, its share of the windows);
    ``"alternating"`` makes every batch come from one dataset, the datasets taking turns.
    """

    sets: dict[str, WindowSet]
    schedule: str = "mixed"

    def __post_init__(self):
        if not self.sets:
            raise ParameterError("MultiWindowSet needs at least one WindowSet.")
        if self.schedule not in ("mixed", "alternating"):
            raise ParameterError(f"schedule={self.schedule!r}: 'mixed' or 'alternating'.")
        spans = {k: (w.window, w.future) for k, w in self.sets.items()}
        if len(set(spans.values())) != 1:
            raise ParameterError(f"datasets have different windows (window, future): {spans}; build them alike.")
        self.offsets = np.cumsum([0] + [len(w.data) for w in self.sets.values()])[:-1]
        self.window, self.future = next(iter(spans.values()))

    @property
    def span(self) -> int:
        return self.window + self.future

    @property
    def names(self) -> list[str]:
        return self.normalizer.names

    @property
    def normalizer(self) -> NormalizerSet:
        return NormalizerSet({k: w.normalizer for k, w in self.sets.items()})

    @property
    def train(self) -> np.ndarray:
        return np.concatenate([o + w.train for o, w in zip(self.offsets, self.sets.values())])

    @property
    def test(self) -> np.ndarray:
        return np.concatenate([o + w.test for o, w in zip(self.offsets, self.sets.values())])

    def device_data(self, device="cpu") -> list:
        return [w.device_data(device) for w in self.sets.values()]

    def gather(self, starts, data=None) -> dict:
        """``{dataset: samples}`` for global ``starts`` (numpy, or torch on the data's device)."""
        data = data if data is not None else [w.data for w in self.sets.values()]
        if _is_tensor(starts):
            import torch

            offsets = torch.as_tensor(self.offsets, device=starts.device)
            which = torch.bucketize(starts, offsets, right=True) - 1
        else:
            starts = np.asarray(starts)
            which = np.searchsorted(self.offsets, starts, side="right") - 1
        out = {}
        for i, (name, w) in enumerate(self.sets.items()):
            sel = which == i
            if bool(sel.any()):
                out[name] = w.gather(starts[sel] - int(self.offsets[i]), data[i])
        return out

    def epoch_order(self, generator, batch_size: int):
        """Positions in ``train`` for one epoch, shuffled (mixed) or in single-dataset batches taking turns.

        Alternating batches keep to one dataset as long as the batch size stays the one given here
        (after an out-of-memory halving, a batch may straddle two datasets until the next epoch).
        """
        import torch

        n = len(self.train)
        first = np.cumsum([0] + [len(w.train) for w in self.sets.values()])
        if self.schedule == "mixed":
            return self._mixed_order(generator, batch_size, first)
        batches = []
        for i, w in enumerate(self.sets.values()):
            perm = torch.randperm(len(w.train), generator=generator) + int(first[i])
            chunks = list(perm.split(batch_size))
            if len(chunks[-1]) < batch_size:  # a ragged chunk would shift every later batch across datasets:
                if len(chunks) > 1:  # drop it (reshuffled next epoch) ...
                    chunks.pop()
                else:  # ... or, for a dataset smaller than one batch, fill it up by resampling
                    extra = perm[torch.randint(len(perm), (batch_size - len(perm),), generator=generator)]
                    chunks = [torch.cat([perm, extra])]
            batches.append(chunks)
        order = []
        while any(batches):  # round robin over datasets, one batch each
            for b in batches:
                if b:
                    order.append(b.pop(0))
        return torch.cat(order)

    def _mixed_order(self, generator, batch_size: int, first: np.ndarray):
        """Shuffled batches in which every dataset has a fixed share (its share of the windows, largest remainder).

        Fixed shares keep each dataset's part of a batch the same shape every step: on a CPU, oneDNN builds
        (and keeps) kernels per input shape, so batches whose mix varied cost time and memory per new shape.
        The few windows left over after the last full batch wait for the next epoch's reshuffle, as the
        ragged tail does; a set smaller than one batch is one shuffled batch.
        """
        import torch

        sizes = np.diff(first)
        n = int(sizes.sum())
        if n <= batch_size:
            return torch.randperm(n, generator=generator)
        exact = batch_size * sizes / n
        quota = np.floor(exact).astype(int)
        quota[np.argsort(-(exact - quota), kind="stable")[: batch_size - quota.sum()]] += 1
        has = quota > 0
        n_batches = int(min(sizes[has] // quota[has]))
        if n_batches == 0:
            return torch.randperm(n, generator=generator)
        parts = []
        for i, q in enumerate(quota):
            perm = torch.randperm(int(sizes[i]), generator=generator) + int(first[i])
            parts.append(perm[: n_batches * q].view(n_batches, int(q)))
        return torch.cat(parts, dim=1).reshape(-1)

    @staticmethod
    def batch_len(batch) -> int:
        return sum(len(v) for v in batch.values())

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}: {len(w.train)}/{len(w.test)}" for k, w in self.sets.items())
        return f"MultiWindowSet({self.schedule}, window={self.window}; train/test windows {inner})"
