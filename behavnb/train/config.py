"""What a training run is told and what it gives back: ``TrainConfig``, ``FitResult``, ``CheckpointError``.

Part of ``behavnb.train`` (see its docstring for the whole loop).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import pandas as pd

from behavnb.errors import BehavnbError, ParameterError


class CheckpointError(BehavnbError, ValueError):
    """A checkpoint or model file that cannot be used (corrupt, or from another model/data)."""


@dataclass
class TrainConfig:
    """How to train. The defaults follow the VAME reference where it has one (batch 256, lr 5e-4, Adam amsgrad).

    Parameters
    ----------
    epochs : int
        Epochs to train (for the cosine schedule, also its length).
    batch_size : int
        Training windows per batch (halved on CUDA out-of-memory).
    lr, weight_decay, amsgrad : float, float, bool
        Adam's settings.
    grad_clip : float or None
        Maximum gradient norm; None: no clipping.
    lr_schedule : {"plateau", "cosine"}
        See :class:`Schedule`. "plateau": ``ReduceLROnPlateau`` on the epoch-mean training loss;
        "cosine": ``lr`` to ``min_lr`` along a cosine, set batch by batch.
    lr_factor, lr_patience : float, int
        The plateau rule: the lr times ``lr_factor`` after ``lr_patience`` epochs without improvement.
    min_lr : float
        The lowest lr of either schedule.
    early_stop : int or None
        Stop after this many epochs without improvement of ``monitor`` on the held-out windows; None: never.
    monitor : str
        A key of the loss dict, evaluated on the held-out windows (early stopping, ``weights.pt``).
    checkpoint_every : int
        Also keep ``checkpoints/epoch_NNNN.pt`` every this many epochs; 0: never.
    windows_per_epoch : int or None
        None: every training window once per epoch; else a seeded sample of this many.
    eval_windows : int or None
        A fixed, seeded subset of this many held-out windows is evaluated each epoch; None: all of them.
    device : str
        "auto" (cuda > mps > cpu) or a device name.
    device_fallback : bool
        True: an unavailable device falls back to the CPU with a warning (False: it raises).
    amp : bool or "auto"
        Mixed precision. "auto": on CUDA, or on a CPU with native bfloat16 (``runtime.autocast_dtype``);
        False: float32.
    amp_dtype : str
        CUDA autocast dtype: "float16" (with a grad scaler) or "bfloat16".
    compile : bool
        ``torch.compile`` the model for training.
    seed : int
        Seeds torch, the shuffling and the evaluation subset.
    """

    epochs: int = 50
    batch_size: int = 256
    lr: float = 5e-4
    weight_decay: float = 0.0
    amsgrad: bool = True
    grad_clip: float | None = 5.0
    lr_schedule: str = "plateau"
    lr_factor: float = 0.2
    lr_patience: int = 10
    min_lr: float = 1e-6
    early_stop: int | None = 20
    monitor: str = "reconstruction"
    checkpoint_every: int = 10
    windows_per_epoch: int | None = None
    eval_windows: int | None = 20_000
    device: str = "auto"
    device_fallback: bool = False
    amp: bool | str = "auto"
    amp_dtype: str = "float16"
    compile: bool = False
    seed: int = 0

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """A config from a dict of its fields (a ``config.yaml``'s ``train`` entry).

        Parameters
        ----------
        d : dict
            ``{field: value}``; missing fields keep their defaults.

        Returns
        -------
        TrainConfig

        Raises
        ------
        ParameterError
            For a key that is not a field.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ParameterError(f"unknown training option(s) {unknown}; known: {sorted(known)}.")
        return cls(**d)


@dataclass
class FitResult:
    """What :func:`fit` returns: the model with the best weights loaded, and how it got there.

    Parameters
    ----------
    model : torch.nn.Module
        The trained model, with the best epoch's weights.
    history : pandas.DataFrame
        One row per epoch: ``epoch``, ``lr``, ``batch_size``, the ``train_*`` and held-out (``test_*``) loss
        terms, ``seconds`` and ``windows_per_s``.
    best_epoch : int
        The epoch with the lowest held-out ``monitor``.
    best_metric : float
        Its value.
    device : str
        Where it trained.
    interrupted : bool
        Ctrl-C stopped it (the last finished epoch is saved).
    stopped_early : bool
        Early stopping or a callback ended it.
    out_dir : Path or None
        Where its files are.
    seconds : float
        Wall time of the training loop.
    extra : dict
        ``{"amp": dtype name or "off"}``.
    """

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
