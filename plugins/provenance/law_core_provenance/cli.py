"""``law-core provenance OUTPUT`` and ``law-core provenance --check [OUTPUT ...]``."""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from law_core.plugin import LawCoreError
from law_core_provenance.query import Provenance, display, normalize

#: reasons shown per stale output (--json: all)
MAX_REASONS = 5


def run(args: argparse.Namespace) -> int:
    from law_core_provenance.settings import ProvenanceSettings

    path = args.database or ProvenanceSettings.resolve().checked().database_path()
    db = None
    if os.path.exists(path):
        from law_core_provenance.database import Database

        db = Database(path, create=False)
    provenance = Provenance(db)
    if args.check:
        return _check(provenance, args, path)
    if len(args.outputs) != 1:
        raise LawCoreError("name one output: law-core provenance PATH_OR_URI (several only "
                           "with --check)")
    uri = normalize(args.outputs[0])
    tree = provenance.lineage(uri, depth=args.depth)
    if tree.get("raw"):
        raise LawCoreError(f"no record says what made {display(uri)}: not in the database "
                           f"{path}" + ("" if db else " (which does not exist)") +
                           ", and no sidecar beside it; was it made with law-core-provenance "
                           "installed, and with this [provenance] database?")
    if args.json:
        print(json.dumps(tree, indent=1, sort_keys=True))
    else:
        print("\n".join(render(tree)))
    return 0


def _check(provenance: Provenance, args: argparse.Namespace, path: str) -> int:
    if args.outputs:
        uris = [normalize(o) for o in args.outputs]
    elif provenance.db is not None:
        uris = provenance.db.output_uris()
    else:
        raise LawCoreError(f"no provenance database at {path}: nothing to check")
    stale: dict[str, list[str]] = {}
    fresh: list[str] = []
    unknown: list[str] = []
    for uri in uris:
        reasons = provenance.check(uri)
        if reasons is None:
            unknown.append(uri)
        elif reasons:
            stale[uri] = reasons
        else:
            fresh.append(uri)
    if args.json:
        print(json.dumps({"stale": stale, "up_to_date": fresh, "unknown": unknown},
                         indent=1, sort_keys=True))
    else:
        for uri, reasons in stale.items():
            print(f"stale: {display(uri)}")
            for reason in reasons[:MAX_REASONS]:
                print(f"    {reason}")
            if len(reasons) > MAX_REASONS:
                print(f"    ... and {len(reasons) - MAX_REASONS} more (--json lists all)")
        for uri in unknown:
            print(f"unknown: {display(uri)} (no record says what made it)")
        print(f"{len(stale)} stale, {len(fresh)} up to date"
              + (f", {len(unknown)} unknown" if unknown else ""))
    return 1 if stale else 0


# the text form


def render(node: dict[str, Any], indent: str = "",
           _shown: set[str] | None = None) -> list[str]:
    """The lineage as indented text; software described once per environment."""
    shown = set() if _shown is None else _shown
    lines = [f"{indent}{display(node['uri'])}{_recorded(node.get('recorded'))}"]
    inner = indent + "  "
    made_by = node.get("made_by")
    if node.get("raw"):
        return [lines[0] + "  [raw input: no recorded task made it]"]
    if node.get("not_followed"):
        return [lines[0] + "  [not followed: --depth]"]
    if made_by.get("shown_above"):
        return [lines[0] + f"  [made by {made_by['task_id']}, shown above]"]
    rows = [
        ("made by", f"{made_by['task_class']} ({made_by['task_id']})"),
        ("parameters", " ".join(f"{k}={v}" for k, v in made_by["params"].items()) or "-"),
        ("code", _code(made_by.get("code") or {})),
        ("software", _software(made_by, shown)),
        ("sandbox", _sandbox(made_by.get("sandbox"))),
        ("ran on", _where(made_by)),
        ("time", _times(made_by.get("start"), made_by["end"])),
        ("re-create", made_by["command"]),
    ]
    lines += [f"{inner}{name:<11} {value}" for name, value in rows]
    inputs = node.get("inputs", [])
    lines.append(f"{inner}{'inputs':<11} " + ("none" if not inputs else ""))
    for child in inputs:
        lines += render(child, inner + "  ", shown)
    return lines


def _recorded(fact: dict[str, Any] | None) -> str:
    """An input as it was when the task read it: size, mtime, checksum (local files)."""
    if not fact:
        return ""
    if fact.get("size") is None:
        return "  (not there when recorded)"
    parts = [f"{fact['size']} bytes"]
    if fact.get("mtime") is not None:
        parts.append(f"modified {_fmt(fact['mtime'])}")
    if fact.get("checksum"):
        parts.append(fact["checksum"])
    return f"  ({', '.join(parts)})"


def _code(code: dict[str, Any]) -> str:
    if code.get("kind") == "git":
        dirty = f" with uncommitted changes {code['uncommitted']}" if code.get(
            "uncommitted") else ""
        return f"git commit {code['commit']}{dirty} ({code['repository']})"
    if code.get("kind") == "files":
        return f"{code['version']} ({code['files']} file(s) from {code['path']}, no git)"
    return "unknown"


def _software(made_by: dict[str, Any], shown: set[str]) -> str:
    env, env_id = made_by.get("software"), made_by.get("environment", "")
    if env_id in shown:
        return f"environment {env_id}, as above"
    shown.add(env_id)
    if not env:
        return f"environment {made_by.get('environment')} (not in this database)"
    plugins = ", ".join(env.get("plugins", {}).values()) or "none"
    return (f"law-core {env.get('law_core')}, Python {env.get('python')}, plugins: {plugins}; "
            f"{len(env.get('packages', []))} packages (environment {made_by['environment']})")


def _sandbox(sandbox: dict[str, Any] | None) -> str:
    if not sandbox:
        return "none"
    extra = [f"{k.replace('_', ' ')} {sandbox[k]}"
             for k in ("digest", "file_hash", "directory_hash") if sandbox.get(k)]
    return sandbox["key"] + (f" ({', '.join(extra)})" if extra else "")


def _where(made_by: dict[str, Any]) -> str:
    text = made_by.get("host") or "?"
    job = made_by.get("job")
    if job:
        parts = []
        if job.get("id"):
            parts.append(f"{job.get('system') or 'batch'} job {job['id']}")
        if job.get("job_num") is not None:
            parts.append(f"law-core job {job['job_num']} attempt {job.get('attempt')}")
        text += ", " + (", ".join(parts) or "in a batch job")
    return text


def _fmt(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def _times(start: float | None, end: float) -> str:
    if start is None:
        return f"ended {_fmt(end)}"
    return f"{_fmt(start)} -> {_fmt(end)} ({end - start:.1f} s)"
