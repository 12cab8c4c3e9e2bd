"""Build the behavnb documentation (HTML, works offline) from a folder of executed notebooks.

    behavnb run --profile fast --project-dir DIR          # executes the series into DIR/reports/notebooks/
    python docs/build.py --notebooks DIR/reports/notebooks --out docs/_build/html

``--notebooks`` also accepts the project directory itself (``DIR``). Sphinx never executes a notebook.

The build runs in a temporary copy of ``docs/`` (with ``README.md`` beside it, which the getting-started page
includes), into which the executed ``NN_*.ipynb`` are copied; so the checkout is never written to, two builds
cannot mix their notebooks, and a notebook left over from an older run is never published. Sphinx runs with
``-W --keep-going``: any warning fails the build (:class:`DocsBuildError`, with every warning in its message).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
# generated or local-only content of docs/ that must not travel into the build
_NOT_SOURCES = ("_build", "notebooks", "api", "__pycache__", ".ipynb_checkpoints", "build.py", ".gitignore")


class DocsBuildError(RuntimeError):
    """sphinx-build failed or warned; the message holds its output."""


def executed_notebooks(executed_dir: str | os.PathLike) -> list[Path]:
    """The executed series notebooks (``NN_*.ipynb``) in ``executed_dir`` or in its ``reports/notebooks/``."""
    folder = Path(executed_dir)
    if not any(folder.glob(NOTEBOOK_GLOB)) and (folder / "reports" / "notebooks").is_dir():
        folder = folder / "reports" / "notebooks"
    found = sorted(folder.glob(NOTEBOOK_GLOB))
    if not found:
        raise FileNotFoundError(
            f"no executed notebooks (NN_*.ipynb) in {folder}; run `behavnb run --profile fast --project-dir DIR` "
            "and pass DIR/reports/notebooks")
    return found


def _copy_notebook(src: Path, dst: Path) -> None:
    """Copy an executed notebook in the form that needs no network, as ``behavnb.report`` makes it for
    ``reports/index.html``: widget views become their static fallback or a snapshot drawn from the saved widget
    state (tqdm's bars), plotly figures become HTML drawn by plotly.js (which ``conf.py`` serves from
    ``_static/``), and the saved widget state is dropped."""
    import nbformat

    from behavnb.report import offline_notebook

    nb, _needs = offline_notebook(nbformat.read(src, as_version=4))
    nbformat.write(nb, dst)


def stage_sources(executed_dir: str | os.PathLike, stage: str | os.PathLike) -> Path:
    """Lay out a Sphinx source tree under ``stage``: ``stage/docs`` (a copy of docs/ plus ``notebooks/``) and
    ``stage/README.md``. Returns the source directory (``stage/docs``)."""
    stage = Path(stage)
    notebooks = executed_notebooks(executed_dir)
    src = stage / "docs"
    shutil.copytree(DOCS, src, ignore=lambda d, names: [n for n in names if Path(d) == DOCS and n in _NOT_SOURCES
                                                        or n in ("__pycache__", ".ipynb_checkpoints")])
    shutil.copy2(ROOT / "README.md", stage / "README.md")
    (src / "notebooks").mkdir()
    for nb in notebooks:
        _copy_notebook(nb, src / "notebooks" / nb.name)
    return src


def build_docs(executed_dir: str | os.PathLike, out_dir: str | os.PathLike, *, warnings_as_errors: bool = True,
               jobs: int | str = 1, verbose: bool = False) -> Path:
    """Build the HTML documentation into ``out_dir`` from the executed notebooks in ``executed_dir``.

    Parameters
    ----------
    executed_dir
        Folder of executed notebooks (``<project>/reports/notebooks``) or the project directory.
    out_dir
        Where the HTML goes (``out_dir/index.html``); created if missing, its old pages overwritten.
    warnings_as_errors
        Run Sphinx with ``-W --keep-going`` (the default): any warning fails the build.
    jobs
        Sphinx's ``-j`` (processes reading sources); ``"auto"`` for one per core.
    verbose
        Print Sphinx's progress; otherwise only warnings and errors are shown (and kept in the error).

    Returns
    -------
    Path
        ``out_dir/index.html``.

    Raises
    ------
    DocsBuildError
        If sphinx-build fails, or warns while ``warnings_as_errors``.
    """
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="behavnb-docs-") as tmp:
        src = stage_sources(executed_dir, tmp)
        cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-E", "-j", str(jobs),
               "-d", str(Path(tmp) / "doctrees")]
        if warnings_as_errors:
            cmd += ["-W", "--keep-going"]
        if not verbose:
            cmd += ["-q"]
        cmd += [str(src), str(out)]
        env = dict(os.environ)
        # autodoc documents this checkout's package, whatever is installed
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
        env.setdefault("MPLBACKEND", "Agg")
        proc = subprocess.run(cmd, cwd=tmp, env=env, text=True, stdout=None if verbose else subprocess.PIPE,
                              stderr=subprocess.PIPE)
        if proc.returncode != 0:
            raise DocsBuildError(f"sphinx-build failed (exit {proc.returncode}); its output:\n"
                                 f"{proc.stdout or ''}{proc.stderr}".replace(str(src), "docs"))
        if proc.stderr.strip():  # warnings let through (--no-strict), or what imported modules log
            sys.stderr.write(proc.stderr.replace(str(src), "docs"))
    return out / "index.html"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notebooks", required=True, metavar="DIR",
                        help="executed notebooks: DIR/reports/notebooks of "
                             "`behavnb run --profile fast --project-dir DIR` (or DIR itself)")
    parser.add_argument("--out", default=str(DOCS / "_build" / "html"), metavar="DIR",
                        help="HTML output folder (default: docs/_build/html)")
    parser.add_argument("--no-strict", action="store_true", help="let warnings pass instead of failing the build")
    parser.add_argument("-j", "--jobs", default="1", help="Sphinx's parallel readers (default 1; 'auto' for all cores)")
    parser.add_argument("-v", "--verbose", action="store_true", help="show Sphinx's progress")
    args = parser.parse_args(argv)
    if str(ROOT) not in sys.path:  # this checkout's behavnb (its report module prepares the notebooks)
        sys.path.insert(0, str(ROOT))
    start = time.perf_counter()
    try:
        index = build_docs(args.notebooks, args.out, warnings_as_errors=not args.no_strict, jobs=args.jobs,
                           verbose=args.verbose)
    except (DocsBuildError, FileNotFoundError) as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"docs built in {time.perf_counter() - start:.0f} s: open {index.as_uri()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
