"""One training loop for every model in behavnb: ``fit(model, windows, config, loss=...)``.

A model plugs in through its loss, a callable ``loss(model, batch, epoch) -> dict`` of 0-d tensors
with a ``"loss"`` key to minimise (``models.vame.VAMELoss``); every other key is logged. The loop
provides what a long GPU run needs and what a laptop run must not lack:

- device selection (cuda > mps > cpu, or explicit; an unavailable device raises, or falls back to
  the CPU with a warning when ``device_fallback=True``), mixed precision (float16 on CUDA, bfloat16 on
  CPUs that compute it natively), optional ``torch.compile``;
- batches gathered on the device from one pre-normalised tensor (``WindowSet.gather``), shuffled by a
  seeded generator;
- gradient clipping; ``ReduceLROnPlateau`` stepped with the *epoch mean* training loss;
- evaluation on the held-out windows every epoch; early stopping on ``config.monitor`` there;
- ``weights.pt`` (best so far) from epoch 1, ``checkpoints/last.pt`` every epoch, and
  ``checkpoints/epoch_NNNN.pt`` every ``checkpoint_every`` epochs;
- automatic resume (``resume="auto"``, the default): every checkpoint carries a fingerprint of what
  decides the result (architecture, loss, training options, seed, features, the windows and a sample
  of the normalised data, see :func:`fingerprint`); a ``last.pt`` with the same fingerprint is
  continued, a finished one is reloaded without retraining, any other is replaced by a fresh run
  (one line says which and why). Model, optimizer, scheduler, AMP scaler, batch size and every RNG
  state come back from ``last.pt``, so 2 + 2 epochs give the weights of 4 straight epochs;
- Ctrl-C keeps the last finished epoch on disk and returns (``result.interrupted``); under
  ``behavnb run`` it stops the notebook instead. CUDA out-of-memory halves the batch and carries on,
  with a warning;
- ``tqdm.auto`` bars with live losses at a terminal or in Jupyter; elsewhere (a log file, nohup, CI,
  the kernels of ``behavnb run``) one line per epoch on stderr; ``history.csv`` rewritten after every
  epoch (``windows_per_s`` counts training time only, ``seconds`` the whole epoch with evaluation).

Nothing else is caught: any other failure raises.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import json
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from behavnb.errors import BehavnbError, ParameterError
from behavnb.models import eval_mode
from behavnb.project import atomic_path, atomic_write_text
from behavnb.runtime import autocast_dtype, release_memory, resolve_device
from behavnb.windows import MultiWindowSet, WindowSet


class CheckpointError(BehavnbError, ValueError):
    """A checkpoint or model file that cannot be used (corrupt, or from another model/data)."""


@dataclass
class TrainConfig:
    """How to train. The defaults follow the VAME reference where it has one (batch 256, lr 5e-4, Adam amsgrad)."""

    epochs: int = 50
    batch_size: int = 256
    lr: float = 5e-4
    weight_decay: float = 0.0
    amsgrad: bool = True
    grad_clip: float | None = 5.0  # max gradient norm; None = off
    lr_schedule: str = "plateau"  # "plateau": ReduceLROnPlateau; "cosine": lr -> min_lr along a cosine, batch by batch
    lr_factor: float = 0.2  # ReduceLROnPlateau on the epoch-mean training loss
    lr_patience: int = 10
    min_lr: float = 1e-6
    early_stop: int | None = 20  # epochs without improvement of `monitor` on held-out windows; None = off
    monitor: str = "reconstruction"  # a key of the loss dict, evaluated on the test windows
    checkpoint_every: int = 10
    windows_per_epoch: int | None = None  # None: every training window once per epoch; else a seeded sample
    eval_windows: int | None = 20_000  # a fixed, seeded subset of test windows evaluated each epoch
    device: str = "auto"
    device_fallback: bool = False  # True: an unavailable device falls back to the CPU with a warning
    amp: bool | str = "auto"  # "auto": CUDA, or a CPU with native bfloat16 (runtime.autocast_dtype); False: float32
    amp_dtype: str = "float16"  # CUDA autocast dtype: "float16" (with a grad scaler) or "bfloat16"
    compile: bool = False  # torch.compile the model for training
    seed: int = 0

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ParameterError(f"unknown training option(s) {unknown}; known: {sorted(known)}.")
        return cls(**d)


@dataclass
class FitResult:
    """What ``fit`` returns: the model with the best weights loaded, and how it got there."""

    model: Any
    history: pd.DataFrame
    best_epoch: int
    best_metric: float
    device: str
    interrupted: bool = False
    stopped_early: bool = False
    out_dir: Path | None = None
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        state = "interrupted" if self.interrupted else ("stopped early" if self.stopped_early else "finished")
        amp = f", {self.extra['amp']} autocast" if self.extra.get("amp", "off") != "off" else ""
        return (f"FitResult({state} after {len(self.history)} epochs on {self.device}{amp}; best epoch {self.best_epoch}, "
                f"held-out metric {self.best_metric:.4g}; {self.seconds:.1f} s)")


def _oom_error():
    import torch

    return getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)


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
    """``torch.save`` through a temporary file, flushed to disk and renamed onto ``path``, so neither a
    crash nor a power cut leaves half a checkpoint."""
    import torch

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
    return path


def load_torch(path: str | Path, what: str = "checkpoint") -> dict:
    """``torch.load`` (weights only, on the CPU) with an error that names the file and the fix."""
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
    """``model.load_state_dict`` with an error naming the file and the mismatching parameters."""
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


def _mean_logs(sums: dict, count: int, prefix: str) -> dict[str, float]:
    return {f"{prefix}_{k}": float(v) / max(count, 1) for k, v in sums.items()}


def mean_losses(model, windows: WindowSet, starts, loss: Callable, epoch: int, *, data=None, batch_size: int = 1024,
                autocast=contextlib.nullcontext) -> dict[str, float]:
    """Mean of every loss term over the windows starting at ``starts``, in eval mode, without gradients."""
    import torch

    data = windows.device_data("cpu") if data is None else data
    device = (data[0] if isinstance(data, list) else data).device
    starts = torch.as_tensor(np.asarray(starts), device=device)
    sums: dict = {}
    with eval_mode(model), torch.inference_mode():
        for a in range(0, len(starts), batch_size):
            batch = windows.gather(starts[a:a + batch_size], data)
            with autocast():
                out = loss(model, batch, epoch)
            for k, v in out.items():  # summed on the device: one transfer at the end, not one per batch
                sums[k] = sums.get(k, 0.0) + v.float() * windows.batch_len(batch)
    return {k: float(v) / max(len(starts), 1) for k, v in sums.items()}


#: TrainConfig fields that change how a run goes but not what it gives (``epochs`` counts only for the cosine
#: schedule, whose shape it sets: a plateau run of 50 epochs continued to 80 equals a straight run of 80)
NOT_IN_FINGERPRINT = ("device", "device_fallback", "compile", "checkpoint_every", "epochs", "seed")
_PARTS = {"model": "model architecture", "loss": "loss settings", "training": "training options", "seed": "seed",
          "features": "input features", "data": "training data (windows or normalised values)",
          "schedule_epochs": "epochs (the length of the cosine schedule)"}
#: set by ``behavnb run`` for its kernels: Ctrl-C stops the notebook instead of returning a half-trained model
RUNNER_ENV = "BEHAVNB_RUNNER"
#: "bar" or "lines": how ``fit(progress=True)`` shows progress, whatever the terminal (``behavnb run`` sets "lines")
PROGRESS_ENV = "BEHAVNB_PROGRESS"


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _update(h, a: np.ndarray) -> None:
    a = np.ascontiguousarray(a)
    h.update(f"{a.dtype}{a.shape}".encode())
    h.update(a.tobytes())


def _data_digest(windows: WindowSet | MultiWindowSet, sample_rows: int = 4096) -> str:
    """Names, window, the train/test starts, the data's shape and an evenly spaced sample of its rows."""
    sets = windows.sets if isinstance(windows, MultiWindowSet) else {"": windows}
    h = hashlib.sha256(getattr(windows, "schedule", "").encode())
    for name, w in sets.items():
        h.update(json.dumps([name, list(w.names), int(w.window), int(w.future)]).encode())
        _update(h, np.asarray(w.train))
        _update(h, np.asarray(w.test))
        data = np.asarray(w.data)
        h.update(f"{data.dtype}{data.shape}".encode())
        if len(data):
            _update(h, data[np.unique(np.linspace(0, len(data) - 1, min(len(data), sample_rows)).astype(int))])
    return h.hexdigest()[:16]


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
    every checkpoint; ``resume="auto"`` continues a checkpoint only if every part matches.

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


