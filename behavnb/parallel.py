"""One function over many items (sessions, batch rows), with Dask, behaving the same whatever the engine.

Part of the machine (``runtime``/``resources``/``parallel``/``lock``), just above utils/errors: manifest,
preprocess, embed, segment, series and batch hand their per-item work to it.

``scheduler`` chooses the engine:

- ``"sync"`` (default): in this process, one item after another (a notebook on a laptop, a GPU step);
- ``"local"`` or ``"local:N"``: a Dask ``LocalCluster`` of N single-threaded worker processes
  (default: the CPU count, at most 8);
- ``"tcp://host:port"`` (any ``scheme://``): an existing Dask cluster, e.g. dask-jobqueue's
  ``SLURMCluster`` (see README "Lab scale: many cohorts or parameter sets"). Every worker needs behavnb installed.

``None`` reads ``$BEHAVNB_SCHEDULER``. Every item runs to the end: one failure does not stop the others.
Each comes back as an :class:`Outcome` with its value or its error (type, message and traceback).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from behavnb.errors import BehavnbError, ParameterError

SCHEDULER_ENV = "BEHAVNB_SCHEDULER"
CONNECT_TIMEOUT_S = 5  # with imports, an unreachable scheduler is reported well within 10 s


class SchedulerError(BehavnbError, ConnectionError):
    """The Dask scheduler cannot be reached or started."""


@dataclass
class Outcome:
    key: str
    ok: bool
    value: Any = None
    error: str = ""
    traceback: str = ""
    seconds: float = 0.0
    exception: BaseException | None = None
    warnings: list = None  # (category, message, filename, lineno) raised while it ran, re-emitted by map_items


def resolve_scheduler(scheduler: str | None = None) -> str:
    """``scheduler`` if given, else ``$BEHAVNB_SCHEDULER``, else ``"sync"``; checked."""
    value = (scheduler or os.environ.get(SCHEDULER_ENV) or "sync").strip()
    if value in ("sync", "local") or "://" in value:
        return value
    if value.startswith("local:") and value[6:].isdigit() and int(value[6:]) > 0:
        return value
    raise ParameterError(f"scheduler={value!r}: use 'sync' (in this process), 'local' or 'local:N' (a Dask LocalCluster "
                         "of N workers) or the address of a running Dask scheduler such as 'tcp://host:8786'.")


def _workers(scheduler: str, workers: int | None) -> int:
    if workers:
        return int(workers)
    if scheduler.startswith("local:"):
        return int(scheduler[6:])
    return max(1, min(os.cpu_count() or 1, 8))


@contextlib.contextmanager
def connect(scheduler: str, workers: int | None = None, *, timeout: float = CONNECT_TIMEOUT_S,
            announce: bool = True) -> Iterator[Any]:
    """A ``distributed.Client`` on a new LocalCluster or an existing scheduler; closed (and the cluster stopped) on exit."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ParameterError("parallel runs need Dask: pip install 'dask[distributed]'.") from None
    scheduler = resolve_scheduler(scheduler)
    if scheduler == "sync":
        raise ParameterError("connect() needs a Dask scheduler ('local', 'local:N' or an address), not 'sync'.")
    cluster = None
    try:
        if scheduler.startswith("local"):
            # single-threaded processes: numpy/torch in each task stay on one core (the nanny sets OMP_NUM_THREADS=1)
            cluster = LocalCluster(n_workers=_workers(scheduler, workers), threads_per_worker=1, processes=True,
                                   dashboard_address=":0", silence_logs=logging.ERROR)
            client = Client(cluster)
        else:
            client = Client(scheduler, timeout=f"{timeout}s")
    except Exception as exc:  # noqa: BLE001 - refused, timed out, or something else answered on that port
        if cluster is not None:
            cluster.close()
        raise SchedulerError(f"cannot connect to the Dask scheduler at {scheduler} (waited at most {timeout:g} s; "
                             f"{type(exc).__name__}: {exc}). Check that it is running (`dask scheduler`) and the "
                             "host:port, or use --scheduler local for a cluster on this machine.") from None
    if announce:
        n = len(client.scheduler_info().get("workers", {}))
        print(f"Dask: {n} worker(s) at {client.scheduler.address}; dashboard {client.dashboard_link}", flush=True)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _call(fn: Callable[[Any], Any], key: str, item: Any) -> Outcome:
    """Run one item and catch its error, so that the error travels back as text, not as an exception."""
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = fn(item)
            out = Outcome(key, True, value, "", "", 0.0)
        except Exception as exc:  # noqa: BLE001 - every failure is reported with its item
            out = Outcome(key, False, None, f"{type(exc).__name__}: {exc}", traceback.format_exc(), 0.0, exc)
    out.seconds = time.perf_counter() - t0
    out.warnings = [(w.category, str(w.message), w.filename, w.lineno) for w in caught]
    return out


