"""Models: plain ``nn.Module``s with a config dataclass: ``vame``, ``vqmap`` (with ``quantize``), ``gpt``.

The models room of the flow (... inputs -> windows -> **models** -> train -> embed ...): config dataclasses
and modules only; ``inputs`` makes what they read, ``windows`` cuts it, ``train`` fits them.

``REGISTRY`` maps a model name to ``(module, config class)`` so a saved model directory can be
rebuilt from its ``config.yaml``. Importing ``behavnb.models.vame`` imports torch; ``import behavnb``
does not.
"""

from __future__ import annotations

import contextlib
import importlib

from behavnb.errors import ParameterError

REGISTRY = {"vame": ("behavnb.models.vame", "VAMEConfig"), "vqmap": ("behavnb.models.vqmap", "VQMAPConfig"),
            "gpt": ("behavnb.models.gpt", "CodeGPTConfig")}


def config_class(name: str):
    """The config dataclass of model ``name`` (whose ``build(num_features)`` makes the module)."""
    if name not in REGISTRY:
        raise ParameterError(f"unknown model {name!r}; known: {sorted(REGISTRY)}.")
    module, cls = REGISTRY[name]
    return getattr(importlib.import_module(module), cls)


@contextlib.contextmanager
def eval_mode(model):
    """Put ``model`` in eval mode for the block (no dropout, z = mu), then back to the mode it was in."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def fingerprint(model) -> str:
    """A short hash of a model's weights: latents carry it (``attrs["model_id"]``) so that motif fitting can
    refuse latents of two different models mixed together."""
    import hashlib

    h = hashlib.sha1()
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:12]
