"""``docker::IMAGE``: a task's ``run()`` in a Docker container, through the docker SDK.

One container per run: created with the task's mounts, the explicit environment the core
passes and a label, started, its output streamed, waited for, and removed, also when the
task fails or law-core is interrupted (SIGINT/SIGTERM). It runs as the calling user's
uid:gid unless ``[docker] run_as_root`` is set. Unless ``[docker] python`` names an
interpreter of an image that has law-core installed, the host's law-core code reaches the
container read-only (see :mod:`law_core.sandbox.container`).
"""

from __future__ import annotations

import codecs
import contextlib
import os
import pwd
import re
import sys
import uuid
from typing import Any

from law_core.plugin import (
    ConfigError,
    Interrupted,
    Mount,
    Sandbox,
    TaskError,
    config_file_mount,
    interruptible,
    merge_mounts,
    parse_mounts,
    wrap_command,
)
from law_core_docker.settings import DockerSettings

#: every container law-core creates carries this label (its value: the sandbox key)
LABEL = "law-core.sandbox"
#: the working directory of the run and a token unique to the run
LABEL_CWD = "law-core.cwd"
LABEL_RUN = "law-core.run"

_PULL = ("missing", "always", "never")

# an image reference as Docker's distribution grammar has it: [registry[:port]/]path[:tag]
# [@digest], path components in lower case
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_REFERENCE = re.compile(
    rf"(?:{_HOST}(?:\.{_HOST})*(?::[0-9]+)?/)?{_COMPONENT}(?:/{_COMPONENT})*"
    r"(?::[\w][\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*"
    r":[0-9a-fA-F]{32,})?")


def check_image_reference(image: str) -> None:
    """A clear error for a name Docker would refuse (the daemon's own answer is a bare
    "invalid reference format")."""
    if not _REFERENCE.fullmatch(image):
        raise ConfigError(
            f"docker::{image} is not a valid image name: expected [REGISTRY/]NAME[:TAG], "
            "the name in lower case letters, digits and the separators . _ -, e.g. "
            "docker::my-analysis:1.0")


def parse_gpus(value: str) -> list[dict[str, Any]]:
    """``[docker] gpus`` as ``docker run --gpus`` takes it -> device requests:
    ``all``, a count (``2``), or ``device=0,1`` (ids or UUIDs); empty: none."""
    value = value.strip()
    if not value:
        return []
    request: dict[str, Any] = {"Driver": "", "Capabilities": [["gpu"]], "Options": {}}
    if value == "all":
        request.update(Count=-1, DeviceIDs=None)
    elif value.isdigit():
        request.update(Count=int(value), DeviceIDs=None)
    elif value.startswith("device="):
        ids = [i.strip() for i in value[len("device="):].split(",") if i.strip()]
        if not ids:
            raise ConfigError(f"[docker] gpus = {value!r} names no device")
        request.update(Count=0, DeviceIDs=ids)
    else:
        raise ConfigError(f"[docker] gpus = {value!r} is not 'all', a count or "
                          f"'device=ID[,ID...]'")
    return [request]


def parse_volumes(entries: list[str]) -> list[Mount]:
    """``[docker] volumes`` entries ``SOURCE[:TARGET[:ro|rw]]``; a SOURCE without a slash is
    a named Docker volume."""
    return parse_mounts(entries, "[docker] volumes", named_sources=True)


