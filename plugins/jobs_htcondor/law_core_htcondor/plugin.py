"""Hook implementations of law-core-htcondor (cheap to import: no luigi, no subprocess)."""

from __future__ import annotations

from law_core.plugin import JobManagerRecord, hookimpl


@hookimpl
def law_core_job_managers() -> list:
    return [JobManagerRecord(
        "htcondor", "law_core_htcondor.manager:HTCondorJobManager",
        "HTCondor through condor_submit (one cluster per batch), condor_q, condor_history "
        "and condor_rm",
        settings="law_core_htcondor.settings:HTCondorSettings",
    )]
