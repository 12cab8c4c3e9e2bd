"""A run's files and what its checkpoints hold: atomic torch saves, RNG states, the run's fingerprint
(what decides the result), ``weights.pt``, ``checkpoints/last.pt`` and ``history.csv``; exact resume.

Part of ``behavnb.train`` (see its docstring for the whole loop).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from behavnb.train.config import CheckpointError
from behavnb.train.progress import _say, _warn
from behavnb.utils import atomic_path, atomic_write_text
from behavnb.windows import MultiWindowSet, WindowSet

if TYPE_CHECKING:
    from behavnb.train.config import TrainConfig
    from behavnb.train.loop import _Run



def _rng_state(gen) -> dict:
    import torch

    state = {"torch": torch.get_rng_state(), "shuffle": gen.get_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict, gen) -> None:
    import torch

    torch.set_rng_state(state["torch"])
    gen.set_state(state["shuffle"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_torch(obj: dict, path: Path) -> Path:
    """``torch.save`` through a temporary file, flushed to disk and renamed onto ``path``.

    Neither a crash nor a power cut leaves half a checkpoint.

    Parameters
    ----------
    obj : dict
        What to save (tensors, numbers, strings, lists and dicts of them).
    path : Path
        The file to write (replaced if it exists).

    Returns
    -------
    Path
        ``path``.
    """
    import torch

    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    return path


def load_torch(path: str | Path, what: str = "checkpoint") -> dict:
    """``torch.load`` (weights only, on the CPU) with an error that names the file and the fix.

    Parameters
    ----------
    path : str or Path
        A file written by :func:`save_torch`.
    what : str
        What the file is, for the error message ("checkpoint", "model file").

    Returns
    -------
    dict
        The saved dict; it has a ``"model"`` entry.

    Raises
    ------
    CheckpointError
        If the file is missing, unreadable, or not a dict with a ``"model"`` entry.
    """
    import torch

    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{what} {path} does not exist: train the model first (or check the path).")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for a damaged file
        first = (str(exc).strip().splitlines() or [""])[0][:160]
        raise CheckpointError(f"{what} {path} is corrupt or not a behavnb {what} ({type(exc).__name__}: {first}). "
                              f"Delete it and train again (resume=False).") from exc
    if not isinstance(obj, dict) or "model" not in obj:
        raise CheckpointError(f"{what} {path} is not a behavnb {what} (no 'model' entry). Delete it and train again.")
    return obj


def load_state(model, state: dict, path: Path | str) -> None:
    """``model.load_state_dict`` with an error naming the file and the mismatching parameters.

    Parameters
    ----------
    model : torch.nn.Module
        Receives the weights.
    state : dict
        A state dict.
    path : Path or str
        Where ``state`` came from (for the message).

    Raises
    ------
    CheckpointError
        If parameters are missing, unexpected or of another shape.
    """
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
              for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or shapes:
        detail = "; ".join(filter(None, [f"missing {missing[:4]}" if missing else "",
                                         f"unexpected {unexpected[:4]}" if unexpected else "",
                                         f"shape mismatch {shapes[:3]}" if shapes else ""]))
        raise CheckpointError(f"{path} does not fit this model ({detail}): it was saved by a model with another "
                              f"architecture or number of input features. Use the matching config, or retrain.")
    model.load_state_dict(state)


#: TrainConfig fields that change how a run goes but not what it gives (``epochs`` counts only for the cosine
#: schedule, whose shape it sets: a plateau run of 50 epochs continued to 80 equals a straight run of 80)
NOT_IN_FINGERPRINT = ("device", "device_fallback", "compile", "checkpoint_every", "epochs", "seed")


_PARTS = {"model": "model architecture", "loss": "loss settings", "training": "training options", "seed": "seed",
          "features": "input features", "data": "training data (windows or normalised values)",
          "schedule_epochs": "epochs (the length of the cosine schedule)"}


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _update(h, a: np.ndarray) -> None:
    a = np.ascontiguousarray(a)
    h.update(f"{a.dtype}{a.shape}".encode())
    h.update(a.tobytes())


def _sets(windows: WindowSet | MultiWindowSet) -> dict[str, WindowSet]:
    return windows.sets if isinstance(windows, MultiWindowSet) else {"": windows}


def _sample_rows(n: int, rows: int) -> np.ndarray:
    return np.unique(np.linspace(0, n - 1, min(n, rows)).astype(int)) if n else np.zeros(0, dtype=int)


def _hash_set(h, name: str, w: WindowSet, sample_rows: int = 0) -> None:
    """One window set into ``h``: names, window, future, train/test starts, dtype and shape[, sampled rows]."""
    h.update(json.dumps([name, list(w.names), int(w.window), int(w.future)]).encode())
    _update(h, np.asarray(w.train))
    _update(h, np.asarray(w.test))
    data = np.asarray(w.data)
    h.update(f"{data.dtype}{data.shape}".encode())
    if sample_rows and len(data):
        _update(h, data[_sample_rows(len(data), sample_rows)])


def _structure_digest(windows: WindowSet | MultiWindowSet) -> str:
    """Names, window, future, the train/test starts and the data's dtype and shape: what must match exactly."""
    h = hashlib.sha256(getattr(windows, "schedule", "").encode())
    for name, w in _sets(windows).items():
        _hash_set(h, name, w)
    return h.hexdigest()[:16]


