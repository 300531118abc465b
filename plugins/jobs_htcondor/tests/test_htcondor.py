"""law-core-htcondor against a STAND-IN HTCondor pool.

HTCondor's daemons cannot be installed on the test machines: the condor_submit, condor_q,
condor_history and condor_rm these tests call are the stand-ins of ``tests/standin/`` (see
conftest.py), which parse submit descriptions with HTCondor's own parser (``htcondor2``)
and run the jobs locally. The plugin's code path is the real one: it calls the tools by
name through PATH, exactly as on a submit host.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from law_core.testing import JobManagerSuite
from law_core.testing.job_manager import sleep_jobs, wait_for, write_tasks
from law_core.workflow.remote import JobSubmission

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
                                "token": os.environ.get("MY_TOKEN")})
"""

#: what a job directory looks like when its path is as awkward as paths get
AWKWARD = "job dir 'single' \"double\" $HOME $(Cluster) 100%"


class TestHTCondorConformance(JobManagerSuite):
    """The conformance suite, jobs reading and writing the job directory in place."""

    manager_name = "htcondor"

    @pytest.fixture
    def batch_env(self, condor):
        return condor.env


class TestHTCondorConformanceFileTransfer(JobManagerSuite):
    """The conformance suite again, in file transfer mode (no shared file system): the jobs
    carry the software bundle and run in a directory of their own. The stand-in's workers
    are this host, so an absolute store path plays the storage that workers reach (a
    relative one would resolve in the job's own directory, which the jobs' output check
    catches)."""

    manager_name = "htcondor"

    @pytest.fixture
    def batch_env(self, condor, analysis):
        return {**condor.env, "LAW_CORE__HTCONDOR__FILE_TRANSFER": "true",
                "LAW_CORE__TARGET__STORE": str(analysis / "data")}


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
    return law_core(["run", "ana.Work", "--workflow", "htcondor", "--poll-interval", "0.5s",
                     *params], cwd, env)


def job_dir(cwd) -> Path:
    dirs = list((cwd / "data" / "Work" / "jobs").glob("htcondor_*"))
    assert len(dirs) == 1, dirs
    return dirs[0]


def submission(cwd):
    return json.loads((job_dir(cwd) / "submission.json").read_text())


def make_manager(cwd, env, **params):
    """The job manager of a Work workflow, built in this process."""
    from law_core.config import get_config
    from law_core.registry import get_registry

    os.environ.update(env)
    get_config().override("target", "store", str(cwd / "data"), "the htcondor tests")
    sys.path.insert(0, str(cwd))
    try:
        sys.modules.pop("ana", None)
        module = importlib.import_module("ana")
    finally:
        sys.path.remove(str(cwd))
    workflow = module.Work(workflow="htcondor", **params)
    manager = get_registry().job_manager("htcondor").load()(workflow)
    manager._write_job_files(manager.job_directory())
    return manager




def expanded_job(submit, row):
    """Command, directory and attributes of one row, expanded by HTCondor's own submit
    language and split by HTCondor's own argsToList."""
    import classad2
    import htcondor2

    one = htcondor2.Submit(dict(submit))
    for name, value in row.items():
        one[name] = value
    arguments = one.expand("arguments")
    assert arguments.startswith('"') and arguments.endswith('"')
    ad = classad2.ClassAd()
    ad["a"] = arguments[1:-1].replace('""', '"')
    argv = classad2.ExprTree("argsToList(a)").eval(ad)
    return {"argv": list(argv), "initialdir": one.expand("initialdir"),
            "executable": one.expand("executable"), "output": one.expand("output"),
            "error": one.expand("error"),
            "LawCoreJobDir": classad2.ExprTree(one.expand("MY.LawCoreJobDir")).eval(),
            "LawCoreJobNum": classad2.ExprTree(one.expand("MY.LawCoreJobNum")).eval()}


# the submit description


