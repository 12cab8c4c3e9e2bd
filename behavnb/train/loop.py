"""The training loop itself: the run's setup, one epoch with out-of-memory back-off, the held-out
evaluation, and :func:`fit`, which reads as a short loop over these parts.

Part of ``behavnb.train`` (see its docstring for the whole loop).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from behavnb.errors import ParameterError
from behavnb.models import eval_mode
from behavnb.runtime import autocast_dtype, release_memory, resolve_device
from behavnb.train.checkpoints import _RunFiles, _RunState, fingerprint
from behavnb.train.config import FitResult, TrainConfig
from behavnb.train.progress import RUNNER_ENV, _epoch_line, _say, _warn, progress_mode
from behavnb.train.schedule import Schedule
from behavnb.windows import MultiWindowSet, WindowSet


def _oom_error():
    import torch

    return getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)


def _mean_logs(sums: dict, count: int, prefix: str) -> dict[str, float]:
    return {f"{prefix}_{k}": float(v) / max(count, 1) for k, v in sums.items()}


def mean_losses(model, windows: WindowSet, starts, loss: Callable, epoch: int, *, data=None, batch_size: int = 1024,
                autocast=contextlib.nullcontext) -> dict[str, float]:
    """Mean of every loss term over the windows starting at ``starts``, in eval mode, without gradients.

    Parameters
    ----------
    model : torch.nn.Module
        Passed to ``loss``.
    windows : WindowSet or MultiWindowSet
        Gathers the batches.
    starts : array-like
        Window starts (indices into ``windows``' data).
    loss : callable
        ``loss(model, batch, epoch) -> dict`` of 0-d tensors.
    epoch : int
        Passed to ``loss``.
    data : tensor or list of tensors, optional
        ``windows.device_data(device)``; default: on the CPU.
    batch_size : int
        Windows per batch.
    autocast : callable
        Returns the context manager each batch runs in (mixed precision); default: none.

    Returns
    -------
    dict
        ``{term: mean}``, each batch weighted by its number of windows.
    """
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


def _empty_cache(dev_type: str) -> None:
    import torch

    if dev_type == "cuda":
        torch.cuda.empty_cache()


def _eval_starts(windows: WindowSet | MultiWindowSet, cfg: TrainConfig) -> tuple[np.ndarray, str]:
    """The windows evaluated every epoch and their history prefix: the held-out ones ("test"), else the training ones."""
    starts, prefix = np.asarray(windows.test), "test"
    if len(starts) == 0:
        _warn("no held-out windows (test_fraction=0?): early stopping and the best checkpoint use the "
              "training windows, which overfit.")
        starts, prefix = np.asarray(windows.train), "train_eval"
    if cfg.eval_windows and len(starts) > cfg.eval_windows:
        starts = np.sort(np.random.default_rng(cfg.seed).choice(starts, cfg.eval_windows, replace=False))
    return starts, prefix


@dataclass
class _Run:
    """What :func:`fit` builds once and every epoch uses: the model, its training parts, the data on the device."""

    cfg: TrainConfig
    model: Any
    step_model: Any  # the model, or its torch.compile wrapper (for the training step only)
    loss: Callable
    optimizer: Any
    schedule: Schedule
    scaler: Any  # the AMP grad scaler (does nothing unless float16 autocast)
    gen: Any  # the shuffling generator, on the CPU: the same order on every device
    windows: WindowSet | MultiWindowSet
    data: Any  # windows.device_data(device)
    train_starts: Any
    eval_starts: np.ndarray
    eval_prefix: str  # "test", or "train_eval" without held-out windows
    device: str
    amp_dtype: Any

    @classmethod
    def build(cls, model, windows: WindowSet | MultiWindowSet, cfg: TrainConfig, loss: Callable) -> _Run:
        """Device, autocast, seeds, optimizer and schedule; ``model`` moves to the device."""
        import torch

        device = resolve_device(cfg.device, cfg.device_fallback)
        amp_dtype = autocast_dtype(device, cfg.amp, cfg.amp_dtype)
        scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)
        model.to(device)
        torch.manual_seed(cfg.seed)
        gen = torch.Generator().manual_seed(cfg.seed)
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, amsgrad=cfg.amsgrad)
        schedule = Schedule(optimizer, cfg)
        step_model = torch.compile(model) if cfg.compile else model
        data = windows.device_data(device)
        train_starts = torch.as_tensor(windows.train, device=device)
        eval_starts, eval_prefix = _eval_starts(windows, cfg)
        return cls(cfg, model, step_model, loss, optimizer, schedule, scaler, gen, windows, data, train_starts,
                   eval_starts, eval_prefix, device, amp_dtype)

    @property
    def dev_type(self) -> str:
        return self.device.split(":")[0]

    @property
    def metric_key(self) -> str:
        """The history column early stopping and ``weights.pt`` follow."""
        return f"{self.eval_prefix}_{self.cfg.monitor}"

    def autocast(self):
        """The mixed-precision context a forward pass runs in (a no-op without AMP)."""
        import torch

        if not self.amp_dtype:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.dev_type, dtype=self.amp_dtype)


def _epoch_order(run: _Run, batch_size: int):
    """This epoch's training windows (indices into ``run.train_starts``), shuffled, on the device."""
    order = run.windows.epoch_order(run.gen, batch_size)
    if run.cfg.windows_per_epoch and run.cfg.windows_per_epoch < len(order):
        order = order[: run.cfg.windows_per_epoch]
    return order.to(run.device)


def _train_step(run: _Run, idx, epoch: int) -> dict:
    """One optimiser step on the windows ``run.train_starts[idx]``; the loss terms."""
    import torch

    batch = run.windows.gather(run.train_starts[idx], run.data)
    with run.autocast():
        terms = run.loss(run.step_model, batch, epoch)
    run.optimizer.zero_grad(set_to_none=True)
    run.scaler.scale(terms["loss"]).backward()
    if run.cfg.grad_clip:
        run.scaler.unscale_(run.optimizer)
        torch.nn.utils.clip_grad_norm_(run.model.parameters(), run.cfg.grad_clip)
    run.scaler.step(run.optimizer)
    run.scaler.update()
    return terms


def _train_epoch(run: _Run, epoch: int, batch_size: int, bars: bool) -> tuple[dict, int, int]:
    """One training epoch; CUDA out-of-memory halves the batch (with a warning) and the epoch goes on.

    Returns the loss terms summed over the windows (tensors on the device), the windows seen, and the
    batch size now. Raises FloatingPointError if the training loss is not finite.
    """
    from tqdm.auto import tqdm

    run.model.train()
    order = _epoch_order(run, batch_size)
    sums: dict = {}
    seen, pos, last_shown = 0, 0, 0
    bar = tqdm(total=len(order), desc=f"epoch {epoch}", leave=False, disable=not bars, unit="win")
    while pos < len(order):
        n = min(batch_size, len(order) - pos)
        if n < batch_size and pos > 0:
            break  # drop the ragged tail (reshuffled every epoch); a tiny set is one batch
        run.schedule.batch(epoch, pos / len(order))
        try:
            terms = _train_step(run, order[pos: pos + n], epoch)
        except _oom_error():
            run.optimizer.zero_grad(set_to_none=True)
            _empty_cache(run.dev_type)
            if batch_size <= 1:
                raise
            batch_size = max(1, batch_size // 2)
            _warn(f"out of GPU memory at batch size {batch_size * 2}: halved to {batch_size} and "
                  f"continuing (set TrainConfig.batch_size={batch_size} next time).")
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
                                 f"lower lr (now {run.schedule.lr:g}) or check the inputs.")
    return sums, seen, batch_size


def _evaluate(run: _Run, epoch: int, batch_size: int) -> dict[str, float]:
    """The held-out pass: each loss term's mean over ``run.eval_starts``, as ``{prefix}_{term}``.

    CUDA out-of-memory halves the evaluation batch until it fits.
    """
    # larger held-out batches pay on a GPU; on a CPU they only raise the peak memory (+0.1 GB for VQ-MAP at
    # 4 x 128 windows) at the same speed
    eval_bs = (4 if run.dev_type == "cuda" else 1) * batch_size
    while True:
        try:
            held = mean_losses(run.model, run.windows, run.eval_starts, run.loss, epoch, data=run.data,
                               batch_size=eval_bs, autocast=run.autocast)
            return {f"{run.eval_prefix}_{k}": v for k, v in held.items()}
        except _oom_error():
            _empty_cache(run.dev_type)
            if eval_bs <= 1:
                raise
            eval_bs //= 2


def _run_epoch(run: _Run, state: _RunState, epoch: int, bars: bool) -> tuple[dict, float]:
    """Train one epoch, evaluate, step the schedule: the epoch's history row and its monitored metric."""
    t0 = time.perf_counter()
    sums, seen, state.batch_size = _train_epoch(run, epoch, state.batch_size, bars)
    train_secs = time.perf_counter() - t0
    train_logs = _mean_logs(sums, seen, "train")
    test_logs = _evaluate(run, epoch, state.batch_size)
    run.schedule.step(epoch, train_logs["train_loss"])
    if run.metric_key not in test_logs:
        prefix = run.eval_prefix
        raise ParameterError(f"monitor={run.cfg.monitor!r} is not a loss term; choose one of "
                             f"{sorted(k[len(prefix) + 1:] for k in test_logs)}.")
    metric = test_logs[run.metric_key]
    row = {"epoch": epoch, "lr": run.schedule.lr, "batch_size": state.batch_size, **train_logs, **test_logs,
           "seconds": time.perf_counter() - t0, "windows_per_s": seen / train_secs}
    return row, metric


def _callbacks_stop(callbacks: Sequence[Callable], state: _RunState) -> bool:
    """Call every callback with the history; True if one returned True and the run was not stopping anyway."""
    frame = pd.DataFrame(state.history)
    asked = [cb(frame) is True for cb in callbacks]  # every callback runs; any True stops
    if any(asked) and not state.stopped:
        state.stopped = True
        return True
    return False


def _interrupted(state: _RunState, files: _RunFiles) -> str:
    done = state.history[-1]["epoch"] if state.history else 0
    where = f" {files.last}" if files.out is not None and done else ""
    return (f"training interrupted: {done} epoch(s) finished{' and saved in' + where if where else ''}. "
            f"{'Run again to continue (resume=' + repr('auto') + ', the default).' if where else ''}")


def _check_options(cfg: TrainConfig, windows: WindowSet | MultiWindowSet, resume: bool | str) -> None:
    if cfg.epochs < 1 or cfg.batch_size < 1:
        raise ParameterError(f"epochs={cfg.epochs}, batch_size={cfg.batch_size}: both must be >= 1.")
    Schedule.check(cfg.lr_schedule)
    if len(windows.train) == 0:
        raise ParameterError("no training windows: build them with windows.build() from longer or cleaner sessions.")
    if not (resume is True or resume is False or resume == "auto"):
        raise ParameterError(f"resume={resume!r}: 'auto' (continue a matching checkpoint, else start fresh), "
                             f"True (continue, or fail) or False (start fresh).")


def _finish(run: _Run, state: _RunState, files: _RunFiles, interrupted: bool, t_start: float) -> FitResult:
    """The best weights back into the model, memory released, the history written: the result."""
    if state.best_state is not None:
        run.model.load_state_dict(state.best_state)
    release_memory()  # the last batches' activations, back to the OS before the notebook's next step
    frame = pd.DataFrame(state.history)
    files.write_history(state.history)
    if interrupted and os.environ.get(RUNNER_ENV) == "1":  # behavnb run: stop the notebook, not go on half-trained
        raise KeyboardInterrupt("training interrupted; the last finished epoch is saved")
    amp = str(run.amp_dtype).replace("torch.", "") if run.amp_dtype else "off"
    return FitResult(run.model, frame, state.best_epoch, state.best, run.device, interrupted,
                     state.stopped and not interrupted, files.out, time.perf_counter() - t_start, {"amp": amp})


def fit(model, windows: WindowSet | MultiWindowSet, config: TrainConfig | None = None, *, loss: Callable,
        out_dir: str | Path | None = None, resume: bool | str = "auto", callbacks: Sequence[Callable[[pd.DataFrame], None]] = (),
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
    from tqdm.auto import tqdm

    cfg = config or TrainConfig()
    _check_options(cfg, windows, resume)
    bars, lines = progress_mode(progress)
    if resume is True and out_dir is None:
        raise ParameterError("resume=True needs out_dir (where the checkpoints are).")
    files = _RunFiles(out_dir, fingerprint(model, windows, cfg, loss), cfg, windows)
    run = _Run.build(model, windows, cfg, loss)
    meta = {**(meta or {}), "features": list(windows.names), "window": windows.window, "future": windows.future,
            "train_config": asdict(cfg)}
    ckpt = files.to_resume(resume)
    state = files.restore(ckpt, run) if ckpt is not None else _RunState(cfg.batch_size)
    interrupted, t_start = False, time.perf_counter()
    epochs_bar = tqdm([] if state.stopped else range(state.epoch + 1, cfg.epochs + 1), desc="epochs",
                      disable=not bars, initial=state.epoch, total=cfg.epochs)
    try:
        for epoch in epochs_bar:
            row, metric = _run_epoch(run, state, epoch, bars)
            improved = state.record(row, metric, model, cfg.early_stop)
            files.end_epoch(run, state, improved, meta)
            epochs_bar.set_postfix(loss=f"{row['train_loss']:.4g}", **{run.metric_key: f"{metric:.4g}"})
            if lines:
                _say(_epoch_line(files.label, row, cfg.epochs, run.eval_prefix, run.metric_key))
            if _callbacks_stop(callbacks, state):
                files.save(run, state)  # a resumed run must not train past a callback's stop
            if state.stopped:
                break
    except KeyboardInterrupt:
        interrupted = True
        _warn(_interrupted(state, files))
    finally:
        epochs_bar.close()
    return _finish(run, state, files, interrupted, t_start)
