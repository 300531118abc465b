"""law analyses with sandboxes run under law-core-compat through law-core's sandboxes.

law analyses name a task's environment as law-core does, ``sandbox = "TYPE::NAME"``:
``docker::IMAGE`` (law-core-docker, against a real Docker daemon and a locally built
Debian image), ``bash::SETUP_SCRIPT`` and ``venv::PATH`` (law-core's own), and
``singularity::IMAGE`` (law-core-singularity; Singularity/Apptainer cannot run here, so
through that plugin's STAND-IN ``apptainer``, ``plugins/sandbox_singularity/tests/standin``,
which is not Apptainer). Each runs ``law run`` on a law task whose ``run()`` records where
it ran; law's class names (``law.docker.DockerSandbox``, ``law.BashSandbox``, ...) are
law-core's classes. law's config sections of sandboxes (``[bash_sandbox_env]``,
``[venv_sandbox_env_PATH]``, ``[docker_sandbox_env_IMAGE]``, ``[docker_sandbox_volumes]``,
...) set the same variables and mounts as under law 0.1.21, which runs here for bash, venv
and Docker.
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


    def _read(path):
        return open(path).read() if os.path.exists(path) else None


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
                # what law's [TYPE_sandbox_env] and [TYPE_sandbox_volumes] sections set
                "from_config": os.environ.get("FROM_LAW_CFG"),
                "forwarded": os.environ.get("LAW_CFG_FORWARDED"),
                "globbed": sorted((k, v) for k, v in os.environ.items()
                                  if k.startswith("LAW_CFG_GLOB_")),
                "shared": _read("/mnt/shared/hello.txt"),
                "shared_writable": os.access("/mnt/shared", os.W_OK),
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
    return make_analysis(tmp_path, image, sandbox_venv, rootfs)


def make_analysis(tmp_path: Path, image: str, sandbox_venv: Path, rootfs: Path) -> Path:
    tasks = textwrap.dedent(TASKS)
    for key, value in {"@IMAGE@": image, "@ANA@": tmp_path, "@VENV@": sandbox_venv,
                       "@ROOTFS@": rootfs}.items():
        tasks = tasks.replace(key, str(value))
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "tasks.py").write_text(tasks)
    (tmp_path / "setup.sh").write_text("export FROM_SETUP_SCRIPT=yes\n")
    # law-core's [sandbox] section, in law.cfg: the variable of the output paths reaches the
    # sandboxes; law's own sections set more
    (tmp_path / "law.cfg").write_text(
        "[modules]\ntasks\n\n[sandbox]\nforward_env = ANA\n\n"
        + LAW_SANDBOX_SECTIONS.replace("@ANA@", str(tmp_path))
        .replace("@VENV@", str(sandbox_venv)).replace("@IMAGE@", image))
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "hello.txt").write_text("from the host")
    return tmp_path


#: law's sandbox sections: variables with a value, without one (the calling
#: environment's), a glob; a section named after the sandbox's NAME wins over the general
#: one; Docker volumes
LAW_SANDBOX_SECTIONS = """\
[bash_sandbox_env]
FROM_LAW_CFG = bash
LAW_CFG_FORWARDED
LAW_CFG_GLOB_* = g

[venv_sandbox_env]
FROM_LAW_CFG = venv-general

[venv_sandbox_env_@VENV@]
FROM_LAW_CFG = venv-specific

[docker_sandbox_env_@IMAGE@]
FROM_LAW_CFG = docker
LAW_CFG_FORWARDED
LAW_CFG_GLOB_*

[docker_sandbox_volumes]
@ANA@/shared = /mnt/shared:ro

[singularity_sandbox_env]
FROM_LAW_CFG = singularity

