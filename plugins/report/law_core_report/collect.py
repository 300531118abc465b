"""What the report shows, as plain data: :func:`collect` of a task is a JSON-able dict.

Everything comes from what is on disk and in the stores, so a report can be made after the
run and on another machine: the outputs (one listing per directory for a workflow's
collection, never one luigi task per branch), the job directories of remote workflows
(``submission.json`` and the jobs' status files) and, where present, the events that runs
recorded (:mod:`law_core_report.events`): which branches failed or run now, and how long
tasks took.

The graph is at workflow level: a workflow is one node whatever branches are required of
it (a branch or a ``--branches`` selection of an upstream workflow is drawn as that
workflow). A workflow's edges are its ``workflow_requires()`` and what its branches
require, asked of its missing branches (at most :data:`MAX_ASKED_BRANCHES`, spread evenly)
and of its first branch, which shows the shape of a complete workflow without asking every
branch.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import luigi
from luigi.task import flatten, task_id_str

from law_core.plugin import (
    StorageUnreachableError,
    Workflow,
    compress_ranges,
    fixed_parameter_defaults,
    leaf_targets,
    task_arguments,
)
from law_core_report.events import is_alive, read_run, run_files
from law_core_report.job_plot import timeline as job_timeline

#: branch states, and the one-letter codes of the branch grid
STATES = ("done", "running", "pending", "failed", "missing", "unknown")
CODES = {"done": "d", "running": "r", "pending": "p", "failed": "f", "missing": "m",
         "unknown": "u"}
#: most missing branches of one workflow whose requirements are asked for the graph
MAX_ASKED_BRANCHES = 2000
#: most jobs listed per workflow (the counts cover all of them)
MAX_JOBS_LISTED = 2000
#: branches of a workflow whose output directories are listed (spread evenly)
MAX_DIR_SAMPLE = 200
#: most branch errors kept per workflow
MAX_ERRORS = 20

_JOB_STATE = {"running": "running", "pending": "pending", "submitting": "pending",
              "unsubmitted": "pending", "retry": "pending", "failed": "failed"}


def collect(task: Any, *, runs_dir: Path | None = None, events: Iterable[Path] | None = None,
            keep_days: float = 0.0) -> dict[str, Any]:
    """The report of ``task`` and everything it requires, as plain data.

    ``runs_dir``: the recorded runs to take failures, running branches and timings from
    (``events``: these run files instead); neither: outputs and job files alone."""
    started = time.perf_counter()
    files = list(events) if events is not None else \
        run_files(runs_dir, keep_days) if runs_dir is not None else []
    index = EventIndex(files)
    # the cyclic garbage collector would scan the growing heap (a target per branch) again
    # and again; nothing made here forms cycles worth collecting before the end
    enabled = gc.isenabled()
    gc.disable()
    try:
        with fixed_parameter_defaults():
            collector = _Collector(index)
            collector.walk(task)
    finally:
        if enabled:
            gc.enable()
    nodes = collector.nodes
    totals = {state: sum(n["counts"][state] for n in nodes) for state in STATES}
    totals["total"] = sum(n["counts"]["total"] for n in nodes)
    return {
        "title": repr(task),
        "root": 0,
        "generated": time.time(),
        "nodes": nodes,
        "edges": sorted(collector.edges),
        "totals": totals,
        "workflows": sum(n["kind"] == "workflow" for n in nodes),
        "runs": index.summaries(),
        "collect_seconds": round(time.perf_counter() - started, 3),
    }


# recorded events

class EventIndex:
    """The latest recorded event of every task id, over the given run files."""

    def __init__(self, files: list[Path]) -> None:
        self.by_family: dict[str, dict[str, dict[str, Any]]] = {}
        self.runs: list[dict[str, Any]] = []
        self.job_events: dict[str, list[dict[str, Any]]] = {}  # by workflow id
        records: list[tuple[float, str, dict[str, Any]]] = []
        for path in files:
            header, events = read_run(path)
            run = (header or {}).get("run") or path.stem
            ended = any(e.get("type") == "end" for e in events)
            live = not ended and is_alive(header)
            tasks = [e for e in events if e.get("type") == "task"]
            self.runs.append({
                "run": run, "file": str(path), "live": live,
                "argv": (header or {}).get("argv"), "cwd": (header or {}).get("cwd"),
                "host": (header or {}).get("host"), "start": (header or {}).get("time"),
                "end": max((e.get("time", 0) for e in events), default=None),
                "events": len(events),
                "failures": sum(e.get("kind") == "failure" for e in tasks),
                "job_events": sum(e.get("type") == "job" for e in events),
            })
            for e in tasks:
                records.append((e.get("time", 0.0), run if live else "", e))
            for e in events:
                if e.get("type") == "job":
                    self.job_events.setdefault(e.get("workflow_id"), []).append(e)
        records.sort(key=lambda r: r[0])
        for when, live_run, e in records:
            family = self.by_family.setdefault(e["family"], {})
            entry = family.get(e["task_id"])
            if entry is None:
                entry = family[e["task_id"]] = {"branch": e.get("branch")}
            if e["kind"] == "start":
                entry.update(kind="start", start=when, end=None, live=bool(live_run),
                             error=None)
            else:
                entry.update(kind=e["kind"], end=when, error=e.get("error"))

    def family(self, name: str) -> dict[str, dict[str, Any]]:
        return self.by_family.get(name, {})

    def summaries(self) -> list[dict[str, Any]]:
        return self.runs


# the walk

class _Collector:
    def __init__(self, index: EventIndex) -> None:
        self.index = index
        self.nodes: list[dict[str, Any]] = []
        self.edges: set[tuple[int, int]] = set()
        self.keys: dict[Any, int] = {}
        self.workflow_of: dict[Any, Any] = {}  # branch key -> its workflow task
        self.job_dirs: dict[str, list[dict[str, Any]]] = {}

    def walk(self, root: Any) -> None:
        stack: list[tuple[Any, int | None]] = [(root, None)]
        first = True
        while stack:
            task, parent = stack.pop()
            if not first:
                task = self._as_node_task(task)
            first = False
            key = _key(task)
            idx = self.keys.get(key)
            if idx is None:
                idx = self.keys[key] = len(self.nodes)
                node, deps = self._node(task, idx)
                self.nodes.append(node)
                stack.extend((dep, idx) for dep in reversed(deps))
            if parent is not None and parent != idx:
                self.edges.add((parent, idx))

    def _as_node_task(self, task: Any) -> Any:
        """A branch as its workflow, a ``--branches`` selection as the whole workflow."""
        if not isinstance(task, Workflow):
            return task
        if task.branch == -1 and not task.branches:
            return task
        key = _key(task)
        whole = self.workflow_of.get(key)
        if whole is None:
            whole = task.req(task, branch=-1, branches=())
            self.workflow_of[key] = whole
        return whole

    def _node(self, task: Any, idx: int) -> tuple[dict[str, Any], list[Any]]:
        is_workflow = isinstance(task, Workflow) and task.branch == -1
        kind = "workflow" if is_workflow else "external" if isinstance(
            task, luigi.ExternalTask) else "task"
        node: dict[str, Any] = {
            "id": idx, "task_id": task.task_id, "family": task.get_task_family(),
            "kind": kind, "repr": repr(task), "params": _short_params(task),
            "problem": None, "jobs": None, "timing": None, "grid": None, "keys": None,
            "failed_branches": [], "errors": {}, "sandbox": None,
        }
        _sandbox(task, node)
        if is_workflow:
            missing = self._workflow_status(task, node)
            deps = self._workflow_requirements(task, missing, node)
        else:
            self._task_status(task, node)
            deps = self._requirements(lambda: task.requires(), node)
        node["state"] = _state(node["counts"])
        return node, deps

    # requirements

    def _requirements(self, call: Any, node: dict[str, Any]) -> list[Any]:
        try:
            return [t for t in flatten(call()) if isinstance(t, luigi.Task)]
        except Exception as err:
            node["problem"] = node["problem"] or f"requires() raised {type(err).__name__}: {err}"
            return []

    def _workflow_requirements(self, wf: Any, missing: list[int], node: dict[str, Any]
                               ) -> list[Any]:
        deps = self._requirements(lambda: wf.workflow_requires(), node)
        keys = list(wf.output_collection().targets)
        asked = _spread(missing, MAX_ASKED_BRANCHES)
        if keys:
            asked = [keys[0], *asked]
        seen: set[Any] = set()
        for b in dict.fromkeys(asked):
            for dep in self._requirements(lambda b=b: wf.req_branch(b).requires(), node):
                dep_key = _key(dep)
                if dep_key not in seen:
                    seen.add(dep_key)
                    deps.append(dep)
        return deps

    # status

    def _task_status(self, task: Any, node: dict[str, Any]) -> None:
        counts = _zero_counts(1)
        try:
            outputs = [t for t in flatten(task.output()) if t is not None]
        except Exception as err:
            outputs = []
            node["problem"] = f"output() raised {type(err).__name__}: {err}"
        node["outputs"] = _describe_outputs(leaf_targets(outputs))
        try:
            done = bool(task.complete())
        except StorageUnreachableError as err:
            counts["unknown"] = 1
            node["problem"] = f"unreachable: {err.reason}"
            node["counts"] = counts
            return
        except Exception as err:
            done = False
            node["problem"] = f"complete() raised {type(err).__name__}: {err}"
        entry = self.index.family(node["family"]).get(task.task_id)
        state = "done" if done else _event_state(entry) or "missing"
        counts[state] += 1
        node["counts"] = counts
        if entry is not None:
            node["timing"] = _timing(entry)
            if state == "failed" and entry.get("error"):
                node["errors"] = {"task": entry["error"]}

    def _workflow_status(self, wf: Any, node: dict[str, Any]) -> list[int]:
        """Counts and grid of the workflow's branches; returns the missing ones."""
        collection = wf.output_collection()
        keys = list(collection.targets)
        n = len(keys)
        position = {k: i for i, k in enumerate(keys)}
        node["outputs"] = _describe_collection(collection)
        try:
            existing = collection.existing_keys()
        except StorageUnreachableError as err:
            node["problem"] = f"unreachable: {err.reason}"
            states = ["unknown"] * n
            existing = set()
        else:
            states = ["done" if k in existing else "missing" for k in keys]
        errors: dict[str, str] = {}
        # the jobs of remote workflows
        jobs = self._jobs(wf)
        if jobs is not None:
            node["jobs"] = jobs.pop("view")
            for b, (state, error) in jobs["branches"].items():
                i = position.get(b)
                if i is not None and states[i] == "missing":
                    states[i] = state
                    if error and state == "failed" and len(errors) < MAX_ERRORS:
                        errors[str(b)] = error
        # recorded events: failures of local branches, branches running now, timings
        family = self.index.family(node["family"])
        if family:
            entry = family.get(wf.task_id)
            if entry is not None:
                node["timing"] = _timing(entry)
            durations = []
            for b, entry in self._branch_events(wf, keys, family):
                i = position[b]
                if entry.get("kind") == "success" and entry.get("start") and entry.get("end"):
                    durations.append(entry["end"] - entry["start"])
                if states[i] != "missing":
                    continue
                state = _event_state(entry)
                if state:
                    states[i] = state
                    if state == "failed" and entry.get("error") and len(errors) < MAX_ERRORS:
                        errors[str(b)] = entry["error"]
            if durations:
                node["timing"] = dict(node["timing"] or {}, branches=_summary(durations))
        counts = _zero_counts(n)
        for state in states:
            counts[state] += 1
        node["counts"] = counts
        node["grid"] = _run_length("".join(CODES[s] for s in states))
        node["keys"] = None if keys == list(range(n)) else compress_ranges(keys)
        node["failed_branches"] = [k for k, s in zip(keys, states) if s == "failed"][:200]
        node["errors"] = errors
        node["acceptance"] = collection.required_count()
        return [k for k, s in zip(keys, states) if s != "done"]

    def _branch_events(self, wf: Any, keys: list[int], family: dict[str, dict[str, Any]]
                       ) -> Iterable[tuple[int, dict[str, Any]]]:
        """(branch, latest event) of the workflow's branches that have recorded events:
        a branch's task id is computed from the workflow's (as luigi does), for the branch
        numbers the events name, else for every branch."""
        numbers = {e.get("branch") for e in family.values()}
        candidates = keys if None in numbers else [k for k in keys if k in numbers]
        if not candidates:
            return
        template = wf.req_branch(keys[0])
        params = template.to_str_params(only_significant=True, only_public=True)
        name = template.get_task_family()
        if task_id_str(name, params) != template.task_id:  # luigi computes it otherwise
            for b in candidates:
                entry = family.get(wf.req_branch(b).task_id)
                if entry is not None:
                    yield b, entry
            return
        for b in candidates:
            params["branch"] = str(b)
            entry = family.get(task_id_str(name, params))
            if entry is not None:
                yield b, entry

    # jobs

    def _jobs(self, wf: Any) -> dict[str, Any] | None:
        """The jobs of ``wf`` from its job directories (any job manager, any selection of
        its branches): the view and each branch's state by its latest job."""
        try:
            base = Path(wf.output_directory().path) / "jobs"
        except Exception:
            return None
        found = self.job_dirs.get(str(base))
        if found is None:
            found = self.job_dirs[str(base)] = _job_dirs(base)
        if not found:
            return None
        name = f"{type(wf).__module__}.{type(wf).__name__}"
        args = task_arguments(wf)
        mine = [d for d in found if d["task"] == name and d["params"] == args]
        if not mine:
            return None
        jobs: list[dict[str, Any]] = []
        timed: list[tuple[dict[str, Any], int, dict[str, Any]]] = []  # for the job plot
        branches: dict[int, tuple[str, str | None]] = {}
        managers = set()
        for d in mine:
            sub = d["submission"]
            managers.add(sub.get("manager"))
            for num, job in sorted(sub.get("jobs", {}).items(), key=lambda j: int(j[0])):
                job = _ended_since(d["dir"], int(num), job)
                jobs.append(_job_view(d["dir"], int(num), job, sub.get("manager")))
                timed.append((d, int(num), job))
                state = _JOB_STATE.get(job.get("status"))
                per_branch = _branch_codes(d["dir"], int(num), job) if state == "failed" \
                    else {}
                for b in job.get("branches", []):
                    if state == "failed" and per_branch.get(str(b)) == 0:
                        continue  # this branch of the failed job succeeded
                    if state is not None:
                        branches[b] = (state, job.get("error"))
                    else:
                        branches.pop(b, None)
        counts: dict[str, int] = {}
        for job in jobs:
            counts[job["status"]] = counts.get(job["status"], 0) + 1
        durations = [j["duration"] for j in jobs if j.get("duration") is not None]
        memory = [j["max_rss_mb"] for j in jobs if j.get("max_rss_mb")]
        view = {"managers": sorted(m for m in managers if m), "counts": counts,
                "total": len(jobs), "list": jobs[:MAX_JOBS_LISTED],
                "dirs": [d["dir"] for d in mine],
                "runtime": _summary(durations) if durations else None,
                "memory_mb": _summary(memory) if memory else None,
                "timeline": job_timeline(timed, self.index.job_events)}
        return {"view": view, "branches": branches}


