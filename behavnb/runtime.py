"""Profile, device and seed resolved in one place, so every notebook agrees on them.

Part of the machine (``runtime``/``resources``/``parallel``/``lock``), just above utils/errors: every
notebook's first cell calls ``setup``, and train, embed and the rest ask it for devices, threads and budgets.
"""

from __future__ import annotations

import os
import random
import sys
from dataclasses import dataclass

import numpy as np

from behavnb.errors import ParameterError

PROFILES = ("fast", "demo", "full")


# Training budgets per model and profile: (fast, demo, full). ``windows_per_epoch`` None = every training window.
# VQ-MAP's fast budget is 4 epochs x 4,000 windows. At 2 x 1,000 (16 optimiser steps) the encoder had not learned
# yet: on the B-SOiD clips (2 x 2 min, 60 fps) every held-out step fell on one code (held-out R² -0.13), and on
# synthetic-tiny R² stayed below 0. At 4 x 4,000: B-SOiD held-out perplexity 4.0 / 5.0 of 8 types, R² +0.47 /
# +0.52 (seeds 0 / 1); synthetic-tiny R² +0.10 / +0.13, motif NMI 0.55 / 0.65 (was 0.39 / 0.56); ~30 s on a CPU.
# VAME's demo budget is 10 epochs x 8,000 windows: the same 10 epochs (so the KL ramp of epochs 3-6 completes, as in
# a full run) with 2.5x fewer windows. On synthetic-demo (seeds 0-2) the latents' ARI with the truth is 0.40 (0.36-
# 0.46) against 0.30 (0.24-0.37) at 10 x 20,000: agreement falls with longer training (benchmarks/RESULTS.md "Models
# against the truth (v2 cohort, scalar baseline beside)"; benchmarks/notes/demo.md "The demo budgets").
# VQ-MAP's demo budget is 6 epochs x 6,000 windows at twice the peak learning rate (05: lr 2e-3) instead of 6 x 10,000
# at 1e-3; its codes agree with the truth as well (seeds 0-2: benchmarks/notes/demo.md "The demo budgets"). 4 x 6,000
# was not enough: on 2 threads seed 0 used 50 of the 128 motif codes and lost 0.045 of motif NMI
# (benchmarks/notes/vqmap.md "Demo budgets tried and rejected").
BUDGETS = {
    "vame": {"epochs": (2, 10, 200), "windows_per_epoch": (2_000, 8_000, None)},
    "vqmap": {"epochs": (4, 6, 100), "windows_per_epoch": (4_000, 6_000, None)},
}


THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@dataclass(frozen=True)
class Runtime:
    """A notebook's resolved profile, device and seed (what ``setup`` returns).

    Parameters
    ----------
    profile : {"fast", "demo", "full"}
        How much to compute: fast = CI, demo = a laptop, full = a GPU.
    device : str
        "cpu", "cuda", "cuda:N", "mps", or "auto" when the notebook did not ask for a device.
    seed : int
        The seed of every random step.
    threads : int, default 0
        CPU threads for torch and BLAS (``limit_threads``); 0: not set.
    """
    profile: str
    device: str
    seed: int
    threads: int = 0  # CPU threads for torch and BLAS (``limit_threads``); 0: not set

    def pick(self, fast, demo, full=None):
        """The value for the current profile (``full`` defaults to ``demo``'s).

        Parameters
        ----------
        fast, demo : object
            The values for the fast and demo profiles.
        full : object, optional
            The value for the full profile; None takes ``demo``.

        Returns
        -------
        object
            One of the three.
        """
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
    """The profile to use: ``profile`` if given, else ``$BEHAVNB_PROFILE``, else ``"demo"``.

    Parameters
    ----------
    profile : str, optional
        "fast", "demo" or "full".

    Returns
    -------
    str

    Raises
    ------
    ParameterError
        On any other name.
    """
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


def _cgroup_quota(root: str = "/sys/fs/cgroup", membership: str | None = None) -> float | None:
    """The CPU quota (in CPUs) of this process's cgroup and its ancestors, or None if there is none.

    cgroup v2: ``cpu.max`` ("150000 100000" = 1.5 CPUs, "max 100000" = none) along the path in
    ``/proc/self/cgroup`` ("0::/path"), the smallest on the way up; cgroup v1: ``cpu.cfs_quota_us`` /
    ``cpu.cfs_period_us`` of the ``cpu`` controller (-1 = none). ``membership``: that file's text (tests).
    """
    from pathlib import Path

    if membership is None:
        try:
            membership = Path("/proc/self/cgroup").read_text()
        except OSError:
            membership = ""
    quotas = []

    def ratio(q: str, period: str) -> None:
        try:
            q_, p_ = float(q), float(period)
        except ValueError:  # "max": no quota
            return
        if q_ > 0 and p_ > 0:
            quotas.append(q_ / p_)

    for line in membership.splitlines():
        parts = line.strip().split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":  # v2
            here = Path(root) / path.lstrip("/")
            for d in [here, *here.parents]:
                f = d / "cpu.max"
                if f.is_file():
                    ratio(*f.read_text().split()[:2])
                if d == Path(root):
                    break
        elif "cpu" in controllers.split(","):  # v1: mounted as cpu, cpu,cpuacct or cpuacct,cpu
            for mount in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
                base = Path(root) / mount
                for d in (base / path.lstrip("/"), base):
                    q, per = d / "cpu.cfs_quota_us", d / "cpu.cfs_period_us"
                    if q.is_file() and per.is_file():
                        ratio(q.read_text().strip(), per.read_text().strip())
                        break
    return min(quotas) if quotas else None


