"""law-core-provenance on a grid-like run, against the real services of law-core's pytest
fixtures: raw inputs and every output on an XRootD server, the branches of a workflow as
jobs on a Slurm cluster, each branch inside a Docker container. Then, as a user, in fresh
processes: ``law-core provenance root://...`` says what made an output, and ``--check``
which outputs are stale after an input on the server was rewritten."""

from __future__ import annotations

import json
import shlex
import socket
import sqlite3
import subprocess
import uuid
from pathlib import Path

from law_core.testing.cli import run_cli, write_module

ANALYSIS = """
    import os

    import luigi

    import law_core as law


    class Raw(law.ExternalTask):
        index = luigi.IntParameter()

        def output(self):
            return self.target(f"raw_{self.index}.txt")


    class Prepare(law.LocalWorkflow):
        def create_branch_map(self):
            return {i: i for i in range(2)}

        def requires(self):
            return Raw(index=self.branch)

        def output(self):
            return self.target(f"prepared_{self.branch}.json")

        def run(self):
            self.output().dump({"n": int(self.input().load(formatter="text"))})


    class Scale(law.LocalWorkflow, law.SandboxTask):
        factor = luigi.IntParameter(default=2)

        def create_branch_map(self):
            return {i: i % 2 for i in range(4)}  # branches 0 and 2 read prepared_0

        def workflow_requires(self):
            return {"prepared": Prepare.req(self)}

        def requires(self):
            return Prepare.req(self, branch=self.branch_data)

        def output(self):
            return self.target(f"scaled_{self.branch}.json")

        def run(self):
            n = self.input().load()["n"]
            self.output().dump({"value": n * self.factor * (self.branch + 1),
                                "sandbox": os.environ.get("LAW_CORE_SANDBOX", ""),
                                "in_container": os.path.exists("/.dockerenv")})
"""


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return result


