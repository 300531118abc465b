"""The one place where law-core relies on luigi's task internals, and why.

luigi builds a task through its ``Register`` metaclass and ``Task.__init__``: parameter
normalization, the instance cache, the task id. That costs about 0.1 ms per task, which
is fine for a handful of tasks and far too much for a workflow's 100000 branches, whose
objects differ from the workflow only in ``branch``. :func:`copy_with_params` makes such
a task by copying an existing one and setting the attributes ``Task.__init__`` derives
from parameter values (``param_kwargs`` and the task id). Everything else
in law-core goes through luigi's public API.
"""

from __future__ import annotations

from typing import Any, TypeVar

import luigi

T = TypeVar("T", bound=luigi.Task)


def copy_with_params(task: T, drop: tuple[str, ...] = (), **values: Any) -> T:
    """A copy of ``task`` with some parameter values replaced (already normalized) and the
    instance attributes named in ``drop`` (caches) left out.

    The copy's task id is recomputed lazily (see ``law_core.task.Task.task_id``).
    """
    state = task.__dict__.copy()
    for name in drop:
        state.pop(name, None)
    state.pop("_task_id", None)
    kwargs = task.param_kwargs.copy()
    kwargs.update(values)
    state.update(values)
    state["param_kwargs"] = kwargs
    new = object.__new__(type(task))  # a shallow copy, several times faster than copy.copy
    new.__dict__ = state
    return new
