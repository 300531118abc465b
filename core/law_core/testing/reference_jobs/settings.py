"""The options of the reference job manager, declared once: the ``[processes]`` config
section, the ``--processes-start-delay`` parameter of every workflow, and their defaults.

A module of its own, as in every job-manager plugin: the core loads it while it builds the
workflow class, before the manager's module (which needs that class) can be imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from law_core.plugin import Settings, option


@dataclass(frozen=True)
class ProcessSettings(Settings):
    """The options of ``--workflow processes``: the ``[processes]`` config section and the
    ``--processes-start-delay`` parameter of every workflow."""

    section: ClassVar[str] = "processes"

    spool: str = option("", "directory where the jobs' states are kept; empty: "
                        "law-core-processes-UID in the system's temporary directory",
                        parameter=False)
    start_delay: float = option(0.0, "how long each job waits, pending, before it starts "
                                "(a queue, in seconds or e.g. '1min')", kind="duration",
                                unit="s")
