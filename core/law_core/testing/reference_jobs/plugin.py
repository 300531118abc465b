"""Hook implementations of the reference job manager (the entry-point module: it imports
nothing heavy, since discovery imports it in every ``law-core`` command)."""

from __future__ import annotations

from law_core.plugin import JobManagerRecord, hookimpl

_MANAGER = "law_core.testing.reference_jobs.manager"


@hookimpl
def law_core_job_managers() -> list:
    return [JobManagerRecord(
        "processes", f"{_MANAGER}:ProcessJobManager",
        "jobs as detached processes on this machine (law-core's reference job manager, "
        "for tests)",
        settings="law_core.testing.reference_jobs.settings:ProcessSettings",
    )]
