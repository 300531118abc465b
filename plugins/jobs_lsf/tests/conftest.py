"""A STAND-IN LSF cluster for each test: LSF cannot be installed on the test machines.

``tests/standin/`` holds stand-in bsub, bjobs, bkill and bparams commands (not LSF): they
follow LSF's documented syntax, output and job states, run the jobs locally in the
background and keep their state in a directory. Every test gets a fresh cluster (its own
``LSF_ENVDIR``, as a real cluster would have); whatever it left running is killed after.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

STANDIN = Path(__file__).resolve().parent / "standin"


@dataclass
class StandinCluster:
    """The stand-in cluster of one test: ``env`` points the LSF commands at it."""

    state: Path
    env: dict[str, str]

    def run(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """A stand-in LSF command against this cluster."""
        return subprocess.run(list(args), env={**os.environ, **self.env, **(env or {})},
                              capture_output=True, text=True, timeout=60)

    def records(self, *args: str) -> list[dict[str, str]]:
        out = self.run("bjobs", "-json", "-o", "jobid jobindex stat exit_code job_name "
                       "queue proj_name", *args).stdout
        return json.loads(out)["RECORDS"] if out.strip() else []

    def calls(self, tool: str | None = None) -> list[list[str]]:
        """The argument lists the stand-ins were called with, in order."""
        path = self.state / "calls.jsonl"
        lines = path.read_text().splitlines() if path.exists() else []
        return [c["argv"] for c in map(json.loads, lines) if tool is None or c["tool"] == tool]

    def jobs(self) -> dict[str, dict]:
        """The stand-in's own record of the jobs (options, environment, elements)."""
        path = self.state / "jobs.json"
        return json.loads(path.read_text())["jobs"] if path.exists() else {}

    def stop(self) -> None:
        """Kill every job and end the stand-in sbatchd processes this cluster started."""
        self.run("bkill", "0")
        sbatchds = self.state / "sbatchds"
        deadline = time.monotonic() + 10
        while sbatchds.exists() and any(sbatchds.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid_file in sbatchds.glob("*") if sbatchds.exists() else []:
            try:
                os.killpg(int(pid_file.name), signal.SIGKILL)
            except (ProcessLookupError, PermissionError, ValueError):
                pass


@pytest.fixture
def lsf(tmp_path_factory) -> StandinCluster:
    state = tmp_path_factory.mktemp("lsf-standin")
    path = os.pathsep.join([str(STANDIN), str(Path(sys.executable).parent),
                            os.environ.get("PATH", "/usr/bin:/bin")])
    cluster = StandinCluster(state, {"PATH": path, "LSF_STANDIN_DIR": str(state),
                                     "LSF_ENVDIR": str(state),
                                     "LSF_STANDIN_QUEUES": "normal,short"})
    yield cluster
    cluster.stop()


@pytest.fixture(autouse=True)
def _fresh_process_state(law_core_isolated):
    """Config, plugin registry and environment as a fresh process would have them."""
    environ = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(environ)
