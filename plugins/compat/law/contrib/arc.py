"""``law.arc`` (after ``law.contrib.load("arc")``): law's ARCWorkflow on law-core-arc.
``--arc-ce`` (one CE; law takes a list) and law-core's other ``--arc-*`` options are
law-core-arc's; ``custom_content`` of ``arc_job_config`` becomes xRSL relations
(``("queue", "short")`` -> ``(queue = "short")``).

Jobs of ARC CEs do not see this file system: ``arc_job_config`` input files and the
bootstrap file do not reach them (law-core-arc sends the job directory's own files only)."""

from __future__ import annotations

from typing import Any, ClassVar

from law.job.base import JobInputFile
from law.job.workflow import BatchWorkflow, law_hooks, pairs

__all__ = ["ARCWorkflow", "JobInputFile"]


def _xrsl_value(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(_xrsl_value(v) for v in value)
    if isinstance(value, tuple):
        return "(" + " ".join(_xrsl_value(v) for v in value) + ")"
    return '"' + str(value).replace('"', '""') + '"'


class ARCWorkflow(BatchWorkflow):
    """law's ARC workflow mixin: branches run as law-core-arc jobs."""

    law_batch_name: ClassVar[str] = "arc"
    law_settings_field: ClassVar[str] = "extra_xrsl"
    workflow_type: ClassVar[str | None] = "arc"
    exclude_index = True

    @classmethod
    def law_custom_line(cls, item: Any) -> str | None:
        if isinstance(item, (list, tuple)) and len(item) == 2:
            return f"({item[0]} = {_xrsl_value(item[1])})"
        entry = pairs(item)
        return entry if isinstance(entry, str) else f"({entry[0]})"


for _name, _hook in law_hooks("arc").items():
    setattr(ARCWorkflow, _name, _hook)
