"""One run at a time per project directory: ``<project>/.behavnb.lock``.

Part of the machine (``runtime``/``resources``/``parallel``/``lock``), just above utils/errors; ``series``
(the running floor) takes it.

``behavnb run`` (``series.run_series``) holds the lock while it works, so two runs into one project
cannot overwrite each other's files. The lock file is created atomically (``O_CREAT | O_EXCL``) and
holds the holder's pid, host, start time and command. A second run is refused with an error that
names the holder; a lock whose process is gone (same host, pid not running) is stale and taken over
with a warning. The lock is released on any exit from the ``with`` block.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import uuid
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

from behavnb.errors import BehavnbError

LOCK_NAME = ".behavnb.lock"


class ProjectLocked(BehavnbError, RuntimeError):
    """Another behavnb run holds the project directory."""


@dataclass
class LockInfo:
    """Who holds a lock."""

    pid: int
    host: str
    since: str  # local time, ISO format
    command: str
    token: str = ""

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}, since {self.since} ({self.command})"


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (one we may not signal counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_lock(path: str | Path) -> LockInfo | None:
    """The holder written in lock file ``path``; None if there is no such file.

    Raises
    ------
    ProjectLocked
        When the file exists but cannot be read as a lock (then nobody can tell whether its run is alive).
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
        return LockInfo(int(doc["pid"]), str(doc["host"]), str(doc["since"]), str(doc.get("command", "")),
                        str(doc.get("token", "")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ProjectLocked(f"{path} exists but is not a readable behavnb lock ({type(exc).__name__}: {exc}). If no "
                            f"other behavnb run uses {path.parent}, delete {path} and run again.") from exc


class ProjectLock:
    """``with ProjectLock(project_dir):`` holds ``<project_dir>/.behavnb.lock`` for the block.

    Parameters
    ----------
    project_dir : str or Path
        The project (run) directory; created if missing.
    command : str, optional
        What runs, for the message another run gets (default: this process's command line).

    Raises
    ------
    ProjectLocked
        On entry, when a live process (or one on another host, which cannot be checked) holds the lock.
    """

    def __init__(self, project_dir: str | Path, command: str | None = None):
        self.root = Path(project_dir)
        self.path = self.root / LOCK_NAME
        self.command = command if command is not None else " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])
        self.info: LockInfo | None = None

    def acquire(self) -> LockInfo:
        """Create the lock file, taking over a stale one; see the class docstring."""
        self.root.mkdir(parents=True, exist_ok=True)
        me = LockInfo(os.getpid(), socket.gethostname(), time.strftime("%Y-%m-%d %H:%M:%S"), self.command,
                      uuid.uuid4().hex)
        for _ in range(3):  # a stale lock removed by us, then (rarely) a race with another taker
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = read_lock(self.path)
                if holder is None:  # released between our open and our read
                    continue
                if holder.host == me.host and not pid_alive(holder.pid):
                    warnings.warn(f"{self.path}: taking over a stale lock of {holder.describe()}; that process is "
                                  f"gone (killed or crashed?), so its run did not finish.", RuntimeWarning,
                                  stacklevel=3)
                    if read_lock(self.path) == holder:  # not already replaced by another run taking it over
                        self.path.unlink(missing_ok=True)
                    continue
                where = ("" if holder.host == me.host else
                         f" It was taken on another machine, whose processes cannot be checked from {me.host}.")
                raise ProjectLocked(f"project {self.root} is in use by another behavnb run: {holder.describe()}."
                                    f"{where} Wait for it to finish, use another --project-dir, or, if that run is "
                                    f"gone, delete {self.path}.")
            with os.fdopen(fd, "w") as f:
                json.dump(asdict(me), f)
            self.info = me
            return me
        raise ProjectLocked(f"could not take {self.path}: other runs keep taking it. Run again.")

    def release(self) -> None:
        """Remove the lock file if it is still ours (a run that took it over as stale keeps it)."""
        if self.info is None:
            return
        try:
            holder = read_lock(self.path)
        except ProjectLocked:
            holder = None
        if holder is not None and holder.token == self.info.token:
            self.path.unlink(missing_ok=True)
        self.info = None

    def __enter__(self) -> ProjectLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
