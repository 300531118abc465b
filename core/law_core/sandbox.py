"""Sandboxes: the software environment a task's ``run()`` executes in.

A :class:`SandboxTask` names its environment as ``sandbox = "TYPE::NAME"`` (or
``--sandbox TYPE::NAME``); the sandbox plugin is chosen by TYPE. Dependencies are resolved
outside as usual; only ``run()`` is re-executed inside, as
``python -m law_core.sandbox MODULE.CLASS PARAMS``, with ``LAW_CORE_SANDBOX`` set so that
the task knows it arrived. The core ships ``bash::SETUP_SCRIPT`` (the environment a setup
script leaves, captured once and cached) and ``venv::PATH``; Docker and Apptainer come as
plugins. A sandbox implementation's conformance suite is
:class:`law_core.testing.SandboxSuite`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import traceback
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import luigi

from law_core.errors import LawCoreError, TaskError
from law_core.task import Task

#: set inside a sandbox to the sandbox's ``TYPE::NAME``
SANDBOX_ENV = "LAW_CORE_SANDBOX"

logger = logging.getLogger("law_core.sandbox")


@dataclass(frozen=True)
class Mount:
    """A host directory the sandbox must see: at ``target`` (the same path by default)."""

    source: str
    target: str
    read_only: bool = False


def parse_mounts(entries: list[str], option: str, named_sources: bool = False) -> list[Mount]:
    """Mounts from config entries ``SOURCE[:TARGET[:ro|rw]]`` (``option`` names where they
    came from, for the error). A source is a host path (``~`` and ``$VARS`` expanded); with
    ``named_sources``, a plain name is kept as it is (a Docker volume)."""
    from law_core.errors import ConfigError

    mounts = []
    for entry in entries:
        parts = entry.split(":")
        if len(parts) > 3 or not parts[0]:
            raise ConfigError(f"{option} entry {entry!r} is not SOURCE[:TARGET[:ro|rw]]")
        source = parts[0]
        if not named_sources or "/" in source or source.startswith(("~", "$", ".")):
            source = os.path.abspath(os.path.expanduser(os.path.expandvars(source)))
        target = parts[1] if len(parts) > 1 and parts[1] else source
        mode = parts[2] if len(parts) > 2 else "rw"
        if mode not in ("ro", "rw") or not target.startswith("/"):
            raise ConfigError(f"{option} entry {entry!r}: the target must be an absolute path "
                              "and the mode ro or rw")
        mounts.append(Mount(source, target, mode == "ro"))
    return mounts


class Sandbox(ABC):
    """A software environment. Subclasses implement :meth:`run`."""

    #: the TYPE of ``TYPE::NAME``
    type: ClassVar[str] = ""
    #: whether the inside sees the host's local paths, directly or through the mounts
    #: given to :meth:`run`; when False, the core stages every file in and out
    shares_file_system: ClassVar[bool] = True

    def __init__(self, name: str, task: SandboxTask | None = None):
        self.name = name
        self.task = task

    @property
    def key(self) -> str:
        return f"{self.type}::{self.name}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.key!r})"

    def config(self, option: str, default: Any = None) -> Any:
        """An option of the sandbox type's config section (``[docker]``), else of
        ``[sandbox]``, else ``default``."""
        from law_core.config import get_config

        config = get_config()
        return config.get(self.type, option, default=config.get("sandbox", option,
                                                                 default=default))

    def python(self) -> str:
        """The Python interpreter inside the sandbox."""
        return "python3"

    def environment(self) -> dict[str, str]:
        """Variables the environment defines (the base the task's own ones go on)."""
        return {}

    @abstractmethod
    def run(self, command: list[str], env: dict[str, str], mounts: list[Mount],
            cwd: str) -> int:
        """Execute ``command`` inside, with ``env`` set and ``mounts`` visible, in
        ``cwd``; stream its output; return its exit code. Clean up whatever was started,
        also when the task fails or the process is interrupted."""


class BashSandbox(Sandbox):
    """``bash::SETUP_SCRIPT``: the environment that sourcing the script leaves.

    The environment is captured once per script version (path, size and mtime) and cached
    in this process and on disk (``[sandbox] cache_dir``, default
    ``~/.cache/law-core/sandboxes``), so a thousand branches source the script once.
    """

    type = "bash"
    _memory: ClassVar[dict[str, dict[str, str]]] = {}

    def script(self) -> Path:
        path = Path(os.path.expandvars(os.path.expanduser(self.name))).absolute()
        if not path.is_file():
            raise TaskError(f"the setup script of the sandbox {self.key} does not exist: "
                            f"{path}")
        return path

    def environment(self) -> dict[str, str]:
        script = self.script()
        stat = script.stat()
        digest = hashlib.sha1(f"{script}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()
        if digest in self._memory:
            return dict(self._memory[digest])
        cache = Path(os.path.expanduser(self.config(
            "cache_dir", "~/.cache/law-core/sandboxes"))) / f"bash_{digest}.json"
        try:
            env = json.loads(cache.read_text())
        except (OSError, ValueError):
            env = self._capture(script)
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_name(f".{cache.name}.tmp{os.getpid()}")
            tmp.write_text(json.dumps(env))
            tmp.chmod(0o600)  # an environment may hold what its owner alone should read
            os.replace(tmp, cache)
        self._memory[digest] = env
        return dict(env)

    def python(self) -> str:
        """``[bash] python`` (e.g. ``python3`` to take the one the script puts on PATH),
        else the interpreter running now: the script adds to this environment."""
        return self.config("python") or sys.executable

    def _capture(self, script: Path) -> dict[str, str]:
        result = subprocess.run(
            ["bash", "-c", 'source "$1" >&2 && env -0', "law-core-sandbox", str(script)],
            capture_output=True, cwd=script.parent, env=_base_environment())
        if result.returncode != 0:
            raise TaskError(
                f"sourcing the setup script of the sandbox {self.key} failed with exit code "
                f"{result.returncode}: {result.stderr.decode(errors='replace').strip()[-500:]}")
        env = {}
        for entry in result.stdout.split(b"\0"):
            name, sep, value = entry.decode(errors="replace").partition("=")
            if sep and name and not name.startswith("BASH_FUNC_"):
                env[name] = value
        for transient in ("SHLVL", "_", "PWD", "OLDPWD"):
            env.pop(transient, None)
        return env

    def run(self, command: list[str], env: dict[str, str], mounts: list[Mount],
            cwd: str) -> int:
        return subprocess.run(command, env=env, cwd=cwd).returncode


class VenvSandbox(Sandbox):
    """``venv::PATH``: a Python virtual environment (with law-core installed in it)."""

    type = "venv"

    def path(self) -> Path:
        path = Path(os.path.expandvars(os.path.expanduser(self.name))).absolute()
        if not (path / "bin" / "python").exists():
            raise TaskError(f"the sandbox {self.key} is not a virtual environment: "
                            f"{path / 'bin' / 'python'} does not exist")
        return path

    def python(self) -> str:
        return str(self.path() / "bin" / "python")

    def environment(self) -> dict[str, str]:
        path = self.path()
        env = _base_environment()
        env.pop("PYTHONHOME", None)
        env["VIRTUAL_ENV"] = str(path)
        env["PATH"] = f"{path / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        return env

    def run(self, command: list[str], env: dict[str, str], mounts: list[Mount],
            cwd: str) -> int:
        return subprocess.run(command, env=env, cwd=cwd).returncode


def _base_environment() -> dict[str, str]:
    """The calling environment without law-core's own sandbox marker."""
    return {k: v for k, v in os.environ.items() if k != SANDBOX_ENV}


def sandbox_of(key: str, task: SandboxTask | None = None) -> Sandbox:
    """The sandbox for ``TYPE::NAME``, its plugin chosen by TYPE."""
    from law_core.registry import get_registry

    sandbox_type, sep, name = key.partition("::")
    if not sep or not sandbox_type or not name:
        raise TaskError(f"a sandbox is given as TYPE::NAME (e.g. docker::image or "
                        f"bash::setup.sh), not {key!r}")
    return get_registry().sandbox(sandbox_type).load()(name, task)


def _wrap_run(run: Any) -> Any:
    def method(self: SandboxTask, *args: Any, **kwargs: Any) -> Any:
        if self.sandbox_key() and not self.is_sandboxed() and not _is_workflow_itself(self):
            return self.run_in_sandbox()
        return run(self, *args, **kwargs)

    method.__name__, method.__qualname__, method.__doc__ = run.__name__, run.__qualname__, \
        run.__doc__
    method._law_core_sandbox = True  # type: ignore[attr-defined]
    for attr in ("_law_core_dispatch",):
        if hasattr(run, attr):
            setattr(method, attr, getattr(run, attr))
    return method


def _is_workflow_itself(task: Any) -> bool:
    # a workflow (branch -1) hands its branches to a job manager; only branches sandbox
    return getattr(task, "branch", None) == -1 and hasattr(task, "create_branch_map")


class SandboxTask(Task):
    """A task whose ``run()`` executes in the sandbox it names."""

    sandbox = luigi.Parameter(
        default="", significant=False, description="the software environment of run(): "
        "TYPE::NAME, e.g. docker::image, venv::path, bash::setup.sh; empty: here")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        run = cls.__dict__.get("run")
        if run is not None and not getattr(run, "_law_core_sandbox", False):
            cls.run = _wrap_run(run)
        output = cls.__dict__.get("output")
        if output is not None and not getattr(output, "_law_core_staged", False):
            cls.output = _wrap_output(output)

    def sandbox_key(self) -> str:
        """``--sandbox`` (or the class's ``sandbox``), else the config's ``[sandbox] FAMILY``:
        the environment can be chosen per task class by configuration alone."""
        if self.sandbox:
            return self.sandbox
        from law_core.config import get_config

        return get_config().get("sandbox", self.get_task_family(), default="")

    def is_sandboxed(self) -> bool:
        """Whether this process runs inside the task's sandbox."""
        key = self.sandbox_key()
        return bool(key) and os.environ.get(SANDBOX_ENV) == key

    def input(self) -> Any:
        return _staged(super().input())

    def sandbox_mounts(self) -> list[Mount]:
        """Directories the sandbox must see besides the task's inputs, outputs and the
        working directory; default: ``[sandbox] mounts`` (``SOURCE[:TARGET[:ro|rw]]``
        entries)."""
        from law_core.config import get_config

        return parse_mounts(get_config().get_list("sandbox", "mounts", default=[]),
                            "[sandbox] mounts")

    def sandbox_env(self) -> dict[str, str]:
        """Variables forwarded into the sandbox: those named (or matched by a glob such as
        ``MY_*``) in ``[sandbox] forward_env``. Nothing is forwarded unless named."""
        from law_core.environment import declared_forwarding

        return declared_forwarding("sandbox")

    def sandbox_stage_directory(self) -> str:
        """Where staged inputs and outputs wait (``[sandbox] stage_dir``, else the system's
        temporary directory); it must be on a disk the sandbox can mount."""
        import tempfile

        from law_core.config import get_config

        return get_config().get("sandbox", "stage_dir", default=tempfile.gettempdir())

    def run_in_sandbox(self) -> None:
        """Run this task's ``run()`` again inside its sandbox and wait for it."""
        from law_core.arguments import task_arguments
        from law_core.config import get_config

        key = self.sandbox_key()
        sandbox = sandbox_of(key, self)
        module = type(self).__module__
        if module == "__main__":
            raise TaskError(f"{type(self).__name__} is defined in __main__, which the "
                            f"sandbox cannot import; move it into a module")
        params = task_arguments(self, keep=("branch",))
        command = [sandbox.python(), "-m", "law_core.sandbox",
                   f"{module}.{type(self).__name__}", *params]
        env = sandbox.environment()
        env.update(self.sandbox_env())
        cwd = os.getcwd()
        pythonpath = [cwd] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                              if p]
        env["PYTHONPATH"] = os.pathsep.join(
            pythonpath + [p for p in env.get("PYTHONPATH", "").split(os.pathsep)
                          if p and p not in pythonpath])
        env[SANDBOX_ENV] = key
        config = get_config().path
        if config is not None:
            env["LAW_CORE_CONFIG"] = str(Path(config).absolute())
        with Stage(self, sandbox) as stage:
            logger.info("running %r in the sandbox %s%s", self, sandbox.key,
                        f" ({len(stage.mapping)} files staged)" if stage.mapping else "")
            if stage.mapping:
                env[STAGE_ENV] = str(stage.map_file)
            mounts = self._task_mounts(cwd) + stage.mounts() + self.sandbox_mounts()
            code = sandbox.run(command, env, mounts, cwd)
            if code != 0:
                raise TaskError(f"run() of {self!r} failed in the sandbox {sandbox.key} "
                                f"(exit code {code}); its output above says why")
            stage.stage_out()

    def _task_mounts(self, cwd: str) -> list[Mount]:
        """The working directory and the directories of local inputs and outputs."""
        from law_core.targets.file import FileSystemTarget

        directories = {cwd}
        for target in _plain_targets(self.input()) + _plain_targets(self.output()):
            if isinstance(target, FileSystemTarget) and target.fs.is_local:
                directories.add(target.dirname if not target.path.endswith("/")
                                else target.path)
        for directory in directories:
            os.makedirs(directory, exist_ok=True)
        # only the outermost directories: nested mounts would shadow each other
        ordered = sorted(directories)
        outer = [d for i, d in enumerate(ordered)
                 if not any(d.startswith(o.rstrip("/") + "/") for o in ordered[:i])]
        return [Mount(d, d) for d in outer]


#: set inside a sandbox to the JSON file that maps staged targets' URIs to local paths
STAGE_ENV = "LAW_CORE_SANDBOX_STAGE"


def _needs_stage(target: Any, sandbox: Sandbox) -> bool:
    from law_core.targets.file import FileTarget

    return isinstance(target, FileTarget) and (
        not target.fs.is_local or not sandbox.shares_file_system)


def _plain_targets(structure: Any) -> list[Any]:
    """The leaf targets of an input or output structure, collections opened up."""
    from law_core.targets.collection import TargetCollection

    leaves = []
    for item in luigi.task.flatten(structure):
        if isinstance(item, TargetCollection):
            leaves += [t for v in item.targets.values() for t in luigi.task.flatten(v)]
        else:
            leaves.append(item)
    return leaves


class Stage:
    """Stage-in and stage-out around a sandboxed run.

    Inputs that the inside cannot reach as they are (remote files, or any file when the
    sandbox does not share the file system) are copied into a local stage directory first;
    outputs of that kind are written there inside and copied to their real place (each
    atomically) only after ``run()`` succeeded. Inside, ``input()`` and ``output()`` return
    the staged local files (the mapping travels in ``LAW_CORE_SANDBOX_STAGE``).
    """

    def __init__(self, task: SandboxTask, sandbox: Sandbox):
        self.task = task
        self.sandbox = sandbox
        self.mapping: dict[str, str] = {}
        self._outputs: list[Any] = []
        self.directory: Path | None = None

    def __enter__(self) -> Stage:
        import tempfile

        inputs = [t for t in _plain_targets(self.task.input()) if _needs_stage(t, self.sandbox)]
        outputs = [t for t in _plain_targets(self.task.output())
                   if _needs_stage(t, self.sandbox)]
        if not inputs and not outputs:
            return self
        root = self.task.sandbox_stage_directory()
        os.makedirs(root, exist_ok=True)
        self.directory = Path(tempfile.mkdtemp(prefix="law-core-stage-", dir=root))
        for i, target in enumerate(inputs):
            local = self.directory / "inputs" / str(i) / target.basename
            local.parent.mkdir(parents=True)
            target.copy_to(str(local))
            self.mapping[target.uri()] = str(local)
        for i, target in enumerate(outputs):
            local = self.directory / "outputs" / str(i) / target.basename
            local.parent.mkdir(parents=True)
            self.mapping[target.uri()] = str(local)
            self._outputs.append((target, local))
        (self.directory / "stage.json").write_text(json.dumps(self.mapping))
        return self

    @property
    def map_file(self) -> Path:
        assert self.directory is not None
        return self.directory / "stage.json"

    def mounts(self) -> list[Mount]:
        return [Mount(str(self.directory), str(self.directory))] if self.directory else []

    def stage_out(self) -> None:
        missing = [str(target.uri()) for target, local in self._outputs if not local.exists()]
        for target, local in self._outputs:
            if local.exists():
                target.copy_from(str(local))
        if missing:
            raise TaskError(f"run() of {self.task!r} in the sandbox {self.sandbox.key} did not "
                            f"write the outputs {', '.join(missing)}")

    def __exit__(self, *exc: Any) -> None:
        if self.directory is not None:
            import shutil

            shutil.rmtree(self.directory, ignore_errors=True)


def _stage_mapping() -> dict[str, str]:
    path = os.environ.get(STAGE_ENV)
    if not path:
        return {}
    cached = _STAGE_CACHE.get(path)
    if cached is None:
        cached = _STAGE_CACHE[path] = json.loads(Path(path).read_text())
    return cached


_STAGE_CACHE: dict[str, dict[str, str]] = {}


def _staged(structure: Any) -> Any:
    """``structure`` with every staged target replaced by its local copy (inside only)."""
    mapping = _stage_mapping()
    if not mapping:
        return structure
    from law_core.targets.file import FileTarget
    from law_core.targets.local import LocalFileTarget

    def replace(item: Any) -> Any:
        if isinstance(item, FileTarget) and item.uri() in mapping:
            return LocalFileTarget(mapping[item.uri()])
        if isinstance(item, dict):
            return {k: replace(v) for k, v in item.items()}
        if isinstance(item, (list, tuple)):
            return type(item)(replace(v) for v in item)
        return item

    return replace(structure)


def _wrap_output(output: Any) -> Any:
    def method(self: SandboxTask, *args: Any, **kwargs: Any) -> Any:
        result = output(self, *args, **kwargs)
        return _staged(result) if self.is_sandboxed() else result

    method.__name__, method.__qualname__, method.__doc__ = output.__name__, \
        output.__qualname__, output.__doc__
    method._law_core_staged = True  # type: ignore[attr-defined]
    for attr in ("_law_core_dispatch",):
        if hasattr(output, attr):
            setattr(method, attr, getattr(output, attr))
    return method


def main(argv: list[str]) -> int:
    """Inside the sandbox: build the task and call its ``run()`` (dependencies were
    resolved outside)."""
    from law_core.arguments import build_task
    from law_core.index import find_task_class

    if not argv:
        print("usage: python -m law_core.sandbox MODULE.CLASS [PARAMS]", file=sys.stderr)
        return 2
    try:
        task = build_task(find_task_class(argv[0]), argv[1:])
        task.run()
    except LawCoreError as err:
        print(f"law-core: error: {err}", file=sys.stderr)
        return 1
    except Exception:
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
