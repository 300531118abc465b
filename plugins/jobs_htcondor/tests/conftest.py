"""A STAND-IN HTCondor pool for each test: HTCondor's daemons cannot be installed here.

``tests/standin/`` holds stand-in condor_submit, condor_q, condor_history and condor_rm
commands (not HTCondor): they parse submit descriptions with HTCondor's own parser from
the ``htcondor`` bindings, run the jobs locally in the background and keep their queue in
a state directory. Every test gets a fresh pool; whatever it left running is removed after.
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
from typing import Any

import pytest

STANDIN = Path(__file__).resolve().parent / "standin"


@dataclass
class StandinPool:
    """The stand-in pool of one test: ``env`` points the condor_* commands at it."""

    state: Path
    env: dict[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess:
        """A stand-in condor_* command against this pool."""
        return subprocess.run(list(args), env={**os.environ, **self.env},
                              capture_output=True, text=True, timeout=60)

    def ads(self, tool: str, *args: str) -> list[dict[str, Any]]:
        out = self.run(tool, "-json", *args).stdout.strip()
        return json.loads(out) if out else []

    def calls(self, tool: str | None = None) -> list[list[str]]:
        """The argument lists the stand-ins were called with, in order."""
        path = self.state / "calls.jsonl"
        lines = path.read_text().splitlines() if path.exists() else []
        calls = [json.loads(line) for line in lines]
        return [c["argv"] for c in calls if tool is None or c["tool"] == tool]

    def stop(self) -> None:
        """Remove every job and end the stand-in schedd processes this pool started."""
        self.run("condor_rm", "-all")
        schedds = self.state / "schedds"
        deadline = time.monotonic() + 10
        while schedds.exists() and any(schedds.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid_file in schedds.glob("*") if schedds.exists() else []:
            try:
                os.killpg(int(pid_file.name), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


@pytest.fixture
def condor(tmp_path_factory) -> StandinPool:
    state = tmp_path_factory.mktemp("condor-standin")
    path = os.pathsep.join([str(STANDIN), str(Path(sys.executable).parent),
                            os.environ.get("PATH", "/usr/bin:/bin")])
    pool = StandinPool(state, {"PATH": path, "CONDOR_STANDIN_DIR": str(state)})
    yield pool
    pool.stop()


@pytest.fixture(autouse=True)
def _fresh_process_state(law_core_isolated):
    """Config, plugin registry and environment as a fresh process would have them."""
    environ = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(environ)
