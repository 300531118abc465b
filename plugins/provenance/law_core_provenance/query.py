"""Answering from the records: what made an output (down to the raw inputs), and whether
it is stale (its inputs or its code changed since)."""

from __future__ import annotations

import json
import os
import shlex
from typing import Any

from law_core_provenance.database import Database
from law_core_provenance.recorder import SIDECAR_SUFFIX, stat_fact

#: mtimes closer than this are the same (storage reports whole seconds, local disks more)
MTIME_TOLERANCE = 1e-3


def normalize(name: str) -> str:
    """A path or URI as records name it: local files as ``file:///absolute/path``, remote
    ones as their file system's URI (``fs.NAME:/path`` on its first base)."""
    if name.startswith("file://"):
        return "file://" + os.path.abspath(name[len("file://"):])
    if "://" not in name and not name.startswith("fs."):
        return "file://" + os.path.abspath(os.path.expanduser(name))
    from law_core.plugin import target

    return target(name).uri()


def command_of(record: dict[str, Any]) -> str:
    """The ``law-core run`` command that re-creates the record's outputs."""
    args = record.get("args")
    if args is None:  # a value that cannot be written as one argument: luigi's text
        args = [f"--{k.replace('_', '-')}={v}" for k, v in record["params"].items()]
    return shlex.join(["law-core", "run", record["task_class"], *args])


class Provenance:
    """The records of ``db`` (may be None) and the sidecars beside remote outputs."""

    def __init__(self, db: Database | None):
        self.db = db
        self._code_now: dict[str, str] = {}
        self._stale: dict[str, list[str]] = {}

    # lookups

    def record(self, uri: str) -> dict[str, Any] | None:
        """The latest record of what made ``uri``: from the database, else from the
        sidecar beside it."""
        record = self.db.made(uri) if self.db is not None else None
        return record if record is not None else self._sidecar(uri)

    def _sidecar(self, uri: str) -> dict[str, Any] | None:
        try:
            if uri.startswith("file://"):
                path = uri[len("file://"):] + SIDECAR_SUFFIX
                if not os.path.isfile(path):
                    return None
                with open(path) as f:
                    return json.load(f)
            from law_core.plugin import target

            sidecar = target(uri + SIDECAR_SUFFIX)
            if not sidecar.exists():
                return None
            with sidecar.open("r") as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def environment(self, record: dict[str, Any]) -> dict[str, Any] | None:
        facts = record.get("environment_facts")
        if facts is None and self.db is not None:
            facts = self.db.environment(record.get("environment", ""))
        return facts

    # what made it

    def lineage(self, uri: str, depth: int = -1,
                _seen: set[tuple[str, float]] | None = None) -> dict[str, Any]:
        """``{"uri", "made_by": {...}, "inputs": [...]}`` down to the raw inputs (those no
        recorded task made: ``"raw": true``); a task met twice is described once."""
        seen = set() if _seen is None else _seen
        node: dict[str, Any] = {"uri": uri}
        record = self.record(uri)
        if record is None:
            node["raw"] = True
            return node
        key = (record["task_id"], record["end"])
        if key in seen:
            node["made_by"] = {"task_id": record["task_id"], "shown_above": True}
            return node
        seen.add(key)
        made_by = {k: v for k, v in record.items()
                   if k not in ("inputs", "outputs", "environment_facts")}
        made_by["command"] = command_of(record)
        made_by["outputs"] = record["outputs"]
        environment = self.environment(record)
        if environment is not None:
            made_by["software"] = environment
        node["made_by"] = made_by
        node["inputs"] = []
        for fact in record["inputs"]:
            if depth == 0:
                child: dict[str, Any] = {"uri": fact["uri"], "not_followed": True}
            else:
                child = self.lineage(fact["uri"], depth - 1, seen)
            child["recorded"] = {k: fact.get(k) for k in ("size", "mtime", "checksum")}
            node["inputs"].append(child)
        return node

    # stale or not

    def check(self, uri: str) -> list[str] | None:
        """Why ``uri`` is stale (empty: it is not); None when no record says what made it.
        An output is stale when one of its recorded inputs is missing, differs now or is
        itself stale, when it changed or vanished after it was made, or when the code of
        its task is not the recorded version any more."""
        if uri in self._stale:
            return self._stale[uri]
        record = self.record(uri)
        if record is None:
            return None
        reasons: list[str] = []
        self._stale[uri] = reasons  # a cycle of records ends here
        recorded_out = next((f for f in record["outputs"] if f["uri"] == uri), None)
        if recorded_out is not None:
            change = self._change(recorded_out)
            if change == "missing":
                reasons.append("the output is missing")
            elif change:
                reasons.append(f"the output changed after it was made ({change})")
        for fact in record["inputs"]:
            change = self._change(fact)
            if change:
                reasons.append(f"input {display(fact['uri'])} "
                               + ("is missing" if change == "missing" else
                                  f"changed since ({change})"))
                continue
            upstream = self.check(fact["uri"])
            if upstream:
                reasons.append(f"input {display(fact['uri'])} is stale: {upstream[0]}")
        code = record.get("code") or {}
        path = code.get("path")
        if path:
            now = self._code_version(path)
            if now != code.get("version"):
                reasons.append(f"the code of {record['task_class']} changed: recorded "
                               f"{code.get('version')}, now {now}")
        return reasons

    def _code_version(self, path: str) -> str:
        if path not in self._code_now:
            from law_core_provenance.facts import current_code_version

            self._code_now[path] = current_code_version(path)
        return self._code_now[path]

    @staticmethod
    def _change(recorded: dict[str, Any]) -> str | None:
        """How the file differs from its record: None (it does not), "missing", or what
        changed. A local file whose checksum was recorded counts as changed only when its
        content did (a touch alone is no change)."""
        if recorded.get("size") is None:
            return None  # it was not there when recorded: nothing to compare
        uri = recorded["uri"]
        local = uri.startswith("file://")
        if local:
            path, fs = uri[len("file://"):], None
        else:
            from law_core.plugin import target

            t = target(uri)
            path, fs = t.path, t.fs
        now = stat_fact(uri, path, fs, checksum_limit=-1)
        if now["size"] is None:
            return "missing" if "error" not in now else f"cannot be asked: {now['error']}"
        if now["size"] != recorded["size"]:
            return f"size {recorded['size']} -> {now['size']} bytes"
        same_time = abs((now["mtime"] or 0) - (recorded["mtime"] or 0)) <= MTIME_TOLERANCE
        if recorded.get("checksum") and local:
            if same_time:
                return None
            from law_core_provenance.facts import sha256_file

            if "sha256:" + sha256_file(path) != recorded["checksum"]:
                return "content differs from the recorded checksum"
            return None
        if not same_time:
            return "modified at a different time than recorded"
        return None


def display(uri: str) -> str:
    """A local URI as its path."""
    return uri[len("file://"):] if uri.startswith("file://") else uri
