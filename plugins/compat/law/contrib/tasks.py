"""``law.tasks`` after ``law.contrib.load("tasks")``: law's general-purpose task classes.

Provided: :class:`RunOnceTask`, a task without outputs that is complete once it ran in
this process. law's other classes here (TransferLocalFile, ForestMerge, CascadeMerge) are
not provided yet; using one is a clear error.
"""

from __future__ import annotations

from typing import Any

from law.task import Task

__all__ = ["RunOnceTask"]

_NOT_YET = ("TransferLocalFile", "ForestMerge", "CascadeMerge")


class RunOnceTask(Task):
    """Complete as soon as :meth:`mark_complete` was called, which ``run()`` does at its
    end (or :meth:`complete_on_success` around it): for tasks with nothing to store, such
    as printing a summary."""

    exclude_index = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._has_run = False

    @staticmethod
    def complete_on_success(fn: Any) -> Any:
        """Decorate ``run`` to mark the task complete when it returns without error."""
        import functools

        @functools.wraps(fn)
        def run(task: RunOnceTask, *args: Any, **kwargs: Any) -> Any:
            result = fn(task, *args, **kwargs)
            task.mark_complete()
            return result

        return run

    @property
    def has_run(self) -> bool:
        return self._has_run

    def mark_complete(self) -> None:
        self._has_run = True

    def complete(self) -> bool:
        return self._has_run


def __getattr__(name: str) -> Any:
    if name in _NOT_YET:
        raise AttributeError(f"law.tasks.{name} is not yet supported by law-core-compat")
    raise AttributeError(f"module 'law.tasks' has no attribute {name!r}")
