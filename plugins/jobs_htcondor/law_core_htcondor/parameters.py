"""The parameters every workflow gains with law-core-htcondor (``--htcondor-pool`` ...).

Empty values fall back to the ``[htcondor]`` config section, then to the pool's defaults.
"""

from __future__ import annotations

import luigi

from law_core.plugin import BytesParameter, DurationParameter, OptionalBoolParameter

PARAMETERS = {
    "htcondor_pool": luigi.Parameter(
        default="", significant=False, description="HTCondor pool: the central manager "
        "(condor_submit -pool)"),
    "htcondor_scheduler": luigi.Parameter(
        default="", significant=False, description="HTCondor schedd to submit to "
        "(condor_submit -name)"),
    "htcondor_universe": luigi.Parameter(
        default="", significant=False, description="HTCondor universe; default: the config's "
        "or vanilla"),
    "htcondor_requirements": luigi.Parameter(
        default="", significant=False, description="ClassAd requirements expression of the "
        "jobs"),
    "htcondor_request_cpus": luigi.IntParameter(
        default=0, significant=False, description="CPUs per job (request_cpus); 0: the "
        "config's or the pool's"),
    "htcondor_request_memory": BytesParameter(
        default=0.0, unit="MiB", significant=False, description="memory per job "
        "(request_memory; a number in MiB, or e.g. '2GiB'); 0: the config's or the pool's"),
    "htcondor_request_disk": BytesParameter(
        default=0.0, unit="MiB", significant=False, description="disk per job "
        "(request_disk; a number in MiB, or e.g. '10GiB'); 0: the config's or the pool's"),
    "htcondor_max_runtime": DurationParameter(
        default=0.0, unit="m", significant=False, description="+MaxRuntime of the jobs (a "
        "number in minutes, or e.g. '2h'); 0: the config's or none"),
    "htcondor_accounting_group": luigi.Parameter(
        default="", significant=False, description="accounting group of the jobs "
        "(accounting_group)"),
    "htcondor_file_transfer": OptionalBoolParameter(
        significant=False, description="transfer the job files in and the job's status "
        "back, for pools without a shared file system; default: the config's file_transfer"),
}