def xrd(*args: str) -> str:
    """An XRootD client command (xrdcp, xrdfs), as a user would run it."""
    result = subprocess.run(list(args), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def put(url: str, text: str, scratch: Path) -> None:
    """Write ``text`` to ``url`` on the XRootD server, replacing what is there."""
    source = scratch / f"put-{uuid.uuid4().hex[:8]}"
    source.write_text(text)
    xrd("xrdcp", "--silent", "--force", "--path", str(source), url)


def server_and_path(url: str) -> tuple[str, str]:
    """``root://host:port//a/b`` -> ``("root://host:port", "/a/b")``."""
    _, server, path = url.split("//", 2)
    return f"root://{server}", f"/{path}"


def remote_size(url: str) -> int:
    server, path = server_and_path(url)
    out = xrd("xrdfs", server, "stat", path)
    return int(next(line.split(":", 1)[1] for line in out.splitlines()
                    if line.startswith("Size:")))


def docker_image_id(image: str) -> str:
    result = subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", image],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"docker image inspect {image}: {result.stderr}"
    return result.stdout.strip()


def test_an_output_made_on_slurm_in_docker_from_xrootd_inputs(
        tmp_path: Path, law_core_slurm_cluster, law_core_xrootd_server: str,
        law_core_docker_image: str) -> None:
    analysis = tmp_path / "ana"
    analysis.mkdir()
    write_module(analysis, "ana", ANALYSIS)
    image = law_core_docker_image
    store = f"{law_core_xrootd_server}provenance-grid-{uuid.uuid4().hex[:8]}"
    # no [provenance] database: the default, in the submitting user's data directory,
    # which the jobs must find although Slurm gives them another environment (--export=NONE:
    # the login HOME, no XDG_DATA_HOME)
    (analysis / "law.cfg").write_text(
        f"[target]\nstore = {store}\nlocal_store = $PWD/local\n"
        "[workflow]\nScale = slurm\n"
        "[Scale]\ntasks_per_job = 2\npoll_interval = 0.5s\n"
        f"[sandbox]\nScale = docker::{image}\nstage_dir = $PWD/stage\n"
        "[provenance]\nsidecars = remote\n")
    user_env = {"XDG_DATA_HOME": str(tmp_path / "xdg")}
    database = tmp_path / "xdg" / "law-core" / "provenance.sqlite"

    def law_core(*args: str) -> subprocess.CompletedProcess:
        return run_cli(list(args), analysis, **user_env)

    def lineage(uri: str) -> dict:
        return json.loads(ok(law_core("provenance", "--json", uri)).stdout)

    for i, n in enumerate((5, 7)):
        put(f"{store}/Raw/raw_{i}.txt", f"{n}\n", tmp_path)

    ok(law_core("run", "ana.Scale", "--factor", "3"))
    image_id = docker_image_id(image)
    # the jobs' records are in the database the user asks (not only in the sidecars)
    with sqlite3.connect(database) as con:
        assert sorted(json.loads(data)["branch"] for (data,) in con.execute(
            "SELECT data FROM records WHERE family = 'Scale'")) == [0, 1, 2, 3]
    scaled = {b: json.loads(xrd("xrdcp", "--silent", f"{store}/Scale/scaled_{b}.json", "-"))
              for b in range(4)}
    assert scaled[2] == {"value": 5 * 3 * 3, "sandbox": f"docker::{image}",
                         "in_container": True}
    [submission] = (analysis / "local" / "Scale" / "jobs").glob("slurm_*/submission.json")
    jobs = json.loads(submission.read_text())["jobs"]
    [(job_num, job)] = [(int(num), job) for num, job in jobs.items() if 2 in job["branches"]]
    assert len(jobs) == 2 and job["status"] == "finished"
    array_id, _, index = job["job_id"].partition("_")

    # what made scaled_2.json? (asked by its URI on the server)
    output = f"{store}/Scale/scaled_2.json"
    prepared_0 = f"{store}/Prepare/prepared_0.json"
    raw_0 = f"{store}/Raw/raw_0.txt"
    tree = lineage(output)
    made_by = tree["made_by"]
    assert tree["uri"] == output
    assert made_by["task_class"] == "ana.Scale" and made_by["branch"] == 2
    assert made_by["params"]["factor"] == "3"
    assert made_by["sandbox"] == {"key": f"docker::{image}", "digest": image_id}
    assert made_by["host"] == socket.gethostname()
    # the Slurm job as law-core's job list and squeue name it, and the task's own id
    assert made_by["job"]["system"] == "slurm" and made_by["job"]["id"] == job["job_id"]
    assert made_by["job"]["job_num"] == job_num and made_by["job"]["attempt"] == 1
    [task] = [t for t in law_core_slurm_cluster.known_jobs()
              if t.get("ArrayJobId") == array_id and t.get("ArrayTaskId") == index]
    assert made_by["job"].get("raw_id", made_by["job"]["id"]) == task["JobId"]
    assert made_by["start"] < made_by["end"]
    [recorded_out] = made_by["outputs"]
    assert recorded_out["uri"] == output and recorded_out["size"] == remote_size(output)
    # its input on the server, with size and mtime, made by the upstream branch from the
    # raw input on the server
    [child] = tree["inputs"]
    assert child["uri"] == prepared_0
    assert child["recorded"]["size"] == remote_size(prepared_0)
    assert child["recorded"]["mtime"] > 0 and child["recorded"]["checksum"] is None
    assert child["made_by"]["task_class"] == "ana.Prepare" and child["made_by"]["branch"] == 0
    assert child["made_by"]["job"] is None and child["made_by"]["sandbox"] is None
    [raw] = child["inputs"]
    assert raw["uri"] == raw_0 and raw["raw"] is True and raw["recorded"]["size"] == 2

    text = ok(law_core("provenance", output)).stdout
    assert f"sandbox     docker::{image} (digest {image_id})" in text
    assert (f"ran on      {socket.gethostname()}, slurm job {job['job_id']}, law-core job "
            f"{job_num} attempt 1") in text
    # each input with its size and mtime as the task read it
    [prepared_line] = [line for line in text.splitlines() if line.strip().startswith(prepared_0)]
    assert prepared_line.strip().startswith(
        f"{prepared_0}  ({child['recorded']['size']} bytes, modified ")
    [raw_line] = [line for line in text.splitlines() if line.strip().startswith(raw_0)]
    assert raw_line.strip().startswith(f"{raw_0}  (2 bytes, modified ")
    assert raw_line.endswith("  [raw input: no recorded task made it]")
    # the output's own (the first) and the upstream branch's
    command_line, _ = [line for line in text.splitlines() if line.strip().startswith(
        "re-create ")]
    command = shlex.split(command_line.split("re-create", 1)[1])
    assert command_line.split("re-create")[1].strip() == made_by["command"]
    assert command[:3] == ["law-core", "run", "ana.Scale"]
    assert "--branch=2" in command and "--factor=3" in command

    # the command re-creates the output (the branch alone: here, in the container)
    server, path = server_and_path(output)
    xrd("xrdfs", server, "rm", path)
    ok(law_core(*command[1:]))
    assert json.loads(xrd("xrdcp", "--silent", output, "-")) == scaled[2]

    # nothing is stale; then raw_0.txt is rewritten on the server (same size): exactly the
    # outputs made from it are
    all_outputs = [f"{store}/Prepare/prepared_{i}.json" for i in range(2)] + [
        f"{store}/Scale/scaled_{b}.json" for b in range(4)]
    result = ok(law_core("provenance", "--check"))
    assert result.stdout.strip().endswith("0 stale, 6 up to date")
    put(raw_0, "6\n", tmp_path)
    result = law_core("provenance", "--check")
    assert result.returncode == 1, result.stderr
    assert f"stale: {output}" in result.stdout
    assert (f"input {prepared_0} is stale: input {raw_0} changed since (modified at a "
            "different time than recorded)") in result.stdout
    checked = json.loads(law_core("provenance", "--check", "--json").stdout)
    assert sorted(checked["stale"]) == sorted(
        [prepared_0, f"{store}/Scale/scaled_0.json", output])
    assert sorted(checked["up_to_date"]) == sorted(set(all_outputs) - set(checked["stale"]))

    # without the database, the sidecars the jobs wrote beside the outputs answer
    database.unlink()
    made_by = lineage(f"{store}/Scale/scaled_3.json")["made_by"]
    assert made_by["task_class"] == "ana.Scale" and made_by["branch"] == 3
    assert made_by["sandbox"]["digest"] == image_id
    assert made_by["job"]["system"] == "slurm" and made_by["job"]["id"] in {
        j["job_id"] for j in jobs.values() if 3 in j["branches"]}
