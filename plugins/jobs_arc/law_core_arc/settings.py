"""The options of law-core-arc, declared once: the ``--arc-<option>`` parameters of every
workflow, the ``[arc]`` config section and their defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from law_core.plugin import Settings, option


@dataclass(frozen=True)
class ArcSettings(Settings):
    section: ClassVar[str] = "arc"

    ce: str = option("", "the ARC CE to submit to (arcsub -C), e.g. "
                     "'https://ce.example.org:443/arex' or 'ce.example.org'")
    queue: str = option("", "queue of the CE (xRSL queue); empty: the CE's choice")
    memory: float = option(0.0, "memory per CPU (a number in MB, or e.g. '2GB'); 0: the "
                           "CE's default", kind="bytes", unit="MB")
    walltime: float = option(0.0, "wall time per job (a number in minutes, or e.g. '2h'); "
                             "0: the CE's default", kind="duration", unit="m")
    cpus: int = option(0, "CPUs per job (xRSL count); 0: 1")
    interface: str = option("arcrest", "submission interface (arcsub -T)", parameter=False)
    extra_xrsl: str = option("", "more xRSL relations, one per line "
                             "('(runtimeenvironment=\"ENV/SINGULARITY\")')", parameter=False)
    max_batch_size: int = option(100, "most jobs per arcsub call", parameter=False)
    submit_timeout: float = option(600.0, "seconds arcsub may take for a batch",
                                   parameter=False)
