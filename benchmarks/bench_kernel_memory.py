"""A notebook's memory in a real Jupyter kernel, cell by cell: papermill runs it while psutil samples the kernel.

    . /work/venv/bin/activate
    python benchmarks/bench_kernel_memory.py notebooks/05_train_vqmap.ipynb --project-dir /tmp/demo-copy \
        -p profile=demo [--fresh-model vqmap vqmap-coembed vqmap-gpt]

Unlike ``bench_notebook_memory.py`` (cells run in this process) this measures the kernel the series really uses,
with inline figures, ``Out[]`` and the kernel's own threads. Every 0.1 s it samples the resident memory of the
kernel process; papermill's cell start and end times then give each code cell's peak and the RSS after it.
``--fresh-model`` deletes those ``models/<name>`` folders first, so the notebook trains as in a fresh demo.
"""
from __future__ import annotations

import argparse
import datetime as dt
import shutil
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import papermill as pm
import psutil


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebook", type=Path)
    ap.add_argument("--project-dir", type=Path, required=True)
    ap.add_argument("-p", action="append", default=[], help="name=value (a Python literal or a string)")
    ap.add_argument("--fresh-model", nargs="*", default=[])
    args = ap.parse_args()
    for name in args.fresh_model:
        shutil.rmtree(args.project_dir / "models" / name, ignore_errors=True)
    params = {"project_dir": str(args.project_dir)}
    for kv in args.p:
        k, v = kv.split("=", 1)
        try:
            params[k] = eval(v, {})  # a literal: 100, False, None, [4, 8]
        except Exception:
            params[k] = v
    samples: list[tuple[float, float]] = []
    stop = threading.Event()
    me = psutil.Process()

    def sample() -> None:
        while not stop.is_set():
            rss = 0.0
            for p in me.children(recursive=True):
                try:
                    if "ipykernel" in " ".join(p.cmdline()):
                        rss = max(rss, p.memory_info().rss / 2**20)
                except psutil.Error:
                    pass
            samples.append((time.time(), rss))
            stop.wait(0.1)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    out = Path(tempfile.mkdtemp()) / args.notebook.name
    pm.execute_notebook(args.notebook, out, parameters=params, progress_bar=False, cwd=str(args.project_dir))
    stop.set()
    th.join()
    nb = nbformat.read(out, as_version=4)
    print(f"kernel peak {max(r for _, r in samples):.0f} MB")
    print("| cell | first line | s | peak during (MB) | RSS at end (MB) |\n|---|---|---|---|---|")
    for i, c in enumerate(nb.cells):
        meta = c.get("metadata", {}).get("papermill", {})
        if c.cell_type != "code" or not meta.get("start_time") or not meta.get("end_time"):
            continue
        t0, t1 = (dt.datetime.fromisoformat(meta[k].replace("Z", "+00:00")).timestamp() for k in ("start_time", "end_time"))
        during = [r for t, r in samples if t0 <= t <= t1 + 0.05]
        after = [r for t, r in samples if t >= t1]
        first = c.source.strip().splitlines()[0][:60] if c.source.strip() else ""
        print(f"| {i} | `{first}` | {t1 - t0:.1f} | {max(during, default=0):.0f} | {after[0] if after else 0:.0f} |")


if __name__ == "__main__":
    main()
