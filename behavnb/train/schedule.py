"""The learning-rate schedule of a training run as one object (plateau or cosine), saved in every checkpoint.

Part of ``behavnb.train`` (see its docstring for the whole loop).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from behavnb.errors import ParameterError
from behavnb.train.config import CheckpointError

if TYPE_CHECKING:
    import torch

    from behavnb.train.config import TrainConfig



class Schedule:
    """The learning rate of a training run, as ``TrainConfig.lr_schedule`` says.

    "plateau": ``ReduceLROnPlateau`` on the epoch-mean training loss (the lr times ``lr_factor`` after
    ``lr_patience`` epochs without improvement, not below ``min_lr``). "cosine": ``lr`` down to ``min_lr``
    along half a cosine over ``epochs``, set before every batch from the run's progress; it has no state.
    The lr itself lives in the optimizer, whose state a checkpoint keeps beside this one's.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
        Whose learning rates (every parameter group's) the schedule sets.
    config : TrainConfig
        Its ``lr_schedule``, ``lr``, ``min_lr``, ``epochs``, ``lr_factor`` and ``lr_patience`` are used.

    Raises
    ------
    ParameterError
        For an unknown ``lr_schedule``.

    Examples
    --------
    >>> import torch
    >>> from behavnb.train import TrainConfig
    >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    >>> schedule = Schedule(opt, TrainConfig(lr_schedule="cosine", lr=1.0, min_lr=0.0, epochs=4))
    >>> for epoch in (1, 2, 3, 4):
    ...     schedule.step(epoch, loss=0.0)  # after the epoch: the lr the next one starts at
    ...     print(round(schedule.lr, 3))
    0.854
    0.5
    0.146
    0.0
    """

    #: the schedules there are
    MODES = ("plateau", "cosine")

    def __init__(self, optimizer: torch.optim.Optimizer, config: TrainConfig) -> None:
        import torch

        self.check(config.lr_schedule)
        self.optimizer, self.mode = optimizer, config.lr_schedule
        self.max_lr, self.min_lr, self.epochs = config.lr, config.min_lr, config.epochs
        self._plateau = None
        if self.mode == "plateau":
            self._plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, mode="min", factor=config.lr_factor, patience=config.lr_patience, min_lr=config.min_lr)

    @classmethod
    def check(cls, mode: str) -> None:
        """Raise unless ``mode`` is one of :attr:`MODES`.

        Raises
        ------
        ParameterError
            For another value.
        """
        if mode not in cls.MODES:
            raise ParameterError(f"lr_schedule={mode!r}: 'plateau' (reduce on a plateau) or 'cosine'.")

    @property
    def lr(self) -> float:
        """The learning rate now (of the first parameter group)."""
        return self.optimizer.param_groups[0]["lr"]

    def _cosine(self, progress: float) -> None:
        lr = self.min_lr + (self.max_lr - self.min_lr) * (1 + math.cos(math.pi * min(progress, 1.0))) / 2
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def batch(self, epoch: int, fraction: float) -> None:
        """Before a batch that starts ``fraction`` (0 to 1) of the way through ``epoch`` (1-based): cosine sets the lr.

        Parameters
        ----------
        epoch : int
            The epoch, from 1.
        fraction : float
            The training windows of the epoch already seen, as a fraction of them all.
        """
        if self._plateau is None:
            self._cosine((epoch - 1 + fraction) / self.epochs)

    def step(self, epoch: int, loss: float) -> None:
        """After ``epoch``: set the lr the next epoch starts at (the one its history row logs).

        Parameters
        ----------
        epoch : int
            The epoch just finished, from 1.
        loss : float
            Its mean training loss (what the plateau rule watches; the cosine ignores it).
        """
        if self._plateau is None:
            self._cosine(epoch / self.epochs)
        else:
            self._plateau.step(loss)

    def state_dict(self) -> dict:
        """What to checkpoint: the plateau scheduler's state dict as torch gives it; ``{"schedule": "cosine"}``.

        Returns
        -------
        dict
        """
        return self._plateau.state_dict() if self._plateau is not None else {"schedule": "cosine"}

    def load_state_dict(self, state: dict) -> None:
        """Continue from :meth:`state_dict`'s output (restore the optimizer's state too: it holds the lr).

        A cosine schedule ignores ``state``: checkpoints of older behavnb versions hold an unused plateau
        state there.

        Parameters
        ----------
        state : dict
            From :meth:`state_dict`, or a checkpoint's ``"scheduler"`` entry.

        Raises
        ------
        CheckpointError
            A plateau schedule given a cosine schedule's state.
        """
        if self._plateau is None:
            return
        if state.get("schedule", "plateau") != "plateau":
            raise CheckpointError(f"a {state['schedule']!r} schedule's state cannot continue a 'plateau' schedule.")
        self._plateau.load_state_dict(state)
