"""The machine line every benchmark prints (CPU model, cores, memory, Python, OS)."""

from __future__ import annotations

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
