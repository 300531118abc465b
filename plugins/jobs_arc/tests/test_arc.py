"""law-core-arc against a real A-REX (ARC 6.17, REST interface, fork LRMS) on this host.

The CE maps the test user's certificate to the unix user ``arcuser``: the jobs run as that
user in their session directories on the CE, which hold only what arcsub uploaded (the job
files of law-core's ``transfer_spec``). The submitting side runs as root; its job
directory (mode 0600 job files) is neither readable nor the working directory of a job.

The jobs carry law-core and the analysis in the core's software bundle (an input file
``arcsub`` uploads) and run in a directory of their own. Here they also get a Python by path
(a venv of the system Python, see :func:`law_core.testing.arc.job_python`, as ``[arc]
python``), and their outputs are local targets in an analysis directory on this machine,
given by its absolute path (a relative store would resolve in the job's directory): the
directory is writable for arcuser, and the law-core processes run with umask 0 so that the
output directories they create are too. ``test_arc_bundle.py`` has jobs that use no path of
this host at all.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from law_core.errors import WorkflowError
from law_core.testing import JobManagerSuite
from law_core.testing.arc import JOB_USER
from law_core.testing.job_manager import sleep_jobs, wait_for, write_tasks
from law_core.workflow.remote import JobSubmission


def arc_env(ce) -> dict[str, str]:
    """What the law-core processes of a test need: the client's credentials, the CE, and
    the Python arcuser can run."""
    return {**ce.env, "LAW_CORE__ARC__CE": ce.url, "LAW_CORE__ARC__PYTHON": ce.job_python}


@pytest.fixture
def open_umask():
    """Directories the submitting side creates (outputs) stay writable for arcuser."""
    old = os.umask(0)
    yield
    os.umask(old)


@pytest.fixture
def workdir(arc_fork_ce, open_umask) -> Path:
    """An analysis directory arcuser may enter and write in (pytest's tmp_path is 0700)."""
    work = arc_fork_ce.base / "work"
    work.mkdir(mode=0o755, exist_ok=True)
    path = Path(tempfile.mkdtemp(dir=work))
    path.chmod(0o777)
    return path


class TestArcConformance(JobManagerSuite):
    """The suite against the real CE. The batch system's own view of the jobs: A-REX's job
    log (every job it accepted, also those cleaned since) and its REST job list."""

    manager_name = "arc"
    timeout = 300.0

    @pytest.fixture
    def batch_env(self, arc_fork_ce, open_umask, analysis):
        self.ce = arc_fork_ce
        return {**arc_env(arc_fork_ce), "LAW_CORE__TARGET__STORE": str(analysis / "data")}

    @pytest.fixture
    def analysis(self, workdir):
        from law_core.testing.job_manager import SUITE_NODE_ONLY, SUITE_TASKS

        (workdir / "suite_tasks.py").write_text(SUITE_TASKS)
        (workdir / "suite_node_only.py").write_text(SUITE_NODE_ONLY)
        return workdir

    def known_jobs(self, manager, job_dir):
        prefix = self.bookkeeping(job_dir)["name_prefix"]
        log = (self.ce.base / "log" / "arex-jobs.log").read_text()
        return re.findall(rf'Started - job id: \S+, unix user: \S+, name: "({re.escape(prefix)}'
                          r'[^"]*)"', log)

    def active_jobs(self, manager, job_dir):
        """Without fetching anything (``query`` would): the CE's states, then the status
        files."""
        data = self.bookkeeping(job_dir)
        jobs = [job for job in data["jobs"].values() if job["job_id"]] if data else []
        states = manager.arc_states([job["job_id"] for job in jobs]) if jobs else {}
        from law_core_arc.manager import ARC_STATES

        return sum(1 for job in jobs
                   if ARC_STATES.get(states.get(job["job_id"], ""), "") in ("pending", "running")
                   and not self.status_file(job_dir, job).exists())


TASKS = """
    import json
    import os

    import luigi

    import law_core as law


    class WhereAmI(law.Workflow):
        def create_branch_map(self):
            return 1

        def output(self):
            return self.local_target("where.json")

        def run(self):
            self.output().dump({
                "uid": os.getuid(), "grid_job": os.environ.get("GRID_GLOBAL_JOBID"),
                "home": os.environ.get("HOME"), "proxy": os.environ.get("X509_USER_PROXY"),
                "job": json.loads(os.environ["LAW_CORE_JOB"]),
            })
"""


def law_core(args, cwd, ce, **env):
    full = {k: v for k, v in os.environ.items() if not k.startswith("LAW_CORE")}
    full.update(arc_env(ce), PYTHONPATH=str(cwd), LAW_CORE__TARGET__STORE=str(cwd / "data"),
                **env)
    return subprocess.run([sys.executable, "-m", "law_core", *args], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=300)


def manager_for(cwd: Path, ce, monkeypatch, **params):
    """The job manager of a one-branch workflow, built in this process."""
    from law_core.config import get_config, reset_config
    from law_core.registry import get_registry

    for key, value in arc_env(ce).items():
        monkeypatch.setenv(key, value)
    for key, value in params.pop("env", {}).items():
        monkeypatch.setenv(key, value)
    reset_config()
    get_config().override("target", "store", str(cwd / "data"), "the test")
    write_tasks(cwd, "ana_arc", TASKS)
    monkeypatch.syspath_prepend(str(cwd))
    sys.modules.pop("ana_arc", None)
    import ana_arc

    workflow = ana_arc.WhereAmI(workflow="arc", **params)
    return get_registry().job_manager("arc").load()(workflow)


def test_job_runs_as_another_user_in_the_session_directory(workdir, arc_fork_ce):
    """The job runs as arcuser on the CE; its job directory is the CE's session directory,
    not the submitting side's; it gets the proxy arcsub delegated, not the submitter's."""
    write_tasks(workdir, "ana_arc", TASKS)
    result = law_core(["run", "ana_arc.WhereAmI", "--workflow", "arc", "--poll-interval",
                       "0.5s"], workdir, arc_fork_ce)
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads((workdir / "data" / "WhereAmI" / "where.json").read_text())
    assert seen["uid"] == pwd.getpwnam(JOB_USER).pw_uid != os.getuid()
    session = arc_fork_ce.base / "session"
    assert seen["home"] == str(session / seen["grid_job"])  # the CE's session directory
    (job_dir,) = (workdir / "data" / "WhereAmI" / "jobs").iterdir()
    assert seen["job"]["job_dir"] == str(session / seen["grid_job"])
    assert seen["proxy"] and seen["proxy"] != arc_fork_ce.env["X509_USER_PROXY"]
    # the job's exit status and logs came back; the job is gone from the CE
    assert sorted(p.name for p in (job_dir / "status").iterdir()) == ["job_1_1.json"]
    assert (job_dir / "logs" / "job_1_1.out").exists()
    assert not any(session.iterdir()) or seen["grid_job"] not in os.listdir(session)
    # the description holds the job files by path, never the proxy
    (xrsl,) = (job_dir / "arc").glob("batch_*.xrsl")
    text = xrsl.read_text()
    assert "task.json" in text and "proxy" not in text.lower()


def test_description_carries_the_options_and_quotes_values(workdir, arc_fork_ce, monkeypatch):
    manager = manager_for(workdir, arc_fork_ce, monkeypatch, arc_queue="fork",
                          arc_memory=1500.0, arc_walltime=90.0, arc_cpus=2)
    manager._write_job_files(manager.job_directory())
    (job,) = sleep_jobs(manager, 1)
    job = JobSubmission(**{**job.__dict__, "name": 'odd "name"'})
    text = manager.description(job, manager.transfer_spec(job))
    for relation in ['(queue="fork")', "(memory=1500)", '(walltime="90 minutes")',
                     "(count=2)", '(jobname="odd ""name""")',
                     '(executable="/usr/bin/env")', '(arguments="sleep" "30")',
                     '(outputfiles=("status/job_1_1.json" "") ("job_1_1.out" "") '
                     '("job_1_1.err" ""))']:
        assert relation in text, (relation, text)
    assert f'("task.json" "{manager.job_directory() / "task.json"}")' in text


def test_missing_proxy_and_short_proxy_are_refused(workdir, arc_fork_ce, monkeypatch):
    manager = manager_for(workdir, arc_fork_ce, monkeypatch,
                          env={"X509_USER_PROXY": str(workdir / "no-proxy.pem")})
    with pytest.raises(WorkflowError, match="no X.509 proxy at .*no-proxy.pem: create one "
                       "with arcproxy"):
        manager.submit(sleep_jobs(manager, 1))
    manager = manager_for(workdir, arc_fork_ce, monkeypatch, arc_walltime=2 * 24 * 60.0)
    with pytest.raises(WorkflowError, match="valid for .* less than the jobs' wall time of "
                       "2880 minutes"):
        manager.submit(sleep_jobs(manager, 1))


def test_missing_declared_output_still_finishes_on_arc_and_is_cleaned(
        workdir, arc_fork_ce, monkeypatch):
    """A job that writes no exit status: ARC still says FINISHED. query() fetches what
    there is, cleans the job off the CE, and the core finds no status file (it then fails
    the job as having ended without an exit status)."""
    manager = manager_for(workdir, arc_fork_ce, monkeypatch)
    manager._write_job_files(manager.job_directory())
    (job,) = sleep_jobs(manager, 1, seconds=0)
    (job_id,) = manager.submit([job])
    states = wait_for(lambda: (s := manager.query([job_id])) and
                      s[job_id].status not in ("pending", "running") and s, 60,
                      "the job did not end")
    assert states[job_id].status == "finished"
    assert states[job_id].extra["arc_state"] == "FINISHED"
    assert not (manager.job_directory() / "status" / "job_1_1.json").exists()
    assert Path(job.stdout).exists()  # the logs came back
    assert manager.query([job_id]) == {}  # cleaned on the CE after retrieval
    assert manager.arc_states([job_id]) == {}


def test_killed_job_fails_with_the_ce_reason(workdir, arc_fork_ce, monkeypatch):
    manager = manager_for(workdir, arc_fork_ce, monkeypatch)
    manager._write_job_files(manager.job_directory())
    ids = manager.submit(sleep_jobs(manager, 1, seconds=300))
    wait_for(lambda: manager.arc_states(ids).get(ids[0]) == "RUNNING", 60, "not running")
    started = time.monotonic()
    manager.cancel(ids)
    states = wait_for(lambda: (s := manager.query(ids)) and s[ids[0]].status == "failed" and s,
                      60, "the cancelled job did not fail")
    # A-REX's REST interface calls it FAILED (arcstat's "Killed" is derived from the reason)
    assert states[ids[0]].extra["arc_state"] in ("FAILED", "KILLED")
    assert "on the CE: Job is canceled by external request" in states[ids[0]].error
    assert time.monotonic() - started < 60
    # the reaper left nothing of the job running
    leftovers = subprocess.run(["pgrep", "-u", JOB_USER, "-f", "sleep 300"],
                               capture_output=True, text=True).stdout.split()
    assert leftovers == []