def _changes(ckpt: dict, now: dict[str, str], cfg: TrainConfig, ignore: Sequence[str] = ()) -> list[str]:
    """What differs between a checkpoint's fingerprint and this run's, in words (training options by field)."""
    old = ckpt.get("fingerprint")
    if not isinstance(old, dict):
        return ["the checkpoint has no fingerprint (written by an older behavnb)"]
    out = []
    for part, label in _PARTS.items():
        if part in ignore or old.get(part) == now[part]:
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


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _in_jupyter() -> bool:
    shell = sys.modules.get("IPython")
    ip = shell.get_ipython() if shell is not None and hasattr(shell, "get_ipython") else None
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def progress_mode(progress: bool | str = True) -> tuple[bool, bool]:
    """How :func:`fit` shows progress: ``(tqdm bars, one line per epoch on stderr)``.

    Parameters
    ----------
    progress : bool or str
        False: nothing. "bar" or "lines": that. True or "auto": ``$BEHAVNB_PROGRESS`` ("bar"/"lines")
        if set; else bars at a terminal or in Jupyter, lines when stderr is a file or a pipe (a log
        shows one line per epoch rather than a bar's carriage returns).

    Returns
    -------
    tuple of bool
        ``(bars, lines)``.

    Raises
    ------
    ParameterError
        For another value.
    """
    if progress is False or progress is None:
        return False, False
    if progress in ("bar", "lines"):
        return progress == "bar", progress == "lines"
    if progress not in (True, "auto"):
        raise ParameterError(f"progress={progress!r}: True/'auto', False, 'bar' or 'lines'.")
    env = os.environ.get(PROGRESS_ENV, "").strip().lower()
    if env in ("bar", "lines"):
        return env == "bar", env == "lines"
    if _in_jupyter():
        return True, False
    isatty = getattr(sys.stderr, "isatty", None)
    tty = bool(isatty and isatty())
    return tty, not tty


