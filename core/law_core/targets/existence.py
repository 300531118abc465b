"""What exists on remote storage, remembered across processes and runs.

Checking many remote outputs is what makes large analyses slow to start: every status, every
run asks the storage again about files that were there an hour ago. A file system with an
``exists_cache_lifetime`` remembers, in one SQLite database per user and machine, which
files it saw and when; an answer younger than the lifetime is given without a request.

Only *presence* is remembered, never absence. A file written by a job on another machine
must show up at once: had the cache remembered it as missing, law-core would run that work
again. The cost of the asymmetry is small, since missing files are the few that are about to
be made. Presence is forgotten whenever law-core itself removes or moves a file (in any
process using the same database), and a directory listing replaces what was remembered of
that directory, so a file removed by another tool is noticed by the next listing, or after
the lifetime at the latest.

The database uses SQLite's write-ahead log and waits for locks, so parallel workers and
jobs on one machine share it safely. It must be on a local disk (SQLite's locking does not
work on NFS): by default it is beside the download cache in the machine's temporary
directory.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable

from law_core.errors import TargetError

logger = logging.getLogger(__name__)

#: file name of the database inside a cache root
DATABASE_NAME = "existence.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS present (
    fs TEXT NOT NULL, dir TEXT NOT NULL, name TEXT NOT NULL, seen REAL NOT NULL,
    PRIMARY KEY (fs, dir, name)
) WITHOUT ROWID
"""

_bypass = False


def bypass(on: bool = True) -> None:
    """Ask the storage every time in this process (``law-core run --refresh``): answers
    are not taken from the database, but what is seen still updates it."""
    global _bypass
    _bypass = on


def bypassed() -> bool:
    """Whether :func:`bypass` is in effect."""
    return _bypass


def _split(path: str) -> tuple[str, str]:
    directory, _, name = path.rstrip("/").rpartition("/")
    return directory or "/", name


class ExistenceCache:
    """Presence of remote files with the time it was seen, shared through ``path``.

    ``fs`` arguments are a key naming one storage (a file system's ``cache_key``), paths
    are absolute paths on it. A ``lifetime`` of 0 disables the cache: nothing is stored or
    answered.
    """

    def __init__(self, path: str, lifetime: float):
        self.path = path
        self.lifetime = float(lifetime)
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._pid: int | None = None

    def __repr__(self) -> str:
        return f"ExistenceCache({self.path!r}, lifetime={self.lifetime:g})"

    def __reduce__(self) -> tuple:
        # pickled to worker processes: the database path and lifetime, a new connection
        return (ExistenceCache, (self.path, self.lifetime))

    @property
    def enabled(self) -> bool:
        return self.lifetime > 0

    def _db(self) -> sqlite3.Connection:
        # a connection must not cross fork(): a forked worker opens its own
        if self._connection is None or self._pid != os.getpid():
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=60.0, isolation_level=None,
                                         check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(_SCHEMA)
            self._connection, self._pid = connection, os.getpid()
        return self._connection

    def _write(self, statements: Iterable[tuple[str, tuple | list]], strict: bool = False
               ) -> None:
        """Run ``statements`` in one transaction. Remembering presence may fail quietly
        (it costs requests, never a wrong answer); forgetting it must not (``strict``):
        a removed file must never be reported as existing."""
        with self._lock:
            try:
                db = self._db()
                db.execute("BEGIN IMMEDIATE")
                try:
                    for sql, args in statements:
                        if isinstance(args, list):
                            db.executemany(sql, args)
                        else:
                            db.execute(sql, args)
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
            except sqlite3.Error as err:
                if strict:
                    raise TargetError(
                        f"the existence cache {self.path} could not be updated ({err}); "
                        "remove the file, or set exists_cache_lifetime = 0 for this file "
                        "system"
                    ) from err
                logger.warning("existence cache %s not updated: %s", self.path, err)

    def _fresh_since(self) -> float:
        return time.time() - self.lifetime

    # answers

    def exists(self, fs: str, path: str) -> bool:
        """Whether ``path`` was seen within the lifetime (False means: ask the storage)."""
        if not self.enabled or _bypass:
            return False
        directory, name = _split(path)
        with self._lock:
            try:
                row = self._db().execute(
                    "SELECT 1 FROM present WHERE fs=? AND dir=? AND name=? AND seen>=?",
                    (fs, directory, name, self._fresh_since())).fetchone()
            except sqlite3.Error as err:
                logger.warning("existence cache %s not read: %s", self.path, err)
                return False
        return row is not None

    def names(self, fs: str, directory: str) -> set[str]:
        """The names in ``directory`` seen within the lifetime."""
        if not self.enabled or _bypass:
            return set()
        with self._lock:
            try:
                # one string instead of a row per name (half the time for 1000 names): a
                # name in a directory never holds a slash
                (joined,) = self._db().execute(
                    "SELECT group_concat(name, '/') FROM present "
                    "WHERE fs=? AND dir=? AND seen>=?",
                    (fs, directory.rstrip("/") or "/", self._fresh_since())).fetchone()
            except sqlite3.Error as err:
                logger.warning("existence cache %s not read: %s", self.path, err)
                return set()
        return set(joined.split("/")) if joined else set()

    # what was seen or done

    def seen(self, fs: str, path: str) -> None:
        """``path`` exists now (a stat answered, or law-core wrote it)."""
        if self.enabled:
            directory, name = _split(path)
            self._write([("INSERT OR REPLACE INTO present VALUES (?, ?, ?, ?)",
                          (fs, directory, name, time.time()))])

    def listed(self, fs: str, directory: str, names: Iterable[str]) -> None:
        """A listing of ``directory`` answered ``names``: exactly these exist now."""
        if self.enabled:
            directory = directory.rstrip("/") or "/"
            now = time.time()
            self._write([
                ("DELETE FROM present WHERE fs=? AND dir=?", (fs, directory)),
                ("INSERT OR REPLACE INTO present VALUES (?, ?, ?, ?)",
                 [(fs, directory, name, now) for name in names]),
            ])

    def forget(self, fs: str, path: str, recursive: bool = False) -> None:
        """``path`` (and with ``recursive`` everything below it) is gone or changed."""
        if not self.enabled:
            return
        directory, name = _split(path)
        statements: list[tuple[str, tuple | list]] = [
            ("DELETE FROM present WHERE fs=? AND dir=? AND name=?", (fs, directory, name))]
        if recursive:
            below = path.rstrip("/")
            escaped = below.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            statements.append((
                "DELETE FROM present WHERE fs=? AND (dir=? OR dir LIKE ? ESCAPE '\\')",
                (fs, below or "/", escaped + "/%")))
        self._write(statements, strict=True)
