"""Batch runs: execute the notebook series with papermill and collect an HTML report.

``run_series`` runs ``01_import`` … ``09_group_stats`` (those present) in order against one run
directory, writes each executed notebook to ``<project>/reports/notebooks/``, converts each to HTML and
writes ``<project>/reports/index.html`` with every notebook's status and run time. A failing notebook
stops the series; its executed copy (with the traceback) and the report are still written.
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from behavnb.errors import BehavnbError, ParameterError
from behavnb.project import Project, atomic_write_text
from behavnb.resources import notebooks_dir


class NotebookFailed(BehavnbError, RuntimeError):
    """A notebook of the series raised an error; the report says which and where."""


@dataclass
class NotebookRun:
    name: str
    status: str  # "ok" | "failed" | "skipped"
    seconds: float
    executed: Path | None
    html: Path | None
    error: str = ""


def series(only: Sequence[str] | None = None) -> list[Path]:
    """The notebooks of the series in order, optionally only those whose name starts with one of ``only``."""
    books = sorted(notebooks_dir().glob("[0-9][0-9]_*.ipynb"))
    if only:
        books = [b for b in books if any(b.stem.startswith(o) for o in only)]
        if not books:
            raise ParameterError(f"no notebook matches {list(only)} in {notebooks_dir()}; names start with 01 … 09.")
    return books


def run_series(
    project_dir: str | Path,
    dataset: str | None = None,
    profile: str | None = None,
    *,
    notebooks: Sequence[str] | None = None,
    parameters: dict[str, Any] | None = None,
    html_report: bool = True,
    kernel_name: str | None = None,
) -> list[NotebookRun]:
    """Execute the series into ``project_dir`` and write the report; raise :class:`NotebookFailed` on failure."""
    import papermill as pm

    from behavnb.runtime import resolve_profile

    project = Project(project_dir)
    out_dir = project.reports_dir / "notebooks"
    out_dir.mkdir(parents=True, exist_ok=True)
    params = {"project_dir": str(project.root), "profile": resolve_profile(profile), **(parameters or {})}
    if dataset is not None:
        params["dataset"] = str(dataset)
    runs: list[NotebookRun] = []
    failed = None
    for book in series(notebooks):
        executed = out_dir / book.name
        if failed:
            runs.append(NotebookRun(book.stem, "skipped", 0.0, None, None))
            continue
        t0 = time.perf_counter()
        try:
            pm.execute_notebook(str(book), str(executed), parameters=params, cwd=str(book.parent),
                                kernel_name=kernel_name, progress_bar=False)
            status, error = "ok", ""
        except pm.PapermillExecutionError as exc:
            status, error = "failed", f"{exc.ename}: {exc.evalue}"
            failed = book.stem
        page = _to_html(executed, project.reports_dir) if html_report else None
        runs.append(NotebookRun(book.stem, status, time.perf_counter() - t0, executed, page, error))
    if html_report:
        write_index(project, runs, params)
    if failed:
        run = next(r for r in runs if r.name == failed)
        raise NotebookFailed(f"notebook {failed} failed ({run.error}); see {run.executed} and {project.reports_dir / 'index.html'}.")
    return runs


def _to_html(executed: Path, reports: Path) -> Path:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_filename(str(executed))
    return atomic_write_text(reports / f"{executed.stem}.html", body)


def write_index(project: Project, runs: Sequence[NotebookRun], params: dict[str, Any]) -> Path:
    """``reports/index.html``: one row per notebook with status, time and links."""
    rows = []
    for r in runs:
        link = f'<a href="{html.escape(r.html.name)}">{html.escape(r.name)}</a>' if r.html else html.escape(r.name)
        colour = {"ok": "#1a7f37", "failed": "#cf222e", "skipped": "#6e7781"}[r.status]
        rows.append(f"<tr><td>{link}</td><td style='color:{colour}'>{r.status}</td><td>{r.seconds:.1f} s</td>"
                    f"<td>{html.escape(r.error)}</td></tr>")
    figures = sorted((project.root / "figures").glob("*.png"))
    figs = "".join(f'<figure><img src="../figures/{f.name}" width="480"><figcaption>{f.name}</figcaption></figure>' for f in figures)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>behavnb report</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto}}td,th{{padding:4px 12px;text-align:left}}
figure{{display:inline-block;margin:8px}}</style></head><body>
<h1>behavnb report</h1>
<p>Run directory <code>{html.escape(str(project.root))}</code>; parameters <code>{html.escape(str(params))}</code>.</p>
<table><tr><th>notebook</th><th>status</th><th>time</th><th>error</th></tr>{''.join(rows)}</table>
<h2>Figures</h2>{figs or '<p>none</p>'}</body></html>"""
    return atomic_write_text(project.reports_dir / "index.html", page)
