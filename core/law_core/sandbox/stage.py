"""Stage-in and stage-out around a sandboxed run, for files the inside cannot reach as they
are (remote files, or any file when the sandbox does not share the file system)."""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from law_core.errors import TaskError
from law_core.sandbox.base import STAGE_ENV, Sandbox
from law_core.targets.collection import leaf_targets

if TYPE_CHECKING:
    from law_core.sandbox.task import SandboxTask


def needs_stage(target: Any, sandbox: Sandbox) -> bool:
    from law_core.targets.file import FileTarget

    return isinstance(target, FileTarget) and (
        not target.fs.is_local or not sandbox.shares_file_system)


class Stage:
    """Stage-in and stage-out around a sandboxed run, below the run's directory (removed
    with it).

    Inputs that the inside cannot reach as they are are copied there first; outputs of that
    kind are written there inside and copied to their real place (each atomically) only
    after ``run()`` succeeded. Inside, ``input()`` and ``output()`` return the staged local
    files (the mapping travels in ``LAW_CORE_SANDBOX_STAGE``).
    """

    def __init__(self, task: SandboxTask, sandbox: Sandbox, directory: Path):
        self.task = task
        self.sandbox = sandbox
        self.directory = directory
        self.mapping: dict[str, str] = {}
        self._outputs: list[tuple[Any, Path]] = []

    def stage_in(self) -> None:
        """Copy the inputs in and choose where the outputs are written inside."""
        inputs = [t for t in leaf_targets(self.task.input()) if needs_stage(t, self.sandbox)]
        outputs = [t for t in leaf_targets(self.task.output())
                   if needs_stage(t, self.sandbox)]
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
        if self.mapping:
            self.map_file.write_text(json.dumps(self.mapping))

    @property
    def map_file(self) -> Path:
        return self.directory / "stage.json"

    def stage_out(self) -> None:
        missing = [str(target.uri()) for target, local in self._outputs if not local.exists()]
        for target, local in self._outputs:
            if local.exists():
                target.copy_from(str(local))
        if missing:
            raise TaskError(f"run() of {self.task!r} in the sandbox {self.sandbox.key} did not "
                            f"write the outputs {', '.join(missing)}")


_STAGE_CACHE: dict[str, dict[str, str]] = {}
#: set while the task's own (unstaged) targets are asked for inside
_UNSTAGED: contextvars.ContextVar[bool] = contextvars.ContextVar("law_core_unstaged",
                                                                  default=False)


def stage_mapping() -> dict[str, str]:
    """Inside: the staged targets' URIs and their local copies."""
    path = os.environ.get(STAGE_ENV)
    if not path:
        return {}
    cached = _STAGE_CACHE.get(path)
    if cached is None:
        cached = _STAGE_CACHE[path] = json.loads(Path(path).read_text())
    return cached


@contextlib.contextmanager
def unstaged() -> Iterator[None]:
    """Within the block, ``input()`` and ``output()`` inside give the task's own targets,
    not their staged copies (to compare them with what the outside expects)."""
    token = _UNSTAGED.set(True)
    try:
        yield
    finally:
        _UNSTAGED.reset(token)


def staged(structure: Any) -> Any:
    """``structure`` with every staged target replaced by its local copy (inside only)."""
    mapping = stage_mapping()
    if not mapping or _UNSTAGED.get():
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
