"""Jobs without a shared file system: :meth:`RemoteJobManager.transfer_spec` and the job
wrapper run in a scratch directory holding copies of the job files (what HTCondor's file
transfer mode and gLite's sandboxes rely on, with no launcher script of their own)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from law_core.config import reset_config
from law_core.plugin import JOB_FILES, JobSubmission, JobTransfer
from law_core.testing.job_manager import JobFilesOnly, write_tasks

TASKS = """
    import os

    import law_core as law


    class Carried(law.Workflow):
        def create_branch_map(self):
            return 2

        def output(self):
            return self.local_target(f"out_{self.branch}.json")

        def run(self):
            self.output().dump({"branch": self.branch, "cwd": os.getcwd()})
"""

#: a job directory path as awkward as they get
AWKWARD = "job dir 'single' \"double\" $HOME 100%"


class ScratchOnly(JobFilesOnly):
    """Writes the job files; the test plays the batch system that copies them around."""

    name = "scratchonly"


def job(job_dir: str, num: int = 3, attempt: int = 2, command: tuple[str, ...] | None = None
        ) -> JobSubmission:
    return JobSubmission(
        num=num, attempt=attempt, name=f"law-x-{num}-{attempt}", branches=(num,),
        command=command or ("bash", f"{job_dir}/job_wrapper.sh", job_dir, str(num),
                            str(attempt)),
        stdout=f"{job_dir}/logs/job_{num}_{attempt}.out",
        stderr=f"{job_dir}/logs/job_{num}_{attempt}.err", job_dir=job_dir)


def test_transfer_spec_runs_the_command_in_the_scratch_directory(tmp_path: Path) -> None:
    """Job-directory paths become "." and "./NAME", every other argument is kept; the job
    files that exist travel in (the wrapper first), the status and logs come back."""
    job_dir = tmp_path / AWKWARD
    job_dir.mkdir()
    for name in ("job_wrapper.sh", "task.json", "submission.json", "helper.sh"):
        (job_dir / name).write_text("")
    d = str(job_dir)
    spec = ScratchOnly(None).transfer_spec(job(d, command=(
        "bash", f"{d}/job_wrapper.sh", d, "3", "2", f"{d}/helper.sh", f"{d}/", f"{d}x",
        "a b", "", "x./y", "/abs", f"{d}/data/in.txt")))
    assert spec.command == ("bash", "./job_wrapper.sh", ".", "3", "2", "./helper.sh", ".",
                            f"{d}x", "a b", "", "x./y", "/abs", "./data/in.txt")
    # a file the command names travels even when missing (the batch system says so)
    assert spec.inputs == tuple(f"{d}/{name}" for name in (
        "job_wrapper.sh", "task.json", "submission.json", "helper.sh", "data"))
    assert spec.outputs == {"status/job_3_2.json": f"{d}/status/job_3_2.json",
                            "job_3_2.out": f"{d}/logs/job_3_2.out",
                            "job_3_2.err": f"{d}/logs/job_3_2.err"}
    assert (spec.stdout, spec.stderr) == ("job_3_2.out", "job_3_2.err")
    assert JobTransfer.executable == "/usr/bin/env"


def test_wrapper_records_an_early_failure_in_the_scratch_status_directory(
        tmp_path: Path) -> None:
    """Job dir ".": the wrapper creates status/ itself (a batch system transferring it back
    needs it) and records there that the setup failed (no job_env.sh came with it)."""
    from importlib import resources

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    wrapper = resources.files("law_core.workflow").joinpath("job_wrapper.sh").read_text()
    (scratch / "job_wrapper.sh").write_text(wrapper)
    result = subprocess.run([JobTransfer.executable, "bash", "./job_wrapper.sh", ".", "5", "1"],
                            cwd=scratch, env={}, capture_output=True, text=True)
    assert result.returncode == 10
    status = json.loads((scratch / "status" / "job_5_1.json").read_text())
    assert (status["exit_code"], status["phase"]) == (10, "setup")


@pytest.fixture
def prepared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The job files of a two-job workflow, written as a submission writes them."""
    ana = tmp_path / "ana"
    ana.mkdir()
    write_tasks(ana, "carried_tasks", TASKS)
    record = tmp_path / "record"
    record.mkdir()
    bootstrap = tmp_path / "bootstrap.sh"
    # sourced by the job wrapper with its arguments JOB_DIR JOB_NUM ATTEMPT
    bootstrap.write_text(f'printf "%s\\n" "$1" > "{record}/dir_$2"\n'
                         f'ls -A "$1" > "{record}/files_$2"\n')
    # config values expand variables: $$ is a literal $ (in the job directory's path too)
    store = str(ana / AWKWARD).replace("$", "$$")
    (ana / "law.cfg").write_text(f"[target]\nstore = {store}\n"
                                 f"[job]\nbootstrap_file = {bootstrap}\n")
    monkeypatch.chdir(ana)
    monkeypatch.syspath_prepend(str(ana))
    reset_config()
    sys.modules.pop("carried_tasks", None)
    import carried_tasks  # type: ignore[import-not-found]

    manager = ScratchOnly(carried_tasks.Carried())
    job_dir, submission, jobs = manager.prepare_jobs([0, 1])
    return {"ana": ana, "manager": manager, "job_dir": job_dir, "jobs": jobs,
            "submission": submission, "record": record}


