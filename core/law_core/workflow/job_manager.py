"""The contract of a run location: what ``--workflow NAME`` selects.

A job manager gets the workflow and runs the branches it is given, wherever it runs
them: in this process (``local``), or as jobs on a batch system (plugins). The workflow
decides *which* branches run (the missing ones among those selected) and judges the
result against ``--acceptance`` and ``--tolerance``.
"""

from __future__ import annotations

import functools
import logging
import traceback
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from law_core.errors import TaskError
from law_core.parameters import compress_ranges

if TYPE_CHECKING:
    from law_core.workflow.base import Workflow

logger = logging.getLogger("law_core.workflow")


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
        :func:`as_workflows`). A branch whose ``requires()`` raises is left out here and
        fails when the workflow runs; the others go on."""
        from luigi.task import flatten

        wf = self.workflow
        needs, _ = branch_requirements(wf, wf.missing_branches())
        own = wf.workflow_requires()
        return [own, *as_workflows(needs, wf, covered=flatten(own), memo=_key_memo(wf))]

    @abstractmethod
    def run(self, branches: list[int]) -> dict[int, str]:
        """Run ``branches``; return the failed ones with their error (a traceback text).

        A manager may stop early, returning what failed so far, once more branches
        failed than ``workflow.max_failures()`` allows (remote managers stop submitting).
        """


def branch_requirements(workflow: Any, branches: list[int]
                        ) -> tuple[dict[int, list[Any]], dict[int, str]]:
    """The requirements of each of ``branches``, flattened, and the tracebacks of those
    whose ``requires()`` raised (one broken branch must not stop the others)."""
    from luigi.task import flatten

    # what luigi's scheduling asked already (requires() of the workflow) is not asked again
    # when it runs (blocked_branches): the requirements do not change in between
    known = workflow.__dict__.setdefault("_branch_needs", _BranchNeeds()) if getattr(
        workflow, "cache_branch_map", True) else _BranchNeeds()
    needs: dict[int, list[Any]] = {}
    broken: dict[int, str] = {}
    for b in branches:
        if b in known:
            needed, text = known[b]
            if text is None:
                needs[b] = needed
            else:
                broken[b] = text
            continue
        try:
            needs[b] = flatten(workflow.req_branch(b).requires())
            known[b] = (needs[b], None)
        except Exception:
            broken[b] = traceback.format_exc()
            known[b] = (None, broken[b])
    if broken and not workflow.__dict__.get("_broken_logged"):
        workflow.__dict__["_broken_logged"] = True
        logger.error("requires() of %d branches of %s raised, e.g. branch %d:\n%s",
                     len(broken), type(workflow).__name__, min(broken), broken[min(broken)])
    return needs, broken


class _BranchNeeds(dict):  # type: ignore[type-arg]
    """A workflow's branch requirements while it is scheduled and run, by branch:
    (flattened requirements, None) or (None, the traceback of its ``requires()``); and
    ``keys``, the workflow key of each upstream branch task among them by ``id()`` (with
    the task, which keeps the id its own): luigi asks the workflow's ``requires()`` when
    it schedules it and again before it runs it, and the run asks which are blocked."""

    def __init__(self) -> None:
        super().__init__()
        self.keys: _KeyMemo = _KeyMemo()


class _KeyMemo(dict):  # type: ignore[type-arg]
    """Workflow keys of branch tasks by ``id()``: (task, key), one key object per upstream
    workflow (a key holds all of its parameter values; the workflows of a large analysis
    are all scheduled before the first runs)."""

    def __init__(self) -> None:
        super().__init__()
        self.shared: dict[Any, Any] = {}

    def remember(self, task: Any, key: Any) -> Any:
        key = self.shared.setdefault(key, key)
        self[id(task)] = (task, key)
        return key


def _key_memo(workflow: Any) -> _KeyMemo | None:
    known = workflow.__dict__.get("_branch_needs")
    return known.keys if isinstance(known, _BranchNeeds) else None


def as_workflows(needs: dict[int, list[Any]], requirer: Any, covered: list[Any] = (),
                 memo: _KeyMemo | None = None) -> list[Any]:
    """The branch requirements ``needs`` (of the branches of ``requirer``), with branch
    tasks of workflows replaced by their workflows, each restricted (``--branches``) to the
    branches required, or whole when all of its branches are: luigi then schedules one task
    per upstream workflow, never one per branch, and the upstream workflow runs those
    branches as its job manager does (as arrays on a batch system). Other requirements pass
    as they are. An upstream workflow ``covered`` already (whole, by
    ``workflow_requires()``) and not complete is not required again restricted: it runs
    every missing branch, and two tasks of one workflow could run them twice at once. A
    branch beyond the upstream workflow's map is a TaskError naming both. ``memo``: see
    :func:`_by_upstream_workflow`."""
    groups, others = _by_upstream_workflow(needs, memo=memo)
    workflows = []
    for first, wanted in groups.values():
        whole = first.req_workflow()
        beyond = sorted(set(wanted) - set(whole.branch_map))
        if beyond:
            size = len(whole.branch_map)
            raise TaskError(
                f"branch {wanted[beyond[0]]} of {type(requirer).__name__} requires branch "
                f"{beyond[0]} of {type(first).__name__}, whose branch map has {size} branches"
                f" ({'0..' + str(max(whole.branch_map)) if size else 'none'}): check both "
                "create_branch_map() and requires()")
        if whole in covered and not whole.complete():
            continue  # it runs every missing branch, these included
        if set(wanted).issuperset(whole.selected_branches()):
            workflows.append(whole)
        else:
            workflows.append(first.req_workflow(branches=compress_ranges(sorted(wanted))))
    return workflows + others


def blocked_branches(workflow: Any, branches: list[int]) -> dict[int, str]:
    """Those of ``branches`` whose requirements are not complete, with what they miss:
    after an upstream branch failed (within its workflow's tolerance), the branches that
    need it cannot run, and the others can. Upstream workflows are checked through their
    output collections (one listing per directory), not branch by branch."""
    needs, broken = branch_requirements(workflow, branches)
    memo = _key_memo(workflow)
    workflow.__dict__.pop("_branch_needs", None)  # asked for the last time: let them go
    keys: dict[int, Any] = {}
    upstream, _ = _by_upstream_workflow(needs, keys, memo)
    missing_upstream = {
        key: set(first.req_workflow(branches=compress_ranges(sorted(numbers))).missing_branches())
        for key, (first, numbers) in upstream.items()}
    blocked = {b: f"its requires() raised: {text.strip().splitlines()[-1]}"
               for b, text in broken.items()}
    for b, tasks in needs.items():
        absent = [task for task in tasks if (
            task.branch in missing_upstream[keys[id(task)]]
            if id(task) in keys else not task.complete())]
        if absent:
            names = ", ".join(_describe(task) for task in absent[:3])
            blocked[b] = f"blocked: its requirement {names} is not complete" if len(absent) \
                == 1 else f"blocked: its requirements {names} are not complete"
    return blocked


def _is_upstream_branch(task: Any) -> bool:
    """Whether ``task`` is one branch of a workflow (not a workflow, not a plain task)."""
    return isinstance(task, _workflow_class()) and task.branch != -1


@functools.lru_cache(maxsize=1)
def _workflow_class() -> type:
    """The Workflow class (imported when first asked: its module imports this one)."""
    from law_core.workflow.base import Workflow

    return Workflow


def _by_upstream_workflow(needs: dict[int, list[Any]], keys: dict[int, Any] | None = None,
                          memo: _KeyMemo | None = None
                          ) -> tuple[dict[Any, tuple[Any, dict[int, int]]], list[Any]]:
    """The requirements ``needs`` (by requiring branch) that are branches of workflows,
    grouped by workflow: its first branch task met and, per branch required, the first
    branch requiring it; and the other requirements. ``keys``, when given, gets the
    workflow key of each branch task by its ``id()`` (for callers that look them up
    again: a key costs a set of all parameter values). ``memo`` keeps the keys of the
    tasks seen (with the tasks) for the next call on the same requirements."""
    groups: dict[Any, tuple[Any, dict[int, int]]] = {}
    others: list[Any] = []
    for b, tasks in needs.items():
        for task in tasks:
            if _is_upstream_branch(task):
                known = memo.get(id(task)) if memo is not None else None
                if known is not None and known[0] is task:
                    key = known[1]
                else:
                    key = _workflow_key(task)
                    if memo is not None:
                        key = memo.remember(task, key)
                if keys is not None:
                    keys[id(task)] = key
                groups.setdefault(key, (task, {}))[1].setdefault(task.branch, b)
            else:
                others.append(task)
    return groups, others


def _describe(task: Any) -> str:
    if _is_upstream_branch(task):
        return f"{type(task).__name__} branch {task.branch}"
    return repr(task)


def _workflow_key(task: Any) -> Any:
    """What the branch tasks of one workflow share: class and every parameter but branch."""
    kwargs = dict(task.param_kwargs)
    kwargs.pop("branch", None)
    try:
        values = frozenset(kwargs.items())
    except TypeError:  # a parameter value that cannot be hashed: compare the strings
        values = frozenset((k, v) for k, v in task.to_str_params().items() if k != "branch")
    return type(task), values
