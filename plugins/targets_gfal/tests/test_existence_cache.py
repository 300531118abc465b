"""The existence cache of a named file system on the real XRootD server, through
``law-core run``: a later status needs no listing, a file removed behind law-core's back is
trusted for the lifetime, and ``--refresh`` asks the storage again."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

from law_core.testing.cli import run_cli
from law_core.testing.services import XRootDServer

_ANALYSIS = """
import law_core as law


class Produce(law.LocalWorkflow):
    def create_branch_map(self):
        return {i: i for i in range(20)}

    def output(self):
        return self.target(f"out_{self.branch}.json")

    def run(self):
        self.output().dump({"branch": self.branch})
"""


def _status(result) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


def test_status_from_the_cache_and_refresh(xrootd: XRootDServer, tmp_path: Path) -> None:
    sub = f"existence/{uuid.uuid4().hex[:8]}"
    (tmp_path / "analysis.py").write_text(_ANALYSIS)
    (tmp_path / "law.cfg").write_text(f"""
[modules]
analysis

[target]
store = fs.grid:/{sub}

[fs.grid]
base = {xrootd.url}
exists_cache_lifetime = 1h
cache_root = {tmp_path}/cache
""")
    assert run_cli(["run", "analysis.Produce"], tmp_path).returncode == 0
    outputs = xrootd.data / sub / "Produce"
    assert len(os.listdir(outputs)) == 20
    assert (tmp_path / "cache" / "existence.sqlite").exists()

    # removed behind law-core's back (not through law-core): within the lifetime the
    # status comes from the cache, --refresh asks the storage
    os.remove(outputs / "out_7.json")
    cached = _status(run_cli(["run", "analysis.Produce", "--print-status", "0"], tmp_path))
    assert re.search(r"20\s*/\s*20", cached), cached
    fresh = _status(run_cli(["run", "analysis.Produce", "--print-status", "0", "--refresh"],
                            tmp_path))
    assert re.search(r"19\s*/\s*20", fresh), fresh

    # a refreshed run does exactly the missing branch
    rerun = run_cli(["run", "analysis.Produce", "--refresh"], tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert (outputs / "out_7.json").exists()
    assert len(os.listdir(outputs)) == 20

    # removed through law-core: never reported as existing, even within the lifetime
    removed = run_cli(["run", "analysis.Produce", "--branch", "3", "--remove-output", "0,a"],
                      tmp_path)
    assert removed.returncode == 0, removed.stderr
    assert not (outputs / "out_3.json").exists()
    after = _status(run_cli(["run", "analysis.Produce", "--print-status", "0"], tmp_path))
    assert re.search(r"19\s*/\s*20", after), after
