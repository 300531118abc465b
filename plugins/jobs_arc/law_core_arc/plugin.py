"""Hook implementations of law-core-arc (cheap to import: no luigi, no subprocess)."""

from __future__ import annotations

from law_core.plugin import JobManagerRecord, hookimpl


@hookimpl
def law_core_job_managers() -> list:
    return [JobManagerRecord(
        "arc", "law_core_arc.manager:ArcJobManager",
        "NorduGrid ARC CEs through arcsub (one call per batch), the CE's REST job list, "
        "arcget, arckill and arcclean; the job files travel with the jobs",
        settings="law_core_arc.settings:ArcSettings",
    )]
