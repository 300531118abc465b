"""A workflow's job input files (``Workflow.job_input_files``): copied into the job directory
when the jobs are submitted, named in ``job_env.sh``, taken along by jobs without a shared
file system (``transfer_spec``), and copied by the job wrapper into the job home before the
bootstrap file is sourced.

The jobs here run the real job wrapper: in place, as on a batch system whose workers share
this file system, and in a scratch directory into which the test, playing the batch system,
copies the inputs ``transfer_spec`` names while the job directory does not exist.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from law_core.config import reset_config
from law_core.errors import WorkflowError
from law_core.plugin import JOB_FILES
from law_core.testing.job_manager import JobFilesOnly, write_tasks

TASKS = """
    import os
    import stat

    import law_core as law

    #: name -> path on the submitting side; the test fills it
    INPUTS = {}


    class Fed(law.Workflow):
        def create_branch_map(self):
            return 2

        def output(self):
            return self.local_target(f"fed_{self.branch}.json")

        def job_input_files(self):
            return dict(INPUTS)

        def run(self):
            home = os.environ["LAW_CORE_JOB_HOME"]
            found = {}
            for name in sorted(os.listdir(home)):
                path = os.path.join(home, name)
                with open(path) as f:
                    found[name] = {"text": f.read(),
                                   "mode": stat.S_IMODE(os.stat(path).st_mode)}
            self.output().dump(found)
"""


class InputsOnly(JobFilesOnly):
    """Writes the job files; the test plays the batch system that runs the wrapper."""

    name = "inputsonly"


@pytest.fixture
def ana(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """An analysis whose workflow asks for two input files (one executable) and whose
    bootstrap file reads one of them from its working directory."""
    ana = tmp_path / "ana"
    ana.mkdir()
    write_tasks(ana, "fed_tasks", TASKS)
    record = tmp_path / "record"
    record.mkdir()
    bootstrap = tmp_path / "bootstrap.sh"
    # sourced by the wrapper with JOB_DIR JOB_NUM ATTEMPT; fails when calib.txt is not here
    bootstrap.write_text(f'cat ./calib.txt > "{record}/bootstrap_$2" || return 1\n')
    (ana / "law.cfg").write_text(f"[target]\nstore = {tmp_path / 'store'}\n"
                                 f"[job]\nbootstrap_file = {bootstrap}\n")
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "calibration v1.txt").write_text("calibration 1\n")
    (sources / "setup.sh").write_text("echo setup\n")
    (sources / "setup.sh").chmod(0o750)
    monkeypatch.chdir(ana)
    monkeypatch.syspath_prepend(str(ana))
    reset_config()
    sys.modules.pop("fed_tasks", None)
    import fed_tasks  # type: ignore[import-not-found]

    # another name in the job than here (a space would not do in many batch systems)
    fed_tasks.INPUTS.update({"calib.txt": str(sources / "calibration v1.txt"),
                             "setup.sh": str(sources / "setup.sh")})
    return {"module": fed_tasks, "sources": sources, "record": record,
            "store": tmp_path / "store" / "Fed"}


def _prepare(module: Any) -> dict[str, Any]:
    """The job files of the workflow's two jobs, written as a submission writes them."""
    manager = InputsOnly(module.Fed())
    job_dir, submission, jobs = manager.prepare_jobs([0, 1])
    return {"manager": manager, "job_dir": job_dir, "jobs": jobs, "submission": submission}


def _run(command: list[str], cwd: Path, stdout: Path, stderr: Path) -> int:
    """A job as a batch system starts it: no environment of the submitting shell."""
    stdout.parent.mkdir(parents=True, exist_ok=True)
    with open(stdout, "w") as out, open(stderr, "w") as err:
        return subprocess.run(command, cwd=cwd, env={}, stdout=out, stderr=err,
                              timeout=120).returncode


EXPECTED = {"calib.txt": {"text": "calibration 1\n", "mode": 0o644},
            "setup.sh": {"text": "echo setup\n", "mode": 0o750}}


def test_inputs_reach_the_job_home_with_a_shared_file_system(ana: dict[str, Any]) -> None:
    """The jobs read the job directory in place: each finds the files in its home under
    their names, with their modes, as they were at submission (an edit afterwards does
    not reach them), before the bootstrap file is sourced."""
    (ana["sources"] / "calibration v1.txt").chmod(0o644)
    prepared = _prepare(ana["module"])
    job_dir = prepared["job_dir"]
    env_text = (job_dir / "job_env.sh").read_text()
    assert "export LAW_CORE_JOB_INPUTS='calib.txt setup.sh'\n" in env_text
    assert str(ana["sources"]) not in env_text  # names only
    (ana["sources"] / "calibration v1.txt").write_text("edited after the submission\n")
    for j in prepared["jobs"]:
        code = _run(list(j.command), job_dir, Path(j.stdout), Path(j.stderr))
        assert code == 0, Path(j.stderr).read_text()[-3000:]
        assert (ana["record"] / f"bootstrap_{j.num}").read_text() == "calibration 1\n"
    for branch in (0, 1):
        assert json.loads((ana["store"] / f"fed_{branch}.json").read_text()) == EXPECTED
    # the next submission sends the edited file; one no longer asked for goes
    del ana["module"].INPUTS["setup.sh"]
    again = _prepare(ana["module"])
    assert sorted(p.name for p in (job_dir / "inputs").iterdir()) == ["calib.txt"]
    assert (job_dir / "inputs" / "calib.txt").read_text() == "edited after the submission\n"
    assert "export LAW_CORE_JOB_INPUTS=calib.txt\n" in (job_dir / "job_env.sh").read_text()
    assert [Path(p).name for p in again["manager"].transfer_spec(again["jobs"][0]).inputs] \
        == [*JOB_FILES, "calib.txt"]


