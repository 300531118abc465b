"""law-core-slurm against a real Slurm cluster (slurmctld, slurmd, munge on localhost)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from law_core.testing import JobManagerSuite
from law_core.testing.job_manager import write_tasks

TASKS = """
    import os
    import time

    import luigi

    import law_core as law


    class Work(law.Workflow):
        n = luigi.IntParameter(default=10)
        sleep = luigi.FloatParameter(default=0.0)
        flaky = luigi.IntParameter(default=-1)

        def create_branch_map(self):
            return self.n

        def output(self):
            return self.local_target(f"out_{self.n}_{self.branch}.json")

        def run(self):
            time.sleep(self.sleep)
            marker = self.output().sibling(f"attempted_{self.branch}")
            if self.branch == self.flaky and not marker.exists():
                marker.touch()
                raise RuntimeError("the first attempt of the flaky branch fails")
            self.output().dump({"branch": self.branch})
"""


class TestSlurmConformance(JobManagerSuite):
    manager_name = "slurm"

    @pytest.fixture
    def batch_env(self, slurm):
        return {"SLURM_CONF": slurm.env["SLURM_CONF"]}


@pytest.fixture
def ana(tmp_path):
    write_tasks(tmp_path, "ana", TASKS)
    return tmp_path


def law_core(args, cwd, slurm, **kwargs):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAW_CORE")}
    env.update(SLURM_CONF=slurm.env["SLURM_CONF"], PYTHONPATH=str(cwd))
    return subprocess.run([sys.executable, "-m", "law_core", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, **kwargs)


def start_law_core(args, cwd, slurm):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAW_CORE")}
    env.update(SLURM_CONF=slurm.env["SLURM_CONF"], PYTHONPATH=str(cwd))
    return subprocess.Popen([sys.executable, "-m", "law_core", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def submission(cwd):
    files = list((cwd / "data" / "Work" / "jobs").glob("slurm_*/submission.json"))
    return json.loads(files[0].read_text()) if files else None


def our_jobs(slurm, prefix):
    return [job for job in slurm.known_jobs() if job.get("JobName", "").startswith(prefix)]


def test_fifty_branches_five_per_job(ana, slurm):
    result = law_core(["run", "ana.Work", "--n", "50", "--workflow", "slurm",
                       "--tasks-per-job", "5", "--poll-interval", "1s"], ana, slurm)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(list((ana / "data" / "Work").glob("out_50_*.json"))) == 50
    jobs = submission(ana)["jobs"]
    assert len(jobs) == 10
    assert all(len(job["branches"]) == 5 and job["status"] == "finished"
               for job in jobs.values())
    status = law_core(["run", "ana.Work", "--n", "50", "--print-status", "0"], ana, slurm)
    assert "collection of 50 targets: existent (50/50)" in status.stdout


def test_failing_first_attempt_passes_on_resubmission(ana, slurm):
    result = law_core(["run", "ana.Work", "--n", "4", "--flaky", "2", "--workflow", "slurm",
                       "--poll-interval", "1s", "--retries", "1"], ana, slurm)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "the first attempt of the flaky branch fails" in \
        (ana / "data" / "Work" / "jobs").joinpath(
            next(p.name for p in (ana / "data" / "Work" / "jobs").iterdir()),
            "logs", "job_3_1.err").read_text()
    jobs = submission(ana)["jobs"]
    assert jobs["3"]["attempt"] == 2 and jobs["3"]["status"] == "finished"
    assert all(job["attempt"] == 1 for num, job in jobs.items() if num != "3")
    assert "resubmitting" in result.stderr


def test_parallel_jobs_cap_is_never_exceeded(ana, slurm):
    prefix = "law-Work-"
    peak = []
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            out = slurm.run("squeue", "--noheader", "--array", "--format=%j").stdout
            peak.append(sum(1 for line in out.splitlines() if line.startswith(prefix)))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        result = law_core(["run", "ana.Work", "--n", "9", "--sleep", "1", "--workflow", "slurm",
                           "--parallel-jobs", "3", "--poll-interval", "0.5s"], ana, slurm)
    finally:
        stop.set()
        sampler.join()
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(list((ana / "data" / "Work").glob("out_9_*.json"))) == 9
    assert max(peak) == 3  # the cap was reached, and never exceeded
    assert len(peak) > 10


def test_sigkill_and_restart_submits_nothing_twice(ana, slurm):
    args = ["run", "ana.Work", "--n", "6", "--sleep", "4", "--workflow", "slurm",
            "--poll-interval", "0.5s", "--parallel-jobs", "4"]
    first = start_law_core(args, ana, slurm)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        data = submission(ana)
        if data and sum(1 for job in data["jobs"].values() if job["job_id"]) >= 4:
            break
        time.sleep(0.2)
    else:
        first.kill()
        pytest.fail("the jobs were not submitted in time")
    first.send_signal(signal.SIGKILL)
    first.wait()
    prefix = submission(ana)["name_prefix"]
    second = law_core(args, ana, slurm)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resuming" in second.stderr
    assert len(list((ana / "data" / "Work").glob("out_6_*.json"))) == 6
    known = our_jobs(slurm, prefix)
    names = [(job["JobName"], job.get("ArrayTaskId")) for job in known]
    assert len(names) == 6, names  # six jobs, each submitted once
    assert len(set(names)) == 6
    assert all(job["attempt"] == 1 for job in submission(ana)["jobs"].values())


def test_cancel_jobs(ana, slurm):
    args = ["run", "ana.Work", "--n", "3", "--sleep", "120", "--workflow", "slurm"]
    submitted = law_core(args + ["--no-poll"], ana, slurm)
    assert submitted.returncode == 0, submitted.stderr[-3000:]
    prefix = submission(ana)["name_prefix"]
    assert len([j for j in our_jobs(slurm, prefix) if j["JobState"] in ("PENDING", "RUNNING")]) \
        == 3
    cancelled = law_core(args + ["--cancel-jobs"], ana, slurm)
    assert cancelled.returncode == 0, cancelled.stderr
    assert "cancelled 3 jobs" in cancelled.stdout
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        states = {j["JobState"] for j in our_jobs(slurm, prefix)}
        if not states & {"PENDING", "RUNNING", "COMPLETING"}:
            break
        time.sleep(0.3)
    assert states <= {"CANCELLED"}, states
    assert {job["status"] for job in submission(ana)["jobs"].values()} == {"failed"}


def test_unknown_partition_is_a_clear_error(ana, slurm):
    result = law_core(["run", "ana.Work", "--n", "2", "--workflow", "slurm",
                       "--slurm-partition", "nosuchpartition"], ana, slurm)
    assert result.returncode == 1
    assert "sbatch refused the jobs: Batch job submission failed: Invalid partition name " \
           "specified" in result.stderr
    assert "--partition=nosuchpartition" in result.stderr
    # nothing counts as submitted: a second try with a good partition submits afresh
    jobs = submission(ana)["jobs"]
    assert all(job["job_id"] is None and job["status"] == "unsubmitted" for job in jobs.values())


def test_job_files_hold_no_secrets_and_quote_values(ana, slurm):
    env_secret = {"MY_TOKEN": "s3cr3t-token-value"}
    os.environ.update(env_secret)
    try:
        result = law_core(["run", "ana.Work", "--n", "1", "--workflow", "slurm",
                           "--poll-interval", "0.5s"], ana, slurm)
    finally:
        os.environ.pop("MY_TOKEN")
    assert result.returncode == 0, result.stderr[-3000:]
    job_dir = next((ana / "data" / "Work" / "jobs").iterdir())
    for path in job_dir.rglob("*"):
        if path.is_file():
            assert "s3cr3t-token-value" not in path.read_text(errors="replace"), path
    script = next(job_dir.glob("batch_*.sh")).read_text()
    assert "#SBATCH --export=NONE" in script


def test_slurm_options_from_parameters_and_config(ana, slurm, tmp_path):
    (ana / "law.cfg").write_text("[slurm]\nextra_lines = --comment=from-config\n"
                                 "time = 30\n")
    result = law_core(["run", "ana.Work", "--n", "1", "--workflow", "slurm",
                       "--slurm-memory", "1GB", "--slurm-cpus", "1", "--poll-interval", "0.5s",
                       "--slurm-partition", slurm.partition], ana, slurm)
    assert result.returncode == 0, result.stderr[-3000:]
    script = next(Path(ana / "data" / "Work" / "jobs").glob("*/batch_*.sh")).read_text()
    for option in ("--partition=lawtest", "--mem=1000M", "--cpus-per-task=1", "--time=30",
                   "--comment=from-config"):
        assert f"#SBATCH {option}" in script


def test_job_events_reach_plugins(ana, slurm, monkeypatch):
    """A plugin implementing law_core_job_event sees every job's life (in-process run)."""
    import importlib

    import luigi

    from law_core.config import get_config
    from law_core.hookspecs import hookimpl
    from law_core.registry import get_registry

    seen = []

    class Dashboard:
        @hookimpl
        def law_core_job_event(self, event):
            seen.append((event.kind, event.job_num, event.status, event.job_manager))

    monkeypatch.chdir(ana)
    monkeypatch.syspath_prepend(str(ana))
    monkeypatch.setenv("PYTHONPATH", str(ana))
    get_registry().manager.register(Dashboard(), name="dashboard")
    get_config().override("target", "store", str(ana / "data"), "test")
    work = importlib.import_module("ana").Work(n=2, workflow="slurm", tasks_per_job=1,
                                                poll_interval=0.5 / 60)
    assert luigi.build([work], local_scheduler=True, log_level="WARNING")
    kinds = [kind for kind, *_ in seen]
    assert kinds.count("submitted") == 2
    assert kinds.count("finished") == 2
    assert ("finished", 1, "finished", "slurm") in seen
    assert all(kind in ("submitted", "status_changed", "finished") for kind in kinds)


