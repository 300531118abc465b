"""The contract of a run location: what ``--workflow NAME`` selects.

A job manager gets the workflow and runs the branches it is given, wherever it runs
them: in this process (``local``), or as jobs on a batch system (plugins). The workflow
decides *which* branches run (the missing ones among those selected) and judges the
result against ``--acceptance`` and ``--tolerance``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from law_core.workflow.base import Workflow


class JobManager(ABC):
    """Runs branches of one workflow at one location."""

    def __init__(self, workflow: Workflow):
        self.workflow = workflow

    def output(self) -> dict[str, Any]:
        """The workflow's output: ``{"collection": ...}``; remote managers add ``"jobs"``
        (their bookkeeping file)."""
        return {"collection": self.workflow.output_collection()}

    def requires(self) -> list[Any]:
        """What must exist before the branches run here: the workflow's own requirements
        and those of every branch that is still missing, where branches of another
        workflow are required as that workflow restricted to them (see
        :func:`as_workflows`)."""
        wf = self.workflow
        return [wf.workflow_requires(),
                *as_workflows(wf.req_branch(b).requires() for b in wf.missing_branches())]

    @abstractmethod
    def run(self, branches: list[int]) -> dict[int, str]:
        """Run ``branches``; return the failed ones with their error (a traceback text).

        A manager may stop early, returning what failed so far, once more branches
        failed than ``workflow.max_failures()`` allows (remote managers stop submitting).
        """


def as_workflows(requirements: Iterable[Any]) -> list[Any]:
    """Requirements with branch tasks of workflows replaced by their workflows, each
    restricted (``--branches``) to the branches required, or whole when all of its branches
    are: luigi then schedules one task per upstream workflow, never one per branch, and the
    upstream workflow runs those branches as its job manager does (as arrays on a batch
    system). Other requirements pass as they are."""
    from luigi.task import flatten

    from law_core.workflow.base import Workflow

    groups: dict[Any, tuple[Any, set[int]]] = {}
    others: list[Any] = []
    for requirement in requirements:
        for task in flatten(requirement):
            if isinstance(task, Workflow) and task.branch != -1:
                key = _workflow_key(task)
                groups.setdefault(key, (task, set()))[1].add(task.branch)
            else:
                others.append(task)
    workflows = []
    for first, branches in groups.values():
        whole = first.req_workflow()
        if branches.issuperset(whole.selected_branches()):
            workflows.append(whole)
        else:
            workflows.append(first.req_workflow(branches=_ranges(sorted(branches))))
    return workflows + others


def blocked_branches(workflow: Any, branches: list[int]) -> dict[int, str]:
    """Those of ``branches`` whose requirements are not complete, with what they miss:
    after an upstream branch failed (within its workflow's tolerance), the branches that
    need it cannot run, and the others can. Upstream workflows are checked through their
    output collections (one listing per directory), not branch by branch."""
    from luigi.task import flatten

    from law_core.workflow.base import Workflow

    needs: dict[int, list[Any]] = {b: flatten(workflow.req_branch(b).requires())
                                   for b in branches}
    upstream: dict[Any, tuple[Any, set[int]]] = {}
    for tasks in needs.values():
        for task in tasks:
            if isinstance(task, Workflow) and task.branch != -1:
                upstream.setdefault(_workflow_key(task), (task, set()))[1].add(task.branch)
    missing_upstream: dict[Any, set[int]] = {}
    for key, (first, numbers) in upstream.items():
        restricted = first.req_workflow(branches=_ranges(sorted(numbers)))
        missing_upstream[key] = set(restricted.missing_branches())
    blocked: dict[int, str] = {}
    for b, tasks in needs.items():
        absent = [task for task in tasks if (
            task.branch in missing_upstream[_workflow_key(task)]
            if isinstance(task, Workflow) and task.branch != -1 else not task.complete())]
        if absent:
            names = ", ".join(_describe(task) for task in absent[:3])
            blocked[b] = f"blocked: its requirement {names} is not complete" if len(absent) \
                == 1 else f"blocked: its requirements {names} are not complete"
    return blocked


def _describe(task: Any) -> str:
    from law_core.workflow.base import Workflow

    if isinstance(task, Workflow) and task.branch != -1:
        return f"{type(task).__name__} branch {task.branch}"
    return repr(task)


def _workflow_key(task: Any) -> Any:
    """What the branch tasks of one workflow share: class and every parameter but branch."""
    values = tuple(sorted((name, value) for name, value in task.param_kwargs.items()
                          if name != "branch"))
    try:
        hash(values)
    except TypeError:  # a parameter value that cannot be hashed: compare the strings
        values = tuple(sorted((k, v) for k, v in task.to_str_params().items() if k != "branch"))
    return type(task), values


def _ranges(numbers: list[int]) -> tuple[tuple[int, int], ...]:
    """``[0, 1, 2, 5]`` -> ``((0, 3), (5, 6))`` (``--branches`` ranges, end exclusive)."""
    ranges: list[list[int]] = []
    for number in numbers:
        if ranges and ranges[-1][1] == number:
            ranges[-1][1] = number + 1
        else:
            ranges.append([number, number + 1])
    return tuple((start, end) for start, end in ranges)
