"""The task side: a :class:`SandboxTask` runs its ``run()`` again inside its sandbox."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

import luigi

from law_core.errors import TaskError
from law_core.sandbox.base import (
    RUN_ENV,
    SANDBOX_ENV,
    STAGE_ENV,
    Mount,
    Sandbox,
    parse_mounts,
    sandbox_of,
)
from law_core.sandbox.exchange import RelayFollower, RunDirectory
from law_core.sandbox.stage import Stage, staged
from law_core.targets.collection import leaf_targets, target_uris
from law_core.task import Task
from law_core.wrapping import wrap_defined

logger = logging.getLogger("law_core.sandbox")


def _sandboxing(run: Callable[..., Any]) -> Callable[..., Any]:
    """``run()`` outside the sandbox runs the task inside instead."""
    def method(self: SandboxTask, *args: Any, **kwargs: Any) -> Any:
        if self.sandbox_key() and not self.is_sandboxed() and not _is_workflow_itself(self):
            return self.run_in_sandbox()
        return run(self, *args, **kwargs)

    return method


def _staging(output: Callable[..., Any]) -> Callable[..., Any]:
    """``output()`` inside the sandbox gives the staged copies of staged targets."""
    def method(self: SandboxTask, *args: Any, **kwargs: Any) -> Any:
        result = output(self, *args, **kwargs)
        return staged(result) if self.is_sandboxed() else result

    return method


def _is_workflow_itself(task: Any) -> bool:
    # a workflow (branch -1) hands its branches to a job manager; only branches sandbox
    return getattr(task, "branch", None) == -1 and hasattr(task, "create_branch_map")


def enter_sandbox(task: Any, key: str) -> None:
    """Inside the sandbox runner: ``task`` is in the sandbox ``key`` the submitting side
    chose, whatever its class computes here (``sandbox = os.environ.get(...)`` reads an
    environment the sandbox need not have), as in law."""
    if isinstance(task, SandboxTask) and key:
        task.__dict__["_entered_sandbox"] = key


class SandboxTask(Task):
    """A task whose ``run()`` executes in the sandbox it names."""

    sandbox = luigi.Parameter(
        default="", significant=False, description="the software environment of run(): "
        "TYPE::NAME, e.g. docker::image, venv::path, bash::setup.sh; empty: here")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        wrap_defined(cls, "run", _sandboxing, "sandbox-run")
        wrap_defined(cls, "output", _staging, "sandbox-output")

    def sandbox_key(self) -> str:
        """``--sandbox`` (or the class's ``sandbox``), else the config's ``[sandbox] FAMILY``:
        the environment can be chosen per task class by configuration alone. Inside, the
        sandbox the submitting side chose (:func:`enter_sandbox`)."""
        entered = self.__dict__.get("_entered_sandbox")
        if entered:
            return entered
        if self.sandbox:
            return self.sandbox
        from law_core.config import get_config

        return get_config().get("sandbox", self.get_task_family(), default="")

    def is_sandboxed(self) -> bool:
        """Whether this process runs inside the task's sandbox."""
        key = self.sandbox_key()
        return bool(key) and os.environ.get(SANDBOX_ENV) == key

    def input(self) -> Any:
        return staged(super().input())

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
        """Where the run's directory (staged files, what the two sides exchange) is made
        (``[sandbox] stage_dir``, else the system's temporary directory); it must be on a
        disk the sandbox can mount."""
        import tempfile

        from law_core.config import get_config

        return get_config().get("sandbox", "stage_dir", default=tempfile.gettempdir())

    def run_in_sandbox(self) -> None:
        """Run this task's ``run()`` again inside its sandbox and wait for it; fail unless
        every output exists afterwards."""
        from law_core.arguments import task_arguments

        key = self.sandbox_key()
        sandbox = sandbox_of(key, self)
        sandbox.validate()
        module = type(self).__module__
        if module == "__main__":
            raise TaskError(f"{type(self).__name__} is defined in __main__, which the "
                            f"sandbox cannot import; move it into a module")
        command = [sandbox.python(), "-m", "law_core.sandbox",
                   f"{module}.{type(self).__name__}", *task_arguments(self, keep=("branch",))]
        cwd = os.getcwd()
        run_dir = RunDirectory(self.sandbox_stage_directory())
        try:
            run_dir.write_expected_outputs(target_uris(self.output()))
            stage = Stage(self, sandbox, run_dir.path)
            stage.stage_in()
            env = self._sandbox_environment(sandbox, cwd, run_dir, stage)
            mounts = self._task_mounts(cwd) + [Mount(str(run_dir.path), str(run_dir.path))] \
                + self.sandbox_mounts()
            logger.info("running %r in the sandbox %s%s", self, sandbox.key,
                        f" ({len(stage.mapping)} files staged)" if stage.mapping else "")
            with RelayFollower(run_dir.relay_file, self, sandbox.key) as relay:
                code = sandbox.run(command, env, mounts, cwd)
            if code != 0:
                reason = f": {relay.error}" if relay.error else \
                    f" (exit code {code}); its output above says why"
                raise TaskError(f"run() of {self!r} failed in the sandbox {sandbox.key}{reason}")
            stage.stage_out()
            self._check_outputs_exist(sandbox.key, set(stage.mapping))
        finally:
            run_dir.remove()

    def _sandbox_environment(self, sandbox: Sandbox, cwd: str, run_dir: RunDirectory,
                             stage: Stage) -> dict[str, str]:
        """The sandbox's own environment, the declared variables and law-core's: nothing
        else of this process's environment reaches a container."""
        from law_core.config import CONFIG_ENV, RESOLVED_ENV, get_config

        env = sandbox.environment()
        env.update(self.sandbox_env())
        pythonpath = [cwd] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                              if p]
        env["PYTHONPATH"] = os.pathsep.join(
            pythonpath + [p for p in env.get("PYTHONPATH", "").split(os.pathsep)
                          if p and p not in pythonpath])
        env[SANDBOX_ENV] = sandbox.key
        env[RUN_ENV] = str(run_dir.path)
        # the config file itself (credentials), and the values as resolved here on top
        config = get_config().path
        if config is not None:
            env[CONFIG_ENV] = str(config.absolute())
        env[RESOLVED_ENV] = str(run_dir.write_config())
        if stage.mapping:
            env[STAGE_ENV] = str(stage.map_file)
        return env

    def _check_outputs_exist(self, key: str, staged_uris: set[str]) -> None:
        """After the run: an output that does not exist means the task is not done (the
        staged ones were checked when they were staged out)."""
        from law_core.targets.collection import TargetCollection

        missing: list[str] = []
        for target in luigi.task.flatten(self.output()):
            names = target_uris(target)
            if names and set(names) <= staged_uris or target.exists():
                continue
            if isinstance(target, TargetCollection):
                existing = target.existing_keys()
                names = [n for k in target.targets if k not in existing
                         for n in target_uris(target.targets[k])]
            missing += names
        if missing:
            shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more"
                                              if len(missing) > 5 else "")
            raise TaskError(
                f"run() of {self!r} in the sandbox {key} ended without error, but its outputs "
                f"do not exist: {shown}; run() did not write them, or wrote them where the "
                "sandbox's mounts do not reach (write them through self.output())")

    def _task_mounts(self, cwd: str) -> list[Mount]:
        """The working directory and the directories of local inputs and outputs."""
        from law_core.targets.file import FileSystemTarget

        directories = {cwd}
        for target in leaf_targets(self.input()) + leaf_targets(self.output()):
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
