"""The SQLite database of records: one row per task run, one per input or output file.

WAL mode: readers never wait for writers, and the parallel processes of a run (local
workers, jobs on this machine) write one transaction per batch of records, waiting for
each other through SQLite's busy timeout. WAL needs every writer on one machine: keep the
database on a local disk (``[provenance] database``).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable
from typing import Any

from law_core.plugin import LawCoreError

SCHEMA = """
CREATE TABLE IF NOT EXISTS environments (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY,
    task_id TEXT NOT NULL,
    family TEXT NOT NULL,
    start REAL,
    end REAL NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
    record INTEGER NOT NULL REFERENCES records(id),
    role TEXT NOT NULL,
    uri TEXT NOT NULL,
    size INTEGER,
    mtime REAL,
    checksum TEXT
);
CREATE INDEX IF NOT EXISTS files_by_uri ON files (uri, role);
CREATE INDEX IF NOT EXISTS files_by_record ON files (record);
"""

#: record fields kept in their own columns or tables rather than in ``data``
_SPLIT = ("inputs", "outputs", "environment_facts")

#: seconds a writer waits for another's transaction before giving up
BUSY_TIMEOUT = 120.0


class Database:
    """The records at ``path``, created on first use."""

    def __init__(self, path: str, create: bool = True):
        self.path = path
        if not create and not os.path.exists(path):
            raise LawCoreError(f"no provenance database at {path}: nothing was recorded "
                               "there yet (set [provenance] database to where runs record)")
        if create:
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        try:
            self.con = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None)
            self._setup()
        except sqlite3.Error as err:
            raise LawCoreError(f"the provenance database {path} cannot be opened: {err}; "
                               "set [provenance] database to a file on a local disk") from err

    def _setup(self) -> None:
        for attempt in range(20):
            try:
                if self.con.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    self.con.execute("PRAGMA journal_mode=WAL")
                self.con.execute("PRAGMA synchronous=NORMAL")
                self.con.executescript(SCHEMA)
                return
            except sqlite3.OperationalError:  # created by several processes at once
                if attempt == 19:
                    raise
                time.sleep(0.05 * (attempt + 1))

    def close(self) -> None:
        self.con.close()

    # writing

    def insert(self, records: Iterable[dict[str, Any]]) -> None:
        """Write ``records`` in one transaction (with their environments). The records get
        the ids SQLite would give them one by one (the largest so far plus one; no other
        writer can come between, the transaction holds the write lock), so that each table
        is written by one statement."""
        con = self.con
        con.execute("BEGIN IMMEDIATE")
        try:
            envs: list[tuple[Any, ...]] = []
            rows: list[tuple[Any, ...]] = []
            files: list[tuple[Any, ...]] = []
            first = con.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM records").fetchone()[0]
            for rid, record in enumerate(records, first):
                env = record.get("environment_facts")
                if env is not None:
                    envs.append((record["environment"], json.dumps(env)))
                data = {k: v for k, v in record.items() if k not in _SPLIT}
                rows.append((rid, record["task_id"], record["family"], record.get("start"),
                             record["end"], json.dumps(data)))
                for role, key in (("in", "inputs"), ("out", "outputs")):
                    files += [(rid, role, f["uri"], f.get("size"), f.get("mtime"),
                               f.get("checksum")) for f in record.get(key, ())]
            con.executemany("INSERT OR IGNORE INTO environments (id, data) VALUES (?, ?)",
                            envs)
            con.executemany("INSERT INTO records (id, task_id, family, start, end, data) "
                            "VALUES (?, ?, ?, ?, ?, ?)", rows)
            con.executemany("INSERT INTO files (record, role, uri, size, mtime, checksum) "
                            "VALUES (?, ?, ?, ?, ?, ?)", files)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    # reading

    def made(self, uri: str) -> dict[str, Any] | None:
        """The latest record of a task that wrote ``uri``, or None."""
        row = self.con.execute(
            "SELECT r.id, r.data FROM files f JOIN records r ON r.id = f.record "
            "WHERE f.uri = ? AND f.role = 'out' ORDER BY r.end DESC, r.id DESC LIMIT 1",
            (uri,)).fetchone()
        return self._full(*row) if row else None

    def environment(self, env_id: str) -> dict[str, Any] | None:
        row = self.con.execute("SELECT data FROM environments WHERE id = ?",
                               (env_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def output_uris(self) -> list[str]:
        """Every output ever recorded."""
        return [row[0] for row in self.con.execute(
            "SELECT DISTINCT uri FROM files WHERE role = 'out' ORDER BY uri")]

    def count(self) -> int:
        return self.con.execute("SELECT COUNT(*) FROM records").fetchone()[0]

    def _full(self, rid: int, data: str) -> dict[str, Any]:
        record = json.loads(data)
        record["inputs"], record["outputs"] = [], []
        for role, uri, size, mtime, checksum in self.con.execute(
                "SELECT role, uri, size, mtime, checksum FROM files WHERE record = ? "
                "ORDER BY rowid", (rid,)):
            record["inputs" if role == "in" else "outputs"].append(
                {"uri": uri, "size": size, "mtime": mtime, "checksum": checksum})
        return record
