"""The options of the ``[report]`` config section."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from law_core.plugin import Settings, option


def _default_runs_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return os.path.join(base, "law-core", "runs")


@dataclass(frozen=True)
class ReportSettings(Settings):
    section: ClassVar[str] = "report"

    runs_dir: str = option(_default_runs_dir(), "where runs record their task and job "
                           "events (one JSON-lines file per run), read by the report and "
                           "the dashboard", parameter=False)
    record_events: bool = option(True, "record the events of law-core runs in runs_dir",
                                 parameter=False)
    keep_days: float = option(14.0, "runs older than this many days are left out of "
                              "reports and removed when a new run starts", parameter=False)
    svg_max_tasks: int = option(200, "the most tasks whose graph the page holds as SVG; "
                                "above, its script draws the graph on a canvas (opening an "
                                "SVG of thousands of tasks takes Chromium seconds)",
                                parameter=False)


def settings() -> ReportSettings:
    return ReportSettings.resolve()


def runs_dir(given: str | None = None) -> Path:
    """``given``, else ``[report] runs_dir``, with ``~`` and variables expanded."""
    path = given or settings().runs_dir
    return Path(os.path.expandvars(os.path.expanduser(path)))