@pytest.mark.parametrize("file_transfer", [False, True], ids=["shared-fs", "file-transfer"])
def test_description_of_1000_jobs_is_one_queue_statement(ana, condor, tmp_path,
                                                         file_transfer):
    """HTCondor's parser accepts it and expands it to the 1000 jobs, awkward paths intact."""
    import htcondor2

    manager = make_manager(ana, {**condor.env, "LAW_CORE__HTCONDOR__FILE_TRANSFER":
                                 str(file_transfer).lower()})
    directory = str(tmp_path / AWKWARD)
    jobs = [JobSubmission(num=n, attempt=1 + n % 3, name=f"law-Work-abc-{n}-{1 + n % 3}",
                          branches=(n,), command=("bash", f"{directory}/job_wrapper.sh",
                                                  directory, str(n), str(1 + n % 3)),
                          stdout=f"{directory}/logs/job_{n}_{1 + n % 3}.out",
                          stderr=f"{directory}/logs/job_{n}_{1 + n % 3}.err", job_dir=directory)
            for n in range(1, 1001)]
    text = manager.submit_description(jobs)
    assert len(text.splitlines()) < 1000 + 40  # one line per job, the rest once
    submit = htcondor2.Submit(text)
    assert submit.getQArgs().startswith("law_job_num, law_attempt, law_stdout, law_stderr from")
    rows = list(submit.itemdata())
    assert rows == [{"law_job_num": str(job.num), "law_attempt": str(job.attempt),
                     "law_stdout": f"logs/job_{job.num}_{job.attempt}.out",
                     "law_stderr": f"logs/job_{job.num}_{job.attempt}.err"} for job in jobs]
    for i in (0, 1, 499, 998, 999):
        job = jobs[i]
        expanded = expanded_job(submit, rows[i])
        if file_transfer:  # run in the scratch directory: the job directory is "."
            assert expanded["argv"] == ["bash", "./job_wrapper.sh", ".", str(job.num),
                                        str(job.attempt)]
        else:
            assert expanded["argv"] == [*job.command]
        assert expanded["initialdir"] == directory
        assert expanded["executable"] == "/usr/bin/env"  # no launcher script
        assert expanded["output"] == f"logs/job_{job.num}_{job.attempt}.out"
        assert expanded["LawCoreJobDir"] == directory
        assert expanded["LawCoreJobNum"] == job.num
    assert submit["getenv"] == "false"
    assert submit["transfer_executable"] == "false"
    if file_transfer:
        assert submit["should_transfer_files"] == "YES"
        assert submit["transfer_input_files"].startswith("job_wrapper.sh")
        assert submit["transfer_output_files"] == "status"
    else:
        assert submit["should_transfer_files"] == "NO"


AWKWARD_VALUES = ["plain", "with space", "it's", 'say "hi"', "$HOME", "$(Cluster)", "$ENV(HOME)",
                  "$INT(3)", "$$", "cost: 5$", "", "tab\there", "''", '""', "a'b\"c$d e",
                  "100%", "trailing\\", "semi;colon,comma", "# not a comment"]


def roundtrip(value):
    """``value`` as an argument, a plain value and a ClassAd string, read back by HTCondor's
    own submit parser, macro expansion and argsToList."""
    import classad2
    import htcondor2
    from law_core_htcondor.submit_file import (
        arguments_value,
        classad_string,
        quote_argument,
        submit_value,
    )

    plain = "/x/" + value.strip(" \t\\")  # what a plain value cannot end with
    text = (f"arguments = {arguments_value(['first', quote_argument(value), 'last'])}\n"
            f"initialdir = {submit_value(plain)}\n"
            f"+Value = {classad_string(value)}\n"
            "queue\n")
    submit = htcondor2.Submit(text)
    arguments = submit.expand("arguments")
    ad = classad2.ClassAd()
    ad["a"] = arguments[1:-1].replace('""', '"')
    assert list(classad2.ExprTree("argsToList(a)").eval(ad)) == ["first", value, "last"]
    assert submit.expand("initialdir") == plain
    assert classad2.ExprTree(submit.expand("MY.Value")).eval() == value