def _epoch_line(label: str, row: dict, epochs: int, eval_prefix: str, metric_key: str) -> str:
    parts = [f"{label}epoch {row['epoch']}/{epochs}", f"train loss {row['train_loss']:.4g}"]
    if f"{eval_prefix}_loss" in row:
        parts.append(f"{eval_prefix.replace('_', ' ')} loss {row[f'{eval_prefix}_loss']:.4g}")
    if metric_key != f"{eval_prefix}_loss":
        parts.append(f"{metric_key} {row[metric_key]:.4g}")
    parts += [f"lr {row['lr']:.3g}", f"{row['seconds']:.1f} s"]
    return "  ".join(parts)


def fit(model, windows: WindowSet | MultiWindowSet, config: TrainConfig | None = None, *, loss: Callable, out_dir: str | Path | None = None,
        resume: bool | str = "auto", callbacks: Sequence[Callable[[pd.DataFrame], None]] = (),
        progress: bool | str = True, meta: dict | None = None) -> FitResult:
    """Train ``model`` on ``windows`` with ``loss``; see the module docstring for what the loop provides.

    Parameters
    ----------
    model
        A ``torch.nn.Module`` (built with the seed you want: its initial weights are not checkpointed).
    windows : WindowSet or MultiWindowSet
        Training and held-out windows.
    config : TrainConfig, optional
        How to train (default ``TrainConfig()``).
    loss : callable
        ``loss(model, batch, epoch) -> dict`` of 0-d tensors with a ``"loss"`` key.
    out_dir : str or Path, optional
        Receives ``weights.pt`` (the best epoch: state dict plus ``meta``), ``history.csv`` and
        ``checkpoints/``. Without it, nothing is written and nothing can be resumed.
    resume : "auto", True or False
        "auto" (default): continue ``checkpoints/last.pt`` if its :func:`fingerprint` matches this run
        (a finished run is reloaded without training), else start fresh; one line on stderr says which
        and why. True: continue it or raise (only ``epochs`` may differ, to train longer). False:
        start fresh, replacing what ``out_dir`` held.
    callbacks : sequence of callable
        Called with the history after every epoch (live loss plots); one that returns True stops
        training after that epoch (``result.stopped_early``).
    progress : bool or str
        See :func:`progress_mode`.
    meta : dict, optional
        Stored in ``weights.pt`` beside the weights.

    Returns
    -------
    FitResult
        With the best epoch's weights loaded into ``model``.

    Raises
    ------
    ParameterError
        Bad options (epochs < 1, unknown schedule or monitor, no training windows, resume=True without out_dir).
    CheckpointError
        resume=True without a usable checkpoint from this run.
    KeyboardInterrupt
        Ctrl-C under ``behavnb run`` (``$BEHAVNB_RUNNER``), after the last finished epoch is saved.
    """
    import torch
    from tqdm.auto import tqdm

    cfg = config or TrainConfig()
    if cfg.epochs < 1 or cfg.batch_size < 1:
        raise ParameterError(f"epochs={cfg.epochs}, batch_size={cfg.batch_size}: both must be >= 1.")
    if cfg.lr_schedule not in ("plateau", "cosine"):
        raise ParameterError(f"lr_schedule={cfg.lr_schedule!r}: 'plateau' (reduce on a plateau) or 'cosine'.")
    if len(windows.train) == 0:
        raise ParameterError("no training windows: build them with windows.build() from longer or cleaner sessions.")
    if not (resume is True or resume is False or resume == "auto"):
        raise ParameterError(f"resume={resume!r}: 'auto' (continue a matching checkpoint, else start fresh), "
                             f"True (continue, or fail) or False (start fresh).")
    bars, lines = progress_mode(progress)
    out = Path(out_dir) if out_dir is not None else None
    if resume is True and out is None:
        raise ParameterError("resume=True needs out_dir (where the checkpoints are).")
    finger = fingerprint(model, windows, cfg, loss)
    label = f"{out.name}: " if out is not None else ""
    device = resolve_device(cfg.device, cfg.device_fallback)
    dev_type = device.split(":")[0]
    amp_dtype = autocast_dtype(device, cfg.amp, cfg.amp_dtype)
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)

    def autocast():
        return torch.autocast(device_type=dev_type, dtype=amp_dtype) if amp_dtype else contextlib.nullcontext()

    model.to(device)
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)  # shuffling, on the CPU: same order on every device
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, amsgrad=cfg.amsgrad)
    cosine = cfg.lr_schedule == "cosine"  # set before every batch from the run's progress, so it has no state
    # (the plateau scheduler is built either way: checkpoints keep one shape)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=cfg.lr_factor,
                                                           patience=cfg.lr_patience, min_lr=cfg.min_lr)

    def set_cosine_lr(progress: float) -> None:
        for group in optimizer.param_groups:
            group["lr"] = cfg.min_lr + (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * min(progress, 1.0))) / 2
    step_model = torch.compile(model) if cfg.compile else model

    data = windows.device_data(device)
    train_starts = torch.as_tensor(windows.train, device=device)
    eval_starts = np.asarray(windows.test)
    eval_prefix = "test"
    if len(eval_starts) == 0:
        warnings.warn("no held-out windows (test_fraction=0?): early stopping and the best checkpoint use the "
                      "training windows, which overfit.", RuntimeWarning, stacklevel=2)
        eval_starts, eval_prefix = np.asarray(windows.train), "train_eval"
    if cfg.eval_windows and len(eval_starts) > cfg.eval_windows:
        eval_starts = np.sort(np.random.default_rng(cfg.seed).choice(eval_starts, cfg.eval_windows, replace=False))

    meta = dict(meta or {})
    meta.update(features=list(windows.names), window=windows.window, future=windows.future,
                train_config=asdict(cfg))
    history: list[dict] = []
    best, best_epoch, bad_epochs, start_epoch = math.inf, 0, 0, 1
    batch_size = cfg.batch_size
    best_state = None
    ckpt, finished, was_stopped = None, False, False
    if out is not None:
        ckpt_path = out / "checkpoints" / "last.pt"
        if resume is True:
            if not ckpt_path.exists():
                raise CheckpointError(f"resume=True but {ckpt_path} does not exist: no earlier run to continue. "
                                      f"Use resume='auto' (continues a matching checkpoint, else starts fresh) "
                                      f"or resume=False.")
            ckpt = load_torch(ckpt_path)
            if ckpt.get("features") != list(windows.names) or ckpt.get("window") != windows.window:
                raise CheckpointError(f"{ckpt_path} was trained on other inputs (features/window differ); "
                                      f"train with resume=False or use the original windows.")
            changed = _changes(ckpt, finger, cfg, ignore=("schedule_epochs",)) if "fingerprint" in ckpt else []
            if changed:
                raise CheckpointError(f"resume=True but {ckpt_path} is from another run: {'; '.join(changed)} "
                                      f"changed. Use the original settings, or resume='auto'/False to start fresh.")
        elif resume == "auto" and ckpt_path.exists():
            try:
                ckpt = load_torch(ckpt_path)
            except CheckpointError as exc:
                _say(f"{label}starting fresh: {ckpt_path} cannot be read ({str(exc).split(' (', 1)[-1][:120]}")
            else:
                changed = _changes(ckpt, finger, cfg)
                if changed:
                    _say(f"{label}starting fresh: {ckpt_path} is from another run ({'; '.join(changed)} changed)")
                    ckpt = None
        (out / "checkpoints").mkdir(parents=True, exist_ok=True)
        old = [p for p in [out / "weights.pt", out / "history.csv", *(out / "checkpoints").glob("*.pt")] if p.exists()]
        if old and ckpt is None:  # a fresh run replaces an earlier one rather than mixing with it
            if resume is False:
                warnings.warn(f"{out} held an earlier training run ({len(old)} file(s)); replacing it "
                              f"(resume='auto' would have continued it if it matched).", RuntimeWarning, stacklevel=2)
            elif not ckpt_path.exists():
                _say(f"{label}starting fresh: replacing an earlier run in {out} (it left no checkpoints/last.pt)")
            for p in old:
                p.unlink()
    if ckpt is not None:
        load_state(model, ckpt["model"], ckpt_path)
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        if "scaler" in ckpt:
            scaler.load_state_dict(ckpt["scaler"])
        _set_rng_state(ckpt["rng"], gen)
        history = list(ckpt["history"])
        best, best_epoch, bad_epochs = ckpt["best"], ckpt["best_epoch"], ckpt["bad_epochs"]
        batch_size, start_epoch = ckpt["batch_size"], ckpt["epoch"] + 1
        was_stopped = bool(ckpt.get("stopped", False))
        finished = was_stopped or ckpt["epoch"] >= cfg.epochs
        if (out / "weights.pt").exists():
            best_state = load_torch(out / "weights.pt", "model file")["model"]
        if finished:
            _say(f"{label}training already finished ({ckpt['epoch']} of {cfg.epochs} epochs"
                 f"{', stopped early' if was_stopped else ''}; checkpoint {ckpt_path}): loading it, not retraining")
        else:
            _say(f"{label}resuming from epoch {ckpt['epoch']} of {cfg.epochs} (checkpoint {ckpt_path})")

    def save_checkpoint(epoch: int, path: Path, stopped: bool = False) -> None:
        save_torch({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(), "rng": _rng_state(gen),
                    "history": history, "best": best, "best_epoch": best_epoch, "bad_epochs": bad_epochs,
                    "batch_size": batch_size, "epoch": epoch, "features": list(windows.names),
                    "window": windows.window, "stopped": stopped, "fingerprint": finger,
                    "train_config": asdict(cfg)}, path)

    interrupted, stopped = False, was_stopped
    t_start = time.perf_counter()
    epochs_bar = tqdm(range(start_epoch, cfg.epochs + 1) if not finished else [], desc="epochs", disable=not bars,
                      initial=start_epoch - 1, total=cfg.epochs)
    try:
        for epoch in epochs_bar:
            t0 = time.perf_counter()
            model.train()
            order = windows.epoch_order(gen, batch_size)
            if cfg.windows_per_epoch and cfg.windows_per_epoch < len(order):
                order = order[: cfg.windows_per_epoch]
            order = order.to(device)
            sums: dict = {}
            seen, pos, last_shown = 0, 0, 0
            bar = tqdm(total=len(order), desc=f"epoch {epoch}", leave=False, disable=not bars, unit="win")
            while pos < len(order):
                n = min(batch_size, len(order) - pos)
                if n < batch_size and pos > 0:
                    break  # drop the ragged tail (reshuffled every epoch); a tiny set is one batch
                idx = order[pos: pos + n]
                if cosine:
                    set_cosine_lr((epoch - 1 + pos / len(order)) / cfg.epochs)
                try:
                    batch = windows.gather(train_starts[idx], data)
                    with autocast():
                        terms = loss(step_model, batch, epoch)
                    optimizer.zero_grad(set_to_none=True)
                    scaler.scale(terms["loss"]).backward()
                    if cfg.grad_clip:
                        scaler.unscale_(optimizer)
                        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                    scaler.step(optimizer)
                    scaler.update()
                except _oom_error():
                    optimizer.zero_grad(set_to_none=True)
                    if dev_type == "cuda":
                        torch.cuda.empty_cache()
                    if batch_size <= 1:
                        raise
                    batch_size = max(1, batch_size // 2)
                    warnings.warn(f"out of GPU memory at batch size {batch_size * 2}: halved to {batch_size} and "
                                  f"continuing (set TrainConfig.batch_size={batch_size} next time).",
                                  RuntimeWarning, stacklevel=2)
                    continue
                for k, v in terms.items():  # kept on the device: reading a GPU value each batch would stall it
                    sums[k] = sums.get(k, 0.0) + v.detach().float() * n
                seen += n
                pos += n
                bar.update(n)
                if bar.n - last_shown >= 50 * batch_size or pos >= len(order):  # a live loss every 50 batches
                    last_shown = bar.n
                    bar.set_postfix(loss=f"{float(sums['loss']) / seen:.4g}", refresh=False)
            bar.close()
            if not math.isfinite(float(sums.get("loss", 0.0))):
                raise FloatingPointError(f"the training loss became {float(sums['loss'])} during epoch {epoch}; "
                                         f"lower lr (now {optimizer.param_groups[0]['lr']:g}) or check the inputs.")
            train_secs = time.perf_counter() - t0
            train_logs = _mean_logs(sums, seen, "train")
            # larger held-out batches pay on a GPU; on a CPU they only raise the peak memory (+0.1 GB for VQ-MAP at
            # 4 x 128 windows) at the same speed
            eval_bs = (4 if dev_type == "cuda" else 1) * batch_size
            while True:
                try:
                    held = mean_losses(model, windows, eval_starts, loss, epoch, data=data, batch_size=eval_bs,
                                       autocast=autocast)
                    break
                except _oom_error():
                    if dev_type == "cuda":
                        torch.cuda.empty_cache()
                    if eval_bs <= 1:
                        raise
                    eval_bs //= 2
            test_logs = {f"{eval_prefix}_{k}": v for k, v in held.items()}
            if cosine:
                set_cosine_lr(epoch / cfg.epochs)  # the lr the next epoch starts at (as the plateau rule logs it)
            else:
                scheduler.step(train_logs["train_loss"])
            metric_key = f"{eval_prefix}_{cfg.monitor}"
            if metric_key not in test_logs:
                raise ParameterError(f"monitor={cfg.monitor!r} is not a loss term; choose one of "
                                     f"{sorted(k[len(eval_prefix) + 1:] for k in test_logs)}.")
            metric = test_logs[metric_key]
            secs = time.perf_counter() - t0
            row = {"epoch": epoch, "lr": optimizer.param_groups[0]["lr"], "batch_size": batch_size,
                   **train_logs, **test_logs, "seconds": secs, "windows_per_s": seen / train_secs}
            history.append(row)
            improved = metric < best
            if improved:
                best, best_epoch, bad_epochs = metric, epoch, 0
                best_state = copy.deepcopy(model.state_dict())
            else:
                bad_epochs += 1
            stopped = cfg.early_stop is not None and bad_epochs >= cfg.early_stop
            if out is not None:
                if improved:
                    save_torch({"model": model.state_dict(), "epoch": epoch, "metric": metric, **meta},
                               out / "weights.pt")
                save_checkpoint(epoch, out / "checkpoints" / "last.pt", stopped)
                if cfg.checkpoint_every and epoch % cfg.checkpoint_every == 0:
                    save_checkpoint(epoch, out / "checkpoints" / f"epoch_{epoch:04d}.pt", stopped)
                write_history(history, out / "history.csv")
            epochs_bar.set_postfix(loss=f"{row['train_loss']:.4g}", **{metric_key: f"{metric:.4g}"})
            if lines:
                _say(_epoch_line(label, row, cfg.epochs, eval_prefix, metric_key))
            frame = pd.DataFrame(history)
            asked = [cb(frame) is True for cb in callbacks]  # every callback runs; any True stops
            if any(asked) and not stopped:
                stopped = True
                if out is not None:  # a resumed run must not train past a callback's stop
                    save_checkpoint(epoch, out / "checkpoints" / "last.pt", stopped)
            if stopped:
                break
    except KeyboardInterrupt:
        interrupted = True
        done = history[-1]["epoch"] if history else 0
        where = f" {out / 'checkpoints' / 'last.pt'}" if out is not None and done else ""
        warnings.warn(f"training interrupted: {done} epoch(s) finished{' and saved in' + where if where else ''}. "
                      f"{'Run again to continue (resume=' + repr('auto') + ', the default).' if where else ''}",
                      RuntimeWarning, stacklevel=2)
    finally:
        epochs_bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    release_memory()  # the last batches' activations, back to the OS before the notebook's next step
    frame = pd.DataFrame(history)
    if out is not None and history:
        write_history(history, out / "history.csv")
    if interrupted and os.environ.get(RUNNER_ENV) == "1":  # behavnb run: stop the notebook, not go on half-trained
        raise KeyboardInterrupt("training interrupted; the last finished epoch is saved")
    return FitResult(model, frame, best_epoch, best, device, interrupted, stopped and not interrupted, out,
                     time.perf_counter() - t_start, {"amp": str(amp_dtype).replace("torch.", "") if amp_dtype else "off"})


def write_history(history: Sequence[dict], path: Path) -> Path:
    """The per-epoch history as CSV, written atomically."""
    return atomic_write_text(path, pd.DataFrame(list(history)).to_csv(index=False))


# -- a model directory: weights.pt, normalizer.json, config.yaml, history.csv, checkpoints/ ----------------


@dataclass
class LoadedModel:
    """A trained model read back from its directory, ready to embed."""

    model: Any
    normalizer: Any
    config: dict
    path: Path

    @property
    def window(self) -> int:
        return int(self.config["window"])


def save_model_files(out_dir: str | Path, name: str, architecture, windows: WindowSet, *, loss=None,
                     train_config: TrainConfig | None = None, extra: dict | None = None) -> Path:
    """Write ``normalizer.json`` and ``config.yaml`` into ``out_dir`` (``fit`` writes the weights and history)."""
    import yaml

    from behavnb import __version__

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "normalizer.json", windows.normalizer.to_json())
    doc = {"model": name, "architecture": asdict(architecture), "num_features": len(windows.names),
           "features": list(windows.names), "window": int(windows.window), "future": int(windows.future),
           "loss": asdict(loss) if loss is not None else None,
           "train": asdict(train_config) if train_config is not None else None,
           "behavnb_version": __version__, **(extra or {})}
    atomic_write_text(out / "config.yaml", yaml.safe_dump(doc, sort_keys=False))
    return out