def test_bootstrap_file_command_and_stage_out(ana, slurm):
    write_tasks(ana, "staged", """
        import os

        import law_core as law


        class Staged(law.Workflow):
            def create_branch_map(self):
                return 2

            def output(self):
                return self.local_target(f"env_{self.branch}.txt")

            def run(self):
                home = os.environ["LAW_CORE_JOB_HOME"]
                with open(os.path.join(home, f"extra_{self.branch}.log"), "w") as f:
                    f.write(f"scratch of branch {self.branch}")
                self.output().dump(os.environ["FROM_BOOTSTRAP"] + " "
                                   + os.environ["FROM_COMMAND"])

            def job_stage_out(self):
                return [("extra_*.log", os.path.join(os.getcwd(), "staged_out"))]
    """)
    (ana / "setup.sh").write_text("export FROM_BOOTSTRAP='sourced file'\n")
    (ana / "law.cfg").write_text(f"[job]\nbootstrap_file = {ana / 'setup.sh'}\n"
                                 "bootstrap_command = export FROM_COMMAND=\"ran command\"\n")
    result = law_core(["run", "staged.Staged", "--workflow", "slurm", "--poll-interval", "0.5s",
                       "--tasks-per-job", "2"], ana, slurm)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (ana / "data" / "Staged" / "env_1.txt").read_text() == "sourced file ran command"
    assert sorted(p.name for p in (ana / "staged_out").iterdir()) == ["extra_0.log",
                                                                     "extra_1.log"]
    assert (ana / "staged_out" / "extra_1.log").read_text() == "scratch of branch 1"


def test_failing_bootstrap_is_reported_with_its_phase(ana, slurm):
    (ana / "law.cfg").write_text("[job]\nbootstrap_command = false\n")
    result = law_core(["run", "ana.Work", "--n", "1", "--workflow", "slurm",
                       "--poll-interval", "0.5s", "--retries", "0"], ana, slurm)
    assert result.returncode == 1
    assert "exit code 20 in phase bootstrap" in result.stderr
