"""Training windows from model input matrices: session-aware, split by contiguous chunks, normalised once.

The room after ``inputs`` in the flow (... features -> inputs -> **windows** -> models -> train -> embed
...): ``inputs`` gives every session as a ``(frame, column)`` matrix and the ``Normalizer``; this module
cuts them into windows that ``train.fit`` draws batches from.

- ``split_chunks`` marks contiguous test chunks per session, so test windows are never neighbours
  of training windows that share most of their frames.
- ``WindowSet`` keeps every session in one pre-normalised array and the start frame of every valid
  window; a batch is gathered with one indexing operation (on the GPU too, no per-sample Python).
  A window never spans two sessions, a missing frame, or the gap where a test chunk was cut out.
- ``MultiWindowSet`` mixes several skeletons' window sets (co-embedding); ``code_windows`` builds
  windows of motif-code sequences for the code GPT.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from behavnb.errors import ParameterError, SessionTooShortError
from behavnb.inputs import Normalizer, NormalizerSet


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
    """All sessions in one normalised array with the start row of every train and test window.

    Made by :func:`build`; ``train.fit`` draws its batches from it.

    Parameters
    ----------
    data : numpy.ndarray
        ``(rows, features)`` float32, every session stacked, already normalised.
    names : list of str
        The feature (column) names.
    window : int
        Frames per window.
    train, test : numpy.ndarray
        Start rows of the training and held-out windows.
    sessions : dict of str to (int, int)
        Key -> (first row, number of frames).
    normalizer : Normalizer
        What normalised ``data`` (saved with the model, reused when embedding).
    future : int, default 0
        Frames after the window that come with it (the future decoder's target).
    """

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
    session into the next, and never bridges a test chunk.

    Parameters
    ----------
    matrices : mapping of str to (numpy.ndarray, list of str)
        ``{key: (frames x columns array, column names)}``, as ``inputs.session_matrices`` or
        ``inputs.vqmap_matrices`` give; every entry needs the same columns.
    window : int
        Frames per window, at least 2.
    test_fraction : float, default 0.2
        Share of each session held out, in contiguous chunks.
    n_chunks : int, default 10
        Chunks per session that the held-out share is drawn from.
    seed : int, default 0
        Seed of the chunk choice (session ``i`` uses ``seed + i``).
    normalizer : Normalizer, optional
        Use this one (e.g. a trained model's) instead of fitting one.
    future : int, default 0
        Frames after each window that come with it (VAME's future decoder).
    fit_normalizer : callable, optional
        ``fit_normalizer(train_arrays, names) -> Normalizer``; default per-column z-scores
        (``inputs.Normalizer().fit``); VQ-MAP passes ``inputs.vqmap_normalizer``.

    Returns
    -------
    WindowSet

    Raises
    ------
    ParameterError
        On ``window < 2``, ``future < 0``, a ``test_fraction`` outside [0, 1), no sessions, or sessions
        whose columns differ.
    SessionTooShortError
        When a session is shorter than a window, or no complete training sample is left.

    Examples
    --------
    >>> import numpy as np
    >>> import behavnb as bn
    >>> x = np.random.default_rng(0).normal(size=(1000, 4)).astype("float32")
    >>> ws = bn.windows.build({"m1": (x, ["nose_x", "nose_y", "tail_x", "tail_y"])}, 30, seed=0)
    >>> ws.data.shape, ws.window
    ((1000, 4), 30)

    In notebook 04, from cleaned sessions:

    >>> matrices = bn.inputs.session_matrices(cleaned)  # doctest: +SKIP
    >>> ws = bn.windows.build(matrices, 15, future=15, test_fraction=0.2, seed=0)  # doctest: +SKIP
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
    own columns).

    Parameters
    ----------
    sets : dict of str to WindowSet
        Dataset name -> its windows (``build``), all with the same window and future.
    schedule : {"mixed", "alternating"}, default "mixed"
        "mixed" shuffles all windows together, so a batch mixes datasets (each with a fixed share of
        every batch, its share of the windows); "alternating" makes every batch come from one dataset,
        the datasets taking turns.

    Raises
    ------
    ParameterError
        On no sets, another schedule, or sets with different windows.
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
        """Frames per gathered sample: the window plus its future."""
        return self.window + self.future

    @property
    def names(self) -> list[str]:
        """Every dataset's column names, as ``"<dataset>:<column>"`` (from the normalizers)."""
        return self.normalizer.names

    @property
    def normalizer(self) -> NormalizerSet:
        """The datasets' normalizers as one ``NormalizerSet`` (saved with the model, reused when embedding)."""
        return NormalizerSet({k: w.normalizer for k, w in self.sets.items()})

    @property
    def train(self) -> np.ndarray:
        """Global start rows of every training window."""
        return np.concatenate([o + w.train for o, w in zip(self.offsets, self.sets.values(), strict=True)])

    @property
    def test(self) -> np.ndarray:
        """Global start rows of every held-out window."""
        return np.concatenate([o + w.test for o, w in zip(self.offsets, self.sets.values(), strict=True)])

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


def code_windows(codes: dict[str, np.ndarray], context: int, *, vocab: int | None = None, test_fraction: float = 0.2,
                 seed: int = 0):
    """Training windows for ``CodeGPT`` from ``{session: codes per step}`` (-1 = no code: never inside a window).

    ``vocab``: the model's vocabulary size; a code outside ``0 .. vocab - 1`` is an error here rather than
    an index error (or a CUDA device assert) inside the model.
    """
    mats = {}
    for s, c in codes.items():
        if vocab is not None and (np.asarray(c) >= vocab).any():
            raise ParameterError(f"session {s!r} has code {int(np.max(c))}, outside the vocabulary of {vocab} codes.")
        c = np.asarray(c, dtype=np.float32).reshape(-1, 1)
        mats[s] = (np.where(c < 0, np.nan, c), ["code"])
    identity = Normalizer(["code"], np.zeros(1), np.ones(1))  # codes are categories: no scaling
    return build(mats, context + 1, test_fraction=test_fraction, seed=seed, normalizer=identity)