def usable_cpus(*, root: str = "/sys/fs/cgroup", membership: str | None = None) -> int:
    """How many CPUs this process may really use: its CPU affinity, capped by a cgroup CPU quota.

    ``os.cpu_count()`` counts the host's cores; Binder, JupyterHub and ``docker --cpus`` pods see all of them
    but may only use their quota, and a torch that starts one thread per visible core then fights itself
    (benchmarks/RESULTS.md "CPU threads under a CPU quota"). A fractional quota rounds down (1.5 CPUs -> 1), never
    below 1.

    Parameters
    ----------
    root, membership
        The cgroup mount and the text of ``/proc/self/cgroup`` (defaults: this machine's; tests pass their own).

    Returns
    -------
    int
        The number of CPUs, at least 1.
    """
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # macOS, Windows: no affinity API
        n = os.cpu_count() or 1
    quota = _cgroup_quota(root, membership)
    if quota is not None:
        n = min(n, int(quota))
    return max(1, n)


def limit_threads(n: int | None = None) -> int:
    """Use ``n`` CPU threads for torch and the BLAS libraries (default: ``$BEHAVNB_THREADS``, else the thread
    count the user set in ``OMP_NUM_THREADS``, else ``usable_cpus()``), never more than the CPUs at hand.

    Sets ``OMP_NUM_THREADS``/``MKL_NUM_THREADS``/``OPENBLAS_NUM_THREADS`` where unset (for torch imported later
    and for child processes), torch's intra-op threads if torch is loaded, and the BLAS pools already loaded
    (threadpoolctl).

    Parameters
    ----------
    n
        Threads; None chooses as above.

    Returns
    -------
    int
        The thread count applied.

    Raises
    ------
    ParameterError
        ``n`` or ``$BEHAVNB_THREADS`` is not a whole number >= 1.
    """
    import sys

    source = "n"
    if n is None:
        for var in ("BEHAVNB_THREADS", "OMP_NUM_THREADS"):
            if os.environ.get(var, "").strip():
                n, source = os.environ[var].strip(), f"${var}"
                break
    if n is None:
        n = usable_cpus()
    try:
        value = int(n)
    except (ValueError, TypeError):
        value = 0
    if value < 1:
        raise ParameterError(f"{source} must be a whole number of threads >= 1, not {n!r}.")
    n = value
    for var in THREAD_VARS:
        os.environ.setdefault(var, str(n))
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)
    except ImportError:  # scikit-learn brings threadpoolctl; without it the env variables still act on new pools
        pass
    return n


def map_batches(fn, n_items: int, batch_size: int, device: str = "cpu", *, progress: bool = False,
                desc: str = "batches") -> list:
    """``fn(slice)`` over ``range(n_items)`` in batches of ``batch_size``, results in order.

    On a CPU with ``n = torch.get_num_threads() > 1`` the batches run in ``n`` Python threads with torch's intra-op
    threads set to 1 meanwhile (restored after): for inference on small models (GRUs of 64 units, batches of a few
    hundred windows) one thread per batch keeps both cores busy where intra-op threading splits each small matrix
    product and waits. On 2 cores VAME's embedding became 1.52x and 1.63x faster like for like (benchmarks/RESULTS.md
    "Lab scale"); batches of 256 windows ran at 27,000-28,700 frames/s against 13,200 with 2 intra-op threads
    (benchmarks/notes/scale.md "Embedding"). torch releases the GIL inside its operators.
    The batches are the same as in a serial loop, so results are too. Autocast and inference mode are
    thread-local: ``fn`` must enter them itself.

    Parameters
    ----------
    fn
        Called with a ``slice`` of items; returns anything.
    n_items, batch_size
        Items in all and per call.
    device
        Where ``fn`` computes; anything but ``"cpu"`` runs serially (a GPU batches already).
    progress, desc
        A tqdm bar over batches.

    Returns
    -------
    list
        ``fn``'s results, one per batch, in batch order.
    """
    import torch
    from tqdm.auto import tqdm

    slices = [slice(a, min(a + batch_size, n_items)) for a in range(0, n_items, batch_size)]
    n = torch.get_num_threads()
    if str(device).split(":")[0] != "cpu" or n < 2 or len(slices) < 2:
        return [fn(s) for s in tqdm(slices, desc=desc, leave=False, disable=not progress)]
    from concurrent.futures import ThreadPoolExecutor

    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(max_workers=n, thread_name_prefix="behavnb-batch") as pool:
            return list(tqdm(pool.map(fn, slices), total=len(slices), desc=desc, leave=False, disable=not progress))
    finally:
        torch.set_num_threads(n)


