"""Names of the temporary siblings of atomic writes, and how to tell stale ones.

An atomic write puts its bytes under a hidden sibling name and renames it to the target's
name when writing succeeded. The name says who wrote it, so that a later run can remove
what a killed run left behind without touching the file of a writer that is still busy::

    .tmp-HOST-PID-RAND-NAME        e.g.  .tmp-3fa2c1d0-81234-9f2a6b-out_7.tar.gz

``HOST`` identifies the machine (its host name and PID namespace: a container with its own
processes counts as another machine), ``PID`` the writing process, ``RAND`` the write.
``NAME`` is the target's name, so that tools choosing the format by the extension
(``.tar.gz``, numpy adding ``.npy`` when it is missing) write the right one. The whole name
is never longer than the target's name or :data:`SHORT_NAME_BYTES`, whichever is more: a
name the file system accepts for the target is accepted for its temporary sibling too.
When ``NAME`` does not fit, it is ``~DIGEST~TAIL``: a digest of the whole name (to tell
the temporaries of different targets apart) and as much of its end as fits (the
extension).
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

TMP_PREFIX = ".tmp-"

#: names up to this length (in bytes) are fine on every file system in use (NAME_MAX is
#: 255 on the common ones, 143 on eCryptfs)
SHORT_NAME_BYTES = 128

#: a temporary sibling whose writer is unknown (another machine, or an older law-core)
#: counts as abandoned when it was not modified for this long (seconds); live writers
#: modify theirs while they write, and an upload lasts minutes, not a day
STALE_TEMPORARY_AGE = 24 * 3600.0

_NAME = re.compile(r"^\.tmp-([0-9a-f]{8})-([0-9]{1,10})-([0-9a-f]{6})-(.+)$", re.DOTALL)
#: the names written before the writer was recorded: ``.tmp-XXXXXXXX-NAME``
_LEGACY_NAME = re.compile(r"^\.tmp-[0-9a-f]{8}-(.+)$", re.DOTALL)

_host_id: str | None = None

#: the temporary names this process is writing right now
_writing: set[str] = set()
_writing_lock = threading.Lock()


def host_id() -> str:
    """Eight hex digits naming this machine and PID namespace: two processes with the
    same host id see each other's PIDs."""
    global _host_id
    if _host_id is None:
        import socket  # only when writing: not at every start-up

        try:
            namespace = os.readlink("/proc/self/ns/pid")
        except OSError:
            namespace = ""
        _host_id = hashlib.sha1(f"{socket.gethostname()}\0{namespace}".encode()).hexdigest()[:8]
    return _host_id


def _nbytes(text: str) -> int:
    return len(text.encode("utf-8", "surrogateescape"))


def name_tail(text: str, max_bytes: int) -> str:
    """The longest end of ``text`` that encodes to at most ``max_bytes`` bytes."""
    size, start = 0, len(text)
    while start > 0:
        size += _nbytes(text[start - 1])
        if size > max_bytes:
            break
        start -= 1
    return text[start:]


def _digest(name: str) -> str:
    return hashlib.sha1(name.encode("utf-8", "surrogateescape")).hexdigest()[:8]


def shorten_name(name: str, max_bytes: int = SHORT_NAME_BYTES) -> str:
    """``name``, or when it is longer than ``max_bytes`` bytes ``~DIGEST~TAIL``: a digest
    of the whole name and as much of its end (the extension) as fits. Also the name of
    local copies of remote files (a storage may allow longer names than the local disk,
    and tools may fail on long non-ASCII ones)."""
    if _nbytes(name) <= max_bytes:
        return name
    marker = f"~{_digest(name)}~"
    return marker + name_tail(name, max(max_bytes - len(marker), 0))


def temporary_sibling_name(name: str, *, pid: int | None = None, host: str | None = None
                           ) -> str:
    """A hidden name beside ``name`` for writing it, never matched by a collection.

    It ends with ``name`` (or with its end, see the module docstring), and is at most as
    long as ``name`` or :data:`SHORT_NAME_BYTES` bytes. ``pid`` and ``host`` default to
    this process and machine (tests pass others to pose as another writer).
    """
    prefix = (f"{TMP_PREFIX}{host or host_id()}-{os.getpid() if pid is None else pid}-"
              f"{os.urandom(3).hex()}-")
    return prefix + shorten_name(name, max(_nbytes(name), SHORT_NAME_BYTES) - _nbytes(prefix))


@contextmanager
def writing(name: str) -> Iterator[str]:
    """A temporary sibling name for ``name``, known as being written by this process
    during the block (a later run in this process may remove it once the block is over)."""
    tmp = temporary_sibling_name(name)
    with _writing_lock:
        _writing.add(tmp)
    try:
        yield tmp
    finally:
        with _writing_lock:
            _writing.discard(tmp)


def is_temporary_name(name: str) -> bool:
    """Whether ``name`` is a temporary sibling of an atomic write."""
    return name.startswith(TMP_PREFIX)


@dataclass(frozen=True)
class Writer:
    """Who wrote the temporary sibling ``entry``; ``host`` and ``pid`` are None when
    unknown."""

    entry: str
    host: str | None
    pid: int | None

    def is_gone(self) -> bool:
        """Whether the writer is a process of this machine that no longer runs, or this
        process, which no longer writes it (a failed write whose cleanup failed). A PID
        reused since counts as running: its file is then judged by its age."""
        if self.host != host_id() or self.pid is None:
            return False
        if self.pid == os.getpid():
            with _writing_lock:
                return self.entry not in _writing
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except OSError:  # PermissionError: it runs, as another user
            return False
        return False


def temporary_writer(entry: str, name: str) -> Writer | None:
    """The writer of ``entry`` when it is a temporary sibling of ``name``, else None."""
    match = _NAME.match(entry)
    if match:
        embedded = match.group(4)
        if embedded == name or _is_shortened(embedded, name):
            return Writer(entry, match.group(1), int(match.group(2)))
    legacy = _LEGACY_NAME.match(entry)
    if legacy and legacy.group(1) == name:
        return Writer(entry, None, None)
    return None


def _is_shortened(embedded: str, name: str) -> bool:
    marker = f"~{_digest(name)}~"
    return embedded.startswith(marker) and name.endswith(embedded[len(marker):])


def is_stale(writer: Writer, mtime: float, max_age: float = STALE_TEMPORARY_AGE,
             now: float | None = None) -> bool:
    """Whether a temporary sibling is abandoned: its writer is gone (see
    :meth:`Writer.is_gone`), or it was not modified for ``max_age`` seconds."""
    if writer.is_gone():
        return True
    return (time.time() if now is None else now) - mtime > max_age