def _job_dirs(base: Path) -> list[dict[str, Any]]:
    """The job directories below ``base`` (``<output directory>/jobs``) with what their
    ``task.json`` and ``submission.json`` say."""
    found = []
    try:
        entries = sorted(os.scandir(base), key=lambda e: e.name)
    except OSError:
        return []
    for entry in entries:
        if not entry.is_dir():
            continue
        try:
            spec = json.loads(Path(entry.path, "task.json").read_text())
            sub = json.loads(Path(entry.path, "submission.json").read_text())
        except (OSError, ValueError):
            continue
        found.append({"dir": entry.path, "task": spec.get("task"),
                      "params": spec.get("params"), "submission": sub})
    return found


def _ended_since(job_dir: str, num: int, job: dict[str, Any]) -> dict[str, Any]:
    """``job`` as its exit status has it, when it ended after the bookkeeping was last
    written (nobody polled it since: the run stopped, or is between two polls)."""
    if job.get("status") not in ("pending", "running", "submitting") or not job.get("attempt"):
        return job
    try:
        status = json.loads(Path(job_dir, "status", f"job_{num}_{job['attempt']}.json")
                            .read_text())
    except (OSError, ValueError):
        return job
    code = status.get("exit_code")
    extra = dict(job.get("extra") or {})
    extra.update({k: status[k] for k in ("host", "duration", "max_rss_mb") if k in status})
    error = None if code == 0 else status.get("error") or \
        f"exit code {code} in phase {status.get('phase')}"
    return dict(job, status="finished" if code == 0 else "failed", exit_code=code,
                error=error, extra=extra)


