"""The run's ``--workers N`` as one budget of processes, shared by luigi's task processes
and the local workflows' branch pools.

luigi runs up to N tasks at once, each in a fork of the run's process, and a local workflow
runs its branches in a pool. Were each pool sized N too, N workflows side by side would
start N² processes on N cores, and trivial branches would spend their time forking and
faulting in copied pages. Instead every running task holds one process of the budget (but a
workflow that only submits to a batch system and polls), and a workflow's pool adds only the
processes that are idle when it starts: alone, a workflow's branches use all N; beside N - 1
other tasks, they run in the workflow's own process.
"""

from __future__ import annotations

import multiprocessing
from typing import Any

_budget: ProcessBudget | None = None
#: whether this process (one of luigi's task processes) holds one process of the budget
_holding = False


class ProcessBudget:
    """``total`` processes; the count of those in use lives in shared memory, which the
    forks of the run's process (luigi's task processes) inherit."""

    def __init__(self, total: int) -> None:
        self.total = total
        self._used: Any = multiprocessing.get_context("fork").Value("i", 0)

    def hold(self) -> None:
        """One process more in use (a task started), whether or not the budget allows."""
        with self._used.get_lock():
            self._used.value += 1

    def take(self, wanted: int) -> int:
        """Up to ``wanted`` more processes, as many as are idle; how many were taken."""
        with self._used.get_lock():
            taken = max(0, min(wanted, self.total - self._used.value))
            self._used.value += taken
        return taken

    def release(self, count: int = 1) -> None:
        with self._used.get_lock():
            self._used.value = max(0, self._used.value - count)

    @property
    def used(self) -> int:
        return self._used.value


def start_budget(total: int) -> ProcessBudget:
    """The budget of this run (before luigi forks its task processes)."""
    global _budget
    _budget = ProcessBudget(total)
    return _budget


def stop_budget() -> None:
    global _budget
    _budget = None


def current_budget() -> ProcessBudget | None:
    """The run's budget; None when luigi runs tasks in this one process (``--workers 1``)."""
    return _budget


def hold_process() -> None:
    """This process, one of luigi's task processes, computes: it holds one process of the
    run's budget until :func:`release_held_process`."""
    global _holding
    if _budget is not None and not _holding:
        _budget.hold()
        _holding = True


def release_held_process() -> None:
    global _holding
    if _budget is not None and _holding:
        _budget.release()
        _holding = False
