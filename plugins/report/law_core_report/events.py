"""Recording runs: task and job events appended to one JSON-lines file per run.

The first process of a run that sees an event names the run and puts its id in the
environment (``LAW_CORE_REPORT_RUN``), so luigi's forked workers and the local workflow's
pool processes append to the same file. A workflow emits two events per branch, so events
are buffered and written in one ``write()`` (``O_APPEND``: whole lines, never interleaved)
when a failure arrives, when the buffer is full, when a second has passed, and when the
process ends (also a forked worker, which leaves through multiprocessing's exit path).

Line format (one JSON object per line)::

    {"type": "run", "run": ID, "argv": [...], "cwd": ..., "env": {...}, "host": ..,
     "pid": .., "time": ..}                               first line, by the first process
    {"type": "task", "kind": "start", "task_id": .., "family": .., "branch": 3, "time": ..}
    {"type": "job", "kind": "status_changed", "workflow_id": .., "manager": .., "job": 1,
     "job_id": "17", "status": "running", "branches": [0, 1], "attempt": 1, "time": ..}

Jobs of remote workflows do not record (``LAW_CORE_JOB``/``LAW_CORE_JOB_HOME`` are set
there): the submitting side records their job events.
"""

from __future__ import annotations

import atexit
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

RUN_ENV = "LAW_CORE_REPORT_RUN"
RUNS_DIR_ENV = "LAW_CORE_REPORT_RUNS_DIR"
#: environment recorded in the run header, so the dashboard can rebuild the run's task
HEADER_ENV = ("PYTHONPATH", "LAW_CORE_CONFIG", "VIRTUAL_ENV")

FLUSH_SIZE = 500
FLUSH_SECONDS = 1.0

#: one encoder for every line (``json.dumps`` with ``default`` builds one per call, and a
#: workflow records two lines per branch)
_encode = json.JSONEncoder(default=str).encode


class Recorder:
    """Buffers the events of this process and appends them to the run's file."""

    def __init__(self) -> None:
        self.pid = -1
        self.path: Path | None = None
        self.buffer: list[str] = []
        self.last_flush = 0.0
        self.lock = threading.Lock()
        self.timer: threading.Timer | None = None
        self.disabled = False
        self.owner = False

    def _start(self) -> bool:
        """Set up for this process (again after a fork: the parent's buffer and lock are
        not ours); False when runs are not recorded here."""
        pid = os.getpid()
        if pid == self.pid:
            return not self.disabled
        self.pid, self.buffer, self.lock, self.timer = pid, [], threading.Lock(), None
        self.owner = False
        self.disabled = bool(os.environ.get("LAW_CORE_JOB_HOME") or os.environ.get("LAW_CORE_JOB"))
        if self.disabled:
            return False
        try:
            from law_core_report.settings import runs_dir, settings

            if not settings().record_events:
                self.disabled = True
                return False
            directory = Path(os.environ.get(RUNS_DIR_ENV) or runs_dir())
            run_id = os.environ.get(RUN_ENV)
            if not run_id:
                run_id = new_run_id()
                os.environ[RUN_ENV] = run_id
                os.environ[RUNS_DIR_ENV] = str(directory)
                directory.mkdir(parents=True, exist_ok=True)
                self.path = directory / f"{run_id}.jsonl"
                self._write([json.dumps(run_header(run_id))])
                self.owner = True
                prune_runs(directory, settings().keep_days, keep=self.path)
            else:
                self.path = directory / f"{run_id}.jsonl"
        except Exception:  # a hook must not raise: an unusable runs_dir records nothing
            self.disabled = True
            return False
        atexit.register(self.close)
        try:  # a forked multiprocessing worker leaves through os._exit, after these
            from multiprocessing import util

            util.Finalize(self, self.flush, exitpriority=100)
        except Exception:
            pass
        self.last_flush = time.monotonic()
        return True

    def add(self, record: dict[str, Any], urgent: bool = False) -> None:
        if not self._start():
            return
        line = _encode(record)
        with self.lock:
            self.buffer.append(line)
            due = urgent or len(self.buffer) >= FLUSH_SIZE or \
                time.monotonic() - self.last_flush >= FLUSH_SECONDS
        if due:
            self.flush()
        elif self.timer is None:
            self.timer = threading.Timer(FLUSH_SECONDS, self.flush)
            self.timer.daemon = True
            self.timer.start()

    def flush(self) -> None:
        if os.getpid() != self.pid:
            return  # a fork that never recorded: the buffer is the parent's
        with self.lock:
            lines, self.buffer = self.buffer, []
            self.last_flush = time.monotonic()
            timer, self.timer = self.timer, None
        if timer is not None:
            timer.cancel()
        if lines:
            self._write(lines)

    def close(self) -> None:
        """At exit: what is buffered, and the run's end when this process started it."""
        self.flush()
        if self.owner and os.getpid() == self.pid:
            self._write([json.dumps({"type": "end", "time": time.time()})])

    def _write(self, lines: list[str]) -> None:
        if self.path is None:
            return
        data = ("\n".join(lines) + "\n").encode()
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
        except OSError:
            self.disabled = True


