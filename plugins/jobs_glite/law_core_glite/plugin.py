"""Hook implementations of law-core-glite (cheap to import: no luigi, no subprocess)."""

from __future__ import annotations

from law_core.plugin import JobManagerRecord, hookimpl


@hookimpl
def law_core_job_managers() -> list:
    return [JobManagerRecord(
        "glite", "law_core_glite.manager:GLiteJobManager",
        "gLite CREAM CEs through glite-ce-job-submit (one JDL per job), glite-ce-job-status, "
        "glite-ce-job-cancel and glite-ce-job-purge",
        settings="law_core_glite.settings:GLiteSettings",
    )]
