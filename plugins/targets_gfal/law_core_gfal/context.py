"""The gfal2 bindings and the gfal2 contexts of a process.

A gfal2 context holds connections and threads that do not survive ``fork()``: a worker
forked by a local workflow must not use its parent's. :func:`get_context` therefore keys
the context by ``os.getpid()`` and creates a fresh one in a new process (which is not
enough for every backend: :mod:`law_core_gfal.helper`). Downloads from
HTTP storage take a second context with other copy options (:func:`get_download_context`).

A context is freed only while its own process goes on (:func:`reset_context`), never at
the process's end nor in a forked child: see :func:`_keep_to_process_end`.
"""

from __future__ import annotations

import atexit
import ctypes
import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from law_core.plugin import PluginError
from law_core_gfal import helper

#: ``[gfal]`` option -> XRootD client environment variable
XRD_ENVIRONMENT = {
    "xrootd_connection_retry": "XRD_CONNECTIONRETRY",
    "xrootd_connection_window": "XRD_CONNECTIONWINDOW",
    "xrootd_stream_error_window": "XRD_STREAMERRORWINDOW",
    "xrootd_request_timeout": "XRD_REQUESTTIMEOUT",
}

#: the piece size of the downloads from HTTP storage, see :func:`get_download_context`
DOWNLOAD_BUFFER_SIZE = 128 * 1024

_lock = threading.Lock()
#: this process's contexts by purpose ("requests", "download"), made in ``_contexts_pid``
_contexts: dict[str, Any] = {}
_contexts_pid: int | None = None


def gfal2_module() -> Any:
    """The ``gfal2`` bindings, imported on first use; a clear error when missing."""
    try:
        import gfal2
    except ImportError as err:
        raise PluginError(
            "law-core-gfal needs the gfal2 Python bindings, which are not importable here "
            f"({err}); install them with the system's gfal2: Debian/Ubuntu apt-get install "
            "python3-gfal2 (then scripts/setup-env links them into .venv), conda install -c "
            "conda-forge python-gfal2, pip install gfal2-python (builds against installed "
            "gfal2 headers), or source an LCG view from CVMFS; see the README of law-core-gfal"
        ) from err
    return gfal2


def _apply_xrootd_environment() -> None:
    """Settings of the XRootD client, read once per process when it starts: an
    environment variable set by the user wins over the ``[gfal]`` config."""
    from law_core.plugin import get_config
    from law_core_gfal.plugin import CONFIG_DEFAULTS

    cfg = get_config()
    for option, variable in XRD_ENVIRONMENT.items():
        if variable in os.environ:
            continue
        value = cfg.get_int("gfal", option, default=int(CONFIG_DEFAULTS[option]))
        os.environ[variable] = str(value)


def _apply_context_options(context: Any) -> None:
    """The ``[gfal]`` options that are gfal2 context options."""
    from law_core.plugin import get_config
    from law_core_gfal.plugin import CONFIG_DEFAULTS

    token = get_config().get_bool("gfal", "http_bearer_token",
                                  default=CONFIG_DEFAULTS["http_bearer_token"] == "true")
    context.set_opt_boolean("HTTP PLUGIN", "RETRIEVE_BEARER_TOKEN", token)


def backend_debug() -> bool:
    """Whether the backends' own logging should show: law-core logs at DEBUG
    (``law-core run --log-level DEBUG``), or the user set the ``gfal2`` logger to DEBUG."""
    own = logging.getLogger("gfal2").level
    return (logging.getLogger("law_core").isEnabledFor(logging.DEBUG)
            or logging.NOTSET < own <= logging.DEBUG)


def _set_backend_verbosity(gfal2: Any) -> None:
    """Keep gfal2, davix and the XRootD client quiet unless :func:`backend_debug`.

    The gfal2 bindings default to "verbose" and forward to the ``gfal2`` Python logger at
    INFO: a run whose outputs were on ``davs://`` printed every HTTP header davix saw
    (thousands of lines) and a warning per request about tokens. At "normal" gfal2 and
    davix (whose level the HTTP plugin takes from gfal2's when the context loads it) say
    nothing; failures still raise with their reason. Called before each context is made.
    """
    if backend_debug():
        gfal2.set_verbose(gfal2.verbose_level.verbose)
        # read by the XRootD client once per process; a user's setting wins
        os.environ.setdefault("XRD_LOGLEVEL", "Info")
    else:
        gfal2.set_verbose(gfal2.verbose_level.normal)


