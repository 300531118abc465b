"""The one place where law-core relies on luigi's task internals, and why.

luigi builds a task through its ``Register`` metaclass and ``Task.__init__``: parameter
normalization, the instance cache, the task id. That costs about 0.1 ms per task, which
is fine for a handful of tasks and far too much for a workflow's 100000 branches, whose
objects differ from the workflow only in ``branch``. :func:`copy_with_params` makes such
a task by copying an existing one and setting the attributes ``Task.__init__`` derives
from parameter values (``param_kwargs`` and the task id).

luigi's scheduler sorts and filters every task it knows for each task it hands out, which
makes a run quadratic in the number of luigi tasks. :class:`LocalScheduler` keeps luigi's
decisions but indexes its task state (:class:`_IndexedTaskState`), so that a request for
work costs what changed since the last one. Both follow luigi 3's ``scheduler.py``
(``SimpleTaskState``, ``Scheduler.get_work``/``add_task``); tests/test_luigi_internals.py
compares their choices with luigi's own scheduler.

:func:`task_id_str` makes luigi's task id at a third of the cost of luigi's function (a
workflow computes the id of every branch it runs when plugins listen to task events), and
:func:`run_summary` reads luigi's execution summary of a run, which luigi offers only
through private functions (its own ``retcodes`` module reads them too). Everything else in
law-core goes through luigi's public API.
"""

from __future__ import annotations

import collections
import hashlib
import heapq
import itertools
import json
import time
from typing import Any, TypeVar

import luigi
import luigi.interface
import luigi.scheduler
from luigi.task import (
    TASK_ID_INCLUDE_PARAMS,
    TASK_ID_INVALID_CHAR_REGEX,
    TASK_ID_TRUNCATE_HASH,
    TASK_ID_TRUNCATE_PARAMS,
)
from luigi.task_status import DISABLED, DONE, FAILED, PENDING, RUNNING

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


#: luigi's encoding of the parameters in a task id, made once (``json.dumps`` with these
#: options builds an encoder for every call)
_encode_task_params = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode


def task_id_str(family: str, params: dict[str, str]) -> str:
    """luigi's ``luigi.task.task_id_str``, the same text (tests/test_luigi_internals.py
    compares them): the family, the start of the first parameter values and a digest of
    all of them."""
    digest = hashlib.md5(_encode_task_params(params).encode("utf-8"),
                         usedforsecurity=False).hexdigest()
    names = sorted(params)[:TASK_ID_INCLUDE_PARAMS]
    summary = "_".join(params[name][:TASK_ID_TRUNCATE_PARAMS] for name in names)
    summary = TASK_ID_INVALID_CHAR_REGEX.sub("_", summary)
    return f"{family}_{summary}_{digest[:TASK_ID_TRUNCATE_HASH]}"


def run_summary(worker: Any) -> tuple[frozenset[str], bool]:
    """What luigi's execution summary says of the run of ``worker``: the names of its
    categories that hold tasks (``completed``, ``failed``, ``still_pending_ext``,
    ``run_by_other_worker``, ``not_run``, ...) and whether the run's first task ran or was
    complete."""
    from luigi import execution_summary

    sets = execution_summary._summary_dict(worker)
    root = execution_summary._root_task(worker)
    return (frozenset(name for name, tasks in sets.items() if tasks),
            root in sets["completed"] or root in sets["already_done"])


