"""The options of law-core-htcondor, declared once: the ``--htcondor-<option>`` parameters
of every workflow, the ``[htcondor]`` config section and their defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from law_core.plugin import Settings, option


@dataclass(frozen=True)
class HTCondorSettings(Settings):
    section: ClassVar[str] = "htcondor"

    pool: str = option("", "central manager of the pool (condor_* -pool)")
    scheduler: str = option("", "schedd to submit to (condor_* -name)")
    universe: str = option("vanilla", "HTCondor universe of the jobs")
    requirements: str = option("", "ClassAd requirements expression of the jobs")
    request_cpus: int = option(0, "CPUs per job; 0: the pool's default")
    request_memory: float = option(0.0, "memory per job (a number in MiB, or e.g. '2GiB'); "
                                   "0: the pool's default", kind="bytes", unit="MiB")
    request_disk: float = option(0.0, "disk per job (a number in MiB, or e.g. '10GiB'); "
                                 "0: the pool's default", kind="bytes", unit="MiB")
    max_runtime: float = option(0.0, "+MaxRuntime of the jobs (a number in minutes, or e.g. "
                                "'2h'); 0: none", kind="duration", unit="m")
    accounting_group: str = option("", "accounting group of the jobs")
    file_transfer: bool = option(False, "transfer the job files in and the job's status back "
                                 "(pools without a shared file system)")
    should_transfer_files: str = option("", "should_transfer_files; empty: YES with file "
                                        "transfer, else NO", parameter=False)
    when_to_transfer_output: str = option("ON_EXIT", "when_to_transfer_output with file "
                                          "transfer", parameter=False)
    transfer_input_files: str = option("", "more input files (comma-separated) with file "
                                       "transfer", parameter=False)
    transfer_output_files: str = option("", "more output files (comma-separated) with file "
                                        "transfer", parameter=False)
    extra_lines: str = option("", "more submit lines, one per line ('+JobFlavour = "
                              "\"espresso\"')", parameter=False)
    max_batch_size: int = option(1000, "most jobs per cluster (at most the schedd's "
                                 "MAX_JOBS_PER_SUBMISSION)", parameter=False)
    submit_timeout: float = option(600.0, "seconds condor_submit may take", parameter=False)
