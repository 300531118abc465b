"""The core's sandboxes, bash::SETUP_SCRIPT and venv::PATH, through the conformance suite."""

from __future__ import annotations

import json
import os
import stat
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
    script.write_text(f"echo x >> {counter}\nexport ANSWER=42\nunset GOES_AWAY\n")
    cache = tmp_path / "cache"
    monkeypatch.setenv("LAW_CORE__SANDBOX__CACHE_DIR", str(cache))
    monkeypatch.setenv("GOES_AWAY", "here before the script")
    BashSandbox._memory.clear()
    env = BashSandbox(str(script)).environment()
    assert env["ANSWER"] == "42" and "GOES_AWAY" not in env
    assert env["HOME"] == os.environ["HOME"]  # the calling environment, as it is now
    assert BashSandbox(str(script)).environment()["ANSWER"] == "42"
    assert counter.read_text().count("x") == 1
    BashSandbox._memory.clear()  # a new process: the disk cache answers
    BashSandbox(str(script)).environment()
    assert counter.read_text().count("x") == 1
    cached = list(cache.glob("bash-*.json"))
    assert len(cached) == 1
    # only what the script changed: never the calling environment
    assert json.loads(cached[0].read_text()) == {"set": {"ANSWER": "42"},
                                                 "unset": ["GOES_AWAY"]}
    assert stat.S_IMODE(cached[0].stat().st_mode) == 0o600
    script.write_text(f"echo x >> {counter}\nexport ANSWER=43\n")  # a new version
    assert BashSandbox(str(script)).environment()["ANSWER"] == "43"
    assert counter.read_text().count("x") == 2


def test_bash_cache_is_keyed_by_the_calling_environment_and_holds_no_value_of_it(
        tmp_path, monkeypatch):
    """The issue's scenario: a second run from a shell with another MY_OUT and another
    token gets its own values, and neither run's values are written to disk."""
    script = tmp_path / "setup.sh"
    script.write_text('export FROM_SETUP="out is $MY_OUT"\n')
    cache = tmp_path / "cache"
    monkeypatch.setenv("LAW_CORE__SANDBOX__CACHE_DIR", str(cache))
    BashSandbox._memory.clear()
    monkeypatch.setenv("MY_OUT", "/first")
    monkeypatch.setenv("TOKEN", "secret-token-aaaa")
    first = BashSandbox(str(script)).environment()
    assert (first["MY_OUT"], first["TOKEN"]) == ("/first", "secret-token-aaaa")
    BashSandbox._memory.clear()  # the second run is another process
    monkeypatch.setenv("MY_OUT", "/second")
    monkeypatch.setenv("TOKEN", "secret-token-bbbb")
    second = BashSandbox(str(script)).environment()
    assert (second["MY_OUT"], second["TOKEN"]) == ("/second", "secret-token-bbbb")
    assert second["FROM_SETUP"] == "out is /second"
    files = list(cache.iterdir())
    assert len(files) == 2
    for file in files:
        text = file.read_text()
        assert "secret-token" not in text and "MY_OUT" not in text
        assert json.loads(text)["set"].keys() == {"FROM_SETUP"}


def test_bash_cache_files_of_earlier_versions_are_removed(tmp_path, monkeypatch):
    """Earlier versions cached the whole calling environment, secrets included."""
    cache = tmp_path / "cache"
    cache.mkdir()
    legacy = cache / ("bash_" + "0" * 40 + ".json")
    legacy.write_text(json.dumps({"TOKEN": "old secret"}))
    script = tmp_path / "setup.sh"
    script.write_text("export ANSWER=42\n")
    monkeypatch.setenv("LAW_CORE__SANDBOX__CACHE_DIR", str(cache))
    BashSandbox._memory.clear()
    BashSandbox(str(script)).environment()
    assert not legacy.exists()


def test_setup_script_that_exits_is_a_clear_error(tmp_path):
    from law_core.errors import TaskError

    script = tmp_path / "exits.sh"
    script.write_text("exit 0\n")
    BashSandbox._memory.clear()
    with pytest.raises(TaskError, match="must not call exit"):
        BashSandbox(str(script)).environment()


