"""law's batch workflows (``law.slurm.SlurmWorkflow``, ``law.htcondor.HTCondorWorkflow``)
submitting real jobs through law-core's plugins: to the one-node Slurm cluster of law-core's
pytest plugin, and to the HTCondor stand-in of law-core-htcondor's tests (HTCondor's daemons
cannot be installed here; the stand-in's condor_* commands run the jobs locally).

The analysis is written as for law: ``law.contrib.load``, ``<name>_output_directory``, a
bootstrap ``law.JobInputFile`` rendered in the job, ``<name>_job_config`` with
``render_variables``, ``custom_content`` and one more ``law.JobInputFile``. The jobs' outputs
show that the bootstrap file ran with the rendered values and that the input file was in
the job's working directory; the batch files show the custom content. On the stand-in in
file transfer mode, the bootstrap and input files travel with jobs that see no path of this
host.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
COMPAT_BIN = Path(sys.executable).parent

TASKS = '''
import os

import luigi
import law

law.contrib.load("slurm", "htcondor")

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(os.path.dirname(HERE), "data")


class Task(law.Task):
    version = luigi.Parameter(default="v1")

    def local_path(self, *path):
        return os.path.join(DATA, self.__class__.__name__, self.version, *path)


class Chars(Task):
    """Shared by both workflows: each branch writes its character and what the job saw.
    (The workflow classes define create_branch_map, output and run themselves: law-core
    dispatches them between workflow and branch where a workflow class defines them.)"""

    def chars(self):
        return {i: 97 + i for i in range(3)}

    def char_output(self):
        return law.LocalFileTarget(self.local_path("out_{}.json".format(self.branch)))

    def write_char(self):
        payload = os.environ.get("LAW_TEST_PAYLOAD", "")
        self.output().dump({
            "char": chr(self.branch_data),
            "greeting": os.environ.get("LAW_TEST_GREETING"),
            "payload": open(payload).read().strip() if payload else None,
        })

    def job_config(self, config, job_num, branches):
        config.render_variables["greeting"] = "hello from " + self.__class__.__name__
        config.input_files["payload"] = law.JobInputFile(os.path.join(HERE, "payload.txt"))
        return config

    def bootstrap(self):
        return law.JobInputFile(os.path.join(HERE, "bootstrap.sh"), share=True,
                                render_job=True)


class SlurmChars(Chars, law.slurm.SlurmWorkflow, law.LocalWorkflow):

    def create_branch_map(self):
        return self.chars()

    def output(self):
        return self.char_output()

    def run(self):
        self.write_char()

    def slurm_output_directory(self):
        return law.LocalDirectoryTarget(self.local_path())

    def slurm_bootstrap_file(self):
        return self.bootstrap()

    def slurm_job_config(self, config, job_num, branches):
        config = self.job_config(config, job_num, branches)
        config.custom_content.append(("comment", "law-compat-test"))
        config.custom_content.append(("time", "0:05:00"))
        return config


class CondorChars(Chars, law.htcondor.HTCondorWorkflow, law.LocalWorkflow):

    def create_branch_map(self):
        return self.chars()

    def output(self):
        return self.char_output()

    def run(self):
        self.write_char()

    def htcondor_output_directory(self):
        return law.LocalDirectoryTarget(self.local_path())

    def htcondor_bootstrap_file(self):
        return self.bootstrap()

    def htcondor_job_config(self, config, job_num, branches):
        config = self.job_config(config, job_num, branches)
        config.custom_content.append(("+LawCompatTest", '"yes"'))
        config.custom_content.append(("getenv", "true"))
        return config
'''

#: sourced by each job in its working directory, where the payload file was copied
BOOTSTRAP = """\
#!/usr/bin/env bash
export LAW_TEST_GREETING="{{greeting}}"
export LAW_TEST_PAYLOAD="$PWD/{{payload}}"
"""

#: rendered locally (law's default for a JobInputFile): {{greeting}} filled at submission
PAYLOAD = "payload for {{greeting}}\n"


def _load(relative: str, name: str) -> object:
    spec = importlib.util.spec_from_file_location(name, REPO / relative)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def analysis(tmp_path: Path) -> Path:
    package = tmp_path / "analysis"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "tasks.py").write_text(textwrap.dedent(TASKS))
    (package / "bootstrap.sh").write_text(BOOTSTRAP)
    (package / "payload.txt").write_text(PAYLOAD)
    (tmp_path / "law.cfg").write_text("[modules]\n\nanalysis.tasks\n\n[luigi_core]\n\n"
                                      "local_scheduler: True\n")
    return tmp_path


def _law(args: list[str], cwd: Path, **env_vars: str) -> subprocess.CompletedProcess:
    """The ``law`` command of law-core-compat in the analysis directory."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LAW_", "LUIGI_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(PYTHONPATH=str(cwd), LAW_HOME=str(cwd / ".law"),
               LAW_CONFIG_FILE=str(cwd / "law.cfg"), **env_vars)
    env["PATH"] = os.pathsep.join([str(COMPAT_BIN), env.get("PATH", "/usr/bin:/bin")])
    return subprocess.run(["law", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)


def _outputs(analysis: Path, family: str) -> dict[int, dict]:
    directory = analysis / "data" / family / "v1"
    return {b: json.loads((directory / f"out_{b}.json").read_text()) for b in range(3)
            if (directory / f"out_{b}.json").exists()}


def _expected(family: str) -> dict[int, dict]:
    greeting = f"hello from {family}"
    return {b: {"char": "abc"[b], "greeting": greeting, "payload": f"payload for {greeting}"}
            for b in range(3)}


def test_slurm_workflow_on_the_slurm_cluster(analysis: Path, law_core_slurm_cluster) -> None:
    """A law SlurmWorkflow runs its branches as Slurm jobs: the bootstrap file rendered and
    sourced, the input file in each job's working directory, custom_content as #SBATCH
    lines, --slurm-partition as law-core-slurm's option."""
    slurm = law_core_slurm_cluster
    assert _law(["index", "--quiet"], analysis).returncode == 0
    result = _law(["run", "SlurmChars", "--slurm-partition", slurm.partition,
                   "--poll-interval", "0.5s", "--transfer-logs"], analysis,
                  SLURM_CONF=slurm.env["SLURM_CONF"])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert _outputs(analysis, "SlurmChars") == _expected("SlurmChars")
    [job_dir] = (analysis / "data" / "SlurmChars" / "v1" / "jobs").iterdir()
    script = next(job_dir.glob("batch_*.sh")).read_text().splitlines()
    for option in (f"--partition={slurm.partition}", "--comment=law-compat-test",
                   "--time=0:05:00"):
        assert f"#SBATCH {option}" in script, script


def test_slurm_workflow_runs_locally_without_jobs(analysis: Path) -> None:
    """``--workflow local`` ignores the batch hooks: no job directory, same outputs apart
    from what only a job sees."""
    assert _law(["index", "--quiet"], analysis).returncode == 0
    result = _law(["run", "SlurmChars", "--workflow", "local"], analysis)
    assert result.returncode == 0, result.stderr[-3000:]
    assert {b: out["char"] for b, out in _outputs(analysis, "SlurmChars").items()} == \
        {0: "a", 1: "b", 2: "c"}
    assert not (analysis / "data" / "SlurmChars" / "v1" / "jobs").exists()


@pytest.fixture
def condor(tmp_path_factory: pytest.TempPathFactory):
    """The stand-in HTCondor pool of law-core-htcondor's tests (its condor_* commands on
    PATH, a fresh state directory), stopped afterwards."""
    standin = REPO / "plugins" / "jobs_htcondor" / "tests"
    if not (standin / "standin" / "condor_submit").exists():
        pytest.skip("law-core-htcondor's HTCondor stand-in is not in this checkout")
    conftest = _load("plugins/jobs_htcondor/tests/conftest.py", "law_compat_condor_standin")
    state = tmp_path_factory.mktemp("condor-standin")
    path = os.pathsep.join([str(standin / "standin"), str(COMPAT_BIN),
                            os.environ.get("PATH", "/usr/bin:/bin")])
    pool = conftest.StandinPool(state, {"PATH": path, "CONDOR_STANDIN_DIR": str(state)})
    yield pool
    pool.stop()


def test_htcondor_workflow_on_the_standin_pool(analysis: Path, condor) -> None:
    """A law HTCondorWorkflow runs its branches as (stand-in) HTCondor jobs: custom_content
    as submit lines, except getenv (left out, with a warning), bootstrap and input file as
    with Slurm."""
    assert _law(["index", "--quiet"], analysis).returncode == 0
    result = _law(["run", "CondorChars", "--poll-interval", "0.5s"], analysis, **condor.env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert _outputs(analysis, "CondorChars") == _expected("CondorChars")
    assert "'getenv = true' left out" in result.stdout + result.stderr
    [job_dir] = (analysis / "data" / "CondorChars" / "v1" / "jobs").iterdir()
    description = next(job_dir.glob("batch_*.jdl")).read_text().splitlines()
    assert '+LawCompatTest = "yes"' in description
    assert "getenv = false" in description and "getenv = true" not in description
    assert condor.calls("condor_submit"), "nothing was submitted to the stand-in"


#: a law HTCondorWorkflow whose jobs run where no path of the submitting side is readable:
#: the analysis and its job files in a directory only root may enter, the outputs in one
#: the job's user may write (@...@ filled by the test)
SEALED_TASKS = '''
import os

import luigi
import law

law.contrib.load("htcondor")

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = @OUT@
JOBS = @JOBS@
SUBMIT_DIR = @SUBMIT_DIR@


class CarriedChars(law.htcondor.HTCondorWorkflow, law.LocalWorkflow):
    version = luigi.Parameter(default="v1")

    def create_branch_map(self):
        return {0: "a", 1: "b"}

    def output(self):
        return law.LocalFileTarget(os.path.join(OUT, self.version,
                                                "out_{}.json".format(self.branch)))

    def run(self):
        payload = os.environ.get("LAW_TEST_PAYLOAD", "")
        self.output().dump({
            "char": self.branch_data,
            "greeting": os.environ.get("LAW_TEST_GREETING"),
            "payload": open(payload).read() if payload else None,
            "payload_path": payload,
            "core_bootstrap": os.environ.get("LAW_TEST_CORE_BOOTSTRAP"),
            "uid": os.getuid(),
            "submit_dir_readable": os.access(SUBMIT_DIR, os.R_OK),
            "law": law.__file__,
        })

    def htcondor_output_directory(self):
        return law.LocalDirectoryTarget(os.path.join(JOBS, self.version))

    def htcondor_bootstrap_file(self):
        return law.JobInputFile(os.path.join(HERE, "bootstrap.sh"), share=True,
                                render_job=True)

    def htcondor_job_config(self, config, job_num, branches):
        config.render_variables["greeting"] = "hello from " + self.version
        config.input_files["payload"] = law.JobInputFile(os.path.join(HERE, "payload.txt"),
                                                         render_job=True)
        return config
'''


def _worker_python() -> None:
    """The stand-in's jobs run the system's python3 from the bundle: it must be this
    Python's major.minor."""
    from law_core.testing import unavailable

    python = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin")
    if python is None:
        unavailable("no system python3 to play the worker's Python")
    version = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True).stdout.strip()
    if version != "{}.{}".format(*sys.version_info[:2]):
        unavailable(f"the worker's {python} is Python {version}, this one is not")


def test_htcondor_workflow_input_files_travel_without_a_shared_file_system(condor) -> None:
    """A law HTCondorWorkflow on the STAND-IN pool in file transfer mode, its execute point
    of another UID domain: each job runs as ``nobody`` in a scratch directory holding only
    what ``transfer_input_files`` named, with law-core, law-core-compat and the analysis from
    the software bundle. law's bootstrap file and a ``law.JobInputFile`` with
    ``render_job=True`` reach it as job input files, rendered with the ``render_variables``
    of ``htcondor_job_config``; the bootstrap file is sourced by its name in the job's
    directory. A second run, whose rendered files differ, puts the same script into the
    bundle."""
    import pwd

    from law_core.testing import unavailable

    if os.getuid() != 0:
        unavailable("the stand-in runs jobs as another user only when it runs as root")
    _worker_python()
    sealed = Path(tempfile.mkdtemp(prefix="law-compat-sealed-"))  # 0700, root's
    out = Path(tempfile.mkdtemp(prefix="law-compat-out-"))
    out.chmod(0o777)  # the store of this test: the jobs' user writes there
    execute = Path(tempfile.mkdtemp(prefix="law-compat-execute-"))  # nobody enters it
    execute.chmod(0o755)
    try:
        package = sealed / "analysis"
        package.mkdir()
        (package / "__init__.py").write_text("")
        (package / "tasks.py").write_text(
            SEALED_TASKS.replace("@OUT@", repr(str(out))).replace(
                "@JOBS@", repr(str(sealed / "jobs"))).replace("@SUBMIT_DIR@", repr(str(sealed))))
        (package / "bootstrap.sh").write_text(BOOTSTRAP)
        (package / "payload.txt").write_text(PAYLOAD)
        # law-core's own bootstrap file, sourced after law's
        (sealed / "core.sh").write_text('export LAW_TEST_CORE_BOOTSTRAP="$LAW_TEST_GREETING"\n')
        (sealed / "law.cfg").write_text(
            "[modules]\n\nanalysis.tasks\n\n[luigi_core]\n\nlocal_scheduler: True\n\n"
            f"[job]\n\nbundle_cache = {sealed / 'cache'}\n"
            f"bootstrap_file = {sealed / 'core.sh'}\n")
        env = {**condor.env, "_CONDOR_EXECUTE": str(execute),
               "_CONDOR_UID_DOMAIN": "submit.standin",
               "CONDOR_STANDIN_EXECUTE_UID_DOMAIN": "worker.standin"}
        assert _law(["index", "--quiet"], sealed).returncode == 0
        for version in ("v1", "v2"):
            result = _law(["run", "CarriedChars", "--version", version,
                           "--htcondor-file-transfer", "true", "--poll-interval", "0.5s",
                           "--retries", "0"], sealed, **env)
            assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
            for branch, char in enumerate("ab"):
                seen = json.loads((out / version / f"out_{branch}.json").read_text())
                greeting = f"hello from {version}"
                assert (seen["char"], seen["greeting"], seen["payload"]) == \
                    (char, greeting, f"payload for {greeting}\n")
                assert seen["core_bootstrap"] == greeting
                # in the job's own directory in the scratch directory, below EXECUTE
                assert Path(seen["payload_path"]).name == "payload.txt"
                assert seen["payload_path"].startswith(str(execute) + "/")
                assert seen["law"].startswith(str(execute) + "/")  # from the bundle
                assert seen["uid"] == pwd.getpwnam("nobody").pw_uid
                assert not seen["submit_dir_readable"]
        scripts = []
        for version in ("v1", "v2"):
            [job_dir] = (sealed / "jobs" / version / "jobs").iterdir()
            description = next(job_dir.glob("batch_*.jdl")).read_text()
            assert "should_transfer_files = YES\n" in description
            assert "inputs/bootstrap.sh" in description
            assert "inputs/payload.txt" in description
            # the script each job sources went into the bundle as bootstrap.sh; it names no
            # path of this host and is the same in both runs, although the files it
            # sources differ: it leaves the bundle's digest alone (a bundle of each run's
            # own would be built and sent otherwise)
            [bundle] = job_dir.glob("law-core-bundle-*.tar.gz")
            with tarfile.open(bundle) as tar:
                script = tar.extractfile("bootstrap.sh").read().decode()
            assert script == (job_dir / "law_bootstrap.sh").read_text()
            assert str(sealed) not in script
            scripts.append(script)
        assert scripts[0] == scripts[1]
        assert 'source ./bootstrap.sh "$@" || return 1\nsource ./core.sh "$@" || return 1\n' \
            in scripts[0]
    finally:
        for path in (sealed, out, execute):
            shutil.rmtree(path, ignore_errors=True)
