"""law-core-slurm against a real Slurm cluster (slurmctld, slurmd, munge on localhost)."""

from __future__ import annotations

import errno
import importlib
import json
import os
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from law_core.config import reset_config
from law_core.errors import ConfigError
from law_core.registry import get_registry
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


def start_law_core(args, cwd, slurm, **env_vars):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAW_CORE")}
    env.update(SLURM_CONF=slurm.env["SLURM_CONF"], PYTHONPATH=str(cwd), **env_vars)
    return subprocess.Popen([sys.executable, "-m", "law_core", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def submission(cwd, family="Work"):
    files = list((cwd / "data" / family / "jobs").glob("slurm_*/submission.json"))
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


def unfinished_jobs(slurm, jobs_dir):
    """Jobs below ``jobs_dir`` that Slurm lists and that have not recorded their exit
    status. (A job that recorded it has ended for law-core, which may then submit the next
    one while Slurm still lists the old one for a moment: counting it would be a race.)
    Slurm is asked first, the status files are looked at after: a job counted was
    unfinished when Slurm answered."""
    out = slurm.run("squeue", "--noheader", "--array", "--format=%j|%K").stdout
    batches = {}
    for path in jobs_dir.glob("slurm_*/batch_*.json"):  # written before sbatch ran
        try:
            data = json.loads(path.read_text())
        except ValueError:  # being written: not submitted yet
            continue
        batches[data["name"]] = (path.parent, data["jobs"])
    count = 0
    for line in out.splitlines():
        name, _, index = line.strip().partition("|")
        if name in batches and index.isdigit():
            job_dir, entries = batches[name]
            num, attempt = entries[int(index)]
            count += not (job_dir / "status" / f"job_{num}_{attempt}.json").exists()
    return count


def test_parallel_jobs_cap_is_never_exceeded(ana, slurm):
    peak = []
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak.append(unfinished_jobs(slurm, ana / "data" / "Work" / "jobs"))
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


def test_sigkill_of_a_run_with_workers_stops_its_submitters_and_restart_resumes(ana, slurm):
    """luigi polls each workflow in a forked worker with --workers 2: killing the run kills
    them too (no orphan keeps submitting beside the restart), and the restart resumes."""
    gate = ana / "gate"  # the jobs wait for it: an orphan could not end by itself
    (ana / "two.py").write_text(
        "import os\nimport time\n\nimport law_core as law\nfrom ana import Work\n\n\n"
        "class Gated(Work):\n"
        "    def run(self):\n"
        f"        while not os.path.exists({str(gate)!r}):\n"
        "            time.sleep(0.2)\n"
        "        super().run()\n\n\n"
        "class Both(law.WrapperTask):\n"
        "    def requires(self):\n"
        "        return [Gated(n=n, workflow='slurm', tasks_per_job=2,\n"
        "                      poll_interval=0.5 / 60) for n in (4, 6)]\n")
    first = start_law_core(["run", "two.Both", "--workers", "2"], ana, slurm)
    deadline = time.monotonic() + 60
    subs = []
    while time.monotonic() < deadline:
        files = list((ana / "data" / "Gated" / "jobs").glob("slurm_*/submission.json"))
        subs = [json.loads(f.read_text()) for f in files]
        if len(subs) == 2 and all(all(j["job_id"] for j in sub["jobs"].values())
                                  for sub in subs):
            break
        time.sleep(0.2)
    else:
        first.kill()
        pytest.fail("the jobs of both workflows were not submitted in time")
    pollers = [int(p) for p in subprocess.run(
        ["pgrep", "-P", str(first.pid)], capture_output=True, text=True).stdout.split()]
    assert len(pollers) >= 2  # luigi's two forked workers, one per workflow
    first.send_signal(signal.SIGKILL)
    first.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_running(pid) for pid in pollers):
        time.sleep(0.1)
    assert not any(_running(pid) for pid in pollers), "a worker outlived the killed run"
    gate.touch()

    second = law_core(["run", "two.Both", "--workers", "2"], ana, slurm)
    assert second.returncode == 0, second.stderr[-3000:]
    assert len(list((ana / "data" / "Gated").glob("out_*.json"))) == 10
    assert sorted(len(sub["jobs"]) for sub in subs) == [2, 3]
    for sub in subs:  # each job known to slurmctld once
        names = [(job["JobName"], job.get("ArrayTaskId"))
                 for job in our_jobs(slurm, sub["name_prefix"])]
        assert len(names) == len(set(names)) == len(sub["jobs"]), names
    assert all(job["attempt"] == 1 for sub in
               (json.loads(f.read_text()) for f in
                (ana / "data" / "Gated" / "jobs").glob("slurm_*/submission.json"))
               for job in sub["jobs"].values())


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def test_cancel_jobs(ana, slurm):
    args = ["run", "ana.Work", "--n", "3", "--sleep", "120", "--workflow", "slurm"]
    submitted = law_core(args + ["--no-poll"], ana, slurm)
    assert submitted.returncode == 0, submitted.stderr[-3000:]
    assert "3 still pending or running; run the same command again to poll them" in \
        submitted.stdout
    assert " done" not in submitted.stdout
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


def manager_reading(ana, monkeypatch, config_text):
    """A Slurm manager of a Work workflow built in this process, with ``config_text`` as
    law.cfg: no cluster needed, the manager reads its config before it submits anything."""
    for key in [k for k in os.environ if k.startswith("LAW_CORE")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(ana)
    monkeypatch.syspath_prepend(str(ana))
    (ana / "law.cfg").write_text(config_text)
    reset_config()
    sys.modules.pop("ana", None)
    workflow = importlib.import_module("ana").Work(workflow="slurm")
    return get_registry().job_manager("slurm").load()(workflow)


@pytest.mark.parametrize("option, value, kind", [
    ("max_array_size", "zero", "an integer"),
    ("cpus", "four", "an integer"),
    ("time", "soon", "a duration (a number in m, or e.g. '2h')"),
    ("memory", "lots", "a size (a number in MB, or e.g. '2GB')"),
])
def test_numeric_config_option_that_is_no_number(ana, monkeypatch, option, value, kind):
    manager = manager_reading(ana, monkeypatch, f"[slurm]\n# the probe's\n{option} = {value}\n")
    with pytest.raises(ConfigError) as info:
        _ = manager.max_batch_size if option == "max_array_size" else manager.sbatch_options()
    assert str(info.value) == \
        f"config option slurm.{option} = {value!r} ({ana / 'law.cfg'}:3) is not {kind}"


def test_max_array_size_must_be_positive(ana, monkeypatch):
    manager = manager_reading(ana, monkeypatch, "[slurm]\nmax_array_size = -1\n")
    with pytest.raises(ConfigError, match=r"slurm.max_array_size = -1 must be a positive "
                                          r"integer \(0: the cluster's MaxArraySize\)"):
        _ = manager.max_batch_size


class SbatchGate:
    """A PATH-prefixed ``sbatch`` that holds the first submission until :meth:`open` (a
    fifo, no timing): the submitting process is then known to be in the middle of
    submitting, for as long as the test wants."""

    def __init__(self, directory):
        directory.mkdir()
        self.bin = directory
        self.entered = directory / "entered"
        self.fifo = directory / "release"
        os.mkfifo(self.fifo)
        real = shutil.which("sbatch", path="/usr/bin:/usr/local/bin:/bin")
        script = directory / "sbatch"
        script.write_text(
            "#!/bin/bash\n"
            f"touch {shlex.quote(str(self.entered))}\n"
            f"if [ -p {shlex.quote(str(self.fifo))} ]; then "
            f"cat {shlex.quote(str(self.fifo))} >/dev/null; fi\n"
            f'exec {shlex.quote(real)} "$@"\n')
        script.chmod(0o755)

    def path(self):
        return f"{self.bin}{os.pathsep}{os.environ['PATH']}"

    def wait_entered(self, proc):
        deadline = time.monotonic() + 60
        while not self.entered.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the first submitter never reached sbatch: {proc.stderr.read()}")
            time.sleep(0.05)

    def open(self, proc=None):
        """Let the held sbatch go on (once its reader is there); later calls pass."""
        deadline = time.monotonic() + 60
        while self.fifo.exists():
            try:
                fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as err:  # ENXIO: no reader (yet, or any more)
                if err.errno != errno.ENXIO:
                    raise
                if proc is None or proc.poll() is not None or time.monotonic() > deadline:
                    self.fifo.unlink()
                    return
                time.sleep(0.05)
                continue
            self.fifo.unlink()  # later sbatch calls are not held
            os.close(fd)  # the reader sees the end of the fifo


def test_second_submitter_of_a_workflow_stops_at_once(ana, slurm, tmp_path):
    """Two `law-core run` of one workflow: the second, started while the first is in the
    middle of submitting, stops at once naming it; slurmctld gets each job once."""
    gate = SbatchGate(tmp_path / "gate")
    args = ["run", "ana.Work", "--n", "12", "--workflow", "slurm", "--poll-interval", "0.5s"]
    first = start_law_core(args, ana, slurm, PATH=gate.path())
    try:
        gate.wait_entered(first)
        second = law_core(args, ana, slurm)
        assert second.returncode == 1, second.stderr[-3000:]
        lock_file = next((ana / "data" / "Work" / "jobs").glob("slurm_*/submission.lock"))
        assert (f"jobs of Work(branch=-1, branches=, n=12, sleep=0.0, flaky=-1) are being "
                f"submitted and polled by pid {first.pid} on host {socket.gethostname()} "
                f"since ") in second.stderr
        assert f"(lock file {lock_file}); wait for it, or stop it" in second.stderr
        gate.open(first)
        out, err = first.communicate(timeout=300)
        assert first.returncode == 0, err[-3000:]
    finally:
        gate.open()
        if first.poll() is None:
            first.kill()
            first.wait()
    assert len(list((ana / "data" / "Work").glob("out_12_*.json"))) == 12
    data = submission(ana)
    assert len(data["jobs"]) == 12
    assert all(job["attempt"] == 1 for job in data["jobs"].values())
    names = [(job["JobName"], job.get("ArrayTaskId"))
             for job in our_jobs(slurm, data["name_prefix"])]
    assert len(names) == 12 and len(set(names)) == 12, names  # each job submitted once
    # the lock went with its holder: the next run goes ahead
    again = law_core(args, ana, slurm)
    assert again.returncode == 0 and "is complete; nothing to run" in again.stdout


def test_cancel_jobs_is_refused_while_another_process_submits(ana, slurm, tmp_path):
    """--cancel-jobs while another process submits: refused with the holder named."""
    gate = SbatchGate(tmp_path / "gate")
    args = ["run", "ana.Work", "--n", "2", "--sleep", "120", "--workflow", "slurm",
            "--poll-interval", "0.5s"]
    first = start_law_core(args + ["--no-poll"], ana, slurm, PATH=gate.path())
    try:
        gate.wait_entered(first)
        refused = law_core(args + ["--cancel-jobs"], ana, slurm)
        assert refused.returncode == 1
        assert f"are being submitted and polled by pid {first.pid}" in refused.stderr
        gate.open(first)
        out, err = first.communicate(timeout=300)
        assert first.returncode == 0, err[-3000:]
    finally:
        gate.open()
        if first.poll() is None:
            first.kill()
            first.wait()
    cancelled = law_core(args + ["--cancel-jobs"], ana, slurm)
    assert cancelled.returncode == 0, cancelled.stderr
    assert "cancelled 2 jobs" in cancelled.stdout


def test_task_that_cannot_be_built_on_the_worker_fails_at_once(ana, slurm):
    """An import error of the task module on the worker: one attempt, not --retries."""
    write_tasks(ana, "nodeonly", """
        import os

        import law_core as law

        if "LAW_CORE_JOB_HOME" in os.environ:  # in a job
            raise ImportError("the detector library is not installed on this node")


        class NodeOnly(law.Workflow):
            def create_branch_map(self):
                return 2

            def output(self):
                return self.local_target(f"out_{self.branch}.json")

            def run(self):
                self.output().dump({})
    """)
    result = law_core(["run", "nodeonly.NodeOnly", "--workflow", "slurm", "--retries", "3",
                       "--tasks-per-job", "2", "--poll-interval", "0.5s"], ana, slurm)
    assert result.returncode == 1
    message = "ImportError: the detector library is not installed on this node"
    assert message in result.stderr
    assert "not resubmitted" in result.stderr and "resubmitting" not in result.stderr
    (job,) = submission(ana, "NodeOnly")["jobs"].values()
    assert job["attempt"] == 1 and job["status"] == "failed"
    assert "the task nodeonly.NodeOnly could not be built on" in job["error"]
    assert message in job["error"]


def test_branch_that_leaves_its_output_missing_fails_at_once(ana, slurm):
    """A branch whose run() returns without writing its output: one attempt, the missing
    output named; a branch that raised on the same run stays retryable."""
    write_tasks(ana, "lazy", """
        import law_core as law


        class Lazy(law.Workflow):
            def create_branch_map(self):
                return 2

            def output(self):
                return self.local_target(f"lazy_{self.branch}.json")

            def run(self):
                if self.branch == 0:
                    self.output().dump({})
    """)
    result = law_core(["run", "lazy.Lazy", "--workflow", "slurm", "--retries", "3",
                       "--poll-interval", "0.5s"], ana, slurm)
    assert result.returncode == 1
    assert "resubmitting" not in result.stderr
    jobs = submission(ana, "Lazy")["jobs"]
    # the workflow stops once job 2 failed for good: job 1 may not have been polled again
    assert jobs["1"]["status"] != "failed" and jobs["1"]["attempt"] == 1
    assert jobs["2"]["status"] == "failed" and jobs["2"]["attempt"] == 1
    error = jobs["2"]["error"]
    assert "branches 1 ran without error but did not produce their outputs" in error
    assert str(ana / "data" / "Lazy" / "lazy_1.json") in error
    assert error in result.stderr


def test_forwarded_variables_stay_private_and_reach_the_job(ana, slurm):
    write_tasks(ana, "forwarded", """
        import os

        import law_core as law


        class Forwarded(law.Workflow):
            def create_branch_map(self):
                return 1

            def output(self):
                return self.local_target("token.txt")

            def run(self):
                self.output().dump(os.environ["MY_FORWARDED_TOKEN"])
    """)
    (ana / "law.cfg").write_text("[job]\nforward_env = MY_FORWARDED_TOKEN\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAW_CORE")}
    env.update(SLURM_CONF=slurm.env["SLURM_CONF"], PYTHONPATH=str(ana),
               MY_FORWARDED_TOKEN="t0ken")
    result = subprocess.run([sys.executable, "-m", "law_core", "run", "forwarded.Forwarded",
                             "--workflow", "slurm", "--poll-interval", "0.5s"], cwd=ana,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (ana / "data" / "Forwarded" / "token.txt").read_text() == "t0ken"
    job_dir = next((ana / "data" / "Forwarded" / "jobs").iterdir())
    assert "t0ken" in (job_dir / "job_env.sh").read_text()
    for name in ("job_env.sh", "task.json"):
        assert stat.S_IMODE((job_dir / name).stat().st_mode) == 0o600, name


def test_no_poll_is_not_done_and_nothing_downstream_runs(ana, slurm):
    """After --no-poll the workflow is not complete: a task needing it does not run."""
    write_tasks(ana, "downstream", """
        import law_core as law
        from ana import Work


        class Merge(law.Task):
            def requires(self):
                return Work(n=2, sleep=120, workflow="slurm", no_poll=True)

            def output(self):
                return self.local_target("merged.json")

            def run(self):
                self.output().dump("merged")
    """)
    result = law_core(["run", "downstream.Merge"], ana, slurm)
    try:
        assert result.returncode == 1
        assert "Unfulfilled dependency at run time: Work" in result.stderr
        assert not (ana / "data" / "Merge" / "merged.json").exists()
        assert len(our_jobs(slurm, submission(ana)["name_prefix"])) == 2
    finally:
        law_core(["run", "ana.Work", "--n", "2", "--sleep", "120", "--workflow", "slurm",
                  "--cancel-jobs"], ana, slurm)
