"""A STAND-IN toybatch for each test: toybatch is not a real batch system.

``tests/standin/`` holds stand-in toybatch-submit, toybatch-status and toybatch-cancel
commands (see _toybatch_standin.py). Each test gets its own state directory and the
stand-in on PATH, so that the plugin calls the tools by name exactly as on a submit host;
whatever a test left running is cancelled after it. For your batch system, replace this
with a fixture that points the tools at a real test instance where one can run (as
law-core's ``law_core_slurm_cluster`` does), or with stand-ins that follow the real
tools' documented syntax and output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

STANDIN = Path(__file__).resolve().parent / "standin"


@dataclass
class ToyBatch:
    """The stand-in of one test: ``env`` points the toybatch tools at it."""

    state: Path
    env: dict[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(list(args), env={**os.environ, **self.env},
                              capture_output=True, text=True, timeout=60)

    def calls(self, tool: str) -> list[list[str]]:
        """The argument lists ``tool`` was called with, in order."""
        path = self.state / "calls.jsonl"
        calls = [json.loads(line) for line in path.read_text().splitlines()] \
            if path.exists() else []
        return [call["argv"] for call in calls if call["tool"] == tool]

    def tasks(self) -> list[tuple[str, str]]:
        """(array name, task id) of every task the stand-in was given, ended ones too."""
        found = []
        for path in sorted(self.state.glob("jobs/*.json")):
            array = json.loads(path.read_text())
            found += [(array["name"], f"{path.stem}.{i}") for i in range(len(array["tasks"]))]
        return found

    def stop(self) -> None:
        arrays = [path.stem for path in self.state.glob("jobs/*.json")]
        if arrays:
            self.run("toybatch-cancel", *arrays)


@pytest.fixture
def toybatch(tmp_path_factory) -> ToyBatch:
    state = tmp_path_factory.mktemp("toybatch-standin")
    path = os.pathsep.join([str(STANDIN), str(Path(sys.executable).parent),
                            os.environ.get("PATH", "/usr/bin:/bin")])
    batch = ToyBatch(state, {"PATH": path, "TOYBATCH_DIR": str(state)})
    yield batch
    batch.stop()


@pytest.fixture(autouse=True)
def _fresh_process_state(law_core_isolated):
    """Config, plugin registry and environment as a fresh process would have them."""
    environ = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(environ)
