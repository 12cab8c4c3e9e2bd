"""The notebook series run with papermill: choose the notebooks, check the parameters, skip what is current, report.

The running floor, last in the flow (... export -> report/**series**/batch/cli): ``cli`` and ``batch`` call it.

``run_series`` runs ``01_import`` … ``09_group_stats`` (or a chosen subset) in order against one run
directory. Each executed notebook goes to ``<project>/reports/notebooks/``, its HTML to
``<project>/reports/``, and ``<project>/reports/index.html`` lists every notebook with its status and
time, and, for a failure, the failing cell and its traceback.

A notebook is *current*, and is not run again, when its executed copy exists and nothing that went
into it changed: the notebook file, its parameters, the dataset (files' sizes and times), the behavnb
source, and the stamp of the notebook before it in the series (so a rerun of 02 reruns 03 … 09).
``force=True`` runs them all. A failing notebook stops the chain; the notebooks before it keep their
outputs and stamps, so the next run starts at the failure. Ctrl-C does the same: the running notebook
is marked "interrupted" in the report and :class:`SeriesInterrupted` (a ``KeyboardInterrupt``) is
raised; the training notebooks continue their last checkpoint when run again (``train.fit``'s
``resume="auto"``).

One run at a time per project: ``<project>/.behavnb.lock`` (:mod:`behavnb.lock`). With ``log``
(``behavnb run`` passes stderr), one line when each notebook starts and ends, and the kernels' stderr
(warnings, training's one line per epoch) as whole lines, whether or not that is a terminal.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import html
import json
import os
import re
import signal
import threading
import time
import traceback as tb
import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import behavnb
from behavnb.errors import BehavnbError, ParameterError
from behavnb.lock import ProjectLock
from behavnb.parallel import connect, resolve_scheduler
from behavnb.project import Project
from behavnb.report import to_html
from behavnb.resources import notebooks_dir
from behavnb.runtime import resolve_profile
from behavnb.utils import atomic_write_text

#: parameters the runner itself sets; each goes to the notebooks that declare it
RUNNER_PARAMETERS = ("project_dir", "dataset", "profile", "scheduler")
STAMPS = "stamps.json"
SERIES = "series.json"  # the project's dataset, so that a rerun without --dataset keeps it


#: the kernels' command line: no "[IPKernelApp] WARNING | Kernel is running over TCP without encryption" per notebook
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR"]


class NotebookFailed(BehavnbError, RuntimeError):
    """A notebook of the series raised an error; the report says which cell and shows the traceback."""


class SeriesInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped the series; ``.runs`` says what ran, ``.notebook`` which one was interrupted.

    A ``KeyboardInterrupt``, so code that does not handle it stops as on any Ctrl-C.
    """

    def __init__(self, message: str, notebook: str, runs: list):
        super().__init__(message)
        self.notebook, self.runs = notebook, runs


@dataclass
class NotebookRun:
    name: str
    status: str  # "ok" (ran), "current" (up to date, not run), "failed", "interrupted" (Ctrl-C),
    # "not run" (after a failure or an interrupt), "not chosen"
    seconds: float
    executed: Path | None
    html: Path | None
    error: str = ""
    cell: int | None = None  # index of the failing cell in the executed notebook (0-based; papermill adds cells)
    exec_count: int | None = None
    source: str = ""
    traceback: str = ""


# -- choosing notebooks and parameters -------------------------------------------------------------

def available() -> list[Path]:
    """Every notebook of the series, in order."""
    return sorted(notebooks_dir().glob("[0-9][0-9]_*.ipynb"))


def _matches(book: Path, choice: str) -> bool:
    c = choice.strip().removesuffix(".ipynb")
    if c.isdigit():
        return int(c) == int(book.stem[:2])
    return c in (book.stem, book.stem[3:])


def series(only: Sequence[str | int] | None = None) -> list[Path]:
    """The notebooks of the series in order; ``only`` picks some by number (``7``, ``"07"``) or name
    (``"07_browse"``, ``"browse"``). An unknown choice raises an error listing the valid ones."""
    books = available()
    if not only:
        return books
    unknown = [str(o) for o in only if not any(_matches(b, str(o)) for b in books)]
    if unknown:
        names = ", ".join(b.stem for b in books)
        raise ParameterError(f"unknown notebook(s) {unknown}: choose by number (1 … {len(books)}, or 01 …) or name "
                             f"among {names} (in {notebooks_dir()}).")
    return [b for b in books if any(_matches(b, str(o)) for o in only)]


