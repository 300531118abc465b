"""The reference job manager (``--workflow processes``): jobs as detached local processes.

Its "batch system" is a spool directory with one entry per job id::

    SPOOL/17/job.json    what was submitted (name, command, job directory), written first
    SPOOL/17/lock        held (flock) by the job's processes for as long as they run
    SPOOL/17/pid         the job's process (group) id, for cancel
    SPOOL/17/started     written when the job leaves its (modelled) queue
    SPOOL/17/exit_code   written by the job's runner when its command ended
    SPOOL/17/cancelled   written by cancel

:meth:`ProcessJobManager.query` reports what it can observe there, in this order: a job
whose lock is held runs (or waits, before ``started``); one whose lock is free has ended,
with the exit code its runner recorded, else it was killed. The lock is taken before the
job is started and inherited by it, so a job is never seen "ended" before it began, and a
job id never stands for another process (which a pid could, once reused).

Like a batch system, it starts each job with a clean environment (what the job needs is
in the job files the core wrote) and in a session of its own, so that the job outlives
the process that submitted it, and cancel can end all of the job's processes at once.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar

from law_core.plugin import (
    FAILED,
    FINISHED,
    PENDING,
    RUNNING,
    JobState,
    JobSubmission,
    JobSubmissionError,
    RemoteJobManager,
)
from law_core.testing.reference_jobs.settings import ProcessSettings

#: the runner of one job, run by ``sh -c`` in the job's session: $1 is the job's spool
#: entry, $2 the start delay in seconds, the rest the job's command (never interpolated)
RUNNER = """
entry=$1 delay=$2
shift 2
if [ "$delay" != 0 ]; then sleep "$delay"; fi
: >"$entry/started"
"$@"
code=$?
printf '%s\\n' "$code" >"$entry/exit_code.tmp" && mv -f "$entry/exit_code.tmp" "$entry/exit_code"
exit "$code"
"""

#: variables a job gets from the submitting side besides those of its job files
_PASSED_VARIABLES = ("HOME", "USER", "LOGNAME", "LANG", "TMPDIR")


class ProcessJobManager(RemoteJobManager):
    """``--workflow processes``: each job a detached process on this machine."""

    name = "processes"
    settings_cls = ProcessSettings
    #: most jobs per submit() call, as a batch system's array limit would be
    max_batch_size = 100

    #: processes this one started, polled so that ended ones do not linger as zombies
    _launched: ClassVar[list[subprocess.Popen]] = []

    # the primitives

    def submit(self, jobs: list[JobSubmission]) -> list[str]:
        """Start the jobs; all or none: when one cannot start, those started are ended."""
        ids: list[str] = []
        spool = self.spool()
        next_id = max((_number(p.name) for p in spool.iterdir()), default=0) + 1
        try:
            for job in jobs:
                entry = _new_entry(spool, next_id)
                next_id = int(entry.name) + 1
                ids.append(self._start(job, entry))
        except OSError as err:
            self.cancel(ids)
            raise JobSubmissionError(f"job {jobs[len(ids)].name} could not be started: "
                                     f"{err}") from err
        return ids

    def query(self, job_ids: list[str]) -> dict[str, JobState]:
        self._launched[:] = [proc for proc in self._launched if proc.poll() is None]
        spool = self.spool()
        states = {job_id: self._state(spool / job_id) for job_id in job_ids}
        return {job_id: state for job_id, state in states.items() if state is not None}

    def cancel(self, job_ids: list[str]) -> None:
        """Mark the jobs cancelled and kill their process groups (SIGKILL, as a batch
        system does once a job outlived its grace time)."""
        spool = self.spool()
        for job_id in job_ids:
            entry = spool / job_id
            if not (entry / "job.json").exists():
                continue
            (entry / "cancelled").touch()
            pid = _read_int(entry / "pid")
            if pid is not None and holds_lock(entry):
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def cleanup(self, job_ids: list[str]) -> None:
        """Forget ended jobs: remove their spool entries."""
        spool = self.spool()
        for job_id in job_ids:
            if not holds_lock(spool / job_id):
                shutil.rmtree(spool / job_id, ignore_errors=True)

    def recover(self, jobs: list[JobSubmission]) -> dict[int, str]:
        """Jobs of an interrupted submission, found by their names (unique per attempt)
        among the spool's entries."""
        wanted = {(job.name, job.job_dir): job.num for job in jobs}
        found = {}
        for job_id, info in spooled(self.spool()):
            num = wanted.get((info["name"], info["job_dir"]))
            if num is not None:
                found[num] = job_id
        return found

    # the "batch system"

    def spool(self) -> Path:
        """The spool directory (``[processes] spool``)."""
        default = Path(tempfile.gettempdir()) / f"law-core-processes-{os.getuid()}"
        path = Path(self.settings.spool or default)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _start(self, job: JobSubmission, entry: Path) -> str:
        # the lock is held from before the job exists until its last process ended
        lock = os.open(entry / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            (entry / "job.json").write_text(json.dumps({
                "name": job.name, "job_dir": job.job_dir, "command": list(job.command),
                "submitted": time.time()}))
            delay = f"{max(0.0, self.settings.start_delay):.3f}".rstrip("0").rstrip(".")
            env = {k: os.environ[k] for k in _PASSED_VARIABLES if k in os.environ}
            env["PATH"] = os.defpath
            with open(job.stdout, "wb") as out, open(job.stderr, "wb") as err:
                proc = subprocess.Popen(
                    ["sh", "-c", RUNNER, "law-core-job", str(entry), delay, *job.command],
                    stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=job.job_dir,
                    env=env, start_new_session=True, pass_fds=(lock,))
        except OSError:
            shutil.rmtree(entry, ignore_errors=True)  # refused: the spool never knew it
            raise
        finally:
            os.close(lock)  # the job's copy keeps it locked
        self._launched.append(proc)
        (entry / "pid").write_text(f"{proc.pid}\n")
        return entry.name

    @staticmethod
    def _state(entry: Path) -> JobState | None:
        if not (entry / "job.json").exists():
            return None  # never heard of it
        if holds_lock(entry):  # asked first: a job records its exit code, then ends
            return JobState(RUNNING if (entry / "started").exists() else PENDING)
        code = _read_int(entry / "exit_code")
        if code == 0:
            return JobState(FINISHED, exit_code=0)
        if code is not None:
            return JobState(FAILED, exit_code=code, error=f"the job exited with code {code}")
        if (entry / "cancelled").exists():
            return JobState(FAILED, error="cancelled")
        if not (entry / "pid").exists():
            return JobState(FAILED, error="never started: its submitting process ended first")
        return JobState(FAILED, error="killed before it recorded an exit code")


def spooled(spool: Path) -> list[tuple[str, dict[str, Any]]]:
    """Every job ``spool`` holds, as (job id, what was submitted), oldest first."""
    jobs = []
    for entry in sorted(spool.iterdir(), key=lambda p: _number(p.name)):
        try:
            jobs.append((entry.name, json.loads((entry / "job.json").read_text())))
        except (FileNotFoundError, NotADirectoryError, ValueError):
            continue  # not a job, or one being submitted
    return jobs


def _new_entry(spool: Path, num: int) -> Path:
    """A new spool entry: the first free job id from ``num`` on."""
    while True:
        try:
            (spool / str(num)).mkdir()
            return spool / str(num)
        except FileExistsError:  # another submitter took it
            num += 1


def holds_lock(entry: Path) -> bool:
    """Whether a job's processes still hold its lock: a shared probe, so that concurrent
    queries never see each other's probes."""
    try:
        fd = os.open(entry / "lock", os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _number(name: str) -> int:
    return int(name) if name.isdigit() else 0
