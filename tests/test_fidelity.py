"""Same task, same outputs, wherever it runs: jobs that would work somewhere else fail at
once and say why, and config values are the submitting side's, from any directory.

Against the real services (the Slurm cluster, the XRootD server and the Docker daemon of
law-core's pytest fixtures). The sandbox side (bash, venv, Docker, Apptainer's stand-in)
is promised by every sandbox plugin's conformance suite (``SandboxSuite``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "analysis.py"

ENV_ROOTED = """
    import os

    import law_core as law

    # the output root comes from the submitting shell, as analyses commonly do it
    OUT = os.environ.get("MY_OUT", {default!r})


    class Letters(law.LocalWorkflow):
        def create_branch_map(self):
            return 6

        def output(self):
            return law.LocalFileTarget(f"{{OUT}}/letter_{{self.branch}}.txt")

        def run(self):
            self.output().dump(chr(97 + self.branch) * (self.branch + 1))
"""


def law_core(args: list[str], cwd: Path, code_dir: Path, **env: str
             ) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("LAW_CORE", "MY_"))}
    environ.update(PYTHONPATH=str(code_dir), HOME=str(cwd), **env)
    return subprocess.run([sys.executable, "-m", "law_core", *args], cwd=cwd, env=environ,
                          capture_output=True, text=True, timeout=600)


def contents(directory: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(directory.glob("letter_*.txt"))}


def test_a_job_that_would_write_elsewhere_fails_at_once_and_works_once_forwarded(
        tmp_path, law_core_slurm_cluster):
    default = tmp_path / "default-of-the-module"
    (tmp_path / "envrooted.py").write_text(textwrap.dedent(ENV_ROOTED.format(
        default=str(default))))
    wanted = tmp_path / "my-out"
    reference = tmp_path / "reference"

    local = law_core(["run", "envrooted.Letters"], tmp_path, tmp_path, MY_OUT=str(reference))
    assert local.returncode == 0, local.stderr[-3000:]

    slurm = "[workflow]\nLetters = slurm\n[Letters]\npoll_interval = 0.5s\ntasks_per_job = 2\n"
    (tmp_path / "law.cfg").write_text(slurm)
    failed = law_core(["run", "envrooted.Letters"], tmp_path, tmp_path, MY_OUT=str(wanted))
    assert failed.returncode == 1
    assert "would write " + f"file://{default}/letter_" in failed.stderr, failed.stderr[-3000:]
    assert f"the submitting side expects file://{wanted}/letter_" in failed.stderr
    assert "forward it with [job] forward_env" in failed.stderr
    assert "resubmitting" not in failed.stderr  # the same would happen again
    assert not default.exists() and not wanted.exists()  # nothing ran, nowhere

    # fixing the config is enough: jobs of the first run that are still running fail with
    # its job files, and are resubmitted with the new ones
    (tmp_path / "law.cfg").write_text(slurm + "[job]\nforward_env = MY_*\n")
    done = law_core(["run", "envrooted.Letters"], tmp_path, tmp_path, MY_OUT=str(wanted))
    assert done.returncode == 0, done.stderr[-3000:]
    assert contents(wanted) == contents(reference) and len(contents(wanted)) == 6
    assert not default.exists()


def test_relative_output_paths_from_another_directory_on_slurm(tmp_path,
                                                             law_core_slurm_cluster):
    code, run_dir = tmp_path / "code", tmp_path / "run"
    code.mkdir()
    run_dir.mkdir()
    (code / "envrooted.py").write_text(textwrap.dedent(ENV_ROOTED.format(default="rel-out")))
    (code / "law.cfg").write_text("[workflow]\nLetters = slurm\n[Letters]\n"
                                  "poll_interval = 0.5s\ntasks_per_job = 3\n")
    result = law_core(["run", "envrooted.Letters"], run_dir, code,
                      LAW_CORE_CONFIG=str(code / "law.cfg"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(contents(run_dir / "rel-out")) == 6  # relative to where the run started
    assert not (code / "rel-out").exists()


README_CONFIGS = {
    "local": "",
    "slurm": "[workflow]\nCreateChars = slurm\n[CreateChars]\ntasks_per_job = 9\n"
             "poll_interval = 0.5s\n",
}


@pytest.mark.parametrize("way", ["local", "slurm", "slurm+docker"])
def test_readme_store_of_pwd_from_another_directory(way, tmp_path, law_core_slurm_cluster,
                                                    law_core_docker_image):
    """The README's ``store = $PWD/data``, the code and config in one directory, the run
    started from another: every output lands below the directory the run started in, in
    jobs and containers too, with the same contents as a plain local run."""
    code = tmp_path / "code"
    code.mkdir()
    shutil.copy(EXAMPLE, code / "analysis.py")
    config = "[modules]\nanalysis\n[target]\nstore = $PWD/data\n"
    config += README_CONFIGS["slurm" if way.startswith("slurm") else "local"]
    if way.endswith("docker"):
        config += f"[sandbox]\nSummary = docker::{law_core_docker_image}\n"
    (code / "law.cfg").write_text(config)

    reference_dir = tmp_path / "reference"
    reference_dir.mkdir()
    (reference_dir / "law.cfg").write_text("[target]\nstore = $PWD/data\n")
    reference = law_core(["run", "analysis.Summary"], reference_dir, code)
    assert reference.returncode == 0, reference.stderr[-3000:]

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = law_core(["run", "analysis.Summary"], elsewhere, code,
                      LAW_CORE_CONFIG=str(code / "law.cfg"))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    for name in ("CreateAlphabet/alphabet.txt", "Summary/summary.json",
                 "CreateChars/output_7.json"):
        assert (elsewhere / "data" / name).read_text() == \
            (reference_dir / "data" / name).read_text()
    assert len(list((elsewhere / "data" / "CreateChars").glob("output_*.json"))) == 26
    assert not (code / "data").exists()  # nothing where the code and config live
    if way.startswith("slurm"):
        (submission,) = (elsewhere / "data" / "CreateChars" / "jobs").glob(
            "slurm_*/submission.json")
        assert len(json.loads(submission.read_text())["jobs"]) == 3
