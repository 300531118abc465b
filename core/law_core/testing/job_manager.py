"""The conformance suite of job managers (``--workflow NAME`` plugins).

A plugin's tests subclass :class:`JobManagerSuite`, name the manager and provide, as the
``batch_env`` fixture, the environment in which its batch system answers (a real cluster
where one can run, else a stand-in)::

    class TestSlurm(JobManagerSuite):
        manager_name = "slurm"

        @pytest.fixture
        def batch_env(self, slurm_cluster):
            return slurm_cluster.env

The suite holds every promise a remote workflow makes whatever the batch system: jobs run
the branches with exactly the parameter values given, a failed job is resubmitted up to
``--retries`` (but not one certain to fail again), ``--parallel-jobs`` is never exceeded,
a submitting process killed with SIGKILL and started again submits nothing twice,
``--cancel-jobs`` ends the jobs, ``--no-poll`` leaves them counted as unfinished, job files
hold no credentials and quote every value, bootstrap and stage-out work, a failure says
in which phase it happened, and plugins see job events. It runs small workflows through
``law-core run`` in fresh processes, as users do, and calls the primitives directly where
a workflow cannot show them (arrays, cancel).

Optional overrides (documented where defined): :meth:`~JobManagerSuite.known_jobs` and
:meth:`~JobManagerSuite.active_jobs` say what the batch system itself knows; by default
they ask the manager's own ``query()``. :attr:`~JobManagerSuite.timeout` bounds a short
workflow. The reference job manager, :mod:`law_core.testing.reference_jobs`, passes the
suite with no batch system at all (law-core's ``tests/test_reference_job_manager.py``).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Hashable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from law_core.workflow.remote import RemoteJobManager

SUITE_TASKS = '''
import os
import time

import luigi

import law_core as law


class SuiteWork(law.Workflow):
    n = luigi.IntParameter(default=4)
    sleep = luigi.FloatParameter(default=0.0)
    fail = law.CSVParameter(cls=luigi.IntParameter, default=())
    flaky = luigi.IntParameter(default=-1)

    def create_branch_map(self):
        return self.n

    def output(self):
        return self.local_target(f"out_{self.n}_{self.branch}.json")

    def run(self):
        # every run of a branch leaves a line: a job submitted twice would run twice
        with open(self.output().sibling(f"runs_{self.n}_{self.branch}.log").path, "a") as f:
            f.write(f"{os.getpid()}\\n")
        time.sleep(self.sleep)
        if self.branch in self.fail:
            raise RuntimeError(f"branch {self.branch} fails on purpose")
        marker = self.output().sibling(f"attempted_{self.n}_{self.branch}")
        if self.branch == self.flaky and not marker.exists():
            marker.touch()
            raise RuntimeError("the first attempt of the flaky branch fails")
        self.output().dump({"branch": self.branch, "pid": os.getpid()})


class SuiteTravels(law.Workflow):
    note = luigi.Parameter()
    day = luigi.DateParameter(default=None)
    empty = luigi.Parameter(default="x")
    maybe = law.OptionalBoolParameter()
    items = luigi.ListParameter(default=[])

    def create_branch_map(self):
        return 2

    def output(self):
        return self.local_target(f"travelled_{self.branch}.json")

    def run(self):
        self.output().dump({"note": self.note, "day": str(self.day), "empty": self.empty,
                            "maybe": self.maybe, "items": list(self.items), "pid": os.getpid()})


class SuiteEnv(law.Workflow):
    """What a job sees of the submitting side's environment."""

    def create_branch_map(self):
        return 1

    def output(self):
        return self.local_target("env.json")

    def run(self):
        self.output().dump({"forwarded": os.environ.get("SUITE_FORWARDED"),
                            "token_seen": "SUITE_TOKEN" in os.environ})


class SuiteStaged(law.Workflow):
    def create_branch_map(self):
        return 2

    def output(self):
        return self.local_target(f"env_{self.branch}.txt")

    def run(self):
        home = os.environ["LAW_CORE_JOB_HOME"]
        with open(os.path.join(home, f"extra_{self.branch}.log"), "w") as f:
            f.write(f"scratch of branch {self.branch}")
        self.output().dump(os.environ["FROM_BOOTSTRAP"] + " " + os.environ["FROM_COMMAND"])

    def job_stage_out(self):
        return [("extra_*.log", os.path.join(os.getcwd(), "staged_out"))]


