"""Remote job managers: the machinery shared by every batch-system plugin.

A plugin subclasses :class:`RemoteJobManager` and implements four primitives on its batch
system: :meth:`~RemoteJobManager.submit` a batch of jobs (as one array where the system
has arrays), :meth:`~RemoteJobManager.query` many jobs at once,
:meth:`~RemoteJobManager.cancel`, and optionally :meth:`~RemoteJobManager.cleanup` and
:meth:`~RemoteJobManager.recover`. Everything else is here: job files, the bookkeeping
that lets a killed workflow resume its jobs, submission under ``--parallel-jobs``,
polling, resubmission (``--retries``, not for failures the job worker found certain to
recur), acceptance and tolerance, status lines and job events, and one submitting process
per workflow at a time (:mod:`law_core.workflow.lock`). The plugin's conformance suite is
:class:`law_core.testing.JobManagerSuite`.

Jobs read and write the job directory in place, on a file system the workers share with
this host. A batch system that copies files instead (HTCondor's file transfer, a grid
sandbox) asks :meth:`RemoteJobManager.transfer_spec` for each job: the command to run in
the worker's scratch directory, the files to copy in and those to bring back
(:class:`JobTransfer`). Such a manager declares that its workers share no file system
(:meth:`RemoteJobManager.shared_file_system`); then the jobs also carry their software, a
bundle of law-core, its plugins and the analysis (:mod:`law_core.workflow.bundle`), and
depend on no path of this host. They take the credential files their stores need with them
(the X.509 proxy, a bearer-token file: :func:`~law_core.workflow.credentials.job_credentials`),
as input files named by their paths here, and with ``--transfer-logs`` (or ``[job]
transfer_logs``) copy their stdout and stderr to the workflow's store,
``<store>/<task's store parts>/logs/<job directory name>/job_<num>_<attempt>.{out,err}``
(:meth:`RemoteJobManager.log_store`), so that the logs outlive the batch system's sandbox.

A workflow's :meth:`~law_core.workflow.base.Workflow.job_input_files` are copied into
``inputs/`` of the job directory at each submission; ``job_env.sh`` names them
(``LAW_CORE_JOB_INPUTS``), jobs without a shared file system take them along as inputs, and
the job wrapper copies them into the job's working directory before the bootstrap file is
sourced.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import posixpath
import random
import re
import shlex
import shutil
import subprocess
import sys
import time
from abc import abstractmethod
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

from law_core.arguments import task_arguments
from law_core.config import CONFIG_ENV, get_config
from law_core.environment import declared_forwarding
from law_core.errors import (
    BatchToolTimeout,
    CredentialError,
    JobSubmissionError,
    LawCoreError,
    StorageUnreachableError,
    WorkflowError,
)
from law_core.events import JobEvent, emit_job_event
from law_core.settings import Settings
from law_core.targets.collection import target_uris
from law_core.task import output_targets
from law_core.workflow.bundle import PREFIX as BUNDLE_PREFIX
from law_core.workflow.bundle import bundles_in
from law_core.workflow.credentials import JobCredential, check_output_credentials, job_credentials
from law_core.workflow.job_manager import JobManager
from law_core.workflow.job_worker import write_json_atomic, write_text_atomic
from law_core.workflow.lock import JobDirectoryLock
from law_core.workflow.submission import (
    ACTIVE,
    FAILED,
    FINISHED,
    PENDING,
    RETRY,
    RUNNING,
    SUBMITTING,
    UNSUBMITTED,
    Job,
    Submission,
)

logger = logging.getLogger("law_core.workflow.remote")

# JobSubmissionError now lives in law_core.errors; the import above keeps
# ``from law_core.workflow.remote import JobSubmissionError`` working for older plugins


@dataclass(frozen=True)
class JobSubmission:
    """One job handed to :meth:`RemoteJobManager.submit`.

    ``command`` is the argument list the batch system runs on the worker; render it with
    :func:`shlex.join` where a script line is needed, never by concatenation.
    """

    num: int
    attempt: int
    name: str
    branches: tuple[int, ...]
    command: tuple[str, ...]
    stdout: str
    stderr: str
    job_dir: str


@dataclass(frozen=True)
class JobState:
    """What :meth:`RemoteJobManager.query` reports about one job."""

    status: str  # PENDING, RUNNING, FINISHED or FAILED
    exit_code: int | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class JobTransfer:
    """A job run where the job directory does not exist: the batch system copies
    :attr:`inputs` into a scratch directory on the worker, runs :attr:`command` there and
    brings :attr:`outputs` back (:meth:`RemoteJobManager.transfer_spec`).

    The job wrapper takes "." for its job directory, resolves it before it changes
    directory and creates ``status/`` there itself, so no launcher script is needed. Only
    the job directory's files travel. Where the manager declares no shared file system,
    they include the software bundle (``law-core-bundle-<digest>.tar.gz``) and the job
    runs with the worker's Python in a directory of its own; otherwise ``task.json`` keeps
    the submitting side's working directory, Python path and interpreter, which the worker
    must have too (e.g. on CVMFS).
    """

    #: run in the scratch directory, e.g. ``("bash", "./job_wrapper.sh", ".", "3", "1")``;
    #: paths in the job directory became "." and "./NAME"
    command: tuple[str, ...]
    #: absolute paths on this host to copy into the scratch directory (by their names):
    #: the job wrapper first, the job files that exist, the software bundle, the job
    #: directory's files the command names, the workflow's job input files (their copies
    #: in ``inputs/``: a batch system copies them by their names too), then the credential
    #: files the jobs take with them (the X.509 proxy, as ``/tmp/x509up_u1000``: outside
    #: the job directory, by their names as well; the wrapper makes them private)
    inputs: tuple[str, ...]
    #: path relative to the scratch directory -> where it belongs on this host: the exit
    #: status (``status/job_N_A.json``) and the logs (:attr:`stdout`, :attr:`stderr`)
    outputs: dict[str, str]
    #: names in the scratch directory for the job's stdout and stderr, where the batch
    #: system lets the job name them (a JDL's StdOutput); the others write the logs of
    #: :class:`JobSubmission` directly
    stdout: str
    stderr: str

    #: for batch systems that want an absolute executable (and the arguments apart):
    #: ``/usr/bin/env`` with :attr:`command` finds its program through PATH, or through the
    #: system's default path where the batch system sets no PATH
    executable: ClassVar[str] = "/usr/bin/env"


#: what the job wrapper reads from the job directory (:attr:`JobTransfer.inputs` of a job
#: without a shared file system) and where jobs write their exit statuses
JOB_FILES = ("job_wrapper.sh", "job_env.sh", "task.json", "submission.json", "config.cfg",
             "outputs.json")
STATUS_DIR = "status"
#: where the copies of the workflow's job input files wait for the jobs
INPUTS_DIR = "inputs"

#: a job input file's name: a plain file name, safe in every batch system's file lists
_INPUT_NAME = re.compile(r"(?!\.\.?$)[A-Za-z0-9._+][A-Za-z0-9._+-]*")
#: the names of the logs in a transferred job's scratch directory (JobTransfer.stdout)
_LOG_NAME = re.compile(r"job_\d+_\d+\.(out|err)")


def status_file_name(num: int, attempt: int) -> str:
    """Where job ``num`` records the exit status of ``attempt``, relative to the job
    directory (the job wrapper and the worker use the same name)."""
    return f"{STATUS_DIR}/job_{num}_{attempt}.json"


#: the mode of job files that may hold forwarded variables or parameter values
PRIVATE_MODE = 0o600

#: polls a job may be missing from the batch system without an exit status before it
#: counts as failed (its status file may still be on its way through a shared file system)
VANISHED_GRACE_POLLS = 3


class RemoteJobManager(JobManager):
    """Runs branches as jobs on a batch system. Subclasses implement the primitives."""

    #: the name of ``--workflow NAME``, also used for job file and config section names
    name: ClassVar[str] = ""
    #: most jobs one :meth:`submit` call receives (e.g. the batch system's array limit)
    max_batch_size: ClassVar[int] = 1000
    #: most job ids one :meth:`query` call receives
    max_query_size: ClassVar[int] = 10000
    #: the backend's options (:class:`~law_core.settings.Settings`, section :attr:`name`)
    settings_cls: ClassVar[type[Settings] | None] = None
    #: the batch system's command-line tools, named when one is missing
    tools: ClassVar[tuple[str, ...]] = ()

    # primitives

    @abstractmethod
    def submit(self, jobs: list[JobSubmission]) -> list[str]:
        """Submit ``jobs`` (at most :attr:`max_batch_size`), as one array where the
        batch system has arrays; return their job ids in the same order. Raise
        :class:`JobSubmissionError` with the batch system's reason when it refuses."""

    @abstractmethod
    def query(self, job_ids: list[str]) -> dict[str, JobState]:
        """States of many jobs in as few calls as possible. A job the batch system no
        longer knows is left out: the core then reads the exit status the job wrote."""

    @abstractmethod
    def cancel(self, job_ids: list[str]) -> None:
        """Cancel the jobs; ids that already ended are not an error."""

    def cleanup(self, job_ids: list[str]) -> None:
        """Remove what the batch system keeps of ended jobs (default: nothing)."""

    def recover(self, jobs: list[JobSubmission]) -> dict[int, str]:
        """Ids (by job number) of jobs whose submission was interrupted before their ids
        were recorded, as far as the batch system still knows them; default: none. The
        core submits again what is neither found here nor left an exit status."""
        return {}

    def transfer_spec(self, job: JobSubmission) -> JobTransfer:
        """``job`` for a worker that does not share the job directory: its command with
        the job directory as "." (the scratch directory it runs in), the files to copy
        in, and the exit status and logs to bring back into the job directory."""
        given = job.job_dir.rstrip("/")
        job_dir = Path(given).absolute()
        command, named = [], []
        for arg in job.command:
            if arg.rstrip("/") == given:
                arg = "."
            elif arg.startswith(given + "/"):
                arg = "./" + arg[len(given) + 1:]
                named.append(arg[2:].split("/", 1)[0])  # travels with its directory
            command.append(arg)
        # what the command names travels in any case (missing, the batch system says so)
        bundles = [path.name for path in bundles_in(job_dir)]
        inputs = [str(job_dir / name) for name in dict.fromkeys([*JOB_FILES, *bundles, *named])
                  if name in named or (job_dir / name).exists()]
        # the workflow's input files: copies made at submission, by their names
        inputs += [str(job_dir / INPUTS_DIR / name)
                   for name in self.__dict__.get("_job_inputs", ())]
        # by their paths here: never a copy of a secret in the job directory, and each
        # submission sends the file as it is then (a proxy renewed since included)
        inputs += [credential.path for credential in self.job_credentials()]
        stdout, stderr = Path(job.stdout).name, Path(job.stderr).name
        status = status_file_name(job.num, job.attempt)
        return JobTransfer(tuple(command), tuple(inputs), {
            status: str(job_dir / status), stdout: job.stdout, stderr: job.stderr},
            stdout, stderr)

    def shared_file_system(self) -> bool:
        """Whether the workers see this host's files: the software, the analysis, the
        submitting directory. ``[job] shared_fs`` (default true); a manager whose workers
        never do (a grid CE, a pool in file transfer mode) says false. Without one, the
        jobs carry a software bundle and use no path of this host."""
        from law_core.config import get_config

        return get_config().get_bool("job", "shared_fs", default=True)

    def job_credentials(self) -> list[JobCredential]:
        """The credential files the jobs take with them, as the last writing of the job
        files found them (none where the workers share this host's file system)."""
        return list(self.__dict__.get("_job_credentials", ()))

    def transfer_logs(self) -> bool:
        """``--transfer-logs`` of the workflow where it has that parameter, else ``[job]
        transfer_logs`` (default false): the jobs copy their stdout and stderr to
        :meth:`log_store`. Only for workers without a shared file system; the others'
        logs are in the job directory already."""
        given = getattr(self.workflow, "transfer_logs", None)
        if given:
            return True
        return get_config().get_bool("job", "transfer_logs", default=False)

    def log_store(self) -> str:
        """Where ``--transfer-logs`` puts the jobs' logs: ``logs/<job directory name>``
        below the workflow's directory in its store (a URI, ``fs.NAME:/path`` or a path),
        as :meth:`~law_core.task.Task.target` places outputs; the files are named as in the
        job directory's ``logs/``, ``job_<num>_<attempt>.out`` and ``.err``."""
        wf = self.workflow
        store = wf.output_store or get_config().get("target", "store", default="data")
        if "://" not in store and not store.startswith("fs."):
            store = os.path.abspath(store)
        return posixpath.join(store, *wf.store_parts(), "logs", self.job_directory().name)

    # configuration shared by all remote managers

    @property
    def settings(self) -> Any:
        """The options in effect for this workflow: its ``--<name>-<option>`` parameters
        the user set, else the ``[<name>]`` config section, else the declared defaults."""
        cached = self.__dict__.get("_settings")
        if cached is None:
            if self.settings_cls is None:
                raise WorkflowError(f"the job manager '{self.name}' declares no settings_cls")
            cached = self.__dict__["_settings"] = self.settings_cls.of_task(self.workflow)
        return cached

    def run_tool(self, args: list[str], *, cwd: Path | str | None = None,
                 timeout: float = 120.0, input: str | None = None
                 ) -> subprocess.CompletedProcess:
        """Run one of the batch system's tools (output captured as text). A tool that is
        not installed is a WorkflowError asking whether this is a submit host of the batch
        system; one that does not answer within ``timeout`` seconds is one too."""
        try:
            return subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                                  cwd=cwd, input=input)
        except FileNotFoundError:
            tools = f" (law-core calls {', '.join(self.tools)})" if self.tools else ""
            raise WorkflowError(f"'{args[0]}' was not found: is this a submit host for "
                                f"--workflow {self.name}?{tools}") from None
        except subprocess.TimeoutExpired:
            raise BatchToolTimeout(f"'{args[0]}' did not answer within {timeout:g} s; is the "
                                   f"{self.name} scheduler reachable?") from None

    def config(self, option: str, default: Any = None) -> Any:
        """An option of the manager's config section (``[slurm]``), else ``default``."""
        from law_core.config import get_config

        return get_config().get(self.name, option, default=default)

    def job_directory(self) -> Path:
        """Job files, logs, statuses and the bookkeeping of this workflow and manager.

        The name carries a digest of the workflow's task id and branch selection, so that
        concurrent workflows never share job files."""
        cached = self.__dict__.get("_job_directory")
        if cached is None:
            wf = self.workflow
            digest = hashlib.sha1(
                f"{wf.task_id}|{wf.selected_branches()}".encode()).hexdigest()[:10]
            cached = Path(wf.output_directory().path) / "jobs" / f"{self.name}_{digest}"
            self.__dict__["_job_directory"] = cached
        return cached

    def submission_path(self) -> Path:
        return self.job_directory() / "submission.json"

    def lock(self, what: str) -> JobDirectoryLock:
        """The exclusive lock of the job directory, held while this process is the one
        that submits, polls, cancels or cleans up (``what``) the workflow's jobs: two
        submitters would each submit every job."""
        return JobDirectoryLock(self.job_directory(), what, repr(self.workflow))

    def job_counts(self) -> dict[str, int]:
        """The workflow's jobs by status, as its bookkeeping file has them (empty when
        there is none): read from the file, so it answers in any process, also where
        luigi ran the workflow in a worker process of its own."""
        submission = Submission.load(self.submission_path())
        return submission.counts() if submission is not None else {}

    def active_job_count(self) -> int:
        """Jobs still pending or running at the batch system: non-zero after ``--no-poll``,
        when the workflow's run returned while its jobs go on (so it is not done)."""
        counts = self.job_counts()
        return counts.get(PENDING, 0) + counts.get(RUNNING, 0)

    # the machinery

    #: (time, number) of the jobs submitted lately, for :meth:`submit_rate`
    _submitted: list[tuple[float, int]]

    def __init__(self, workflow: Any) -> None:
        super().__init__(workflow)
        self._submitted = []

    def run(self, branches: list[int]) -> dict[int, str]:
        with self.lock("submitted and polled"):
            return self._submit_and_poll(branches)

    def _submit_and_poll(self, branches: list[int]) -> dict[int, str]:
        wf = self.workflow
        job_dir = self.job_directory()
        submission = self._load_submission(job_dir, ignore=wf.ignore_submission)
        self._write_job_files(job_dir, branches)
        self._plan_jobs(submission, branches)
        self._write_expected_outputs(job_dir, submission)
        self._recover_interrupted(submission)
        submission.save()
        started = time.monotonic()
        query_failures = 0
        wanted = set(branches)
        while True:
            try:
                self._recover_interrupted(submission)  # submissions that timed out
                self._poll(submission)
                self._check_outputs_of_finished(submission)
                query_failures = 0
            except Exception as err:
                # a flaky or slow scheduler, a storage that does not answer the check of
                # finished jobs' outputs for a while: tolerated a few times (the jobs go
                # on); an ended credential does not come back by waiting
                if isinstance(err, LawCoreError) and not isinstance(
                        err, (BatchToolTimeout, StorageUnreachableError)) or isinstance(
                        err, CredentialError):
                    raise
                query_failures += 1
                what = ("the check of finished jobs' outputs" if isinstance(
                    err, StorageUnreachableError) else "the status query")
                logger.warning("%s failed (%d of %d allowed, --poll-fails): %s",
                               what, query_failures, wf.poll_fails, err)
                if query_failures > wf.poll_fails:
                    raise WorkflowError(f"polling the jobs of {self.name} failed "
                                        f"{query_failures} times in a row: {err}") from err
            self._submit_due(submission)
            submission.save()
            self._show_status(submission)
            self._show_resources(submission)
            failures = self._final_failures(submission, wanted)
            if wf.no_poll or (len(failures) > wf.max_failures()
                              and len(self._without_outputs(failures)) > wf.max_failures()):
                return failures
            if not submission.with_status(UNSUBMITTED, SUBMITTING, RETRY, *ACTIVE) and all(
                    job.extra.get("outputs_checked")  # else the storage did not answer
                    for job in submission.with_status(FINISHED)):
                return failures
            if wf.walltime > 0 and time.monotonic() - started > wf.walltime * 3600:
                raise WorkflowError(
                    f"polling stopped after the walltime of {wf.walltime:g} h; the jobs keep "
                    "running, run the workflow again to resume polling them")
            pause = wf.poll_interval * 60
            wait_for_rate = self._next_submission_in()
            if wait_for_rate is not None and submission.with_status(UNSUBMITTED, RETRY):
                pause = min(pause, wait_for_rate + 0.01)
            time.sleep(max(pause, 0.05))

    def cancel_all(self) -> int:
        """``--cancel-jobs``: cancel the active jobs of the earlier submission."""
        if not self.submission_path().exists():
            return 0
        with self.lock("cancelled"):
            return self._cancel_submission()

    def _cancel_submission(self) -> int:
        submission = Submission.load(self.submission_path())
        if submission is None:
            return 0
        active = submission.with_status(*ACTIVE)
        ids = [job.job_id for job in active if job.job_id]
        if ids:
            self.cancel(ids)
        for job in active:
            job.status, job.error = FAILED, "cancelled with --cancel-jobs"
            self._event("failed", job)
        submission.save()
        return len(ids)

    def cleanup_all(self) -> int:
        """``--cleanup-jobs``: let the batch system forget the jobs, remove the job files."""
        if not self.submission_path().exists():
            return 0
        with self.lock("cleaned up"):
            return self._cleanup_submission()

    def _cleanup_submission(self) -> int:
        submission = Submission.load(self.submission_path())
        if submission is None:
            return 0
        active = submission.with_status(*ACTIVE)
        if active:
            raise WorkflowError(f"{len(active)} jobs are still active; cancel them first "
                                "with --cancel-jobs")
        ids = [job.job_id for job in submission.jobs.values() if job.job_id]
        self.cleanup(ids)
        shutil.rmtree(self.job_directory(), ignore_errors=True)
        return len(submission.jobs)

    # steps of the machinery

    def _load_submission(self, job_dir: Path, ignore: bool) -> Submission:
        path = job_dir / "submission.json"
        existing = None if ignore else Submission.load(path)
        if existing is not None:
            active = len(existing.with_status(*ACTIVE, SUBMITTING))
            if active:
                logger.info("resuming %d jobs of an earlier submission (%s)", active, path)
            return existing
        wf = self.workflow
        prefix = f"law-{wf.get_task_family()[:24]}-{job_dir.name.rsplit('_', 1)[-1][:8]}"
        # numbers go on after the jobs of an earlier submission (--ignore-submission): their
        # exit statuses, even ones written later by jobs still running, are never taken for
        # those of the new jobs
        used = [int(m.group(1)) for f in (job_dir / STATUS_DIR).glob("job_*_*.json")
                if (m := re.fullmatch(r"job_(\d+)_\d+\.json", f.name))]
        if ignore:  # its jobs may still run, and write their statuses later
            with contextlib.suppress(WorkflowError):  # unreadable: start over
                ignored = Submission.load(path)
                used += list(ignored.jobs) if ignored is not None else []
        return Submission(path, wf.task_id, self.name, wf.tasks_per_job, prefix,
                          first_num=max(used, default=0) + 1)

    def _write_job_files(self, job_dir: Path, branches: list[int] | None = None) -> None:
        """The job files of the jobs of ``branches`` (default: the selected ones)."""
        wf = self.workflow
        for sub in ("logs", "status"):
            (job_dir / sub).mkdir(parents=True, exist_ok=True)
        wrapper = resources.files("law_core.workflow").joinpath("job_wrapper.sh").read_text()
        (job_dir / "job_wrapper.sh").write_text(wrapper)
        module = type(wf).__module__
        if module == "__main__":
            raise WorkflowError(
                f"{type(wf).__name__} is defined in __main__, which a job cannot import; "
                "move it into a module")
        bundle, bundle_url = (None, None) if self.shared_file_system() else \
            self._bundle(job_dir)
        if bundle is None:  # one of an earlier run with another setting would travel
            for old in bundles_in(job_dir):
                old.unlink(missing_ok=True)
        travelling = self._travelling(job_dir, bundle, bundle_url, branches)
        inputs = self._write_job_inputs(job_dir)
        if inputs:
            travelling["LAW_CORE_JOB_INPUTS"] = " ".join(inputs)
        here = os.getcwd()
        # parameter values and forwarded variables: readable by the user alone
        write_json_atomic(job_dir / "task.json", {
            "task": f"{module}.{type(wf).__name__}",
            "params": task_arguments(wf),
            # with a bundle: the job's own directory, the bundle's Python path only
            "cwd": None if bundle else here,
            "pythonpath": [] if bundle else [here] + [
                p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p],
            "stage_out": [list(rule) for rule in wf.job_stage_out()],
        }, mode=PRIVATE_MODE)
        # the config as resolved here ($PWD, $VARS; no credentials): the wrapper points
        # LAW_CORE_RESOLVED_CONFIG at it, so the job reads the values of the submitting side
        # wherever it runs; credentials it reads from the config file itself
        config = get_config()
        config.write_resolved(job_dir / "config.cfg")
        python = self.config("python") or _job_config("python")
        if bundle is not None:
            # nothing of this host: the worker's Python and PATH, the bundle's bootstrap
            env = {"LAW_CORE_JOB_PYTHON": python or "python3",
                   "LAW_CORE_JOB_BUNDLE": bundle.name,
                   "LAW_CORE_JOB_BUNDLE_PYTHON": bundle.python,
                   **({"LAW_CORE_JOB_BUNDLE_URL": bundle_url} if bundle_url else {}),
                   "LAW_CORE_JOB_BOOTSTRAP_COMMAND": wf.job_bootstrap_command() or "",
                   **declared_forwarding("job"),
                   # names and places only, never a credential's contents
                   **travelling}
        else:
            env = {
                "LAW_CORE_JOB_PYTHON": python or sys.executable,
                "LAW_CORE_JOB_BOOTSTRAP": wf.job_bootstrap_file() or "",
                "LAW_CORE_JOB_BOOTSTRAP_COMMAND": wf.job_bootstrap_command() or "",
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                **({CONFIG_ENV: str(config.path.absolute())} if config.path else {}),
                **declared_forwarding("job"),
                **travelling,
            }
        lines = ["# the environment of law-core jobs (every value quoted)"]
        lines += [f"export {name}={shlex.quote(value)}" for name, value in env.items()]
        write_text_atomic(job_dir / "job_env.sh", "\n".join(lines) + "\n", PRIVATE_MODE)
        # what a job reads at its start: a failure certain to repeat is so only with these
        self._files_digest = hashlib.sha1(b"".join(
            (job_dir / name).read_bytes() for name in ("job_env.sh", "task.json", "config.cfg")
        )).hexdigest()[:12]

    def _travelling(self, job_dir: Path, bundle: Any, bundle_url: str | None,
                    branches: list[int] | None) -> dict[str, str]:
        """For jobs without a shared file system: the credential files they take with them
        (kept for :meth:`transfer_spec`) and where they copy their logs, as variables of
        ``job_env.sh`` (file names and a location; no secret). Jobs on a shared file
        system: :meth:`_shared_credentials`."""
        self.__dict__["_job_credentials"] = []
        self.__dict__["_job_targets"] = ()
        if bundle is None:
            return self._shared_credentials(branches)
        from law_core.targets.factory import target

        also = []  # more than the outputs: what else the jobs reach on a store
        env = {}
        if self.transfer_logs():
            env["LAW_CORE_JOB_LOG_STORE"] = self.log_store()
            also.append(target(env["LAW_CORE_JOB_LOG_STORE"], type="d"))
        if bundle_url:
            also.append(target(bundle_url, type="f"))
        self.__dict__["_job_targets"] = tuple(also)
        if branches is None:
            branches = list(self.workflow.selected_branches())
        credentials = job_credentials(self.workflow, branches, tuple(also))
        taken = {*JOB_FILES, STATUS_DIR, "logs", bundle.name}
        for credential in credentials:
            if credential.file_name in taken:
                raise JobSubmissionError(
                    f"{credential.name} would travel with the jobs as {credential.file_name}, "
                    "a name of law-core's job files: give it another name")
        self.__dict__["_job_credentials"] = credentials
        if credentials:
            logger.info("the jobs take %s with them", " and ".join(c.name for c in credentials))
            env["LAW_CORE_JOB_CREDENTIALS"] = " ".join(
                f"{c.variable}={c.file_name}" for c in credentials)
        return env

    def _shared_credentials(self, branches: list[int] | None) -> dict[str, str]:
        """Jobs on a shared file system use the credential files their stores need where
        they are (a proxy renewed while jobs wait reaches them): ``X509_USER_PROXY`` /
        ``BEARER_TOKEN_FILE`` point at the path here, as ``[job] send_proxy`` and
        ``send_token`` say; where the worker does not see the file, the job wrapper warns
        and unsets the variable. (The jobs inherit no variable of the submitting shell:
        without this they found no proxy and failed at their first request to the store.)"""
        if branches is None:
            branches = list(self.workflow.selected_branches())
        credentials = job_credentials(self.workflow, branches)
        if not credentials:
            return {}
        return {**{c.variable: os.path.abspath(c.path) for c in credentials},
                "LAW_CORE_JOB_SHARED_CREDENTIALS": " ".join(c.variable for c in credentials)}

    def _write_job_inputs(self, job_dir: Path) -> list[str]:
        """Copy the workflow's :meth:`~law_core.workflow.base.Workflow.job_input_files`
        into ``inputs/`` of the job directory (what the jobs get is what the files were
        now) and return their names, kept for :meth:`transfer_spec`. Copies of files that
        are no longer asked for are removed."""
        wf = self.workflow
        what = f"job_input_files() of {type(wf).__name__}"
        given = wf.job_input_files() or {}
        if not isinstance(given, dict):
            raise WorkflowError(f"{what} returned a {type(given).__name__}; return a dict: "
                                "name in the job's working directory -> path on this host")
        taken = {*JOB_FILES, STATUS_DIR, "logs", INPUTS_DIR,
                 *(c.file_name for c in self.job_credentials())}
        sources: dict[str, Path] = {}
        for name, path in given.items():
            if not isinstance(name, str) or not _INPUT_NAME.fullmatch(name):
                raise WorkflowError(
                    f"{what}: {name!r} is not a plain file name; name each file with letters, "
                    "digits, '.', '_', '+' and '-' (not starting with '-', not '.' or '..')")
            if name in taken or name.startswith(BUNDLE_PREFIX) or _LOG_NAME.fullmatch(name):
                raise WorkflowError(
                    f"{what}: the name {name!r} is one of law-core's job files (or the "
                    "file of a credential the jobs take with them); give the input another "
                    "name")
            if not isinstance(path, (str, os.PathLike)):
                raise WorkflowError(f"{what}: the path of {name!r} is a "
                                    f"{type(path).__name__}, not a path on this host")
            source = Path(os.path.expanduser(os.fspath(path))).absolute()
            if not source.is_file():
                state = "is not a file" if source.exists() else "does not exist"
                raise WorkflowError(f"{what}: the job input file {name!r}, {source}, {state}")
            sources[name] = source
        directory = job_dir / INPUTS_DIR
        if sources:
            directory.mkdir(parents=True, exist_ok=True)
        for name, source in sources.items():
            _copy_if_changed(source, directory / name)
        if directory.is_dir():
            for old in directory.iterdir():
                if old.name not in sources and not old.is_dir():
                    old.unlink(missing_ok=True)
        names = list(sources)
        self.__dict__["_job_inputs"] = names
        return names

    def _bundle(self, job_dir: Path) -> tuple[Any, str | None]:
        """The software bundle of the jobs (built once per content, then taken from the
        cache) and the URI the jobs fetch it from: None when it travels with them, linked
        into the job directory."""
        from law_core.workflow import bundle

        found = bundle.build(self.workflow)
        if not found.built:
            logger.debug("using the jobs' software bundle %s", found.path)
        store = bundle.store_directory()
        if store:
            url = bundle.publish(found, store)
            bundle.remove_from(job_dir)
            return found, url
        bundle.link_into(found, job_dir)
        return found, None

    def _write_expected_outputs(self, job_dir: Path, submission: Submission) -> None:
        """Each branch's output URIs as resolved here: before it runs anything, the job
        compares them with what it resolves itself (an environment variable, the working
        directory or a config value could differ there)."""
        branches = {b for job in submission.jobs.values() if job.status != FINISHED
                    for b in job.branches}
        wf = self.workflow
        write_json_atomic(job_dir / "outputs.json", {
            str(b): target_uris(output_targets(wf.req_branch(b))) for b in sorted(branches)})

    def _check_outputs_of_finished(self, submission: Submission) -> None:
        """A job that says its branches succeeded but whose outputs are not where this side
        looks has worked somewhere else: it fails, with that reason (another attempt would
        do the same), never counts as finished."""
        from law_core.targets.collection import TargetCollection

        fresh = [job for job in submission.with_status(FINISHED)
                 if not job.extra.get("outputs_checked")]
        if not fresh:
            return
        wf = self.workflow
        outputs = TargetCollection({b: wf.req_branch(b).output()
                                    for job in fresh for b in job.branches})
        missing = {b for b, _ in outputs.iter_missing()}  # one listing per directory
        for job in fresh:
            job.extra["outputs_checked"] = True
            absent = [b for b in job.branches if b in missing]
            if not absent:
                continue
            uris = [uri for b in absent for uri in target_uris(output_targets(wf.req_branch(b)))]
            job.error = (
                f"job {job.job_id} ended successfully, but the outputs of branches "
                f"{_short(absent)} are not where this side expects them (e.g. {uris[0]}): the "
                "job wrote them somewhere else. Something differs between here and the job: "
                "an environment variable (forward it with [job] forward_env, names or globs "
                "such as MY_*), the working directory or a config value")
            self._fail(job, retryable=False)
            self._event("failed", job)

    def _plan_jobs(self, submission: Submission, branches: list[int]) -> None:
        """New jobs for the missing branches that no unfinished job covers."""
        covered = {b for job in submission.with_status(UNSUBMITTED, SUBMITTING, RETRY, *ACTIVE)
                   for b in job.branches}
        todo = [b for b in branches if b not in covered]
        size = max(1, self.workflow.tasks_per_job)
        for i in range(0, len(todo), size):
            submission.add_job(todo[i:i + size])

    def _recover_interrupted(self, submission: Submission) -> None:
        """Jobs marked "submitting" when the process died: find them or submit again."""
        interrupted = submission.with_status(SUBMITTING)
        if not interrupted:
            return
        job_dir = self.job_directory()
        found = self.recover([self._submission_spec(job, submission, job_dir)
                              for job in interrupted])
        for job in interrupted:
            status_file = self._status_file(job)
            if job.num in found:
                job.job_id, job.status = found[job.num], PENDING
            elif status_file.exists():  # it ran already; its status file tells the rest
                job.status = RUNNING
            else:
                job.status = RETRY if job.attempt > 1 else UNSUBMITTED
                job.attempt -= 1

    def _poll(self, submission: Submission) -> None:
        active = submission.with_status(*ACTIVE)
        if not active:
            return
        ids = [job.job_id for job in active if job.job_id]
        states: dict[str, JobState] = {}
        for chunk_states in self._map(self.query, _chunks(ids, self.max_query_size)):
            states.update(chunk_states)
        # one listing instead of one failed open per job that has not ended
        try:
            self._ended = {entry.name for entry in os.scandir(self._status_file(active[0])
                                                                .parent)}
        except OSError:
            self._ended = None
        for job in active:
            state = states.get(job.job_id) if job.job_id else None
            self._update(job, state)
        self._ended = None

    def _update(self, job: Job, state: JobState | None) -> None:
        old = job.status
        ended = self._read_status_file(job)
        if ended is not None:
            job.exit_code = ended.get("exit_code")
            job.extra["host"] = ended.get("host")
            for key in ("duration", "max_rss_mb"):
                if ended.get(key) is not None:
                    job.extra[key] = ended[key]
            if job.exit_code == 0:
                job.status, job.error = FINISHED, None
            else:
                job.error = ended.get("error") or \
                    f"exit code {job.exit_code} in phase {ended.get('phase')}"
                # the worker knows when another attempt would fail the same way
                self._fail(job, retryable=ended.get("retryable", True) is not False)
        elif state is not None and state.status in (PENDING, RUNNING):
            job.status = state.status
            job.extra.pop("vanished", None)
        else:
            # ended (or unknown to the batch system) without an exit status so far
            job.extra["vanished"] = job.extra.get("vanished", 0) + 1
            if state is not None and state.status == FAILED and state.error:
                job.error = state.error
            # the batch system's own "failed" (held, removed, killed) is final at once; a
            # job merely gone may still have its status file on the way
            if (state is not None and state.status == FAILED) or \
                    job.extra["vanished"] >= VANISHED_GRACE_POLLS:
                job.error = job.error or (
                    f"job {job.job_id} ended without recording an exit status (killed, or "
                    f"out of time or memory?); see {self._log_path(job, 'err')}")
                job.exit_code = state.exit_code if state is not None else None
                self._fail(job)
        if job.status != old:
            self._event("status_changed", job)
            if job.status == FINISHED:
                self._event("finished", job)
            elif job.status in (FAILED, RETRY):
                self._event("failed", job)

    def _fail(self, job: Job, retryable: bool = True) -> None:
        current = getattr(self, "_files_digest", None)
        if not retryable and current and job.extra.get("files") not in (None, current):
            # it ran with the job files of an earlier run (a variable since forwarded, a
            # config value since fixed): with the present ones it may well succeed
            retryable = True
            job.error = f"{job.error} (with the job files of an earlier run)"
        again = retryable and job.attempt <= self.workflow.retries
        job.status = RETRY if again else FAILED
        if not retryable:
            job.extra["retryable"] = False
        if again:
            level, note = logging.WARNING, "; resubmitting"
        elif retryable:
            level, note = logging.ERROR, ""
        else:
            level, note = logging.ERROR, "; not resubmitted: it would fail the same way again"
        logger.log(level, "job %d (branches %s, attempt %d) failed: %s%s", job.num,
                   _short(job.branches), job.attempt, job.error, note)

    def _submit_due(self, submission: Submission) -> None:
        wf = self.workflow
        due = submission.with_status(RETRY, UNSUBMITTED)
        if not due:
            return
        if wf.parallel_jobs > 0:
            free = wf.parallel_jobs - len(submission.with_status(*ACTIVE))
            if free <= 0:
                return
            due = due[:free]
        allowed = self._rate_allowance()
        if allowed is not None:
            if allowed <= 0:
                return
            due = due[:allowed]
        if wf.shuffle_jobs:
            random.shuffle(due)
        # a credential of the outputs' storage that ends before the jobs would: none submitted
        check_output_credentials(self, [b for job in due for b in job.branches],
                                 self.__dict__.get("_job_targets", ()))
        job_dir = self.job_directory()
        for job in due:
            job.attempt += 1
            job.status, job.job_id, job.error, job.exit_code = SUBMITTING, None, None, None
            job.extra.pop("vanished", None)
            job.extra["files"] = getattr(self, "_files_digest", None)
        submission.save()  # before asking the batch system: a restart then recovers them
        specs = {job.num: self._submission_spec(job, submission, job_dir) for job in due}
        batches = list(_chunks(due, self.max_batch_size))
        results = self._map(lambda jobs: self._submit_batch(jobs, specs), batches)
        errors = [r for r in results if isinstance(r, Exception)]
        in_doubt = [r for r in errors if isinstance(r, BatchToolTimeout)]
        if in_doubt:  # left "submitting": the next round asks the batch system for them
            logger.warning("%s; looking for the jobs before submitting them again", in_doubt[0])
            errors = [r for r in errors if r not in in_doubt]
        doubtful = {job.num for batch, r in zip(batches, results)
                    if isinstance(r, BatchToolTimeout) for job in batch}
        for job in due:
            if job.status == SUBMITTING and job.num not in doubtful:
                # its batch failed: nothing was submitted
                job.attempt -= 1
                job.status = RETRY if job.attempt > 0 else UNSUBMITTED
        self._submitted.append((time.monotonic(), sum(job.status == PENDING for job in due)))
        if errors and all(getattr(e, "at_limit", False) for e in errors) and \
                submission.with_status(*ACTIVE):
            # the batch system's limit on queued jobs: the rest goes in as jobs end
            if not getattr(self, "_limit_noted", False):
                logger.warning("%s; submitting the other jobs as running ones end", errors[0])
                self._limit_noted = True
            return
        if errors:
            submission.save()
            raise errors[0]

    def submit_rate(self) -> tuple[int, float] | None:
        """``submit_rate`` of the manager's section, else of ``[job]``: at most N jobs
        submitted per period (``50/2min``), so a site's scheduler is not flooded; None
        when not set."""
        text = self.config("submit_rate") or _job_config("submit_rate")
        if not text or not str(text).strip():
            return None
        return _parse_rate(str(text).strip())

    def _rate_allowance(self) -> int | None:
        """Jobs that may be submitted now under :meth:`submit_rate` (None: any number)."""
        rate = self.submit_rate()
        if rate is None:
            return None
        count, period = rate
        now = time.monotonic()
        self._submitted = [(t, n) for t, n in self._submitted if now - t < period]
        return count - sum(n for _, n in self._submitted)

    def _next_submission_in(self) -> float | None:
        """Seconds until :meth:`submit_rate` allows the next submission (None: no rate)."""
        rate = self.submit_rate()
        if rate is None or not self._submitted:
            return None
        return max(0.0, self._submitted[0][0] + rate[1] - time.monotonic())

    def _submit_batch(self, jobs: list[Job], specs: dict[int, JobSubmission]) -> Any:
        try:
            ids = self.submit([specs[job.num] for job in jobs])
        except Exception as err:
            return err if isinstance(err, LawCoreError) else JobSubmissionError(
                f"submission to {self.name} failed: {type(err).__name__}: {err}")
        if len(ids) != len(jobs):
            return JobSubmissionError(f"{self.name} returned {len(ids)} job ids for "
                                      f"{len(jobs)} jobs")
        for job, job_id in zip(jobs, ids):
            job.job_id, job.status = job_id, PENDING
            self._event("submitted", job)
        return None

    def _submission_spec(self, job: Job, submission: Submission, job_dir: Path) -> JobSubmission:
        return JobSubmission(
            num=job.num, attempt=job.attempt, name=job.name(submission.name_prefix),
            branches=tuple(job.branches),
            command=("bash", str(job_dir / "job_wrapper.sh"), str(job_dir), str(job.num),
                     str(job.attempt)),
            stdout=str(self._log_path(job, "out")), stderr=str(self._log_path(job, "err")),
            job_dir=str(job_dir),
        )

    def _final_failures(self, submission: Submission, wanted: set[int]) -> dict[int, str]:
        """Branches of this run (``wanted``) in jobs that failed for good, unless a later
        job covers them; a failed job of an earlier run counts only for the branches this
        run asks for again, not for those of its branches that are done."""
        alive = {b for job in submission.jobs.values() if job.status != FAILED
                 for b in job.branches}
        return {b: job.error or "failed" for job in submission.with_status(FAILED)
                for b in job.branches if b not in alive and b in wanted}

    def _without_outputs(self, failures: dict[int, str]) -> dict[int, str]:
        """The failed branches whose outputs are missing: a job fails as a whole, but those
        of its branches that wrote all their outputs are done (one listing per directory).
        Only these count against the tolerance while other jobs still run."""
        existing = set(self.workflow.output_collection().existing_keys())
        return {b: error for b, error in failures.items() if b not in existing}

    def _status_file(self, job: Job) -> Path:
        return self.job_directory() / status_file_name(job.num, job.attempt)

    def _read_status_file(self, job: Job) -> dict[str, Any] | None:
        import json

        path = self._status_file(job)
        ended = getattr(self, "_ended", None)
        if ended is not None and path.name not in ended:
            return None
        try:
            return json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            return None

    def _log_path(self, job: Job, kind: str) -> Path:
        return self.job_directory() / "logs" / f"job_{job.num}_{job.attempt}.{kind}"

    def _map(self, func: Any, items: list[Any]) -> list[Any]:
        workers = max(1, self.workflow.job_workers)
        if workers == 1 or len(items) <= 1:
            return [func(item) for item in items]
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(func, items))

    def _show_status(self, submission: Submission) -> None:
        counts = submission.counts()
        text = (f"{self.name} jobs of {type(self.workflow).__name__}: "
                + ", ".join(f"{n} {s}" for s, n in counts.items())
                + f" (of {len(submission.jobs)})")
        if sys.stderr.isatty():
            done = counts[FINISHED] + counts[FAILED]
            width = 30
            filled = int(width * done / len(submission.jobs)) if submission.jobs else width
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {text}".ljust(130))
            if not submission.with_status(UNSUBMITTED, SUBMITTING, RETRY, *ACTIVE):
                sys.stderr.write("\n")
            sys.stderr.flush()
        elif text != getattr(self, "_last_status", None):
            logger.info(text)
        self._last_status = text

    def _show_resources(self, submission: Submission) -> None:
        """One line on the run time and peak memory of the jobs that ended so far (from
        their exit statuses), whenever more jobs ended: the figures to set ``--<name>-time``
        and ``--<name>-memory`` from."""
        ended = [job for job in submission.jobs.values()
                 if job.status in (FINISHED, FAILED, RETRY) and "duration" in job.extra]
        if len(ended) == getattr(self, "_resources_shown", 0):
            return
        self._resources_shown = len(ended)
        times = sorted(job.extra["duration"] for job in ended)
        memory = sorted(job.extra["max_rss_mb"] for job in ended if job.extra.get("max_rss_mb"))
        text = (f"{len(ended)} ended {self.name} jobs of {type(self.workflow).__name__}: run "
                f"time median {_duration(times[len(times) // 2])}, max {_duration(times[-1])}")
        if memory:
            text += (f"; peak memory median {memory[len(memory) // 2]:.0f} MB, "
                     f"max {memory[-1]:.0f} MB")
        logger.info(text)

    def _event(self, kind: str, job: Job) -> None:
        from law_core.registry import get_registry

        if not get_registry().hook.law_core_job_event.get_hookimpls():
            return
        emit_job_event(JobEvent(kind, self.workflow.task_id, self.name, job.num, job.job_id,
                                job.status, tuple(job.branches),
                                {"attempt": job.attempt, "error": job.error}))


