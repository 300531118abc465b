"""law-core-glite against a STAND-IN CREAM CE.

CREAM cannot be installed on the test machines: the glite-ce-* commands these tests call
are the stand-ins of ``tests/standin/`` (see conftest.py), which read the JDL with the
ClassAd parser and run the jobs locally with their sandboxes copied in and out. The
plugin's code path is the real one: it calls the tools by name through PATH.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from law_core.testing import JobManagerSuite
from law_core.testing.job_manager import write_tasks

REPO = Path(__file__).resolve().parents[3]


class TestGLite(JobManagerSuite):
    """The conformance suite; the CE comes from LAW_CORE__GLITE__CE (config alone)."""

    manager_name = "glite"

    @pytest.fixture
    def batch_env(self, cream, analysis):
        # the jobs run in their sandboxes: the outputs' store by its absolute path
        return {**cream.env, "LAW_CORE__TARGET__STORE": str(analysis / "data")}


TASKS = """
    import os

    import luigi

    import law_core as law


    class Work(law.Workflow):
        n = luigi.IntParameter(default=2)

        def create_branch_map(self):
            return self.n

        def output(self):
            return self.local_target(f"out_{self.n}_{self.branch}.json")

        def run(self):
            self.output().dump({"branch": self.branch, "pid": os.getpid()})
"""


@pytest.fixture
def ana(tmp_path):
    write_tasks(tmp_path, "ana", TASKS)
    return tmp_path


def law_core(args, cwd, env, timeout=180):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("LAW_CORE")}
    # the jobs run in their sandboxes: the outputs' store by its absolute path
    full_env["LAW_CORE__TARGET__STORE"] = str(cwd / "data").replace("$", "$$")
    full_env.update(env)
    full_env["PYTHONPATH"] = str(cwd)
    return subprocess.run([sys.executable, "-m", "law_core", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def run_work(cwd, env, *params):
    return law_core(["run", "ana.Work", "--workflow", "glite", "--poll-interval", "0.5s",
                     *params], cwd, env)


def bookkeeping(cwd, family="Work"):
    (path,) = (cwd / "data" / family / "jobs").glob("glite_*/submission.json")
    return json.loads(path.read_text())


def test_jdl_values_survive_quoting():
    """Strings come back exactly from the ClassAd parser CREAM uses; arguments from the
    shell-like split of the worker node."""
    import shlex

    import classad2
    from law_core_glite import jdl

    awkward = ["plain", "with space", "it's", 'say "hi"', "back\\slash", "$HOME", "a;b&c|d",
               "", "%20", "ünï"]
    for value in awkward:
        assert classad2.parseOne(f"[ A = {jdl.string(value)} ]")["A"] == value
    text = classad2.parseOne(f"[ Arguments = {jdl.arguments(awkward)} ]")["Arguments"]
    assert shlex.split(text) == awkward
    assert list(classad2.parseOne(f"[ L = {jdl.value(awkward)} ]")["L"]) == awkward


@pytest.mark.parametrize("value, message", [
    ("two\nlines", "holds a line break"),
    ("`date`", "holds a backquote"),
])
def test_values_a_jdl_cannot_carry_are_refused(value, message):
    from law_core_glite import jdl

    from law_core.plugin import WorkflowError

    with pytest.raises(WorkflowError, match=message):
        jdl.arguments(["ok", value])


def test_awkward_store_path_and_vo(tmp_path, cream):
    """A store path with spaces, quotes and $ reaches the job through the sandbox, and its
    exit status comes back through the OutputSandboxDestURI; the VO is quoted too."""
    ana = tmp_path / "ana 'single' \"double\" $HOME 100%"
    ana.mkdir()
    write_tasks(ana, "ana", TASKS)
    env = {**cream.env, "LAW_CORE__GLITE__VO": 'v"o\\x'}
    result = run_work(ana, env, "--n", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in (ana / "data" / "Work").glob("out_*")) == \
        ["out_2_0.json", "out_2_1.json"]
    assert {job["jdl"]["VirtualOrganisation"] for job in cream.jobs()} == {'v"o\\x'}
    for job in cream.jobs():
        assert job["jdl"]["Executable"] == "/usr/bin/env"  # no launcher script
        assert job["jdl"]["Arguments"].startswith("bash ./job_wrapper.sh . ")
        assert job["jdl"]["InputSandbox"][0] == "job_wrapper.sh"  # the awkward path unwritten
        assert any(name.startswith("status/job_") for name in job["jdl"]["OutputSandbox"])
        assert all("%20" in uri for uri in job["jdl"]["OutputSandboxDestURI"])


def test_one_status_call_for_many_jobs(ana, cream):
    result = run_work(ana, cream.env, "--n", "4", "--tasks-per-job", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    ids = {job["job_id"] for job in bookkeeping(ana)["jobs"].values()}
    calls = cream.calls("glite-ce-job-status")
    assert calls and any(set(ids) <= set(call) for call in calls), calls
    assert all(call[:2] == ["-L", "0"] for call in calls)
    # one JDL per glite-ce-job-submit call, all with the delegation made once for the run
    submits = cream.calls("glite-ce-job-submit")
    assert len(submits) == 4
    (delegation,) = cream.calls("glite-ce-delegate-proxy")
    assert all(call[:2] == ["-D", delegation[-1]] for call in submits)


def test_aborted_job_surfaces_cream_reason(ana, cream):
    """A queue the CE lacks: CREAM accepts the job, BLAH's refusal aborts it."""
    env = {**cream.env, "LAW_CORE__GLITE__CE": "cream.standin.localhost:8443/cream-pbs-nosuch"}
    result = run_work(ana, env, "--n", "1", "--retries", "0")
    assert result.returncode == 1
    (job,) = bookkeeping(ana)["jobs"].values()
    assert job["status"] == "failed"
    assert job["error"].startswith("CREAM state ABORTED: BLAH error: submission command failed")
    assert "Unknown queue" in job["error"] and "Unknown queue" in result.stderr