def _reemit(outcomes: list[Outcome]) -> list[Outcome]:
    """Warnings from the items, raised again here (under the caller's filters; duplicates once)."""
    seen = set()
    for o in outcomes:
        for category, message, filename, lineno in o.warnings or ():
            if (category, message) not in seen:
                seen.add((category, message))
                warnings.warn_explicit(message, category, filename, lineno)
    return outcomes


def map_items(fn: Callable[[Any], Any], items: Iterable[tuple[str, Any]], *, scheduler: str | None = None,
              workers: int | None = None, client: Any = None, desc: str = "items", progress: bool = True) -> list[Outcome]:
    """``fn(item)`` for every ``(key, item)``; outcomes in the order of ``items``.

    ``client``: an open ``distributed.Client`` to use (else one is made from ``scheduler``). On a
    cluster, ``fn`` and the items are pickled to the workers (cloudpickle: closures are fine).
    """
    from tqdm.auto import tqdm

    items = list(items)
    keys = [str(k) for k, _ in items]
    if len(set(keys)) != len(keys):
        raise ParameterError(f"{desc}: duplicate keys {sorted({k for k in keys if keys.count(k) > 1})}.")
    if client is None and resolve_scheduler(scheduler) == "sync":
        return _reemit([_call(fn, k, x) for k, x in tqdm(items, desc=desc, disable=not progress or len(items) < 2)])
    with (contextlib.nullcontext(client) if client is not None else connect(scheduler, workers)) as cl:
        from distributed import as_completed

        futures = {cl.submit(_call, fn, k, x, pure=False): k for k, x in items}
        done: dict[str, Outcome] = {}
        for fut in tqdm(as_completed(futures), total=len(futures), desc=desc, disable=not progress):
            key = futures[fut]
            try:
                done[key] = fut.result()
            except Exception as exc:  # noqa: BLE001 - a worker died or the task could not be unpickled
                done[key] = Outcome(key, False, None, f"{type(exc).__name__}: {exc}", traceback.format_exc(), exception=exc)
        return _reemit([done[k] for k in keys])


def raise_failures(outcomes: list[Outcome], what: str, fix: str = "") -> None:
    """Raise one error naming every failed item (after all items ran), or do nothing.

    A single failure re-raises its own exception; several raise one error of their common type
    (or ``BehavnbError``) that lists them all.
    """
    bad = [o for o in outcomes if not o.ok]
    if not bad:
        return
    if len(bad) == 1 and bad[0].exception is not None:
        exc = bad[0].exception
        if bad[0].key in str(exc):
            raise exc
        try:  # say which item, when the error does not
            named = type(exc)(f"{bad[0].key}: {exc}")
        except Exception:  # noqa: BLE001 - an exception type with another signature gets a note instead
            exc.add_note(f"(while processing {bad[0].key})")
            raise exc from None
        raise named from exc
    lines = "; ".join(f"{o.key}: {o.error}" for o in bad[:10]) + (" …" if len(bad) > 10 else "")
    types = {type(o.exception) for o in bad}
    kind = types.pop() if len(types) == 1 and issubclass(next(iter(types)), BehavnbError) else BehavnbError
    try:
        err = kind(f"{len(bad)} of {len(outcomes)} {what} failed ({lines}).{' ' + fix if fix else ''}")
    except TypeError:
        err = BehavnbError(f"{len(bad)} of {len(outcomes)} {what} failed ({lines}).")
    raise err
