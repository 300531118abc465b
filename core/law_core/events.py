"""Task and job events, passed to the ``law_core_task_event`` / ``law_core_job_event`` hooks.

Dashboards and notifiers implement those hooks; the core emits events and never waits on
what a hook does with them beyond the call itself.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TaskEvent:
    """Something happened to a task: ``kind`` is one of :data:`TASK_EVENT_KINDS`."""

    kind: str
    task_id: str
    task_family: str
    error: str | None = None
    time: float = field(default_factory=time.time)
    #: the task itself, for hooks that record more than ids (provenance); not compared
    #: and not shown, and None where an emitter has no task object
    task: Any = field(default=None, compare=False, repr=False)
    #: the exception of a failure, where the emitter has it (notifications show the last
    #: line of its traceback); not compared and not shown
    exception: BaseException | None = field(default=None, compare=False, repr=False)


TASK_EVENT_KINDS = ("start", "success", "failure")


@dataclass(frozen=True)
class JobEvent:
    """Something happened to a job of a remote workflow: ``kind`` is one of
    :data:`JOB_EVENT_KINDS`."""

    kind: str
    workflow_id: str
    job_manager: str
    job_num: int
    job_id: str | None = None
    status: str | None = None
    branches: tuple[int, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)


JOB_EVENT_KINDS = ("submitted", "status_changed", "finished", "failed")


def task_events_wanted() -> bool:
    """Whether any plugin listens to task events; emitters skip building events if not
    (a workflow emits two per branch)."""
    from law_core.registry import get_registry

    return bool(get_registry().hook.law_core_task_event.get_hookimpls())


def emit_task_event(event: TaskEvent) -> None:
    """Hand a task event to every plugin implementing ``law_core_task_event``, then to the
    core's notifications (``--notify``, :mod:`law_core.notify`)."""
    from law_core.notify import handle_task_event
    from law_core.registry import get_registry

    get_registry().hook.law_core_task_event(event=event)
    handle_task_event(event)


def emit_job_event(event: JobEvent) -> None:
    """Hand a job event to every plugin implementing ``law_core_job_event``."""
    from law_core.registry import get_registry

    get_registry().hook.law_core_job_event(event=event)
