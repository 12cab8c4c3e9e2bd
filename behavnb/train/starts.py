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

import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from behavnb.manifest import sha256
from behavnb.resources import embedded_dir
from behavnb.runtime import autocast_dtype, resolve_device
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


REQUIRED = ("files", "epoch", "of_epochs", "dataset", "profile", "made_by", "device", "autocast")


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
        ``profile``, ``device``, ``autocast`` and how it was made. Empty when there is no ``starts.yaml``.

    Raises
    ------
    CheckpointError
        When ``starts.yaml`` cannot be read or an entry lacks a field.
    """
    index = Path(folder or starts_dir()) / "starts.yaml"
    if not index.exists():
        return {}
    fix = "reinstall behavnb, or pass use_bundled_start=False"
    try:
        starts = yaml.safe_load(index.read_text()) or {}
    except yaml.YAMLError as exc:
        raise CheckpointError(f"{index} is damaged ({exc}); {fix}.") from exc
    if not isinstance(starts, dict):
        raise CheckpointError(f"{index} is not a mapping of starts; {fix}.")
    for name, entry in starts.items():
        missing = [k for k in REQUIRED if not isinstance(entry, dict) or k not in entry]
        if missing or not isinstance(entry["files"], dict):
            raise CheckpointError(f"{index}: start {name!r} lacks {', '.join(missing) or 'a files mapping'}; {fix}.")
    return starts


def _run_files(out: Path) -> list[Path]:
    return [p for p in [out / "weights.pt", out / "history.csv", *(out / "checkpoints").glob("*.pt")] if p.exists()]


def _damaged(path: Path, why: str, name: str) -> BundledStart:
    """A damaged bundle must not stop anyone's training: say so loudly, and train every epoch."""
    msg = (f"bundled start {path} is {why}; training every epoch here. Reinstall behavnb to restore it "
           f"(or pass use_bundled_start=False to skip it).")
    warnings.warn(msg, RuntimeWarning, stacklevel=3)
    return BundledStart(name, False, f"{name}: {msg}")


