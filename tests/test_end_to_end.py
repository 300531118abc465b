"""One analysis, four ways, no code change: the promise of law-core, end to end.

The example analysis of the README (a 26-branch workflow, a merge, a summary in a
sandbox-able task) runs

1. everything local,
2. with the workflow on Slurm, outputs on the local disk,
3. on Slurm with every output on an XRootD server (``root://`` bases from the config),
4. as 3, with the summary in a Docker container,

against the real services (a one-node Slurm cluster, an XRootD server on loopback, a
Docker daemon with a locally built image: law-core's pytest fixtures). Only the config file
changes between the runs; every run's outputs have the same content and ``--print-status``
shows everything complete.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "analysis.py"
TARGETS = {"alphabet": "CreateAlphabet/alphabet.txt", "summary": "Summary/summary.json",
           "letter": "CreateChars/output_7.json"}


def run_analysis(directory: Path, config: str, *args: str) -> subprocess.CompletedProcess:
    (directory / "law.cfg").write_text(config)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAW_CORE")}
    env["PYTHONPATH"] = str(directory)
    return subprocess.run([sys.executable, "-m", "law_core", "run", "analysis.Summary", *args],
                          cwd=directory, env=env, capture_output=True, text=True, timeout=900)


def load_outputs(store: str) -> dict[str, str]:
    """The outputs' contents, read back through law-core from wherever they are."""
    from law_core.registry import reset_registry
    from law_core.targets.factory import target

    reset_registry()
    base = store.rstrip("/")
    return {name: target(f"{base}/{path}").load(formatter="text")
            for name, path in TARGETS.items()}


def check_run(directory: Path, config: str, store: str, sandbox: str | None = None
              ) -> dict[str, str]:
    result = run_analysis(directory, config)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    ran_in = f"running Summary(uppercase=False) in the sandbox {sandbox}"
    assert (ran_in in result.stderr) == (sandbox is not None), result.stderr[-3000:]
    status = run_analysis(directory, config, "--print-status", "-1")
    assert status.returncode == 0, status.stderr
    assert "absent" not in status.stdout, status.stdout
    assert status.stdout.count("existent") == 3
    assert "collection of 26 targets: existent (26/26)" in status.stdout
    assert store.split("://")[0] in status.stdout  # the outputs are where the config says
    return load_outputs(store)


@pytest.fixture
def analysis(tmp_path):
    def make(name: str) -> Path:
        directory = tmp_path / name
        directory.mkdir()
        shutil.copy(EXAMPLE, directory / "analysis.py")
        return directory

    return make


SLURM = """
[workflow]
CreateChars = slurm

[CreateChars]
tasks_per_job = 9
poll_interval = 0.5s
"""


def test_one_analysis_four_ways(analysis, law_core_slurm_cluster, law_core_xrootd_server,
                                law_core_docker_image, tmp_path):
    local = analysis("local")
    local_store = str(local / "data")
    reference = check_run(local, f"[modules]\nanalysis\n[target]\nstore = {local_store}\n",
                          local_store)
    summary = json.loads(reference["summary"])
    assert summary["letters"] == 26 and summary["alphabet"] == "abcdefghijklmnopqrstuvwxyz"

    slurm = analysis("slurm")
    slurm_store = str(slurm / "data")
    assert check_run(slurm, f"[target]\nstore = {slurm_store}\n{SLURM}", slurm_store) == \
        reference
    jobs = list((slurm / "data" / "CreateChars" / "jobs").glob("slurm_*/submission.json"))
    assert len(jobs) == 1 and len(json.loads(jobs[0].read_text())["jobs"]) == 3

    remote = analysis("remote")
    remote_store = law_core_xrootd_server.rstrip("/") + "//e2e/remote"
    assert check_run(remote, f"[target]\nstore = {remote_store}\n{SLURM}", remote_store) == \
        reference
    # outputs went to the server; only the jobs' files stay local, below [target] local_store
    assert [p.name for p in remote.iterdir() if p.is_dir() and p.name != "__pycache__"] == \
        ["data"]
    assert [p.name for p in (remote / "data").iterdir()] == ["CreateChars"]
    assert [p.name for p in (remote / "data" / "CreateChars").iterdir()] == ["jobs"]

    docker = analysis("docker")
    docker_store = law_core_xrootd_server.rstrip("/") + "//e2e/docker"
    config = (f"[target]\nstore = {docker_store}\n{SLURM}\n"
              f"[sandbox]\nSummary = docker::{law_core_docker_image}\n"
              f"stage_dir = {tmp_path / 'stage'}\n")
    key = f"docker::{law_core_docker_image}"
    assert check_run(docker, config, docker_store, sandbox=key) == reference
    (tmp_path / "stage").mkdir(exist_ok=True)
    assert list((tmp_path / "stage").iterdir()) == []
