"""Hook implementations of law-core-slurm (cheap to import: no luigi, no subprocess)."""

from __future__ import annotations

from law_core.hookspecs import hookimpl


@hookimpl
def law_core_job_managers() -> list:
    from law_core.records import JobManagerRecord

    return [JobManagerRecord(
        "slurm", "law_core_slurm.manager:SlurmJobManager",
        "Slurm through sbatch (job arrays), squeue, sacct and scancel",
        parameters="law_core_slurm.parameters:PARAMETERS",
        config_defaults={"partition": "", "account": "", "time": "", "memory": "",
                         "cpus": "", "extra_lines": "", "max_array_size": "1000"},
    )]
