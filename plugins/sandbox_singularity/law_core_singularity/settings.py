"""The options of ``singularity::`` and ``apptainer::`` sandboxes, declared once (cheap
to import: no spython).

``singularity::`` reads ``[singularity]``; ``apptainer::`` reads ``[apptainer]``, then
``[singularity]``; then the defaults below. Never ``[sandbox]`` (a ``[sandbox] python``
meant for bash sandboxes must not reach a container).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from law_core.plugin import Settings, option


@dataclass(frozen=True)
class SingularitySettings(Settings):
    """``[singularity]`` (the plugin's README describes each option)."""

    section: ClassVar[str] = "singularity"

    binary: str = option("", "the executable (name or path); empty: the sandbox type's own "
                             "name on PATH, then the other (apptainer, singularity)")
    python: str = option("", "the image's interpreter with law-core installed; empty: python3 "
                             "with the host's law-core bound read-only")
    clean_env: bool = option(True, "start with --cleanenv: only the variables law-core "
                                   "passes arrive")
    binds: str = option("", "more binds, comma- or newline-separated SOURCE[:TARGET[:ro|rw]]")
    options: str = option("", "more exec options, split as a shell would (--nv --contain)")