def _job_view(job_dir: str, num: int, job: dict[str, Any], manager: str | None
              ) -> dict[str, Any]:
    extra = job.get("extra") or {}
    attempt = job.get("attempt", 0)
    error = job.get("error")
    return {"num": num, "job_id": job.get("job_id"), "status": job.get("status"),
            "manager": manager, "attempt": attempt, "exit_code": job.get("exit_code"),
            "error": error[:500] if error else None,
            "branches": _ranges_text(job.get("branches", [])),
            "host": extra.get("host"), "duration": extra.get("duration"),
            "max_rss_mb": extra.get("max_rss_mb"),
            "log": os.path.join(job_dir, "logs", f"job_{num}_{attempt}.err")
            if attempt else None}


def _branch_codes(job_dir: str, num: int, job: dict[str, Any]) -> dict[str, int]:
    """The exit code of each branch of a failed job, from the status file it wrote."""
    try:
        status = json.loads(Path(job_dir, "status", f"job_{num}_{job.get('attempt')}.json")
                            .read_text())
    except (OSError, ValueError):
        return {}
    codes = status.get("branches")
    return codes if isinstance(codes, dict) else {}


# small helpers

def _key(task: Any) -> Any:
    """A node's identity: class and parameters, a workflow's branch and selection aside."""
    kwargs = dict(task.param_kwargs)
    if isinstance(task, Workflow):
        kwargs.pop("branch", None)
        kwargs.pop("branches", None)
    try:
        return type(task), frozenset(kwargs.items())
    except TypeError:
        params = task.to_str_params()
        return type(task), frozenset((k, v) for k, v in params.items()
                                     if k not in ("branch", "branches"))


