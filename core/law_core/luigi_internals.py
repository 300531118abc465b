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

import time
from typing import Any, TypeVar

import luigi
import luigi.interface
import luigi.scheduler
from luigi.task_status import DISABLED, FAILED, PENDING, RUNNING

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


class LocalScheduler(luigi.scheduler.Scheduler):
    """luigi's scheduler, made for one process's run: it prunes its task graph at most
    every :attr:`prune_interval` seconds instead of at every request for work (pruning
    drops long finished tasks, fails those of vanished workers and re-enables disabled
    ones: nothing a run needs more often), and counts pending tasks without walking their
    requirements when no task is disabled (the walk only looks for a disabled one), and
    without looking at each when the run has one worker."""

    prune_interval = 5.0

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("record_task_history", False)
        super().__init__(prune_on_get_work=False, **kwargs)
        self._last_prune = time.monotonic()

    def get_work(self, *args: Any, **kwargs: Any) -> Any:
        now = time.monotonic()
        if now - self._last_prune >= self.prune_interval:
            self._last_prune = now
            self.prune()
        return super().get_work(*args, **kwargs)

    def count_pending(self, worker: str) -> dict[str, Any]:
        state = self._state
        if next(iter(state.get_active_tasks_by_status(DISABLED)), None) is not None:
            return super().count_pending(worker)
        worker_id, record = worker, state.get_worker(worker)
        running_tasks = []
        for task in record.get_tasks(state, RUNNING):
            other = state.get_worker(task.worker_running)
            if other is not None:
                running_tasks.append({"task_id": task.id, "worker": str(other), **other.info})
        if [w.id for w in state.get_active_workers()] == [worker_id]:
            # the run's only worker: every pending task is its own (luigi's count would
            # look at each)
            pending = sum(state.get_active_task_count_for_status(s) for s in (PENDING, FAILED))
            return {"n_pending_tasks": pending, "n_unique_pending": pending,
                    "n_pending_last_scheduled": pending, "worker_state": record.state,
                    "running_tasks": running_tasks}
        pending = unique = last_scheduled = 0
        for task in record.get_tasks(state, PENDING, FAILED):
            pending += 1
            unique += int(len(task.workers) == 1)
            last_scheduled += int(task.workers.peek(last=True) == worker_id)
        return {"n_pending_tasks": pending, "n_unique_pending": unique,
                "n_pending_last_scheduled": last_scheduled, "worker_state": record.state,
                "running_tasks": running_tasks}


class SchedulerFactory(luigi.interface._WorkerSchedulerFactory):
    """luigi's factory of schedulers and workers, with :class:`LocalScheduler` as the
    local scheduler."""

    def create_local_scheduler(self) -> LocalScheduler:
        return LocalScheduler()