@contextmanager
def signals_kept() -> Iterator[None]:
    """Restore the calling thread's signal mask after a gfal2 call.

    The XRootD client blocks every signal in the thread that first uses it and leaves them
    blocked: Ctrl-C and SIGTERM would no longer reach law-core, and every process it starts
    afterwards (jobs, sandboxes) would inherit the blocked mask.
    """
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def get_context() -> Any:
    """The gfal2 context of this process (created on first use, and anew after a fork)."""
    return _context_for("requests")


def get_download_context() -> Any:
    """The gfal2 context for downloads from HTTP storage (``davs://``, ``https://``, ...) to
    local files, made like :func:`get_context` but copying in pieces of
    :data:`DOWNLOAD_BUFFER_SIZE`.

    gfal2's HTTP plugin copies only *to* HTTP; a download to a local file is gfal2's generic
    streamed copy, which reads and writes in pieces of the context option
    ``CORE:COPY_BUFFERSIZE``, 4 MiB by default. On XrdHttp over loopback (1 GiB, medians of
    8 runs, issue 19) 4 MiB pieces ran at half of davix-get's speed, with twice its system
    time (in the writes to the local file), 1 MiB at 60 %, 256 KiB at 87-97 %, 32 to
    128 KiB as fast as davix-get (128 KiB the steadiest). A Python loop of ``read_bytes``
    into the file (128 KiB to 4 MiB) was slower than the copy with the same pieces: the
    bindings clear and copy each piece twice before Python has it.

    The option is per context, and it also sizes gfal2's streamed copies between two
    remote protocols (``davs://`` to ``root://``, where each write is a round trip to the
    server) and to and from ``gsiftp://``: those keep gfal2's setting in
    :func:`get_context`'s context.
    """
    return _context_for("download")


def _context_for(purpose: str) -> Any:
    pid = os.getpid()
    if _contexts_pid == pid:
        context = _contexts.get(purpose)
        if context is not None:
            return context
    with _lock:
        _new_process_check(pid)
        if purpose not in _contexts:
            _contexts[purpose] = _new_context(purpose)
        return _contexts[purpose]


def _new_process_check(pid: int) -> None:
    global _contexts_pid
    if _contexts_pid != pid:
        _contexts.clear()
        _contexts_pid = pid


def _new_context(purpose: str) -> Any:
    gfal2 = gfal2_module()
    _apply_xrootd_environment()
    _set_backend_verbosity(gfal2)
    with signals_kept():
        context = gfal2.creat_context()
    helper.mark_context_created()
    _apply_context_options(context)
    if purpose == "download":
        context.set_opt_integer("CORE", "COPY_BUFFERSIZE", DOWNLOAD_BUFFER_SIZE)
    return context


def _keep_to_process_end(contexts: list[Any]) -> None:
    """Never free ``contexts``: they end with the process, with their connections.

    Freeing a context ends its cached GridFTP sessions asynchronously: Globus sends QUIT
    and, in one of its threads, frees the session's GSI credentials when the answer
    comes. A context freed as Python shuts down (the last references go in its final
    garbage collection) left that thread running into ``exit()``, which had already torn
    down OpenSSL: the process died of SIGSEGV after its work was done, about one
    ``law-core run --print-status`` in ten on ``gsiftp://`` outputs, and a batch job
    would be reported failed with its outputs written. In a forked child the inherited
    contexts are the parent's, on the parent's connections, and Globus's threads are gone.
    """
    for context in contexts:
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(context))


@atexit.register
def _keep_at_exit() -> None:
    # atexit handlers run before the interpreter drops its modules' references
    if _contexts_pid == os.getpid():
        _keep_to_process_end(list(_contexts.values()))


def _after_fork_in_child() -> None:
    # a lock held by another thread at fork time would never be released in the child
    global _lock, _contexts, _contexts_pid
    _keep_to_process_end(list(_contexts.values()))
    _lock = threading.Lock()
    _contexts, _contexts_pid = {}, None


os.register_at_fork(after_in_child=_after_fork_in_child)


def reset_context() -> None:
    """Drop this process's contexts (tests, or after changing gfal2 options)."""
    global _contexts_pid
    with _lock:
        _contexts.clear()
        _contexts_pid = None
