"""The CPU thread policy: threads from the CPUs this process may really use (affinity, cgroup quota)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import behavnb as bn
from behavnb import runtime
from behavnb.errors import ParameterError


def _v2(tmp_path, quotas: dict[str, str]) -> str:
    """A cgroup v2 tree: {relative dir: cpu.max text}; returns the root."""
    for rel, text in quotas.items():
        d = tmp_path / rel
        d.mkdir(parents=True, exist_ok=True)
        (d / "cpu.max").write_text(text + "\n")
    return str(tmp_path)


def test_cgroup_v2_quota_is_the_smallest_on_the_way_up(tmp_path):
    root = _v2(tmp_path, {"": "max 100000", "kubepods": "400000 100000", "kubepods/pod1": "150000 100000"})
    assert runtime._cgroup_quota(root, "0::/kubepods/pod1\n") == pytest.approx(1.5)
    assert runtime._cgroup_quota(root, "0::/kubepods\n") == pytest.approx(4.0)
    assert runtime._cgroup_quota(root, "0::/\n") is None  # "max": no quota
    assert runtime._cgroup_quota(root, "") is None


def test_cgroup_v1_quota(tmp_path):
    d = tmp_path / "cpu,cpuacct" / "docker" / "abc"
    d.mkdir(parents=True)
    (d / "cpu.cfs_quota_us").write_text("200000\n")
    (d / "cpu.cfs_period_us").write_text("100000\n")
    membership = "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n"
    assert runtime._cgroup_quota(str(tmp_path), membership) == pytest.approx(2.0)
    (d / "cpu.cfs_quota_us").write_text("-1\n")
    assert runtime._cgroup_quota(str(tmp_path), membership) is None


def test_usable_cpus_is_capped_by_a_quota_and_never_zero(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
    root = _v2(tmp_path, {"": "max 100000", "pod": "100000 100000", "small": "50000 100000"})
    assert runtime.usable_cpus(root=root, membership="0::/\n") == 16  # a 16-core host, no quota
    assert runtime.usable_cpus(root=root, membership="0::/pod\n") == 1  # Binder-like: 16 visible, 1 allowed
    assert runtime.usable_cpus(root=root, membership="0::/small\n") == 1  # half a CPU: still one thread
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3}, raising=False)
    assert runtime.usable_cpus(root=root, membership="0::/\n") == 1  # taskset -c 3


def test_limit_threads_order_and_bad_values(monkeypatch):
    for var in ("BEHAVNB_THREADS", *runtime.THREAD_VARS):
        monkeypatch.setenv(var, "x")  # recorded, so what limit_threads sets is undone after the test
        monkeypatch.delenv(var)
    monkeypatch.setattr(runtime, "usable_cpus", lambda **kw: 3)
    assert runtime.limit_threads() == 3 and os.environ["OMP_NUM_THREADS"] == "3"
    monkeypatch.setenv("BEHAVNB_THREADS", "1")
    assert runtime.limit_threads() == 1
    monkeypatch.setenv("BEHAVNB_THREADS", "two")
    with pytest.raises(ParameterError, match=r"\$BEHAVNB_THREADS must be a whole number"):
        runtime.limit_threads()
    with pytest.raises(ParameterError, match="n must be"):
        runtime.limit_threads(0)


def test_setup_applies_the_policy_to_torch_in_a_fresh_process():
    """Under ``taskset`` to one CPU, a fresh process that calls setup() and then imports torch runs one thread."""
    if not hasattr(os, "sched_setaffinity"):
        pytest.skip("no CPU affinity API on this platform")
    code = ("import os; os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]}); "
            "from behavnb import runtime; rt = runtime.setup('fast'); import torch; "
            "print(rt.threads, torch.get_num_threads())")
    env = {k: v for k, v in os.environ.items() if k not in ("BEHAVNB_THREADS", *runtime.THREAD_VARS)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["1", "1"]


def test_release_memory_hands_freed_heap_back():
    """Freed small allocations stay in glibc's heap until malloc_trim; release_memory returns them (Linux)."""
    import sys

    from behavnb.runtime import release_memory

    held = [bytearray(4096) for _ in range(50_000)]  # ~200 MB of heap chunks below the mmap threshold
    del held[:-1]  # all but the topmost chunk: the heap cannot shrink from its top
    released = release_memory()
    assert released >= 0
    if sys.platform.startswith("linux"):
        assert released > 50 * 2**20


