"""Make the bundled starts of notebooks 04 and 05 (``behavnb/data/starts/``, see ``behavnb.train.starts``).

    . /work/venv/bin/activate
    BEHAVNB_DATA_DIR=/work/shared/data python benchmarks/make_starts.py --project-dir /tmp/starts-run

Runs notebooks 01-05 through papermill on the bundled cohort (synthetic-demo) in the demo profile, on the CPU with
seed 0 and every other parameter at its default, except ``use_bundled_start=False`` and ``checkpoint_every=1`` in
04 and 05 (neither is part of the training fingerprint) and no co-embedding or code GPT in 05 (they come after the
main model). Then it keeps each run as it was ``--before-end`` epochs before its end (VAME 2, VQ-MAP 1) with
``starts.write_start`` and records the sha256 of every file, the command, machine, date and commit in
``starts.yaml``. Rerun it whenever a change alters the demo's training (the notebooks then print that the bundled
start does not match, and train every epoch).
"""
from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
from pathlib import Path

import papermill as pm
from _machine import machine

from behavnb.resources import notebooks_dir
from behavnb.train.starts import starts_dir, write_start

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--project-dir", type=Path, required=True, help="a new run directory (kept, with the notebooks)")
    ap.add_argument("--vame-before-end", type=int, default=2)
    ap.add_argument("--vqmap-before-end", type=int, default=1)
    ap.add_argument("--bundle-only", action="store_true", help="only bundle the starts of an earlier run of this script")
    args = ap.parse_args()
    if not args.bundle_only:
        run_notebooks(args.project_dir)
    bundle(args.project_dir, {"vame": args.vame_before_end, "vqmap": args.vqmap_before_end})


def run_notebooks(project_dir: Path) -> None:
    """Notebooks 01-05 on synthetic-demo in the demo profile, keeping a checkpoint of every epoch of 04 and 05."""
    if project_dir.exists():
        sys.exit(f"{project_dir} exists; give a new directory")
    out = project_dir / "executed"
    out.mkdir(parents=True)
    common = {"project_dir": str(project_dir), "dataset": "synthetic-demo", "profile": "demo", "device": "cpu",
              "seed": 0}
    extra = {"04_train_vame": {"use_bundled_start": False, "checkpoint_every": 1},
             "05_train_vqmap": {"use_bundled_start": False, "checkpoint_every": 1, "coembed": False, "generate": False}}
    for nb in ("01_import", "02_preprocess", "03_features", "04_train_vame", "05_train_vqmap"):
        print(f"running {nb} ...", flush=True)
        pm.execute_notebook(notebooks_dir() / f"{nb}.ipynb", out / f"{nb}.ipynb", parameters={**common, **extra.get(nb, {})},
                            progress_bar=False, cwd=str(project_dir))


def bundle(project_dir: Path, before_end: dict[str, int]) -> None:
    """Each model's run as it was ``before_end[name]`` epochs before its end, into ``behavnb/data/starts``."""
    commit = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True,
                            text=True).stdout.strip()
    about = {"dataset": "synthetic-demo", "profile": "demo", "made_by": "benchmarks/make_starts.py",
             "date": dt.date.today().isoformat(), "machine": machine(), "commit": commit or "unknown"}
    for name, before in before_end.items():
        model_dir = project_dir / "models" / name
        epochs = len(sorted((model_dir / "checkpoints").glob("epoch_*.pt")))
        entry = write_start(model_dir, name, epochs - before, starts_dir(), about)
        print(f"{name}: epoch {entry['epoch']} of {entry['of_epochs']} -> {starts_dir() / name}")


if __name__ == "__main__":
    main()
