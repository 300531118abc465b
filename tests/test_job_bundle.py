"""Jobs without a shared file system carry their software (law_core.workflow.bundle): what
goes into the bundle, its cache, and a job that runs from it with the worker's Python while
neither the analysis directory nor the job directory exists."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from law_core.config import get_config, reset_config
from law_core.errors import ConfigError
from law_core.plugin import JOB_FILES, JobSubmission
from law_core.testing.job_manager import JobFilesOnly, write_tasks
from law_core.workflow import bundle

TASKS = """
    import json
    import os
    import sys

    import law_core as law

    import helpers
    from anapkg import numbers


    class Sealed(law.Workflow):
        def create_branch_map(self):
            return 2

        def output(self):
            return self.target(f"sealed_{self.branch}.json")

        def run(self):
            import law_core

            self.output().dump({
                "branch": self.branch, "value": numbers.VALUE + helpers.OFFSET,
                "cwd": os.getcwd(), "sys_path": sys.path, "executable": sys.executable,
                "law_core": law_core.__file__, "module": __file__,
            })
"""


class NoSharedFS(JobFilesOnly):
    """Writes the job files of workers without a shared file system; the test plays the
    batch system that copies them around."""

    name = "nosharedfs"

    shared_fs = False


@pytest.fixture
def ana(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An analysis directory: the task module, a helper module, a package with data, a
    directory that is no package, and a config; the working directory of the test."""
    ana = tmp_path / "ana"
    ana.mkdir()
    write_tasks(ana, "bundled_tasks", TASKS)
    (ana / "helpers.py").write_text("OFFSET = 100\n")
    (ana / "anapkg").mkdir()
    (ana / "anapkg" / "__init__.py").write_text("")
    (ana / "anapkg" / "numbers.py").write_text("VALUE = 7\n")
    (ana / "anapkg" / "table.json").write_text("[1, 2]\n")
    (ana / "anapkg" / "__pycache__").mkdir()
    (ana / "anapkg" / "__pycache__" / "numbers.cpython-311.pyc").write_bytes(b"x")
    (ana / "notes").mkdir()  # no __init__.py: not importable as a package, not bundled
    (ana / "notes" / "todo.py").write_text("")
    (ana / "law.cfg").write_text(f"[target]\nstore = {tmp_path / 'store'}\n"
                                 f"[job]\nbundle_cache = {tmp_path / 'cache'}\n")
    monkeypatch.chdir(ana)
    monkeypatch.syspath_prepend(str(ana))
    reset_config()
    for name in ("bundled_tasks", "helpers", "anapkg", "anapkg.numbers"):
        sys.modules.pop(name, None)
    return ana


def workflow() -> Any:
    import bundled_tasks  # type: ignore[import-not-found]

    return bundled_tasks.Sealed()


def members(path: Path) -> list[str]:
    with tarfile.open(path) as tar:
        return tar.getnames()


def test_bundle_holds_law_core_plugins_dependencies_and_the_analysis(ana: Path) -> None:
    built = bundle.build(workflow())
    names = set(members(built.path))
    python = bundle.PYTHON_DIR
    # law-core and what the job worker imports, with their metadata (entry points)
    for package in ("law_core", "luigi", "pluggy", "stevedore"):
        assert f"{python}/{package}/__init__.py" in names, package
    assert any(n.startswith(f"{python}/law_core-") and n.endswith(".dist-info/entry_points.txt")
               for n in names)
    # every installed plugin (editable installs copied from where they are imported)
    from importlib.metadata import entry_points

    for plugin in entry_points(group="law_core.plugins"):
        top = plugin.value.split(":")[0].split(".")[0]
        assert f"{python}/{top}/__init__.py" in names or f"{python}/{top}.py" in names, plugin
    # the analysis: the task module, the working directory's modules and packages with
    # their data, no byte code, no directory that is not a package
    assert {f"{python}/bundled_tasks.py", f"{python}/helpers.py",
            f"{python}/anapkg/numbers.py", f"{python}/anapkg/table.json"} <= names
    assert not any(n.endswith(".pyc") or "__pycache__" in n for n in names)
    assert not any(n.startswith(f"{python}/notes") for n in names)
    # the test tools are not a requirement of law-core (only of its "test" extra)
    assert f"{python}/pytest/__init__.py" not in names
    with tarfile.open(built.path) as tar:
        manifest = json.loads(tar.extractfile(bundle.MANIFEST).read())
    assert manifest["python"] == "{}.{}".format(*sys.version_info[:2])
    assert any(d.startswith("luigi==") for d in manifest["distributions"])
    # no RECORD or direct_url.json: they name this host's paths
    assert not any(n.endswith(("/RECORD", "/direct_url.json")) for n in names)


