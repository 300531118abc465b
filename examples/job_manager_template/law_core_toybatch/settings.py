"""The options of law-core-toybatch, declared once.

From this dataclass law-core derives the ``--toybatch-<option>`` parameters of every
workflow, the ``[toybatch]`` config section with these defaults, and the resolution of a
value (a parameter the user set, else the config, else the default below). The manager
reads them as ``self.settings.queue``. For your batch system: rename the section, keep
the options users set per job (queue, memory, time, account, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from law_core.plugin import Settings, option


@dataclass(frozen=True)
class ToyBatchSettings(Settings):
    section: ClassVar[str] = "toybatch"

    queue: str = option("", "toybatch queue (toybatch-submit --queue); empty: the "
                        "default queue")
    # "bytes" and "duration" accept '2GB' or '2h' and give a number in the unit named
    memory: float = option(0.0, "memory per job (a number in MB, or e.g. '2GB'); 0: no "
                           "limit", kind="bytes", unit="MB")
    time: float = option(0.0, "time limit per job (a number in minutes, or e.g. '2h'); "
                         "0: the queue's", kind="duration", unit="m")
    # parameter=False: config only, e.g. site-wide options the command line need not show
    extra_options: str = option("", "more toybatch-submit options, one per line",
                                parameter=False)