MMAP_THRESHOLD = 4 * 2**20  # bytes; see cap_heap


def cap_heap(threshold: int = MMAP_THRESHOLD) -> bool:
    """Serve memory blocks of ``threshold`` bytes or more from their own pages, so freeing them returns the memory.

    glibc raises its mmap threshold (up to 32 MB) each time a large block is freed, so after the first batches
    every activation and decoded array lands on the heap, which fragments and is never handed back: a kernel's
    resident memory, what Binder's limit counts, only grows. Fixing the threshold at 4 MB keeps the large blocks
    out of the heap. In notebook 05 of the demo (Intel Xeon) the kernel peaks at 1.41 GB instead of 1.89 GB, for
    about 5 s more (RESULTS.md). A no-op off glibc, and when ``$MALLOC_MMAP_THRESHOLD_`` is set (yours wins).

    Parameters
    ----------
    threshold : int, default 4 MiB
        Blocks of at least this many bytes are mmapped.

    Returns
    -------
    bool
        True if the threshold was set.
    """
    import ctypes

    if not sys.platform.startswith("linux") or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(-3, int(threshold)))  # -3: M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        return False


def release_memory() -> int:
    """Collect garbage and give freed heap pages back to the operating system; returns the bytes of RSS released.

    After training, glibc keeps the freed activations of the last batches in its heap (about 0.4 GB after a VQ-MAP
    fit on a CPU), so the kernel's resident memory, which is what Binder's 2 GB limit counts, only ever grows from one
    notebook section to the next. ``malloc_trim`` hands those pages back. A no-op (returning 0) off glibc.

    Returns
    -------
    int
        Resident bytes released (0 where it cannot be measured or done).
    """
    import ctypes
    import gc
    import sys

    gc.collect()
    if not sys.platform.startswith("linux"):
        return 0
    try:
        libc = ctypes.CDLL("libc.so.6")
        page = os.sysconf("SC_PAGE_SIZE")
        with open("/proc/self/statm") as f:
            before = int(f.read().split()[1])
        libc.malloc_trim(0)
        with open("/proc/self/statm") as f:
            after = int(f.read().split()[1])
    except (OSError, AttributeError, ValueError):  # musl, no /proc: nothing to trim or to count
        return 0
    return max(0, before - after) * page


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and (if already imported) torch, so runs reproduce.

    Parameters
    ----------
    seed : int
        The seed (numpy takes it modulo 2**32).
    """
    import sys

    random.seed(seed)
    np.random.seed(seed % 2**32)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


def setup(profile: str | None = None, device: str = "auto", seed: int = 0, *, need_device: bool = False) -> Runtime:
    """Resolve the notebook parameters, limit CPU threads to the CPUs at hand, cap heap growth, seed everything.

    The device is only probed (importing torch) if ``need_device``. See :func:`limit_threads` and
    :func:`cap_heap`.

    Parameters
    ----------
    profile : {"fast", "demo", "full"}, optional
        None takes ``$BEHAVNB_PROFILE``, else "demo".
    device : str, default "auto"
        "auto" (cuda > mps > cpu), "cpu", "cuda", "cuda:N" or "mps".
    seed : int, default 0
        Seeds Python, numpy and (if imported) torch.
    need_device : bool, default False
        Resolve ``device`` now (training notebooks); otherwise it is kept as given.

    Returns
    -------
    Runtime

    Raises
    ------
    ParameterError
        On an unknown profile, an unknown or unavailable device, or a bad ``$BEHAVNB_THREADS``.

    Examples
    --------
    >>> import behavnb as bn
    >>> rt = bn.runtime.setup("fast", "cpu", seed=0)
    >>> rt.pick(fast=2_000, demo=20_000)
    2000
    """
    threads = limit_threads()
    cap_heap()
    rt = Runtime(resolve_profile(profile), resolve_device(device) if need_device else device, int(seed), threads)
    seed_everything(rt.seed)
    return rt


def project_dir(value: str | None = None) -> str:
    """The run directory to use: ``value`` if given, else ``$BEHAVNB_PROJECT_DIR``, else ``./behavnb-run``.

    Parameters
    ----------
    value : str, optional
        The notebook's ``project_dir`` parameter.

    Returns
    -------
    str
    """
    return value or os.environ.get("BEHAVNB_PROJECT_DIR") or "behavnb-run"
