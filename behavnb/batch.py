"""Lab scale: a batch manifest (one row per project or parameter set) run on Dask, with one summary table.

The running floor, last in the flow (... export -> report/series/batch/cli): each row runs the whole
series of notebooks through ``series``.

A manifest is a CSV. Reserved columns, all optional:

- ``row``: the row's name (default ``row1``, ``row2`` …), unique;
- ``dataset``: a registered name, a sessions CSV or a folder of pose files (relative paths are read
  from the manifest's folder);
- ``project_dir``: the row's run directory (default ``<out_dir>/<row>``);
- ``profile``: ``fast`` | ``demo`` | ``full``;
- ``notebooks``: which notebooks, e.g. ``01 02 06`` (default: the whole series).

Every other column is a notebook parameter (``n_motifs``, or ``06:n_motifs`` for one notebook); an
empty cell leaves the notebook's default. Each row is one :func:`behavnb.series.run_series`; rows run
in parallel on a Dask ``LocalCluster`` or on a running cluster (``scheduler``). A failing row does not
stop the others. ``<out_dir>/batch_summary.csv`` gets one line per row (status, duration, error). A
rerun skips every notebook that is current, so it redoes only what failed or changed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from behavnb.errors import BehavnbError, DatasetNotFoundError, ParameterError, SessionsTableError
from behavnb.manifest import fetch, registry
from behavnb.parallel import map_items
from behavnb.series import NotebookFailed, route_parameters, run_series, series
from behavnb.utils import atomic_path

RESERVED = ("row", "dataset", "project_dir", "profile", "notebooks")
SUMMARY = "batch_summary.csv"


@dataclass
class Row:
    name: str
    project_dir: Path
    dataset: str | None = None
    profile: str | None = None
    notebooks: list[str] | None = None
    parameters: dict[str, Any] = field(default_factory=dict)


def read_manifest(path: str | Path, out_dir: str | Path | None = None) -> list[Row]:
    """The rows of a batch manifest, checked: unique names, known notebooks, declared parameters."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise SessionsTableError(f"{path}: no such batch manifest (a CSV with one row per project or parameter set).")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise SessionsTableError(f"{path}: not a readable CSV ({exc}); write one row per project with a header line.") from None
    if table.empty:
        raise SessionsTableError(f"{path}: the manifest has no rows; add one line per project or parameter set.")
    base = path.parent.resolve()
    out = Path(out_dir).expanduser().resolve() if out_dir else base / f"{path.stem}-runs"
    names = [str(r).strip() or f"row{i + 1}" for i, r in enumerate(table.get("row", [""] * len(table)))]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise SessionsTableError(f"{path}: duplicate row names {dup}; give each row its own name in the 'row' column.")
    rows = []
    for name, (_, rec) in zip(names, table.iterrows(), strict=True):
        cell = {k: str(v).strip() for k, v in rec.items()}
        dataset = cell.get("dataset") or None
        if dataset and not _registered(dataset):
            dataset = str((base / Path(dataset).expanduser()).resolve())  # an absolute path stays as it is
        project = cell.get("project_dir")
        project_dir = (base / Path(project).expanduser()).resolve() if project else out / name
        notebooks = cell.get("notebooks", "").replace(",", " ").split() or None
        # cells stay text here; route_parameters reads them as YAML unless the notebook's default is a string
        params = {k: v for k, v in cell.items() if k not in RESERVED and v != ""}
        row = Row(name, project_dir, dataset, cell.get("profile") or None, notebooks, params)
        try:
            route_parameters(series(row.notebooks), row.parameters)
        except ParameterError as exc:
            raise ParameterError(f"{path}, row {name!r}: {exc}") from None
        rows.append(row)
    dirs = [r.project_dir for r in rows]
    shared = sorted({str(d) for d in dirs if dirs.count(d) > 1})
    if shared:
        raise SessionsTableError(f"{path}: rows share a run directory ({', '.join(shared)}); parallel rows would "
                                 "overwrite each other. Give each row its own project_dir.")
    return rows


