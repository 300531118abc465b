"""The job-manager suite against law-core's reference job manager (jobs as local processes):
the remote-job machinery tested with no batch system; and the reference manager itself."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from law_core.errors import ConfigError
from law_core.registry import get_registry
from law_core.testing import JobManagerSuite
from law_core.testing.reference_jobs import ReferenceJobs


class TestReferenceJobManager(JobManagerSuite):
    """The whole suite on ``--workflow processes``, with the spool as the batch system's
    own listing (the overrides a plugin's test class makes where its batch system lists
    jobs by name)."""

    manager_name = "processes"

    @pytest.fixture
    def batch_env(self, law_core_reference_jobs: ReferenceJobs) -> dict[str, str]:
        self.spool = law_core_reference_jobs
        return law_core_reference_jobs.env

    def _ours(self, job_dir: Path) -> list[dict]:
        prefix = self.bookkeeping(job_dir)["name_prefix"] + "-"
        return [job for job in self.spool.jobs() if job["name"].startswith(prefix)]

    def known_jobs(self, manager, job_dir: Path) -> list:
        return [job["name"] for job in self._ours(job_dir)]

    def active_jobs(self, manager, job_dir: Path) -> int:
        count = 0
        for job in self._ours(job_dir):  # the spool first, the status files after
            num, attempt = job["name"].rsplit("-", 2)[1:]
            done = (job_dir / "status" / f"job_{num}_{attempt}.json").exists()
            count += job["active"] and not done
        return count

    def test_sigkill_of_a_run_with_workers_stops_its_submitters_and_restart_resumes(
            self, analysis: Path, batch_env: dict) -> None:
        """luigi polls each workflow in a forked worker with --workers 2: killing the run
        kills them too (no orphan keeps submitting beside the restart), and the restart
        resumes. (The core's promise, whatever the batch system: tested here only.)"""
        gate = analysis / "gate"  # the jobs wait for it: an orphan could not end by itself
        (analysis / "two.py").write_text(
            "import os\nimport time\n\nimport law_core as law\n"
            "from suite_tasks import SuiteWork\n\n\n"
            "class Gated(SuiteWork):\n"
            "    def run(self):\n"
            f"        while not os.path.exists({str(gate)!r}):\n"
            "            time.sleep(0.2)\n"
            "        super().run()\n\n\n"
            "class Both(law.WrapperTask):\n"
            "    def requires(self):\n"
            "        return [Gated(n=n, workflow='processes', tasks_per_job=2,\n"
            "                      poll_interval=0.5 / 60) for n in (4, 6)]\n")
        first = self.start_law_core(["run", "two.Both", "--workers", "2"], analysis, batch_env)
        try:
            def submitted() -> bool:
                subs = [self.bookkeeping(d) for d in self.job_dirs(analysis, "Gated")]
                return len(subs) == 2 and all(job["job_id"] for sub in subs
                                              for job in sub["jobs"].values())
            self.wait_for(submitted, 60, "the jobs of both workflows were not submitted")
            pollers = [int(p) for p in subprocess.run(
                ["pgrep", "-P", str(first.pid)], capture_output=True, text=True).stdout.split()]
            assert len(pollers) >= 2  # luigi's two forked workers, one per workflow
        finally:
            first.send_signal(signal.SIGKILL)
            first.communicate()
        self.wait_for(lambda: not any(_running(pid) for pid in pollers), 30,
                      "a worker outlived the killed run")
        gate.touch()

        second = self.law_core(["run", "two.Both", "--workers", "2"], analysis, batch_env)
        assert second.returncode == 0, second.stderr[-3000:]
        assert len(self.outputs(analysis, "out_*.json", "Gated")) == 10
        job_dirs = self.job_dirs(analysis, "Gated")
        jobs = [self.bookkeeping(d)["jobs"] for d in job_dirs]
        assert sorted(map(len, jobs)) == [2, 3]
        for job_dir, its_jobs in zip(job_dirs, jobs):  # each job known once
            known = self.known_jobs(None, job_dir)
            assert len(known) == len(set(known)) == len(its_jobs), known
        assert all(job["attempt"] == 1 for its_jobs in jobs for job in its_jobs.values())


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


# the reference manager itself


@pytest.fixture
def processes(law_core_reference_jobs, tmp_path, monkeypatch):
    """A ``processes`` manager built in this process, and a job directory for it."""
    suite = JobManagerSuite()
    suite._monkeypatch = monkeypatch
    (tmp_path / "suite_tasks.py").write_text(__import__(
        "law_core.testing.job_manager", fromlist=["SUITE_TASKS"]).SUITE_TASKS)
    suite.manager_name = "processes"
    manager = suite.manager(tmp_path, law_core_reference_jobs.env, n=1)
    job_dir = manager.job_directory()
    job_dir.mkdir(parents=True)
    return manager, job_dir


def spec(job_dir: Path, num: int, *command: str):
    from law_core.plugin import JobSubmission

    return JobSubmission(num=num, attempt=1, name=f"law-ref-{num}-1", branches=(num,),
                         command=command, stdout=str(job_dir / f"{num}.out"),
                         stderr=str(job_dir / f"{num}.err"), job_dir=str(job_dir))


def wait_state(manager, job_id: str, status: str, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while True:
        state = manager.query([job_id]).get(job_id)
        if state is not None and state.status == status:
            return state
        assert time.monotonic() < deadline, f"job {job_id} is {state}, not {status}"
        time.sleep(0.05)


def test_states_as_observed(processes, monkeypatch):
    """Pending until the modelled queue lets it start, then running, then ended with the
    exit code its command returned; what ends without one was killed or cancelled."""
    manager, job_dir = processes
    monkeypatch.setenv("LAW_CORE__PROCESSES__START_DELAY", "0.5")
    manager.__dict__.pop("_settings", None)
    from law_core.config import reset_config

    reset_config()
    ok, failing = manager.submit([spec(job_dir, 1, "sh", "-c", "echo out; sleep 0.5"),
                                  spec(job_dir, 2, "sh", "-c", "echo bad >&2; exit 3")])
    assert manager.query([ok])[ok].status == "pending"
    wait_state(manager, ok, "running")
    assert wait_state(manager, ok, "finished").exit_code == 0
    state = wait_state(manager, failing, "failed")
    assert (state.exit_code, state.error) == (3, "the job exited with code 3")
    assert (job_dir / "1.out").read_text() == "out\n"
    assert (job_dir / "2.err").read_text() == "bad\n"

    manager.__dict__.pop("_settings", None)
    monkeypatch.delenv("LAW_CORE__PROCESSES__START_DELAY")
    reset_config()
    killed, cancelled = manager.submit([spec(job_dir, 3, "sleep", "60"),
                                        spec(job_dir, 4, "sleep", "60")])
    wait_state(manager, killed, "running")
    os.killpg(int((manager.spool() / killed / "pid").read_text()), signal.SIGKILL)
    assert wait_state(manager, killed, "failed").error == \
        "killed before it recorded an exit code"
    manager.cancel([cancelled])
    assert wait_state(manager, cancelled, "failed").error == "cancelled"
    assert manager.query(["999"]) == {}  # never heard of it


def test_job_gets_a_clean_environment(processes, monkeypatch):
    manager, job_dir = processes
    monkeypatch.setenv("SUITE_TOKEN", "not for jobs")
    (job_id,) = manager.submit([spec(job_dir, 1, "sh", "-c", 'echo "[$SUITE_TOKEN] $PATH"')])
    wait_state(manager, job_id, "finished")
    assert (job_dir / "1.out").read_text() == f"[] {os.defpath}\n"


def test_recover_finds_jobs_by_name(processes):
    manager, job_dir = processes
    submitted = manager.submit([spec(job_dir, 1, "true"), spec(job_dir, 2, "true")])
    found = manager.recover([spec(job_dir, 2, "true"), spec(job_dir, 7, "true")])
    assert found == {2: submitted[1]}  # job 7 was never submitted: submit it again


def test_cleanup_forgets_ended_jobs(processes):
    manager, job_dir = processes
    done, running = manager.submit([spec(job_dir, 1, "true"), spec(job_dir, 2, "sleep", "60")])
    wait_state(manager, done, "finished")
    manager.cleanup([done, running])
    assert set(manager.query([done, running])) == {running}  # an active job stays
    manager.cancel([running])


def test_start_delay_setting_is_checked(processes, monkeypatch):
    manager, _ = processes
    monkeypatch.setenv("LAW_CORE__PROCESSES__START_DELAY", "soon")
    manager.__dict__.pop("_settings", None)
    from law_core.config import reset_config

    reset_config()
    with pytest.raises(ConfigError, match=r"processes.start_delay = 'soon' .* is not a duration"):
        _ = manager.settings.start_delay


def test_not_a_backend_of_the_core():
    """Only tests make the reference manager discoverable: users never see it."""
    assert "processes" not in get_registry().job_managers()


def test_submission_that_timed_out_is_looked_for_not_submitted_twice(
        law_core_reference_jobs, tmp_path, monkeypatch):
    """The submit tool accepted the jobs but did not answer in time: the next round finds
    them (recover) instead of submitting them again, and the workflow completes."""
    from law_core.errors import BatchToolTimeout
    from law_core.testing.job_manager import SUITE_TASKS

    suite = JobManagerSuite()
    suite._monkeypatch = monkeypatch
    suite.manager_name = "processes"
    (tmp_path / "suite_tasks.py").write_text(SUITE_TASKS)
    monkeypatch.chdir(tmp_path)  # the jobs run where the workflow was started
    manager = suite.manager(tmp_path, law_core_reference_jobs.env, n=3,
                            poll_interval=0.5 / 60)
    submit, calls = manager.submit, []

    def slow_submit(jobs):
        calls.append([job.name for job in jobs])
        ids = submit(jobs)
        if len(calls) == 1:
            raise BatchToolTimeout("'submit' did not answer within 1 s")
        return ids

    monkeypatch.setattr(manager, "submit", slow_submit)
    assert manager.run([0, 1, 2]) == {}
    assert len(calls) == 1  # never submitted again
    names = [job["name"] for job in law_core_reference_jobs.jobs()]
    assert sorted(names) == sorted(calls[0])  # each job known to the "batch system" once
    assert len(list((tmp_path / "data" / "SuiteWork").glob("out_3_*.json"))) == 3


SHAPE = """
    import luigi

    import law_core as law


    class Select(law.Workflow):
        dataset = luigi.Parameter()

        def create_branch_map(self):
            return 6

        def output(self):
            return self.local_target(self.dataset, f"sel_{self.branch}.json")

        def run(self):
            self.output().dump({"events": 10 + self.branch})


    class Histogram(law.Workflow):
        dataset = luigi.Parameter()

        def create_branch_map(self):
            return 6

        def workflow_requires(self):
            reqs = super().workflow_requires()
            reqs["selection"] = Select.req(self)
            return reqs

        def requires(self):
            return Select.req(self)  # branch i needs Select branch i

        def output(self):
            return self.local_target(self.dataset, f"hist_{self.branch}.json")

        def run(self):
            self.output().dump({"entries": self.input().load()["events"]})


    class Plot(law.Task):
        def requires(self):
            return [Histogram.req(self, dataset=d) for d in ("a", "b")]

        def output(self):
            return self.local_target("plot.json")

        def run(self):
            self.output().dump(sorted(t.path for h in self.input()
                                      for t in h["collection"].targets.values()))
"""


def law_core_run(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """``law-core run ARGS`` in ``cwd`` with the reference jobs' environment ``env``."""
    from law_core.testing.cli import clean_env

    return subprocess.run([sys.executable, "-m", "law_core", "run", *args], cwd=cwd,
                          env=clean_env(cwd, **env), capture_output=True, text=True,
                          timeout=300)


def reference_analysis(tmp_path: Path, jobs: ReferenceJobs, name: str, module: str, config: str,
                       **env: str) -> dict[str, str]:
    """Write the task module ``name`` and ``law.cfg`` into ``tmp_path``; the environment
    of law-core runs there with the reference jobs (``jobs``), plus ``env``."""
    from law_core.testing.cli import write_module

    write_module(tmp_path, name, module)
    (tmp_path / "law.cfg").write_text(config)
    full = dict(jobs.env, **env)
    full["PYTHONPATH"] = f"{tmp_path}:{full['PYTHONPATH']}"
    return full


def test_workflows_after_workflows_run_as_job_batches(law_core_reference_jobs, tmp_path):
    """Branch-wise dependent remote workflows: each workflow's missing branches go to the
    batch system in one submission (never one job per luigi task), independent workflows
    are polled in parallel with --workers 2, and a re-run after one upstream output went
    submits exactly the two jobs that are missing."""
    env = reference_analysis(tmp_path, law_core_reference_jobs, "shape", SHAPE,
                             "[workflow]\ndefault = processes\n[Select]\npoll_interval = 0.5s\n"
                             "[Histogram]\npoll_interval = 0.5s\n")
    result = law_core_run(tmp_path, env, "shape.Plot", "--workers", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(json.loads((tmp_path / "data" / "Plot" / "plot.json").read_text())) == 12
    submissions = sorted((tmp_path / "data").glob("*/jobs/processes_*/submission.json"))
    assert len(submissions) == 4  # Select and Histogram of two datasets
    for path in submissions:
        jobs = json.loads(path.read_text())["jobs"]
        assert sorted(b for job in jobs.values() for b in job["branches"]) == list(range(6))
    assert len(law_core_reference_jobs.jobs()) == 24  # one job per branch, each once

    (tmp_path / "data" / "Select" / "a" / "sel_3.json").unlink()
    (tmp_path / "data" / "Histogram" / "a" / "hist_3.json").unlink()
    (tmp_path / "data" / "Plot" / "plot.json").unlink()
    again = law_core_run(tmp_path, env, "shape.Plot", "--workers", "2")
    assert again.returncode == 0, again.stderr[-3000:]
    assert len(law_core_reference_jobs.jobs()) == 26  # Select a/3 and Histogram a/3 only


FAILING_JOB = """
    import luigi

    import law_core as law


    class Part(law.Workflow):
        def create_branch_map(self):
            return 8

        def output(self):
            return self.local_target(f"part_{self.branch}.json")

        def run(self):
            if self.branch == 5:
                raise ValueError("corrupt input of branch 5")
            self.output().dump(self.branch)


    class Downstream(law.Workflow):
        def create_branch_map(self):
            return 8

        def requires(self):
            return Part.req(self)

        def output(self):
            return self.local_target(f"down_{self.branch}.json")

        def run(self):
            self.output().dump(self.input().load() * 2)
"""


def test_a_failed_job_fails_only_its_branches_without_outputs(law_core_reference_jobs,
                                                              tmp_path):
    """A job of four branches fails because one of them raised: the other three wrote their
    outputs and are done, so the tolerance is measured against one failed branch; a re-run
    waits for the new job of that branch (the earlier failed job does not count against it);
    the downstream workflow runs everything but the branch that needs it."""
    env = reference_analysis(tmp_path, law_core_reference_jobs, "failing", FAILING_JOB,
                             "[workflow]\ndefault = processes\n"
                             "[Part]\npoll_interval = 0.5s\ntasks_per_job = 4\n"
                             "[Downstream]\npoll_interval = 0.5s\n")

    def run(*args):
        return law_core_run(tmp_path, env, *args)

    # within the tolerance the job's own run ends well; its report still says who raised
    tolerant = run("failing.Part", "--tolerance", "0.25", "--acceptance", "0.8")
    assert tolerant.returncode == 0, tolerant.stderr[-3000:]
    assert "branches 5 raised (their tracebacks are in the job's log)" in tolerant.stderr
    assert "ran without error" not in tolerant.stderr
    assert "3 branches of Part have all their outputs although their job failed (branches " \
        "4, 6, 7): they count as done" in tolerant.stderr

    strict = run("failing.Part")
    assert strict.returncode != 0
    assert "1 of 8 branches of Part failed, more than the tolerance allows (0); failed: 5" \
        in strict.stderr, strict.stderr[-3000:]
    assert "branches 5 raised (their tracebacks are in the job's log)" in strict.stderr
    assert sorted(p.name for p in (tmp_path / "data" / "Part").glob("part_*.json")) == [
        f"part_{b}.json" for b in range(8) if b != 5]

    tolerant = run("failing.Downstream", "--Part-tolerance", "0.2", "--Part-acceptance",
                   "0.8", "--tolerance", "0.2")
    assert "1 branch of Downstream is blocked, its inputs are missing (branch 5;" in \
        tolerant.stderr, tolerant.stderr[-3000:]
    assert sorted(p.name for p in (tmp_path / "data" / "Downstream").glob("down_*.json")) == [
        f"down_{b}.json" for b in range(8) if b != 5]


SANDBOX_ELSEWHERE = """
    import os

    import luigi

    import law_core as law


    class Numbers(law.Workflow):
        def create_branch_map(self):
            return 4

        def output(self):
            return self.local_target(f"n_{self.branch}.json")

        def run(self):
            self.output().dump({"branch": self.branch})


    class Render(law.SandboxTask):
        # a script of the submitting machine, named by its shell: not on the job's node
        sandbox = "bash::" + os.environ.get("RENDER_SETUP", "/no/such/node/setup.sh")

        def requires(self):
            return Numbers.req(self)

        def output(self):
            return self.local_target("render.json")

        def run(self):
            self.output().dump(len(self.input()["collection"].targets))
"""


def test_a_job_checks_only_its_own_tasks_sandbox(law_core_reference_jobs, tmp_path):
    """The submitting side checks every sandbox the run may use before anything runs; a
    job runs only its own task, on a node that may lack the others' scripts and images
    (every job of the workflow failed, six times, on a sandbox it would never enter)."""
    setup = tmp_path / "render_setup.sh"
    setup.write_text("export RENDERED=1\n")
    env = reference_analysis(tmp_path, law_core_reference_jobs, "elsewhere", SANDBOX_ELSEWHERE,
                             "[workflow]\ndefault = processes\n"
                             "[Numbers]\npoll_interval = 0.5s\ntasks_per_job = 2\n",
                             RENDER_SETUP=str(setup))
    result = law_core_run(tmp_path, env, "elsewhere.Render")
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((tmp_path / "data" / "Render" / "render.json").read_text()) == 4
    assert len(law_core_reference_jobs.jobs()) == 2

    # the submitting side still refuses a sandbox it cannot enter, before any job
    (tmp_path / "data" / "Render" / "render.json").unlink()
    missing = law_core_run(tmp_path, dict(env, RENDER_SETUP=str(tmp_path / "gone.sh")),
                           "elsewhere.Render")
    assert missing.returncode == 1
    assert "gone.sh does not exist" in missing.stderr
    assert len(law_core_reference_jobs.jobs()) == 2


POLLING_BESIDE_LOCAL = """
    import os
    import time

    import law_core as law


    class Slow(law.Workflow):
        def create_branch_map(self):
            return 2

        def output(self):
            return self.local_target(f"slow_{self.branch}.json")

        def run(self):
            time.sleep(5)  # Quick runs meanwhile, even on a loaded machine
            self.output().dump(self.branch)


    class Quick(law.Workflow):
        def create_branch_map(self):
            return 6

        def output(self):
            return self.local_target(f"quick_{self.branch}.json")

        def run(self):
            time.sleep(0.2)
            self.output().dump({"pid": os.getpid()})


    class Both(law.Task):
        def requires(self):
            return [Slow.req(self), Quick.req(self)]

        def output(self):
            return self.local_target("both.json")

        def run(self):
            self.output().dump(True)
"""


def test_a_workflow_polling_a_batch_system_leaves_its_process_to_local_branches(
        law_core_reference_jobs, tmp_path):
    """With --workers 2, a workflow that only waits for its jobs holds none of the run's
    processes: a local workflow beside it runs its branches in two processes, not one."""
    env = reference_analysis(tmp_path, law_core_reference_jobs, "polling", POLLING_BESIDE_LOCAL,
                             "[workflow]\nSlow = processes\nQuick = local\n"
                             "[Slow]\npoll_interval = 0.2s\n")
    result = law_core_run(tmp_path, env, "polling.Both", "--workers", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    slow_done = max((tmp_path / "data" / "Slow" / f"slow_{b}.json").stat().st_mtime
                    for b in range(2))
    quick = [tmp_path / "data" / "Quick" / f"quick_{b}.json" for b in range(6)]
    assert max(p.stat().st_mtime for p in quick) < slow_done  # while Slow's jobs ran
    assert len({json.loads(p.read_text())["pid"] for p in quick}) == 2


ONE_RAISES_ONE_SLOW = """
    import time

    import law_core as law


    class Part(law.Workflow):
        def create_branch_map(self):
            return 8

        def output(self):
            return self.local_target(f"part_{self.branch}.json")

        def run(self):
            if self.branch == 1:
                raise ValueError("corrupt input of branch 1")
            if self.branch >= 4:
                time.sleep(1)  # the second job still runs when the first has failed
            self.output().dump(self.branch)
"""


def test_a_failed_jobs_done_branches_do_not_stop_the_polling_of_the_others(
        law_core_reference_jobs, tmp_path):
    """One raising branch fails its job of four for good; the other three wrote their
    outputs. Within a tolerance of one branch the workflow waits for its second job (it
    stopped polling at once, counting four failures against one allowed, and failed with
    'only 3 of 8 branches of Part are complete')."""
    env = reference_analysis(tmp_path, law_core_reference_jobs, "slow", ONE_RAISES_ONE_SLOW,
                             "[workflow]\ndefault = processes\n"
                             "[Part]\npoll_interval = 0.2s\ntasks_per_job = 4\n")
    result = law_core_run(tmp_path, env, "slow.Part", "--tolerance", "0.125", "--acceptance",
                          "7", "--retries", "0")
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in (tmp_path / "data" / "Part").glob("part_*.json")) == [
        f"part_{b}.json" for b in range(8) if b != 1]
    assert "3 branches of Part have all their outputs although their job failed" \
        in result.stderr
