"""The ``local`` job manager: branches run on this machine, in this process or in a pool.

Branches run directly, not as luigi tasks: scheduling 100000 luigi tasks costs more than
running trivial branches. ``[local_workflow] workers`` (``law-core run --workers N``)
sets the number of processes; 1 runs in this process, more run in forks of it when no
native library (a storage client) runs threads in it, else in processes of a fork
server, each rebuilding the workflow from its parameters. Under luigi's ``--workers N`` the
pool only adds the processes idle beside luigi's other tasks (``process_budget``). A
failing branch is reported with its traceback and the others go on, so one run shows
every failure; the workflow then fails if more branches failed than ``--tolerance`` allows.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
import os
import threading
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

from law_core.errors import WorkflowError
from law_core.events import TaskEvent, emit_task_event, task_events_wanted
from law_core.process_budget import current_budget
from law_core.progress import Progress
from law_core.task import remove_stale_temporaries
from law_core.workflow.job_manager import JobManager

logger = logging.getLogger("law_core.workflow.local")

# the workflow whose branches a pool process runs (inherited by a fork, rebuilt by
# _start_pool_worker in a fork server's process)
_POOL_WORKFLOW: Any = None

#: when set, a JSON file where the local manager records, per workflow family, which
#: branches it ran and which of them raised: a remote job's worker tells "raised" (worth
#: another attempt) from "returned without its outputs" (not) by it
BRANCH_REPORT_ENV = "LAW_CORE_BRANCH_REPORT"


#: luigi's task callbacks, which luigi gives only the tasks it runs itself (None else)
CALLBACKS = ("set_status_message", "set_progress_percentage", "set_tracking_url")


def run_branch(task: Any, workflow: Any = None, events: bool | None = None) -> str | None:
    """Run one branch task in this process; return None, or the traceback of its failure.
    The branch can call luigi's task callbacks: they reach ``workflow``'s (given by luigi
    while it runs the workflow), else the log. ``events``: whether plugins listen to task
    events (asked here when None; a caller running many branches asks once)."""
    if events is None:
        events = task_events_wanted()
    if events:
        emit_task_event(TaskEvent("start", task.task_id, task.get_task_family(), task=task))
    for name in CALLBACKS:
        if getattr(task, name, None) is None:
            task.__dict__[name] = _callback(task, name, getattr(workflow, name, None))
    memoized = _memoize_output(task)
    try:
        remove_stale_temporaries(task)
        try:
            result = task.run()
            if result is not None and hasattr(result, "__next__"):
                raise WorkflowError(
                    f"run() of {task!r} yields dynamic dependencies, which the local "
                    "workflow does not resolve; declare them in requires() or run the "
                    "branch alone with --branch")
        except Exception as err:
            text = traceback.format_exc()
            if events:
                emit_task_event(TaskEvent("failure", task.task_id, task.get_task_family(),
                                          str(err), task=task))
            return text
        if events:
            emit_task_event(TaskEvent("success", task.task_id, task.get_task_family(),
                                      task=task))
        return None
    finally:
        if memoized:
            del task.__dict__["output"]


def _memoize_output(task: Any) -> bool:
    """While a branch runs, its ``output()`` is built once: the clean-up before, its own
    ``run()`` and the plugins' success handlers (provenance) each ask for it. False when
    it raises (then ``run()`` meets the error itself)."""
    try:
        outputs = task.output()
    except Exception:  # noqa: BLE001 - reported where run() calls it
        return False
    task.__dict__["output"] = lambda: outputs
    return True


#: per callback: what it sets, in words, and the level it is logged at (status messages
#: are worth a line; progress of many branches would flood the log)
_CALLBACK_LOGGING = {name: (name[len("set_"):].replace("_", " "),
                            logging.INFO if name == "set_status_message" else logging.DEBUG)
                     for name in CALLBACKS}


def _callback(task: Any, name: str, forward: Any) -> Any:
    """The callback ``name`` of a branch task (one partial: made for every branch run)."""
    return functools.partial(_call_back, task, name, forward)


def _call_back(task: Any, name: str, forward: Any, value: Any) -> None:
    what, level = _CALLBACK_LOGGING[name]
    logger.log(level, "%s of branch %d of %s: %s", what, task.branch, type(task).__name__,
               value)
    if forward is not None and name == "set_status_message":
        forward(f"branch {task.branch}: {value}")


def report_branch_failure(workflow: str, branch: int, error: str) -> None:
    """One line on the terminal (the traceback too at DEBUG level); the traceback goes to
    the run's log file."""
    from law_core.run_log import current_run_log

    task = f"branch {branch} of {workflow}"
    summary = error.rstrip().splitlines()[-1] if error.strip() else "failed"
    run_log = current_run_log()
    if run_log is not None:
        run_log.record(task, summary, error, summarize=False)
    if logger.isEnabledFor(logging.DEBUG) or run_log is None:
        logger.error("%s failed:\n%s", task, error.rstrip())
    else:
        logger.error("%s failed: %s", task, summary)