def test_job_runs_where_the_job_directory_does_not_exist(tmp_path: Path,
                                                         prepared: dict[str, Any]) -> None:
    """Each job runs in its own scratch directory with copies of its inputs only, while the
    job directory is gone; its exit status lands in ./status and, brought back as the
    outputs say, is what the submitting side reads."""
    manager, job_dir = prepared["manager"], prepared["job_dir"]
    specs = [manager.transfer_spec(j) for j in prepared["jobs"]]
    assert [Path(p).name for p in specs[0].inputs] == list(JOB_FILES)
    scratches = []
    for j, spec in zip(prepared["jobs"], specs):
        scratch = tmp_path / f"worker {j.num}" / "scratch"
        scratch.mkdir(parents=True)
        for path in spec.inputs:
            shutil.copy2(path, scratch / Path(path).name)
        scratches.append(scratch)
    away = job_dir.with_name(job_dir.name + ".away")
    job_dir.rename(away)  # no path of the job directory exists while the jobs run
    try:
        for spec, scratch in zip(specs, scratches):
            # no PATH, as HTCondor starts jobs; the logs where a JDL's StdOutput puts them
            with open(scratch / spec.stdout, "w") as out, \
                    open(scratch / spec.stderr, "w") as err:
                code = subprocess.run([spec.executable, *spec.command], cwd=scratch, env={},
                                      stdout=out, stderr=err, timeout=120).returncode
            assert code == 0, (scratch / spec.stderr).read_text()[-3000:]
    finally:
        away.rename(job_dir)
    record = prepared["record"]
    for j, spec, scratch in zip(prepared["jobs"], specs, scratches):
        # the bootstrap saw the scratch directory, absolute, with the job files in it
        assert Path((record / f"dir_{j.num}").read_text().strip()) == scratch
        assert {*JOB_FILES, "status"} <= set((record / f"files_{j.num}").read_text().split())
        assert not (job_dir / "status" / f"job_{j.num}_1.json").exists()
        for relative, destination in spec.outputs.items():  # the batch system's return
            Path(destination).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(scratch / relative, destination)
        assert f"law-core job {j.num} attempt 1" in Path(j.stdout).read_text()
        planned = prepared["submission"].jobs[j.num]
        assert manager._read_status_file(planned)["exit_code"] == 0
    outputs = sorted((prepared["ana"] / AWKWARD / "Carried").glob("out_*.json"))
    assert [p.name for p in outputs] == ["out_0.json", "out_1.json"]
    # task.json keeps the submitting side's working directory (the worker has its paths)
    assert {json.loads(p.read_text())["cwd"] for p in outputs} == {str(prepared["ana"])}
    assert os.path.isdir(job_dir / "status")