def test_inputs_travel_with_jobs_without_the_job_directory(
        ana: dict[str, Any], tmp_path: Path) -> None:
    """Transferred jobs: ``transfer_spec`` names the copies in ``inputs/``, the batch
    system brings them into the scratch directory by their names, and the wrapper takes
    them from there while no path of the job directory exists."""
    prepared = _prepare(ana["module"])
    manager, job_dir = prepared["manager"], prepared["job_dir"]
    specs = [manager.transfer_spec(j) for j in prepared["jobs"]]
    assert list(specs[0].inputs) == [
        *(str(job_dir / name) for name in JOB_FILES),
        str(job_dir / "inputs" / "calib.txt"), str(job_dir / "inputs" / "setup.sh")]
    (ana["sources"] / "calibration v1.txt").write_text("edited after the submission\n")
    scratches = []
    for j, spec in zip(prepared["jobs"], specs):
        scratch = tmp_path / f"worker {j.num}"
        scratch.mkdir()
        for path in spec.inputs:  # by their names, as HTCondor and gLite copy them
            shutil.copy2(path, scratch / Path(path).name)
        scratches.append(scratch)
    away = job_dir.with_name(job_dir.name + ".away")
    job_dir.rename(away)
    try:
        for spec, scratch in zip(specs, scratches):
            code = _run([spec.executable, *spec.command], scratch, scratch / spec.stdout,
                        scratch / spec.stderr)
            assert code == 0, (scratch / spec.stderr).read_text()[-3000:]
    finally:
        away.rename(job_dir)
    for j in prepared["jobs"]:
        assert (ana["record"] / f"bootstrap_{j.num}").read_text() == "calibration 1\n"
    for branch in (0, 1):
        seen = json.loads((ana["store"] / f"fed_{branch}.json").read_text())
        assert seen["calib.txt"]["text"] == "calibration 1\n"
        assert seen["setup.sh"] == EXPECTED["setup.sh"]


def test_input_missing_in_the_job_fails_its_setup(ana: dict[str, Any]) -> None:
    """A file that did not reach the job is a setup failure naming it, recorded as the
    job's exit status; the bootstrap file is not sourced."""
    prepared = _prepare(ana["module"])
    job_dir, j = prepared["job_dir"], prepared["jobs"][0]
    (job_dir / "inputs" / "setup.sh").unlink()
    assert _run(list(j.command), job_dir, Path(j.stdout), Path(j.stderr)) == 10
    status = json.loads((job_dir / "status" / f"job_{j.num}_1.json").read_text())
    assert status["phase"] == "setup"
    assert "the job input file setup.sh did not reach the job" in status["error"]
    assert not (ana["record"] / f"bootstrap_{j.num}").exists()


@pytest.mark.parametrize(("name", "path", "message"), [
    ("calib.txt", "sources/absent.txt", r"'calib.txt', .*absent.txt, does not exist"),
    ("calib.txt", "sources", r"'calib.txt', .*sources, is not a file"),
    ("sub/calib.txt", "sources/setup.sh", r"'sub/calib.txt' is not a plain file name"),
    ("..", "sources/setup.sh", r"'\.\.' is not a plain file name"),
    ("my calib.txt", "sources/setup.sh", r"'my calib.txt' is not a plain file name"),
    ("-rf", "sources/setup.sh", r"'-rf' is not a plain file name"),
    ("job_env.sh", "sources/setup.sh", r"'job_env.sh' is one of law-core's job files"),
    ("status", "sources/setup.sh", r"'status' is one of law-core's job files"),
    ("inputs", "sources/setup.sh", r"'inputs' is one of law-core's job files"),
    ("job_1_1.err", "sources/setup.sh", r"'job_1_1.err' is one of law-core's job files"),
])
def test_bad_inputs_are_refused_before_any_job_is_submitted(
        ana: dict[str, Any], tmp_path: Path, name: str, path: str, message: str) -> None:
    ana["module"].INPUTS.clear()
    ana["module"].INPUTS[name] = str(tmp_path / path)
    with pytest.raises(WorkflowError, match=r"job_input_files\(\) of Fed: .*" + message):
        _prepare(ana["module"])


def test_inputs_hook_must_return_a_dict(ana: dict[str, Any],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ana["module"].Fed, "job_input_files", lambda self: ["calib.txt"])
    with pytest.raises(WorkflowError, match=r"returned a list; return a dict: name"):
        _prepare(ana["module"])