def test_bundle_is_built_once_per_content(ana: Path) -> None:
    first = bundle.build(workflow())
    again = bundle.build(workflow())
    assert first.built and not again.built
    assert again.path == first.path and first.digest in first.path.name
    assert first.path.parent == ana.parent / "cache"
    assert first.path.stat().st_mode & 0o777 == 0o600  # the analysis's code: the user's
    (ana / "helpers.py").write_text("OFFSET = 200\n")  # the analysis changed
    changed = bundle.build(workflow())
    assert changed.built and changed.path != first.path
    assert first.path.exists()  # other workflows may still use it


def test_bundle_include_and_exclude(ana: Path, tmp_path: Path) -> None:
    extra = tmp_path / "elsewhere" / "calib"
    extra.mkdir(parents=True)
    (extra / "__init__.py").write_text("")
    (ana / "anapkg" / "big.dat").write_bytes(b"0" * 1000)
    get_config().override("job", "bundle_include", f"{extra}, json", "the test")
    get_config().override("job", "bundle_exclude", "anapkg/*.dat, law-core-docker, docker",
                          "the test")
    names = set(members(bundle.build(workflow()).path))
    assert f"{bundle.PYTHON_DIR}/calib/__init__.py" in names  # a path, by its name
    assert f"{bundle.PYTHON_DIR}/json/__init__.py" in names  # a module, where imported
    assert f"{bundle.PYTHON_DIR}/anapkg/big.dat" not in names
    # a distribution left out, and what only it requires
    assert not any(n.startswith(f"{bundle.PYTHON_DIR}/law_core_docker") for n in names)
    assert f"{bundle.PYTHON_DIR}/docker/__init__.py" not in names
    get_config().override("job", "bundle_include", "no such thing!", "the test")
    with pytest.raises(ConfigError, match="bundle_include: 'no such thing!' is neither"):
        bundle.build(workflow())


def _system_python() -> str | None:
    """A Python of this major.minor that is not this venv's (the "bare worker" one)."""
    version = "python{}.{}".format(*sys.version_info[:2])
    found = shutil.which(version, path="/usr/bin:/bin")
    return found if found and os.path.realpath(found) != os.path.realpath(sys.executable) \
        else None


def _prepare(monkeypatch: pytest.MonkeyPatch, python: str) -> dict[str, Any]:
    monkeypatch.setenv("LAW_CORE__JOB__PYTHON", python)
    reset_config()
    manager = NoSharedFS(workflow())
    job_dir, submission, jobs = manager.prepare_jobs([0, 1])
    return {"manager": manager, "job_dir": job_dir, "jobs": jobs, "submission": submission}


def _run_in_scratch(tmp_path: Path, manager: Any, jobs: list[JobSubmission],
                    hide: list[Path]) -> list[tuple[int, Path, Any]]:
    """Each job in a scratch directory with copies of its inputs, while the ``hide``
    directories (the analysis, the job directory) do not exist; no PATH, no PYTHONPATH."""
    runs = []
    specs = [manager.transfer_spec(j) for j in jobs]
    for j, spec in zip(jobs, specs):
        scratch = tmp_path / f"worker {j.num}"
        scratch.mkdir()
        for path in spec.inputs:
            shutil.copy2(path, scratch / Path(path).name)
        runs.append((j, scratch, spec))
    for path in hide:
        path.rename(path.with_name(path.name + ".away"))
    try:
        results = []
        for _job, scratch, spec in runs:
            with open(scratch / spec.stdout, "w") as out, open(scratch / spec.stderr, "w") as err:
                code = subprocess.run([spec.executable, *spec.command], cwd=scratch,
                                      env={"TMPDIR": str(scratch)}, stdout=out, stderr=err,
                                      timeout=300).returncode
            results.append((code, scratch, spec))
    finally:
        for path in hide:
            path.with_name(path.name + ".away").rename(path)
    return results


