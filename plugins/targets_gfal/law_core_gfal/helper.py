"""gfal2 requests in a helper process, for processes forked after gfal2 was used.

Two backends under gfal2 do not survive ``fork()``:

- **XRootD**, once the parent has *transferred* files: in the child every further transfer
  (``filecopy``, but also reading an opened file) waits forever, while metadata requests
  (stat, listdir, mkdir, rename) keep working. Local workflows run branches in forked
  processes, and those write their outputs.
- **Globus** (GridFTP: ``gsiftp://``, anonymous ``ftp://``; SRM, whose GSI and transfer
  URLs are Globus's too), once the parent has merely *created* a gfal2 context, which
  loads the GridFTP plugin and starts Globus's threads: in the child *every* request,
  ``stat`` included, waits for a callback from threads that did not survive the fork, and
  a new context does not help. ``law-core run --workers 2`` forks luigi's task processes
  after the scheduling process checked outputs on storage, so a workflow with GridFTP
  outputs hung forever there.

So such a process sends those requests to a helper: a fresh Python process started with
``subprocess`` (fork and exec, so no backend state survives), one per process, reused for
every request, talking JSON lines over pipes. URIs go over the pipe, never onto a command
line, where ``ps`` would show tokens in them. Every request to the helper has a wall-clock
bound: a helper that does not answer in time is killed and the request raises
``TimeoutError`` naming the URI (transient, so failover and retries apply), never a hang.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import select
import subprocess
import sys
import threading
import time
from typing import Any

from law_core.plugin import StatResult, redact, scheme_of

#: schemes whose gfal2 plugin rests on Globus, which hangs in a forked process
GLOBUS_SCHEMES = frozenset({"gsiftp", "ftp", "srm"})

#: seconds a metadata request may take in the helper before it counts as lost (gfal2's own
#: namespace timeout), and the margin added to it, or to a copy's transfer timeout
REQUEST_TIMEOUT = 300
TIMEOUT_MARGIN = 60

#: the pid of the process that first transferred in-process (inherited by forks)
_transfer_pid: int | None = None
#: the pid of the process that first created a gfal2 context (inherited by forks)
_context_pid: int | None = None

_helper: subprocess.Popen[bytes] | None = None
_helper_pid: int | None = None
_helper_lock = threading.Lock()


def mark_transferred() -> None:
    """Record that this process transferred files with gfal2 itself."""
    global _transfer_pid
    if _transfer_pid is None:
        _transfer_pid = os.getpid()


def mark_context_created() -> None:
    """Record that this process created a gfal2 context (and so started Globus)."""
    global _context_pid
    if _context_pid is None:
        _context_pid = os.getpid()


def needs_helper(*uris: str, transfer: bool = False) -> bool:
    """Whether a request on ``uris`` (a copy when ``transfer``) must go to the helper:
    this process was forked from one whose backend state it cannot use (module docstring)."""
    pid = os.getpid()
    if transfer and _transfer_pid is not None and _transfer_pid != pid:
        return True
    return (_context_pid is not None and _context_pid != pid
            and any(scheme_of(uri) in GLOBUS_SCHEMES for uri in uris))


#: set for the helper when the backends' logging should show (law-core at DEBUG)
DEBUG_VARIABLE = "LAW_CORE_GFAL_HELPER_DEBUG"


def _start_helper() -> subprocess.Popen[bytes]:
    from law_core_gfal.context import backend_debug

    env = dict(os.environ)
    env.pop(DEBUG_VARIABLE, None)
    if backend_debug():
        env[DEBUG_VARIABLE] = "1"
    return subprocess.Popen(
        [sys.executable, "-m", "law_core_gfal.helper"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0, env=env,
    )


class _NoAnswer(Exception):
    """The helper did not answer before the deadline."""


def _read_line(process: subprocess.Popen[bytes], deadline: float) -> bytes:
    """One line from the helper, or ``b""`` when it died; :class:`_NoAnswer` at the deadline."""
    fd = process.stdout.fileno()  # type: ignore[union-attr]
    line = bytearray()
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise _NoAnswer
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b""
        line += chunk
    return bytes(line)


def call(operation: str, options: dict[str, Any], *args: str,
         timeout: int | None = None) -> Any:
    """``GFALFileInterface(**options).<operation>(*args)`` in this process's helper: its
    result (a :class:`StatResult` for ``stat``), or the OSError it raised (same errno), so
    failover and retries work as in-process. ``timeout``: the seconds the request itself
    may take (a copy's transfer timeout; default :data:`REQUEST_TIMEOUT`), to which the
    bound adds :data:`TIMEOUT_MARGIN`."""
    global _helper, _helper_pid
    request = (json.dumps({"op": operation, "args": args, "options": options}) + "\n").encode()
    bound = (REQUEST_TIMEOUT if timeout is None else timeout) + TIMEOUT_MARGIN
    with _helper_lock:
        for _attempt in range(2):
            if _helper is None or _helper_pid != os.getpid() or _helper.poll() is not None:
                _helper, _helper_pid = _start_helper(), os.getpid()
            try:
                _helper.stdin.write(request)  # type: ignore[union-attr]
                line = _read_line(_helper, time.monotonic() + bound)
            except (BrokenPipeError, OSError):
                line = b""
            except _NoAnswer:
                _helper.kill()
                _helper.wait()
                _helper = None
                raise TimeoutError(
                    errno.ETIMEDOUT, f"{operation} got no answer from the storage within "
                    f"{bound} s (in law-core-gfal's helper process, which was stopped)",
                    redact(args[0])) from None
            if line:
                break
            _helper = None  # it died: start a new one, once
        else:
            raise ConnectionError("the gfal2 helper process died; see its stderr")
    answer = json.loads(line)
    if "errno" in answer:
        raise OSError(answer["errno"], answer["message"], answer.get("filename"))
    if "stat" in answer:
        return StatResult(**answer["stat"])
    return answer["result"]


def _serve() -> None:
    """The helper: run what is asked on stdin, answer on stdout, until stdin closes."""
    from law_core_gfal.file_interface import GFALFileInterface

    # gfal2 and XRootD may print: keep the protocol channel for answers only
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    if os.environ.get(DEBUG_VARIABLE) == "1":
        # the parent logs at DEBUG: the backends' lines go to the shared stderr too
        import logging

        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s: %(message)s")
    for line in sys.stdin:
        request = json.loads(line)
        try:
            interface = GFALFileInterface(**request["options"])
            result = getattr(interface, request["op"])(*request["args"])
        except OSError as err:
            answer: dict[str, Any] = {"errno": err.errno, "message": err.strerror or str(err),
                                      "filename": err.filename}
        except Exception as err:  # reported like a failure to reach the storage
            answer = {"errno": errno.EIO, "message": f"{type(err).__name__}: {err}"}
        else:
            if isinstance(result, StatResult):
                answer = {"stat": dataclasses.asdict(result)}
            else:
                answer = {"result": result}
        answers.write(json.dumps(answer) + "\n")


if __name__ == "__main__":
    _serve()