RECORDER = Recorder()


def new_run_id() -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{socket.gethostname()}-{os.getpid()}"


def run_header(run_id: str) -> dict[str, Any]:
    return {"type": "run", "run": run_id, "argv": list(sys.argv), "cwd": os.getcwd(),
            "python": sys.executable, "host": socket.gethostname(), "pid": os.getpid(),
            "env": {k: os.environ[k] for k in HEADER_ENV if k in os.environ},
            "time": time.time()}


def prune_runs(directory: Path, keep_days: float, keep: Path | None = None) -> None:
    """Remove run files not written to for ``keep_days`` days."""
    if keep_days <= 0:
        return
    limit = time.time() - keep_days * 86400
    for path in directory.glob("*.jsonl"):
        try:
            if path != keep and path.stat().st_mtime < limit:
                path.unlink()
        except OSError:
            pass


def record_task_event(event: Any) -> None:
    task = getattr(event, "task", None)
    record: dict[str, Any] = {"type": "task", "kind": event.kind, "task_id": event.task_id,
                              "family": event.task_family, "time": event.time}
    branch = getattr(task, "branch", None) if task is not None else None
    if isinstance(branch, int) and branch >= 0:
        record["branch"] = branch
    if event.error:
        record["error"] = event.error[:2000]
    RECORDER.add(record, urgent=event.kind == "failure")


def record_job_event(event: Any) -> None:
    extra = event.extra or {}
    record = {"type": "job", "kind": event.kind, "workflow_id": event.workflow_id,
              "manager": event.job_manager, "job": event.job_num, "job_id": event.job_id,
              "status": event.status, "branches": list(event.branches),
              "attempt": extra.get("attempt"), "time": event.time}
    if extra.get("error"):
        record["error"] = str(extra["error"])[:2000]
    RECORDER.add(record, urgent=event.kind == "failed")


# reading

def read_run(path: Path) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The header and the events of one run file (a line cut short at the end, being
    written, is left out)."""
    header, events = None, []
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return None, []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("type") == "run":
            header = header or record
        else:
            events.append(record)
    return header, events


def run_files(directory: Path, keep_days: float = 0.0) -> list[Path]:
    """Run files, newest first; those older than ``keep_days`` (if > 0) left out."""
    try:
        paths = [(p.stat().st_mtime, p) for p in directory.glob("*.jsonl")]
    except OSError:
        return []
    limit = time.time() - keep_days * 86400 if keep_days > 0 else 0.0
    return [p for mtime, p in sorted(paths, reverse=True) if mtime >= limit]


def is_alive(header: dict[str, Any] | None) -> bool:
    """Whether the process that started the run still runs (on this host)."""
    if not header or header.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(header["pid"]), 0)
    except (OSError, ValueError, KeyError):
        return False
    return True