def bundled_start(name: str, out_dir: str | Path, model, windows: WindowSet | MultiWindowSet, config: TrainConfig,
                  loss: Callable, *, use: bool = True, folder: Path | None = None) -> BundledStart:
    """Put the bundled checkpoint ``name`` into ``out_dir`` if it is a checkpoint of exactly this run.

    Call it just before :func:`~behavnb.train.fit` with the same arguments; ``fit`` (``resume="auto"``) then
    continues the checkpoint and trains only the remaining epochs. It is used only when the run is on the CPU
    with the bundle's number of epochs and every part of the training fingerprint matches (the data up to
    rounding). A CPU that trains in float32 where the bundle's trained in bfloat16 still uses it, and the line
    says that its last epochs then differ slightly from the full run's.

    Parameters
    ----------
    name : str
        The start in ``starts.yaml``: "vame" (notebook 04) or "vqmap" (notebook 05).
    out_dir : str or Path
        The model folder ``fit`` will write (``project.model_dir(...)``).
    model, windows, config, loss
        As about to be passed to ``fit`` (the model freshly built with the seed).
    use : bool, default True
        False: do not use it, and remove a run in ``out_dir`` that continued it, so every epoch is trained here.
    folder : Path, optional
        Where the starts are; default :func:`starts_dir` (tests pass their own).

    Returns
    -------
    BundledStart
        ``used`` and a line: continued from which epoch, or why every epoch is trained here. A bundled file that
        is missing or damaged (sha256) gives a ``RuntimeWarning`` naming it, and every epoch is trained.

    Raises
    ------
    CheckpointError
        When ``starts.yaml`` itself is damaged.
    """
    out = Path(out_dir)
    last = out / "checkpoints" / "last.pt"
    if not use:
        if last.exists() and _tag(last):
            for p in _run_files(out):
                p.unlink()
            return BundledStart(name, False, f"{name}: removed the run in {out} that continued the bundled start; "
                                             "training every epoch here (use_bundled_start=False).")
        return BundledStart(name, False, f"{name}: training every epoch here (use_bundled_start=False).")
    folder = Path(folder or starts_dir())
    entry = read_starts(folder).get(name)
    if entry is None:
        return BundledStart(name, False, f"{name}: no bundled start; training every epoch here.")
    if last.exists():
        return BundledStart(name, False, f"{name}: {out} already holds a run; fit continues it if it matches "
                                         "(not the bundled start).")
    every = f"{name}: training every epoch here; the bundled start is the {entry['dataset']} cohort's " \
            f"{entry['profile']}-profile run on the {entry['device'].upper()}, and here"
    device = resolve_device(config.device, fallback=config.device_fallback)
    if device.split(":")[0] != entry["device"]:
        return BundledStart(name, False, f"{every} the device is {device}.")
    if config.epochs != int(entry["of_epochs"]):
        return BundledStart(name, False, f"{every} the number of epochs differs ({entry['of_epochs']} -> {config.epochs}).")
    src = folder / name
    if not (src / "last.pt").exists():
        return _damaged(src / "last.pt", "missing", name)
    try:
        ckpt = load_torch(src / "last.pt", "bundled checkpoint")
    except CheckpointError as exc:
        return _damaged(src / "last.pt", f"unreadable ({str(exc)[:120]})", name)
    changed = _changes(ckpt, fingerprint(model, windows, config, loss), config, sample=data_sample(windows))
    if changed:
        return BundledStart(name, False, f"{every} {'; '.join(changed)} differ.")
    for file, digest in entry["files"].items():
        path = src / file
        if not path.exists() or sha256(path) != digest:
            return _damaged(path, "missing" if not path.exists() else "damaged (its sha256 differs from starts.yaml)", name)
    # last.pt last: a copy cut short leaves no checkpoint to continue, so the next run starts afresh
    for file, dest in (("weights.pt", out / "weights.pt"), ("history.csv", out / "history.csv"), ("last.pt", last)):
        dest.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(dest) as tmp:
            shutil.copyfile(src / file, tmp)
    left = config.epochs - int(entry["epoch"])
    here = autocast_dtype(device, config.amp, config.amp_dtype)
    here = str(here).replace("torch.", "") if here is not None else "float32"
    caveat = (f" This CPU trains in {here} where the bundle's epochs ran in {entry['autocast']}, so the last epochs "
              f"differ slightly from the full run's." if here != entry["autocast"] else "")
    return BundledStart(name, True, f"{name}: this is the {entry['dataset']} cohort's {entry['profile']}-profile run, so it "
                                    f"continues the bundled checkpoint of the same run after epoch {entry['epoch']} "
                                    f"of {entry['of_epochs']} ({src}, made by {entry['made_by']}) and trains the last "
                                    f"{'epoch' if left == 1 else f'{left} epochs'} here (use_bundled_start=False: all "
                                    f"of them).{caveat}")


def _tag(path: Path) -> str:
    """The bundled start a checkpoint continues ("" for a run trained here, or an unreadable file)."""
    try:
        return str(load_torch(path).get("bundled_start", ""))
    except CheckpointError:
        return ""


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
    save_torch({**ckpt, "bundled_start": name}, dest / "last.pt")  # runs continued from it carry the name
    meta = {k: v for k, v in final.items() if k not in ("model", "epoch", "metric")}
    save_torch({"model": best["model"], "epoch": ckpt["best_epoch"], "metric": ckpt["best"], **meta}, dest / "weights.pt")
    write_history(ckpt["history"], dest / "history.csv")
    cfg = ckpt["train_config"]
    device = resolve_device(cfg["device"])
    dtype = autocast_dtype(device, cfg["amp"], cfg.get("amp_dtype", "float16"))
    entry = {**about, "epoch": int(epoch), "of_epochs": int(cfg["epochs"]), "device": device.split(":")[0],
             "autocast": str(dtype).replace("torch.", "") if dtype is not None else "float32",
             "torch": str(torch.__version__), "files": {f: sha256(dest / f) for f in FILES}}
    index = folder / "starts.yaml"  # the other entries as they are (an older one may lack fields read_starts wants)
    starts = (yaml.safe_load(index.read_text()) or {}) if index.exists() else {}
    starts[name] = entry
    with atomic_path(folder / "starts.yaml") as tmp:
        tmp.write_text(yaml.safe_dump(starts, sort_keys=False))
    return entry
