"""``law.cms`` (after ``law.contrib.load("cms")``): the names law's CMS package gives, so
that analyses which mix ``law.cms.CrabWorkflow`` into their workflows import and run
everything that does not need CMS software. law-core has no Crab job manager: a workflow
that chooses Crab (``--workflow crab``) stops with an error saying what to do, and
``BundleCMSSW`` refuses to run; ``--workflow local`` and the other batch mixins work."""

from __future__ import annotations

from typing import Any, ClassVar

from law.job.base import JobInputFile
from law.job.workflow import BatchWorkflow, law_hooks
from law.task import Task
from law_core.errors import TaskError, WorkflowError

__all__ = ["CrabWorkflow", "BundleCMSSW", "JobInputFile"]

_NO_CRAB = ("CMS Crab submission is not supported by law-core-compat (law-core has no Crab "
            "job manager): run {name} with --workflow local, or mix in a batch workflow law-core "
            "has (law.htcondor.HTCondorWorkflow, law.slurm.SlurmWorkflow, ...)")


class CrabWorkflow(BatchWorkflow):
    """law's Crab workflow mixin. A base class only: its ``crab_*`` hooks exist with law's
    defaults, and choosing it as the workflow is an error (see the module's docstring)."""

    law_batch_name: ClassVar[str] = "crab"
    workflow_type: ClassVar[str | None] = "crab"
    exclude_index = True

    def job_manager(self) -> Any:
        if self.law_on_batch():
            raise WorkflowError(_NO_CRAB.format(name=type(self).__name__))
        return super().job_manager()

    def crab_stageout_location(self) -> Any:
        raise WorkflowError(_NO_CRAB.format(name=type(self).__name__))

    def crab_work_area(self) -> Any:
        return None

    def crab_job_manager_cls(self) -> Any:
        raise WorkflowError(_NO_CRAB.format(name=type(self).__name__))

    @classmethod
    def law_custom_line(cls, item: Any) -> str | None:
        return None


for _name, _hook in law_hooks("crab").items():
    setattr(CrabWorkflow, _name, _hook)


class BundleCMSSW(Task):
    """law's task that bundles a CMSSW checkout. A base class only: running it is an
    error, as law-core-compat has no CMSSW bundling."""

    exclude_index = True

    def get_cmssw_path(self) -> str:
        raise NotImplementedError(f"{type(self).__name__} must define get_cmssw_path()")

    def run(self) -> None:
        raise TaskError(f"{type(self).__name__}: bundling a CMSSW checkout (law.cms.BundleCMSSW) "
                        "is not supported by law-core-compat; bundle it in a task of your own "
                        "(e.g. with tar) and require that instead")