@pytest.mark.parametrize("value", AWKWARD_VALUES)
def test_values_survive_htcondor_quoting(value):
    """Each value comes back from HTCondor's own parsing as it went in."""
    roundtrip(value)


def test_random_values_survive_htcondor_quoting_or_are_refused():
    """Random strings of the characters that matter: each one comes back intact, or is
    refused for a documented reason ($$( and $(DOLLAR) cannot be written)."""
    import random

    from law_core.errors import WorkflowError

    rng = random.Random(7)
    alphabet = list("$()#aEN'\" \t,;%\\") + ["ENV", "INT", "(DOLLAR)", "$("]
    refused = 0
    for _ in range(400):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        try:
            roundtrip(value)
        except WorkflowError as err:
            assert "match-time substitution" in str(err), (value, err)
            assert "$$(" in value or "$(DOLLAR" in value.upper(), value
            refused += 1
    assert refused < 100


def test_values_that_cannot_be_written_are_clear_errors():
    from law_core_htcondor.submit_file import quote_argument, safe_item, submit_value

    from law_core.errors import WorkflowError

    with pytest.raises(WorkflowError, match="line break"):
        quote_argument("two\nlines")
    with pytest.raises(WorkflowError, match="whitespace"):
        submit_value(" padded")
    with pytest.raises(WorkflowError, match="line continuation"):
        submit_value("/ends/with\\")
    with pytest.raises(WorkflowError, match="match-time substitution"):
        quote_argument("$$(Memory)")
    with pytest.raises(WorkflowError, match="split at commas and whitespace"):
        safe_item("a b.txt", "the input file")


# workflows through the stand-in pool


def test_awkward_store_path_in_both_modes(ana, condor):
    """Spaces, quotes and $ in every path of the job: the jobs still run."""
    for mode in ("false", "true"):
        # config values expand variables: $$ is a literal $ (in the path of the job too)
        store = ana / f"store 'single' \"double\" $NO_SUCH_VARIABLE $(Cluster) 5$ {mode}"
        (ana / "law.cfg").write_text(f"[target]\nstore = {str(store).replace('$', '$$')}\n")
        result = run_work(ana, condor.env, "--n", "3", "--tasks-per-job", "2",
                          "--htcondor-file-transfer", mode)
        assert result.returncode == 0, result.stderr[-3000:]
        assert sorted(p.name for p in (store / "Work").glob("out_*.json")) == \
            ["out_3_0.json", "out_3_1.json", "out_3_2.json"]


def test_held_job_surfaces_its_reason_and_is_removed(ana, condor):
    """The pool holds jobs that exceed +MaxRuntime (a site's SYSTEM_PERIODIC_HOLD)."""
    env = {**condor.env,
           "CONDOR_STANDIN_SYSTEM_PERIODIC_HOLD":
               "JobStatus == 2 && time() - EnteredCurrentStatus > MaxRuntime",
           "CONDOR_STANDIN_SYSTEM_PERIODIC_HOLD_REASON":
               'strcat("job ran longer than its MaxRuntime of ", MaxRuntime, " seconds")'}
    result = run_work(ana, env, "--n", "1", "--sleep", "60", "--retries", "0",
                      "--htcondor-max-runtime", "2s")
    assert result.returncode == 1
    reason = ("held by HTCondor: job ran longer than its MaxRuntime of 2 seconds "
              "(HoldReasonCode 26)")
    assert reason in result.stderr
    assert "1 of 1 branches of Work failed" in result.stderr
    job = submission(ana)["jobs"]["1"]
    assert job["status"] == "failed" and job["error"] == reason
    # removed, so that it does not linger in the queue
    cluster = job["job_id"].split(".")[0]
    assert condor.ads("condor_q", cluster) == []
    [ad] = condor.ads("condor_history", cluster)
    assert ad["JobStatus"] == 3 and ad["HoldReasonCode"] == 26
    assert any(job["job_id"] in argv for argv in condor.calls("condor_rm"))


