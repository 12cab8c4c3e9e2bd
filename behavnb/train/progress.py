"""How a training run reports itself: tqdm bars or one line per epoch on stderr, and warnings that point at the caller.

Part of ``behavnb.train`` (see its docstring for the whole loop).
"""

from __future__ import annotations

import os
import sys
import warnings

from behavnb.errors import ParameterError

#: set by ``behavnb run`` for its kernels: Ctrl-C stops the notebook instead of returning a half-trained model
RUNNER_ENV = "BEHAVNB_RUNNER"


#: "bar" or "lines": how ``fit(progress=True)`` shows progress, whatever the terminal (``behavnb run`` sets "lines")
PROGRESS_ENV = "BEHAVNB_PROGRESS"


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


def _warn(message: str) -> None:
    """A RuntimeWarning attributed to the first caller outside ``behavnb.train`` (the line that called :func:`fit`)."""
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_globals.get("__name__", "").startswith("behavnb.train"):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, RuntimeWarning, stacklevel=level)
