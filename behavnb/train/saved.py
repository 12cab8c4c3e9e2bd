"""A trained model on disk: ``save_model_files`` writes weights, normalizer and config; ``load_model`` rebuilds it.

Part of ``behavnb.train`` (see its docstring for the whole loop).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from behavnb import __version__
from behavnb.models import config_class
from behavnb.runtime import resolve_device
from behavnb.train.checkpoints import load_state, load_torch
from behavnb.train.config import CheckpointError
from behavnb.utils import atomic_write_text
from behavnb.windows import Normalizer, WindowSet

if TYPE_CHECKING:
    from behavnb.train.config import TrainConfig



@dataclass
class LoadedModel:
    """A trained model read back from its directory by :func:`load_model`, ready to embed.

    Parameters
    ----------
    model : torch.nn.Module
        In eval mode, on the requested device.
    normalizer : Normalizer
        The normalisation it was trained with.
    config : dict
        ``config.yaml``.
    path : Path
        The model directory.
    """

    model: Any
    normalizer: Any
    config: dict
    path: Path

    @property
    def window(self) -> int:
        """The model's window, in frames."""
        return int(self.config["window"])


def save_model_files(out_dir: str | Path, name: str, architecture, windows: WindowSet, *, loss=None,
                     train_config: TrainConfig | None = None, extra: dict | None = None) -> Path:
    """Write ``normalizer.json`` and ``config.yaml`` into ``out_dir`` (:func:`fit` writes the weights and history).

    Parameters
    ----------
    out_dir : str or Path
        The model directory (created if needed).
    name : str
        The model's registered name (``behavnb.models.config_class``), e.g. "vame".
    architecture : dataclass
        The model's architecture config.
    windows : WindowSet
        Its features, window, future frames and normalizer are saved.
    loss, train_config : dataclass, TrainConfig, optional
        Saved for the record.
    extra : dict, optional
        More top-level entries of ``config.yaml``.

    Returns
    -------
    Path
        ``out_dir``.
    """
    import yaml

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
    """Rebuild a model from ``model_dir`` (config.yaml + weights.pt + normalizer.json) and check they agree.

    Parameters
    ----------
    model_dir : str or Path
        A directory written by :func:`save_model_files` and :func:`fit`.
    device : str
        Where to put the model.

    Returns
    -------
    LoadedModel

    Raises
    ------
    CheckpointError
        A file is missing, damaged, or from another run than the others.

    Examples
    --------
    >>> loaded = load_model("models/vame")  # doctest: +SKIP
    >>> loaded.window, loaded.normalizer.names  # doctest: +SKIP
    (30, ['nose_x', 'nose_y', ...])
    """
    import yaml

    d = Path(model_dir)
    cfg_path = d / "config.yaml"
    if not cfg_path.exists():
        raise CheckpointError(f"no trained model in {d} (config.yaml missing): run the training notebook "
                              f"(04_train_vame) or fit() with out_dir={str(d)!r} first.")
    try:
        doc = yaml.safe_load(cfg_path.read_text())
        cls = config_class(doc["model"])
        arch = cls(**doc["architecture"])
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
