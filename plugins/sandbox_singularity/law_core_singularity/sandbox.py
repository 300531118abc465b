"""``singularity::IMAGE`` and ``apptainer::IMAGE``: a task's ``run()`` in a container,
executed by spython (``apptainer exec`` / ``singularity exec``).

IMAGE is a ``.sif`` file, a sandbox directory image, or a URI the tool understands
(``docker://...``, ``oras://...``). The run binds the task's directories, passes only the
explicit environment (as ``APPTAINERENV_``/``SINGULARITYENV_`` variables of the tool's
process: unlike ``--env`` they do not show in the process list) and, by default, starts the
container with ``--cleanenv``.

Choosing the executable: spython always runs the command ``singularity``, looked up on
``PATH``, and asks ``singularity --version`` which tool it is (``SPYTHON_SINGULARITY_VERSION``
overrides the answer). So the binary chosen by ``[singularity] binary`` (or found on
``PATH``: the sandbox type's own name first, then the other) is handed to spython as a
``singularity`` link in a private directory put first on the ``PATH`` of the tool's process,
exactly as Apptainer's own ``singularity`` compatibility link does.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import ClassVar

from law_core.plugin import (
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
from law_core_singularity.settings import SingularitySettings

_TOOLS = ("apptainer", "singularity")


def parse_binds(entries: list[str], option: str = "[singularity] binds") -> list[Mount]:
    """``[singularity] binds`` entries ``SOURCE[:TARGET[:ro|rw]]`` (``option`` names where
    they are set, for errors)."""
    return parse_mounts(entries, option)


class SingularitySandbox(Sandbox):
    """``singularity::IMAGE``; options in ``[singularity]`` (see the plugin's README)."""

    type = "singularity"
    shares_file_system = True  # through the mounts of the task's directories
    _prefixes: ClassVar[dict[tuple[str, str], str]] = {}

    # configuration

    #: the config section of the options, and the one read for options it does not set
    #: (never [sandbox])
    section: ClassVar[str] = "singularity"
    fallback_section: ClassVar[str | None] = None

    @property
    def settings(self) -> SingularitySettings:
        """The options in effect (read from the config each time)."""
        return SingularitySettings.resolve(section=self.section, fallback=self.fallback_section)

    def _where(self, option: str) -> str:
        """Where ``option`` is set, for messages."""
        sections = [s for s in (self.section, self.fallback_section) if s]
        return " or ".join(f"[{s}] {option}" for s in sections)

    def python(self) -> str:
        """``[singularity] python`` (an image with law-core installed), else ``python3``
        with the host's law-core code bound."""
        return self.settings.python or "python3"

    def forwards_law_core(self) -> bool:
        return not self.settings.python

    def clean_env(self) -> bool:
        return self.settings.clean_env

    def image(self) -> str:
        """The image path (absolute), or the URI as given."""
        if "://" in self.name:
            return self.name
        path = os.path.abspath(os.path.expanduser(os.path.expandvars(self.name)))
        if not os.path.exists(path):
            raise TaskError(f"the image of the sandbox {self.key} does not exist: {path} "
                            f"(a .sif file or a sandbox directory)")
        return path

    def validate(self) -> None:
        """A local image exists (a URI is the tool's business)."""
        self.image()

    def binary(self) -> str:
        """The absolute path of the apptainer/singularity executable to run."""
        configured = self.settings.binary.strip()
        candidates = [configured] if configured else \
            [self.type, *(t for t in _TOOLS if t != self.type)]
        for candidate in candidates:
            found = shutil.which(os.path.expanduser(candidate))
            if found:
                return os.path.abspath(found)
        raise TaskError(
            f"the sandbox {self.key} needs {' or '.join(candidates)}, which is not found on "
            f"PATH ({os.environ.get('PATH', '')}): install Apptainer or SingularityCE, or "
            f"set {self._where('binary')} to its path")

    def exec_options(self) -> list[str]:
        """``[singularity] options``: more ``exec`` options, as a shell would split them."""
        return shlex.split(self.settings.options)

    # running

    def env_prefix(self, binary: str) -> str:
        """``APPTAINERENV_`` or ``SINGULARITYENV_``, after what ``singularity --version``
        says through spython (with the chosen binary first on PATH)."""
        key = (binary, os.environ.get("SPYTHON_SINGULARITY_VERSION", ""))
        if key not in self._prefixes:
            from spython.utils import get_singularity_version

            version = get_singularity_version()
            if not version:
                raise TaskError(f"the sandbox {self.key}: '{binary} --version' did not answer")
            self._prefixes[key] = "APPTAINERENV_" if "apptainer" in str(version).lower() \
                else "SINGULARITYENV_"
        return self._prefixes[key]

    def run(self, command: list[str], env: dict[str, str], mounts: list[Mount],
            cwd: str) -> int:
        from spython.main import Client

        settings = self.settings
        image = self.image()
        binary = self.binary()
        env = dict(env)
        code_mounts: list[Mount] = []
        if not settings.python:
            command, env, code_mounts = wrap_command(command, env, self.type)
        binds = parse_binds([b.strip() for b in re.split(r"[,\n]", settings.binds) if b.strip()],
                            self._where("binds"))
        all_mounts = merge_mounts(mounts, config_file_mount(env), code_mounts, binds)
        bind_specs = []
        for mount in all_mounts:
            if not os.path.exists(mount.source):
                raise TaskError(f"the sandbox {self.key} cannot bind {mount.source}: it does "
                                f"not exist")
            for path in (mount.source, mount.target):
                if ":" in path or "," in path:
                    raise TaskError(f"the sandbox {self.key} cannot bind {path}: apptainer's "
                                    f"--bind does not take paths with ':' or ','")
            bind_specs.append(f"{mount.source}:{mount.target}" +
                              (":ro" if mount.read_only else ""))
        options = (["--cleanenv"] if settings.clean_env else []) + ["--pwd", cwd] + \
            self.exec_options()

        shim = tempfile.mkdtemp(prefix="law-core-singularity-")
        children = _children()
        try:
            with interruptible() as state:
                try:
                    os.symlink(binary, os.path.join(shim, "singularity"))
                    tool_env = dict(os.environ)
                    tool_env["PATH"] = os.pathsep.join([shim, tool_env.get("PATH", "")])
                    with _environ(tool_env):
                        prefix = self.env_prefix(binary)
                    tool_env.update({prefix + name: value for name, value in env.items()})
                    with _environ(tool_env):
                        lines = Client.execute(image, command, bind=bind_specs,
                                               options=options, stream=True,
                                               stream_type="both", quiet=True)
                        try:
                            for line in lines:
                                sys.stdout.write(line)
                                sys.stdout.flush()
                        except subprocess.CalledProcessError as err:
                            return err.returncode
                    return 0
                finally:
                    state.armed = False
                    _end(_children() - children)
                    shutil.rmtree(shim, ignore_errors=True)
        except Interrupted as interrupted:
            interrupted.reraise()
            raise


class ApptainerSandbox(SingularitySandbox):
    """``apptainer::IMAGE``: the same, options in ``[apptainer]`` then ``[singularity]``,
    the ``apptainer`` executable found first."""

    type = "apptainer"
    section = "apptainer"
    fallback_section = "singularity"


@contextlib.contextmanager
def _environ(env: dict[str, str]) -> Iterator[None]:
    """This process's environment replaced by ``env`` for the block: spython starts the tool
    with the process's own environment (its streaming call takes none), and finds it on
    this ``PATH``. The run blocks this process (a luigi worker runs one task at a time)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _children() -> set[int]:
    """The pids of this process's children (from /proc)."""
    me, children = os.getpid(), set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == me:
            children.add(int(entry))
    return children


def _end(pids: set[int], grace: float = 10) -> None:
    """End the tool processes a run left behind (only after an interruption or an error:
    a finished run has none): SIGTERM, which apptainer forwards to the container's
    process, then SIGKILL after ``grace`` seconds."""
    if not pids:
        return
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while pids and time.monotonic() < deadline:
        for pid in list(pids):
            try:
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    pids.discard(pid)
            except ChildProcessError:
                pids.discard(pid)
        time.sleep(0.05)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
