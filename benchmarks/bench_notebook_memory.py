"""Where a notebook's memory goes: each code cell's time, resident memory after it, and peak during it.

    . /work/venv/bin/activate
    python benchmarks/bench_notebook_memory.py notebooks/05_train_vqmap.ipynb --project-dir /tmp/demo \
        -p profile=demo -p dataset=synthetic-demo

Runs the notebook's cells in this process through IPython (magics work; figures are drawn with the Agg backend
and not shown), after its parameters cell and the ``-p name=value`` overrides, as papermill would inject them. A
thread samples the resident set size (RSS, what a Binder pod's memory limit counts) every 10 ms. The project
directory must hold what the earlier notebooks wrote (a ``behavnb demo`` run directory does).
"""
from __future__ import annotations

import argparse
import ast
import os
import threading
import time

import nbformat


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebook")
    ap.add_argument("--project-dir", required=True)
    ap.add_argument("-p", action="append", default=[], metavar="NAME=VALUE",
                    help="a parameter (the value as a Python literal, else a string)")
    ap.add_argument("--trim", action="store_true",
                    help="after each cell, also report RSS after gc + malloc_trim (runtime.release_memory): what the "
                         "notebook's objects really hold, against what the allocator keeps")
    args = ap.parse_args()
    os.environ.setdefault("MPLBACKEND", "Agg")
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    import matplotlib

    matplotlib.use("Agg")
    params = {"project_dir": args.project_dir}
    for item in args.p:
        name, _, value = item.partition("=")
        try:
            params[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[name] = value
    peak = [rss_mb()]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.01):
            peak[0] = max(peak[0], rss_mb())

    threading.Thread(target=sample, daemon=True).start()
    nb = nbformat.read(args.notebook, as_version=4)
    print(f"start: {rss_mb():.0f} MB")
    print("| cell | first line | s | RSS after (MB) | peak during (MB) |\n|---|---|---|---|---|")
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        code = cell.source.replace("%matplotlib inline", "")
        peak[0] = rss_mb()
        t0 = time.perf_counter()
        result = shell.run_cell(code, silent=True)
        dt = time.perf_counter() - t0
        if "parameters" in cell.metadata.get("tags", []):
            shell.user_ns.update(params)
        after = rss_mb()
        if args.trim:
            import matplotlib.pyplot as plt

            from behavnb.runtime import release_memory

            plt.close("all")  # the inline backend closes a cell's figures once it has shown them
            release_memory()
        first = next((line for line in cell.source.splitlines() if line.strip() and not line.startswith("#")), "")
        print(f"| {i} | `{first[:60]}` | {dt:.1f} | {after:.0f}{f' ({rss_mb():.0f} trimmed)' if args.trim else ''} | "
              f"{max(peak[0], after):.0f} |", flush=True)
        if not result.success:
            raise SystemExit(f"cell {i} failed: {result.error_in_exec or result.error_before_exec}")
    stop.set()
    with open("/proc/self/status") as f:
        hwm = next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmHWM"))
    print(f"peak of the process (VmHWM): {hwm:.0f} MB")


if __name__ == "__main__":
    main()