def test_missing_input_file_holds_the_job(ana, condor):
    """A transfer input that is missing when the job starts: held, as the real shadow does."""
    (ana / "law.cfg").write_text("[htcondor]\nfile_transfer = true\n"
                                 "transfer_input_files = /nonexistent/setup.tgz\n")
    result = run_work(ana, condor.env, "--n", "1", "--retries", "0")
    assert result.returncode == 1
    job = submission(ana)["jobs"]["1"]
    assert job["error"].startswith("held by HTCondor: Transfer input files failure")
    assert "/nonexistent/setup.tgz: (errno 2) No such file or directory" in job["error"]
    assert "(HoldReasonCode 13)" in job["error"]
    assert job["error"] in result.stderr


def test_file_transfer_runs_the_job_in_scratch(ana, condor, tmp_path):
    """Without a shared file system the job runs in HTCondor's scratch directory with the
    job files and the software bundle transferred in, and its status and logs come back to
    the job directory. The bootstrap file travels in the bundle. (The stand-in's workers
    are this host: the absolute store path plays storage the workers reach.)"""
    record = tmp_path / "record"
    record.mkdir()
    extra = tmp_path / "extra_input.txt"
    extra.write_text("calibration")
    bootstrap = tmp_path / "bootstrap.sh"
    # sourced by the core's job wrapper, whose arguments are JOB_DIR JOB_NUM ATTEMPT
    bootstrap.write_text(f'printf "%s\\n" "$1" > "{record}/dir_$2"\n'
                         f'ls -A "$1" > "{record}/files_$2"\n'
                         f'cat "$1/extra_input.txt" > "{record}/extra_$2"\n'
                         f'printf "%s\\n" "$PYTHONPATH" "$LAW_CORE_JOB_PYTHON" '
                         f'> "{record}/python_$2"\n')
    (ana / "law.cfg").write_text(f"[job]\nbootstrap_file = {bootstrap}\n"
                                 f"[htcondor]\ntransfer_input_files = {extra}\n"
                                 f"[target]\nstore = {ana / 'data'}\n")
    result = run_work(ana, condor.env, "--n", "3", "--tasks-per-job", "2",
                      "--htcondor-file-transfer", "true")
    assert result.returncode == 0, result.stderr[-3000:]
    directory = job_dir(ana)
    assert len(list((ana / "data" / "Work").glob("out_3_*.json"))) == 3
    (bundle,) = directory.glob("law-core-bundle-*.tar.gz")
    for num in (1, 2):
        ran_in = Path((record / f"dir_{num}").read_text().strip())
        assert ran_in != directory and ran_in.parent == condor.state / "execute"
        files = set((record / f"files_{num}").read_text().split())
        assert {"job_wrapper.sh", "job_env.sh", "task.json", "submission.json",
                "extra_input.txt", "status", bundle.name} <= files
        assert not files & {"logs", "batch_1_1.jdl"}  # only what the job needs goes in
        assert (record / f"extra_{num}").read_text() == "calibration"
        # the bundle first on the Python path, the worker's python3, nothing of ana
        pythonpath, python = (record / f"python_{num}").read_text().splitlines()
        assert pythonpath.split(":")[0].endswith("/python") and "law-core-bundle-" in pythonpath
        assert str(ana) not in pythonpath and python == "python3"
        assert (directory / "status" / f"job_{num}_1.json").exists()  # came back
        assert f"law-core job {num} attempt 1" in \
            (directory / "logs" / f"job_{num}_1.out").read_text()
    wait_for(lambda: not any((condor.state / "execute").iterdir()))  # scratch cleaned up
    description = (directory / "batch_1_1.jdl").read_text()
    assert "should_transfer_files = YES\n" in description
    assert "when_to_transfer_output = ON_EXIT\n" in description
    assert "transfer_input_files = job_wrapper.sh, job_env.sh, task.json, submission.json, " \
           f"config.cfg, outputs.json, {bundle.name}, {extra}\n" in description
    assert "transfer_output_files = status\n" in description