def _data_digest(windows: WindowSet | MultiWindowSet, sample_rows: int = 4096) -> str:
    """Names, window, the train/test starts, the data's shape and an evenly spaced sample of its rows, bit for bit
    (unchanged since checkpoints first had it, so older checkpoints still resume)."""
    h = hashlib.sha256(getattr(windows, "schedule", "").encode())
    for name, w in _sets(windows).items():
        _hash_set(h, name, w, sample_rows)
    return h.hexdigest()[:16]


def _column_stats(data: np.ndarray, chunk: int = 65_536) -> np.ndarray:
    """Per column over every row, in float64: mean, standard deviation and the count of NaNs, ``(3, columns)``."""
    data = data.reshape(len(data), -1)
    total, squares, nans = (np.zeros(data.shape[1]) for _ in range(3))
    for a in range(0, len(data), chunk):
        part = data[a:a + chunk].astype(np.float64)
        bad = np.isnan(part)
        nans += bad.sum(axis=0)
        part[bad] = 0.0
        total += part.sum(axis=0)
        squares += (part * part).sum(axis=0)
    n = np.maximum(len(data) - nans, 1)
    mean = total / n
    return np.stack([mean, np.sqrt(np.maximum(squares / n - mean * mean, 0.0)), nans])


def data_sample(windows: WindowSet | MultiWindowSet, rows: int = 1024) -> dict:
    """What every checkpoint keeps to recognise its data within rounding (see :func:`same_data`).

    Parameters
    ----------
    windows : WindowSet or MultiWindowSet
        The training windows.
    rows : int, default 1024
        Evenly spaced normalised rows kept per window set (the exact digest hashes 4,096).

    Returns
    -------
    dict
        ``{"structure": digest, "rows": {set name: float32 tensor}, "columns": {set name: float64 tensor}}``;
        ``columns`` holds each column's mean, standard deviation and NaN count over every row.
    """
    import torch

    sets = _sets(windows)  # tensors: a checkpoint loads with weights_only=True
    return {"structure": _structure_digest(windows),
            "rows": {k: torch.from_numpy(np.asarray(w.data)[_sample_rows(len(w.data), rows)].astype(np.float32))
                     for k, w in sets.items()},
            "columns": {k: torch.from_numpy(_column_stats(np.asarray(w.data))) for k, w in sets.items()}}


def same_data(a: dict | None, b: dict | None, rtol: float = 1e-5, atol: float = 1e-6) -> bool:
    """True when two :func:`data_sample` results are the same data up to floating-point rounding.

    The same poses cleaned on another CPU or with another NumPy build can differ in the last bits, which changes
    the exact data digest. The windows (starts, shapes, names) and every column's NaN count must still match
    exactly; each column's mean and standard deviation over all rows, and the sampled rows, within ``rtol`` (about
    80 float32 rounding steps) and ``atol``.

    Parameters
    ----------
    a, b : dict or None
        :func:`data_sample` results; None (a checkpoint without one) never matches.
    rtol, atol : float
        ``numpy.allclose``'s tolerances.

    Returns
    -------
    bool
    """
    if not a or not b or a.get("structure") != b.get("structure"):
        return False
    for key in ("rows", "columns"):
        if set(a.get(key, {})) != set(b.get(key, {})):
            return False
        for name in a[key]:
            x, y = np.asarray(a[key][name]), np.asarray(b[key][name])
            if x.shape != y.shape or not np.allclose(x, y, rtol=rtol, atol=atol, equal_nan=True):
                return False
            if key == "columns" and not np.array_equal(x[2], y[2]):  # NaN counts
                return False
    return True