def test_map_batches_keeps_order_and_restores_threads():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        seen = runtime.map_batches(lambda s: (s.start, s.stop, torch.get_num_threads()), 10, 3)
        assert [(a, b) for a, b, _ in seen] == [(0, 3), (3, 6), (6, 9), (9, 10)]
        assert {n for *_, n in seen} == {1}  # one intra-op thread per batch while the pool runs
        assert torch.get_num_threads() == 2
        assert runtime.map_batches(lambda s: s.stop, 0, 4) == []
    finally:
        torch.set_num_threads(before)


def test_threaded_embedding_equals_the_serial_one():
    """Batches spread over threads give bit-for-bit the latents of one thread's loop (VAME and VQ-MAP)."""
    import numpy as np
    import torch

    from behavnb import embed
    from behavnb.models import vame, vqmap

    before = torch.get_num_threads()
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = vame.VAMEConfig(TEMPORAL_WINDOW=10, ZDIMS=4, hidden_size_layer_1=16, hidden_size_layer_2=16,
                            hidden_size_rec=16, hidden_size_pred=16, FUTURE_STEPS=2).build(6)
    x = rng.standard_normal((3_000, 6)).astype(np.float32)
    x[100:104] = np.nan
    sk = bn.inputs.Skeleton([f"k{i}" for i in range(4)])
    vq = vqmap.VQMAPConfig(skeletons=vqmap.skeleton_config({"main": sk}), window=16, downsample=4, hidden=16,
                           code_dim=4, n_types=4, n_subtypes=4).build()
    xv = rng.standard_normal((3_000, 16)).astype(np.float32)
    try:
        out = {}
        for n in (1, 2):
            torch.set_num_threads(n)
            out[n] = (embed.embed_array(model, x, 10, batch_size=128),
                      embed.embed_codes_array(vq, xv, batch_size=64))
        np.testing.assert_array_equal(out[1][0], out[2][0])
        assert np.isnan(out[2][0][100]).all()
        for key in ("latent", "type", "subtype", "motif"):
            np.testing.assert_array_equal(out[1][1][key], out[2][1][key])
    finally:
        torch.set_num_threads(before)


def _python(code: str, **env) -> str:
    import os
    import subprocess
    import sys

    env = {**{k: v for k, v in os.environ.items() if k != "MALLOC_MMAP_THRESHOLD_"}, **env}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_cap_heap_serves_large_blocks_from_their_own_pages():
    # glibc's mallinfo2().hblkhd: bytes in mmapped blocks. After freeing a 16 MB block glibc raises its dynamic
    # threshold, so the next 8 MB block may land on the heap; with cap_heap it is mmapped (and returned when freed).
    code = """
import ctypes
class M(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks "
                                               "keepcost").split()]
libc = ctypes.CDLL("libc.so.6"); libc.mallinfo2.restype = M
from behavnb import runtime
ok = runtime.cap_heap() if CAP else False
big = bytearray(16 * 2**20); del big
block = bytearray(8 * 2**20)
print(ok, libc.mallinfo2().hblkhd >= 8 * 2**20)
"""
    assert _python("CAP = True" + code) == "True True"
    # without it glibc's raised threshold usually puts the block on the heap (not asserted: it depends on the heap)
    assert _python("CAP = True" + code, MALLOC_MMAP_THRESHOLD_="65536") == "False True"  # the user's setting wins


def test_numbagg_is_hidden_from_dask_only():
    out = _python("""
import sys, behavnb
import dask.array.reductions as r
print(r.HAS_NUMBAGG, "numba" in sys.modules, end=" ")
import numbagg
print(numbagg.__name__)
""")
    assert out == "False False numbagg"  # dask without numbagg (no numba loaded); anyone else still imports it
