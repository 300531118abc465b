"""Hook implementations of law-core-lsf (cheap to import: no luigi, no subprocess)."""

from __future__ import annotations

from law_core.plugin import JobManagerRecord, hookimpl


@hookimpl
def law_core_job_managers() -> list:
    return [JobManagerRecord(
        "lsf", "law_core_lsf.manager:LSFJobManager",
        "IBM Spectrum LSF through bsub (job arrays), bjobs and bkill",
        settings="law_core_lsf.settings:LSFSettings",
    )]
