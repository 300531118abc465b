"""law-core-docker against a real Docker daemon and a locally built image."""

from __future__ import annotations

import grp
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from law_core.sandbox import Mount
from law_core.testing import SandboxSuite
from law_core.testing.docker import python_for_user, run_as, system_user
from law_core.testing.sandbox import write_suite_tasks

LABEL = "law-core.sandbox"
LABEL_CWD = "law-core.cwd"

PROBE_TASKS = '''
import os
import time

import law_core as law


class Probe(law.SandboxTask):
    def output(self):
        return self.local_target("probe.json")

    def run(self):
        facts = {"env": sorted(os.environ), "home": os.environ.get("HOME"),
                 "net": sorted(os.listdir("/sys/class/net")), "extra": None}
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


def containers_of(client, cwd) -> list:
    return client.containers.list(all=True, filters={"label": f"{LABEL_CWD}={cwd}"})


class TestDockerSandbox(SandboxSuite):
    """The conformance suite, plus Docker's own promises; after every test no container
    of its analysis is left."""

    @pytest.fixture
    def sandbox_key(self, docker_image_tag):
        return f"docker::{docker_image_tag}"

    @pytest.fixture(autouse=True)
    def _no_container_left(self, analysis, docker_client):
        yield
        assert containers_of(docker_client, analysis) == []

    def test_run_sees_the_image_its_uid_and_a_forwarded_variable(self, analysis,
                                                                 sandbox_key):
        result = self.run_inside(analysis, sandbox_key, {"SUITE_FORWARDED": "forwarded",
                                                         "SUITE_SECRET": "secret"})
        assert result.returncode == 0, result.stderr[-3000:]
        facts = self.facts(analysis, "inside_a_b_False.json")
        assert 'VERSION_CODENAME=bookworm' in facts["os_release"]
        assert facts["uid"] == os.getuid()
        assert facts["forwarded"] == "forwarded" and facts["secret"] is None
        assert facts["python"] == "/usr/bin/python3"  # the image's, not the host's

    def test_a_failing_task_leaves_no_container(self, analysis, sandbox_key, docker_client):
        before = {c.id for c in docker_client.containers.list(all=True,
                                                              filters={"label": LABEL})}
        result = self.run_inside(analysis, sandbox_key, {}, "--fail")
        assert result.returncode == 1
        after = {c.id for c in docker_client.containers.list(all=True,
                                                             filters={"label": LABEL})}
        assert after <= before

    @pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
    def test_an_interrupted_run_leaves_no_container(self, analysis, sandbox_key,
                                                    docker_client, signum):
        (analysis / "probe_tasks.py").write_text(PROBE_TASKS)
        env = {k: v for k, v in os.environ.items() if not k.startswith("LAW_CORE")}
        env["PYTHONPATH"] = str(analysis)
        process = subprocess.Popen(
            [sys.executable, "-m", "law_core", "run", "probe_tasks.Sleeps", "--sandbox",
             sandbox_key], cwd=analysis, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 120
            while not (analysis / "started").exists():
                assert process.poll() is None, process.communicate()[1][-3000:]
                assert time.monotonic() < deadline, "the container did not start"
                time.sleep(0.2)
            running = containers_of(docker_client, analysis)
            assert [c.status for c in running] == ["running"]
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
        assert containers_of(docker_client, analysis) == []
        assert not (analysis / "data" / "Sleeps" / "slept.txt").exists()

    def test_network_volumes_home_and_only_the_explicit_environment(
            self, analysis, sandbox_key, tmp_path_factory):
        extra = tmp_path_factory.mktemp("extra")
        (extra / "hello.txt").write_text("hello from the host")
        (analysis / "probe_tasks.py").write_text(PROBE_TASKS)
        (analysis / "law.cfg").write_text(
            "[sandbox]\nforward_env = SUITE_FORWARDED\n\n"
            f"[docker]\nnetwork = none\nvolumes = {extra}:/extra:ro\n")
        result = self.law_core(["run", "probe_tasks.Probe", "--sandbox", sandbox_key],
                               analysis, {"SUITE_FORWARDED": "x", "SUITE_SECRET": "y"})
        assert result.returncode == 0, result.stderr[-3000:]
        facts = json.loads((analysis / "data" / "Probe" / "probe.json").read_text())
        assert facts["net"] == ["lo"]
        assert facts["extra"] == "hello from the host" and facts["extra_writable"] is False
        assert facts["home"] == "/tmp"
        # Docker's PATH and HOSTNAME, Python's locale coercion (LC_CTYPE), what law-core
        # sets: nothing else
        assert set(facts["env"]) - {"LC_CTYPE"} == {
            "PATH", "HOSTNAME", "HOME", "USER", "LOGNAME", "PYTHONPATH", "LAW_CORE_SANDBOX",
            "LAW_CORE_SANDBOX_RUN", "LAW_CORE_CONFIG", "LAW_CORE_RESOLVED_CONFIG",
            "SUITE_FORWARDED"}

    def test_requested_gpus_fail_clearly_here_and_leave_no_container(
            self, analysis, sandbox_key):
        # no GPU on this machine: the daemon refuses to start the container; with one
        # (and the NVIDIA container toolkit) the task runs
        result = self.run_inside(analysis, sandbox_key, {"LAW_CORE__DOCKER__GPUS": "all"})
        if result.returncode != 0:
            assert "starting the container of the sandbox" in result.stderr
            assert "gpu" in result.stderr.lower()


def test_a_missing_image_is_not_pulled_when_told_so(tmp_path, monkeypatch, docker_client):
    from law_core_docker.sandbox import DockerSandbox

    from law_core.errors import TaskError

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LAW_CORE__DOCKER__PULL", "never")
    sandbox = DockerSandbox("law-core-test:no-such-image")
    with pytest.raises(TaskError, match="not on this Docker host and .docker. pull = never"):
        sandbox.ensure_image(docker_client)


@pytest.mark.parametrize("image", ["UPPER CASE!!", "My-Image:1.0", "img:", "a//b"])
def test_an_invalid_image_name_is_a_clear_error_before_the_daemon_is_asked(
        image, tmp_path, monkeypatch, docker_client):
    from law_core_docker.sandbox import DockerSandbox

    from law_core.errors import ConfigError

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=f"docker::{re.escape(image)} is not a valid image "
                       "name: expected .REGISTRY/.NAME.:TAG."):
        DockerSandbox(image).ensure_image(docker_client)


def test_image_names_docker_accepts_are_accepted(docker_client, docker_image_tag):
    from law_core_docker.sandbox import check_image_reference

    for image in (docker_image_tag, "ubuntu", "ubuntu:22.04", "localhost:5000/grp/img:v1.2-x",
                  "registry.example.ch/me/img@sha256:" + "a" * 64, "my_img__x.y-z"):
        check_image_reference(image)
    docker_client.images.get(docker_image_tag)  # the real name is known to the daemon


@pytest.fixture
def created(docker_client, docker_image_tag, tmp_path, monkeypatch):
    """Create (not start) a container with the options the config asks for, and inspect
    it as the daemon recorded it."""
    from law_core_docker.sandbox import DockerSandbox

    from law_core.config import reset_config

    monkeypatch.chdir(tmp_path)
    made = []

    def create(**config):
        for name in [n for n in os.environ if n.startswith("LAW_CORE__DOCKER__")]:
            monkeypatch.delenv(name)
        for option, value in config.items():
            monkeypatch.setenv(f"LAW_CORE__DOCKER__{option.upper()}", value)
        reset_config()
        sandbox = DockerSandbox(docker_image_tag)
        command = [sandbox.python(), "-m", "law_core.sandbox", "mod.Task", "--x", "1"]
        container = sandbox.create(docker_client, command, {"A": "1"},
                                   [Mount(str(tmp_path), str(tmp_path))], str(tmp_path),
                                   run=uuid.uuid4().hex)
        made.append(container)
        container.reload()
        return container.attrs

    yield create
    for container in made:
        container.remove(force=True)


def test_gpus_become_device_requests_in_the_host_config(created):
    attrs = created(gpus="all")
    assert [dict(r, DeviceIDs=r["DeviceIDs"] or None)
            for r in attrs["HostConfig"]["DeviceRequests"]] == [
        {"Driver": "", "Count": -1, "DeviceIDs": None, "Capabilities": [["gpu"]],
         "Options": {}}]
    attrs = created(gpus="device=0,1")
    assert [(r["Count"], r["DeviceIDs"]) for r in attrs["HostConfig"]["DeviceRequests"]] == \
        [(0, ["0", "1"])]
    assert not created()["HostConfig"].get("DeviceRequests")


def test_defaults_user_network_label_and_read_only_host_code(created, tmp_path):
    attrs = created()
    assert attrs["Config"]["User"] == f"{os.getuid()}:{os.getgid()}"
    assert attrs["HostConfig"]["NetworkMode"] == "bridge"
    assert attrs["Config"]["Labels"][LABEL].startswith("docker::")
    assert attrs["Config"]["Cmd"][:2] == ["python3", "-c"]
    assert attrs["Config"]["Cmd"][3:] == ["mod.Task", "--x", "1"]
    mounts = attrs["HostConfig"]["Mounts"]
    assert [m.get("ReadOnly", False) for m in mounts if m["Target"] == str(tmp_path)] == \
        [False]

    def read_only_mount_of(path):
        return [m["Target"] for m in mounts if m.get("ReadOnly")
                and (path + "/").startswith(m["Target"].rstrip("/") + "/")]

    import law_core
    assert read_only_mount_of(str(Path(law_core.__file__).parent))
    assert read_only_mount_of(next(p for p in sys.path if p.endswith("site-packages")))


def test_run_as_root_and_an_image_with_its_own_law_core(created, tmp_path):
    attrs = created(run_as_root="true", python="/opt/law/bin/python")
    assert attrs["Config"]["User"] == ""
    assert attrs["Config"]["Cmd"] == ["/opt/law/bin/python", "-m", "law_core.sandbox",
                                      "mod.Task", "--x", "1"]
    assert [m["Target"] for m in attrs["HostConfig"]["Mounts"]] == [str(tmp_path)]


def test_bad_options_are_clear_errors(monkeypatch, tmp_path):
    from law_core_docker.sandbox import DockerSandbox, parse_gpus, parse_volumes

    from law_core.errors import ConfigError

    with pytest.raises(ConfigError, match="gpus"):
        parse_gpus("some")
    with pytest.raises(ConfigError, match="volumes entry"):
        parse_volumes(["/a:relative"])
    assert parse_volumes(["cache:/cache", "/x:/y:ro"]) == [
        Mount("cache", "/cache", False), Mount("/x", "/y", True)]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LAW_CORE__DOCKER__PULL", "sometimes")
    with pytest.raises(ConfigError, match="pull"):
        DockerSandbox("x").pull_policy()


def test_options_come_from_docker_never_sandbox_and_bad_ones_name_the_line(monkeypatch,
                                                                           tmp_path):
    from law_core_docker.sandbox import DockerSandbox

    from law_core.config import reset_config
    from law_core.errors import ConfigError

    cfg = tmp_path / "law.cfg"
    cfg.write_text("[sandbox]\npython = /venv/bin/python\nnetwork = host\n\n"
                   "[docker]\nrun_as_root = true\n")
    monkeypatch.setenv("LAW_CORE_CONFIG", str(cfg))
    reset_config()
    sandbox = DockerSandbox("x")
    assert (sandbox.python(), sandbox.network(), sandbox.pull_policy()) == \
        ("python3", "bridge", "missing")
    assert sandbox.run_as_root()
    cfg.write_text(cfg.read_text().replace("true", "sometimes"))
    reset_config()
    with pytest.raises(ConfigError, match=re.escape(
            f"config option docker.run_as_root = 'sometimes' ({cfg}:6) is not a boolean")):
        sandbox.run_as_root()


def test_the_plugin_module_imports_no_docker_sdk():
    code = ("import sys, law_core_docker.plugin; "
            "sys.exit('docker' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.fixture
def docker_user(docker_ready):
    """A non-root user with access to the Docker socket through its group."""
    if os.getuid() != 0:
        pytest.skip("creating a test user needs root")
    group = grp.getgrgid(os.stat("/var/run/docker.sock").st_gid).gr_name
    assert group != "root", "the Docker socket belongs to root's group; start dockerd with -G"
    return system_user("lawcore-test", groups=(group,))


def test_a_non_root_user_gets_outputs_they_own(docker_user, docker_image_tag):
    base = Path(tempfile.mkdtemp(prefix="law-core-docker-user-", dir="/tmp"))
    try:
        base.chmod(0o755)
        analysis = base / "analysis"
        analysis.mkdir()
        write_suite_tasks(analysis)
        (analysis / "law.cfg").write_text("[sandbox]\nforward_env = SUITE_FORWARDED\n")
        os.chown(analysis, docker_user.pw_uid, docker_user.pw_gid)
        python = python_for_user(docker_user.pw_name, base)
        result = run_as(docker_user.pw_name, [
            "env", "-i", "PATH=/usr/local/bin:/usr/bin:/bin", f"HOME={analysis}",
            f"PYTHONPATH={analysis}", "SUITE_FORWARDED=from the user", "SUITE_SECRET=no",
            python, "-m", "law_core", "run", "suite_sandbox.Inside", "--sandbox",
            f"docker::{docker_image_tag}"], cwd=analysis, capture_output=True, text=True,
            timeout=600)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
        output = analysis / "data" / "Inside" / "inside_a_b_False.json"
        assert output.stat().st_uid == docker_user.pw_uid
        facts = json.loads(output.read_text())
        assert facts["uid"] == docker_user.pw_uid != 0
        assert facts["forwarded"] == "from the user" and facts["secret"] is None
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_the_bootstrap_refuses_an_image_python_of_another_minor_version():
    from law_core.sandbox.container import BOOTSTRAP

    env = dict(os.environ, LAW_CORE_HOST_PYTHON="3.99", LAW_CORE_HOST_PATH="")
    result = subprocess.run([sys.executable, "-c", BOOTSTRAP.replace("@SECTION@", "docker"),
                             "mod.Task"], env=env, capture_output=True, text=True)
    assert result.returncode == 3
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert f"is Python {here}, but the law-core code mounted from the host is for Python " \
        "3.99" in result.stderr
    assert "set [docker] python" in result.stderr
