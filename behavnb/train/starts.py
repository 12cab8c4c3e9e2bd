"""Bundled starts: the bundled cohort's demo training, checkpointed a few epochs before its end.

On a shared CPU most of the demo's time would go to training 04's and 05's models on the bundled cohort
(synthetic-demo), a run that is the same for every user. ``behavnb/data/starts/`` holds, for each, the checkpoint
of that very run some epochs before its end (``checkpoints/last.pt``, ``weights.pt`` and ``history.csv``, with their
sha256 and how they were made in ``starts.yaml``; ``benchmarks/make_starts.py`` made them). :func:`bundled_start`
puts one into a model folder only when it is a checkpoint of exactly the run about to start (every part of
:func:`~behavnb.train.checkpoints.fingerprint` matches; the data up to rounding), so ``fit`` continues it and trains
the last epochs in front of the user: the weights, losses and codes of the full run, in a fraction of the time.
Anything else (your own data, other settings, another profile) trains every epoch, and one line says why.

Part of ``behavnb.train`` (see its docstring for the whole loop).
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from behavnb.resources import embedded_dir
from behavnb.train.checkpoints import _changes, data_sample, fingerprint, load_torch, save_torch, write_history
from behavnb.train.config import CheckpointError, TrainConfig
from behavnb.utils import atomic_path
from behavnb.windows import MultiWindowSet, WindowSet

FILES = ("last.pt", "weights.pt", "history.csv")  # where each goes: checkpoints/last.pt, weights.pt, history.csv


def starts_dir() -> Path:
    """The folder of bundled starts: ``starts.yaml`` and one subfolder per start."""
    return embedded_dir() / "starts"


@dataclass(frozen=True)
class BundledStart:
    """What :func:`bundled_start` did: ``used`` (the checkpoint was put in place) and a line saying why.

    Parameters
    ----------
    name : str
        The start's name in ``starts.yaml`` ("vame", "vqmap").
    used : bool
        True: the model folder now holds the bundled checkpoint and ``fit`` continues it.
    message : str
        One line for the notebook.
    """

    name: str
    used: bool
    message: str

    def __repr__(self) -> str:
        return self.message


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_starts(folder: Path | None = None) -> dict[str, dict]:
    """The bundled starts listed in ``starts.yaml``.

    Parameters
    ----------
    folder : Path, optional
        The starts folder; default :func:`starts_dir`.

    Returns
    -------
    dict
        ``{name: entry}``; each entry has ``files`` (``{file: sha256}``), ``epoch``, ``of_epochs``, ``dataset``,
        ``profile`` and how it was made. Empty when there is no ``starts.yaml``.

    Raises
    ------
    CheckpointError
        When ``starts.yaml`` cannot be read.
    """
    index = Path(folder or starts_dir()) / "starts.yaml"
    if not index.exists():
        return {}
    try:
        starts = yaml.safe_load(index.read_text()) or {}
    except yaml.YAMLError as exc:
        raise CheckpointError(f"{index} is damaged ({exc}); reinstall behavnb, or pass use_bundled_start=False.") from exc
    if not isinstance(starts, dict):
        raise CheckpointError(f"{index} is not a mapping of starts; reinstall behavnb, or pass use_bundled_start=False.")
    return starts


def bundled_start(name: str, out_dir: str | Path, model, windows: WindowSet | MultiWindowSet, config: TrainConfig,
                  loss: Callable, folder: Path | None = None) -> BundledStart:
    """Put the bundled checkpoint ``name`` into ``out_dir`` if it is a checkpoint of exactly this run.

    Call it just before :func:`~behavnb.train.fit` with the same arguments; ``fit`` (``resume="auto"``) then
    continues the checkpoint and trains only the remaining epochs.

    Parameters
    ----------
    name : str
        The start in ``starts.yaml``: "vame" (notebook 04) or "vqmap" (notebook 05).
    out_dir : str or Path
        The model folder ``fit`` will write (``project.model_dir(...)``).
    model, windows, config, loss
        As about to be passed to ``fit`` (the model freshly built with the seed).
    folder : Path, optional
        Where the starts are; default :func:`starts_dir` (tests pass their own).

    Returns
    -------
    BundledStart
        ``used`` and a line: continued from which epoch, or why every epoch is trained here.

    Raises
    ------
    CheckpointError
        A bundled file is missing or its sha256 differs from ``starts.yaml`` (a damaged install): reinstall
        behavnb, or train every epoch with ``use_bundled_start=False``.
    """
    out = Path(out_dir)
    folder = Path(folder or starts_dir())
    entry = read_starts(folder).get(name)
    if entry is None:
        return BundledStart(name, False, f"{name}: no bundled start; training every epoch here.")
    if (out / "checkpoints" / "last.pt").exists():
        return BundledStart(name, False, f"{name}: {out} already holds a run; fit continues it if it matches "
                                         "(not the bundled start).")
    src = folder / name
    for file, digest in entry["files"].items():
        path = src / file
        if not path.exists() or _sha256(path) != digest:
            raise CheckpointError(f"bundled start {path} is {'missing' if not path.exists() else 'damaged (sha256 differs)'}"
                                  f"; reinstall behavnb, or pass use_bundled_start=False to train every epoch here.")
    ckpt = load_torch(src / "last.pt", "bundled checkpoint")
    changed = _changes(ckpt, fingerprint(model, windows, config, loss), config, sample=data_sample(windows))
    if changed:
        return BundledStart(name, False, f"{name}: training every epoch here; the bundled start is the "
                                         f"{entry['dataset']} cohort's {entry['profile']}-profile run, and here "
                                         f"{'; '.join(changed)} differ.")
    for file, dest in zip(FILES, (out / "checkpoints" / "last.pt", out / "weights.pt", out / "history.csv"), strict=True):
        dest.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(dest) as tmp:
            shutil.copyfile(src / file, tmp)
    left = config.epochs - int(entry["epoch"])
    return BundledStart(name, True, f"{name}: this is the {entry['dataset']} cohort's {entry['profile']}-profile run, so it "
                                    f"continues the bundled checkpoint of the same run after epoch {entry['epoch']} "
                                    f"of {entry['of_epochs']} ({src}, made by {entry['made_by']}) and trains the last "
                                    f"{'epoch' if left == 1 else f'{left} epochs'} here (use_bundled_start=False: all of them).")


def write_start(model_dir: str | Path, name: str, epoch: int, folder: str | Path, about: dict) -> dict:
    """Make a bundled start from a finished run that kept a checkpoint every epoch (``checkpoint_every=1``).

    Writes ``folder/name/{last.pt, weights.pt, history.csv}`` as the run's folder was right after ``epoch``
    (``weights.pt``: the best epoch up to then) and adds the entry to ``folder/starts.yaml``.

    Parameters
    ----------
    model_dir : str or Path
        The finished run's model folder (``checkpoints/epoch_NNNN.pt`` for every epoch, ``weights.pt``).
    name : str
        The start's name ("vame", "vqmap").
    epoch : int
        The epoch to stop after (fewer than the run's epochs).
    folder : str or Path
        The starts folder (``behavnb/data/starts``).
    about : dict
        Added to the entry: ``dataset``, ``profile``, ``made_by`` and anything else worth recording.

    Returns
    -------
    dict
        The entry written to ``starts.yaml``.

    Raises
    ------
    CheckpointError
        When the run lacks the checkpoints of ``epoch`` or of its best epoch up to then.
    """
    import torch

    model_dir, folder = Path(model_dir), Path(folder)
    ckpt = load_torch(model_dir / "checkpoints" / f"epoch_{epoch:04d}.pt")
    final = load_torch(model_dir / "weights.pt", "model file")
    best = load_torch(model_dir / "checkpoints" / f"epoch_{ckpt['best_epoch']:04d}.pt")
    dest = folder / name
    dest.mkdir(parents=True, exist_ok=True)
    save_torch(ckpt, dest / "last.pt")
    meta = {k: v for k, v in final.items() if k not in ("model", "epoch", "metric")}
    save_torch({"model": best["model"], "epoch": ckpt["best_epoch"], "metric": ckpt["best"], **meta}, dest / "weights.pt")
    write_history(ckpt["history"], dest / "history.csv")
    entry = {**about, "epoch": int(epoch), "of_epochs": int(ckpt["train_config"]["epochs"]), "torch": str(torch.__version__),
             "files": {f: _sha256(dest / f) for f in FILES}}
    starts = read_starts(folder)
    starts[name] = entry
    with atomic_path(folder / "starts.yaml") as tmp:
        tmp.write_text(yaml.safe_dump(starts, sort_keys=False))
    return entry
