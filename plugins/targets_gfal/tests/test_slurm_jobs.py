"""Slurm jobs whose outputs go to GridFTP (``gsiftp://`` with GSI), on the suite's real
one-node Slurm cluster and GridFTP server: the jobs find the X.509 proxy of the submitting
shell, though they inherit none of its variables."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from law_core.testing.cli import run_cli

_ANALYSIS = """
import os

import law_core as law


class Counts(law.Workflow):
    def create_branch_map(self):
        return {i: f"sample{i}" for i in range(3)}

    def output(self):
        return self.target(f"counts/{self.branch_data}.json")

    def run(self):
        self.output().dump({"sample": self.branch_data, "events": 100 * (self.branch + 1),
                            "proxy": os.environ.get("X509_USER_PROXY")})
"""


def test_slurm_jobs_write_to_gridftp_with_the_proxy_of_the_submitting_shell(
        gridftp: Any, law_core_slurm_cluster: Any, tmp_path: Path) -> None:
    """X509_USER_PROXY is set in the submitting shell, not forwarded: every job failed at
    its first request ("Valid credentials could not be found") and was resubmitted."""
    sub = f"slurm/{uuid.uuid4().hex[:12]}"
    (tmp_path / "analysis.py").write_text(_ANALYSIS)
    (tmp_path / "law.cfg").write_text(
        f"[modules]\nanalysis\n\n[target]\nstore = {gridftp.url}{sub}\n"
        f"local_store = {tmp_path / 'local'}\n\n"
        # the test CA is no system trust store: a user names it, as here
        "[job]\nforward_env = X509_CERT_DIR\n\n"
        "[Counts]\npoll_interval = 0.5s\nretries = 0\n")
    proxy = os.environ["X509_USER_PROXY"]
    result = run_cli(["run", "analysis.Counts", "--workflow", "slurm"], tmp_path)
    assert result.returncode == 0, result.stderr[-4000:]
    on_disk = gridftp.data / sub / "Counts" / "counts"
    written = [json.loads((on_disk / f"sample{i}.json").read_text()) for i in range(3)]
    assert [w["events"] for w in written] == [100, 200, 300]
    assert {w["proxy"] for w in written} == {proxy}
    status = run_cli(["run", "analysis.Counts", "--print-status", "0"], tmp_path)
    assert status.returncode == 0, status.stderr
    assert "existent (3/3)" in status.stdout, status.stdout