def _settings(obj: Any) -> Any:
    """A dataclass's fields; for anything else only its type (a plain function has no settings to compare)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    return None


def fingerprint(model, windows: WindowSet | MultiWindowSet, config: TrainConfig, loss: Callable) -> dict[str, str]:
    """What decides a training run's result, part by part (each a short hash): the model architecture
    (its class, module tree, parameter shapes and ``config`` if it has one), the loss and its settings,
    the training options minus :data:`NOT_IN_FINGERPRINT`, the seed, the input features, and the
    training data (window starts, shape and a sample of the normalised values). ``fit`` stores it in
    every checkpoint, with a :func:`data_sample`; ``resume="auto"`` continues a checkpoint only if every part
    matches, the data bit for bit or up to rounding (:func:`same_data`).

    Parameters
    ----------
    model, windows, config, loss
        As passed to :func:`fit`.

    Returns
    -------
    dict
        ``{part: hash}`` for the parts ``model``, ``loss``, ``training``, ``seed``, ``features``, ``data``,
        ``schedule_epochs``.
    """
    kind = type(model)
    arch = {"type": f"{kind.__module__}.{kind.__qualname__}", "repr": repr(model),
            "params": [(k, list(v.shape), str(v.dtype)) for k, v in model.state_dict().items()],
            "config": _settings(getattr(model, "config", None))}
    lkind = loss if hasattr(loss, "__qualname__") else type(loss)  # a function, or an instance of a loss class
    train_opts = {k: v for k, v in asdict(config).items() if k not in NOT_IN_FINGERPRINT}
    return {"model": _digest(arch),
            "loss": _digest({"type": f"{lkind.__module__}.{lkind.__qualname__}", "settings": _settings(loss)}),
            "training": _digest(train_opts), "seed": str(config.seed), "features": _digest(list(windows.names)),
            "data": _data_digest(windows),
            "schedule_epochs": str(config.epochs) if config.lr_schedule == "cosine" else "-"}


def _changes(ckpt: dict, now: dict[str, str], cfg: TrainConfig, ignore: Sequence[str] = (),
             sample: dict | None = None) -> list[str]:
    """What differs between a checkpoint's fingerprint and this run's, in words (training options by field).

    The data count as unchanged when only rounding differs (``sample``, this run's :func:`data_sample`, matches
    the checkpoint's by :func:`same_data`).
    """
    old = ckpt.get("fingerprint")
    if not isinstance(old, dict):
        return ["the checkpoint has no fingerprint (written by an older behavnb)"]
    out = []
    for part, label in _PARTS.items():
        if part in ignore or old.get(part) == now[part]:
            continue
        if part == "data" and same_data(ckpt.get("data_sample"), sample):
            continue
        if part == "training" and isinstance(ckpt.get("train_config"), dict):
            was, new = ckpt["train_config"], asdict(cfg)
            fields_ = [f"{k} {was.get(k)!r} -> {new[k]!r}" for k in new
                       if k not in NOT_IN_FINGERPRINT and was.get(k) != new[k]]
            label += f" ({', '.join(fields_)})" if fields_ else ""
        elif part == "seed":
            label += f" ({old.get(part)} -> {now[part]})"
        elif part == "schedule_epochs":
            label = f"epochs ({old.get(part)} -> {now[part]}: the length of the cosine schedule)"
        out.append(label)
    return out


@dataclass
class _RunState:
    """What a run carries from epoch to epoch; ``checkpoints/last.pt`` keeps it (``best_state`` is ``weights.pt``)."""

    batch_size: int
    history: list[dict] = field(default_factory=list)
    best: float = math.inf
    best_epoch: int = 0
    bad_epochs: int = 0
    epoch: int = 0  # the last finished epoch
    stopped: bool = False  # early stopping or a callback ended the run
    best_state: dict | None = None  # the best epoch's weights
    bundled: str = ""  # the bundled start this run continues (train.starts), "" for a run trained here

    def record(self, row: dict, metric: float, model, early_stop: int | None) -> bool:
        """Add a finished epoch's history row; True if its metric is the best yet (its weights are then kept)."""
        self.history.append(row)
        self.epoch = row["epoch"]
        improved = metric < self.best
        if improved:
            self.best, self.best_epoch, self.bad_epochs = metric, self.epoch, 0
            self.best_state = copy.deepcopy(model.state_dict())
        else:
            self.bad_epochs += 1
        self.stopped = early_stop is not None and self.bad_epochs >= early_stop
        return improved


class _RunFiles:
    """A run's files in ``out_dir``, and what its checkpoints hold; with no ``out_dir`` every method does nothing.

    ``weights.pt`` (the best epoch: weights and meta), ``history.csv``, ``checkpoints/last.pt`` (every epoch)
    and ``checkpoints/epoch_NNNN.pt`` (every ``checkpoint_every``). A checkpoint holds the states of the
    model, optimizer, schedule, AMP scaler and RNGs, the :class:`_RunState`, and what identifies the run
    (features, window, :func:`fingerprint`, training options).
    """

    def __init__(self, out_dir: str | Path | None, finger: dict[str, str], cfg: TrainConfig,
                 windows: WindowSet | MultiWindowSet) -> None:
        self.out = Path(out_dir) if out_dir is not None else None
        self.finger, self.cfg = finger, cfg
        self.features, self.window = list(windows.names), windows.window
        self.sample = data_sample(windows) if self.out is not None else None  # only checkpoints use it
        self.label = f"{self.out.name}: " if self.out is not None else ""  # starts every line fit prints

    @property
    def last(self) -> Path:
        return self.out / "checkpoints" / "last.pt"

    def to_resume(self, resume: bool | str) -> dict | None:
        """The checkpoint to continue, or None to start fresh (an earlier run's files are then deleted)."""
        if self.out is None:
            return None
        ckpt = self._required() if resume is True else self._matching() if resume == "auto" else None
        (self.out / "checkpoints").mkdir(parents=True, exist_ok=True)
        if ckpt is None:
            self._clear(resume)
        return ckpt

    def _required(self) -> dict:
        """resume=True: ``last.pt`` of this run (only ``epochs`` may differ), or raise."""
        if not self.last.exists():
            raise CheckpointError(f"resume=True but {self.last} does not exist: no earlier run to continue. "
                                  f"Use resume='auto' (continues a matching checkpoint, else starts fresh) "
                                  f"or resume=False.")
        ckpt = load_torch(self.last)
        if ckpt.get("features") != self.features or ckpt.get("window") != self.window:
            raise CheckpointError(f"{self.last} was trained on other inputs (features/window differ); "
                                  f"train with resume=False or use the original windows.")
        changed = (_changes(ckpt, self.finger, self.cfg, ignore=("schedule_epochs",), sample=self.sample)
                   if "fingerprint" in ckpt else [])
        if changed:
            raise CheckpointError(f"resume=True but {self.last} is from another run: {'; '.join(changed)} "
                                  f"changed. Use the original settings, or resume='auto'/False to start fresh.")
        return ckpt

    def _matching(self) -> dict | None:
        """resume="auto": ``last.pt`` if it is readable and its fingerprint matches; else None, and a line why."""
        if not self.last.exists():
            return None
        try:
            ckpt = load_torch(self.last)
        except CheckpointError as exc:
            _say(f"{self.label}starting fresh: {self.last} cannot be read ({str(exc).split(' (', 1)[-1][:120]}")
            return None
        changed = _changes(ckpt, self.finger, self.cfg, sample=self.sample)
        if changed:
            _say(f"{self.label}starting fresh: {self.last} is from another run ({'; '.join(changed)} changed)")
            return None
        return ckpt

    def _clear(self, resume: bool | str) -> None:
        """A fresh run replaces an earlier one rather than mixing with it."""
        out = self.out
        old = [p for p in [out / "weights.pt", out / "history.csv", *(out / "checkpoints").glob("*.pt")] if p.exists()]
        if not old:
            return
        if resume is False:
            _warn(f"{out} held an earlier training run ({len(old)} file(s)); replacing it "
                  f"(resume='auto' would have continued it if it matched).")
        elif not self.last.exists():
            _say(f"{self.label}starting fresh: replacing an earlier run in {out} (it left no checkpoints/last.pt)")
        for p in old:
            p.unlink()

    def restore(self, ckpt: dict, run: _Run) -> _RunState:
        """Load ``ckpt`` into the run's parts; the state to continue from. One line says what happens next."""
        load_state(run.model, ckpt["model"], self.last)
        run.optimizer.load_state_dict(ckpt["optimizer"])
        run.schedule.load_state_dict(ckpt["scheduler"])
        if ckpt.get("scaler"):  # empty when saved without a scaler (a CPU run continued on CUDA starts a new one)
            run.scaler.load_state_dict(ckpt["scaler"])
        _set_rng_state(ckpt["rng"], run.gen)
        state = _RunState(ckpt["batch_size"], list(ckpt["history"]), ckpt["best"], ckpt["best_epoch"],
                          ckpt["bad_epochs"], ckpt["epoch"], bool(ckpt.get("stopped", False)),
                          bundled=str(ckpt.get("bundled_start", "")))
        if (self.out / "weights.pt").exists():
            state.best_state = load_torch(self.out / "weights.pt", "model file")["model"]
        if state.stopped or state.epoch >= self.cfg.epochs:
            _say(f"{self.label}training already finished ({state.epoch} of {self.cfg.epochs} epochs"
                 f"{', stopped early' if state.stopped else ''}; checkpoint {self.last}): loading it, not retraining")
        else:
            _say(f"{self.label}resuming from epoch {state.epoch} of {self.cfg.epochs} (checkpoint {self.last})")
        return state

    def save(self, run: _Run, state: _RunState, path: Path | None = None) -> None:
        """A checkpoint of the run as it is now, in ``path`` (default ``checkpoints/last.pt``)."""
        if self.out is None:
            return
        save_torch({"model": run.model.state_dict(), "optimizer": run.optimizer.state_dict(),
                    "scheduler": run.schedule.state_dict(), "scaler": run.scaler.state_dict(), "rng": _rng_state(run.gen),
                    "history": state.history, "best": state.best, "best_epoch": state.best_epoch,
                    "bad_epochs": state.bad_epochs, "batch_size": state.batch_size, "epoch": state.epoch,
                    "features": list(self.features), "window": self.window, "stopped": state.stopped,
                    "fingerprint": self.finger, "data_sample": self.sample, "train_config": asdict(self.cfg),
                    "bundled_start": state.bundled},
                   path or self.last)

    def end_epoch(self, run: _Run, state: _RunState, improved: bool, meta: dict) -> None:
        """After an epoch: ``weights.pt`` if it improved, ``last.pt``, ``epoch_NNNN.pt`` when due, ``history.csv``."""
        if self.out is None:
            return
        if improved:
            save_torch({"model": run.model.state_dict(), "epoch": state.epoch, "metric": state.best, **meta},
                       self.out / "weights.pt")
        self.save(run, state)
        if self.cfg.checkpoint_every and state.epoch % self.cfg.checkpoint_every == 0:
            self.save(run, state, self.out / "checkpoints" / f"epoch_{state.epoch:04d}.pt")
        write_history(state.history, self.out / "history.csv")

    def write_history(self, history: Sequence[dict]) -> None:
        """``history.csv``, unless there is no history yet."""
        if self.out is not None and history:
            write_history(history, self.out / "history.csv")


def write_history(history: Sequence[dict], path: Path) -> Path:
    """The per-epoch history as CSV, written atomically.

    Parameters
    ----------
    history : sequence of dict
        One row per epoch (``FitResult.history``'s rows).
    path : Path
        The CSV file (replaced).

    Returns
    -------
    Path
        ``path``.
    """
    return atomic_write_text(path, pd.DataFrame(list(history)).to_csv(index=False))
