"""The CPU thread policy under a CPU quota: training speed with behavnb's threads against torch's default.

    sudo python benchmarks/bench_threads.py [--quota 1.0] [--steps 40] [--repeats 3] [--compete 2]

Binder and JupyterHub pods see every core of the host but may use only their CPU quota. This script makes
such a pod on this machine: a cgroup (v1 ``cpu`` controller, or v2) with a quota of ``--quota`` CPUs, then,
inside it, times ``--steps`` training steps of notebook 04's CPU model on synthetic-tiny windows twice per
repeat, interleaved: once with the thread count ``runtime.setup`` chooses (the policy) and once with torch's
own default (one thread per visible core: ``BEHAVNB_THREADS`` set to ``os.cpu_count()``). ``--compete N`` keeps
N busy processes running outside the cgroup meanwhile (a shared host). Needs root (to create the cgroup); prints
a markdown table with the median and range.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine  # noqa: E402

CHILD = r"""
import os, time, dataclasses, warnings
from behavnb import runtime
rt = runtime.setup("fast")
import torch
import behavnb as bn
from behavnb.models import vame
warnings.simplefilter("ignore")
table = bn.manifest.sessions("synthetic-tiny")
poses = bn.manifest.load_sessions(table, progress=False)
sk = bn.skeleton.infer_skeleton(poses, cutoff=0.6)
poses = {s: bn.skeleton.attach(ds, sk) for s, ds in poses.items()}
cleaned, _, _ = bn.preprocess.clean_sessions(poses, bn.preprocess.Pipeline(confidence=0.6), progress=False)
ws = bn.windows.build(bn.inputs.session_matrices(cleaned), 15, future=15, test_fraction=0.2, seed=0)
torch.manual_seed(0)
model = dataclasses.replace(vame.PRESETS["cpu_fast"], TEMPORAL_WINDOW=15, FUTURE_STEPS=15).build(len(ws.names))
cfg = bn.train.TrainConfig(epochs=1, windows_per_epoch=128 * STEPS, batch_size=128, device="cpu", seed=0, amp=False)
t = time.perf_counter()
bn.train.fit(model, ws, cfg, loss=vame.VAMELoss(beta=0.1, future_to_encoder=False), progress=False)
print(rt.threads, torch.get_num_threads(), time.perf_counter() - t)
"""


def make_cgroup(quota: float) -> tuple[Path, str]:
    """A cgroup with ``quota`` CPUs; returns its folder and the file a process id is written to."""
    v1 = Path("/sys/fs/cgroup/cpu")
    if (v1 / "cpu.cfs_quota_us").exists():
        d = v1 / "behavnb-bench"
        d.mkdir(exist_ok=True)
        (d / "cpu.cfs_period_us").write_text("100000")
        (d / "cpu.cfs_quota_us").write_text(str(int(quota * 100000)))
        return d, "cgroup.procs"
    v2 = Path("/sys/fs/cgroup")
    d = v2 / "behavnb-bench"
    d.mkdir(exist_ok=True)
    (d / "cpu.max").write_text(f"{int(quota * 100000)} 100000")
    return d, "cgroup.procs"


def run(group: Path, procs: str, steps: int, threads: int | None) -> tuple[int, int, float]:
    env = {k: v for k, v in os.environ.items() if k not in ("BEHAVNB_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                                            "OPENBLAS_NUM_THREADS")}
    if threads:
        env["BEHAVNB_THREADS"] = str(threads)
    code = f"STEPS = {steps}\n" + CHILD
    shell = f'echo $$ > {group / procs} && exec "{sys.executable}" -c "$0"'
    out = subprocess.run(["sh", "-c", shell, code], capture_output=True, text=True, env=env, timeout=1800)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    a, b, t = out.stdout.split()[-3:]
    return int(a), int(b), float(t)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quota", type=float, default=1.0, help="CPUs the cgroup may use")
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--compete", type=int, default=0, help="busy processes outside the cgroup (a shared host)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root to create a cgroup with a CPU quota; run it as root (or in a container as root).")
        return 1
    group, procs = make_cgroup(args.quota)
    print(f"machine: {machine()}; cgroup {group} with a quota of {args.quota:g} CPU(s); os.cpu_count() = {os.cpu_count()}")
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.compete)]
    times: dict[str, list[float]] = {"policy": [], "torch default": []}
    threads = {}
    try:
        for _ in range(args.repeats):  # interleaved: A, B, A, B, ...
            for name, forced in (("policy", None), ("torch default", os.cpu_count())):
                chosen, torch_threads, t = run(group, procs, args.steps, forced)
                times[name].append(t)
                threads[name] = torch_threads
                print(f"{name}: {torch_threads} thread(s), {t:.1f} s", flush=True)
    finally:
        for b in busy:
            b.kill()
    print(f"{args.compete} competing busy process(es) outside the cgroup")
    print()
    print(f"| threads | torch threads | {args.steps} training steps (s), median | range |")
    print("|---|---|---|---|")
    for name, ts in times.items():
        print(f"| {name} | {threads[name]} | {statistics.median(ts):.1f} | {min(ts):.1f}-{max(ts):.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
