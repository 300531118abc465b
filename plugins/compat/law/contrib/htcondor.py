"""``law.htcondor`` (after ``law.contrib.load("htcondor")``): law's HTCondorWorkflow on
law-core-htcondor. Its ``--htcondor-pool``/``--htcondor-scheduler`` (and law-core's other
``--htcondor-*`` options) are law-core-htcondor's; ``custom_content`` of
``htcondor_job_config`` becomes submit lines (``key = value``). ``getenv`` is left out with
a warning: law-core never passes the submitting shell's environment (it may hold secrets),
jobs get the variables of ``[job] forward_env``."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from law.job.base import JobInputFile
from law.job.workflow import BatchWorkflow, law_hooks, pairs

__all__ = ["HTCondorWorkflow", "JobInputFile"]

logger = logging.getLogger("law.htcondor")


class HTCondorWorkflow(BatchWorkflow):
    """law's HTCondor workflow mixin: branches run as law-core-htcondor jobs."""

    law_batch_name: ClassVar[str] = "htcondor"
    workflow_type: ClassVar[str | None] = "htcondor"
    exclude_index = True

    @classmethod
    def law_custom_line(cls, item: Any) -> str | None:
        entry = pairs(item)
        if isinstance(entry, str):
            line = entry
        else:
            line = entry[0] if len(entry) == 1 else f"{entry[0]} = {entry[1]}"
        key, _, value = line.partition("=")
        if key.strip().lower() == "getenv":
            if value.strip().lower() not in ("false", "f", "no", "0"):
                logger.warning("htcondor_job_config: '%s' left out; law-core does not pass the "
                               "submitting environment to jobs, list the variables they need "
                               "in [job] forward_env", line)
            return None
        return line


for _name, _hook in law_hooks("htcondor").items():
    setattr(HTCondorWorkflow, _name, _hook)
