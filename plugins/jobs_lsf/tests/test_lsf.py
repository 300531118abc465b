"""law-core-lsf against a STAND-IN LSF cluster.

LSF cannot be installed on the test machines: the bsub, bjobs, bkill and bparams these
tests call are the stand-ins of ``tests/standin/`` (see conftest.py), which follow LSF's
documented syntax, output and job states and run the jobs locally. The plugin's code path
is the real one: it calls the tools by name through PATH, exactly as on a submit host.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from law_core.plugin import JobSubmission
from law_core.testing import JobManagerSuite
from law_core.testing.job_manager import sleep_jobs, wait_for, write_tasks

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "analysis.py"

TASKS = """
    import os
    import time

    import luigi

    import law_core as law


    class Work(law.Workflow):
        n = luigi.IntParameter(default=2)
        sleep = luigi.FloatParameter(default=0.0)

        def create_branch_map(self):
            return self.n

        def output(self):
            return self.local_target(f"out_{self.n}_{self.branch}.json")

        def run(self):
            time.sleep(self.sleep)
            self.output().dump({"branch": self.branch, "pid": os.getpid(),
                                "token": os.environ.get("MY_TOKEN"),
                                "index": os.environ.get("LSB_JOBINDEX")})
"""


class TestLSF(JobManagerSuite):
    """The conformance suite on the stand-in cluster."""

    manager_name = "lsf"

    @pytest.fixture
    def batch_env(self, lsf):
        return lsf.env


# helpers


@pytest.fixture
def ana(tmp_path):
    write_tasks(tmp_path, "ana", TASKS)
    return tmp_path


def law_core(args, cwd, env, timeout=180):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("LAW_CORE")}
    full_env.update(env)
    full_env["PYTHONPATH"] = str(cwd)
    return subprocess.run([sys.executable, "-m", "law_core", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def run_work(cwd, env, *params):
    return law_core(["run", "ana.Work", "--workflow", "lsf", "--poll-interval", "0.5s",
                     *params], cwd, env)


def submission(cwd, family="Work"):
    files = list((cwd / "data" / family / "jobs").glob("lsf_*/submission.json"))
    assert len(files) == 1, files
    return json.loads(files[0].read_text())


def make_manager(cwd, env, **params):
    """The job manager of a Work workflow, built in this process."""
    from law_core.config import get_config
    from law_core.registry import get_registry

    os.environ.update(env)
    get_config().override("target", "store", str(cwd / "data"), "the lsf tests")
    sys.path.insert(0, str(cwd))
    try:
        sys.modules.pop("ana", None)
        module = importlib.import_module("ana")
    finally:
        sys.path.remove(str(cwd))
    manager = get_registry().job_manager("lsf").load()(module.Work(workflow="lsf", **params))
    manager._write_job_files(manager.job_directory())
    return manager




# through law-core run, as users do


def test_bsub_options_from_parameters_and_config(ana, lsf):
    (ana / "law.cfg").write_text("[lsf]\nproject = higgs\nextra_lines =\n    -G physics\n"
                                 "    -app short_jobs\n")
    result = run_work(ana, {**lsf.env, "MY_TOKEN": "s3cr3t"}, "--n", "2",
                      "--lsf-queue", "short", "--lsf-memory", "2GB", "--lsf-runtime", "2h",
                      "--lsf-cores", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    [bsub_call] = lsf.calls("bsub")
    assert bsub_call[0] == "-J" and re.fullmatch(r"law-Work-\w+-1-1\[1-2\]", bsub_call[1])
    assert bsub_call[2::2][:2] == ["-o", "-e"] and bsub_call[3].endswith("lsf_%J_%I.out")
    [job] = lsf.jobs().values()
    assert submission(ana)["jobs"]["1"]["job_id"] == f"{job['id']}[1]"
    options = job["options"]
    assert options["-q"] == "short" and options["-P"] == "higgs"
    assert options["-M"] == "2000MB" and options["-R"] == ["rusage[mem=2000MB]"]
    assert options["-W"] == "120" and options["-n"] == "2"
    assert options["-G"] == "physics" and options["-app"] == "short_jobs"  # #BSUB lines
    assert options["-env"] == "none" and job["env"] == {}  # nothing of the submitting shell
    outputs = [json.loads(p.read_text()) for p in sorted((ana / "data" / "Work").glob("out_*"))]
    assert [(o["token"], o["index"]) for o in outputs] == [(None, "1"), (None, "2")]
    for path in next((ana / "data" / "Work" / "jobs").iterdir()).rglob("*"):
        if path.is_file():
            assert "s3cr3t" not in path.read_text(errors="replace"), path
    # LSF's own report of each element goes to the -o file named by %J and %I, written once
    # the element's process ended (after the job recorded its exit status)
    report = next((ana / "data" / "Work" / "jobs").iterdir()) / "logs" / \
        f"lsf_{job['id']}_2.out"
    wait_for(lambda: report.exists() and "Successfully completed." in report.read_text(), 30,
             f"no LSF job report in {report}")


def test_extra_lines_must_be_bsub_options(ana, lsf):
    (ana / "law.cfg").write_text("[lsf]\nextra_lines = rm -rf /\n")
    result = run_work(ana, lsf.env, "--n", "1")
    assert result.returncode == 1
    assert "[lsf] extra_lines must hold bsub options such as '-G mygroup', not 'rm -rf /'" \
        in result.stderr
    assert lsf.calls("bsub") == []


def test_bad_queue_name_is_a_clear_submission_error(ana, lsf):
    result = run_work(ana, lsf.env, "--n", "2", "--lsf-queue", "nosuch")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "bsub refused the jobs: nosuch: Bad queue name. Job not submitted.; check " \
        "--lsf-queue" in result.stderr
    jobs = submission(ana)["jobs"]
    assert all(job["job_id"] is None and job["status"] == "unsubmitted"
               for job in jobs.values())


def test_bad_queue_name_raises_job_submission_error(ana, lsf):
    from law_core.plugin import JobSubmissionError

    manager = make_manager(ana, lsf.env, lsf_queue="nosuch")
    with pytest.raises(JobSubmissionError, match=r"bsub refused the jobs: nosuch: Bad queue "
                       r"name\. Job not submitted\.; .*\(options used: -env none -q nosuch\)"):
        manager.submit(sleep_jobs(manager, 2))


def test_missing_tools_are_a_clear_error(ana, lsf):
    env = {**lsf.env, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    result = run_work(ana, env, "--n", "1")
    assert result.returncode == 1
    assert "'bsub' was not found: is this a submit host for --workflow lsf? (law-core calls " \
        "bsub, bjobs, bkill)" in result.stderr


def test_arrays_are_split_at_the_clusters_max_job_array_size(ana, lsf):
    env = {**lsf.env, "LSF_STANDIN_MAX_JOB_ARRAY_SIZE": "3"}
    result = run_work(ana, env, "--n", "7")
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(call[1].rsplit("[", 1)[1] for call in lsf.calls("bsub")) == \
        ["1-1]", "1-3]", "1-3]"]
    assert lsf.calls("bparams") == [["-a"]]
    # the config may ask for smaller arrays still
    (ana / "law.cfg").write_text("[lsf]\nmax_array_size = 2\n")
    again = run_work(ana, env, "--n", "3", "--ignore-submission")
    assert again.returncode == 0, again.stderr[-3000:]
    assert sorted(call[1].rsplit("[", 1)[1] for call in lsf.calls("bsub")[3:]) == \
        ["1-1]", "1-2]"]


def test_older_lsf_without_json_is_read_from_columns(ana, lsf):
    env = {**lsf.env, "LSF_STANDIN_VERSION": "10.1.0.0"}
    assert "illegal option -- json" in lsf.run("bjobs", "-json", "-o", "stat", env=env).stderr
    result = run_work(ana, env, "--n", "3", "--tasks-per-job", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    assert all(job["status"] == "finished" for job in submission(ana)["jobs"].values())
    queries = lsf.calls("bjobs")[1:]  # after the test's own call
    assert queries[0][0] == "-json"  # tried once per run, then the columns
    assert all(call[:3] == ["-noheader", "-o", "jobid jobindex stat exit_code job_name "
                            "delimiter='|'"] for call in queries[1:])
    assert len(queries) > 2


def test_example_analysis_runs_on_lsf_by_config_alone(tmp_path, lsf):
    """examples/analysis.py with examples/law.cfg plus one [workflow] line: nothing in the
    code names LSF."""
    reference = (EXAMPLE.parent / "law.cfg").read_text()
    for name, selection in (("default", "default = lsf"), ("family", "CreateChars = lsf")):
        directory = tmp_path / name
        directory.mkdir()
        shutil.copy(EXAMPLE, directory / "analysis.py")
        (directory / "law.cfg").write_text(
            f"{reference}\n[workflow]\n{selection}\n\n[CreateChars]\ntasks_per_job = 9\n"
            "poll_interval = 0.5s\n")
        result = law_core(["run", "analysis.Summary"], directory, lsf.env)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
        summary = json.loads((directory / "data" / "Summary" / "summary.json").read_text())
        assert summary["alphabet"] == "abcdefghijklmnopqrstuvwxyz"
        jobs = submission(directory, "CreateChars")["jobs"]
        assert len(jobs) == 3 and all(job["status"] == "finished" for job in jobs.values())
        assert all("[" in job["job_id"] for job in jobs.values())
    assert len(lsf.calls("bsub")) == 2  # one array of three jobs per run


def test_parameters_reach_every_workflow(ana, lsf):
    result = law_core(["run", "ana.Work", "--help"], ana, lsf.env)
    for option in ("--lsf-queue", "--lsf-project", "--lsf-runtime", "--lsf-memory",
                   "--lsf-cores"):
        assert option in result.stdout
    assert "--lsf-extra-lines" not in result.stdout  # config only


# the primitives, called directly


def test_one_array_one_query_one_kill(ana, lsf):
    """A batch is one bsub array; many jobs are one bjobs call; cancel is one bkill."""
    manager = make_manager(ana, {**lsf.env, "LSF_STANDIN_SLOTS": "4"})
    ids = manager.submit(sleep_jobs(manager, 5))
    array = ids[0].split("[")[0]
    assert ids == [f"{array}[{i}]" for i in range(1, 6)]
    assert len(lsf.calls("bsub")) == 1

    def four_running():
        states = manager.query(ids)
        running = [i for i in ids if states[i].status == "running"]
        return states if len(running) == 4 else None

    before = len(lsf.calls("bjobs"))
    states = wait_for(four_running)
    queries = lsf.calls("bjobs")[before:]
    assert all(call[-2:] == ["-a", array] for call in queries)  # one call per poll
    assert states[ids[4]].status == "pending" and states[ids[4]].extra["state"] == "PEND"
    manager.cancel(ids)
    assert lsf.calls("bkill") == [ids]
    states = wait_for(lambda: (s := manager.query(ids)) and
                      all(st.status == "failed" for st in s.values()) and s)
    assert states[ids[0]].error == "LSF state EXIT (TERM_OWNER: job killed by owner)"
    assert states[ids[0]].exit_code == 130  # SIGINT, the first signal of bkill
    manager.cancel(ids)  # jobs that already ended are no error


def test_a_job_lsf_no_longer_knows_is_left_out(ana, lsf):
    manager = make_manager(ana, {**lsf.env, "LSF_STANDIN_CLEAN_PERIOD": "0"})
    [job_id] = manager.submit(sleep_jobs(manager, 1, seconds=0))
    wait_for(lambda: manager.query([job_id]) == {})  # ended and forgotten (CLEAN_PERIOD)
    assert manager.query([job_id, "99999[1]"]) == {}


def test_held_job_is_pending_until_killed(ana, lsf):
    from law_core.config import get_config

    manager = make_manager(ana, lsf.env)
    get_config().override("lsf", "extra_lines", "-H", "the test")
    [job_id] = manager.submit(sleep_jobs(manager, 1))
    state = manager.query([job_id])[job_id]
    assert (state.status, state.extra["state"]) == ("pending", "PSUSP")
    manager.cancel([job_id])
    state = manager.query([job_id])[job_id]
    assert (state.status, state.error) == ("failed",
                                           "LSF state EXIT (TERM_OWNER: job killed by owner)")


def test_recover_finds_an_interrupted_submission(ana, lsf):
    manager = make_manager(ana, lsf.env)
    jobs = sleep_jobs(manager, 3)
    ids = manager.submit(jobs)
    before = len(lsf.calls("bjobs"))
    assert manager.recover(jobs) == {1: ids[0], 2: ids[1], 3: ids[2]}
    [call] = lsf.calls("bjobs")[before:]
    assert call[-3:] == ["-a", "-J", "law-test-1-1*"]
    later = [JobSubmission(**{**job.__dict__, "attempt": 2}) for job in jobs]
    assert manager.recover(later) == {}  # another attempt was never submitted
    manager.cancel(ids)
    assert manager.recover(jobs) == {1: ids[0], 2: ids[1], 3: ids[2]}  # ended, still known


@pytest.mark.parametrize("record, job_id", [
    ({"JOBID": "123", "JOBINDEX": "4"}, "123[4]"),
    ({"JOBID": "123[4]", "JOBINDEX": "4"}, "123[4]"),  # LSB_BJOBS_DISPLAY_ENH=Y
    ({"JOBID": "123", "JOBINDEX": "0"}, "123"),  # not an array
    ({"JOBID": "123", "JOBINDEX": "-"}, "123"),
])
def test_array_element_ids(record, job_id):
    from law_core_lsf.manager import _element_id

    assert _element_id(record) == job_id


@pytest.mark.parametrize("output, array_id", [
    ("Job <4711> is submitted to queue <short>.\n", "4711"),
    ("Job <12> is submitted to default queue <normal>.\n", "12"),
    ("Cannot connect to LSF. Please wait ...\nJob <7> is submitted to queue <normal>.\n", "7"),
])
def test_bsub_output_gives_the_array_id(output, array_id):
    from law_core_lsf.manager import _SUBMITTED

    assert _SUBMITTED.search(output).group(1) == array_id


def test_query_understands_bjobs_json_of_every_state(ana, lsf, monkeypatch):
    """Each documented state maps to a status; an unknown one is left out."""
    manager = make_manager(ana, lsf.env)
    states = ["PEND", "PROV", "PSUSP", "WAIT", "RUN", "USUSP", "SSUSP", "UNKWN", "DONE", "EXIT",
              "ZOMBI", "NEWSTATE"]
    records = [{"JOBID": "9", "JOBINDEX": str(i), "STAT": s, "EXIT_CODE": "2" if s == "EXIT"
                else "", "JOB_NAME": f"x[{i}]", "EXIT_REASON": ""}
               for i, s in enumerate(states, 1)]
    output = json.dumps({"COMMAND": "bjobs", "JOBS": len(records), "RECORDS": records})
    monkeypatch.setattr(manager, "run_tool", lambda args, **kw: subprocess.CompletedProcess(
        args, 0, output, ""))
    ids = [f"9[{i}]" for i in range(1, len(states) + 1)]
    got = manager.query(ids)
    assert [got[i].status if i in got else None for i in ids] == [
        "pending"] * 4 + ["running"] * 4 + ["finished", "failed", "failed", None]
    assert got["9[10]"].exit_code == 2 and got["9[10]"].error == "LSF state EXIT (exit code 2)"


@pytest.mark.parametrize("returncode, stdout, stderr, outcome", [
    (255, "", "Job <9> is not found\n", {}),  # gone: an answer
    (0, "", "No job found\n", {}),
    (255, "", "LSF is down. Please wait ...\n", "bjobs failed: LSF is down"),  # not an answer
])
def test_bjobs_that_knows_no_jobs_or_fails(ana, lsf, monkeypatch, returncode, stdout, stderr,
                                           outcome):
    manager = make_manager(ana, lsf.env)
    monkeypatch.setattr(manager, "run_tool", lambda args, **kw: subprocess.CompletedProcess(
        args, returncode, stdout, stderr))
    if isinstance(outcome, str):
        with pytest.raises(RuntimeError, match=outcome):
            manager.query(["9[1]"])
    else:
        assert manager.query(["9[1]"]) == outcome
        assert manager.__dict__.get("_json", True)  # still asking for JSON
