"""law analyses with sandboxes run under law-core-compat through law-core's sandboxes.

law analyses name a task's environment as law-core does, ``sandbox = "TYPE::NAME"``:
``docker::IMAGE`` (law-core-docker, against a real Docker daemon and a locally built
Debian image), ``bash::SETUP_SCRIPT`` and ``venv::PATH`` (law-core's own), and
``singularity::IMAGE`` (law-core-singularity; Singularity/Apptainer cannot run here, so
through that plugin's STAND-IN ``apptainer``, ``plugins/sandbox_singularity/tests/standin``,
which is not Apptainer). Each runs ``law run`` on a law task whose ``run()`` records where
it ran; law's class names (``law.docker.DockerSandbox``, ``law.BashSandbox``, ...) are
law-core's classes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
COMPAT_BIN = Path(sys.executable).parent
STANDIN = REPO / "plugins" / "sandbox_singularity" / "tests" / "standin"

TASKS = '''
    import json
    import os
    import sys

    import law

    law.contrib.load("docker", "singularity")


    class Where(law.SandboxTask):
        """Records where its run() ran."""

        def output(self):
            return law.LocalFileTarget("$ANA/data/{}.json".format(self.task_family))

        def run(self):
            facts = {
                "sandbox_env": os.environ.get("LAW_CORE_SANDBOX"),
                "dockerenv": os.path.exists("/.dockerenv"),
                "prefix": sys.prefix,
                "from_setup": os.environ.get("FROM_SETUP_SCRIPT"),
                "law_hook": os.environ.get("FROM_LAW_HOOK"),
                "law": law.__file__,
            }
            self.output().dump(json.dumps(facts, sort_keys=True), formatter="text")


    class InDocker(Where):
        sandbox = "docker::@IMAGE@"


    class InBash(Where):
        sandbox = "bash::@ANA@/setup.sh"

        def sandbox_env(self, env):  # law's hook: the sandbox's variables, add to them
            return {"FROM_LAW_HOOK": "yes" if isinstance(env, dict) else "no"}


    class InVenv(Where):
        sandbox = "venv::@VENV@"


    class InSingularity(Where):
        sandbox = "singularity::@ROOTFS@"


    class AfterDocker(law.Task):
        """A task outside the sandbox that reads what the sandboxed one wrote."""

        def requires(self):
            return InDocker.req(self)

        def output(self):
            return law.LocalFileTarget("$ANA/data/after.txt")

        def run(self):
            facts = json.loads(self.input().load(formatter="text"))
            self.output().dump(str(facts["dockerenv"]), formatter="text")
'''


def law_run(analysis: Path, *args: str, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("LAW_", "LUIGI_", "PYTHON", "VIRTUAL_ENV"))}
    full_env.update({"PATH": f"{COMPAT_BIN}{os.pathsep}{full_env.get('PATH', '')}",
                     "PYTHONPATH": str(analysis), "ANA": str(analysis),
                     "LAW_HOME": str(analysis / ".law"),
                     "LAW_CONFIG_FILE": str(analysis / "law.cfg"), **(env or {})})
    return subprocess.run([str(COMPAT_BIN / "law"), "run", *args, "--local-scheduler"],
                          cwd=analysis, env=full_env, capture_output=True, text=True,
                          timeout=600)


def facts(analysis: Path, family: str) -> dict:
    return json.loads((analysis / "data" / f"{family}.json").read_text())


@pytest.fixture(scope="module")
def rootfs() -> Path:
    from law_core.testing.docker import debian_rootfs

    return debian_rootfs()


@pytest.fixture(scope="module")
def docker_image_tag(rootfs, tmp_path_factory) -> str:
    from law_core.testing.docker import docker_daemon, docker_image

    with docker_daemon(tmp_path_factory.mktemp("dockerd")):
        yield docker_image(rootfs)


@pytest.fixture(scope="module")
def sandbox_venv(tmp_path_factory) -> Path:
    """A venv that sees this venv's packages (law-core, law-core-compat): the inside of a
    ``venv::`` sandbox imports the analysis's ``law``."""
    path = tmp_path_factory.mktemp("sandbox-venv") / "venv"
    venv.create(path, with_pip=False, system_site_packages=True)
    site = subprocess.run([str(path / "bin" / "python"), "-c",
                           "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    ours = subprocess.run([sys.executable, "-c",
                           "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # addsitedir, not a plain path: the .pth files of the editable installs count too
    Path(site, "outer.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    return path


@pytest.fixture
def analysis(tmp_path: Path, rootfs: Path, sandbox_venv: Path, request) -> Path:
    image = request.getfixturevalue("docker_image_tag") \
        if "docker" in request.node.name else "none"
    tasks = textwrap.dedent(TASKS)
    for key, value in {"@IMAGE@": image, "@ANA@": tmp_path, "@VENV@": sandbox_venv,
                       "@ROOTFS@": rootfs}.items():
        tasks = tasks.replace(key, str(value))
    (tmp_path / "tasks.py").write_text(tasks)
    (tmp_path / "setup.sh").write_text("export FROM_SETUP_SCRIPT=yes\n")
    # law-core's [sandbox] section, in law.cfg: the variable of the output paths reaches the
    # sandboxes (law's [docker_sandbox_env] and friends are not read, see README.md)
    (tmp_path / "law.cfg").write_text("[modules]\ntasks\n\n[sandbox]\nforward_env = ANA\n")
    return tmp_path


def test_law_names_are_law_cores_sandboxes() -> None:
    import law

    import law_core

    law.contrib.load("docker", "singularity")
    registry = law_core.get_registry()
    assert law.docker.DockerSandbox is registry.sandbox("docker").load()
    assert law.singularity.SingularitySandbox is registry.sandbox("singularity").load()
    assert law.BashSandbox is registry.sandbox("bash").load()
    assert law.VenvSandbox is registry.sandbox("venv").load()
    assert law.docker.__all__ == ["DockerSandbox"]
    assert law.singularity.__all__ == ["SingularitySandbox"]


def test_docker_sandbox(analysis: Path) -> None:
    result = law_run(analysis, "tasks.AfterDocker")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    inside = facts(analysis, "InDocker")
    assert inside["dockerenv"] is True
    assert inside["sandbox_env"]
    assert inside["prefix"] == "/usr"  # the image's python3, not this venv
    assert inside["law"].endswith("law/__init__.py")  # law-core-compat's law, inside too
    assert (analysis / "data" / "after.txt").read_text() == "True"
    # the files belong to the caller, not to the container's root
    assert (analysis / "data" / "InDocker.json").stat().st_uid == os.getuid()


def test_bash_sandbox(analysis: Path) -> None:
    result = law_run(analysis, "tasks.InBash")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    inside = facts(analysis, "InBash")
    assert inside["from_setup"] == "yes" and inside["sandbox_env"]
    assert inside["law_hook"] == "yes"  # law's sandbox_env(self, env) was called


def test_venv_sandbox(analysis: Path, sandbox_venv: Path) -> None:
    result = law_run(analysis, "tasks.InVenv")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    inside = facts(analysis, "InVenv")
    assert inside["prefix"] == str(sandbox_venv) and inside["sandbox_env"]


def test_singularity_sandbox_through_the_standin(analysis: Path, rootfs: Path) -> None:
    """law-core-singularity's real code path, up to the STAND-IN ``apptainer`` it runs
    (spython's ``singularity exec``)."""
    log = analysis / "standin-calls.jsonl"
    env = {"PATH": f"{STANDIN}{os.pathsep}{COMPAT_BIN}{os.pathsep}{os.environ['PATH']}",
           "LAW_CORE_STANDIN_LOG": str(log)}
    result = law_run(analysis, "tasks.InSingularity", env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    inside = facts(analysis, "InSingularity")
    assert inside["prefix"] == "/usr" and inside["sandbox_env"]
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    execs = [c for c in calls if "exec" in c["args"]]
    assert len(execs) == 1 and str(rootfs) in execs[0]["args"]


def test_unknown_sandbox_type_is_an_error(analysis: Path) -> None:
    (analysis / "tasks.py").write_text(textwrap.dedent('''
        import law

        class Nowhere(law.SandboxTask):
            sandbox = "podman::image"

            def output(self):
                return law.LocalFileTarget("$ANA/data/nowhere.txt")

            def run(self):
                self.output().dump("x", formatter="text")
    '''))
    result = law_run(analysis, "tasks.Nowhere")
    assert result.returncode != 0
    assert "podman" in result.stderr
    assert not (analysis / "data" / "nowhere.txt").exists()
