"""The core's sandboxes, bash::SETUP_SCRIPT and venv::PATH, through the conformance suite."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig

import pytest

from law_core.sandbox import BashSandbox
from law_core.testing import SandboxSuite


class TestBashSandbox(SandboxSuite):
    shares_environment = True

    @pytest.fixture
    def sandbox_key(self, tmp_path):
        script = tmp_path / "setup.sh"
        script.write_text("export FROM_SETUP='set by the setup script'\n")
        return f"bash::{script}"

    def test_setup_script_variables_are_visible_in_run(self, analysis, sandbox_key):
        (analysis / "reads_env.py").write_text(
            "import os\nimport law_core as law\n\n"
            "class ReadsEnv(law.SandboxTask):\n"
            "    def output(self):\n        return self.local_target('env.txt')\n\n"
            "    def run(self):\n        self.output().dump(os.environ['FROM_SETUP'])\n")
        result = self.law_core(["run", "reads_env.ReadsEnv", "--sandbox", sandbox_key],
                               analysis, {})
        assert result.returncode == 0, result.stderr[-3000:]
        assert (analysis / "data" / "ReadsEnv" / "env.txt").read_text() == \
            "set by the setup script"


def test_bash_environment_is_captured_once_and_cached_on_disk(tmp_path, monkeypatch):
    counter = tmp_path / "sourced"
    script = tmp_path / "setup.sh"
    script.write_text(f"echo x >> {counter}\nexport ANSWER=42\n")
    cache = tmp_path / "cache"
    monkeypatch.setenv("LAW_CORE__SANDBOX__CACHE_DIR", str(cache))
    BashSandbox._memory.clear()
    assert BashSandbox(str(script)).environment()["ANSWER"] == "42"
    assert BashSandbox(str(script)).environment()["ANSWER"] == "42"
    assert counter.read_text().count("x") == 1
    BashSandbox._memory.clear()  # a new process: the disk cache answers
    BashSandbox(str(script)).environment()
    assert counter.read_text().count("x") == 1
    cached = list(cache.glob("bash_*.json"))
    assert len(cached) == 1 and json.loads(cached[0].read_text())["ANSWER"] == "42"
    script.write_text(f"echo x >> {counter}\nexport ANSWER=43\n")  # a new version
    assert BashSandbox(str(script)).environment()["ANSWER"] == "43"
    assert counter.read_text().count("x") == 2


def test_failing_setup_script_is_a_clear_error(tmp_path):
    from law_core.errors import TaskError

    script = tmp_path / "broken.sh"
    script.write_text("echo 'no such software' >&2\nfalse\n")
    BashSandbox._memory.clear()
    with pytest.raises(TaskError, match="sourcing the setup script .* failed .* no such software"):
        BashSandbox(str(script)).environment()


@pytest.fixture(scope="module")
def venv_path(tmp_path_factory):
    """A real venv whose Python sees law-core through a .pth (no network needed)."""
    path = tmp_path_factory.mktemp("sandbox-venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    purelib = subprocess.run([str(path / "bin" / "python"), "-c",
                              "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    parent = sysconfig.get_paths()["purelib"]
    with open(f"{purelib}/_law_core_parent.pth", "w") as f:
        f.write(f"import site; site.addsitedir({parent!r})\n")
    return path


class TestVenvSandbox(SandboxSuite):
    shares_environment = True

    @pytest.fixture
    def sandbox_key(self, venv_path):
        return f"venv::{venv_path}"

    def test_run_uses_the_venv_python(self, analysis, sandbox_key, venv_path):
        result = self.run_inside(analysis, sandbox_key, {})
        assert result.returncode == 0, result.stderr[-3000:]
        assert self.facts(analysis, "inside_a_b_False.json")["python"] == \
            str(venv_path / "bin" / "python")


def test_missing_venv_is_a_clear_error(tmp_path):
    from law_core.errors import TaskError
    from law_core.sandbox import VenvSandbox

    with pytest.raises(TaskError, match="is not a virtual environment"):
        VenvSandbox(str(tmp_path / "nope")).python()


STAGING_PLUGIN = """
    from law_core.hookspecs import hookimpl
    from law_core.records import SandboxRecord

    @hookimpl
    def law_core_sandboxes():
        return [SandboxRecord("isolated", "law_core_isolated.sandbox:IsolatedSandbox")]
"""

STAGING_SANDBOX = """
    import os

    from law_core.sandbox import BashSandbox


    class IsolatedSandbox(BashSandbox):
        '''A bash sandbox that declares it does not share the file system: the core must
        stage inputs in and outputs out, and the inside must see only staged paths.'''

        type = "isolated"
        shares_file_system = False

        def run(self, command, env, mounts, cwd):
            stage = env.get("LAW_CORE_SANDBOX_STAGE")
            with open(os.path.join(cwd, "stage_seen.txt"), "w") as f:
                f.write(str(stage))
            return super().run(command, env, mounts, cwd)
"""

STAGED_TASKS = """
    import os

    import law_core as law


    class Raw(law.ExternalTask):
        def output(self):
            return law.LocalFileTarget(os.path.join(os.getcwd(), "raw", "numbers.txt"))


    class Doubled(law.SandboxTask):
        fail = law.OptionalBoolParameter(default=False)

        def requires(self):
            return Raw()

        def output(self):
            return law.LocalFileTarget(os.path.join(os.getcwd(), "results", "doubled.txt"))

        def run(self):
            assert "law-core-stage-" in self.input().path, self.input().path
            assert "law-core-stage-" in self.output().path, self.output().path
            numbers = [int(x) for x in self.input().load(formatter="text").split()]
            self.output().dump(" ".join(str(2 * n) for n in numbers), formatter="text")
            if self.fail:
                raise RuntimeError("failing after writing the staged output")
"""


def test_sandbox_without_shared_file_system_stages_in_and_out(plugin_venv, tmp_path):
    plugin_venv.install("law-core-isolated", "0.1", {"isolated": "law_core_isolated.plugin"}, {
        "law_core_isolated.plugin": STAGING_PLUGIN,
        "law_core_isolated.sandbox": STAGING_SANDBOX})
    ana = tmp_path / "ana"
    ana.mkdir()
    (ana / "staged.py").write_text(__import__("textwrap").dedent(STAGED_TASKS))
    (ana / "raw").mkdir()
    (ana / "raw" / "numbers.txt").write_text("1 2 3")
    script = ana / "setup.sh"
    script.write_text("true\n")
    (ana / "law.cfg").write_text(f"[sandbox]\nDoubled = isolated::{script}\n"
                                 f"stage_dir = {tmp_path / 'stage'}\n")

    failed = plugin_venv.cli(["run", "staged.Doubled", "--fail", "true"], ana)
    assert failed.returncode == 1
    assert "failing after writing the staged output" in failed.stdout + failed.stderr
    assert not (ana / "results" / "doubled.txt").exists()  # nothing staged out on failure
    assert list((tmp_path / "stage").iterdir()) == []  # the stage is cleaned up

    result = plugin_venv.cli(["run", "staged.Doubled"], ana)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert (ana / "results" / "doubled.txt").read_text() == "2 4 6"
    assert "stage.json" in (ana / "stage_seen.txt").read_text()
    assert list((tmp_path / "stage").iterdir()) == []
