"""Slurm's site limits: arrays split at the cluster's MaxArraySize, submissions paced by
``submit_rate``, a resource summary after polls (on the real test cluster, MaxArraySize=101)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from law_core.testing.job_manager import write_tasks

TASKS = """
    import luigi

    import law_core as law


    class Many(law.Workflow):
        n = luigi.IntParameter(default=10)

        def create_branch_map(self):
            return self.n

        def output(self):
            return self.local_target(f"out_{self.branch}.json")

        def run(self):
            self.output().dump({"branch": self.branch})
"""


@pytest.fixture
def ana(tmp_path):
    write_tasks(tmp_path, "many", TASKS)
    return tmp_path


def law_core(args, cwd, slurm):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAW_CORE")}
    env.update(SLURM_CONF=slurm.env["SLURM_CONF"], PYTHONPATH=str(cwd))
    return subprocess.run([sys.executable, "-m", "law_core", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_thousand_jobs_are_split_at_the_clusters_max_array_size(ana, slurm):
    # held jobs (sbatch --hold): nothing runs, the machine stays quiet
    (ana / "law.cfg").write_text("[slurm]\nextra_lines = --hold\n")
    result = law_core(["run", "many.Many", "--n", "1000", "--workflow", "slurm", "--no-poll"],
                      ana, slurm)
    assert result.returncode == 0, result.stderr[-3000:]
    job_dir = next((ana / "data" / "Many" / "jobs").iterdir())
    scripts = sorted(job_dir.glob("batch_*.sh"))
    assert len(scripts) == 10  # 9 arrays of 101 jobs, one of 91
    sizes = sorted(int(re.search(r"--array=0-(\d+)", s.read_text()).group(1)) + 1
                   for s in scripts)
    assert sizes == [91] + [101] * 9
    ours = [job for job in slurm.known_jobs() if job.get("JobName", "").startswith("law-Many")]
    assert len(ours) == 1000
    cancel = law_core(["run", "many.Many", "--n", "1000", "--workflow", "slurm",
                       "--cancel-jobs"], ana, slurm)
    assert cancel.returncode == 0 and "cancelled 1000 jobs" in cancel.stdout


def test_submit_rate_paces_submissions(ana, slurm):
    (ana / "law.cfg").write_text("[job]\nsubmit_rate = 2/3s\n")
    result = law_core(["run", "many.Many", "--n", "6", "--workflow", "slurm",
                       "--poll-interval", "10s", "--log-level", "INFO"], ana, slurm)
    assert result.returncode == 0, result.stderr[-3000:]
    job_dir = next((ana / "data" / "Many" / "jobs").iterdir())
    times = sorted(s.stat().st_mtime for s in job_dir.glob("batch_*.sh"))
    assert len(times) == 3  # two jobs at a time, never more
    assert times[1] - times[0] >= 2.9 and times[2] - times[1] >= 2.9
    # the poll interval (10 s) did not hold the next submission back
    assert times[2] - times[0] < 9
    # after polls: how long the jobs ran and how much memory they took
    assert re.search(r"6 ended slurm jobs of Many: run time median \d+s, max \d+s; peak "
                     r"memory median \d+ MB, max \d+ MB", result.stderr), result.stderr[-3000:]


def test_bad_submit_rate_is_a_clear_error(ana, slurm):
    (ana / "law.cfg").write_text("[slurm]\nsubmit_rate = fast\n")
    result = law_core(["run", "many.Many", "--n", "2", "--workflow", "slurm"], ana, slurm)
    assert result.returncode != 0
    assert "submit_rate = 'fast' is not a rate: give jobs per period, e.g. '50/2min'" in \
        result.stderr
    assert "Traceback" not in result.stderr
