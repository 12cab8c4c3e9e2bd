"""Model health: is a trained model fit to be segmented? Checked from what training leaves, never assumed.

A model that did not learn still embeds every frame and still gives codes, so a collapsed model
writes plausible-looking motif tables. ``check_model`` reads what notebooks 04 and 05 have at hand
and flags, each with the number and what to try:

- a training loss that never dropped below its first epoch (error), or fell by less than 1 % (warning),
  or is not finite (error);
- a held-out R² below 0 (error: the reconstruction is worse than the mean pose), or below 0.1 (warning);
- for VQ models, per codebook (type, subtype): fewer than two codes in effective use, i.e. a perplexity
  (``codes.perplexity``) below 2 (error: collapsed), or a perplexity below a quarter of the codebook
  (warning: most codes idle).

``ModelHealth.save`` writes ``<model_dir>/health.json``; ``read_health`` reads it back (None when the
model was trained before health checks existed); ``require_healthy`` is what notebook 06 calls before
segmenting: it raises ``UnhealthyModelError`` for a model with an error unless ``allow_unhealthy``.
In the checks layer (evaluate/health/demos, after stats in docs/design.md's layers): it judges what
train and embed made, before segment uses it; imports only ``codes``, ``errors`` and ``utils``.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from behavnb.codes import perplexity, usage
from behavnb.errors import BehavnbError, DataWarning
from behavnb.utils import atomic_write_text

HEALTH_FILE = "health.json"
MIN_PERPLEXITY = 2.0  # fewer codes than this in effective use: collapsed
IDLE_FRACTION = 0.25  # perplexity below this share of the codebook: most codes idle (warning)
MIN_LOSS_DROP = 0.01  # relative drop of the training loss below which it counts as flat (warning)
MIN_R2 = 0.0  # held-out R² below this: worse than predicting the mean (error)
LOW_R2 = 0.1  # held-out R² below this: barely better than the mean (warning)


class UnhealthyModelError(BehavnbError, ValueError):
    """A model failed its health check (collapsed codes, negative R², a loss that never dropped)."""


@dataclass
class ModelHealth:
    """The verdict on one trained model (what ``check_model`` and ``read_health`` give).

    Parameters
    ----------
    model : str
        The model's name ("vame", "vqmap").
    ok : bool
        False when any problem is an error.
    problems : list of str
        Sentences: the number and what to try.
    severity : list of str
        "error" or "warning", one per problem.
    metrics : dict
        The numbers checked.
    collapsed : bool, default False
        An error that makes the motifs meaningless (collapsed codes, a loss that never fell);
        ``require_healthy`` refuses such a model.
    """

    model: str
    ok: bool
    problems: list[str] = field(default_factory=list)
    severity: list[str] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    collapsed: bool = False  # an error that makes its motifs meaningless: collapsed codes, a loss that never fell

    @property
    def errors(self) -> list[str]:
        """The problems that are errors."""
        return [p for p, s in zip(self.problems, self.severity, strict=False) if s == "error"]

    @property
    def warnings(self) -> list[str]:
        """The problems that are warnings."""
        return [p for p, s in zip(self.problems, self.severity, strict=False) if s == "warning"]

    @property
    def status(self) -> str:
        """"unhealthy" (an error), "warning" (only warnings) or "healthy"."""
        return "unhealthy" if not self.ok else ("warning" if self.problems else "healthy")

    def summary(self) -> str:
        """One line per problem, or one line saying the model looks healthy."""
        if not self.problems:
            return f"model {self.model!r} looks healthy ({_metric_line(self.metrics)})."
        head = f"model {self.model!r} is {'UNHEALTHY' if not self.ok else 'usable, with warnings'}:"
        return "\n".join([head] + [f"- [{s}] {p}" for p, s in zip(self.problems, self.severity, strict=False)])

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        if not self.problems:
            return (f'<div style="color:#1b5e20;font-weight:bold">&#10004; model {escape(self.model)!s} looks healthy '
                    f'<span style="font-weight:normal">({escape(_metric_line(self.metrics))})</span></div>')
        bg, border, title = (("#fdecea", "#c62828", f"&#10008; model {escape(self.model)} is unhealthy: its motifs "
                              f"would not mean much")
                             if not self.ok else ("#fff8e1", "#f9a825", f"&#9888; model {escape(self.model)}: warnings"))
        items = "".join(f"<li><b>{escape(s)}</b>: {escape(p)}</li>" for p, s in zip(self.problems, self.severity, strict=False))
        return (f'<div style="background:{bg};border-left:6px solid {border};padding:8px 12px;margin:4px 0">'
                f'<div style="font-weight:bold">{title}</div><ul style="margin:4px 0">{items}</ul>'
                f'<div style="font-size:90%">{escape(_metric_line(self.metrics))}</div></div>')

    def to_dict(self) -> dict:
        """The verdict as a plain dict (what ``save`` writes).

        Returns
        -------
        dict
        """
        return asdict(self)

    def save(self, model_dir: str | Path) -> Path:
        """Write ``model_dir/health.json`` atomically.

        Parameters
        ----------
        model_dir : str or Path
            The model's directory (``models/<name>/``); created if missing.

        Returns
        -------
        Path
            The written file.
        """
        path = Path(model_dir) / HEALTH_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(_jsonable(self.to_dict()), indent=1) + "\n")
        return path


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        return None if not math.isfinite(float(obj)) else float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def _metric_line(m: Mapping[str, Any]) -> str:
    parts = []
    for key, val in m.items():
        if isinstance(val, float):
            parts.append(f"{key} {val:.3g}")
        elif isinstance(val, (int, np.integer)) and not isinstance(val, bool):
            parts.append(f"{key} {val}")
    return ", ".join(parts)


def _history_frame(history) -> pd.DataFrame | None:
    if history is None:
        return None
    if hasattr(history, "history") and isinstance(history.history, pd.DataFrame):  # a FitResult
        return history.history
    if isinstance(history, (str, Path)):
        path = Path(history)
        path = path / "history.csv" if path.is_dir() else path
        return pd.read_csv(path) if path.exists() else None
    return pd.DataFrame(history)


def _r2_values(scores) -> dict[str, float]:
    """Held-out R² entries of ``evaluate.vqmap_scores`` (Series), ``evaluate.scores`` (DataFrame, row ``all``),
    a dict of them, or one number."""
    if scores is None:
        return {}
    if isinstance(scores, (int, float, np.floating)):
        return {"r2": float(scores)}
    if isinstance(scores, pd.DataFrame):
        row = scores.loc["all"] if "all" in scores.index else scores.iloc[-1]
        return {str(k): float(v) for k, v in row.items() if str(k).endswith("r2") and "prediction" not in str(k)}
    items = scores.items() if hasattr(scores, "items") else []
    return {str(k): float(v) for k, v in items if str(k).endswith("r2")}


def _check_history(frame: pd.DataFrame, add, metrics: dict) -> None:
    col = "train_loss" if "train_loss" in frame else next((c for c in frame.columns if c.endswith("loss")), None)
    if col is None or frame.empty:
        return
    loss = frame[col].to_numpy(float)
    metrics.update(epochs=int(len(loss)), loss_first=float(loss[0]), loss_last=float(loss[-1]))
    if not np.isfinite(loss).all():
        bad = int((~np.isfinite(loss)).sum())
        add("error", f"the {col} is not finite in {bad} of {len(loss)} epoch(s) (NaN or inf): training diverged. "
                     f"Lower the learning rate (lr) or turn mixed precision off (amp=False), and retrain.")
        return
    if len(loss) < 2:
        return  # one epoch says nothing about whether the loss drops
    drop = (loss[0] - loss.min()) / abs(loss[0]) if loss[0] else 0.0
    metrics["loss_drop"] = float(drop)
    if loss[1:].min() >= loss[0]:
        add("error", f"the {col} never dropped below its first epoch ({loss[0]:.4g} -> best {loss[1:].min():.4g} over "
                     f"{len(loss)} epochs): the model did not learn. Check the inputs (notebook 02/03), lower the "
                     f"learning rate, or train longer (epochs=..., profile='demo').")
    elif drop < MIN_LOSS_DROP:
        add("warning", f"the {col} fell by only {100 * drop:.2f} % over {len(loss)} epochs ({loss[0]:.4g} -> "
                       f"{loss.min():.4g}): it is nearly flat. Train longer (epochs=..., profile='demo').")


def _check_r2(values: dict[str, float], add, metrics: dict) -> None:
    for key, r2 in values.items():
        metrics[f"held_out_{key}" if not key.startswith("held_out") else key] = r2
        if not np.isfinite(r2):
            continue
        what = key.replace("_r2", "").replace("_", " ") or "reconstruction"
        if r2 < MIN_R2:
            add("error", kind="fit", text=f"the held-out {what} R² is {r2:.2f} (< 0): the model reconstructs worse than the "
                         f"average pose. Train longer (epochs=..., windows_per_epoch=...; profile='demo'), or check that the "
                         f"held-out sessions look like the training ones.")
        elif r2 < LOW_R2:
            add("warning", kind="fit", text=f"the held-out {what} R² is only {r2:.2f}: the latents keep little of the movement. "
                           f"Train longer (epochs=..., profile='demo').")


def _check_codes(codes: Mapping[str, tuple[Any, int]], add, metrics: dict) -> None:
    for name, (c, n_codes) in codes.items():
        n_codes = int(n_codes)
        px = perplexity(c, n_codes)
        used = int((usage(c, n_codes)["fraction"] > 0).sum())
        metrics[f"perplexity_{name}"] = px
        metrics[f"used_{name}"] = used
        metrics[f"n_codes_{name}"] = n_codes
        if px < MIN_PERPLEXITY:
            add("error", f"the {name} codebook collapsed: perplexity {px:.2f} of {n_codes} codes ({used} used at "
                         f"all), so nearly every step gets the same {name}. Train longer or on more windows "
                         f"(epochs=..., windows_per_epoch=...; profile='demo'), or use fewer codes (n_{name}s=...).")
        elif px < IDLE_FRACTION * n_codes:
            add("warning", f"the {name} codebook uses few codes: perplexity {px:.2f} of {n_codes} ({used} used): "
                           f"most codes are idle. Fewer codes (n_{name}s=...) or longer training may suit this data.")


def check_model(name: str, *, history=None, scores=None, codes: Mapping[str, tuple[Any, int]] | None = None) -> ModelHealth:
    """Judge a trained model from its training history, held-out R² and (VQ models) code usage.

    Parameters
    ----------
    name
        The model's name for messages (``"vame"``, ``"vqmap"``: its folder under ``models/``).
    history
        The per-epoch history: a ``FitResult``, a DataFrame, or the path of ``history.csv`` (or of the
        model directory). ``train_loss`` is checked. None: not checked.
    scores
        Held-out reconstruction scores: ``evaluate.vqmap_scores`` (every ``*_r2`` entry),
        ``evaluate.scores`` (the ``all`` row's ``reconstruction_r2``), or one R² number. None: not checked.
    codes
        VQ models: ``{codebook: (codes, n_codes)}``, e.g. ``{"type": (labels["type"], 8),
        "subtype": (labels["subtype"], 16)}``; -1 (no code) is ignored. None: not checked.

    Returns
    -------
    ModelHealth
        ``ok`` False when any check found an error; ``problems`` each say the number and what to try.
    """
    problems: list[tuple[str, str]] = []
    metrics: dict[str, Any] = {}

    collapse = []

    def add(severity: str, text: str, kind: str = "collapse") -> None:
        problems.append((severity, text))
        if severity == "error" and kind == "collapse":
            collapse.append(text)

    frame = _history_frame(history)
    if frame is not None:
        _check_history(frame, add, metrics)
    _check_r2(_r2_values(scores), add, metrics)
    if codes:
        _check_codes(codes, add, metrics)
    problems.sort(key=lambda p: p[0] != "error")  # errors first
    return ModelHealth(name, ok=not any(s == "error" for s, _ in problems), problems=[p for _, p in problems],
                       severity=[s for s, _ in problems], metrics=metrics, collapsed=bool(collapse))


def read_health(model_dir: str | Path) -> ModelHealth | None:
    """The saved verdict of ``model_dir/health.json``.

    A damaged file gives a ``DataWarning`` and None (health unknown), never a crash.

    Parameters
    ----------
    model_dir : str or Path
        The model's directory (``models/<name>/``).

    Returns
    -------
    ModelHealth or None
        None when there is no file (the model was trained before health checks existed) or it cannot be read.
    """
    path = Path(model_dir) / HEALTH_FILE
    if not path.exists():
        return None
    try:
        doc = json.loads(path.read_text())
        return ModelHealth(str(doc["model"]), bool(doc["ok"]), list(doc.get("problems", [])),
                           list(doc.get("severity", [])), dict(doc.get("metrics", {})),
                           bool(doc.get("collapsed", not doc["ok"])))
    except (ValueError, KeyError, TypeError) as exc:
        warnings.warn(f"{path} cannot be read ({exc}): the model's health is unknown. Rerun its training notebook "
                      f"to write it again.", DataWarning, stacklevel=2)
        return None


def require_healthy(model_dir: str | Path, allow_unhealthy: bool = False) -> ModelHealth | None:
    """The saved health of ``model_dir``; raise if the model collapsed, unless ``allow_unhealthy``.

    A collapsed model (codes on one or two entries, a loss that never fell or diverged) gives motifs that
    mean nothing: refused. A poor fit (negative held-out R², e.g. a few minutes of data in the fast
    profile) is warned about and shown, not refused: the series goes on.

    Parameters
    ----------
    model_dir : str or Path
        A model directory (``models/<name>/``).
    allow_unhealthy : bool, default False
        True: an unhealthy model is returned with a ``DataWarning`` instead of an error.

    Returns
    -------
    ModelHealth or None
        None when the model has no ``health.json`` (trained before health checks; health unknown).

    Raises
    ------
    UnhealthyModelError
        The model collapsed: the message names it, its problems and the fix.
    """
    health = read_health(model_dir)
    if health is None or health.ok:
        return health
    listed = " ".join(f"({i}) {p}" for i, p in enumerate(health.errors, 1))
    if not health.collapsed:  # a poor fit (negative held-out R²): shown and warned, the motifs still computed
        warnings.warn(f"model {health.model!r} ({model_dir}) fits poorly; its motifs are built, but read them with "
                      f"care: {listed}", DataWarning, stacklevel=2)
        return health
    if allow_unhealthy:
        warnings.warn(f"model {health.model!r} ({model_dir}) is unhealthy and used anyway (allow_unhealthy=True): "
                      f"{listed}", DataWarning, stacklevel=2)
        return health
    raise UnhealthyModelError(
        f"model {health.model!r} in {model_dir} failed its health check, so its motifs would not mean much: {listed} "
        f"Retrain it as suggested, or use it anyway with allow_unhealthy=True in the notebook (behavnb run ... "
        f"-p allow_unhealthy=true).")