class _IndexedTaskState(luigi.scheduler.SimpleTaskState):
    """luigi's task state, plus an index kept up to date as tasks change: which tasks are
    *ready* (PENDING, every dependency DONE, some worker may run them) in luigi's order of
    rank (higher priority first, then earlier ``time``), and which pending tasks need
    resources or have a worker. :meth:`LocalScheduler.get_work` reads the index instead of
    sorting and filtering every task it knows.

    The index follows every change luigi makes through ``get_task`` (a new task),
    ``set_status``, ``inactivate_tasks`` and :meth:`LocalScheduler.add_task` /
    ``_update_priority`` (dependencies, workers, resources, priority); a dependency's
    change of status reaches its dependents through a reverse index and a per-task count
    of dependencies that are not DONE. What it cannot follow cheaply (workers removed
    from tasks, a state loaded from disk) makes it *stale*: it is rebuilt from all tasks
    once, at the next request.
    """

    def __init__(self, state_path: str) -> None:
        super().__init__(state_path)
        self._dependents: dict[str, set[str]] = collections.defaultdict(set)
        self._blocking: dict[str, int] = {}  # task id -> number of its deps not DONE
        self._ready: dict[str, tuple] = {}  # task id -> its live heap entry
        self._heap: list[tuple] = []  # (-priority, time, order, task id), lazily deleted
        # luigi's sort is stable: of two tasks of equal rank, the one that became PENDING
        # first comes first; the index keeps that order for each task
        self._order = itertools.count()
        self._pending_order: dict[str, int] = {}
        self.pending_with_resources: set[str] = set()  # PENDING, has workers, needs resources
        self.pending_runnable: set[str] = set()  # PENDING or FAILED, has workers
        self._stale = False

    # -- the hooks on luigi's state -------------------------------------------------------

    def get_task(self, task_id: str, default: Any = None, setdefault: Any = None) -> Any:
        if setdefault is None or task_id in self._tasks:
            return super().get_task(task_id, default, setdefault)
        task = super().get_task(task_id, default, setdefault)
        if task.status == PENDING:
            self._pending_order[task_id] = next(self._order)
        self._link(task, set(task.deps))
        if task.status == DONE:
            self._dependents_change(task.id, -1)
        self.refresh(task)
        return task

    def set_status(self, task: Any, new_status: str, config: Any = None) -> None:
        old = task.status
        super().set_status(task, new_status, config)
        if task.status != old and task.id in self._tasks:
            if task.status == PENDING:
                self._pending_order[task.id] = next(self._order)
            if (old == DONE) != (task.status == DONE):
                self._dependents_change(task.id, -1 if task.status == DONE else 1)
            self.refresh(task)

    def inactivate_tasks(self, delete_tasks: Any) -> None:
        removed = [self._tasks[task_id] for task_id in delete_tasks]
        super().inactivate_tasks(delete_tasks)
        for task in removed:
            for dep in task.deps:
                self._dependents[dep].discard(task.id)
            self._blocking.pop(task.id, None)
            self._pending_order.pop(task.id, None)
            self._forget(task.id)
            if task.status == DONE:  # a missing dependency counts as not DONE
                self._dependents_change(task.id, 1)

    def _remove_workers_from_tasks(self, workers: Any, remove_stakeholders: bool = True) -> None:
        super()._remove_workers_from_tasks(workers, remove_stakeholders)
        if workers:
            self._stale = True

    def set_state(self, state: Any) -> None:
        super().set_state(state)
        self._stale = True

    # -- the index ------------------------------------------------------------------------

    def deps_changed(self, task: Any, old_deps: set[str]) -> None:
        """Follow a change of ``task.deps`` (from ``old_deps``)."""
        new_deps = task.deps
        if new_deps == old_deps:
            return
        for dep in old_deps - new_deps:
            self._dependents[dep].discard(task.id)
            if not self._is_done(dep):
                self._blocking[task.id] -= 1
        self._link(task, new_deps - old_deps)

    def refresh(self, task: Any) -> None:
        """Put ``task`` where it belongs in the index, after any change to it."""
        task_id = task.id
        has_workers = bool(task.workers)
        if task.status == PENDING and has_workers and not self._blocking.get(task_id, 0):
            key = (-task.priority, task.time, self._pending_order.get(task_id, 0))
            entry = self._ready.get(task_id)
            if entry is None or entry[:3] != key:
                entry = (*key, task_id)
                self._ready[task_id] = entry
                heapq.heappush(self._heap, entry)
        elif task_id in self._ready:
            del self._ready[task_id]
        if task.status == PENDING and has_workers and task.resources:
            self.pending_with_resources.add(task_id)
        else:
            self.pending_with_resources.discard(task_id)
        if task.status in (PENDING, FAILED) and has_workers:
            self.pending_runnable.add(task_id)
        else:
            self.pending_runnable.discard(task_id)

    def ensure_fresh(self) -> None:
        """Rebuild the index from all tasks if it is stale (see the class docstring)."""
        if not self._stale:
            return
        self._stale = False
        self._dependents.clear()
        self._blocking.clear()
        self._pending_order = {task_id: next(self._order)
                               for task_id in self._status_tasks[PENDING]}
        self._ready.clear()
        self._heap.clear()
        self.pending_with_resources.clear()
        self.pending_runnable.clear()
        for task in self._tasks.values():
            self._link(task, set(task.deps))
        for task in self._tasks.values():
            self.refresh(task)

    def pop_ready(self) -> Any:
        """The ready task of highest rank, taken off the heap (give it back with
        :meth:`push_back`), or None."""
        heap, ready = self._heap, self._ready
        while heap:
            entry = heapq.heappop(heap)
            if ready.get(entry[3]) is entry:
                return entry
        return None

    def push_back(self, entries: list[tuple]) -> None:
        for entry in entries:
            heapq.heappush(self._heap, entry)
        if len(self._heap) > 2 * len(self._ready) + 1024:  # drop entries of changed tasks
            self._heap = list(self._ready.values())
            heapq.heapify(self._heap)

    def ready_ids(self) -> set[str]:
        return set(self._ready)

    def _is_done(self, task_id: str) -> bool:
        task = self._tasks.get(task_id)
        return task is not None and task.status == DONE

    def _link(self, task: Any, deps: set[str]) -> None:
        blocking = self._blocking.get(task.id, 0)
        for dep in deps:
            self._dependents[dep].add(task.id)
            if not self._is_done(dep):
                blocking += 1
        self._blocking[task.id] = blocking

    def _dependents_change(self, task_id: str, delta: int) -> None:
        tasks, blocking = self._tasks, self._blocking
        for dependent_id in self._dependents.get(task_id, ()):
            dependent = tasks.get(dependent_id)
            if dependent is not None:
                blocking[dependent_id] += delta
                self.refresh(dependent)

    def _forget(self, task_id: str) -> None:
        self._ready.pop(task_id, None)
        self.pending_with_resources.discard(task_id)
        self.pending_runnable.discard(task_id)


