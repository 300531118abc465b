"""law-core-slurm against a real Slurm cluster (slurmctld, slurmd, munge on localhost)."""

from __future__ import annotations

import errno
import importlib
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
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

        def create_branch_map(self):
            return self.n

        def output(self):
            return self.local_target(f"out_{self.n}_{self.branch}.json")

        def run(self):
            time.sleep(self.sleep)
            self.output().dump({"branch": self.branch})
"""


class TestSlurmConformance(JobManagerSuite):
    """The suite, with slurmctld's own listing of jobs (by name) as the batch system's view:
    it also shows a job submitted whose id law-core never recorded."""

    manager_name = "slurm"

    @pytest.fixture
    def batch_env(self, slurm):
        self.cluster = slurm
        return {"SLURM_CONF": slurm.env["SLURM_CONF"]}

    def known_jobs(self, manager, job_dir):
        prefix = self.bookkeeping(job_dir)["name_prefix"]
        return [(job["JobName"], job.get("ArrayTaskId"))
                for job in our_jobs(self.cluster, prefix)]

    def active_jobs(self, manager, job_dir):
        return unfinished_jobs(self.cluster, job_dir)


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


def unfinished_jobs(slurm, job_dir):
    """Jobs of ``job_dir`` that Slurm lists and that have not recorded their exit
    status. (A job that recorded it has ended for law-core, which may then submit the next
    one while Slurm still lists the old one for a moment: counting it would be a race.)
    Slurm is asked first, the status files are looked at after: a job counted was
    unfinished when Slurm answered."""
    out = slurm.run("squeue", "--noheader", "--array", "--format=%j|%K").stdout
    batches = {}
    for path in job_dir.glob("batch_*.json"):  # written before sbatch ran
        try:
            data = json.loads(path.read_text())
        except ValueError:  # being written: not submitted yet
            continue
        batches[data["name"]] = data["jobs"]
    count = 0
    for line in out.splitlines():
        name, _, index = line.strip().partition("|")
        if name in batches and index.isdigit():
            num, attempt = batches[name][int(index)]
            count += not (job_dir / "status" / f"job_{num}_{attempt}.json").exists()
    return count


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


def test_slurm_options_from_parameters_and_config(ana, slurm, tmp_path):
    (ana / "law.cfg").write_text("[slurm]\nextra_lines = --comment=from-config\n"
                                 "time = 30\n")
    result = law_core(["run", "ana.Work", "--n", "1", "--workflow", "slurm",
                       "--slurm-memory", "1GB", "--slurm-cpus", "1", "--poll-interval", "0.5s",
                       "--slurm-partition", slurm.partition], ana, slurm)
    assert result.returncode == 0, result.stderr[-3000:]
    script = next(Path(ana / "data" / "Work" / "jobs").glob("*/batch_*.sh")).read_text()
    # --export=NONE: the job gets the environment of job_env.sh, no credential of this one
    for option in ("--export=NONE", "--partition=lawtest", "--mem=1000M", "--cpus-per-task=1",
                   "--time=30", "--comment=from-config"):
        assert f"#SBATCH {option}" in script


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
        assert (f"jobs of Work(branch=-1, branches=, n=12, sleep=0.0) are being "
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
