"""Helpers of law-core-report's tests: the analysis, law-core in subprocesses, Chromium."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ANALYSIS = '''
import luigi
import law_core as law


class Select(law.LocalWorkflow):
    """One branch per input file; branch ``fail`` raises."""

    dataset = luigi.Parameter()
    fail = luigi.IntParameter(default=-1)

    def create_branch_map(self):
        return 6

    def output(self):
        return self.local_target(self.dataset, f"sel_{self.branch}.json")

    def run(self):
        if self.branch == self.fail:
            raise RuntimeError(f"branch {self.branch} cannot read its input file")
        self.output().dump({"n": self.branch})


class Histogram(law.LocalWorkflow):
    dataset = luigi.Parameter()
    fail = luigi.IntParameter(default=-1)

    def create_branch_map(self):
        return 6

    def requires(self):
        return Select.req(self)

    def output(self):
        return self.local_target(self.dataset, f"hist_{self.branch}.json")

    def run(self):
        self.output().dump({"n": self.input().load()["n"]})


class Gated(law.LocalWorkflow):
    """Its branches wait for the file ``gate``: a run that is seen while it runs."""

    gate = luigi.Parameter()

    def create_branch_map(self):
        return 3

    def output(self):
        return self.local_target(f"gated_{self.branch}.json")

    def run(self):
        import os
        import time

        while not os.path.exists(self.gate):
            time.sleep(0.1)
        self.output().dump({})


class Plot(law.Task):
    def requires(self):
        return [Histogram.req(self, dataset="data", fail=4), Histogram.req(self, dataset="mc")]

    def output(self):
        return self.local_target("plot.json")

    def run(self):
        self.output().dump({})
'''


def law_core_env(cwd: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("LAW_CORE")}
    full.update(env or {})
    full["PYTHONPATH"] = os.pathsep.join([str(cwd)] + ([env["PYTHONPATH"]]
                                                       if env and env.get("PYTHONPATH") else []))
    full["LAW_CORE_CONFIG"] = str(cwd / "law.cfg")
    return full


def law_core(args: list[str], cwd: Path, env: dict[str, str] | None = None,
             timeout: float = 180) -> subprocess.CompletedProcess:
    """``law-core ARGS`` in a fresh process in ``cwd`` with the analysis's config."""
    return subprocess.run([sys.executable, "-m", "law_core", *args], cwd=cwd,
                          env=law_core_env(cwd, env), capture_output=True, text=True,
                          timeout=timeout)


def start_law_core(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "law_core", *args], cwd=cwd,
                            env=law_core_env(cwd), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


class Chromium:
    """Debian's chromium, headless."""

    def __init__(self, binary: str, artifacts: Path) -> None:
        self.binary = binary
        self.artifacts = artifacts

    def _run(self, args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([self.binary, "--headless", "--no-sandbox", "--disable-gpu",
                               "--virtual-time-budget=5000", *args],
                              capture_output=True, text=True, timeout=timeout)

    def dom(self, url: str) -> str:
        """The page's DOM after its scripts ran."""
        done = self._run(["--dump-dom", url])
        assert done.returncode == 0, done.stderr
        return done.stdout

    def screenshot(self, url: str, name: str) -> Path:
        path = self.artifacts / name
        done = self._run([f"--screenshot={path}", "--window-size=1400,900", url])
        assert done.returncode == 0 and path.exists(), done.stderr
        print(f"screenshot: {path}")
        return path
