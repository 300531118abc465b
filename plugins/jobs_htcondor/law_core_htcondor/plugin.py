"""Hook implementations of law-core-htcondor (cheap to import: no luigi, no subprocess)."""

from __future__ import annotations

from law_core.hookspecs import hookimpl

#: the ``[htcondor]`` config options and their defaults (empty: the pool's default)
CONFIG_DEFAULTS = {
    "universe": "vanilla",
    "requirements": "",
    "request_cpus": "",
    "request_memory": "",
    "request_disk": "",
    "max_runtime": "",
    "accounting_group": "",
    "pool": "",
    "scheduler": "",
    "file_transfer": "false",
    "should_transfer_files": "",
    "when_to_transfer_output": "ON_EXIT",
    "transfer_input_files": "",
    "transfer_output_files": "",
    "extra_lines": "",
    "max_batch_size": "1000",
    "submit_timeout": "600",
}


@hookimpl
def law_core_job_managers() -> list:
    from law_core.records import JobManagerRecord

    return [JobManagerRecord(
        "htcondor", "law_core_htcondor.manager:HTCondorJobManager",
        "HTCondor through condor_submit (one cluster per batch), condor_q, condor_history "
        "and condor_rm",
        parameters="law_core_htcondor.parameters:PARAMETERS",
        config_defaults=dict(CONFIG_DEFAULTS),
    )]
