"""Regenerate the synthetic datasets and write their files' sha256 into their ``dataset.yaml``.

Run after changing ``behavnb.synth`` (the generator), from the repository root:

    python data_manifest/register_generated.py [synthetic-demo synthetic-tiny]

Each dataset is generated into a temporary folder with the parameters its ``dataset.yaml`` names; the
``files:`` list is rewritten (every generated file, sorted), nothing else in the file changes.
"""

from __future__ import annotations

import importlib
import re
import sys
import tempfile
from pathlib import Path

import yaml

from behavnb.manifest import sha256

HERE = Path(__file__).parent


def register(name: str) -> list[str]:
    path = HERE / name / "dataset.yaml"
    text = path.read_text()
    entry = yaml.safe_load(text)
    module, func = entry["generator"]["function"].rsplit(".", 1)
    with tempfile.TemporaryDirectory() as tmp:
        getattr(importlib.import_module(module), func)(Path(tmp), **entry["generator"].get("params", {}))
        files = sorted(p for p in Path(tmp).iterdir() if p.is_file())
        listing = "".join(f"- path: {p.name}\n  sha256: {sha256(p)}\n" for p in files)
    head, _, tail = text.partition("\nfiles:\n")
    rest = re.split(r"\n(?=[A-Za-z_]+:)", tail, maxsplit=1)
    path.write_text(f"{head}\nfiles:\n{listing}" + (rest[1] + ("\n" if not rest[1].endswith("\n") else "")
                                                    if len(rest) > 1 else ""))
    return [p.name for p in files]


if __name__ == "__main__":
    for name in sys.argv[1:] or ["synthetic-demo", "synthetic-tiny"]:
        print(name, len(register(name)), "files")
