"""law-core-provenance on real runs: ``law-core run`` in fresh processes records, and
``law-core provenance`` answers what made an output, re-creates it and finds stale ones."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from law_core.testing.cli import clean_env, run_cli, write_module

ANALYSIS = """
    import os
    import time

    import luigi

    import law_core as law


    class Raw(law.ExternalTask):
        def output(self):
            return law.LocalFileTarget(os.path.abspath("raw.txt"))


    class Scale(law.LocalWorkflow, law.SandboxTask):
        factor = luigi.IntParameter(default=2)

        def create_branch_map(self):
            return {i: i for i in range(4)}

        def workflow_requires(self):
            return {"raw": Raw()}

        def requires(self):
            return Raw()

        def output(self):
            return self.target(f"scaled_{self.branch}.json")

        def run(self):
            n = int(self.input().load(formatter="text"))
            time.sleep(0.3)  # so that both processes of --workers 2 get branches
            marker = os.environ.get("SETUP_MARKER", "")
            self.output().dump({"value": n * self.factor * (self.branch + 1),
                                "marker": marker})


    class Total(law.Task):
        factor = luigi.IntParameter(default=2)

        def requires(self):
            return Scale.req(self)

        def output(self):
            return self.target("total.json")

        def run(self):
            coll = self.input()["collection"]
            self.output().dump({"total": sum(coll[b].load()["value"] for b in coll.keys())})
