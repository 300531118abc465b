"""law-core-singularity through spython, against the STAND-IN ``apptainer`` of
``tests/standin`` (no Apptainer or Singularity can be installed here; see conftest.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from law_core.testing import SandboxSuite
from law_core.testing.docker import python_for_user, run_as, system_user
from law_core.testing.sandbox import write_suite_tasks

STANDIN = Path(__file__).resolve().parent / "standin"

PROBE_TASKS = '''
import os
import time

import law_core as law


class Probe(law.SandboxTask):
    def output(self):
        return self.local_target("probe.json")

    def run(self):
        facts = {"env": dict(os.environ), "extra": None}
        if os.path.isdir("/extra"):
            facts["extra"] = open("/extra/hello.txt").read()
            try:
                open("/extra/written", "w").close()
                facts["extra_writable"] = True
            except OSError:
                facts["extra_writable"] = False
        self.output().dump(facts)


class Sleeps(law.SandboxTask):
    def output(self):
        return self.local_target("slept.txt")

    def run(self):
        with open("started", "w") as f:
            f.write(str(os.getpid()))
        time.sleep(300)
        self.output().dump("woke up")
'''


def calls(analysis: Path) -> list[dict]:
    """The stand-in's calls (see its docstring), ``exec`` ones only."""
    path = analysis / "standin-calls.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [c for c in map(json.loads, lines) if "exec" in c["args"]]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class TestApptainerSandbox(SandboxSuite):
    """The conformance suite with ``apptainer::DIRECTORY_IMAGE``, and the plugin's own
    promises."""

    @pytest.fixture
    def sandbox_key(self, rootfs):
        return f"apptainer::{rootfs}"

    @pytest.fixture
    def sandbox_env(self, standin_env):
        return standin_env

    def probe(self, analysis, key, env, config=""):
        (analysis / "probe_tasks.py").write_text(PROBE_TASKS)
        (analysis / "law.cfg").write_text("[sandbox]\nforward_env = SUITE_FORWARDED\n\n"
                                          + config)
        result = self.law_core(["run", "probe_tasks.Probe", "--sandbox", key], analysis,
                               env)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
        return json.loads((analysis / "data" / "Probe" / "probe.json").read_text())

    def test_spython_runs_the_chosen_binary_with_binds_and_a_clean_environment(
            self, analysis, sandbox_key, sandbox_env, rootfs):
        env = dict(sandbox_env, SUITE_FORWARDED="forwarded", SUITE_SECRET="secret")
        result = self.run_inside(analysis, sandbox_key, env)
        assert result.returncode == 0, result.stderr[-3000:]
        facts = self.facts(analysis, "inside_a_b_False.json")
        assert "VERSION_CODENAME=bookworm" in facts["os_release"]
        assert facts["uid"] == os.getuid()
        assert facts["forwarded"] == "forwarded" and facts["secret"] is None
        assert facts["python"] == "/usr/bin/python3"
        (call,) = calls(analysis)
        assert call["argv0"] == "singularity"  # spython's command, linked to the stand-in
        args = call["args"]
        assert args[0] == "exec" and "--cleanenv" in args
        assert args[args.index("--pwd") + 1] == str(analysis)
        binds = [args[i + 1] for i, a in enumerate(args) if a == "--bind"]
        assert f"{analysis}:{analysis}" in binds
        assert any(b.endswith(":ro") and "site-packages" in b for b in binds)
        image = args.index(str(rootfs))
        assert args[image + 1:image + 3] == ["python3", "-c"]
        # the environment travels in APPTAINERENV_ variables, not on the command line
        assert "APPTAINERENV_SUITE_FORWARDED" in call["env_names"]
        assert "--env" not in args and not any("SUITE_FORWARDED" in a for a in args)

    def test_only_the_declared_environment_arrives(self, analysis, sandbox_key,
                                                   sandbox_env):
        (analysis / "probe_tasks.py").write_text(PROBE_TASKS)
        (analysis / "law.cfg").write_text("[sandbox]\nforward_env = SUITE_GLOB_*\n")
        env = dict(sandbox_env, SUITE_GLOB_A="a", SUITE_GLOB_B="b", SUITE_SECRET="secret")
        result = self.law_core(["run", "probe_tasks.Probe", "--sandbox", sandbox_key],
                               analysis, env)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
        facts = json.loads((analysis / "data" / "Probe" / "probe.json").read_text())
        # Apptainer's own (PATH, HOME, APPTAINER_*), Python's locale coercion (LC_CTYPE),
        # what law-core sets and the declared ones: nothing else
        assert set(facts["env"]) - {"LC_CTYPE"} == {
            "PATH", "HOME", "APPTAINER_CONTAINER", "APPTAINER_NAME", "PYTHONPATH",
            "LAW_CORE_SANDBOX", "LAW_CORE_SANDBOX_RUN", "LAW_CORE_CONFIG",
            "LAW_CORE_RESOLVED_CONFIG", "SUITE_GLOB_A",
            "SUITE_GLOB_B"}
        assert (facts["env"]["SUITE_GLOB_A"], facts["env"]["SUITE_GLOB_B"]) == ("a", "b")

    def test_clean_env_false_lets_the_calling_environment_in(self, analysis, sandbox_key,
                                                             sandbox_env):
        facts = self.probe(analysis, sandbox_key, dict(sandbox_env, SUITE_SECRET="host"),
                           "[singularity]\nclean_env = false\n")
        assert facts["env"]["SUITE_SECRET"] == "host"
        assert "--cleanenv" not in calls(analysis)[0]["args"]

    def test_binds_from_the_config_and_read_only_ones(self, analysis, sandbox_key,
                                                      sandbox_env, tmp_path_factory):
        extra = tmp_path_factory.mktemp("extra")
        (extra / "hello.txt").write_text("hello from the host")
        facts = self.probe(analysis, sandbox_key, sandbox_env,
                           f"[apptainer]\nbinds = {extra}:/extra:ro\n")
        assert facts["extra"] == "hello from the host" and facts["extra_writable"] is False

    def test_singularity_type_finds_the_apptainer_binary(self, analysis, rootfs,
                                                         sandbox_env):
        result = self.run_inside(analysis, f"singularity::{rootfs}", sandbox_env)
        assert result.returncode == 0, result.stderr[-3000:]
        assert self.facts(analysis, "inside_a_b_False.json")["sandbox"] == \
            f"singularity::{rootfs}"

    def test_binary_from_the_config_and_singularity_env_prefix(self, analysis, rootfs):
        # no stand-in on PATH: only [singularity] binary names it; spython's own override
        # of the version answer makes the plugin pick SingularityCE's variable prefix,
        # which Apptainer (and the stand-in) honour too
        env = {"SPYTHON_SINGULARITY_VERSION": "singularity-ce version 3.11.4",
               "LAW_CORE_STANDIN_LOG": str(analysis / "standin-calls.jsonl"),
               "LAW_CORE__SINGULARITY__BINARY": str(STANDIN / "apptainer")}
        result = self.run_inside(analysis, f"singularity::{rootfs}", env)
        assert result.returncode == 0, result.stderr[-3000:]
        (call,) = calls(analysis)
        assert "SINGULARITYENV_LAW_CORE_SANDBOX" in call["env_names"]
        assert not any(n.startswith("APPTAINERENV_") for n in call["env_names"])

    def test_missing_binary_and_missing_image_are_clear_errors(self, analysis, rootfs,
                                                               sandbox_env):
        no_tool = {"PATH": "/usr/bin:/bin"}
        result = self.run_inside(analysis, f"apptainer::{rootfs}", no_tool)
        assert result.returncode == 1
        assert "needs apptainer or singularity, which is not found on PATH" in result.stderr
        result = self.run_inside(analysis, f"apptainer::{analysis}/nothing.sif", sandbox_env)
        assert result.returncode == 1
        assert "does not exist" in result.stderr and "nothing.sif" in result.stderr

    @pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
    def test_an_interrupted_run_leaves_no_process(self, analysis, sandbox_key, sandbox_env,
                                                  signum):
        (analysis / "probe_tasks.py").write_text(PROBE_TASKS)
        env = {k: v for k, v in os.environ.items() if not k.startswith("LAW_CORE")}
        env.update(sandbox_env, PYTHONPATH=str(analysis))
        process = subprocess.Popen(
            [sys.executable, "-m", "law_core", "run", "probe_tasks.Sleeps", "--sandbox",
             sandbox_key], cwd=analysis, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 120
            while not (analysis / "started").exists() or \
                    not (analysis / "started").read_text():
                assert process.poll() is None, process.communicate()[1][-3000:]
                assert time.monotonic() < deadline, "the container did not start"
                time.sleep(0.2)
            task_pid = int((analysis / "started").read_text())  # no pid namespace
            assert alive(task_pid)
            process.send_signal(signum)
            _, err = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        if signum == signal.SIGTERM:
            assert process.returncode == -signal.SIGTERM, err[-3000:]
        else:
            assert process.returncode != 0
        deadline = time.monotonic() + 10
        while alive(task_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(task_pid)
        assert not (analysis / "data" / "Sleeps" / "slept.txt").exists()


def test_the_standin_answers_like_the_real_tool(rootfs, tmp_path):
    standin = str(STANDIN / "apptainer")
    version = subprocess.run([standin, "--version"], capture_output=True, text=True)
    assert version.stdout == "apptainer version 1.3.4\n"
    sif = tmp_path / "image.sif"
    sif.write_bytes(b"not an image")
    refused = subprocess.run([standin, "exec", str(sif), "true"], capture_output=True,
                             text=True)
    assert refused.returncode == 255 and "directory (sandbox) images only" in refused.stderr
    unknown = subprocess.run([standin, "exec", "--frobnicate", str(rootfs), "true"],
                             capture_output=True, text=True)
    assert unknown.returncode == 255 and "unknown flag: --frobnicate" in unknown.stderr


def test_apptainer_options_fall_back_to_singularity_never_to_sandbox(tmp_path, monkeypatch):
    from law_core_singularity.sandbox import ApptainerSandbox, SingularitySandbox

    from law_core.config import reset_config
    from law_core.errors import ConfigError

    cfg = tmp_path / "law.cfg"
    cfg.write_text("[sandbox]\npython = /venv/bin/python\n\n"
                   "[singularity]\nclean_env = false\noptions = --nv\n\n"
                   "[apptainer]\noptions = --contain\n")
    monkeypatch.setenv("LAW_CORE_CONFIG", str(cfg))
    reset_config()
    apptainer, singularity = ApptainerSandbox("x.sif"), SingularitySandbox("x.sif")
    assert apptainer.exec_options() == ["--contain"]
    assert singularity.exec_options() == ["--nv"]
    assert not apptainer.clean_env() and not singularity.clean_env()
    assert apptainer.python() == singularity.python() == "python3"  # not [sandbox]'s

    cfg.write_text("[apptainer]\nclean_env = maybe\n")
    reset_config()
    with pytest.raises(ConfigError, match=re.escape(
            f"config option apptainer.clean_env = 'maybe' ({cfg}:2) is not a boolean")):
        apptainer.clean_env()
    assert singularity.clean_env()


def test_the_plugin_module_imports_no_spython():
    code = "import sys, law_core_singularity.plugin; sys.exit('spython' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_a_non_root_user_runs_as_themselves(rootfs):
    """The stand-in gives a non-root caller a user namespace mapping it to itself."""
    if os.getuid() != 0:
        pytest.skip("creating a test user needs root")
    user = system_user("lawcore-test")
    base = Path(tempfile.mkdtemp(prefix="law-core-singularity-user-", dir="/tmp"))
    try:
        base.chmod(0o755)
        image = base / "image"  # the cached image lives below root's home
        subprocess.run(["cp", "-a", str(rootfs), str(image)], check=True)
        analysis = base / "analysis"
        analysis.mkdir()
        write_suite_tasks(analysis)
        (analysis / "law.cfg").write_text("[sandbox]\nforward_env = SUITE_FORWARDED\n")
        os.chown(analysis, user.pw_uid, user.pw_gid)
        python = python_for_user(user.pw_name, base)
        result = run_as(user.pw_name, [
            "env", "-i", f"PATH={STANDIN}:/usr/local/bin:/usr/bin:/bin", f"HOME={analysis}",
            f"PYTHONPATH={analysis}", "SUITE_FORWARDED=from the user", python, "-m",
            "law_core", "run", "suite_sandbox.Inside", "--sandbox", f"apptainer::{image}"],
            cwd=analysis, capture_output=True, text=True, timeout=600)
        if "container creation failed" in result.stderr and "Operation not permitted" in \
                result.stderr:
            pytest.skip("this kernel gives no user namespace to the stand-in")
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
        output = analysis / "data" / "Inside" / "inside_a_b_False.json"
        assert output.stat().st_uid == user.pw_uid
        facts = json.loads(output.read_text())
        assert facts["uid"] == user.pw_uid != 0
        assert facts["forwarded"] == "from the user"
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_the_bootstrap_refuses_an_image_python_of_another_minor_version():
    from law_core.sandbox.container import BOOTSTRAP

    env = dict(os.environ, LAW_CORE_HOST_PYTHON="3.99", LAW_CORE_HOST_PATH="")
    result = subprocess.run([sys.executable, "-c",
                             BOOTSTRAP.replace("@SECTION@", "singularity"), "mod.Task"],
                            env=env, capture_output=True, text=True)
    assert result.returncode == 3
    assert "the law-core code mounted from the host is for Python 3.99" in result.stderr
    assert "set [singularity] python" in result.stderr
