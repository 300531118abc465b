"""What running other people's law analyses turned up ("stranger" checks), reduced to
small law-style reproductions. Each analysis is run with law 0.1.21 and with
law-core-compat through the same commands, which must exit alike and leave
byte-identical files (the machinery of law_reference.py).

- Analyses that mix ``law.cms.CrabWorkflow`` into their workflows and bundle their
  repository with ``law.git.BundleGitRepository`` load the contrib packages ``cms`` and
  ``git`` at import: their local parts must run here too.
- law's contrib packages add ``[job]`` options (``crab_sandbox_name``,
  ``htcondor_job_file_dir``, ...) and ``[target] default_wlcg_fs``; a law.cfg that sets
  them must not trip law-core's check of its own sections.
"""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest
from law_reference import COMPAT_BIN, _both, _env, _index_families  # noqa: F401

FRAMEWORK = '''
    import os

    import luigi
    import law

    law.contrib.load("cms", "git", "htcondor", "tasks")


    class Task(law.Task):
        version = luigi.Parameter()

        def local_target(self, *path):
            parts = ("$STORE", type(self).__name__, self.version) + path
            return law.LocalFileTarget(os.path.join(*map(str, parts)))


    class Bundle(Task, law.git.BundleGitRepository):
        version = None
        exclude_files = ["data", ".law"]

        def get_repo_path(self):
            return os.environ["REPO"]

        def output(self):
            return law.LocalFileTarget("$STORE/bundle.tgz")


    class Crab(law.cms.CrabWorkflow):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            # built with every workflow, as analyses that bundle their repository do
            self.bundle_req = Bundle.req(self)

        def crab_stageout_location(self):
            return ("T2_XX_Site", "/store/user/someone")

        def crab_output_directory(self):
            return law.LocalDirectoryTarget(self.local_target().path)

        def crab_workflow_requires(self):
            reqs = super().crab_workflow_requires()
            reqs["repo"] = self.bundle_req
            return reqs


    class Condor(law.htcondor.HTCondorWorkflow):
        def htcondor_output_directory(self):
            return law.LocalDirectoryTarget(self.local_target().path)


    class Squares(Task, law.LocalWorkflow, Crab, Condor):
        def create_branch_map(self):
            return {i: n for i, n in enumerate(range(2, 7))}

        def output(self):
            return self.local_target(f"square_{self.branch}.json")

        def run(self):
            self.output().dump({"n": self.branch_data, "square": self.branch_data ** 2})


    class Sum(Task):
        def requires(self):
            return Squares.req(self)

        def output(self):
            return self.local_target("sum.txt")

        def run(self):
            inputs = self.input()["collection"].targets.values()
            total = sum(inp.load()["square"] for inp in inputs)
            self.output().dump(f"{total}\\n", formatter="text")
'''

LAW_CFG = '''
    [modules]
    crab_tasks

    [job]
    job_file_dir: $STORE/jobs
    job_file_dir_cleanup: False
    crab_sandbox_name: CMSSW_10_6_30
    htcondor_job_file_dir: $STORE/condor_jobs

    [target]
    default_wlcg_fs: wlcg_fs

    [luigi_core]
    local_scheduler: True
    no_lock: True
'''


@pytest.fixture
def analysis(tmp_path: Path) -> Path:
    source = tmp_path / "src" / "crab"
    source.mkdir(parents=True)
    (source / "crab_tasks.py").write_text(textwrap.dedent(FRAMEWORK))
    (source / "law.cfg").write_text(textwrap.dedent(LAW_CFG))
    return source


def test_crab_and_git_mixins_run_locally_as_law(tmp_path: Path, analysis: Path,
                                                law_bin: Path) -> None:
    """A workflow with law's Crab and HTCondor mixins runs its branches locally, and its
    [job]/[target] options of law's contrib packages are law's, as in law 0.1.21."""
    commands = [
        ["law", "index", "--verbose"],
        ["law", "run", "Sum", "--version", "v1"],
        ["law", "run", "Squares", "--version", "v2", "--workflow", "local", "--branch", "3"],
        ["law", "config", "job.crab_sandbox_name"],
    ]
    law_example, compat_example, law_results, compat_results = _both(
        tmp_path / "run", analysis, law_bin, {"STORE": "data", "REPO": "."}, commands)
    assert [rc for _, rc, _ in compat_results] == [0, 0, 0, 0]
    data = compat_example / "data"
    assert (data / "Sum" / "v1" / "sum.txt").read_text() == "90\n"
    assert (data / "Squares" / "v2" / "square_3.json").is_file()
    assert compat_results[3][2].strip() == "CMSSW_10_6_30"
    # the analysis' own families are law's (law also lists its contrib tasks
    # law.cms.BundleCMSSW and law.git.BundleGitRepository, which cannot run here)
    # (Bundle inherits law's namespace "law.git", as in law)
    ours = {"law.git.Bundle", "Squares", "Sum"}
    assert {f for _, f in _index_families(compat_example)} == ours
    assert {f for _, f in _index_families(law_example)} - ours == {
        "law.cms.BundleCMSSW", "law.git.BundleGitRepository"}


def test_crab_and_bundling_say_they_are_unsupported(tmp_path: Path, analysis: Path) -> None:
    """Choosing Crab or running the git bundling stops with a message naming what to do,
    not a traceback."""
    env_vars = {"STORE": str(tmp_path / "data"), "REPO": str(tmp_path)}
    results = []
    for args in (["Squares", "--version", "v1", "--workflow", "crab"], ["law.git.Bundle"]):
        results.append(_machinery_run(analysis, env_vars, ["law", "index", "-q"]))
        results.append(_machinery_run(analysis, env_vars, ["law", "run", *args]))
    crab, bundle = results[1], results[3]
    assert crab.returncode != 0 and "crab" in crab.stderr.lower()
    assert "Traceback" not in crab.stderr
    assert bundle.returncode == 40
    assert "BundleGitRepository" in bundle.stdout + bundle.stderr
    assert "not supported by law-core-compat" in bundle.stdout + bundle.stderr


def _machinery_run(source: Path, data_vars: dict[str, str],
                   command: list[str]) -> subprocess.CompletedProcess:
    env = _env(COMPAT_BIN, source, {})
    env.update(data_vars)
    return subprocess.run(command, cwd=source, env=env, capture_output=True, text=True,
                          timeout=300)


def test_contrib_job_options_are_laws() -> None:
    """law.config knows the [job] options of law's contrib packages with law's defaults."""
    from law import config as law_config

    assert law_config._defaults()["job"]["htcondor_cmd_submit"] == "condor_submit"
    assert law_config._defaults()["job"]["arc_chunk_size_query"] == 20
    assert law_config._defaults()["target"]["default_wlcg_fs"] == "wlcg_fs"
