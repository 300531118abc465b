"""A submitting process SIGKILLed in the middle of an ARC submission, then restarted: every
branch runs exactly once, on the job the CE already has.

``arcsub`` submits the jobs of a batch one after another (create the job, upload its
files; A-REX starts a job as soon as its uploads are complete) and writes its joblist
only at its end. So a process group killed during ``arcsub`` leaves jobs that run on the
CE but whose ids nobody recorded, and jobs waiting for files that never finished
uploading. Two moments are tested against the real A-REX:

- ``arcsub-returned``: ``arcsub`` ended (its joblist written), the submitting process is
  killed before it recorded the ids. The device is a test wrapper named ``arcsub`` early
  on ``PATH``: it runs the real ``arcsub``, then SIGKILLs its whole process group, once.
- ``arcsub-uploading``: the whole process group is killed while ``arcsub`` is still
  uploading, after the CE accepted the first job. The test freezes the real ``arcsub``
  (SIGSTOP) once the CE lists a job of the batch, checks that its joblist is not written,
  then SIGKILLs the group.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path

import pytest

from law_core.testing.job_manager import SUITE_TASKS, wait_for

BRANCHES = 4

#: the test device of the "arcsub-returned" case (not a stand-in: the real arcsub runs)
KILLING_ARCSUB = """#!/bin/bash
# test device: the real arcsub, then SIGKILL of the submitting process group (once), as if
# the submitting process died between arcsub's end and the recording of the job ids
"$ARC_TEST_REAL_ARCSUB" "$@"
status=$?
if rm "$ARC_TEST_KILL_ONCE" 2>/dev/null; then
  kill -KILL 0
fi
exit $status
"""


@pytest.fixture
def analysis(arc_fork_ce):
    """An analysis directory arcuser may write in (the outputs are local targets there);
    the law-core processes run with umask 0 so that the directories they create are too."""
    work = arc_fork_ce.base / "work"
    work.mkdir(mode=0o755, exist_ok=True)
    path = Path(tempfile.mkdtemp(dir=work))
    path.chmod(0o777)
    (path / "suite_tasks.py").write_text(SUITE_TASKS)
    old = os.umask(0)
    yield path
    os.umask(old)


def _env(ce, analysis: Path, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAW_CORE")}
    env.update(ce.env, LAW_CORE__ARC__CE=ce.url, LAW_CORE__ARC__PYTHON=ce.job_python,
               LAW_CORE__TARGET__STORE=str(analysis / "data"), PYTHONPATH=str(analysis),
               **more)
    return env


ARGS = ["run", "suite_tasks.SuiteWork", "--n", str(BRANCHES), "--workflow", "arc",
        "--poll-interval", "0.5s", "--tasks-per-job", "1", "--retries", "0"]


def _law_core(analysis: Path, env: dict[str, str]) -> subprocess.Popen:
    """``law-core run`` in a process group of its own (what the test kills)."""
    return subprocess.Popen([sys.executable, "-m", "law_core", *ARGS], cwd=analysis, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _ce_job_ids(ce) -> set[str]:
    """The ids of the test user's jobs the CE has (its REST job list)."""
    url = urllib.parse.urlsplit(ce.rest_url)
    context = ssl.create_default_context(capath=ce.env["X509_CERT_DIR"])
    context.load_cert_chain(ce.env["X509_USER_PROXY"])
    connection = http.client.HTTPSConnection(url.hostname, url.port, context=context,
                                             timeout=30)
    try:
        connection.request("GET", url.path + "/jobs", headers={"Accept": "application/json"})
        body = connection.getresponse().read().decode()
    finally:
        connection.close()
    jobs = json.loads(body).get("job", []) if body.strip() else []
    return {job["id"] for job in (jobs if isinstance(jobs, list) else [jobs])}


def _job_dir(analysis: Path) -> Path:
    (job_dir,) = (analysis / "data" / "SuiteWork" / "jobs").iterdir()
    return job_dir