def test_options_from_parameters_and_config(ana, condor):
    (ana / "law.cfg").write_text(
        "[htcondor]\n"
        'requirements = (OpSysAndVer =?= "AlmaLinux9") && (Memory > 1024)\n'
        "extra_lines =\n"
        '    +JobFlavour = "espresso"\n'
        "    notification = Never\n")
    env = {**condor.env, "CONDOR_STANDIN_POOLS": "cm.example.org",
           "CONDOR_STANDIN_SCHEDDS": "ap1.example.org"}
    result = run_work(ana, env, "--n", "1", "--htcondor-request-memory", "2GiB",
                      "--htcondor-request-cpus", "2", "--htcondor-request-disk", "1GiB",
                      "--htcondor-max-runtime", "2h", "--htcondor-pool", "cm.example.org",
                      "--htcondor-scheduler", "ap1.example.org",
                      "--htcondor-accounting-group", "group_physics.alice")
    assert result.returncode == 0, result.stderr[-3000:]
    description = (job_dir(ana) / "batch_1_1.jdl").read_text()
    for line in ("universe = vanilla", "request_cpus = 2", "request_memory = 2048",
                 "request_disk = 1048576", "+MaxRuntime = 7200",
                 "accounting_group = group_physics.alice",
                 'requirements = (OpSysAndVer =?= "AlmaLinux9") && (Memory > 1024)',
                 '+JobFlavour = "espresso"', "notification = Never", "getenv = false"):
        assert line + "\n" in description
    calls = condor.calls()
    assert condor.calls("condor_submit") and condor.calls("condor_q")
    assert all(argv[:4] == ["-pool", "cm.example.org", "-name", "ap1.example.org"]
               for argv in calls)
    # the job recorded its end before it left the queue: the history may lag a moment
    [ad] = wait_for(lambda: condor.ads("condor_history", "-pool", "cm.example.org", "-name",
                                       "ap1.example.org"))
    assert ad["RequestMemory"] == 2048 and ad["RequestCpus"] == 2
    assert ad["MaxRuntime"] == 7200 and ad["JobFlavour"] == "espresso"
    assert ad["AcctGroup"] == "group_physics.alice"


@pytest.mark.parametrize("option, value, kind", [("max_batch_size", "zero", "an integer"),
                                                  ("submit_timeout", "soon", "a number")])
def test_numeric_config_option_that_is_no_number(ana, condor, option, value, kind):
    (ana / "law.cfg").write_text(f"[htcondor]\n{option} = {value}\n")
    result = run_work(ana, condor.env, "--n", "1")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"config option htcondor.{option} = {value!r} ({ana / 'law.cfg'}:2) is not " \
        f"{kind}" in result.stderr
    assert not condor.calls("condor_submit")


