"""Profile, device and seed resolved in one place, so every notebook agrees on them."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

import numpy as np

from behavnb.errors import ParameterError

PROFILES = ("fast", "demo", "full")


@dataclass(frozen=True)
class Runtime:
    profile: str
    device: str
    seed: int

    def pick(self, fast, demo, full=None):
        """The value for the current profile (``full`` defaults to ``demo``'s)."""
        return {"fast": fast, "demo": demo, "full": demo if full is None else full}[self.profile]


def resolve_profile(profile: str | None = None) -> str:
    """``profile`` if given, else ``$BEHAVNB_PROFILE``, else ``"demo"``."""
    value = profile or os.environ.get("BEHAVNB_PROFILE") or "demo"
    if value not in PROFILES:
        raise ParameterError(f"profile={value!r}: choose one of {PROFILES} (fast = CI, demo = laptop, full = GPU).")
    return value


def resolve_device(device: str = "auto") -> str:
    """``"auto"`` -> ``"cuda"`` when torch sees a GPU, else ``"cpu"``; other values are checked."""
    if device in ("cpu",):
        return device
    try:
        import torch
    except ImportError:
        if device == "auto":
            return "cpu"
        raise ParameterError(f"device={device!r} needs PyTorch; install it or use device='cpu'.") from None
    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        return "mps" if mps is not None and mps.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ParameterError(f"device={device!r} but PyTorch sees no CUDA GPU here; use device='auto' or 'cpu'.")
    return device


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and (if already imported) torch, so runs reproduce."""
    import sys

    random.seed(seed)
    np.random.seed(seed % 2**32)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


def setup(profile: str | None = None, device: str = "auto", seed: int = 0, *, need_device: bool = False) -> Runtime:
    """Resolve the notebook parameters. The device is only probed (importing torch) if ``need_device``."""
    rt = Runtime(resolve_profile(profile), resolve_device(device) if need_device else device, int(seed))
    seed_everything(rt.seed)
    return rt


def project_dir(value: str | None = None) -> str:
    """``value`` if given, else ``$BEHAVNB_PROJECT_DIR``, else ``./behavnb-run``."""
    return value or os.environ.get("BEHAVNB_PROJECT_DIR") or "behavnb-run"