class DockerSandbox(Sandbox):
    """``docker::IMAGE``; options in ``[docker]`` (see the plugin's README)."""

    type = "docker"
    shares_file_system = True  # through the mounts of the task's directories

    # configuration

    @property
    def image(self) -> str:
        check_image_reference(self.name)
        return self.name

    def validate(self) -> None:
        """The image name is one Docker accepts (the daemon is not asked)."""
        check_image_reference(self.name)

    @property
    def settings(self) -> DockerSettings:
        """The ``[docker]`` options in effect (read from the config each time)."""
        return DockerSettings.resolve()

    def python(self) -> str:
        """``[docker] python`` (an image with law-core installed), else ``python3`` with
        the host's law-core code mounted."""
        return self.settings.python or "python3"

    def forwards_law_core(self) -> bool:
        return not self.settings.python

    def run_as_root(self) -> bool:
        return self.settings.run_as_root

    def network(self) -> str:
        return self.settings.network

    def pull_policy(self) -> str:
        policy = self.settings.pull.strip()
        if policy not in _PULL:
            raise ConfigError(f"[docker] pull = {policy!r} is not one of {', '.join(_PULL)}")
        return policy

    # the container

    def client(self) -> Any:
        import docker

        try:
            client = docker.from_env()
            client.ping()
        except docker.errors.DockerException as err:
            raise TaskError(f"the sandbox {self.key} cannot reach the Docker daemon "
                            f"(DOCKER_HOST={os.environ.get('DOCKER_HOST', 'unset')}): {err}"
                            ) from None
        return client

    def ensure_image(self, client: Any) -> None:
        import docker

        policy = self.pull_policy()
        if policy != "always":
            try:
                client.images.get(self.image)
                return
            except docker.errors.ImageNotFound:
                if policy == "never":
                    raise TaskError(
                        f"the image of the sandbox {self.key} is not on this Docker host and "
                        f"[docker] pull = never: build or pull {self.image!r} first"
                    ) from None
            except docker.errors.DockerException as err:
                raise TaskError(f"looking up the image of the sandbox {self.key} failed: "
                                f"{_reason(err)}") from None
        try:
            client.images.pull(self.image)
        except docker.errors.DockerException as err:
            raise TaskError(f"pulling the image of the sandbox {self.key} failed: "
                            f"{_reason(err)}") from None

    def container_options(self, command: list[str], env: dict[str, str],
                          mounts: list[Mount], cwd: str, run: str) -> dict[str, Any]:
        """The keyword arguments of ``client.containers.create`` for one run."""
        from docker.types import DeviceRequest
        from docker.types import Mount as DockerMount

        settings = self.settings
        env = dict(env)
        code_mounts: list[Mount] = []
        if not settings.python:
            command, env, code_mounts = wrap_command(command, env, self.type)
        volumes = parse_volumes([v.strip() for v in re.split(r"[,\n]", settings.volumes)
                                 if v.strip()])
        all_mounts = merge_mounts(mounts, config_file_mount(env), code_mounts, volumes)
        for mount in all_mounts:
            if not mount.target.startswith("/"):
                raise TaskError(f"the sandbox {self.key} cannot mount {mount.source} at the "
                                f"relative path {mount.target}")
        options: dict[str, Any] = {
            "image": self.image,
            "command": command,
            "environment": env,
            "working_dir": cwd,
            "mounts": [DockerMount(m.target, m.source, type="bind" if "/" in m.source
                                   else "volume", read_only=m.read_only)
                       for m in all_mounts],
            "labels": {LABEL: self.key, LABEL_CWD: cwd, LABEL_RUN: run},
            "network_mode": settings.network,
            "detach": True,
        }
        if not settings.run_as_root:
            options["user"] = f"{os.getuid()}:{os.getgid()}"
            # the calling uid may have no home (nor passwd entry) in the image
            env.setdefault("HOME", "/tmp")
            try:
                user = pwd.getpwuid(os.getuid()).pw_name
            except KeyError:
                user = None
            if user:
                env.setdefault("USER", user)
                env.setdefault("LOGNAME", user)
        requests = parse_gpus(settings.gpus)
        if requests:
            options["device_requests"] = [DeviceRequest(
                driver=r["Driver"], count=r["Count"], device_ids=r["DeviceIDs"],
                capabilities=r["Capabilities"], options=r["Options"]) for r in requests]
        return options

    def create(self, client: Any, command: list[str], env: dict[str, str],
               mounts: list[Mount], cwd: str, run: str | None = None) -> Any:
        """Create (not start) the container of one run."""
        import docker

        self.ensure_image(client)
        options = self.container_options(command, env, mounts, cwd, run or uuid.uuid4().hex)
        try:
            return client.containers.create(**options)
        except docker.errors.DockerException as err:
            raise TaskError(f"creating the container of the sandbox {self.key} failed: "
                            f"{_reason(err)}") from None

    def run(self, command: list[str], env: dict[str, str], mounts: list[Mount],
            cwd: str) -> int:
        import docker

        client = self.client()
        run = uuid.uuid4().hex
        try:
            with interruptible() as state, contextlib.closing(client):
                try:
                    container = self.create(client, command, env, mounts, cwd, run)
                    try:
                        container.start()
                    except docker.errors.DockerException as err:
                        hint = ""
                        if self.settings.gpus and "device driver" in _reason(err):
                            hint = (" ([docker] gpus asks for GPUs: does this host have "
                                    "them, and the NVIDIA container toolkit?)")
                        raise TaskError(f"starting the container of the sandbox {self.key} "
                                        f"failed: {_reason(err)}{hint}") from None
                    try:
                        _stream(container.attach(stdout=True, stderr=True, stream=True,
                                                 logs=True, demux=True))
                        return int(container.wait().get("StatusCode", 1))
                    except docker.errors.DockerException as err:
                        raise TaskError(f"the container of the sandbox {self.key} was lost: "
                                        f"{_reason(err)}") from None
                finally:
                    state.armed = False
                    self.remove_containers(client, run)
        except Interrupted as interrupted:
            interrupted.reraise()
            raise

    def remove_containers(self, client: Any, run: str) -> None:
        """Remove every container of the run (found by its label, so that one whose
        creation was interrupted is found too)."""
        import docker

        try:
            ids = [c["Id"] for c in client.api.containers(
                all=True, quiet=True, filters={"label": f"{LABEL_RUN}={run}"})]
        except docker.errors.DockerException as err:
            print(f"law-core: warning: cannot list the containers of the sandbox {self.key} "
                  f"to remove them: {_reason(err)}", file=sys.stderr)
            return
        for container in ids:
            try:
                client.api.remove_container(container, force=True, v=True)
            except docker.errors.NotFound:
                pass
            except docker.errors.DockerException as err:
                print(f"law-core: warning: cannot remove the container {container[:12]} "
                      f"of the sandbox {self.key}: {_reason(err)}", file=sys.stderr)


def _reason(err: Exception) -> str:
    """The daemon's own words for an API error, else the error."""
    return str(getattr(err, "explanation", None) or err)


def _stream(chunks: Any) -> None:
    """Copy the container's (stdout, stderr) chunks to this process's streams."""
    decoders = {name: codecs.getincrementaldecoder("utf-8")(errors="replace")
                for name in ("stdout", "stderr")}
    for out, err in chunks:
        for name, data in (("stdout", out), ("stderr", err)):
            if data:
                stream = getattr(sys, name)
                stream.write(decoders[name].decode(data))
                stream.flush()