def _sandbox(task: Any, node: dict[str, Any]) -> None:
    """The ``TYPE::NAME`` a sandbox task resolves to (its ``sandbox`` parameter, else the
    config's ``[sandbox] FAMILY``), as the task itself answers it; stays None for other
    tasks and for a sandbox task that runs here."""
    key = getattr(task, "sandbox_key", None)
    if callable(key):
        try:
            node["sandbox"] = str(key()) or None
        except Exception as err:
            node["problem"] = f"sandbox_key() raised {type(err).__name__}: {err}"


def _short_params(task: Any) -> str:
    """The significant parameters a task was given (not its defaults), short."""
    params = task.to_str_params(only_significant=True, only_public=True)
    defaults = _defaults(type(task))
    shown = [f"{k}={v}" for k, v in params.items()
             if k not in ("branch", "branches") and defaults.get(k) != v]
    return ", ".join(shown)


_DEFAULTS: dict[type, dict[str, str]] = {}


def _defaults(cls: type) -> dict[str, str]:
    """The serialized defaults of a task class's parameters (luigi asks its config for
    each, so they are asked once per class)."""
    cached = _DEFAULTS.get(cls)
    if cached is None:
        cached = _DEFAULTS[cls] = {}
        family = cls.get_task_family()
        for name, param in cls.get_params():
            try:
                if param.has_task_value(family, name):
                    cached[name] = param.serialize(param.task_value(family, name))
            except Exception:
                pass
    return cached


