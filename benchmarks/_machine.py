"""What every benchmark prints: the machine line (CPU model, cores, memory, Python, OS) and the final report."""

from __future__ import annotations

import json
import os
import platform
import subprocess


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name"):
                cpu = line.split(":", 1)[1].strip()
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            mem = f", {int(fh.readline().split()[1]) / 2**20:.0f} GB RAM"
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} logical CPUs{mem}, Python {platform.python_version()}, {platform.system()}"


def report(columns: list[str], rows: list[str], results: dict) -> None:
    """Machine and versions, the markdown table (``rows`` are formatted lines), then the results as JSON (last line)."""
    print()
    print(f"machine: {machine()}")
    print(f"versions: {json.dumps(results.get('versions', {}))}")
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    print("\n".join(rows))
    print(json.dumps(results))

