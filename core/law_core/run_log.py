"""The log of one ``law-core run``: every failure with its full traceback, in a file.

The terminal shows one line per failure; the traceback goes to this file (and to the
terminal as well with ``--log-level DEBUG``), so that an error raised hours into a run can
be read without running again. luigi runs tasks in forked processes with ``--workers N``
and reports their failures only there, so whichever process sees a failure appends it
here, and the process that started the run reads them back for its summary.

The file is created with the first failure: a run without one leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Failure:
    """One failed task or branch: who, and the one-line reason."""

    task: str
    error: str


def default_log_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "law-core" / "logs"


class RunLog:
    """Failures of one run: tracebacks in :attr:`path`, one-line records beside it."""

    def __init__(self, path: Path | str | None = None):
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.path = Path(path) if path else default_log_dir() / f"run-{stamp}-{os.getpid()}.log"
        self.path = self.path.absolute()
        # the one-line records, read back by the starting process and removed at close()
        self._records = self.path.with_name(f".{self.path.name}.failures")
        self._records.unlink(missing_ok=True)

    def record(self, task: str, error: BaseException | str, trace: str | None = None,
               summarize: bool = True) -> None:
        """Append a failure of ``task``; ``trace`` defaults to the error's traceback.
        ``summarize``: list it in the run's closing summary (branches, already reported
        one line each as they fail, are not)."""
        if isinstance(error, BaseException):
            if trace is None:
                trace = "".join(traceback.format_exception(error))
            error = f"{type(error).__name__}: {error}"
        header = f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} pid {os.getpid()}: {task} failed"
        _append(self.path, f"{header}\n{(trace or error).rstrip()}\n\n")
        if summarize:
            _append(self._records, json.dumps({"task": task, "error": error}) + "\n")

    def failures(self) -> list[Failure]:
        """What was recorded so far, by every process of the run, in order, each once
        (luigi may report one failure twice, e.g. an unfulfilled dependency)."""
        try:
            lines = self._records.read_text().splitlines()
        except FileNotFoundError:
            return []
        return list(dict.fromkeys(Failure(**json.loads(line)) for line in lines if line.strip()))

    def has_tracebacks(self) -> bool:
        return self.path.exists()

    def close(self) -> None:
        self._records.unlink(missing_ok=True)


def _append(path: Path, text: str) -> None:
    """One write per record with O_APPEND: records of concurrent processes never mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, text.encode("utf-8", "replace"))
    finally:
        os.close(fd)


_CURRENT: RunLog | None = None


def current_run_log() -> RunLog | None:
    """The log of the run in progress in this process (or the one it was forked from)."""
    return _CURRENT


def start_run_log(path: Path | str | None = None) -> RunLog:
    global _CURRENT
    _CURRENT = RunLog(path)
    return _CURRENT


def stop_run_log() -> None:
    global _CURRENT
    if _CURRENT is not None:
        _CURRENT.close()
    _CURRENT = None


def record_failure(task: object, error: BaseException | str) -> None:
    """Record a failure in the run in progress, if any (outside ``law-core run``, the
    error reaches the caller as it is)."""
    if _CURRENT is not None:
        _CURRENT.record(repr(task), error)