def _zero_counts(total: int) -> dict[str, int]:
    return {**{s: 0 for s in STATES}, "total": total}


def _state(counts: dict[str, int]) -> str:
    """One word for a node's colour."""
    if counts["failed"]:
        return "failed"
    if counts["running"]:
        return "running"
    if counts["pending"]:
        return "pending"
    if counts["unknown"]:
        return "unknown"
    if counts["done"] == counts["total"]:
        return "done"
    return "partial" if counts["done"] else "missing"


def _event_state(entry: dict[str, Any] | None) -> str | None:
    """The state of an incomplete task from its latest recorded event."""
    if entry is None:
        return None
    if entry.get("kind") == "failure":
        return "failed"
    if entry.get("kind") == "start" and entry.get("live"):
        return "running"
    return None  # succeeded before (its outputs were removed since), or interrupted


def _timing(entry: dict[str, Any]) -> dict[str, Any]:
    start, end = entry.get("start"), entry.get("end")
    return {"start": start, "end": end, "result": entry.get("kind"),
            "seconds": round(end - start, 3) if start and end else None}


def _summary(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "median": round(statistics.median(values), 3),
            "max": round(max(values), 3), "total": round(sum(values), 3)}


def _spread(items: list[Any], limit: int) -> list[Any]:
    if len(items) <= limit:
        return items
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]


