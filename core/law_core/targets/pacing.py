"""A limit on the rate of requests one process sends to one storage.

A status check of 100k outputs, or many workers starting at once, can send thousands of
requests per second to a storage element that serves a whole site. ``max_requests_per_second``
in ``[fs.NAME]`` spaces the file system's requests evenly (every attempt on every base
counts); listings that answer a whole directory at once are still one request.
"""

from __future__ import annotations

import threading
import time


class RequestPacer:
    """Spaces calls to :meth:`wait` at least ``1 / rate`` seconds apart, across the
    threads of the process. A ``rate`` of 0 or less means no limit."""

    def __init__(self, rate: float = 0.0):
        self.rate = float(rate)
        self._interval = 1.0 / self.rate if self.rate > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RequestPacer(rate={self.rate:g})"

    def __reduce__(self) -> tuple:
        # a file system goes to worker processes pickled: the rate goes, the lock is new
        return (RequestPacer, (self.rate,))

    def wait(self) -> None:
        """Block until the next request may go out, and book its slot."""
        if not self._interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self._interval
        if start > now:
            time.sleep(start - now)
