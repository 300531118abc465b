"""The contract of a run location: what ``--workflow NAME`` selects.

A job manager gets the workflow and runs the branches it is given, wherever it runs
them: in this process (``local``), or as jobs on a batch system (plugins). The workflow
decides *which* branches run (the missing ones among those selected) and judges the
result against ``--acceptance`` and ``--tolerance``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
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
        and those of every branch that is still missing."""
        wf = self.workflow
        return [wf.workflow_requires()] + [
            wf.req_branch(b).requires() for b in wf.missing_branches()
        ]

    @abstractmethod
    def run(self, branches: list[int]) -> dict[int, str]:
        """Run ``branches``; return the failed ones with their error (a traceback text).

        A manager may stop early, returning what failed so far, once more branches
        failed than ``workflow.max_failures()`` allows (remote managers stop submitting).
        """