def _report_branches(path: str, family: str, branches: list[int],
                     failures: dict[int, str]) -> None:
    import json

    from law_core.workflow.job_worker import write_json_atomic

    try:
        report = json.loads(open(path).read())
    except (OSError, ValueError):
        report = {}
    entry = report.setdefault(family, {"ran": [], "failed": []})
    entry["ran"] = sorted(set(entry["ran"]) | set(branches))
    entry["failed"] = sorted(set(entry["failed"]) | set(failures))
    write_json_atomic(Path(path), report)


#: a pool process gets as many branches at a time as run in about this many seconds:
#: handing over each trivial branch alone costs more than running it
CHUNK_SECONDS = 0.05


def _run_in_pool(branches: list[int]) -> tuple[list[tuple[int, str | None]], float]:
    """Run a chunk of branches in a pool process; their errors and the seconds it took."""
    start = time.perf_counter()
    events = task_events_wanted()
    results = [(b, run_branch(_POOL_WORKFLOW.req_branch(b), events=events)) for b in branches]
    return results, time.perf_counter() - start


def _chunk_size(seconds_per_branch: float | None, left: int, workers: int) -> int:
    """Branches for the next chunk: one until a branch was timed, then as many as run in
    CHUNK_SECONDS, but never more than a share of what is left that keeps every process
    busy to the end."""
    if seconds_per_branch is None:
        return 1
    fits = int(CHUNK_SECONDS / max(seconds_per_branch, 1e-6))
    return max(1, min(fits, left // (2 * workers)))


def _may_fork() -> bool:
    """Whether forking this process is safe enough: every thread but this one is a Python
    thread (luigi's, a plugin's timer), whose locks CPython and law-core's plugins renew
    in a fork. A thread of a native library (a storage client's, which may hold a lock the
    fork would wait on forever) rules it out, as does a platform without /proc."""
    try:
        threads = {int(name) for name in os.listdir("/proc/self/task")}
    except OSError:
        return False
    # a native thread that called into Python shows as a "dummy" thread: still native
    dummy = getattr(threading, "_DummyThread", ())
    python = {t.native_id for t in threading.enumerate() if not isinstance(t, dummy)}
    return threads <= python


def _start_pool_worker(task: str, params: list[str], path: list[str], cwd: str,
                       environ: dict[str, str],
                       overrides: dict[tuple[str, str], tuple[str, str]]) -> None:
    """Rebuild the workflow in a pool process from its parameters, with the submitting
    process's environment, import path, directory and in-process config overrides (the
    fork server itself may have started long before, with other ones)."""
    global _POOL_WORKFLOW
    import sys

    from law_core.arguments import apply_task_sections, build_task
    from law_core.config import get_config, reset_config
    from law_core.index import find_task_class
    from law_core.process import die_with_parent
    from law_core.registry import reset_registry

    die_with_parent(os.getppid())  # the fork server, which ends with the run's process

    os.environ.clear()
    os.environ.update(environ)
    sys.path[:] = path
    os.chdir(cwd)
    reset_config()
    reset_registry()
    config = get_config()
    for (section, option), (value, origin) in overrides.items():
        config.override(section, option, value, origin)
    cls = find_task_class(task)
    apply_task_sections()  # [Family] values: the requirements branches build must match
    _POOL_WORKFLOW = build_task(cls, params)


class LocalJobManager(JobManager):
    """Runs branches in this process, or in ``workers`` processes."""

    def workers(self) -> int:
        from law_core.config import get_config

        return max(1, get_config().get_int("local_workflow", "workers", default=1))

    def run(self, branches: list[int]) -> dict[int, str]:
        if not branches:
            return {}
        progress = Progress(len(branches), f"{type(self.workflow).__name__} branches")
        failures: dict[int, str] = {}

        name = type(self.workflow).__name__

        def record(branch: int, error: str | None) -> None:
            if error is not None:
                failures[branch] = error
                report_branch_failure(name, branch, error)
            progress.advance(failed=error is not None)

        wanted = min(self.workers(), len(branches))
        budget = current_budget()
        # beside luigi's other task processes, only the idle ones of --workers join in
        extra = budget.take(wanted - 1) if budget is not None else wanted - 1
        try:
            if extra == 0:
                events = task_events_wanted()
                for b in branches:
                    record(b, run_branch(self.workflow.req_branch(b), self.workflow, events))
            else:
                self._run_pool(branches, 1 + extra, record)
        finally:
            if budget is not None:
                budget.release(extra)
        progress.close()
        if os.environ.get(BRANCH_REPORT_ENV):
            _report_branches(os.environ[BRANCH_REPORT_ENV], self.workflow.get_task_family(),
                             branches, failures)
        return failures

    def _run_pool(self, branches: list[int], workers: int, record: Any) -> None:
        """Branches in forks of this process when no native library runs threads in it:
        they start in milliseconds. Else in processes started by a fork server: a clean
        process, not a fork of this one, whose threads (a storage client's) could hold
        locks that a forked child would wait on forever; each rebuilds the workflow once,
        which costs about half a second."""
        global _POOL_WORKFLOW
        import sys

        from law_core.arguments import task_arguments
        from law_core.config import get_config
        from law_core.process import die_with_parent

        wf = self.workflow
        module = type(wf).__module__
        if module == "__main__":
            raise WorkflowError(f"{type(wf).__name__} is defined in __main__, which worker "
                                "processes cannot import; move it into a module or run with "
                                "one worker")
        if _may_fork():
            _POOL_WORKFLOW = wf  # inherited by the forks, which need not rebuild it
            context = multiprocessing.get_context("fork")
            initializer, init_args = die_with_parent, (os.getpid(),)
        else:
            context = multiprocessing.get_context("forkserver")
            initializer, init_args = _start_pool_worker, (
                f"{module}.{type(wf).__name__}", task_arguments(wf), list(sys.path),
                os.getcwd(), dict(os.environ), get_config().overrides())
        todo = list(reversed(branches))  # popped from the end: in the given order
        per_branch: float | None = None

        def submit_next(pool: ProcessPoolExecutor) -> Any:
            size = _chunk_size(per_branch, len(todo), workers)
            chunk = [todo.pop() for _ in range(min(size, len(todo)))]
            return pool.submit(_run_in_pool, chunk)

        with ProcessPoolExecutor(workers, mp_context=context, initializer=initializer,
                                 initargs=init_args) as pool:
            running = {submit_next(pool) for _ in range(min(2 * workers, len(todo)))}
            while running:
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    results, seconds = future.result()
                    for branch, error in results:
                        record(branch, error)
                    per_branch = seconds / len(results)
                running |= {submit_next(pool) for _ in range(min(len(done), len(todo)))}
        _POOL_WORKFLOW = None