def test_done_failed_job_surfaces_cream_reason(ana, cream):
    """The output sandbox cannot reach this host: DONE-FAILED, with the upload's reason,
    shown and kept. The branch wrote its output on the shared disk, so it is done (as a
    re-run would find it), and the run says so."""
    env = {**cream.env, "LAW_CORE__GLITE__OUTPUT_URI": "gsiftp://elsewhere.invalid"}
    result = run_work(ana, env, "--n", "1", "--retries", "0")
    (job,) = bookkeeping(ana)["jobs"].values()
    assert job["error"].startswith("CREAM state DONE-FAILED (exit code 0): Cannot upload file")
    assert "gsiftp://elsewhere.invalid/" in job["error"]
    assert "failed: CREAM state DONE-FAILED (exit code 0): Cannot upload file" in result.stderr
    assert "1 branch of Work has all its outputs although its job failed " \
        "(branch 0): it counts as done" in result.stderr
    assert (ana / "data" / "Work" / "out_1_0.json").exists()
    assert result.returncode == 0, result.stderr[-3000:]


def test_missing_ce_is_a_clear_error(ana, cream):
    env = {k: v for k, v in cream.env.items() if k != "LAW_CORE__GLITE__CE"}
    result = run_work(ana, env)
    assert result.returncode == 1
    assert "no CREAM CE to submit to: give --glite-ce HOST:PORT/cream-BATCHSYSTEM-QUEUE, or " \
           "set ce in the [glite] section of law.cfg" in result.stderr
    assert not cream.calls()


def test_ce_given_as_parameter_and_malformed(ana, cream):
    env = {k: v for k, v in cream.env.items() if k != "LAW_CORE__GLITE__CE"}
    bad = run_work(ana, env, "--glite-ce", "cream.standin.localhost:8443")
    assert bad.returncode == 1
    assert "is not of the form HOST[:PORT]/cream-BATCHSYSTEM-QUEUE" in bad.stderr
    good = run_work(ana, env, "--glite-ce", "cream.standin.localhost:8443/cream-pbs-grid")
    assert good.returncode == 0, good.stderr[-3000:]


def test_unknown_delegation_and_unreachable_ce_are_refused(ana, cream):
    env = {**cream.env, "LAW_CORE__GLITE__DELEGATION_ID": "never-delegated"}
    result = run_work(ana, env, "--n", "1")
    assert result.returncode == 1
    assert "glite-ce-job-submit refused" in result.stderr
    assert "delegation [never-delegated] not found" in result.stderr
    env = {**cream.env, "LAW_CORE__GLITE__CE": "gone.example.org:8443/cream-pbs-grid"}
    result = run_work(ana, env, "--n", "1", "--ignore-submission")
    assert result.returncode == 1
    assert "could not delegate your proxy to gone.example.org:8443" in result.stderr


def test_automatic_delegation(ana, cream):
    env = {**cream.env, "LAW_CORE__GLITE__DELEGATION_ID": "auto"}
    assert run_work(ana, env, "--n", "2").returncode == 0
    assert all(call[0] == "-a" for call in cream.calls("glite-ce-job-submit"))
    assert not cream.calls("glite-ce-delegate-proxy")


def test_cleanup_jobs_purges_them(ana, cream):
    assert run_work(ana, cream.env, "--n", "2").returncode == 0
    ids = sorted(job["job_id"] for job in bookkeeping(ana)["jobs"].values())
    assert len(cream.jobs()) == 2
    result = run_work(ana, cream.env, "--n", "2", "--cleanup-jobs")
    assert result.returncode == 0, result.stderr[-3000:]
    (purge,) = cream.calls("glite-ce-job-purge")
    assert purge[0] == "-N" and sorted(purge[1:]) == ids
    assert cream.jobs() == []
    assert not list((ana / "data" / "Work" / "jobs").glob("glite_*"))


def test_example_analysis_runs_on_glite_by_config_alone(tmp_path, cream):
    """examples/analysis.py with its law.cfg plus a [workflow] line: nothing on the
    command line names gLite."""
    for name in ("analysis.py", "law.cfg"):
        shutil.copy(REPO / "examples" / name, tmp_path / name)
    with open(tmp_path / "law.cfg", "a") as f:
        f.write("\n[workflow]\nCreateChars = glite\n\n[CreateChars]\npoll_interval = 0.5s\n"
                "\n[glite]\nce = cream.standin.localhost:8443/cream-pbs-grid\n"
                "output_uri = gsiftp://localhost\n")
    env = {k: v for k, v in cream.env.items() if not k.startswith("LAW_CORE")}
    assert law_core(["index"], tmp_path, env).returncode == 0
    result = law_core(["run", "Summary"], tmp_path, env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(cream.jobs()) == 26
    assert (tmp_path / "data" / "CreateAlphabet" / "alphabet.txt").read_text() == \
        "abcdefghijklmnopqrstuvwxyz\n"
