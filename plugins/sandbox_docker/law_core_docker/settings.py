"""The options of ``docker::`` sandboxes, declared once (cheap to import: no docker SDK).

They are read from ``[docker]``, else the defaults below, never from ``[sandbox]`` (a
``[sandbox] python`` meant for bash sandboxes must not reach a container).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from law_core.plugin import Settings, option


@dataclass(frozen=True)
class DockerSettings(Settings):
    """``[docker]`` (the plugin's README describes each option)."""

    section: ClassVar[str] = "docker"

    python: str = option("", "the image's interpreter with law-core installed; empty: python3 "
                             "with the host's law-core mounted read-only")
    network: str = option("bridge", "Docker network mode (bridge, none, host, or a name)")
    run_as_root: bool = option(False, "run as the image's user instead of the caller's uid:gid")
    gpus: str = option("", "GPUs as docker run --gpus takes them: all, a count, device=ID,...")
    volumes: str = option("", "more mounts, comma- or newline-separated "
                              "SOURCE[:TARGET[:ro|rw]] (a SOURCE without a slash: a volume)")
    pull: str = option("missing", "pull the image: missing, always or never")
