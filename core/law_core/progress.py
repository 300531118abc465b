"""Progress of long runs: a live bar on a terminal, periodic log lines otherwise."""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

logger = logging.getLogger("law_core.progress")


class Progress:
    """Counts done and failed items out of a total and shows them.

    On a terminal the bar is redrawn at most ten times a second; elsewhere (log files,
    batch jobs) a line is logged every ``log_interval`` seconds and at the end.
    """

    def __init__(self, total: int, label: str, stream: TextIO | None = None,
                 log_interval: float = 10.0):
        self.total = total
        self.label = label
        self.done = 0
        self.failed = 0
        self.stream = stream or sys.stderr
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.log_interval = log_interval
        self._started = self._last = time.monotonic()

    def advance(self, failed: bool = False) -> None:
        if failed:
            self.failed += 1
        else:
            self.done += 1
        now = time.monotonic()
        finished = self.done + self.failed >= self.total
        if finished or now - self._last >= (0.1 if self.live else self.log_interval):
            self._last = now
            self._show(finished)

    def _show(self, final: bool) -> None:
        n = self.done + self.failed
        text = f"{self.label}: {self.done} done, {self.failed} failed, {self.total} total"
        if self.live:
            width = 30
            filled = int(width * n / self.total) if self.total else width
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {text}")
            if final:
                self.stream.write(f" ({time.monotonic() - self._started:.1f} s)\n")
            self.stream.flush()
        else:
            logger.info("%s (%.1f s)", text, time.monotonic() - self._started)

    def close(self) -> None:
        """Show the final state if the last item did not already."""
        if self.done + self.failed < self.total:
            self._show(True)
