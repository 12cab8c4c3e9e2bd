"""Profile, device and seed resolved in one place, so every notebook agrees on them."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

import numpy as np

from behavnb.errors import ParameterError

PROFILES = ("fast", "demo", "full")


# Training budgets per model and profile: (fast, demo, full). ``windows_per_epoch`` None = every training window.
# VQ-MAP's fast budget is 4 epochs x 4,000 windows. At 2 x 1,000 (16 optimiser steps) the encoder had not learned
# yet: on the B-SOiD clips (2 x 2 min, 60 fps) every held-out step fell on one code (held-out R² -0.13), and on
# synthetic-tiny R² stayed below 0. At 4 x 4,000: B-SOiD held-out perplexity 4.0 / 5.0 of 8 types, R² +0.47 /
# +0.52 (seeds 0 / 1); synthetic-tiny R² +0.10 / +0.13, motif NMI 0.55 / 0.65 (was 0.39 / 0.56); ~30 s on a CPU.
BUDGETS = {
    "vame": {"epochs": (2, 10, 200), "windows_per_epoch": (2_000, 20_000, None)},
    "vqmap": {"epochs": (4, 6, 100), "windows_per_epoch": (4_000, 10_000, None)},
}


@dataclass(frozen=True)
class Runtime:
    profile: str
    device: str
    seed: int

    def pick(self, fast, demo, full=None):
        """The value for the current profile (``full`` defaults to ``demo``'s)."""
        return {"fast": fast, "demo": demo, "full": demo if full is None else full}[self.profile]

    def budget(self, model: str, *, epochs: int | None = None, windows_per_epoch: int | None = None) -> dict:
        """The training budget of ``model`` ("vame", "vqmap") for this profile; a value given here wins.

        Parameters
        ----------
        model
            A key of ``BUDGETS``.
        epochs, windows_per_epoch
            The notebook's parameters; None takes the profile's budget.

        Returns
        -------
        dict
            ``{"epochs": ..., "windows_per_epoch": ...}`` for ``train.TrainConfig``.

        Raises
        ------
        ParameterError
            An unknown model name.
        """
        if model not in BUDGETS:
            raise ParameterError(f"no training budget for model {model!r}; known: {sorted(BUDGETS)}.")
        i = PROFILES.index(self.profile)  # not pick(): a full budget of None means every window, not demo's
        b = BUDGETS[model]
        return {"epochs": epochs or b["epochs"][i], "windows_per_epoch": windows_per_epoch or b["windows_per_epoch"][i]}


def resolve_profile(profile: str | None = None) -> str:
    """``profile`` if given, else ``$BEHAVNB_PROFILE``, else ``"demo"``."""
    value = profile or os.environ.get("BEHAVNB_PROFILE") or "demo"
    if value not in PROFILES:
        raise ParameterError(f"profile={value!r}: choose one of {PROFILES} (fast = CI, demo = laptop, full = GPU).")
    return value


def resolve_device(device: str = "auto", fallback: bool = False) -> str:
    """``"auto"``: cuda > mps > cpu. An explicit device that is not available raises a ``ParameterError``,
    or (``fallback=True``) warns and returns ``"cpu"``. The one place behavnb decides on a device.
    """
    if device == "cpu":
        return device
    if device != "auto" and device not in ("mps",) and not device.startswith("cuda"):
        raise ParameterError(f"device={device!r}: use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'.")
    try:
        import torch
    except ImportError:
        if device == "auto":
            return "cpu"
        raise ParameterError(f"device={device!r} needs PyTorch; install it or use device='cpu'.") from None
    mps = getattr(torch.backends, "mps", None)
    has_mps = mps is not None and mps.is_available()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else ("mps" if has_mps else "cpu")
    if device == "mps":
        ok = has_mps
    else:
        ok = torch.cuda.is_available() and (":" not in device or int(device.split(":")[1]) < torch.cuda.device_count())
    if ok:
        return device
    msg = f"device={device!r} is not available here (PyTorch sees no such device)"
    if fallback:
        import warnings

        warnings.warn(f"{msg}; using the CPU instead.", RuntimeWarning, stacklevel=3)
        return "cpu"
    raise ParameterError(f"{msg}. Use device='auto' or 'cpu', or pass device_fallback=True to fall back to the CPU.")


def cpu_has_native_bf16() -> bool:
    """True when the CPU computes bfloat16 natively (AVX512-BF16 or AMX): there CPU autocast is ~2.5x faster.

    Elsewhere bfloat16 is emulated and slower than float32, so ``amp="auto"`` leaves it off.
    """
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def autocast_dtype(device: str, amp: bool | str = "auto", cuda_dtype: str = "float16"):
    """The torch dtype to autocast to on ``device``, or None for float32.

    ``amp="auto"``: ``cuda_dtype`` on CUDA, bfloat16 on a CPU that computes it natively, else None;
    ``True``: the same dtypes wherever; ``False``: None.
    """
    import torch

    kind = device.split(":")[0]
    use = amp is True or (amp == "auto" and (kind == "cuda" or (kind == "cpu" and cpu_has_native_bf16())))
    if not use:
        return None
    return torch.float16 if kind == "cuda" and cuda_dtype == "float16" else torch.bfloat16


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