def _joblist_size(job_dir: Path) -> int:
    """Jobs in arcsub's joblist (0 while it has not written it)."""
    path = job_dir / "arc" / "jobs.dat"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            return db.execute("SELECT count(*) FROM jobs").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.parametrize("moment", ["arcsub-returned", "arcsub-uploading"])
def test_sigkill_during_arc_submission_and_restart_submit_nothing_twice(
        arc_fork_ce, analysis, tmp_path, moment):
    ce = arc_fork_ce
    job_log = ce.base / "log" / "arex-jobs.log"
    log_start = job_log.stat().st_size if job_log.exists() else 0
    env = _env(ce, analysis)
    if moment == "arcsub-returned":
        device = tmp_path / "bin" / "arcsub"
        device.parent.mkdir()
        device.write_text(KILLING_ARCSUB)
        device.chmod(0o755)
        flag = tmp_path / "kill-once"
        flag.touch()
        first_env = {**env, "PATH": f"{device.parent}{os.pathsep}{env['PATH']}",
                     "ARC_TEST_REAL_ARCSUB": shutil.which("arcsub"),
                     "ARC_TEST_KILL_ONCE": str(flag)}
        first = _law_core(analysis, first_env)
        first.communicate(timeout=300)
        assert first.returncode == -signal.SIGKILL, "the device did not kill the submitter"
        assert not flag.exists()
        job_dir = _job_dir(analysis)
        assert _joblist_size(job_dir) == BRANCHES  # arcsub had ended
    else:
        known = _ce_job_ids(ce)
        first = _law_core(analysis, env)
        try:
            def arcsub_pid() -> int | None:
                markers = list((analysis / "data").glob("SuiteWork/jobs/*/arc/batch_*.pid"))
                return int(markers[0].read_text()) if markers else None
            pid = wait_for(arcsub_pid, 120, "arcsub was not started", interval=0.02)
            wait_for(lambda: _ce_job_ids(ce) - known, 60, "the CE accepted no job",
                     interval=0.02)
            try:
                os.kill(pid, signal.SIGSTOP)  # arcsub frozen: mid-way for certain
            except ProcessLookupError:
                pytest.fail("arcsub ended before the test could stop it mid-way")
            job_dir = _job_dir(analysis)
            assert _joblist_size(job_dir) == 0  # the ids are the CE's alone
            accepted = len(_ce_job_ids(ce) - known)
            assert 1 <= accepted <= BRANCHES
        finally:
            os.killpg(first.pid, signal.SIGKILL)
            first.communicate()
    data = json.loads((job_dir / "submission.json").read_text())
    assert [job["status"] for job in data["jobs"].values()] == ["submitting"] * BRANCHES
    assert not any(job["job_id"] for job in data["jobs"].values())

    second = _law_core(analysis, env)
    try:
        _, stderr = second.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(second.pid, signal.SIGKILL)
        pytest.fail("the restarted run did not end within 300 s:\n"
                    + second.communicate()[1][-3000:])
    assert second.returncode == 0, stderr[-3000:]
    assert "resuming" in stderr
    outputs = sorted((analysis / "data" / "SuiteWork").glob(f"out_{BRANCHES}_*.json"))
    assert len(outputs) == BRANCHES
    for branch in range(BRANCHES):  # each branch ran once: no job was submitted twice
        runs = (analysis / "data" / "SuiteWork" / f"runs_{BRANCHES}_{branch}.log").read_text()
        assert len(runs.split()) == 1, f"branch {branch} ran {len(runs.split())} times"
    data = json.loads((job_dir / "submission.json").read_text())
    assert [(job["status"], job["attempt"]) for job in data["jobs"].values()] == \
        [("finished", 1)] * BRANCHES
    # the CE accepted each job once: the restart took the CE's jobs, submitted none again
    with open(job_log) as log:
        log.seek(log_start)
        names = re.findall(rf'Started - job id: \S+, unix user: \S+, name: '
                           rf'"({re.escape(data["name_prefix"])}[^"]*)"', log.read())
    assert sorted(names) == sorted(f"{data['name_prefix']}-{n}-1" for n in range(1, BRANCHES + 1))
