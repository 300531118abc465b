"""The options of law-core-slurm, declared once: ``--slurm-<option>`` parameters of every
workflow, the ``[slurm]`` config section, and their defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from law_core.plugin import Settings, option


@dataclass(frozen=True)
class SlurmSettings(Settings):
    section: ClassVar[str] = "slurm"

    partition: str = option("", "Slurm partition (sbatch --partition); empty: the "
                            "cluster's default")
    account: str = option("", "Slurm account (sbatch --account)")
    time: float = option(0.0, "time limit per job (a number in minutes, or e.g. '2h'); "
                         "0: the partition's", kind="duration", unit="m")
    memory: float = option(0.0, "memory per job (a number in MB, or e.g. '2GB'); 0: the "
                           "partition's", kind="bytes", unit="MB")
    cpus: int = option(0, "CPUs per job (sbatch --cpus-per-task); 0: 1")
    extra_lines: str = option("", "more sbatch options, one per line ('--qos=short')",
                              parameter=False)
    max_array_size: int = option(0, "most jobs per sbatch array; 0: the cluster's "
                                 "MaxArraySize", parameter=False)