def test_job_runs_from_the_bundle_without_any_path_of_the_submitting_side(
        ana: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    python = _system_python()
    if python is None:
        pytest.skip("no system Python of this version to play the worker's")
    prepared = _prepare(monkeypatch, python)
    manager, job_dir = prepared["manager"], prepared["job_dir"]
    (bundle_file,) = bundle.bundles_in(job_dir)
    spec = manager.transfer_spec(prepared["jobs"][0])
    assert [Path(p).name for p in spec.inputs] == [*JOB_FILES, bundle_file.name]
    task = json.loads((job_dir / "task.json").read_text())
    assert task["cwd"] is None and task["pythonpath"] == []
    env_text = (job_dir / "job_env.sh").read_text()
    assert str(ana) not in env_text and sys.prefix not in env_text
    assert "PATH=" not in env_text.replace("PYTHONPATH", "")
    results = _run_in_scratch(tmp_path, manager, prepared["jobs"], [ana, job_dir])
    for code, scratch, spec in results:
        assert code == 0, (scratch / spec.stderr).read_text()[-3000:]
    store = tmp_path / "store" / "Sealed"
    submit_side = [str(ana), sys.prefix, sys.base_prefix, str(Path(bundle.__file__).parents[2])]
    for branch in (0, 1):
        seen = json.loads((store / f"sealed_{branch}.json").read_text())
        assert seen["value"] == 107
        assert seen["executable"] == python
        used = [seen["cwd"], seen["law_core"], seen["module"], *seen["sys_path"]]
        assert not [p for p in used if any(p.startswith(s) for s in submit_side)], used
        assert seen["law_core"].startswith(str(tmp_path / f"worker {branch + 1}"))


def test_python_of_another_version_fails_the_setup_naming_both(
        ana: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "python-other"
    fake.write_text("#!/bin/sh\necho 2.7\n")
    fake.chmod(0o755)
    prepared = _prepare(monkeypatch, str(fake))
    results = _run_in_scratch(tmp_path, prepared["manager"], prepared["jobs"][:1], [])
    code, scratch, spec = results[0]
    assert code == 10
    status = json.loads((scratch / "status" / "job_1_1.json").read_text())
    version = "{}.{}".format(*sys.version_info[:2])
    assert status["phase"] == "setup"
    assert f"built with Python {version} on the submitting side, but '{fake}'" in \
        status["error"]
    assert "is Python 2.7" in status["error"]
    # the submitting side reports it as the job's error
    planned = prepared["submission"].jobs[1]
    shutil.copyfile(scratch / "status" / "job_1_1.json", prepared["job_dir"] / "status" /
                    "job_1_1.json")
    prepared["manager"]._update(planned, None)
    assert "Python 2.7" in planned.error


def test_shared_fs_switch(ana: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``[job] shared_fs = false`` gives any manager the bundle; true (the default) none,
    and the bundle of an earlier run leaves the job directory."""

    class Plain(NoSharedFS):
        name = "plain"
        shared_fs = None  # as [job] shared_fs says

    manager = Plain(workflow())
    assert manager.shared_file_system()
    get_config().override("job", "shared_fs", "false", "the test")
    manager._write_job_files(manager.job_directory())
    assert len(bundle.bundles_in(manager.job_directory())) == 1
    get_config().override("job", "shared_fs", "true", "the test")
    manager._write_job_files(manager.job_directory())
    assert bundle.bundles_in(manager.job_directory()) == []
    assert json.loads((manager.job_directory() / "task.json").read_text())["cwd"] == str(ana)


def test_bundle_from_the_store_instead_of_with_each_job(
        ana: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``[job] bundle_store``: the bundle is copied there once, no job carries it, and the
    wrapper fetches it (here a path, copied with cp)."""
    python = _system_python()
    if python is None:
        pytest.skip("no system Python of this version to play the worker's")
    store = tmp_path / "bundles"
    monkeypatch.setenv("LAW_CORE__JOB__BUNDLE_STORE", str(store))
    prepared = _prepare(monkeypatch, python)
    manager, job_dir = prepared["manager"], prepared["job_dir"]
    assert bundle.bundles_in(job_dir) == []
    (published,) = store.glob(f"{bundle.PREFIX}*")
    env_text = (job_dir / "job_env.sh").read_text()
    assert f"LAW_CORE_JOB_BUNDLE_URL=file://{published}\n" in env_text
    spec = manager.transfer_spec(prepared["jobs"][0])
    assert [Path(p).name for p in spec.inputs] == list(JOB_FILES)
    results = _run_in_scratch(tmp_path, manager, prepared["jobs"][:1], [ana, job_dir])
    code, scratch, spec = results[0]
    assert code == 0, (scratch / spec.stderr).read_text()[-3000:]
    seen = json.loads((tmp_path / "store" / "Sealed" / "sealed_0.json").read_text())
    assert seen["value"] == 107
