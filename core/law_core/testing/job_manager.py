"""The conformance suite of job managers (``--workflow NAME`` plugins).

A plugin's tests subclass :class:`JobManagerSuite`, name the manager and provide the
environment in which its batch system answers (a real cluster where one can run)::

    class TestSlurm(JobManagerSuite):
        manager_name = "slurm"

        @pytest.fixture
        def batch_env(self, slurm_cluster):
            return slurm_cluster.env

The suite runs small workflows through ``law-core run`` in fresh processes, as users
do, and calls the primitives directly where a workflow cannot show them (arrays, cancel).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest

SUITE_TASKS = '''
import os
import time

import luigi

import law_core as law


class SuiteWork(law.Workflow):
    n = luigi.IntParameter(default=4)
    sleep = luigi.FloatParameter(default=0.0)
    fail = law.CSVParameter(cls=luigi.IntParameter, default=())

    def create_branch_map(self):
        return self.n

    def output(self):
        return self.local_target(f"out_{self.n}_{self.branch}.json")

    def run(self):
        time.sleep(self.sleep)
        if self.branch in self.fail:
            raise RuntimeError(f"branch {self.branch} fails on purpose")
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
'''


class JobManagerSuite:
    """Base class of a job manager's conformance tests (not collected by itself)."""

    #: the name of ``--workflow NAME``
    manager_name: ClassVar[str] = ""
    #: seconds a short workflow may take here before a test gives up
    timeout: ClassVar[float] = 180.0

    @pytest.fixture
    def batch_env(self) -> dict[str, str]:
        """Environment variables that point the batch system's tools at the test
        backend; override it as a fixture."""
        return {}

    @pytest.fixture
    def analysis(self, tmp_path: Path) -> Path:
        (tmp_path / "suite_tasks.py").write_text(SUITE_TASKS)
        return tmp_path

    # helpers

    def law_core(self, args: list[str], cwd: Path, env: dict[str, str],
                 timeout: float | None = None) -> subprocess.CompletedProcess:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("LAW_CORE")}
        full_env.update(env)
        full_env["PYTHONPATH"] = str(cwd)
        return subprocess.run([sys.executable, "-m", "law_core", *args], cwd=cwd, env=full_env,
                              capture_output=True, text=True, timeout=timeout or self.timeout)

    def run_workflow(self, cwd: Path, env: dict[str, str], *params: str
                     ) -> subprocess.CompletedProcess:
        return self.law_core(["run", "suite_tasks.SuiteWork", "--workflow", self.manager_name,
                              "--poll-interval", "0.5s", *params], cwd, env)

    @staticmethod
    def submission(cwd: Path) -> dict[str, Any]:
        files = list((cwd / "data" / "SuiteWork" / "jobs").glob("*/submission.json"))
        assert len(files) == 1, f"expected one bookkeeping file, found {files}"
        return json.loads(files[0].read_text())

    def manager(self, cwd: Path, env: dict[str, str], **params: Any) -> Any:
        """The job manager of a SuiteWork workflow, built in this process."""
        import importlib

        from law_core.config import get_config
        from law_core.registry import get_registry

        get_config().override("target", "store", str(cwd / "data"), "the job manager suite")
        sys.path.insert(0, str(cwd))
        try:
            module = importlib.import_module("suite_tasks")
        finally:
            sys.path.remove(str(cwd))
        os.environ.update(env)
        workflow = module.SuiteWork(workflow=self.manager_name, **params)
        return get_registry().job_manager(self.manager_name).load()(workflow)

    # the suite

    def test_workflow_completes_through_jobs(self, analysis: Path, batch_env: dict) -> None:
        result = self.run_workflow(analysis, batch_env, "--n", "4", "--tasks-per-job", "2")
        assert result.returncode == 0, result.stderr[-3000:]
        outputs = sorted((analysis / "data" / "SuiteWork").glob("out_4_*.json"))
        assert [p.name for p in outputs] == [f"out_4_{b}.json" for b in range(4)]
        pids = {json.loads(p.read_text())["pid"] for p in outputs}
        assert os.getpid() not in pids
        jobs = self.submission(analysis)["jobs"]
        assert len(jobs) == 2
        assert all(job["status"] == "finished" for job in jobs.values())
        assert sorted(b for job in jobs.values() for b in job["branches"]) == [0, 1, 2, 3]
        assert len({job["job_id"] for job in jobs.values()}) == 2
        # what may hold forwarded variables and parameter values is the user's alone
        job_dir = next((analysis / "data" / "SuiteWork" / "jobs").iterdir())
        for name in ("job_env.sh", "task.json"):
            assert stat.S_IMODE((job_dir / name).stat().st_mode) == 0o600, name

    def test_complete_workflow_submits_nothing(self, analysis: Path, batch_env: dict) -> None:
        assert self.run_workflow(analysis, batch_env, "--n", "2").returncode == 0
        again = self.run_workflow(analysis, batch_env, "--n", "2")
        assert again.returncode == 0 and "is complete; nothing to run" in again.stdout

    def test_failed_branch_is_reported(self, analysis: Path, batch_env: dict) -> None:
        result = self.run_workflow(analysis, batch_env, "--n", "3", "--fail", "1",
                                   "--retries", "0")
        assert result.returncode == 1
        assert "1 of 3 branches of SuiteWork failed" in result.stderr
        jobs = self.submission(analysis)["jobs"]
        failed = [job for job in jobs.values() if job["status"] == "failed"]
        assert [job["branches"] for job in failed] == [[1]]
        assert failed[0]["error"]

    def test_ignored_submission_leaves_its_statuses_to_its_own_jobs(
            self, analysis: Path, batch_env: dict) -> None:
        assert self.run_workflow(analysis, batch_env, "--n", "2").returncode == 0
        old = self.submission(analysis)["jobs"]
        outputs = sorted((analysis / "data" / "SuiteWork").glob("out_2_*.json"))
        first_pids = {json.loads(p.read_text())["pid"] for p in outputs}
        for path in outputs:
            path.unlink()
        # the old jobs' exit statuses must not be taken for those of the new jobs
        again = self.run_workflow(analysis, batch_env, "--n", "2", "--ignore-submission")
        assert again.returncode == 0, again.stderr[-3000:]
        new = self.submission(analysis)["jobs"]
        assert min(map(int, new)) > max(map(int, old))  # numbers go on
        assert all(job["status"] == "finished" for job in new.values())
        outputs = sorted((analysis / "data" / "SuiteWork").glob("out_2_*.json"))
        assert len(outputs) == 2
        assert not {json.loads(p.read_text())["pid"] for p in outputs} & first_pids

    def test_parameter_values_arrive_exactly(self, analysis: Path, batch_env: dict) -> None:
        from law_core.testing.sandbox import TRICKY_ARGS, TRICKY_VALUES

        result = self.law_core(["run", "suite_tasks.SuiteTravels", "--workflow",
                                self.manager_name, "--poll-interval", "0.5s", *TRICKY_ARGS],
                               analysis, batch_env)
        assert result.returncode == 0, result.stderr[-3000:]
        for branch in (0, 1):
            path = analysis / "data" / "SuiteTravels" / f"travelled_{branch}.json"
            facts = json.loads(path.read_text())
            assert facts.pop("pid") != os.getpid()  # written by a job
            assert facts == TRICKY_VALUES

    def test_certain_failure_is_retried_only_with_changed_job_files(
            self, analysis: Path, batch_env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
        from law_core.workflow.submission import FAILED, RETRY, Job

        monkeypatch.chdir(analysis)
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
        assert len(ids) == 3 and len(set(ids)) == 3
        deadline = time.monotonic() + 30
        while True:
            states = manager.query(ids)
            if all(states.get(i) is not None and states[i].status == "running" for i in ids) \
                    or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert {states[i].status for i in ids} <= {"pending", "running"}
        manager.cancel(ids)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            states = manager.query(ids)
            if all(i not in states or states[i].status in ("failed", "finished") for i in ids):
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"cancelled jobs still active: {states}")


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

    def test_no_poll_leaves_the_jobs_counted_as_unfinished(
            self, analysis: Path, batch_env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
        """After --no-poll the manager says how many jobs go on; the workflow is not complete."""
        monkeypatch.chdir(analysis)  # the jobs run where the workflow was started
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


def write_tasks(directory: Path, name: str, code: str) -> Path:
    """Write a task module for a test (dedented)."""
    path = directory / f"{name}.py"
    path.write_text(textwrap.dedent(code))
    return path
