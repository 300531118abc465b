"""The conformance suite of sandboxes (``sandbox = "TYPE::NAME"`` plugins).

A plugin's tests subclass :class:`SandboxSuite` and provide, as fixtures, the sandbox key
to use and the environment the tools need::

    class TestDocker(SandboxSuite):
        @pytest.fixture
        def sandbox_key(self, docker_image):
            return f"docker::{docker_image}"

Each test writes a small analysis into a temporary directory and runs it with
``law-core run`` in a fresh process, as a user would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SUITE_TASKS = '''
import json
import os
import sys

import luigi

import law_core as law


class Outside(law.Task):
    def output(self):
        return self.local_target("outside.json")

    def run(self):
        self.output().dump({"sandbox": os.environ.get("LAW_CORE_SANDBOX"),
                            "pid": os.getpid()})


class Inside(law.SandboxTask):
    words = law.CSVParameter(default=("a", "b"))
    flag = luigi.BoolParameter()
    fail = luigi.BoolParameter()

    def requires(self):
        return Outside.req(self)

    def output(self):
        return self.local_target(f"inside_{'_'.join(self.words)}_{self.flag}.json")

    def run(self):
        if self.fail:
            raise RuntimeError("failing inside on purpose")
        facts = {
            "sandbox": os.environ.get("LAW_CORE_SANDBOX"),
            "input": self.input().load(),
            "words": list(self.words),
            "flag": self.flag,
            "uid": os.getuid(),
            "pid": os.getpid(),
            "python": sys.executable,
            "forwarded": os.environ.get("SUITE_FORWARDED"),
            "secret": os.environ.get("SUITE_SECRET"),
            "globbed": {k: v for k, v in os.environ.items() if k.startswith("SUITE_GLOB_")},
        }
        if os.path.exists("/etc/os-release"):
            facts["os_release"] = open("/etc/os-release").read()
        self.output().dump(facts)


# where an analysis commonly puts its outputs: below a directory from the environment
OUT = os.environ.get("SUITE_OUT", os.path.join(os.getcwd(), "default-out"))


class FromEnv(law.SandboxTask):
    def output(self):
        return law.LocalFileTarget(os.path.join(OUT, "from_env.json"))

    def run(self):
        self.output().dump({"out": OUT})


class WritesNothing(law.SandboxTask):
    def output(self):
        return self.local_target("never.json")

    def run(self):
        pass


class Travels(law.SandboxTask):
    note = luigi.Parameter()
    day = luigi.DateParameter(default=None)
    empty = luigi.Parameter(default="x")
    maybe = law.OptionalBoolParameter()
    items = luigi.ListParameter(default=[])

    def output(self):
        return self.local_target("travelled.json")

    def run(self):
        self.output().dump({"note": self.note, "day": str(self.day), "empty": self.empty,
                            "maybe": self.maybe, "items": list(self.items),
                            "sandbox": os.environ.get("LAW_CORE_SANDBOX")})


class KeyFromEnv(law.SandboxTask):
    # as many law analyses choose their image: from the calling shell, which the sandbox
    # does not see
    sandbox = os.environ.get("SUITE_SANDBOX_KEY", "bash::" + os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "suite_setup.sh"))

    def output(self):
        return self.local_target("key_from_env.json")

    def run(self):
        self.output().dump({"sandbox": os.environ.get("LAW_CORE_SANDBOX")})


class Reports(law.SandboxTask):
    def output(self):
        return self.local_target("reported.json")

    def run(self):
        self.set_status_message("half way there")
        self.set_progress_percentage(50)
        self.output().dump({"reported": True})
'''


def write_suite_tasks(directory: Path) -> None:
    """The suite's task module ``suite_sandbox.py`` and the setup script its ``KeyFromEnv``
    names by default."""
    (directory / "suite_sandbox.py").write_text(SUITE_TASKS)
    (directory / "suite_setup.sh").write_text("export SUITE_SETUP=1\n")


#: parameter values that once did not survive the way into another process: a leading
#: dash, an empty string, newlines and unicode, a false optional bool, None, JSON lists
TRICKY_ARGS = ("--note=-x --y\nünï", "--empty=", "--maybe=false", '--items=[1, "-a", null]')
TRICKY_VALUES = {"note": "-x --y\nünï", "day": "None", "empty": "", "maybe": False,
                 "items": [1, "-a", None]}


class SandboxSuite:
    """Base class of a sandbox's conformance tests (not collected by itself)."""

    @pytest.fixture
    def sandbox_key(self) -> str:
        """``TYPE::NAME`` of the sandbox under test; override it as a fixture."""
        raise NotImplementedError("a SandboxSuite subclass provides the sandbox_key fixture")

    @pytest.fixture
    def sandbox_env(self) -> dict[str, str]:
        """Environment variables the sandbox's tools need; override as a fixture."""
        return {}

    @pytest.fixture
    def analysis(self, tmp_path: Path) -> Path:
        write_suite_tasks(tmp_path)
        (tmp_path / "law.cfg").write_text("[sandbox]\nforward_env = SUITE_FORWARDED\n")
        return tmp_path

    def law_core(self, args: list[str], cwd: Path, env: dict[str, str]
                 ) -> subprocess.CompletedProcess:
        full = {k: v for k, v in os.environ.items() if not k.startswith("LAW_CORE")}
        full.update(env)
        full["PYTHONPATH"] = str(cwd)
        return subprocess.run([sys.executable, "-m", "law_core", *args], cwd=cwd, env=full,
                              capture_output=True, text=True, timeout=600)

    def run_inside(self, analysis: Path, key: str, env: dict[str, str], *params: str
                   ) -> subprocess.CompletedProcess:
        return self.law_core(["run", "suite_sandbox.Inside", "--sandbox", key, *params],
                             analysis, env)

    @staticmethod
    def facts(analysis: Path, name: str) -> dict:
        return json.loads((analysis / "data" / "Inside" / name).read_text())

    # the suite

    def test_run_happens_inside_and_dependencies_outside(self, analysis, sandbox_key,
                                                         sandbox_env) -> None:
        result = self.run_inside(analysis, sandbox_key, sandbox_env, "--words", "x,y z",
                                 "--flag")
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
        facts = self.facts(analysis, "inside_x_y z_True.json")
        assert facts["sandbox"] == sandbox_key
        assert facts["words"] == ["x", "y z"] and facts["flag"] is True
        assert facts["input"]["sandbox"] is None  # the dependency ran outside
        assert facts["pid"] != facts["input"]["pid"]

    def test_outputs_belong_to_the_calling_user(self, analysis, sandbox_key,
                                                sandbox_env) -> None:
        result = self.run_inside(analysis, sandbox_key, sandbox_env)
        assert result.returncode == 0, result.stderr[-3000:]
        output = analysis / "data" / "Inside" / "inside_a_b_False.json"
        assert output.stat().st_uid == os.getuid()
        assert self.facts(analysis, output.name)["uid"] == os.getuid()

    def test_only_named_variables_are_forwarded(self, analysis, sandbox_key,
                                                sandbox_env) -> None:
        env = dict(sandbox_env, SUITE_FORWARDED="yes", SUITE_SECRET="do-not-forward")
        result = self.run_inside(analysis, sandbox_key, env)
        assert result.returncode == 0, result.stderr[-3000:]
        facts = self.facts(analysis, "inside_a_b_False.json")
        assert facts["forwarded"] == "yes"
        assert facts["secret"] is None or self.shares_environment

    #: whether the sandbox type hands the whole calling environment in (bash, venv): then a
    #: variable arrives without being named
    shares_environment = False

    def test_failure_inside_is_a_clear_error_and_leaves_no_output(self, analysis, sandbox_key,
                                                                  sandbox_env) -> None:
        result = self.run_inside(analysis, sandbox_key, sandbox_env, "--fail")
        assert result.returncode == 1
        assert "failing inside on purpose" in result.stdout + result.stderr
        assert f"failed in the sandbox {sandbox_key}" in result.stderr
        assert not (analysis / "data" / "Inside" / "inside_a_b_False.json").exists()

    def test_variables_matched_by_a_glob_are_forwarded(self, analysis, sandbox_key,
                                                        sandbox_env) -> None:
        (analysis / "law.cfg").write_text("[sandbox]\nforward_env = SUITE_GLOB_*\n")
        env = dict(sandbox_env, SUITE_GLOB_ONE="1", SUITE_GLOB_TWO="two words",
                   SUITE_SECRET="do-not-forward")
        result = self.run_inside(analysis, sandbox_key, env)
        assert result.returncode == 0, result.stderr[-3000:]
        facts = self.facts(analysis, "inside_a_b_False.json")
        assert facts["globbed"] == {"SUITE_GLOB_ONE": "1", "SUITE_GLOB_TWO": "two words"}
        assert facts["secret"] is None or self.shares_environment

    def test_outputs_from_an_unforwarded_variable_fail_before_run(self, analysis, sandbox_key,
                                                                 sandbox_env) -> None:
        if self.shares_environment:
            pytest.skip("the calling environment reaches this sandbox as it is")
        chosen = analysis / "chosen"
        env = dict(sandbox_env, SUITE_OUT=str(chosen))
        result = self.law_core(["run", "suite_sandbox.FromEnv", "--sandbox", sandbox_key],
                               analysis, env)
        assert result.returncode == 1
        assert "resolves other outputs in the sandbox" in result.stderr
        assert str(chosen / "from_env.json") in result.stderr
        assert str(analysis / "default-out" / "from_env.json") in result.stderr
        assert "[sandbox] forward_env" in result.stderr
        assert not (chosen / "from_env.json").exists()
        assert not (analysis / "default-out").exists()
        # declared by a glob, the variable arrives and the outputs are where they belong
        (analysis / "law.cfg").write_text("[sandbox]\nforward_env = SUITE_OUT*\n")
        result = self.law_core(["run", "suite_sandbox.FromEnv", "--sandbox", sandbox_key],
                               analysis, env)
        assert result.returncode == 0, result.stderr[-3000:]
        assert json.loads((chosen / "from_env.json").read_text()) == {"out": str(chosen)}

    def test_config_values_arrive_as_resolved_here(self, analysis, sandbox_key,
                                                   sandbox_env) -> None:
        (analysis / "law.cfg").write_text("[target]\nstore = $SUITE_STORE_ROOT/store\n")
        env = dict(sandbox_env, SUITE_STORE_ROOT=str(analysis / "root"))  # not forwarded
        result = self.run_inside(analysis, sandbox_key, env)
        assert result.returncode == 0, result.stderr[-3000:]
        assert (analysis / "root" / "store" / "Inside" / "inside_a_b_False.json").exists()

    def test_a_run_that_writes_no_output_fails(self, analysis, sandbox_key,
                                               sandbox_env) -> None:
        result = self.law_core(["run", "suite_sandbox.WritesNothing", "--sandbox",
                                sandbox_key], analysis, sandbox_env)
        assert result.returncode == 1
        assert "ended without error, but its outputs do not exist" in result.stderr
        assert str(analysis / "data" / "WritesNothing" / "never.json") in result.stderr

    def test_luigi_callbacks_are_relayed_to_the_submitting_side(self, analysis, sandbox_key,
                                                                sandbox_env) -> None:
        result = self.law_core(["run", "suite_sandbox.Reports", "--sandbox", sandbox_key],
                               analysis, sandbox_env)
        assert result.returncode == 0, result.stderr[-3000:]
        assert (analysis / "data" / "Reports" / "reported.json").exists()
        lines = result.stderr.splitlines()
        assert len([line for line in lines if "status of Reports(" in line
                    and line.endswith(": half way there")]) == 1, result.stderr[-3000:]
        assert len([line for line in lines if "progress of Reports(" in line
                    and line.endswith(": 50%")]) == 1, result.stderr[-3000:]

    def test_parameter_values_arrive_exactly(self, analysis, sandbox_key, sandbox_env
                                             ) -> None:
        result = self.law_core(
            ["run", "suite_sandbox.Travels", "--sandbox", sandbox_key, *TRICKY_ARGS],
            analysis, sandbox_env)
        assert result.returncode == 0, result.stderr[-3000:]
        facts = json.loads((analysis / "data" / "Travels" / "travelled.json").read_text())
        assert facts.pop("sandbox") == sandbox_key  # really inside
        assert facts == TRICKY_VALUES

    def test_a_key_from_the_calling_environment_holds_inside(self, analysis, sandbox_key,
                                                             sandbox_env) -> None:
        env = dict(sandbox_env, SUITE_SANDBOX_KEY=sandbox_key)  # not forwarded
        result = self.law_core(["run", "suite_sandbox.KeyFromEnv"], analysis, env)
        assert result.returncode == 0, result.stderr[-3000:]
        facts = json.loads((analysis / "data" / "KeyFromEnv" / "key_from_env.json")
                           .read_text())
        assert facts == {"sandbox": sandbox_key}

    def test_unknown_sandbox_type_names_what_is_installed(self, analysis, sandbox_env) -> None:
        result = self.run_inside(analysis, "nosuchtype::x", sandbox_env)
        assert result.returncode == 1
        assert "no installed plugin provides the sandbox 'nosuchtype'" in result.stderr
