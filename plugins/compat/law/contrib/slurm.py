"""``law.slurm`` (after ``law.contrib.load("slurm")``): law's SlurmWorkflow on
law-core-slurm. ``--slurm-partition`` (and law-core's other ``--slurm-*`` options) are
law-core-slurm's; ``custom_content`` of ``slurm_job_config`` becomes sbatch options
(``("time", "1:00:00")`` -> ``--time=1:00:00``, ``("exclusive",)`` -> ``--exclusive``)."""

from __future__ import annotations

from typing import Any, ClassVar

from law.job.base import JobInputFile
from law.job.workflow import BatchWorkflow, law_hooks, pairs

__all__ = ["SlurmWorkflow", "JobInputFile"]


class SlurmWorkflow(BatchWorkflow):
    """law's Slurm workflow mixin: branches run as law-core-slurm jobs."""

    law_batch_name: ClassVar[str] = "slurm"
    workflow_type: ClassVar[str | None] = "slurm"
    exclude_index = True

    @classmethod
    def law_custom_line(cls, item: Any) -> str | None:
        entry = pairs(item)
        if isinstance(entry, str):  # a line of the job file: an "#SBATCH ..." line counts
            line = entry.removeprefix("#SBATCH").strip()
            return line if line.startswith("-") else None
        key = entry[0].lstrip("-")
        return f"--{key}" if len(entry) == 1 else f"--{key}={entry[1]}"


for _name, _hook in law_hooks("slurm").items():
    setattr(SlurmWorkflow, _name, _hook)
