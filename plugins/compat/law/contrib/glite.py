"""``law.glite`` (after ``law.contrib.load("glite")``): law's GLiteWorkflow on
law-core-glite. ``--glite-ce`` (one CE; law takes a list) and law-core's other
``--glite-*`` options are law-core-glite's; ``custom_content`` of ``glite_job_config``
becomes JDL attributes (``("MyProxyServer", "px.cern.ch")`` -> ``MyProxyServer =
"px.cern.ch";``).

Grid jobs do not see this file system: ``glite_job_config`` input files and the bootstrap
file do not reach them (law-core-glite sends the job directory's own files only)."""

from __future__ import annotations

from typing import Any, ClassVar

from law.job.base import JobInputFile
from law.job.workflow import BatchWorkflow, law_hooks, pairs

__all__ = ["GLiteWorkflow", "JobInputFile"]


def _jdl_value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "{" + ", ".join(_jdl_value(v) for v in value) + "}"
    return '"' + str(value).replace('"', '\\"') + '"'


class GLiteWorkflow(BatchWorkflow):
    """law's gLite workflow mixin: branches run as law-core-glite jobs."""

    law_batch_name: ClassVar[str] = "glite"
    workflow_type: ClassVar[str | None] = "glite"
    exclude_index = True

    @classmethod
    def law_custom_line(cls, item: Any) -> str | None:
        if isinstance(item, (list, tuple)) and len(item) == 2:
            return f"{item[0]} = {_jdl_value(item[1])};"
        entry = pairs(item)
        return entry if isinstance(entry, str) else None


for _name, _hook in law_hooks("glite").items():
    setattr(GLiteWorkflow, _name, _hook)
