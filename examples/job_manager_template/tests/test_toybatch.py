"""law-core-toybatch against the STAND-IN toybatch of tests/standin (see conftest.py).

The plugin is correct when its subclass of law-core's ``JobManagerSuite`` passes: the
suite runs small workflows through ``law-core run`` as users do and calls the primitives
directly where a workflow cannot show them. The tests added below check what is this
plugin's own: its settings reach the batch system, a refusal says why, a host without the
tools is told so, states map to law-core's, an interrupted submission is recovered.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from law_core.plugin import FAILED, FINISHED, JobState, JobSubmission
from law_core.testing import JobManagerSuite


def specs(job_dir: Path, *commands: tuple[str, ...], attempt: int = 1) -> list[JobSubmission]:
    """Jobs as law-core hands them to submit(), running ``commands``."""
    job_dir.mkdir(parents=True, exist_ok=True)
    return [JobSubmission(num=num, attempt=attempt, name=f"law-template-1-{attempt}",
                          branches=(num,), command=command, stdout=str(job_dir / f"{num}.out"),
                          stderr=str(job_dir / f"{num}.err"), job_dir=str(job_dir))
            for num, command in enumerate(commands, 1)]


class TestToyBatch(JobManagerSuite):
    manager_name = "toybatch"

    @pytest.fixture
    def batch_env(self, toybatch):
        self.toybatch = toybatch
        return toybatch.env

    def known_jobs(self, manager, job_dir):
        """The batch system's own listing, not the ids law-core recorded: a job submitted
        twice (its id lost in a crash) shows twice. Arrays carry their first job's name."""
        prefix = self.bookkeeping(job_dir)["name_prefix"]
        return [task for name, task in self.toybatch.tasks() if name.startswith(prefix)]

    # this plugin's own promises

    def test_settings_reach_the_batch_system(self, analysis, batch_env, toybatch):
        """A parameter the user set wins over the config, the config over the default."""
        (analysis / "law.cfg").write_text("[toybatch]\ntime = 2h\nmemory = 1GB\n")
        result = self.run_workflow(analysis, batch_env, "--n", "1", "--toybatch-queue",
                                   "long", "--toybatch-memory", "3GB")
        assert result.returncode == 0, result.stderr[-3000:]
        [argv] = toybatch.calls("toybatch-submit")
        assert argv[argv.index("--queue") + 1] == "long"
        assert argv[argv.index("--memory") + 1] == "3000"  # MB, from the parameter
        assert argv[argv.index("--time") + 1] == "120"  # minutes, from the config

    def test_refused_submission_says_why(self, analysis, batch_env):
        result = self.run_workflow(analysis, batch_env, "--n", "1", "--toybatch-queue", "nope")
        assert result.returncode == 1
        assert "toybatch refused the jobs" in result.stderr
        assert "unknown queue 'nope'" in result.stderr and "--toybatch-queue" in result.stderr

    def test_a_host_without_the_tools_is_told_so(self, analysis, batch_env):
        result = self.run_workflow(analysis, {**batch_env, "PATH": "/usr/bin:/bin"}, "--n", "1")
        assert result.returncode == 1
        assert "'toybatch-submit' was not found: is this a submit host for --workflow " \
            "toybatch?" in result.stderr

    def test_states_map_to_law_core_states(self, analysis, batch_env):
        manager = self.manager(analysis, batch_env, n=3)
        ids = manager.submit(specs(manager.job_directory(), ("true",), ("sh", "-c", "exit 3"),
                                   ("sleep", "60")))
        manager.cancel([ids[2]])
        deadline = time.monotonic() + 30
        while True:
            states = manager.query(ids)
            if all(states[i].status in (FINISHED, FAILED) for i in ids) or \
                    time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert states[ids[0]] == JobState(FINISHED, exit_code=0, extra={"state": "DONE"})
        assert states[ids[1]] == JobState(FAILED, exit_code=3, error="toybatch state FAILED",
                                          extra={"state": "FAILED"})
        assert states[ids[2]].status == FAILED
        assert states[ids[2]].error == "toybatch state CANCELLED"

    def test_recover_finds_an_interrupted_submission(self, analysis, batch_env):
        manager = self.manager(analysis, batch_env, n=2)
        jobs = specs(manager.job_directory(), ("sleep", "60"), ("sleep", "60"))
        ids = manager.submit(jobs)
        # as after a restart: the ids were never recorded; the batch system still knows them
        restarted = self.manager(analysis, batch_env, n=2)
        assert restarted.recover(jobs) == {1: ids[0], 2: ids[1]}
        # a later attempt that never reached the batch system is not found
        assert restarted.recover(specs(manager.job_directory(), ("true",), attempt=2)) == {}
        manager.cancel(ids)
