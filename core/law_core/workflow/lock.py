"""One submitter per job directory: an exclusive lock held while jobs are submitted or polled.

Two processes submitting the same workflow would each submit every job (both read the same
bookkeeping file before either recorded a job id). :class:`JobDirectoryLock` takes an
``flock`` lock on a file in the job directory for as long as a process submits, polls,
cancels or cleans up its jobs; a second process is refused at once with a message naming
the holder. The kernel drops the lock when its holder ends, however it ends (even
SIGKILL), so a dead process never blocks anyone; the owner record that the holder writes
into the lock file only serves that message. On NFS, Linux carries ``flock`` locks to the
server as byte-range locks, so submitters on different hosts exclude each other too; where
the file system refuses locks altogether (``ENOLCK``, ``EOPNOTSUPP``), a warning says so
and the submission goes ahead unprotected.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import socket
import sys
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from law_core.errors import WorkflowError

logger = logging.getLogger("law_core.workflow.lock")

LOCK_FILE = "submission.lock"

#: errors of flock() meaning "this file system has no locks", not "someone holds it"
_UNSUPPORTED = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}


class JobDirectoryLock:
    """The exclusive lock of one job directory, as a context manager.

    ``what`` names the holder's work in the refusal message ("submitted and polled").
    """

    def __init__(self, job_dir: Path, what: str, subject: str):
        self.path = Path(job_dir) / LOCK_FILE
        self.what = what
        self.subject = subject
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`WorkflowError` naming the process that holds it."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as err:
            raise WorkflowError(f"cannot open the lock file of the jobs of {self.subject}: "
                                f"{err}") from err
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(fd)
            if err.errno in _UNSUPPORTED:
                logger.warning("cannot lock %s (%s): this file system offers no locks, so "
                               "nothing stops a second process from submitting the same "
                               "jobs at the same time", self.path, err.strerror)
                return
            if err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise WorkflowError(f"cannot lock {self.path}: {err}") from err
            raise WorkflowError(self._refusal()) from None
        self._fd = fd
        record = {"pid": os.getpid(), "host": socket.gethostname(), "what": self.what,
                  "started": datetime.now().astimezone().isoformat(timespec="seconds"),
                  "argv": sys.argv}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
        os.fsync(fd)  # other hosts read it through NFS

    def release(self) -> None:
        """Clear the owner record and drop the lock (closing the file drops it)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        except OSError:  # the directory may be gone (--cleanup-jobs)
            pass
        os.close(fd)

    def owner(self) -> dict[str, Any] | None:
        """The record of the process that holds (or last held) the lock, if readable."""
        try:
            data = json.loads(self.path.read_text() or "null")
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and "pid" in data else None

    def _refusal(self) -> str:
        owner = self.owner()
        if owner is None:  # the holder has not written its record yet
            who = "another process"
            what = self.what
        else:
            who = (f"pid {owner['pid']} on host {owner.get('host', '?')} since "
                   f"{owner.get('started', '?')}")
            what = owner.get("what") or self.what
        return (f"jobs of {self.subject} are being {what} by {who} (lock file {self.path}); "
                "wait for it, or stop it")

    def __enter__(self) -> JobDirectoryLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