def _registered(name: str) -> bool:
    return name in registry()


def run_row(row: Row, *, force: bool = False) -> dict[str, Any]:
    """One row: its series, start to end or up to its first failure. Returns what the summary needs."""
    if row.dataset and not _registered(row.dataset) and not Path(row.dataset).exists():
        raise DatasetNotFoundError(f"row {row.name!r}: dataset {row.dataset} is neither a registered dataset nor an "
                                   "existing sessions CSV or folder; fix the manifest's 'dataset' column.")
    runs = run_series(row.project_dir, row.dataset, row.profile, notebooks=row.notebooks,
                      parameters=row.parameters, force=force)
    return {"executed": sum(r.status == "ok" for r in runs), "current": sum(r.status == "current" for r in runs)}


def run_batch(manifest: str | Path, *, out_dir: str | Path | None = None, scheduler: str | None = "local",
              workers: int | None = None, force: bool = False, progress: bool = True) -> pd.DataFrame:
    """Run every row of ``manifest`` (in parallel on Dask) and write ``batch_summary.csv``.

    A failed row is reported in the summary, never raised.

    Parameters
    ----------
    manifest : str or Path
        The batch manifest CSV (see the module docstring).
    out_dir : str or Path, optional
        Where the rows' run directories and ``batch_summary.csv`` go (default: ``<manifest stem>-runs``
        beside the manifest).
    scheduler : str, optional, default "local"
        "local" (a Dask ``LocalCluster``), a Dask address such as ``cluster.scheduler_address``, or
        "sync" to run the rows one after another here; None means "local" (see :mod:`behavnb.parallel`).
    workers : int, optional
        Workers of the local cluster.
    force : bool, default False
        Rerun notebooks that are current.
    progress : bool, default True
        Show a progress bar over rows.

    Returns
    -------
    pandas.DataFrame
        One line per row: row, status (``ok`` ran, ``current`` nothing to do, ``failed``), seconds,
        notebooks_run, error, project_dir, report.

    Raises
    ------
    SessionsTableError
        When the manifest is missing, unreadable, empty or has duplicate row names;
        :class:`~behavnb.errors.ParameterError` on unknown notebooks or parameters.
    """
    rows = read_manifest(manifest, out_dir)
    out = (Path(out_dir).expanduser().resolve() if out_dir
           else Path(manifest).expanduser().resolve().parent / f"{Path(manifest).stem}-runs")
    out.mkdir(parents=True, exist_ok=True)
    # registered datasets are fetched (or generated) once here, not by parallel rows racing to write one folder

    for name in sorted({r.dataset for r in rows if r.dataset and _registered(r.dataset)}):
        try:
            fetch(name, progress=False)
        except BehavnbError:
            pass  # the rows that use it fail with the reason
    t0 = time.perf_counter()
    outcomes = map_items(lambda r: run_row(r, force=force), [(r.name, r) for r in rows],
                         scheduler=scheduler or "local", workers=workers, desc="batch rows", progress=progress)
    records = []
    for row, o in zip(rows, outcomes, strict=True):
        info = o.value or {}
        if not o.ok and getattr(o.exception, "runs", None):  # a notebook failed: those before it did run
            info = {"executed": sum(r.status == "ok" for r in o.exception.runs)}
        error = o.error.split(": ", 1)[1] if o.exception is not None and isinstance(o.exception, NotebookFailed) else o.error
        status = "failed" if not o.ok else ("ok" if info.get("executed") else "current")
        records.append({"row": row.name, "status": status, "seconds": round(o.seconds, 1),
                        "notebooks_run": info.get("executed", 0), "error": error,
                        "project_dir": str(row.project_dir), "report": str(row.project_dir / "reports" / "index.html")})
    summary = pd.DataFrame(records)
    summary.attrs["wall_seconds"] = time.perf_counter() - t0
    with atomic_path(out / SUMMARY) as tmp:
        summary.to_csv(tmp, index=False)
    summary.attrs["path"] = out / SUMMARY
    return summary
