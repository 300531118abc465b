"""Processes that must not outlive the ``law-core run`` that started them.

luigi runs tasks in forked processes with ``--workers N``; when the starting process is
killed (even with SIGKILL, which it cannot handle), such a child would go on running or
submitting jobs as an orphan, and a restart would run beside it. On Linux the kernel
sends a child a signal when its parent dies (``PR_SET_PDEATHSIG``); elsewhere the child
polls its parent.
"""

from __future__ import annotations

import ctypes
import functools
import os
import signal
import sys
import threading
import time

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int, signum: int = signal.SIGTERM) -> None:
    """Have this process receive ``signum`` when ``parent_pid``, its parent, ends.

    SIGTERM lets the child clean up (a sandbox removes its container, a submitter saves
    its bookkeeping) as it would on ``kill``."""
    if sys.platform.startswith("linux") and _prctl_pdeathsig(signum):
        # the parent may have died before prctl took effect
        if os.getppid() != parent_pid:
            os.kill(os.getpid(), signum)
        return
    _poll_parent(parent_pid, signum)


def _prctl_pdeathsig(signum: int) -> bool:
    try:
        return _libc().prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


@functools.lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL:
    """The C library, from the symbols the interpreter has loaded (no search: finding it by
    name runs ``ldconfig``, about 10 ms in every task process and branch process)."""
    return ctypes.CDLL(None, use_errno=True)


def _poll_parent(parent_pid: int, signum: int, interval: float = 1.0) -> None:
    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval)
        os.kill(os.getpid(), signum)

    threading.Thread(target=watch, name="law-core-parent-watch", daemon=True).start()