def upload_job_logs(location: str, paths: list[str]) -> None:
    """The job's side of ``--transfer-logs`` (called by the job wrapper as it ends): copy
    the files ``paths`` (the job's stdout and stderr as the wrapper captured them) into
    the directory ``location`` of the store."""
    from law_core.targets.factory import target

    directory = target(location, type="d")
    for path in paths:
        if os.path.isfile(path):
            target(path).copy_to(directory.child(os.path.basename(path), "f"))


def _copy_if_changed(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` through a temporary sibling and a rename (a job that
    starts meanwhile reads the old copy or the new one, never half of one), with its mode
    and time stamps; skipped when ``target`` has the size, modification time and mode of
    ``source`` already (an earlier copy of this version: large inputs are copied once)."""
    src = source.stat()
    try:
        dst = target.stat()
    except FileNotFoundError:
        dst = None
    if dst is not None and (dst.st_size, dst.st_mtime_ns, dst.st_mode) == \
            (src.st_size, src.st_mtime_ns, src.st_mode):
        return
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    tmp.unlink(missing_ok=True)
    try:
        # private until the source's mode applies: the file may be the user's alone
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src_file:
            shutil.copyfileobj(src_file, out)
        shutil.copystat(source, tmp)
        os.replace(tmp, target)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise WorkflowError(f"the job input file {source} could not be copied to {target}: "
                            f"{err}") from err


def _job_config(option: str) -> str | None:
    from law_core.config import get_config

    return get_config().get("job", option, default=None)


def _parse_rate(text: str) -> tuple[int, float]:
    """``"50/2min"`` -> ``(50, 120.0)``; ``"10/s"`` -> ``(10, 1.0)``."""
    from law_core.parameters import DurationParameter

    count, sep, period = text.partition("/")
    try:
        number = int(count.strip())
        seconds = DurationParameter(unit="s").parse(
            period.strip() if period.strip()[:1].isdigit() else f"1{period.strip()}")
    except (ValueError, LawCoreError):
        number, seconds = 0, 0.0
    if not sep or number < 1 or seconds <= 0:
        raise WorkflowError(f"submit_rate = {text!r} is not a rate: give jobs per period, "
                            "e.g. '50/2min' or '10/s'")
    return number, seconds


def _duration(seconds: float) -> str:
    """``75.3`` -> ``"1m15s"``."""
    seconds = round(seconds)
    minutes, rest = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{rest:02d}s" if minutes \
        else f"{rest}s"


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i:i + size] for i in range(0, len(items), max(1, size))]


def _short(branches: list[int]) -> str:
    text = ",".join(map(str, branches[:5]))
    return text + (",..." if len(branches) > 5 else "")
