"""SIGINT and SIGTERM while a sandbox runs: clean up first, then act as the signal would.

:func:`interruptible` installs handlers (in the main thread only: Python allows no other)
that turn the signal into :class:`Interrupted`, so that ``finally`` blocks remove what the
sandbox started. After the cleanup, :meth:`Interrupted.reraise` restores the previous
handlers and delivers the signal to them: SIGINT raises ``KeyboardInterrupt``, a SIGTERM
with the default disposition ends the process by that signal, as if it had never been
caught. A signal that arrives during the cleanup is remembered, not raised again.

Shared by the container sandboxes (law-core-docker, law-core-singularity), which depend on
the core alone.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """Raised in place of SIGINT/SIGTERM while a sandbox runs (a BaseException, so that
    ``except Exception`` in between does not swallow it)."""

    def __init__(self, signum: int, previous: dict[int, Any]):
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum
        self.previous = previous

    def reraise(self) -> None:
        """Deliver the signal to the handler that was there before."""
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        handler = self.previous.get(self.signum, signal.SIG_DFL)
        if handler is signal.default_int_handler:
            raise KeyboardInterrupt
        if handler in (signal.SIG_DFL, None):
            os.kill(os.getpid(), self.signum)  # the default action: the process ends here
        elif callable(handler):
            handler(self.signum, None)
        raise self


class _State:
    def __init__(self) -> None:
        self.armed = True
        self.pending: int | None = None


@contextmanager
def interruptible() -> Iterator[_State]:
    """Within the block, SIGINT and SIGTERM raise :class:`Interrupted`; set
    ``state.armed = False`` before cleaning up so that further signals only wait."""
    state = _State()
    if threading.current_thread() is not threading.main_thread():
        yield state
        return
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: Any) -> None:
        if not state.armed:
            state.pending = state.pending or signum
            return
        state.armed = False
        raise Interrupted(signum, previous)

    for signum in SIGNALS:
        current = signal.getsignal(signum)
        if current is signal.SIG_IGN:
            continue  # an ignored signal stays ignored
        previous[signum] = current
        signal.signal(signum, handler)
    try:
        yield state
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
    if state.pending is not None:  # arrived during the cleanup, after a normal end
        Interrupted(state.pending, previous).reraise()