def load_model(model_dir: str | Path, device: str = "cpu") -> LoadedModel:
    """Rebuild a model from ``model_dir`` (config.yaml + weights.pt + normalizer.json) and check they agree."""
    import yaml

    from behavnb.models import config_class
    from behavnb.windows import Normalizer

    d = Path(model_dir)
    cfg_path = d / "config.yaml"
    if not cfg_path.exists():
        raise CheckpointError(f"no trained model in {d} (config.yaml missing): run the training notebook "
                              f"(04_train_vame) or fit() with out_dir={str(d)!r} first.")
    try:
        doc = yaml.safe_load(cfg_path.read_text())
        cls = config_class(doc["model"])
        arch = getattr(cls, "from_saved", cls)(**doc["architecture"])  # a config may fill in fields older files lack
        num_features = int(doc["num_features"])
    except (yaml.YAMLError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{cfg_path} is damaged or not a behavnb model config ({exc}); retrain.") from exc
    try:
        normalizer = Normalizer.from_json((d / "normalizer.json").read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{d / 'normalizer.json'} is missing: the model cannot be used without the "
                              f"normalisation it was trained with. Retrain.") from None
    except (ValueError, KeyError) as exc:
        raise CheckpointError(f"{d / 'normalizer.json'} is corrupt ({exc}); retrain.") from exc
    weights = load_torch(d / "weights.pt", "model file")
    if weights.get("features", doc["features"]) != doc["features"] or normalizer.names != doc["features"]:
        raise CheckpointError(f"{d}: weights.pt, normalizer.json and config.yaml describe different input features "
                              f"(files from different runs?). Retrain into an empty directory.")
    model = arch.build(num_features)
    load_state(model, weights["model"], d / "weights.pt")
    model.to(resolve_device(device)).eval()
    return LoadedModel(model, normalizer, doc, d)