[singularity_sandbox_volumes]
@ANA@/shared = /mnt/shared:ro
"""
#: the calling environment those sections refer to
CALLING_ENV = {"LAW_CFG_FORWARDED": "outside", "LAW_CFG_GLOB_A": "a", "LAW_CFG_GLOB_B": "b"}


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
    result = law_run(analysis, "tasks.AfterDocker", env=CALLING_ENV)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    inside = facts(analysis, "InDocker")
    assert inside["dockerenv"] is True
    assert inside["sandbox_env"]
    assert inside["prefix"] == "/usr"  # the image's python3, not this venv
    assert inside["law"].endswith("law/__init__.py")  # law-core-compat's law, inside too
    assert (analysis / "data" / "after.txt").read_text() == "True"
    # the files belong to the caller, not to the container's root
    assert (analysis / "data" / "InDocker.json").stat().st_uid == os.getuid()
    # law's [docker_sandbox_env_IMAGE] (no calling variable reaches a container unless
    # named) and [docker_sandbox_volumes] (read-only here)
    assert inside["from_config"] == "docker" and inside["forwarded"] == "outside"
    assert inside["globbed"] == [["LAW_CFG_GLOB_A", "a"], ["LAW_CFG_GLOB_B", "b"]]
    assert inside["shared"] == "from the host" and inside["shared_writable"] is False


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


DOCKER_TASKS = '''
    import json
    import os

    import law

    law.contrib.load("docker")


    class InDocker(law.SandboxTask):
        sandbox = "docker::@IMAGE@"

        def output(self):
            return law.LocalFileTarget("$ANA/data/InDocker.json")

        def run(self):
            shared = "/mnt/shared/hello.txt"
            facts = {
                "dockerenv": os.path.exists("/.dockerenv"),
                "from_config": os.environ.get("FROM_LAW_CFG"),
                "forwarded": os.environ.get("LAW_CFG_FORWARDED"),
                "not_named": os.environ.get("LAW_CFG_NOT_NAMED"),
                "shared": open(shared).read() if os.path.exists(shared) else None,
                "shared_writable": os.access("/mnt/shared", os.W_OK),
                "law": law.__file__,
            }
            self.output().dump(json.dumps(facts, sort_keys=True), formatter="text")
'''


def test_docker_sandbox_sections_as_in_law(docker_image_tag: str, law_bin: Path,
                                           tmp_path: Path) -> None:
    """``[docker_sandbox_env_IMAGE]`` and ``[docker_sandbox_volumes]`` under law 0.1.21 and
    here, against the real daemon. law's docker sandbox runs ``python`` (the test image
    gets a link to python3) and forwards law and luigi but not luigi's dependencies: the
    volumes mount law's venv where the image's Python looks (and the analysis's module),
    which is the volumes section at work too."""
    image = "law-core-test:with-python"
    build = tmp_path / "build"
    build.mkdir()
    (build / "Dockerfile").write_text(
        f"FROM {docker_image_tag}\nRUN ln -sf /usr/bin/python3 /usr/bin/python\n")
    built = subprocess.run(["docker", "build", "-q", "-t", image, str(build)],
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    site = subprocess.run([str(law_bin / "python"), "-c",
                           "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    seen = {}
    # where law's venv goes: on the image Python's path for law; elsewhere for
    # law-core-compat, whose editable install's import hook comes after the image's own
    # site directories (a law there would be imported instead of law-core-compat's)
    law_site = {"law": "/usr/local/lib/python3.11/dist-packages", "compat": "/opt/law-venv"}
    for name, bin_dir in (("law", law_bin), ("compat", COMPAT_BIN)):
        ana = tmp_path / name
        (ana / "shared").mkdir(parents=True)
        (ana / "shared" / "hello.txt").write_text("from the host")
        (ana / "tasks.py").write_text(textwrap.dedent(DOCKER_TASKS).replace("@IMAGE@", image))
        (ana / "law.cfg").write_text(textwrap.dedent(f"""\
            [modules]
            tasks

            [docker_sandbox_env_{image}]
            FROM_LAW_CFG = docker
            LAW_CFG_FORWARDED
            ANA

            [docker_sandbox_volumes]
            {ana}/data =
            {ana}/tasks.py = /usr/lib/python3/dist-packages/tasks.py:ro
            {ana}/shared = /mnt/shared:ro
            {site} = {law_site[name]}:ro
            """))
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("LAW_", "LUIGI_", "PYTHON", "VIRTUAL_ENV"))}
        env.update({"PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
                    "PYTHONPATH": str(ana), "ANA": str(ana), "LAW_HOME": str(ana / ".law"),
                    "LAW_CONFIG_FILE": str(ana / "law.cfg"),
                    "LAW_CFG_FORWARDED": "outside", "LAW_CFG_NOT_NAMED": "outside"})
        result = subprocess.run([str(bin_dir / "law"), "run", "tasks.InDocker",
                                 "--local-scheduler"], cwd=ana, env=env, capture_output=True,
                                text=True, timeout=600)
        assert result.returncode == 0, (name, result.stdout[-2000:] + result.stderr[-3000:])
        seen[name] = facts(ana, "InDocker")
    law_law, compat_law = seen["law"].pop("law"), seen["compat"].pop("law")
    assert seen["compat"] == seen["law"] == {
        "dockerenv": True, "from_config": "docker", "forwarded": "outside",
        "not_named": None, "shared": "from the host", "shared_writable": False}
    assert law_law.startswith("/law_forward/")  # law 0.1.21's forwarded law ...
    assert not compat_law.startswith(("/law_forward/", "/usr/local/lib/"))  # ... and ours


@pytest.mark.parametrize("family", ["InBash", "InVenv"])
def test_law_sandbox_sections_as_in_law(family: str, analysis: Path, sandbox_venv: Path,
                                        rootfs: Path, law_bin: Path, tmp_path: Path) -> None:
    """law's ``[bash_sandbox_env]``, ``[venv_sandbox_env]`` and ``[venv_sandbox_env_PATH]``
    set the same variables under law 0.1.21 and here."""
    law_venv = tmp_path / "law-venv"  # law's venv sandbox runs the law on PATH: 0.1.21's
    venv.EnvBuilder(with_pip=False).create(law_venv)
    reference = make_analysis(tmp_path / "reference", "none", law_venv, rootfs)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LAW_", "LUIGI_", "PYTHON", "VIRTUAL_ENV"))}
    env.update({"PATH": f"{law_bin}{os.pathsep}{env.get('PATH', '')}",
                "PYTHONPATH": str(reference), "ANA": str(reference),
                "LAW_HOME": str(reference / ".law"),
                "LAW_CONFIG_FILE": str(reference / "law.cfg"), **CALLING_ENV})
    law = subprocess.run([str(law_bin / "law"), "run", f"tasks.{family}", "--local-scheduler"],
                         cwd=reference, env=env, capture_output=True, text=True, timeout=600)
    assert law.returncode == 0, law.stdout[-2000:] + law.stderr[-3000:]
    result = law_run(analysis, f"tasks.{family}", env=CALLING_ENV)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    keys = ("from_config", "forwarded", "globbed", "from_setup")
    expected = {k: v for k, v in facts(reference, family).items() if k in keys}
    assert {k: v for k, v in facts(analysis, family).items() if k in keys} == expected
    assert expected["from_config"] == {"InBash": "bash", "InVenv": "venv-specific"}[family]
    if family == "InBash":
        assert expected["globbed"] == [["LAW_CFG_GLOB_A", "g"], ["LAW_CFG_GLOB_B", "g"]]


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
    assert inside["from_config"] == "singularity"  # [singularity_sandbox_env]
    assert inside["shared"] == "from the host"  # [singularity_sandbox_volumes]
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