"""


@pytest.fixture
def analysis(tmp_path: Path) -> Path:
    write_module(tmp_path, "ana", ANALYSIS)
    (tmp_path / "raw.txt").write_text("5\n")
    (tmp_path / "law.cfg").write_text("[target]\nstore = $PWD/data\n")
    return tmp_path


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def lineage(cwd: Path, output: str, **env: str) -> dict:
    return json.loads(ok(run_cli(["provenance", "--json", output], cwd, **env)).stdout)


def test_the_chain_down_to_the_raw_input_and_the_command_that_re_creates_it(
        analysis: Path) -> None:
    ok(run_cli(["run", "ana.Total", "--factor", "3", "--workers", "2"], analysis))
    # the default database: in the user's data directory (run_cli's HOME is the analysis)
    assert (analysis / ".local/share/law-core/provenance.sqlite").is_file()

    tree = lineage(analysis, "data/Total/total.json")
    total = tree["made_by"]
    assert tree["uri"] == f"file://{analysis}/data/Total/total.json"
    assert total["task_class"] == "ana.Total" and total["params"] == {"factor": "3"}
    assert total["host"] == socket.gethostname() and total["job"] is None
    assert total["start"] <= total["end"]
    assert total["code"]["kind"] == "files" and total["code"]["path"] == str(analysis / "ana.py")
    software = total["software"]
    assert software["law_core"] == "0.1.0"
    assert "law-core-provenance==0.1.0" in software["plugins"].values()
    assert any(p.startswith("luigi==") for p in software["packages"])
    assert total["outputs"][0]["checksum"] == "sha256:" + hashlib.sha256(
        (analysis / "data/Total/total.json").read_bytes()).hexdigest()

    # the four branches, each down to raw.txt, which no recorded task made
    branches = {child["made_by"]["branch"]: child for child in tree["inputs"]}
    assert sorted(branches) == [0, 1, 2, 3]
    for b, child in branches.items():
        assert child["uri"] == f"file://{analysis}/data/Scale/scaled_{b}.json"
        assert child["made_by"]["task_class"] == "ana.Scale"
        assert child["made_by"]["params"]["factor"] == "3"
        [raw] = child["inputs"]
        assert raw == {"uri": f"file://{analysis}/raw.txt", "raw": True,
                       "recorded": {"size": 2, "mtime": raw["recorded"]["mtime"],
                                    "checksum": "sha256:" + hashlib.sha256(b"5\n").hexdigest()}}
    # --workers 2: the branches ran in two pool processes, each of which wrote its records
    pids = {child["made_by"]["pid"] for child in branches.values()}
    assert len(pids) == 2 and total["pid"] not in pids

    text = ok(run_cli(["provenance", "data/Total/total.json"], analysis)).stdout
    assert "re-create   law-core run ana.Total --factor=3" in text
    assert text.count("[raw input: no recorded task made it]") == 4
    assert f"{analysis}/raw.txt" in text

    # the printed command re-creates the output
    made = (analysis / "data/Total/total.json").read_text()
    (analysis / "data/Total/total.json").unlink()
    command = shlex.split(total["command"])
    assert command[:2] == ["law-core", "run"]
    ok(run_cli(command[1:], analysis))
    assert (analysis / "data/Total/total.json").read_text() == made
    # so does a branch's
    (analysis / "data/Scale/scaled_2.json").unlink()
    ok(run_cli(shlex.split(branches[2]["made_by"]["command"])[1:], analysis))
    assert json.loads((analysis / "data/Scale/scaled_2.json").read_text())["value"] == 45


def test_check_flags_an_output_after_its_input_is_rewritten(analysis: Path) -> None:
    ok(run_cli(["run", "ana.Total", "--workers", "2"], analysis))
    result = ok(run_cli(["provenance", "--check"], analysis))
    assert result.stdout.strip().endswith("0 stale, 5 up to date")

    raw = analysis / "raw.txt"
    os.utime(raw, (raw.stat().st_atime, raw.stat().st_mtime + 100))  # touched: same content
    ok(run_cli(["provenance", "--check", "data/Total/total.json"], analysis))

    raw.write_text("7\n")
    result = run_cli(["provenance", "--check", "data/Total/total.json"], analysis)
    assert result.returncode == 1, result.stderr
    assert f"stale: {analysis}/data/Total/total.json" in result.stdout
    assert (f"input {analysis}/data/Scale/scaled_0.json is stale: input {analysis}/raw.txt "
            "changed since (content differs from the recorded checksum)") in result.stdout
    checked = json.loads(run_cli(["provenance", "--check", "--json"], analysis).stdout)
    assert sorted(checked["stale"]) == sorted(
        [f"file://{analysis}/data/Total/total.json"] +
        [f"file://{analysis}/data/Scale/scaled_{b}.json" for b in range(4)])

    # re-made, the outputs are up to date again
    for path in (analysis / "data").rglob("*.json"):
        path.unlink()
    ok(run_cli(["run", "ana.Total"], analysis))
    ok(run_cli(["provenance", "--check", "data/Total/total.json"], analysis))

    # a missing input
    (analysis / "data/Scale/scaled_1.json").unlink()
    result = run_cli(["provenance", "--check", "data/Total/total.json"], analysis)
    assert result.returncode == 1
    assert f"input {analysis}/data/Scale/scaled_1.json is missing" in result.stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_the_code_version_is_the_git_commit_and_a_changed_module_makes_outputs_stale(
        analysis: Path) -> None:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
                              cwd=analysis, check=True, capture_output=True,
                              text=True).stdout.strip()

    git("init", "-q")
    (analysis / ".gitignore").write_text("data/\n.local/\n__pycache__/\n*.sqlite*\n")
    git("add", "ana.py", "raw.txt", "law.cfg", ".gitignore")
    git("commit", "-q", "-m", "analysis")
    commit = git("rev-parse", "HEAD")
    ok(run_cli(["run", "ana.Total"], analysis))
    code = lineage(analysis, "data/Total/total.json")["made_by"]["code"]
    assert code == {"kind": "git", "path": str(analysis / "ana.py"),
                    "repository": str(analysis), "commit": commit, "uncommitted": None,
                    "version": f"git:{commit}"}
    # outputs appearing in the repository (untracked data) change nothing
    (analysis / "notes.txt").write_text("untracked, not code\n")
    ok(run_cli(["provenance", "--check"], analysis))

    with open(analysis / "ana.py", "a") as f:
        f.write("\n# a change\n")
    result = run_cli(["provenance", "--check", "data/Total/total.json"], analysis)
    assert result.returncode == 1
    assert f"the code of ana.Total changed: recorded git:{commit}, now git:{commit}+" \
        in result.stdout


def test_a_branch_run_in_a_bash_sandbox_records_the_sandbox_and_its_setup_file(
        analysis: Path) -> None:
    setup = analysis / "setup.sh"
    setup.write_text("export SETUP_MARKER=from-setup\n")
    with open(analysis / "law.cfg", "a") as f:
        f.write(f"[sandbox]\nScale = bash::{setup}\n")
    ok(run_cli(["run", "ana.Scale", "--branch", "1"], analysis))
    assert json.loads((analysis / "data/Scale/scaled_1.json").read_text())["marker"] == \
        "from-setup"  # it did run in the sandbox
    made_by = lineage(analysis, "data/Scale/scaled_1.json")["made_by"]
    assert made_by["sandbox"] == {
        "key": f"bash::{setup}", "file": str(setup),
        "file_hash": "sha256:" + hashlib.sha256(setup.read_bytes()).hexdigest()}
    assert made_by["branch"] == 1
    assert made_by["outputs"][0]["uri"] == f"file://{analysis}/data/Scale/scaled_1.json"


def test_a_branch_run_in_a_job_records_the_host_and_the_job(
        analysis: Path, law_core_reference_jobs) -> None:
    env = clean_env(analysis, **law_core_reference_jobs.env)
    env["PYTHONPATH"] = os.pathsep.join([str(analysis), str(law_core_reference_jobs.path)])
    result = subprocess.run(
        [sys.executable, "-m", "law_core", "run", "ana.Scale", "--workflow", "processes",
         "--tasks-per-job", "2", "--poll-interval", "0.5s"],
        cwd=analysis, env=env, capture_output=True, text=True, timeout=300)
    ok(result)
    jobs = {job["name"].rsplit("-", 2)[1]: job["id"] for job in law_core_reference_jobs.jobs()}
    assert len(jobs) == 2
    made_by = lineage(analysis, "data/Scale/scaled_3.json")["made_by"]
    job = made_by["job"]
    assert made_by["host"] == socket.gethostname()
    assert job["job_num"] == 2 and job["attempt"] == 1 and job["manager"] == "processes"
    assert job["job_dir"].startswith(str(analysis / "data" / "Scale" / "jobs"))
    assert job["id"] == jobs["2"] and job["system"] == "processes"
    text = ok(run_cli(["provenance", "data/Scale/scaled_3.json"], analysis)).stdout
    assert (f"ran on      {socket.gethostname()}, processes job {jobs['2']}, law-core job 2 "
            "attempt 1") in text


def test_sidecars_beside_outputs_answer_without_the_database(analysis: Path) -> None:
    """With ``sidecars = all`` (``remote``: beside remote outputs only) another machine, which
    has no database, learns what made an output from the file beside it."""
    with open(analysis / "law.cfg", "a") as f:
        f.write("[provenance]\nsidecars = all\ndatabase = $PWD/here.sqlite\n")
    ok(run_cli(["run", "ana.Total"], analysis))
    sidecar = analysis / "data/Total/total.json.provenance.json"
    assert json.loads(sidecar.read_text())["task_class"] == "ana.Total"
    (analysis / "here.sqlite").unlink()
    tree = lineage(analysis, "data/Total/total.json")
    assert tree["made_by"]["task_class"] == "ana.Total"
    assert tree["made_by"]["software"]["law_core"] == "0.1.0"  # the sidecar carries it
    assert [c["made_by"]["branch"] for c in tree["inputs"]] == [0, 1, 2, 3]


def test_an_output_nobody_recorded_is_a_clear_error(analysis: Path) -> None:
    result = run_cli(["provenance", "raw.txt"], analysis)
    assert result.returncode == 1
    assert f"no record says what made {analysis}/raw.txt" in result.stderr


def test_disabled_records_nothing(analysis: Path) -> None:
    with open(analysis / "law.cfg", "a") as f:
        f.write("[provenance]\nenabled = false\ndatabase = $PWD/prov.sqlite\n")
    ok(run_cli(["run", "ana.Total"], analysis))
    assert not (analysis / "prov.sqlite").exists()


def test_parallel_writers_lose_no_record(analysis: Path) -> None:
    """Four processes at once, each with two pool workers, write into one database."""
    with open(analysis / "law.cfg", "a") as f:
        f.write("[provenance]\ndatabase = $PWD/prov.sqlite\nflush_records = 1\n")
    procs = [subprocess.Popen(
        [sys.executable, "-m", "law_core", "run", "ana.Scale", "--workers", "2"],
        cwd=analysis, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=clean_env(analysis, PYTHONPATH=str(analysis),
                      LAW_CORE__TARGET__STORE=str(analysis / f"store{n}")))
        for n in range(4)]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
    with sqlite3.connect(analysis / "prov.sqlite") as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 16


def test_outputs_on_xrootd_answer_from_the_database_and_from_their_sidecars(
        analysis: Path, law_core_xrootd_server: str) -> None:
    """Branch outputs and the total on a real XRootD server: the local database answers,
    and without it the sidecars beside the outputs do, down to the local raw input."""
    import uuid

    store = f"{law_core_xrootd_server}provenance-{uuid.uuid4().hex[:8]}"
    (analysis / "law.cfg").write_text(f"[target]\nstore = {store}\nlocal_store = $PWD/local\n"
                                      "[provenance]\ndatabase = $PWD/prov.sqlite\n"
                                      "sidecars = remote\n")
    ok(run_cli(["run", "ana.Total", "--workers", "2"], analysis))
    total_uri = f"{store}/Total/total.json"

    for with_database in (True, False):
        if not with_database:
            (analysis / "prov.sqlite").unlink()
        tree = lineage(analysis, total_uri)
        assert tree["uri"] == total_uri
        assert tree["made_by"]["task_class"] == "ana.Total"
        assert tree["made_by"]["outputs"][0]["size"] > 0
        assert [c["uri"] for c in tree["inputs"]] == [
            f"{store}/Scale/scaled_{b}.json" for b in range(4)]
        for child in tree["inputs"]:
            assert child["made_by"]["task_class"] == "ana.Scale"
            assert child["inputs"][0]["uri"] == f"file://{analysis}/raw.txt"
            assert child["inputs"][0]["raw"] is True

    (analysis / "raw.txt").write_text("8\n")
    result = run_cli(["provenance", "--check", total_uri], analysis)
    assert result.returncode == 1, result.stderr
    assert f"stale: {total_uri}" in result.stdout
    assert f"input {analysis}/raw.txt changed since" in result.stdout


def test_a_database_that_cannot_be_written_warns_and_fails_no_task(analysis: Path) -> None:
    (analysis / "blocker").write_text("a file where the database's directory would be\n")
    with open(analysis / "law.cfg", "a") as f:
        f.write("[provenance]\ndatabase = $PWD/blocker/prov.sqlite\n")
    result = ok(run_cli(["run", "ana.Total"], analysis))
    assert (analysis / "data/Total/total.json").exists()
    assert "provenance records could not be written to" in result.stderr
    assert f"{analysis}/blocker/prov.sqlite" in result.stderr


def test_a_task_whose_requires_returns_none_is_recorded_without_inputs(tmp_path: Path) -> None:
    """luigi runs a task whose requires() returns None (its input() would raise)."""
    from law_core_provenance.recorder import build_record

    import law_core as law

    class Alone(law.Task):
        def requires(self):
            return None

        def output(self):
            return law.LocalFileTarget(str(tmp_path / "alone.txt"))

    task = Alone()
    task.output().dump("x", formatter="text")
    record, outputs = build_record(task, None, 1.0, checksum_limit=0)
    assert record["inputs"] == []
    assert [t.path for t in outputs] == [str(tmp_path / "alone.txt")]


def test_the_software_recorded_is_every_installed_distribution_with_its_version() -> None:
    """The record's software is what importlib.metadata says is installed (read from the
    head of each metadata file, not parsed whole), and each plugin names its distribution."""
    from importlib import metadata

    from law_core_provenance import facts

    _, found = facts.environment()
    installed = sorted({f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions()
                        if d.metadata and d.metadata["Name"]}, key=str.lower)
    assert found["packages"] == installed
    assert found["plugins"]["provenance"] == (
        f"law-core-provenance=={metadata.version('law-core-provenance')}")


FORK_PROBE = """
import json, os
from law_core.registry import get_registry
from law_core_provenance import facts

get_registry()  # the plugins are loaded, as in a run
pid = os.fork()
if pid == 0:
    already = facts.environment.cache_info().currsize
    os.write(1, json.dumps({"inherited": already}).encode())
    os._exit(0)
os.waitpid(pid, 0)
"""


@pytest.mark.parametrize("enabled", [True, False])
def test_forks_inherit_the_software_facts_read_once(tmp_path: Path, enabled: bool) -> None:
    """luigi's task processes and a workflow's branch processes are forks: with recording
    on, each gets the software facts from the process it was forked from instead of reading
    every distribution's metadata again (about 50 ms per process); with it off, nobody
    reads them."""
    (tmp_path / "law.cfg").write_text(f"[provenance]\nenabled = {str(enabled).lower()}\n")
    result = subprocess.run([sys.executable, "-c", FORK_PROBE], cwd=tmp_path, text=True,
                            capture_output=True, env=clean_env(tmp_path), timeout=120)
    assert result.returncode == 0, result.stderr
    child = json.loads(result.stdout)
    assert child["inherited"] == (1 if enabled else 0)