class SuiteLazy(law.Workflow):
    """Branch 1 returns without writing its output."""

    def create_branch_map(self):
        return 2

    def output(self):
        return self.local_target(f"lazy_{self.branch}.json")

    def run(self):
        if self.branch == 0:
            self.output().dump({})


class SuiteMerge(law.Task):
    """Needs a SuiteWork submitted with --no-poll on the job manager ``on``."""

    on = luigi.Parameter()

    def requires(self):
        return SuiteWork(n=2, sleep=120, workflow=self.on, no_poll=True)

    def output(self):
        return self.local_target("merged.json")

    def run(self):
        self.output().dump("merged")
'''

#: a module that cannot be imported in a job (as if a library were missing on the node)
SUITE_NODE_ONLY = '''
import os

import law_core as law

if "LAW_CORE_JOB_HOME" in os.environ:  # in a job
    raise ImportError("the detector library is not installed on this node")


class SuiteNodeOnly(law.Workflow):
    def create_branch_map(self):
        return 2

    def output(self):
        return self.local_target(f"out_{self.branch}.json")

    def run(self):
        self.output().dump({})
'''

#: what job files must never hold (see test_job_files_hold_no_secrets_and_quote_values)
_ENV_SECRET = "s3cr3t-env-value-4711"
_CONFIG_SECRET = "s3cr3t-config-value-0815"
#: a forwarded value that a shell would change unless it is quoted
_TRICKY_VALUE = "it's \"quoted\" ; $HOME `id` \\ $(touch {pwned}) end"


class JobManagerSuite:
    """Base class of a job manager's conformance tests (not collected by itself)."""

    #: the name of ``--workflow NAME``
    manager_name: ClassVar[str] = ""
    #: seconds a short workflow may take here before a test gives up
    timeout: ClassVar[float] = 180.0

    @pytest.fixture
    def batch_env(self) -> dict[str, str]:
        """Environment variables that point the batch system's tools at the test
        backend (``PYTHONPATH`` is added to that of the ``law-core`` subprocesses);
        override it as a fixture."""
        return {}

    @pytest.fixture
    def analysis(self, tmp_path: Path) -> Path:
        (tmp_path / "suite_tasks.py").write_text(SUITE_TASKS)
        (tmp_path / "suite_node_only.py").write_text(SUITE_NODE_ONLY)
        return tmp_path

    @pytest.fixture(autouse=True)
    def _suite_monkeypatch(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """What :meth:`manager` changes in this process is undone after each test."""
        self._monkeypatch = monkeypatch

    # hooks a manager's test class may override

    def known_jobs(self, manager: Any, job_dir: Path) -> list[Hashable]:
        """One entry per job the batch system was given for the workflow whose job
        directory is ``job_dir`` and still knows (ended ones while it remembers them): a
        job submitted twice appears twice.

        The default asks the manager's ``query()`` for the job ids the bookkeeping
        recorded, which cannot show a job submitted without its id being recorded;
        override it with the batch system's own listing where there is one (the jobs whose
        names start with the bookkeeping's ``name_prefix``)."""
        ids = [job["job_id"] for job in self.bookkeeping(job_dir)["jobs"].values()
               if job["job_id"]]
        states = manager.query(ids) if ids else {}
        return [job_id for job_id in ids if job_id in states]

    def active_jobs(self, manager: Any, job_dir: Path) -> int:
        """How many jobs of the workflow whose job directory is ``job_dir`` the batch
        system has pending or running that have not recorded their exit status (a job
        that did has ended for law-core, which may submit the next one while the batch
        system still lists it).

        The default asks the manager's ``query()`` for the recorded job ids, then looks at
        the status files (in this order: a job counted was unfinished when asked)."""
        data = self.bookkeeping(job_dir)
        jobs = [job for job in data["jobs"].values() if job["job_id"]] if data else []
        states = manager.query([job["job_id"] for job in jobs]) if jobs else {}
        return sum(1 for job in jobs
                   if job["job_id"] in states and states[job["job_id"]].status in
                   ("pending", "running") and not self.status_file(job_dir, job).exists())

    # helpers

    def law_core(self, args: list[str], cwd: Path, env: dict[str, str],
                 timeout: float | None = None) -> subprocess.CompletedProcess:
        """``law-core ARGS`` in a fresh process in ``cwd`` with ``env``, to its end."""
        return subprocess.run(self._command(args), cwd=cwd, env=self._env(cwd, env),
                              capture_output=True, text=True, timeout=timeout or self.timeout)

    def start_law_core(self, args: list[str], cwd: Path, env: dict[str, str]
                       ) -> subprocess.Popen:
        """``law-core ARGS`` started in a fresh process (output piped)."""
        return subprocess.Popen(self._command(args), cwd=cwd, env=self._env(cwd, env),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    @staticmethod
    def _command(args: list[str]) -> list[str]:
        return [sys.executable, "-m", "law_core", *args]

    @staticmethod
    def _env(cwd: Path, env: dict[str, str]) -> dict[str, str]:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("LAW_CORE")}
        full_env.update(env)
        full_env["PYTHONPATH"] = os.pathsep.join(
            [str(cwd)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        return full_env

    def run_workflow(self, cwd: Path, env: dict[str, str], *params: str,
                     task: str = "SuiteWork") -> subprocess.CompletedProcess:
        return self.law_core(["run", f"suite_tasks.{task}", "--workflow", self.manager_name,
                              "--poll-interval", "0.5s", *params], cwd, env)

    @staticmethod
    def job_dirs(cwd: Path, family: str = "SuiteWork") -> list[Path]:
        """The job directories of the workflows of ``family`` (one per workflow)."""
        return sorted(p.parent for p in (cwd / "data" / family / "jobs").glob("*/submission.json"))

    @staticmethod
    def bookkeeping(job_dir: Path) -> dict[str, Any] | None:
        """The bookkeeping file of a job directory (None before it is written)."""
        try:
            return json.loads((job_dir / "submission.json").read_text())
        except FileNotFoundError:
            return None

    @classmethod
    def submission(cls, cwd: Path, family: str = "SuiteWork") -> dict[str, Any]:
        dirs = cls.job_dirs(cwd, family)
        assert len(dirs) == 1, f"expected one bookkeeping file, found {dirs}"
        return cls.bookkeeping(dirs[0])

    @staticmethod
    def status_file(job_dir: Path, job: dict[str, Any]) -> Path:
        """Where the job of a bookkeeping entry records its exit status."""
        return job_dir / "status" / f"job_{job['num']}_{job['attempt']}.json"

    def manager(self, cwd: Path, env: dict[str, str], **params: Any) -> Any:
        """The job manager of a SuiteWork workflow, built in this process (``env`` is set
        in this process until the test ends)."""
        from law_core.config import get_config, reset_config
        from law_core.registry import get_registry

        for key, value in env.items():
            if key != "PYTHONPATH":
                self._monkeypatch.setenv(key, value)
        reset_config()  # read with the batch system's variables
        get_config().override("target", "store", str(cwd / "data"), "the job manager suite")
        sys.modules.pop("suite_tasks", None)  # the tasks of this test's analysis
        self._monkeypatch.syspath_prepend(str(cwd))
        module = importlib.import_module("suite_tasks")
        workflow = module.SuiteWork(workflow=self.manager_name, **params)
        return get_registry().job_manager(self.manager_name).load()(workflow)

    def outputs(self, cwd: Path, pattern: str, family: str = "SuiteWork") -> list[Path]:
        return sorted((cwd / "data" / family).glob(pattern))

    wait_for = staticmethod(lambda *args, **kwargs: wait_for(*args, **kwargs))

    @staticmethod
    @contextlib.contextmanager
    def sampled(sample: Any, interval: float = 0.1) -> Iterator[list[Any]]:
        """A context in which ``sample()`` is called every ``interval`` seconds in a
        thread; it gives the list of the results."""
        results: list[Any] = []
        stop = threading.Event()

        def loop() -> None:
            while not stop.is_set():
                results.append(sample())
                stop.wait(interval)

        thread = threading.Thread(target=loop)
        thread.start()
        try:
            yield results
        finally:
            stop.set()
            thread.join()

    # the suite: workflows through jobs

    def test_workflow_completes_through_jobs(self, analysis: Path, batch_env: dict) -> None:
        result = self.run_workflow(analysis, batch_env, "--n", "4", "--tasks-per-job", "2")
        assert result.returncode == 0, result.stderr[-3000:]
        outputs = self.outputs(analysis, "out_4_*.json")
        assert [p.name for p in outputs] == [f"out_4_{b}.json" for b in range(4)]
        pids = {json.loads(p.read_text())["pid"] for p in outputs}
        assert os.getpid() not in pids
        jobs = self.submission(analysis)["jobs"]
        assert len(jobs) == 2
        assert all(job["status"] == "finished" for job in jobs.values())
        assert sorted(b for job in jobs.values() for b in job["branches"]) == [0, 1, 2, 3]
        assert len({job["job_id"] for job in jobs.values()}) == 2
        # what may hold forwarded variables and parameter values is the user's alone
        job_dir = self.job_dirs(analysis)[0]
        for name in ("job_env.sh", "task.json"):
            assert stat.S_IMODE((job_dir / name).stat().st_mode) == 0o600, name

    def test_complete_workflow_submits_nothing(self, analysis: Path, batch_env: dict) -> None:
        assert self.run_workflow(analysis, batch_env, "--n", "2").returncode == 0
        again = self.run_workflow(analysis, batch_env, "--n", "2")
        assert again.returncode == 0 and "is complete; nothing to run" in again.stdout

    def test_parameter_values_arrive_exactly(self, analysis: Path, batch_env: dict) -> None:
        from law_core.testing.sandbox import TRICKY_ARGS, TRICKY_VALUES

        result = self.run_workflow(analysis, batch_env, *TRICKY_ARGS, task="SuiteTravels")
        assert result.returncode == 0, result.stderr[-3000:]
        for branch in (0, 1):
            path = analysis / "data" / "SuiteTravels" / f"travelled_{branch}.json"
            facts = json.loads(path.read_text())
            assert facts.pop("pid") != os.getpid()  # written by a job
            assert facts == TRICKY_VALUES

    def test_bootstrap_file_command_and_stage_out(self, analysis: Path, batch_env: dict
                                                  ) -> None:
        (analysis / "setup.sh").write_text("export FROM_BOOTSTRAP='sourced file'\n")
        (analysis / "law.cfg").write_text(
            f"[job]\nbootstrap_file = {analysis / 'setup.sh'}\n"
            "bootstrap_command = export FROM_COMMAND=\"ran command\"\n")
        result = self.run_workflow(analysis, batch_env, "--tasks-per-job", "2",
                                   task="SuiteStaged")
        assert result.returncode == 0, result.stderr[-3000:]
        assert (analysis / "data" / "SuiteStaged" / "env_1.txt").read_text() == \
            "sourced file ran command"
        staged = analysis / "staged_out"
        assert sorted(p.name for p in staged.iterdir()) == ["extra_0.log", "extra_1.log"]
        assert (staged / "extra_1.log").read_text() == "scratch of branch 1"

    def test_job_files_hold_no_secrets_and_quote_values(self, analysis: Path,
                                                        batch_env: dict) -> None:
        """A credential in the environment or the config never reaches a job file, nor a
        job that was not told to forward it; a forwarded value arrives unchanged, whatever
        a shell would make of it."""
        pwned = analysis / "pwned"
        tricky = _TRICKY_VALUE.format(pwned=pwned)
        (analysis / "law.cfg").write_text(
            "[job]\nforward_env = SUITE_FORWARDED\n\n"
            f"[suite_service]\napi_token = {_CONFIG_SECRET}\n")
        result = self.run_workflow(analysis, {**batch_env, "SUITE_TOKEN": _ENV_SECRET,
                                              "SUITE_FORWARDED": tricky}, task="SuiteEnv")
        assert result.returncode == 0, result.stderr[-3000:]
        seen = json.loads((analysis / "data" / "SuiteEnv" / "env.json").read_text())
        assert seen == {"forwarded": tricky, "token_seen": False}
        assert not pwned.exists()
        (job_dir,) = self.job_dirs(analysis, "SuiteEnv")
        for path in (path for path in job_dir.rglob("*") if path.is_file()):
            text = path.read_text(errors="replace")
            assert _ENV_SECRET not in text and _CONFIG_SECRET not in text, path
        for name in ("job_env.sh", "task.json"):
            assert stat.S_IMODE((job_dir / name).stat().st_mode) == 0o600, name

    def test_job_events_reach_plugins(self, analysis: Path, batch_env: dict) -> None:
        """A plugin implementing law_core_job_event sees every job's life (in-process run)."""
        import luigi

        from law_core.hookspecs import hookimpl
        from law_core.registry import get_registry

        seen = []

        class Dashboard:
            @hookimpl
            def law_core_job_event(self, event: Any) -> None:
                seen.append((event.kind, event.job_num, event.status, event.job_manager))

        self._monkeypatch.chdir(analysis)  # the jobs import the tasks from here
        self._monkeypatch.setenv("PYTHONPATH", str(analysis))
        work = self.manager(analysis, batch_env, n=2, tasks_per_job=1,
                            poll_interval=0.5 / 60).workflow
        registry = get_registry()
        registry.manager.register(Dashboard(), name="suite-dashboard")
        try:
            assert luigi.build([work], local_scheduler=True, log_level="WARNING")
        finally:
            registry.manager.unregister(name="suite-dashboard")
        kinds = [kind for kind, *_ in seen]
        assert kinds.count("submitted") == 2
        assert kinds.count("finished") == 2
        assert ("finished", 1, "finished", self.manager_name) in seen
        assert all(kind in ("submitted", "status_changed", "finished") for kind in kinds)

    # failures and retries

    def test_failed_branch_is_reported(self, analysis: Path, batch_env: dict) -> None:
        result = self.run_workflow(analysis, batch_env, "--n", "3", "--fail", "1",
                                   "--retries", "0")
        assert result.returncode == 1
        assert "1 of 3 branches of SuiteWork failed" in result.stderr
        jobs = self.submission(analysis)["jobs"]
        failed = [job for job in jobs.values() if job["status"] == "failed"]
        assert [job["branches"] for job in failed] == [[1]]
        assert failed[0]["error"]

    def test_failing_first_attempt_passes_on_resubmission(self, analysis: Path,
                                                          batch_env: dict) -> None:
        result = self.run_workflow(analysis, batch_env, "--n", "3", "--flaky", "1",
                                   "--retries", "1")
        assert result.returncode == 0, result.stderr[-3000:]
        assert "resubmitting" in result.stderr
        job_dir = self.job_dirs(analysis)[0]
        assert "the first attempt of the flaky branch fails" in \
            (job_dir / "logs" / "job_2_1.err").read_text()
        jobs = self.submission(analysis)["jobs"]
        assert jobs["2"]["attempt"] == 2 and jobs["2"]["status"] == "finished"
        assert all(job["attempt"] == 1 for num, job in jobs.items() if num != "2")
        assert len(self.outputs(analysis, "out_3_*.json")) == 3

    def test_failing_bootstrap_is_reported_with_its_phase(self, analysis: Path,
                                                          batch_env: dict) -> None:
        (analysis / "law.cfg").write_text("[job]\nbootstrap_command = false\n")
        result = self.run_workflow(analysis, batch_env, "--n", "1", "--retries", "0")
        assert result.returncode == 1
        assert "exit code 20 in phase bootstrap" in result.stderr

    def test_task_that_cannot_be_built_on_the_worker_fails_at_once(
            self, analysis: Path, batch_env: dict) -> None:
        """An import error of the task module on the worker: one attempt, not --retries."""
        result = self.law_core(["run", "suite_node_only.SuiteNodeOnly", "--workflow",
                                self.manager_name, "--retries", "3", "--tasks-per-job", "2",
                                "--poll-interval", "0.5s"], analysis, batch_env)
        assert result.returncode == 1
        message = "ImportError: the detector library is not installed on this node"
        assert message in result.stderr
        assert "not resubmitted" in result.stderr and "resubmitting" not in result.stderr
        (job,) = self.submission(analysis, "SuiteNodeOnly")["jobs"].values()
        assert job["attempt"] == 1 and job["status"] == "failed"
        assert "the task suite_node_only.SuiteNodeOnly could not be built on" in job["error"]
        assert message in job["error"]

    def test_branch_that_leaves_its_output_missing_fails_at_once(
            self, analysis: Path, batch_env: dict) -> None:
        """A branch whose run() returns without writing its output: one attempt, the missing
        output named."""
        result = self.run_workflow(analysis, batch_env, "--retries", "3", task="SuiteLazy")
        assert result.returncode == 1
        assert "resubmitting" not in result.stderr
        jobs = self.submission(analysis, "SuiteLazy")["jobs"]
        # the workflow stops once job 2 failed for good: job 1 may not have been polled again
        assert jobs["1"]["status"] != "failed" and jobs["1"]["attempt"] == 1
        assert jobs["2"]["status"] == "failed" and jobs["2"]["attempt"] == 1
        error = jobs["2"]["error"]
        assert "branches 1 ran without error but did not produce their outputs" in error
        assert str(analysis / "data" / "SuiteLazy" / "lazy_1.json") in error
        assert error in result.stderr

    def test_certain_failure_is_retried_only_with_changed_job_files(
            self, analysis: Path, batch_env: dict) -> None:
        from law_core.workflow.submission import FAILED, RETRY, Job

        self._monkeypatch.chdir(analysis)
        manager = self.manager(analysis, batch_env, n=2)
        job_dir = analysis / "jobs"
        manager._write_job_files(job_dir)
        current = Job(1, [0], attempt=1, extra={"files": manager._files_digest},
                      error="branch 0 would write elsewhere")
        manager._fail(current, retryable=False)
        assert current.status == FAILED  # the same files: it would fail the same way
        earlier = Job(2, [1], attempt=1, extra={"files": "0123456789ab"},
                      error="branch 1 would write elsewhere")
        manager._fail(earlier, retryable=False)
        assert earlier.status == RETRY  # ran with an earlier run's files: try the new ones
        assert "with the job files of an earlier run" in earlier.error

    # submitting: limits, restarts, one submitter

    def test_parallel_jobs_cap_is_never_exceeded(self, analysis: Path, batch_env: dict
                                                 ) -> None:
        manager = self.manager(analysis, batch_env, n=4, sleep=1.0)

        def active() -> int:
            return sum(self.active_jobs(manager, job_dir) for job_dir in self.job_dirs(analysis))

        with self.sampled(active) as peak:
            result = self.run_workflow(analysis, batch_env, "--n", "4", "--sleep", "1",
                                       "--parallel-jobs", "2")
        assert result.returncode == 0, result.stderr[-3000:]
        assert len(self.outputs(analysis, "out_4_*.json")) == 4
        assert len(peak) > 10
        assert max(peak) == 2  # the cap was reached, and never exceeded

    def test_sigkill_and_restart_submits_nothing_twice(self, analysis: Path, batch_env: dict
                                                       ) -> None:
        args = ["run", "suite_tasks.SuiteWork", "--n", "4", "--sleep", "2", "--workflow",
                self.manager_name, "--poll-interval", "0.5s", "--parallel-jobs", "2"]
        first = self.start_law_core(args, analysis, batch_env)
        try:
            def submitted() -> bool:
                dirs = self.job_dirs(analysis)
                data = self.bookkeeping(dirs[0]) if dirs else None
                return bool(data) and sum(1 for job in data["jobs"].values()
                                          if job["job_id"]) >= 2
            self.wait_for(submitted, 60, "the first jobs were not submitted")
        finally:
            first.send_signal(signal.SIGKILL)
            first_log = first.communicate()[1]
        second = self.law_core(args, analysis, batch_env)
        assert second.returncode == 0, second.stderr[-3000:]
        assert "resuming" in second.stderr
        assert len(self.outputs(analysis, "out_4_*.json")) == 4
        for branch in range(4):  # each branch ran once: no job was submitted twice
            runs = (analysis / "data" / "SuiteWork" / f"runs_4_{branch}.log").read_text()
            assert len(runs.split()) == 1, f"branch {branch} ran {len(runs.split())} times"
        job_dir = self.job_dirs(analysis)[0]
        jobs = self.bookkeeping(job_dir)["jobs"]
        again = {num: job["attempt"] for num, job in jobs.items() if job["attempt"] != 1}
        failures = [line for line in (first_log + second.stderr).splitlines()
                    if ") failed: " in line]
        assert not again, f"jobs submitted again (job: attempts) {again}: {failures}"
        known = self.known_jobs(self.manager(analysis, batch_env, n=4, sleep=2.0), job_dir)
        assert len(known) == len(set(known)) <= len(jobs), known  # each job known once

    def test_one_submitter_per_workflow(self, analysis: Path, batch_env: dict) -> None:
        """While another process holds a workflow's job directory, submitting is refused at
        once, naming that process; once it died (SIGKILL: no clean-up), nothing blocks."""
        from law_core.errors import WorkflowError

        manager = self.manager(analysis, batch_env, n=2)
        holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(manager.job_directory())],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline().strip() == "locked"
            with pytest.raises(WorkflowError, match=rf"jobs of SuiteWork\(.*\) are being "
                               rf"submitted and polled by pid {holder.pid} on host "):
                manager.run([0, 1])
        finally:
            holder.kill()
            holder.wait()
        assert not (manager.job_directory() / "submission.json").exists()  # nothing submitted
        with manager.lock("checked"):
            pass

    def test_ignored_submission_leaves_its_statuses_to_its_own_jobs(
            self, analysis: Path, batch_env: dict) -> None:
        assert self.run_workflow(analysis, batch_env, "--n", "2").returncode == 0
        old = self.submission(analysis)["jobs"]
        outputs = self.outputs(analysis, "out_2_*.json")
        first_pids = {json.loads(p.read_text())["pid"] for p in outputs}
        for path in outputs:
            path.unlink()
        # the old jobs' exit statuses must not be taken for those of the new jobs
        again = self.run_workflow(analysis, batch_env, "--n", "2", "--ignore-submission")
        assert again.returncode == 0, again.stderr[-3000:]
        new = self.submission(analysis)["jobs"]
        assert min(map(int, new)) > max(map(int, old))  # numbers go on
        assert all(job["status"] == "finished" for job in new.values())
        outputs = self.outputs(analysis, "out_2_*.json")
        assert len(outputs) == 2
        assert not {json.loads(p.read_text())["pid"] for p in outputs} & first_pids

    # the primitives, cancel and --no-poll

    def test_array_submission_query_and_cancel(self, analysis: Path, batch_env: dict) -> None:
        """A batch goes in one submit call; one query answers for all; cancel ends them."""
        from law_core.workflow.remote import JobSubmission

        manager = self.manager(analysis, batch_env, n=3, sleep=60.0)
        manager._write_job_files(manager.job_directory())
        job_dir = manager.job_directory()
        specs = [JobSubmission(num=i, attempt=1, name=f"law-suite-{i}-1", branches=(i,),
                               command=("sleep", "120"), stdout=str(job_dir / f"{i}.out"),
                               stderr=str(job_dir / f"{i}.err"), job_dir=str(job_dir))
                 for i in range(1, 4)]
        ids = manager.submit(specs)
        try:
            assert len(ids) == 3 and len(set(ids)) == 3
            deadline = time.monotonic() + 30
            while True:
                states = manager.query(ids)
                if all(states.get(i) is not None and states[i].status == "running"
                       for i in ids) or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert {states[i].status for i in ids} <= {"pending", "running"}
        finally:
            manager.cancel(ids)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            states = manager.query(ids)
            if all(i not in states or states[i].status == "failed" for i in ids):
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"cancelled jobs still active (or finished): {states}")

    def test_cancel_jobs(self, analysis: Path, batch_env: dict) -> None:
        """``--no-poll`` submits and returns; ``--cancel-jobs`` ends the jobs."""
        submitted = self.run_workflow(analysis, batch_env, "--n", "3", "--sleep", "120",
                                      "--no-poll")
        cancelled = None
        try:
            assert submitted.returncode == 0, submitted.stderr[-3000:]
            assert "3 still pending or running; run the same command again to poll them" in \
                submitted.stdout
            assert " done" not in submitted.stdout
            manager = self.manager(analysis, batch_env, n=3, sleep=120.0)
            job_dir = self.job_dirs(analysis)[0]
            assert self.active_jobs(manager, job_dir) == 3
        finally:
            cancelled = self.run_workflow(analysis, batch_env, "--n", "3", "--sleep", "120",
                                          "--cancel-jobs")
        assert cancelled.returncode == 0, cancelled.stderr[-3000:]
        assert "cancelled 3 jobs" in cancelled.stdout
        self.wait_for(lambda: self.active_jobs(manager, job_dir) == 0, 30,
                      "cancelled jobs are still pending or running")
        jobs = self.bookkeeping(job_dir)["jobs"]
        assert {job["status"] for job in jobs.values()} == {"failed"}
        assert not self.outputs(analysis, "out_3_*.json")

    def test_no_poll_is_not_done_and_nothing_downstream_runs(self, analysis: Path,
                                                             batch_env: dict) -> None:
        """After --no-poll the workflow is not complete: a task needing it does not run."""
        result = self.law_core(["run", "suite_tasks.SuiteMerge", "--on", self.manager_name],
                               analysis, batch_env)
        try:
            assert result.returncode == 1, result.stderr[-3000:]
            assert "Unfulfilled dependency at run time: SuiteWork" in result.stderr
            assert not (analysis / "data" / "SuiteMerge" / "merged.json").exists()
            manager = self.manager(analysis, batch_env, n=2, sleep=120.0)
            assert self.active_jobs(manager, self.job_dirs(analysis)[0]) == 2
        finally:
            self.run_workflow(analysis, batch_env, "--n", "2", "--sleep", "120",
                              "--cancel-jobs")

    def test_no_poll_leaves_the_jobs_counted_as_unfinished(self, analysis: Path,
                                                           batch_env: dict) -> None:
        """After --no-poll the manager says how many jobs go on; the workflow is not complete."""
        self._monkeypatch.chdir(analysis)  # the jobs run where the workflow was started
        manager = self.manager(analysis, batch_env, n=2, sleep=60.0, no_poll=True)
        try:
            assert manager.run([0, 1]) == {}
            assert manager.active_job_count() == 2
            assert manager.workflow.jobs_left_running() == 2
            assert not manager.workflow.complete()
        finally:
            manager.cancel_all()


#: a process that takes a job directory's lock and holds it until killed
HOLD_LOCK = """
import sys
from pathlib import Path

from law_core.workflow.lock import JobDirectoryLock

JobDirectoryLock(Path(sys.argv[1]), "submitted and polled", "a test").acquire()
print("locked", flush=True)
sys.stdin.read()
"""


def wait_for(condition: Any, timeout: float = 30.0, what: str = "the condition was not met",
             interval: float = 0.2) -> Any:
    """Call ``condition()`` until it returns something true, and return that; fail the
    test with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"{what} (waited {timeout:g} s)")
        time.sleep(interval)
    return result


def sleep_jobs(manager: Any, count: int, seconds: float = 30) -> list[Any]:
    """``count`` jobs (numbers 1..count) that sleep, for calling a manager's primitives
    directly; their logs go to the manager's job directory."""
    from law_core.workflow.remote import JobSubmission

    directory = str(manager.job_directory())
    return [JobSubmission(num=i, attempt=1, name=f"law-test-{i}-1", branches=(i,),
                          command=("sleep", str(seconds)),
                          stdout=f"{directory}/logs/job_{i}_1.out",
                          stderr=f"{directory}/logs/job_{i}_1.err", job_dir=directory)
            for i in range(1, count + 1)]


def write_tasks(directory: Path, name: str, code: str) -> Path:
    """Write a task module for a test (dedented)."""
    path = directory / f"{name}.py"
    path.write_text(textwrap.dedent(code))
    return path



class JobFilesOnly(RemoteJobManager):
    """A job manager that writes the job files and submits nothing, for tests that play the
    batch system themselves (run the job wrapper, copy the files around).
    :attr:`shared_fs` says whether its workers share this host's file system (None: as
    ``[job] shared_fs`` says)."""

    name = "jobfilesonly"
    shared_fs: ClassVar[bool | None] = None

    def shared_file_system(self) -> bool:
        return super().shared_file_system() if self.shared_fs is None else self.shared_fs

    def prepare_jobs(self, branches: list[int], job_file_branches: list[int] | None = None
                     ) -> tuple[Path, Any, list[Any]]:
        """Write the job files (for ``job_file_branches``, default the selected branches)
        and plan one first attempt per job of ``branches``, as a submission does; returns
        the job directory, the saved submission and the jobs' specs to run."""
        job_dir = self.job_directory()
        submission = self._load_submission(job_dir, ignore=False)
        self._write_job_files(job_dir, job_file_branches)
        self._plan_jobs(submission, branches)
        self._write_expected_outputs(job_dir, submission)
        for planned in submission.jobs.values():
            planned.attempt = 1
        submission.save()
        jobs = [self._submission_spec(planned, submission, job_dir)
                for planned in submission.jobs.values()]
        return job_dir, submission, jobs

    def submit(self, jobs: list[Any]) -> list[str]:
        raise NotImplementedError("the test runs the jobs itself")

    def query(self, job_ids: list[str]) -> dict[str, Any]:
        raise NotImplementedError("the test runs the jobs itself")

    def cancel(self, job_ids: list[str]) -> None:
        raise NotImplementedError("the test runs the jobs itself")
