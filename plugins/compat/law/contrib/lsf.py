"""``law.lsf`` (after ``law.contrib.load("lsf")``): law's LSFWorkflow on law-core-lsf.
``--lsf-queue`` (and law-core's other ``--lsf-*`` options) are law-core-lsf's;
``custom_content`` of ``lsf_job_config`` becomes bsub options (``("-G", "grp")`` ->
``#BSUB -G grp``)."""

from __future__ import annotations

from typing import Any, ClassVar

from law.job.base import JobInputFile
from law.job.workflow import BatchWorkflow, law_hooks, pairs

__all__ = ["LSFWorkflow", "JobInputFile"]


class LSFWorkflow(BatchWorkflow):
    """law's LSF workflow mixin: branches run as law-core-lsf jobs."""

    law_batch_name: ClassVar[str] = "lsf"
    workflow_type: ClassVar[str | None] = "lsf"
    exclude_index = True

    @classmethod
    def law_custom_line(cls, item: Any) -> str | None:
        entry = pairs(item)
        if isinstance(entry, str):
            line = entry.removeprefix("#BSUB").strip()
            return line if line.startswith("-") else None
        return " ".join(entry)


for _name, _hook in law_hooks("lsf").items():
    setattr(LSFWorkflow, _name, _hook)