def test_batches_respect_the_schedds_max_jobs_per_submission(ana, condor):
    """The schedd refuses a submission of more than MAX_JOBS_PER_SUBMISSION jobs: batches
    are cut to min([htcondor] max_batch_size, that limit), asked once per process."""
    from law_core.plugin import JobSubmissionError

    (ana / "law.cfg").write_text("[htcondor]\nmax_batch_size = 3\n")
    env = {**condor.env, "_CONDOR_MAX_JOBS_PER_SUBMISSION": "2"}
    result = run_work(ana, env, "--n", "5", "--sleep", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [len(path.read_text().split(" from (")[1].splitlines()) - 2
            for path in sorted(job_dir(ana).glob("batch_*.jdl"))]
    assert rows == [2, 2, 1] and len(condor.calls("condor_submit")) == 3
    assert len(condor.calls("condor_config_val")) == 1
    (ana / "law.cfg").write_text("[htcondor]\nmax_batch_size = 1\n")
    assert run_work(ana, env, "--n", "2", "--sleep", "1").returncode == 0
    assert len(condor.calls("condor_submit")) == 3 + 2  # the config's 1 is below the pool's
    manager = make_manager(ana, env)
    with pytest.raises(JobSubmissionError, match="would exceed MAX_JOBS_PER_SUBMISSION"):
        manager.submit(sleep_jobs(manager, 3))  # the stand-in schedd enforces the limit


def test_standin_condor_config_val_follows_htcondor(condor):
    unset = condor.run("condor_config_val", "MAX_JOBS_PER_SUBMISSION")
    assert unset.returncode == 1 and unset.stdout == ""
    assert unset.stderr == "Not defined: MAX_JOBS_PER_SUBMISSION\n"
    os.environ["_CONDOR_MAX_JOBS_PER_SUBMISSION"] = "50"  # restored by _fresh_process_state
    assert condor.run("condor_config_val", "max_jobs_per_submission").stdout == "50\n"


def test_unknown_scheduler_is_a_clear_error(ana, condor):
    env = {**condor.env, "CONDOR_STANDIN_SCHEDDS": "ap1.example.org"}
    result = run_work(ana, env, "--n", "2", "--htcondor-scheduler", "nosuch.example.org")
    assert result.returncode == 1
    assert "condor_submit refused the jobs: Can't find address of schedd nosuch.example.org" \
        in result.stderr
    jobs = submission(ana)["jobs"]
    assert all(job["job_id"] is None and job["status"] == "unsubmitted"
               for job in jobs.values())


def test_jobs_get_no_secrets(ana, condor):
    secret = "s3cr3t-token-value"
    result = run_work(ana, {**condor.env, "MY_TOKEN": secret}, "--n", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    output = json.loads((ana / "data" / "Work" / "out_1_0.json").read_text())
    assert output["token"] is None and output["pid"] != os.getpid()
    for path in job_dir(ana).rglob("*"):
        if path.is_file():
            assert secret not in path.read_text(errors="replace"), path
    (ana / "law.cfg").write_text("[htcondor]\nextra_lines = getenv = True\n")
    refused = run_work(ana, condor.env, "--n", "2", "--branches", "1")
    assert refused.returncode == 1
    assert "never passes the submitting environment to jobs" in refused.stderr
    assert "[job] forward_env" in refused.stderr


def test_missing_tools_are_a_clear_error(ana, condor):
    env = {**condor.env, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    result = run_work(ana, env, "--n", "1")
    assert result.returncode == 1
    assert "' was not found: is this a submit host for --workflow htcondor? (law-core calls " \
        "condor_submit" in result.stderr


# the primitives, called directly


def test_one_cluster_one_query_one_removal(ana, condor):
    """A batch is one condor_submit; many jobs are one condor_q; ended jobs come from one
    condor_history call; removal is one condor_rm."""
    manager = make_manager(ana, {**condor.env, "CONDOR_STANDIN_SLOTS": "4"})
    jobs = sleep_jobs(manager, 5)
    ids = manager.submit(jobs)
    cluster = ids[0].split(".")[0]
    assert ids == [f"{cluster}.{proc}" for proc in range(5)]
    assert len(condor.calls("condor_submit")) == 1

    def four_running():
        states = manager.query(ids)
        running = [i for i in ids if states[i].status == "running"]
        return states if len(running) == 4 else None

    states = wait_for(four_running)
    assert states[ids[4]].status == "pending"  # four slots: the fifth job waits
    assert states[ids[4]].extra["condor_status"] == "idle"
    assert states[ids[0]].extra["host"].startswith("slot")
    queries = condor.calls("condor_q")
    assert all(argv[-1] == cluster and "-json" in argv for argv in queries)
    assert condor.calls("condor_history") == []  # everything was still in the queue

    manager.cancel(ids)
    assert condor.calls("condor_rm") == [ids]
    wait_for(lambda: condor.ads("condor_q", cluster) == [])
    before = len(condor.calls("condor_q"))
    states = manager.query(ids)
    assert len(condor.calls("condor_q")) == before + 1
    [history_call] = condor.calls("condor_history")
    assert f"(ClusterId == {cluster} && ((ProcId >= 0 && ProcId <= 4)))" in history_call
    assert {state.status for state in states.values()} == {"failed"}
    user = condor.ads("condor_history", cluster)[0]["RemoveReason"]
    assert states[ids[0]].error == f"removed from HTCondor: {user}"
    manager.cancel(ids)  # jobs that already ended are no error


def test_held_job_is_failed_and_removed(ana, condor):
    from law_core.config import get_config

    manager = make_manager(ana, condor.env)
    get_config().override("htcondor", "extra_lines", "hold = true", "the test")
    [job_id] = manager.submit(sleep_jobs(manager, 1))
    state = manager.query([job_id])[job_id]
    error = "held by HTCondor: submitted on hold at user's request (HoldReasonCode 15)"
    assert state.status == "failed" and state.error == error
    assert condor.calls("condor_rm") == [[job_id]]
    assert condor.ads("condor_q") == []
    again = manager.query([job_id])[job_id]  # from the history now
    assert again.status == "failed" and again.error == error


def test_recover_finds_an_interrupted_submission(ana, condor):
    manager = make_manager(ana, condor.env)
    jobs = sleep_jobs(manager, 3)
    ids = manager.submit(jobs)
    assert manager.recover(jobs) == {1: ids[0], 2: ids[1], 3: ids[2]}
    later = [JobSubmission(**{**job.__dict__, "attempt": 2}) for job in jobs]
    assert manager.recover(later) == {}  # another attempt was never submitted
    manager.cancel(ids)
    wait_for(lambda: condor.ads("condor_q") == [])
    assert manager.recover(jobs) == {1: ids[0], 2: ids[1], 3: ids[2]}  # from the history


def test_submission_error_names_condor_submits_reason(ana, condor):
    from law_core.config import get_config
    from law_core.workflow.remote import JobSubmissionError

    manager = make_manager(ana, condor.env)
    get_config().override("htcondor", "universe", "nosuchuniverse", "the test")
    with pytest.raises(JobSubmissionError, match="condor_submit refused the jobs: I don't "
                       "know about the 'nosuchuniverse' universe"):
        manager.submit(sleep_jobs(manager, 1))


def test_parameters_reach_every_workflow(ana, condor):
    result = law_core(["run", "ana.Work", "--help"], ana, condor.env)
    for option in ("--htcondor-pool", "--htcondor-scheduler", "--htcondor-universe",
                   "--htcondor-requirements", "--htcondor-request-cpus",
                   "--htcondor-request-memory", "--htcondor-request-disk",
                   "--htcondor-max-runtime", "--htcondor-accounting-group",
                   "--htcondor-file-transfer"):
        assert option in result.stdout


def test_restart_after_an_interrupted_submission_submits_nothing_twice(ana, condor):
    """The submitting process died after condor_submit but before it recorded the ids: the
    next run finds the jobs by the attributes they carry instead of submitting them again."""
    args = ("--n", "3", "--sleep", "2")
    first = run_work(ana, condor.env, *args, "--no-poll")
    assert first.returncode == 0, first.stderr[-3000:]
    path = job_dir(ana) / "submission.json"
    data = json.loads(path.read_text())
    ids = {num: job["job_id"] for num, job in data["jobs"].items()}
    for job in data["jobs"].values():  # as the bookkeeping was before the ids came back
        job.update(status="submitting", job_id=None)
    path.write_text(json.dumps(data))
    second = run_work(ana, condor.env, *args)
    assert second.returncode == 0, second.stderr[-3000:]
    assert len(condor.calls("condor_submit")) == 1
    jobs = submission(ana)["jobs"]
    assert {num: job["job_id"] for num, job in jobs.items()} == ids
    assert all(job["status"] == "finished" and job["attempt"] == 1 for job in jobs.values())
    assert len(list((ana / "data" / "Work").glob("out_3_*.json"))) == 3