class LocalScheduler(luigi.scheduler.Scheduler):
    """luigi's scheduler, made for one process's run.

    - A request for work costs about the number of tasks that changed since the last one,
      not the number of tasks known: :class:`_IndexedTaskState` keeps the ready tasks in
      luigi's order, so :meth:`get_work` looks only at the running tasks and at ready
      tasks from the top until one can be handed out. It decides as luigi's ``get_work``
      does (priority, then time; a task only when all its deps are DONE; the ``[resources]``
      limits and luigi's reservation of resources for higher-ranked tasks that wait for
      them; a running task that the worker lost handed out again) for the one worker of a
      ``law-core run`` with any number of processes (``--workers N``). It falls back to
      luigi's own ``get_work`` (correct, but it walks every task) when another feature is
      in use: more than one worker known to the scheduler, an assistant, batched tasks (a
      batcher registered by the worker), a paused scheduler or a disabled worker.
    - It prunes its task graph at most every :attr:`prune_interval` seconds instead of at
      every request (pruning drops long finished tasks, fails those of vanished workers
      and re-enables disabled ones: nothing a run needs more often).
    - It counts pending tasks from the index when the run has one worker and no task is
      disabled (with a disabled one it uses luigi's count, which walks requirements to
      leave out the tasks a disabled one blocks).
    """

    prune_interval = 5.0

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("record_task_history", False)
        super().__init__(prune_on_get_work=False, **kwargs)
        state = _IndexedTaskState(self._config.state_path)
        state._metrics_collector = self._state._metrics_collector
        self._state = state
        self._last_prune = time.monotonic()

    def add_task(self, task_id: Any = None, **kwargs: Any) -> Any:
        state = self._state
        task = state._tasks.get(task_id)
        # a new task is made with the deps given (and linked in the index then)
        old_deps = set(task.deps) if task is not None else set(kwargs.get("deps") or ())
        result = super().add_task(task_id=task_id, **kwargs)
        task = state._tasks.get(task_id)
        if task is not None:
            state.deps_changed(task, old_deps)
            state.refresh(task)  # workers, resources, status
        return result

    def _update_priority(self, task: Any, prio: Any, worker: Any) -> None:
        old = task.priority
        super()._update_priority(task, prio, worker)
        if task.priority != old and task.id in self._state._tasks:
            self._state.refresh(task)

    def get_work(self, host: Any = None, assistant: bool = False, current_tasks: Any = None,
                 worker: Any = None, **kwargs: Any) -> Any:
        now = time.monotonic()
        if now - self._last_prune >= self.prune_interval:
            self._last_prune = now
            self.prune()
        state = self._state
        record = state._active_workers.get(worker)
        if (assistant or self._paused or record is None or not record.enabled
                or record.assistant or len(state._active_workers) != 1
                or state._task_batchers.get(worker)):
            return super().get_work(host=host, assistant=assistant,
                                    current_tasks=current_tasks, worker=worker, **kwargs)
        worker_id = worker
        self._update_worker(worker_id, worker_reference={"host": host}, get_work=True)
        best = None
        if current_tasks is not None:
            # a task this worker runs but does not know about (a lost reply): again
            claimed = set(current_tasks)
            for task in sorted(state.get_active_tasks_by_status(RUNNING), key=self._rank):
                if task.worker_running == worker_id and task.id not in claimed:
                    best = task
            self._reset_orphaned_batch_running_tasks(worker_id)
        if best is None:
            best = self._next_ready(worker_id)
        reply = self.count_pending(worker_id)
        if best is None:
            reply["task_id"] = None
            return reply
        self.update_metrics_task_started(best)
        state.set_status(best, RUNNING, self._config)
        best.worker_running = worker_id
        best.resources_running = best.resources.copy()
        best.time_running = time.time()
        self._update_task_history(best, RUNNING, host=host)
        reply["task_id"] = best.id
        reply["task_family"] = best.family
        reply["task_module"] = getattr(best, "module", None)
        reply["task_params"] = best.params
        return reply

    def _next_ready(self, worker_id: str) -> Any:
        """The task luigi's ``get_work`` would hand to ``worker_id``, the only worker, or
        None: the same walk in rank order, over the running and the ready tasks only (a
        pending task that is not ready has no effect on luigi's walk)."""
        state = self._state
        state.ensure_fresh()
        tasks = state._tasks
        taken: list[tuple] = []  # every entry taken off the heap, given back at the end

        def pop() -> Any:
            entry = state.pop_ready()
            if entry is not None:
                taken.append(entry)
            return entry

        try:
            if not state.pending_with_resources:  # luigi's "trivial worker"
                while (entry := pop()) is not None:
                    task = tasks[entry[3]]
                    if worker_id in task.workers:
                        return task
                return None
            used = self._used_resources()
            limit = time.time() - self._config.worker_disconnect_delay
            greedy_workers = {w.id: w.info.get("workers", 1)
                              for w in state.get_active_workers(last_get_work_gt=limit)}
            greedy_resources: dict[str, int] = collections.defaultdict(int)
            running = sorted(state.get_active_tasks_by_status(RUNNING), key=self._rank)
            entry = pop()
            while entry is not None or running:
                # luigi's stable sort puts a pending task before a running one of equal rank
                if running and (entry is None
                                or (-running[-1].priority, running[-1].time) < entry[:2]):
                    task = running.pop()
                    if task.worker_running in greedy_workers:
                        greedy_workers[task.worker_running] -= 1
                        resources = getattr(task, "resources_running", task.resources) or {}
                        for name, amount in resources.items():
                            greedy_resources[name] += amount
                    continue
                task = tasks[entry[3]]
                entry = pop()
                if not self._has_resources(task.resources, greedy_resources):
                    continue
                if worker_id in task.workers and self._has_resources(task.resources, used):
                    return task
                for task_worker in task.workers:  # reserve the resources (luigi's greedy walk)
                    if greedy_workers.get(task_worker, 0) > 0:
                        greedy_workers[task_worker] -= 1
                        for name, amount in (task.resources or {}).items():
                            greedy_resources[name] += amount
                        break
            return None
        finally:
            state.push_back(taken)

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
            # the run's only worker: every pending task that has a worker is its own
            # (luigi's count would look at each)
            state.ensure_fresh()
            pending = len(state.pending_runnable)
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

