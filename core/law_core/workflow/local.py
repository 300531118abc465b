"""The ``local`` job manager: branches run on this machine, in this process or in a pool.

Branches run directly, not as luigi tasks: scheduling 100000 luigi tasks costs more than
running trivial branches. ``[local_workflow] workers`` (``law-core run --workers N``)
sets the number of processes; 1 runs in this process. A failing branch is reported with
its traceback and the others go on, so one run shows every failure; the workflow then
fails if more branches failed than ``--tolerance`` allows.
"""

from __future__ import annotations

import logging
import multiprocessing
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

from law_core.errors import WorkflowError
from law_core.events import TaskEvent, emit_task_event, task_events_wanted
from law_core.progress import Progress
from law_core.workflow.job_manager import JobManager

logger = logging.getLogger("law_core.workflow.local")

# the workflow whose branches the forked pool processes run (inherited through fork)
_POOL_WORKFLOW: Any = None


def run_branch(task: Any) -> str | None:
    """Run one branch task in this process; return None, or the traceback of its failure."""
    events = task_events_wanted()
    if events:
        emit_task_event(TaskEvent("start", task.task_id, task.get_task_family()))
    try:
        result = task.run()
        if result is not None and hasattr(result, "__next__"):
            raise WorkflowError(
                f"run() of {task!r} yields dynamic dependencies, which the local workflow "
                "does not resolve; declare them in requires() or run the branch alone with "
                "--branch")
    except Exception as err:
        text = traceback.format_exc()
        if events:
            emit_task_event(TaskEvent("failure", task.task_id, task.get_task_family(), str(err)))
        return text
    if events:
        emit_task_event(TaskEvent("success", task.task_id, task.get_task_family()))
    return None


def _run_in_pool(branch: int) -> tuple[int, str | None]:
    return branch, run_branch(_POOL_WORKFLOW.req_branch(branch))


class LocalJobManager(JobManager):
    """Runs branches in this process, or in ``workers`` forked processes."""

    def workers(self) -> int:
        from law_core.config import get_config

        return max(1, get_config().get_int("local_workflow", "workers", default=1))

    def run(self, branches: list[int]) -> dict[int, str]:
        if not branches:
            return {}
        progress = Progress(len(branches), f"{type(self.workflow).__name__} branches")
        failures: dict[int, str] = {}

        def record(branch: int, error: str | None) -> None:
            if error is not None:
                failures[branch] = error
                logger.error("branch %d of %s failed:\n%s", branch,
                             type(self.workflow).__name__, error.rstrip())
            progress.advance(failed=error is not None)

        workers = min(self.workers(), len(branches))
        if workers == 1:
            for b in branches:
                record(b, run_branch(self.workflow.req_branch(b)))
        else:
            self._run_pool(branches, workers, record)
        progress.close()
        return failures

    def _run_pool(self, branches: list[int], workers: int, record: Any) -> None:
        global _POOL_WORKFLOW
        _POOL_WORKFLOW = self.workflow
        context = multiprocessing.get_context("fork")
        try:
            with ProcessPoolExecutor(workers, mp_context=context) as pool:
                todo = iter(branches)
                running = {pool.submit(_run_in_pool, b) for _, b in zip(range(2 * workers), todo)}
                while running:
                    done, running = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        record(*future.result())
                    running |= {pool.submit(_run_in_pool, b)
                                for _, b in zip(range(len(done)), todo)}
        finally:
            _POOL_WORKFLOW = None
