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


def copy_with_params(task: T, **values: Any) -> T:
    """A copy of ``task`` with some parameter values replaced (already normalized).

    The copy's task id is recomputed lazily (see ``law_core.task.Task.task_id``).
    """
    new = object.__new__(type(task))  # a shallow copy, faster than copy.copy
    new.__dict__.update(task.__dict__)
    kwargs = dict(task.param_kwargs)
    kwargs.update(values)
    new.param_kwargs = kwargs
    for name, value in values.items():
        setattr(new, name, value)
    new.__dict__.pop("_task_id", None)
    return new
