"""The options of law-core-lsf, declared once: ``--lsf-<option>`` parameters of every
workflow, the ``[lsf]`` config section, and their defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from law_core.plugin import Settings, option


@dataclass(frozen=True)
class LSFSettings(Settings):
    section: ClassVar[str] = "lsf"

    queue: str = option("", "LSF queue (bsub -q); empty: the cluster's default queue")
    project: str = option("", "LSF project to charge (bsub -P)")
    runtime: float = option(0.0, "run time limit per job (a number in minutes, or e.g. '2h'; "
                            "bsub -W); 0: the queue's", kind="duration", unit="m")
    memory: float = option(0.0, "memory per job (a number in MB, or e.g. '2GB'; bsub -M and "
                           "-R rusage[mem=]); 0: the queue's", kind="bytes", unit="MB")
    cores: int = option(0, "cores per job (bsub -n); 0: 1")
    extra_lines: str = option("", "more bsub options, one per line ('-G mygroup'), written "
                              "as #BSUB lines of the job script", parameter=False)
    max_array_size: int = option(0, "most jobs per bsub job array; 0: the cluster's "
                                 "MAX_JOB_ARRAY_SIZE (bparams -a), 1000 where it is not known",
                                 parameter=False)