def test_bash_run_sees_this_runs_variables_not_a_cached_run(tmp_path):
    """End to end: the second law-core run, from a shell with another MY_OUT and token,
    writes to its own MY_OUT with its own token."""
    (tmp_path / "from_shell.py").write_text(
        "import os\nimport law_core as law\n\n"
        "class FromShell(law.SandboxTask):\n"
        "    def output(self):\n"
        "        return law.LocalFileTarget(os.path.join(os.environ['MY_OUT'], 'out.txt'))\n\n"
        "    def run(self):\n        self.output().dump(os.environ['TOKEN'], formatter='text')\n")
    script = tmp_path / "setup.sh"
    script.write_text("export FROM_SETUP=1\n")
    cache = tmp_path / "cache"
    for out, token in (("first", "token-aaaa"), ("second", "token-bbbb")):
        env = {k: v for k, v in os.environ.items() if not k.startswith("LAW_CORE")}
        env.update(PYTHONPATH=str(tmp_path), MY_OUT=str(tmp_path / out), TOKEN=token,
                   LAW_CORE__SANDBOX__CACHE_DIR=str(cache))
        result = subprocess.run([sys.executable, "-m", "law_core", "run",
                                 "from_shell.FromShell", "--sandbox", f"bash::{script}"],
                                cwd=tmp_path, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr[-3000:]
        assert (tmp_path / out / "out.txt").read_text() == token
    for file in cache.iterdir():
        assert "token-" not in file.read_text() and str(tmp_path) not in file.read_text()


def test_bash_setup_script_changing_the_output_root_fails_before_run(tmp_path):
    """The inside resolves the outputs again; a setup script that moves them is caught
    before anything is written."""
    (tmp_path / "moved.py").write_text(
        "import os\nimport law_core as law\n\n"
        "class Moved(law.SandboxTask):\n"
        "    def output(self):\n"
        "        return law.LocalFileTarget(os.path.join(os.environ['MY_OUT'], 'out.txt'))\n\n"
        "    def run(self):\n        self.output().dump('x', formatter='text')\n")
    script = tmp_path / "setup.sh"
    script.write_text(f"export MY_OUT={tmp_path / 'elsewhere'}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAW_CORE")}
    env.update(PYTHONPATH=str(tmp_path), MY_OUT=str(tmp_path / "here"),
               LAW_CORE__SANDBOX__CACHE_DIR=str(tmp_path / "cache"))
    result = subprocess.run([sys.executable, "-m", "law_core", "run", "moved.Moved",
                             "--sandbox", f"bash::{script}"], cwd=tmp_path, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 1
    failure = next(line for line in result.stderr.splitlines()
                   if "resolves other outputs" in line)
    assert f"{tmp_path / 'here' / 'out.txt'} where it was started" in failure
    assert f"{tmp_path / 'elsewhere' / 'out.txt'} in the sandbox" in failure
    assert "[sandbox] forward_env" in failure and "working directory" in failure
    assert not (tmp_path / "here" / "out.txt").exists()
    assert not (tmp_path / "elsewhere").exists()


def test_failing_setup_script_is_a_clear_error(tmp_path):
    from law_core.errors import TaskError

    script = tmp_path / "broken.sh"
    script.write_text("echo 'no such software' >&2\nfalse\n")
    BashSandbox._memory.clear()
    with pytest.raises(TaskError, match="sourcing the setup script .* failed .* no such software"):
        BashSandbox(str(script)).environment()


def test_publish_message_inside_reaches_the_tasks_own_outside(tmp_path):
    """A task that has publish_message: the inside's call is relayed, and the submitting
    side's task publishes it (here: appends it to a file with its process id)."""
    (tmp_path / "publishes.py").write_text(
        "import os\nimport law_core as law\n\n"
        "class Publishes(law.SandboxTask):\n"
        "    def publish_message(self, message):\n"
        "        with open('published.txt', 'a') as f:\n"
        "            f.write(f'{os.getpid()} {message}\\n')\n\n"
        "    def output(self):\n        return self.local_target('out.txt')\n\n"
        "    def run(self):\n"
        "        self.publish_message('hello from inside')\n"
        "        self.output().dump(str(os.getpid()), formatter='text')\n")
    script = tmp_path / "setup.sh"
    script.write_text("true\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAW_CORE")}
    env.update(PYTHONPATH=str(tmp_path), LAW_CORE__SANDBOX__CACHE_DIR=str(tmp_path / "c"))
    result = subprocess.run([sys.executable, "-m", "law_core", "run", "publishes.Publishes",
                             "--sandbox", f"bash::{script}"], cwd=tmp_path, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    inside_pid = (tmp_path / "data" / "Publishes" / "out.txt").read_text()
    (line,) = (tmp_path / "published.txt").read_text().splitlines()
    pid, message = line.split(" ", 1)
    assert message == "hello from inside" and pid != inside_pid


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
            assert "law-core-run-" in self.input().path, self.input().path
            assert "law-core-run-" in self.output().path, self.output().path
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
