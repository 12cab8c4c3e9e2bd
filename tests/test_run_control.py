"""Run control of ``behavnb run``: the project lock, Ctrl-C (status "interrupted", exit 130), progress lines
without a terminal. papermill is replaced by a fake that writes the executed notebook (and, where a test
wants it, interrupts or prints to the kernel's stderr); the real kernels are exercised by the notebook tests.
Ctrl-C then automatic resume of training is in tests/test_train.py."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys

import nbformat
import papermill as pm
import pytest

from behavnb import cli, series
from behavnb.lock import LOCK_NAME, ProjectLock, ProjectLocked, read_lock


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _write_lock(root, **kw):
    root.mkdir(parents=True, exist_ok=True)
    doc = {"pid": os.getpid(), "host": socket.gethostname(), "since": "2026-01-02 03:04:05",
           "command": "behavnb run 4", "token": "x", **kw}
    (root / LOCK_NAME).write_text(json.dumps(doc))


# -- the lock -----------------------------------------------------------------------------------------

def test_second_holder_is_refused_with_the_holder_named(tmp_path):
    with ProjectLock(tmp_path, command="behavnb run 1 2") as first:
        held = read_lock(tmp_path / LOCK_NAME)
        assert held.pid == os.getpid() and held.host == socket.gethostname() and held.command == "behavnb run 1 2"
        with pytest.raises(ProjectLocked) as err:
            ProjectLock(tmp_path).acquire()
        msg = str(err.value)
        assert f"pid {os.getpid()} on {socket.gethostname()}, since {first.info.since} (behavnb run 1 2)" in msg
        assert "another --project-dir" in msg and str(tmp_path / LOCK_NAME) in msg
    assert not (tmp_path / LOCK_NAME).exists()


def test_stale_lock_is_taken_over_with_a_warning(tmp_path):
    pid = _dead_pid()
    _write_lock(tmp_path, pid=pid)
    with pytest.warns(RuntimeWarning, match=f"stale lock of pid {pid} on .*behavnb run 4"):
        with ProjectLock(tmp_path):
            assert read_lock(tmp_path / LOCK_NAME).pid == os.getpid()
    assert not (tmp_path / LOCK_NAME).exists()


def test_lock_of_another_host_or_unreadable_is_refused(tmp_path):
    _write_lock(tmp_path / "a", pid=_dead_pid(), host="elsewhere")  # a dead pid here says nothing about there
    with pytest.raises(ProjectLocked, match="pid .* on elsewhere.*another machine"):
        ProjectLock(tmp_path / "a").acquire()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / LOCK_NAME).write_text("{half")
    with pytest.raises(ProjectLocked, match=r"not a readable behavnb lock.*delete .*\.behavnb\.lock"):
        ProjectLock(tmp_path / "b").acquire()


def test_lock_is_released_after_an_exception_and_keeps_a_takers_lock(tmp_path):
    with pytest.raises(ZeroDivisionError):
        with ProjectLock(tmp_path):
            1 / 0
    assert not (tmp_path / LOCK_NAME).exists()
    lock = ProjectLock(tmp_path)
    lock.acquire()
    _write_lock(tmp_path, token="someone else's")  # our lock was taken over (we looked stale)
    lock.release()
    assert (tmp_path / LOCK_NAME).exists()


# -- the series with a fake papermill --------------------------------------------------------------------

class FakePapermill:
    """Writes the executed notebook; ``actions[name]`` runs instead of a successful execution."""

    def __init__(self, actions=None):
        self.actions, self.calls, self.env = actions or {}, [], {}

    def __call__(self, book, executed, *, parameters, stderr_file=None, **kw):
        name = os.path.basename(book)[:-6]
        self.calls.append(name)
        self.env[name] = {k: os.environ.get(k) for k in ("BEHAVNB_RUNNER", "BEHAVNB_PROGRESS")}
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
        nbformat.write(nb, executed)
        if name in self.actions:
            self.actions[name](stderr_file)


def _run(tmp_path, fake, monkeypatch, notebooks=("1", "2", "4", "5"), **kw):
    monkeypatch.setattr(pm, "execute_notebook", fake)
    return series.run_series(tmp_path / "proj", "synthetic-tiny", "fast", notebooks=list(notebooks), **kw)


def _ctrl_c(_):
    raise KeyboardInterrupt


def _kernel_got_ctrl_c(_):
    raise pm.PapermillExecutionError(3, 4, "fit(...)", "KeyboardInterrupt", "", ["KeyboardInterrupt"])


def _kernel_killed(_):  # the SIGINT reaches the runner while no kernel answers; papermill then reports a dead kernel
    try:
        os.kill(os.getpid(), signal.SIGINT)
    except KeyboardInterrupt:
        pass
    raise RuntimeError("Kernel died before replying to execute request")


@pytest.mark.parametrize("how", [_ctrl_c, _kernel_got_ctrl_c, _kernel_killed])
def test_ctrl_c_marks_the_notebook_interrupted_and_keeps_earlier_stamps(tmp_path, monkeypatch, how):
    fake = FakePapermill({"04_train_vame": how})
    found = signal.getsignal(signal.SIGINT)  # what the runner must put back (an earlier test may have changed it)
    with pytest.raises(series.SeriesInterrupted) as err:
        _run(tmp_path, fake, monkeypatch)
    assert isinstance(err.value, KeyboardInterrupt) and err.value.notebook == "04_train_vame"
    assert "interrupted at 04_train_vame" in str(err.value)
    status = {r.name: r.status for r in err.value.runs}
    assert status == {"01_import": "ok", "02_preprocess": "ok", "04_train_vame": "interrupted", "05_train_vqmap": "not run"}
    assert fake.calls == ["01_import", "02_preprocess", "04_train_vame"]
    reports = tmp_path / "proj" / "reports"
    stamps = json.loads((reports / "notebooks" / series.STAMPS).read_text())
    assert set(stamps) == {"01_import", "02_preprocess"}
    page = (reports / "index.html").read_text()
    assert "interrupted at 04_train_vame" in page and ">interrupted</td>" in page
    assert not (tmp_path / "proj" / LOCK_NAME).exists()
    assert signal.getsignal(signal.SIGINT) is found
    # the rerun skips what is current and starts at the interrupted notebook
    again = FakePapermill()
    runs = _run(tmp_path, again, monkeypatch)
    assert again.calls == ["04_train_vame", "05_train_vqmap"] and [r.status for r in runs] == ["current", "current",
                                                                                                  "ok", "ok"]


def test_a_locked_project_is_refused_and_a_failure_releases_the_lock(tmp_path, monkeypatch):
    _write_lock(tmp_path / "proj")
    fake = FakePapermill()
    with pytest.raises(ProjectLocked, match=f"pid {os.getpid()} on .*since 2026-01-02 03:04:05"):
        _run(tmp_path, fake, monkeypatch)
    assert fake.calls == []
    (tmp_path / "proj" / LOCK_NAME).unlink()

    def boom(_):
        raise RuntimeError("the kernel died")

    with pytest.raises(series.NotebookFailed):
        _run(tmp_path, FakePapermill({"02_preprocess": boom}), monkeypatch)
    assert not (tmp_path / "proj" / LOCK_NAME).exists()


def test_kernels_get_the_runner_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("BEHAVNB_RUNNER", raising=False)
    monkeypatch.delenv("BEHAVNB_PROGRESS", raising=False)
    fake = FakePapermill()
    _run(tmp_path, fake, monkeypatch, notebooks=("1",))
    assert fake.env["01_import"] == {"BEHAVNB_RUNNER": "1", "BEHAVNB_PROGRESS": "lines"}
    assert "BEHAVNB_RUNNER" not in os.environ and "BEHAVNB_PROGRESS" not in os.environ


def test_kernel_stderr_reaches_the_log_as_whole_lines():
    log = io.StringIO()
    lines = series._KernelLines(log, "04_train_vame")
    lines.write("vame: epoch 1/2  train loss 1.5")
    lines.write("\nembed:  10%|#  \r embed:  50%|#####  \rembed: 100%|##########| 4/4\n")
    lines.write("\x1b[31mlast words")
    lines.close()
    assert log.getvalue().splitlines() == ["  04_train_vame | vame: epoch 1/2  train loss 1.5",
                                           "  04_train_vame | embed: 100%|##########| 4/4",
                                           "  04_train_vame | last words"]


# -- the command line, stdout and stderr not terminals -------------------------------------------------------

def _epoch_lines(stderr_file):
    stderr_file.write("vame: epoch 1/2  train loss 1.5\nvame: epoch 2/2  train loss 1.2\n")


def test_cli_prints_a_line_per_notebook_and_the_kernels_lines(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pm, "execute_notebook", FakePapermill({"02_preprocess": _epoch_lines}))
    rc = cli.main(["run", "1", "2", "--dataset", "synthetic-tiny", "--profile", "fast",
                   "--project-dir", str(tmp_path / "proj")])
    out, err = capsys.readouterr()
    assert rc == 0 and "report:" in out
    lines = err.splitlines()
    assert [line.split("] ", 1)[1].split("  ")[:2] for line in lines if line.startswith("[")] == [
        ["01_import", "started"], ["01_import", "ok"], ["02_preprocess", "started"], ["02_preprocess", "ok"]]
    assert "  02_preprocess | vame: epoch 2/2  train loss 1.2" in lines
    assert lines.index("  02_preprocess | vame: epoch 2/2  train loss 1.2") < len(lines) - 1  # before "ok"
    rc = cli.main(["run", "1", "--project-dir", str(tmp_path / "proj"), "--profile", "fast"])
    assert rc == 0 and "01_import  current (not rerun)  (1/1)" in capsys.readouterr().err


def test_cli_ctrl_c_exits_130_without_a_traceback(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pm, "execute_notebook", FakePapermill({"04_train_vame": _ctrl_c}))
    rc = cli.main(["run", "1", "4", "--dataset", "synthetic-tiny", "--profile", "fast",
                   "--project-dir", str(tmp_path / "proj")])
    out, err = capsys.readouterr()
    assert rc == cli.INTERRUPTED == 130
    assert "behavnb: interrupted at 04_train_vame" in err and "Traceback" not in err + out
    assert "04_train_vame  interrupted" in err and "04_train_vame      interrupted" in out
