"""The parameters every workflow gains with law-core-slurm (``--slurm-partition`` ...).

Empty values fall back to the ``[slurm]`` config section, then to the cluster's defaults.
"""

from __future__ import annotations

import luigi

from law_core.plugin import BytesParameter, DurationParameter

PARAMETERS = {
    "slurm_partition": luigi.Parameter(
        default="", significant=False, description="Slurm partition (sbatch --partition)"),
    "slurm_account": luigi.Parameter(
        default="", significant=False, description="Slurm account (sbatch --account)"),
    "slurm_time": DurationParameter(
        default=0.0, unit="m", significant=False, description="time limit per job (a number "
        "in minutes, or e.g. '2h'); 0: the config's or the partition's"),
    "slurm_memory": BytesParameter(
        default=0.0, unit="MB", significant=False, description="memory per job (a number in "
        "MB, or e.g. '2GB'); 0: the config's or the partition's"),
    "slurm_cpus": luigi.IntParameter(
        default=0, significant=False, description="CPUs per job; 0: the config's or 1"),
}
