"""File copies in a helper process, for processes forked after gfal2 moved files.

The XRootD client under gfal2 does not survive ``fork()`` once it has transferred files:
in the child, every further transfer (``filecopy``, but also reading an opened file) waits
forever, while metadata requests (stat, listdir, mkdir, rename) keep working. Local
workflows run branches in forked processes, and those write their outputs.

So a process that inherited transfer state from its parent (it was forked after the
parent copied a file) copies through a helper: a fresh Python process started with
``subprocess`` (fork and exec, so no XRootD state survives), one per process, reused for
every copy, talking JSON lines over pipes. URIs go over the pipe, never onto a command
line, where ``ps`` would show tokens in them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from typing import Any

#: the pid of the process that first transferred in-process (inherited by forks)
_transfer_pid: int | None = None

_helper: subprocess.Popen[str] | None = None
_helper_pid: int | None = None
_helper_lock = threading.Lock()


def mark_transferred() -> None:
    """Record that this process transferred files with gfal2 itself."""
    global _transfer_pid
    if _transfer_pid is None:
        _transfer_pid = os.getpid()


def needs_helper() -> bool:
    """Whether this process was forked from one that transferred files in-process."""
    return _transfer_pid is not None and _transfer_pid != os.getpid()


#: set for the helper when the backends' logging should show (law-core at DEBUG)
DEBUG_VARIABLE = "LAW_CORE_GFAL_HELPER_DEBUG"


def _start_helper() -> subprocess.Popen[str]:
    from law_core_gfal.context import backend_debug

    env = dict(os.environ)
    env.pop(DEBUG_VARIABLE, None)
    if backend_debug():
        env[DEBUG_VARIABLE] = "1"
    return subprocess.Popen(
        [sys.executable, "-m", "law_core_gfal.transfer"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1, env=env,
    )


def copy_in_helper(src_uri: str, dst_uri: str, options: dict[str, Any]) -> None:
    """Copy ``src_uri`` to ``dst_uri`` in this process's helper; raises the OSError the
    helper's copy raised (same errno), so failover and retries work as in-process."""
    global _helper, _helper_pid
    request = json.dumps({"src": src_uri, "dst": dst_uri, "options": options}) + "\n"
    with _helper_lock:
        for _attempt in range(2):
            if _helper is None or _helper_pid != os.getpid() or _helper.poll() is not None:
                _helper, _helper_pid = _start_helper(), os.getpid()
            try:
                _helper.stdin.write(request)  # type: ignore[union-attr]
                _helper.stdin.flush()  # type: ignore[union-attr]
                line = _helper.stdout.readline()  # type: ignore[union-attr]
            except (BrokenPipeError, OSError):
                line = ""
            if line:
                break
            _helper = None  # it died: start a new one, once
        else:
            raise ConnectionError("the gfal2 transfer helper process died; see its stderr")
    answer = json.loads(line)
    if "errno" in answer:
        raise OSError(answer["errno"], answer["message"], answer.get("filename"))


def _serve() -> None:
    """The helper: copy what is asked on stdin, answer on stdout, until stdin closes."""
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
            GFALFileInterface(**request["options"]).copy_here(request["src"], request["dst"])
        except OSError as err:
            answer: dict[str, Any] = {"errno": err.errno, "message": err.strerror or str(err),
                                      "filename": err.filename}
        except Exception as err:  # reported like a failure to reach the storage
            answer = {"errno": 5, "message": f"{type(err).__name__}: {err}"}
        else:
            answer = {"ok": True}
        answers.write(json.dumps(answer) + "\n")


if __name__ == "__main__":
    _serve()
