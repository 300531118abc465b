"""A STAND-IN CREAM CE for each test: CREAM is retired and cannot be installed here.

``tests/standin/`` holds stand-in glite-ce-job-submit, -status, -cancel, -purge and
glite-ce-delegate-proxy commands (not gLite): they read JDL files with the ClassAd parser,
run the jobs locally with their sandboxes copied in and out, and keep their state in a
directory. Every test gets a fresh CE; whatever it left running is killed after.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

STANDIN = Path(__file__).resolve().parent / "standin"
CE = "cream.standin.localhost:8443/cream-pbs-grid"


@dataclass
class StandinCE:
    """The stand-in CE of one test: ``env`` points the glite-ce-* commands at it and names
    it as ``[glite] ce`` through law-core's environment overrides."""

    state: Path
    env: dict[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(list(args), env={**os.environ, **self.env},
                              capture_output=True, text=True, timeout=60)

    def calls(self, tool: str | None = None) -> list[list[str]]:
        """The argument lists the stand-ins were called with, in order."""
        path = self.state / "calls.jsonl"
        calls = [json.loads(line) for line in path.read_text().splitlines()] \
            if path.exists() else []
        return [c["argv"] for c in calls if tool is None or c["tool"] == tool]

    def jobs(self) -> list[dict]:
        return [json.loads(p.read_text()) for p in sorted((self.state / "jobs").glob("*.json"))]

    def stop(self) -> None:
        for job in self.jobs():
            if job.get("pgid") and job["status"] in ("RUNNING", "REALLY-RUNNING"):
                try:
                    os.killpg(job["pgid"], signal.SIGKILL)
                except ProcessLookupError:
                    pass


@pytest.fixture
def cream(tmp_path_factory) -> StandinCE:
    state = tmp_path_factory.mktemp("cream-standin")
    path = os.pathsep.join([str(STANDIN), str(Path(sys.executable).parent),
                            os.environ.get("PATH", "/usr/bin:/bin")])
    ce = StandinCE(state, {"PATH": path, "GLITE_STANDIN_DIR": str(state),
                           "GLITE_STANDIN_CES": CE, "LAW_CORE__GLITE__CE": CE,
                           "LAW_CORE__GLITE__OUTPUT_URI": "gsiftp://localhost"})
    yield ce
    ce.stop()


@pytest.fixture(autouse=True)
def _fresh_process_state(law_core_isolated):
    """Config, plugin registry and environment as a fresh process would have them."""
    environ = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(environ)