@functools.lru_cache(maxsize=64)
def _declared(path: str, mtime: float) -> dict[str, dict]:
    import papermill as pm

    return pm.inspect_notebook(path)


def declared_parameters(book: Path) -> dict[str, dict]:
    """The parameters a notebook declares in its ``parameters`` cell: ``{name: {"default", "help", …}}``."""
    return _declared(str(book), book.stat().st_mtime)


def _list(book: Path) -> str:
    return f"{book.stem} declares {', '.join(declared_parameters(book))}"


def coerce(value: Any, default: str | None) -> Any:
    """A string value (from the command line or a manifest cell) read as YAML (``0.8``, ``[Snout]``,
    ``true``, ``None``), except where the notebook's default is a quoted string: there it stays text
    (``cost=2022`` is the string "2022"). Other values pass through."""
    import yaml

    if not isinstance(value, str):
        return value
    if value.strip() in ("None", "null", "~"):
        return None
    if default and default.strip()[:1] in ("'", '"'):
        return value
    try:
        return yaml.safe_load(value)
    except yaml.YAMLError:
        return value


def route_parameters(books: Sequence[Path], parameters: Mapping[str, Any] | None,
                     runner: Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Each notebook's parameters: ``runner`` values where declared, then ``parameters``.

    A plain ``key`` goes to every chosen notebook that declares it; ``"02:key"`` (or
    ``"02_preprocess:key"``) to that notebook only. A key that no chosen notebook declares is an
    error that names the notebook(s) and their parameters: papermill would only warn and ignore it.
    String values are read with :func:`coerce`.
    """
    out = {b.stem: {k: v for k, v in (runner or {}).items() if v is not None and k in declared_parameters(b)}
           for b in books}
    for key, value in (parameters or {}).items():
        scope, _, name = key.rpartition(":")
        if name in RUNNER_PARAMETERS:
            raise ParameterError(f"-p {key}: {name} is set for the whole series; use --{name.replace('_', '-')} "
                                 f"(run_series({name}=...)) instead.")
        if scope:
            targets = [b for b in books if _matches(b, scope)]
            if not targets:
                series([scope])  # unknown notebook: the error lists the valid ones
                raise ParameterError(f"-p {key}: notebook {scope} is not among those chosen for this run "
                                     f"({', '.join(b.stem for b in books)}).")
            missing = [b for b in targets if name not in declared_parameters(b)]
            if missing:
                raise ParameterError(f"-p {key}: notebook {missing[0].stem} does not declare a parameter {name!r}; "
                                     f"{_list(missing[0])}.")
        else:
            targets = [b for b in books if name in declared_parameters(b)]
            if not targets:
                if len(books) == 1:
                    raise ParameterError(f"-p {key}: notebook {books[0].stem} does not declare a parameter {name!r}; "
                                         f"{_list(books[0])}.")
                raise ParameterError(f"-p {key}: no notebook in this run declares a parameter {name!r}. "
                                     + "; ".join(_list(b) for b in books) + ".")
        for b in targets:
            out[b.stem][name] = coerce(value, declared_parameters(b)[name].get("default"))
    return out


# -- what makes a notebook current -----------------------------------------------------------------

def _dataset_fingerprint(dataset: Any) -> str:
    """A registered name as itself (its files are checksummed by the manifest); a path by its files' sizes and times."""
    if dataset is None:
        return ""
    path = Path(str(dataset)).expanduser()
    if not path.exists():
        return str(dataset)
    folder = path.parent if path.is_file() else path  # a sessions CSV: the pose files beside it count too
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    h = hashlib.sha256(str(path.resolve()).encode())
    for f in files:
        st = f.stat()
        h.update(f"{f}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def _package_fingerprint() -> str:
    """The behavnb source: a changed function may change every result after it."""
    root = Path(behavnb.__file__).parent
    h = hashlib.sha256(behavnb.__version__.encode())
    for f in sorted(root.rglob("*.py")):
        h.update(f.relative_to(root).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def stamp(book: Path, params: Mapping[str, Any], upstream: str) -> str:
    """The key that must match for ``book`` to count as current."""
    h = hashlib.sha256(book.read_bytes())
    same = {k: params[k] for k in sorted(params) if k != "scheduler"}  # the engine does not change results
    h.update(json.dumps(same, default=str).encode())
    h.update(_dataset_fingerprint(params.get("dataset")).encode())
    h.update(_package_fingerprint().encode())
    h.update(upstream.encode())
    return h.hexdigest()


def _read_stamps(path: Path) -> dict[str, str]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


# -- running ---------------------------------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ENV_LOCK = threading.Lock()
_ENV_USERS = [0, {}]  # runs in this process using the kernel environment; the values it replaced


@contextlib.contextmanager
def _kernel_environment() -> Iterator[None]:
    """Environment the kernels inherit: Ctrl-C stops a training notebook (``train.RUNNER_ENV``) and training
    logs one line per epoch (``train.PROGRESS_ENV``, unless set already). Restored by the last run to leave."""
    wanted = {"BEHAVNB_RUNNER": "1", "BEHAVNB_PROGRESS": os.environ.get("BEHAVNB_PROGRESS") or "lines"}
    with _ENV_LOCK:
        if _ENV_USERS[0] == 0:
            _ENV_USERS[1] = {k: os.environ.get(k) for k in wanted}
            os.environ.update(wanted)
        _ENV_USERS[0] += 1
    try:
        yield
    finally:
        with _ENV_LOCK:
            _ENV_USERS[0] -= 1
            if _ENV_USERS[0] == 0:
                for k, v in _ENV_USERS[1].items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v


_KERNELS: weakref.WeakSet = weakref.WeakSet()  # kernel managers of the running notebooks


@functools.lru_cache(maxsize=1)
def _kernel_manager_class() -> type:
    """nbclient's kernel manager, remembering its instances so that Ctrl-C can interrupt their kernels."""
    from jupyter_client.manager import AsyncKernelManager

    class TrackedKernelManager(AsyncKernelManager):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            _KERNELS.add(self)

        async def _async_interrupt_kernel(self) -> None:
            # jupyter_client sends SIGINT before every shutdown; an idle kernel then logs "KeyboardInterrupt caught
            # in kernel" to the terminal. A finished notebook has nothing to interrupt: shut down with the request
            # alone. (Ctrl-C during a run signals the kernels directly, in _interrupt_kernels.)
            if self.shutting_down:
                return
            await super()._async_interrupt_kernel()

    return TrackedKernelManager


def _interrupt_kernels() -> int:
    """SIGINT to the process group of every live kernel of this process's runs (as Jupyter's "interrupt"
    does): the running cell raises KeyboardInterrupt and the notebook stops cleanly. How many were signalled."""
    sent = 0
    for km in list(_KERNELS):
        proc = getattr(getattr(km, "provisioner", None), "process", None)
        if proc is None or proc.poll() is not None:
            continue
        try:
            os.killpg(os.getpgid(proc.pid), signal.SIGINT)
            sent += 1
        except OSError:  # it ended meanwhile
            continue
    return sent


class _SigintWatch:
    """Ctrl-C (SIGINT) while the series runs. The first one interrupts the running notebook's kernel,
    whose cell then ends with KeyboardInterrupt (training saves its epoch first), so papermill ends the
    notebook normally; with no kernel running, or at the second Ctrl-C, ``KeyboardInterrupt`` is raised
    here. Once ``defer`` is set (the report is being written after an interrupt) Ctrl-C is only
    counted. Outside the main thread signals cannot be handled; then only a ``KeyboardInterrupt`` that
    reaches the runner counts."""

    def __init__(self, log: TextIO | None = None):
        self.hits, self.defer, self._old, self.log = 0, False, None, log

    def _handler(self, signum, frame):
        self.hits += 1
        if self.defer:
            return
        if self.hits == 1 and _interrupt_kernels():
            _say(self.log, f"[{_clock()}] Ctrl-C: interrupting the running notebook (Ctrl-C again stops at once)")
            return
        raise KeyboardInterrupt

    def __enter__(self) -> _SigintWatch:
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


class _KernelLines:
    """A kernel's stderr for the runner's log: whole lines, each prefixed with the notebook; a progress
    bar's carriage-return redraws are reduced to the state it ends in."""

    def __init__(self, stream: TextIO, name: str):
        self.stream, self.name, self.buf = stream, name, ""

    def write(self, text: str) -> int:
        self.buf += text
        *done, self.buf = self.buf.split("\n")
        for line in done:
            self._emit(line)
        return len(text)

    def _emit(self, line: str) -> None:
        line = _ANSI.sub("", line.rsplit("\r", 1)[-1]).rstrip()
        if line.strip():
            _say(self.stream, f"  {self.name} | {line}")

    def flush(self) -> None:
        self.stream.flush()

    def close(self) -> None:
        if self.buf:
            self._emit(self.buf)
            self.buf = ""


def _say(stream: TextIO | None, text: str) -> None:
    """One line to ``stream``, flushed; at a terminal it first clears papermill's progress bar line."""
    if stream is None:
        return
    isatty = getattr(stream, "isatty", None)
    stream.write(("\r\x1b[2K" if isatty and isatty() else "") + text + "\n")
    stream.flush()


def _clock() -> str:
    return time.strftime("%H:%M:%S")


def run_series(
    project_dir: str | Path,
    dataset: str | Path | None = None,
    profile: str | None = None,
    *,
    notebooks: Sequence[str | int] | None = None,
    parameters: Mapping[str, Any] | None = None,
    scheduler: str | None = None,
    force: bool = False,
    html_report: bool = True,
    kernel_name: str | None = None,
    progress: bool = False,
    log: TextIO | None = None,
) -> list[NotebookRun]:
    """Execute the chosen notebooks into ``project_dir`` (skipping current ones) and write the report.

    Parameters
    ----------
    project_dir : str or Path
        The run directory; locked (``.behavnb.lock``) while the series runs.
    dataset, profile
        Passed to the notebooks (a rerun without ``dataset`` keeps the project's).
    notebooks : sequence, optional
        Which notebooks (see :func:`series`); default all.
    parameters : mapping, optional
        Notebook parameters (see :func:`route_parameters`).
    scheduler : str, optional
        Passed to the notebooks that declare it, which then run their per-session steps in parallel
        (see :mod:`behavnb.parallel`).
    force : bool
        Run notebooks that are current too.
    html_report : bool
        Write each notebook's HTML page and ``reports/index.html``.
    kernel_name : str, optional
        Jupyter kernel (default: the notebooks').
    progress : bool
        papermill's cell progress bar (on stderr).
    log : text stream, optional
        Where to write one line as each notebook starts and ends, and the kernels' stderr (``behavnb
        run``: ``sys.stderr``). None: silent.

    Returns
    -------
    list of NotebookRun
        One per chosen notebook.

    Raises
    ------
    NotebookFailed
        After writing the report, when a notebook fails.
    SeriesInterrupted
        After writing the report, on Ctrl-C (a ``KeyboardInterrupt``).
    behavnb.lock.ProjectLocked
        When another run holds the project directory.
    """
    import papermill as pm

    books = series(notebooks)
    root = Path(project_dir).expanduser().resolve()
    meta_path = root / "reports" / "notebooks" / SERIES
    if dataset is None:  # a rerun without --dataset keeps the project's dataset, never the notebooks' default
        dataset = _read_stamps(meta_path).get("dataset")
    elif Path(str(dataset)).expanduser().exists():
        dataset = Path(str(dataset)).expanduser().resolve()  # the kernels run in the notebooks' folder
    runner = {"project_dir": str(root), "profile": resolve_profile(profile),
              "dataset": None if dataset is None else str(dataset), "scheduler": scheduler}
    routed = route_parameters(books, parameters, runner)  # refuses unknown parameters before anything runs
    if scheduler is not None:
        if "://" in resolve_scheduler(scheduler):  # an unreachable cluster fails here, in seconds, not in a kernel
            with connect(scheduler, announce=False):
                pass
    with ProjectLock(root), _kernel_environment(), _SigintWatch(log) as watch:
        return _run_locked(pm, books, root, meta_path, runner, routed, parameters, force, html_report, kernel_name,
                           progress, log, watch)


def _run_locked(pm, books, root, meta_path, runner, routed, parameters, force, html_report, kernel_name, progress,
                log, watch) -> list[NotebookRun]:
    project = Project(root)
    out_dir = project.reports_dir / "notebooks"
    out_dir.mkdir(parents=True, exist_ok=True)
    if runner["dataset"] is not None:
        atomic_write_text(meta_path, json.dumps({"dataset": runner["dataset"]}, indent=1))
    stamps_path = out_dir / STAMPS
    stamps = _read_stamps(stamps_path)
    order = [b.stem for b in available()]
    runs: list[NotebookRun] = []
    failed = interrupted = None
    current = None
    try:
        for n, book in enumerate(books, 1):
            current = book.stem
            if watch.hits and not interrupted:  # a Ctrl-C that reached no running cell still stops the series
                raise KeyboardInterrupt
            executed, page = out_dir / book.name, project.reports_dir / f"{book.stem}.html"
            if failed or interrupted:
                why = f"after {failed} failed" if failed else f"after {interrupted} was interrupted"
                runs.append(NotebookRun(book.stem, "not run", 0.0, None, None, why))
                continue
            i = order.index(book.stem)
            key = stamp(book, routed[book.stem], stamps.get(order[i - 1], "") if i else "")
            if not force and stamps.get(book.stem) == key and executed.exists():
                _say(log, f"[{_clock()}] {book.stem}  current (not rerun)  ({n}/{len(books)})")
                if html_report and not page.exists():
                    try:
                        to_html(executed, page)
                    except Exception:  # noqa: BLE001 - the link is left out
                        page = None
                runs.append(NotebookRun(book.stem, "current", 0.0, executed, page if html_report and page else None))
                continue
            stamps.pop(book.stem, None)
            atomic_write_text(stamps_path, json.dumps(stamps, indent=1))
            t0 = time.perf_counter()
            run = NotebookRun(book.stem, "ok", 0.0, executed, None)
            _say(log, f"[{_clock()}] {book.stem}  started  ({n}/{len(books)})")
            kernel_err = _KernelLines(log, book.stem) if log is not None else None
            hits = watch.hits
            try:
                pm.execute_notebook(str(book), str(executed), parameters=routed[book.stem], cwd=str(book.parent),
                                    kernel_name=kernel_name, progress_bar=progress, stderr_file=kernel_err,
                                    extra_arguments=list(KERNEL_ARGUMENTS),
                                    kernel_manager_class=_kernel_manager_class())
            except KeyboardInterrupt:  # Ctrl-C in the runner (papermill then shuts the kernel down)
                run.status, run.error = "interrupted", "interrupted (Ctrl-C)"
            except pm.PapermillExecutionError as exc:
                if exc.ename == "KeyboardInterrupt":  # the kernel got the Ctrl-C (train.fit re-raises it here)
                    run.status, run.error = "interrupted", "interrupted (Ctrl-C)"
                else:
                    run.status, run.error = "failed", f"{exc.ename}: {exc.evalue}"
                    run.cell, run.exec_count, run.source = exc.cell_index, exc.exec_count, exc.source
                    run.traceback = _ANSI.sub("", "\n".join(exc.traceback))
            except Exception as exc:  # noqa: BLE001 - the kernel died, a timeout, an unreadable notebook
                if watch.hits > hits:  # Ctrl-C killed the kernel before papermill could say so
                    run.status, run.error = "interrupted", f"interrupted (Ctrl-C; {type(exc).__name__})"
                else:
                    run.status, run.error, run.traceback = "failed", f"{type(exc).__name__}: {exc}", tb.format_exc()
            finally:
                if kernel_err is not None:
                    kernel_err.close()
            run.seconds = time.perf_counter() - t0
            if run.status == "interrupted":
                watch.defer = True  # a second Ctrl-C must not cut the report short
                interrupted = book.stem
            elif run.status == "failed" and executed.exists():
                _locate_error(run, executed)
            _say(log, f"[{_clock()}] {book.stem}  {run.status}  {run.seconds:.1f} s"
                      + (f"  {run.error}" if run.status == "failed" else ""))
            if run.status == "failed":
                failed = book.stem
            elif run.status == "interrupted":
                pass  # its stamp was removed before it ran: the next run runs it again
            else:
                stamps[book.stem] = key
                atomic_write_text(stamps_path, json.dumps(stamps, indent=1))
            if html_report and executed.exists():
                try:
                    run.html = to_html(executed, page)
                except Exception as exc:  # noqa: BLE001 - the report must still be written
                    run.error = (run.error + "; " if run.error else "") + f"no HTML page ({type(exc).__name__}: {exc})"
            runs.append(run)
    except KeyboardInterrupt:  # Ctrl-C between notebooks (a stamp, an HTML page): the one at hand is interrupted
        watch.defer = True
        interrupted = current
        _say(log, f"[{_clock()}] {current}  interrupted")
        runs = [r for r in runs if r.name != current]
        runs.append(NotebookRun(current, "interrupted", 0.0, None, None, "interrupted (Ctrl-C)"))
        runs += [NotebookRun(b.stem, "not run", 0.0, None, None, f"after {current} was interrupted")
                 for b in books if b.stem not in {r.name for r in runs}]
    if html_report:
        chosen = {r.name for r in runs}
        others = [NotebookRun(b.stem, "not chosen", 0.0, out_dir / b.name,
                              (project.reports_dir / f"{b.stem}.html"
                               if (project.reports_dir / f"{b.stem}.html").exists() else None),
                              "executed earlier" if (out_dir / b.name).exists() else "never executed here")
                  for b in available() if b.stem not in chosen]
        write_index(project, sorted(runs + others, key=lambda r: r.name), runner, parameters)
    if interrupted:
        raise SeriesInterrupted(f"interrupted at {interrupted}: the notebooks before it kept their outputs; run the "
                                f"same command again to go on from there (report: "
                                f"{project.reports_dir / 'index.html'}).", interrupted, runs)
    if failed:
        run = next(r for r in runs if r.name == failed)
        where = (f" at [{run.exec_count}] (cell {run.cell} of the executed notebook)" if run.cell is not None else "")
        exc = NotebookFailed(f"notebook {failed} failed{where}: {run.error.rstrip('.')}. See {run.executed} and "
                             f"{project.reports_dir / 'index.html'}; the notebooks before it kept their outputs.")
        exc.runs = runs  # what did run, for a batch summary
        raise exc
    return runs


def _locate_error(run: NotebookRun, executed: Path) -> None:
    """The failing cell as the executed notebook shows it: its index there, execution count, source, traceback."""
    import nbformat

    try:
        nb = nbformat.read(executed, as_version=4)
    except Exception:  # noqa: BLE001 - keep what papermill said
        return
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                run.cell, run.exec_count, run.source = i, cell.get("execution_count"), cell.source
                run.traceback = _ANSI.sub("", "\n".join(out.get("traceback", []))) or run.traceback
                return


def write_index(project: Project, runs: Sequence[NotebookRun], runner: Mapping[str, Any],
                parameters: Mapping[str, Any] | None = None) -> Path:
    """``reports/index.html``: one row per notebook (status, time, link); a failure's cell and traceback."""
    colours = {"ok": "#1a7f37", "current": "#0969da", "failed": "#cf222e", "interrupted": "#bf8700",
               "not run": "#6e7781", "not chosen": "#6e7781"}
    rows, failures = [], []
    for r in runs:
        if r.status == "interrupted":
            failures.append(f"<h2 id='interrupted'>interrupted at {html.escape(r.name)}</h2>"
                            f"<p>Stopped by Ctrl-C after {r.seconds:.1f} s. The notebooks before it kept their "
                            f"outputs; run the same command again to go on from {html.escape(r.name)} (training "
                            f"continues from its last saved epoch).</p>")
        link = f'<a href="{html.escape(r.html.name)}">{html.escape(r.name)}</a>' if r.html else html.escape(r.name)
        rows.append(f"<tr><td>{link}</td><td style='color:{colours[r.status]}'>{r.status}</td>"
                    f"<td>{r.seconds:.1f} s</td><td>{html.escape(r.error)}</td></tr>")
        if r.status == "failed":
            where = (f"at [{r.exec_count}] (cell {r.cell} of the executed notebook)" if r.cell is not None
                     else "outside a cell")
            failures.append(f"<h2 id='failure'>{html.escape(r.name)} failed {where}</h2>"
                            f"<p>{html.escape(r.error)}</p>"
                            + (f"<h3>The cell</h3><pre class='src'>{html.escape(r.source)}</pre>" if r.source else "")
                            + f"<h3>Traceback</h3><pre class='tb'>{html.escape(r.traceback)}</pre>")
    figures = sorted((project.root / "figures").glob("*.png"))
    figs = "".join(f'<figure><img src="../figures/{f.name}" width="480"><figcaption>{f.name}</figcaption></figure>'
                   for f in figures)
    shown = {k: v for k, v in runner.items() if v is not None}
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>behavnb report</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto}}td,th{{padding:4px 12px;text-align:left}}
pre{{background:#f6f8fa;padding:8px;overflow-x:auto}} pre.tb{{background:#fff0f0}}
figure{{display:inline-block;margin:8px}}</style></head><body>
<h1>behavnb report</h1>
<p>Run directory <code>{html.escape(str(project.root))}</code>; series parameters <code>{html.escape(str(shown))}</code>;
notebook parameters <code>{html.escape(str(dict(parameters or {})))}</code>.</p>
<table><tr><th>notebook</th><th>status</th><th>time</th><th>error</th></tr>{''.join(rows)}</table>
{''.join(failures)}
<h2>Figures</h2>{figs or '<p>none</p>'}</body></html>"""
    return atomic_write_text(project.reports_dir / "index.html", page)
