"""The job-manager template of docs/writing-plugins.md, installed as a user would: into a
fresh virtual environment next to law-core, from PyPI and this repository, with its own
tests (law-core's JobManagerSuite against the template's stand-in batch system)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "examples" / "job_manager_template"


def test_template_installs_is_discovered_and_passes_the_job_manager_suite(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    install = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", str(REPO), f"{TEMPLATE}[test]"],
        capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stderr[-3000:]

    plugins = subprocess.run([str(venv / "bin" / "law-core"), "plugins"], cwd=tmp_path,
                             capture_output=True, text=True)
    assert plugins.returncode == 0, plugins.stderr
    line = next(row for row in plugins.stdout.splitlines() if row.startswith("toybatch "))
    assert "law-core-toybatch" in line and "job manager: toybatch" in line
    assert line.endswith("loaded")

    tests = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(TEMPLATE),
         "-c", "/dev/null", str(TEMPLATE / "tests")],
        cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    assert " passed" in tests.stdout and "failed" not in tests.stdout
