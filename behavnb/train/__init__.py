"""One training loop for every model in behavnb: ``fit(model, windows, config, loss=...)``.

A model plugs in through its loss, a callable ``loss(model, batch, epoch) -> dict`` of 0-d tensors
with a ``"loss"`` key to minimise (``models.vame.VAMELoss``); every other key is logged. The loop
provides what a long GPU run needs and what a laptop run must not lack:

- device selection (cuda > mps > cpu, or explicit; an unavailable device raises, or falls back to
  the CPU with a warning when ``device_fallback=True``), mixed precision (float16 on CUDA, bfloat16 on
  CPUs that compute it natively), optional ``torch.compile``;
- batches gathered on the device from one pre-normalised tensor (``WindowSet.gather``), shuffled by a
  seeded generator;
- gradient clipping; the learning-rate :class:`Schedule`: ``ReduceLROnPlateau`` stepped with the *epoch
  mean* training loss, or a cosine from ``lr`` to ``min_lr`` set before every batch;
- evaluation on the held-out windows every epoch; early stopping on ``config.monitor`` there;
- ``weights.pt`` (best so far) from epoch 1, ``checkpoints/last.pt`` every epoch, and
  ``checkpoints/epoch_NNNN.pt`` every ``checkpoint_every`` epochs;
- automatic resume (``resume="auto"``, the default): every checkpoint carries a fingerprint of what
  decides the result (architecture, loss, training options, seed, features, the windows and a sample
  of the normalised data, see :func:`fingerprint`); a ``last.pt`` with the same fingerprint (the data
  bit for bit, or up to floating-point rounding) is continued, a finished one is reloaded without
  retraining, any other is replaced by a fresh run (one line says which and why). Model, optimizer,
  scheduler, AMP scaler, batch size and every RNG state come back from ``last.pt``, so 2 + 2 epochs
  give the weights of 4 straight epochs;
- Ctrl-C keeps the last finished epoch on disk and returns (``result.interrupted``); under
  ``behavnb run`` it stops the notebook instead. CUDA out-of-memory halves the batch and carries on,
  with a warning;
- ``tqdm.auto`` bars with live losses at a terminal or in Jupyter; elsewhere (a log file, nohup, CI,
  the kernels of ``behavnb run``) one line per epoch on stderr; ``history.csv`` rewritten after every
  epoch (``windows_per_s`` counts training time only, ``seconds`` the whole epoch with evaluation).

Nothing else is caught: any other failure raises.

The parts, each a module a reader can hold: ``config`` (TrainConfig, FitResult), ``schedule`` (the
learning-rate schedule as an object), ``checkpoints`` (the run's files, fingerprint and exact resume),
``loop`` (setup, the epoch step with OOM back-off, evaluation, ``fit``), ``progress`` (bars, lines,
warnings), ``saved`` (a trained model on disk) and ``starts`` (the bundled cohort's demo runs, checkpointed
before their last epochs, continued by notebooks 04 and 05).
"""

from behavnb.train.checkpoints import NOT_IN_FINGERPRINT, fingerprint, load_state, load_torch, save_torch, write_history
from behavnb.train.config import CheckpointError, FitResult, TrainConfig
from behavnb.train.loop import fit, mean_losses
from behavnb.train.progress import PROGRESS_ENV, RUNNER_ENV, progress_mode
from behavnb.train.saved import LoadedModel, load_model, save_model_files
from behavnb.train.schedule import Schedule
from behavnb.train.starts import BundledStart, bundled_start

__all__ = [
    "CheckpointError", "FitResult", "TrainConfig", "PROGRESS_ENV", "RUNNER_ENV", "progress_mode", "Schedule",
    "NOT_IN_FINGERPRINT", "fingerprint", "load_state", "load_torch", "save_torch", "write_history", "fit",
    "mean_losses", "LoadedModel", "load_model", "save_model_files", "BundledStart", "bundled_start",
]