def _run_length(codes: str) -> str:
    """``"dddfm"`` -> ``"d3f1m1"``: a 100000-branch grid in a few bytes when it is uniform."""
    parts = []
    i, n = 0, len(codes)
    while i < n:
        j = i
        c = codes[i]
        while j < n and codes[j] == c:
            j += 1
        parts.append(f"{c}{j - i}")
        i = j
    return "".join(parts)


def _ranges_text(keys: list[int]) -> str:
    ranges = compress_ranges(sorted(keys))
    return ",".join(f"{a}" if b == a + 1 else f"{a}-{b - 1}" for a, b in ranges)


def _uri(target: Any) -> str:
    uri = getattr(target, "uri", None)
    if callable(uri):
        try:
            return str(uri())
        except Exception:
            pass
    return str(getattr(target, "path", None) or repr(target))


def _describe_outputs(leaves: list[Any]) -> dict[str, Any]:
    uris = [_uri(t) for t in leaves]
    dirs = list(dict.fromkeys(u.rpartition("/")[0] for u in uris))
    return {"count": len(uris), "examples": uris[:5], "dirs": dirs[:5],
            "more_dirs": max(0, len(dirs) - 5)}


def _describe_collection(collection: Any) -> dict[str, Any]:
    """Where a workflow's outputs live: some URIs and the directories they are in (from the
    targets' paths of up to :data:`MAX_DIR_SAMPLE` branches, without asking the storage;
    the count is exact when every branch has as many outputs as those)."""
    values = list(collection.targets.values())
    examples = [_uri(t) for v in values[:2] + values[-1:] for t in leaf_targets(v)]
    dirs: dict[tuple[int, str], Any] = {}
    sample = _spread(values, MAX_DIR_SAMPLE)
    leaves = [t for value in sample for t in leaf_targets(value)]
    count = round(len(leaves) * len(values) / len(sample)) if sample else 0
    for t in leaves:
        path = getattr(t, "path", None)
        if path is None:
            continue
        key = (id(getattr(t, "fs", None)), path.rpartition("/")[0])
        if key not in dirs:
            dirs[key] = t
    shown = []
    for (_, directory), t in list(dirs.items())[:5]:
        fs = getattr(t, "fs", None)
        try:
            shown.append(str(fs.uri(directory)) if fs is not None else directory)
        except Exception:
            shown.append(directory)
    return {"count": count, "examples": list(dict.fromkeys(examples))[:5], "dirs": shown,
            "more_dirs": max(0, len(dirs) - 5)}
