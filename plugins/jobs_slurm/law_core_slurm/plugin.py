"""Hook implementations of law-core-slurm (cheap to import: no luigi, no subprocess)."""

from __future__ import annotations

from law_core.plugin import JobManagerRecord, hookimpl


@hookimpl
def law_core_job_managers() -> list:
    return [JobManagerRecord(
        "slurm", "law_core_slurm.manager:SlurmJobManager",
        "Slurm through sbatch (job arrays), squeue, sacct and scancel",
        settings="law_core_slurm.settings:SlurmSettings",
    )]
