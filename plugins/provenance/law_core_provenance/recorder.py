"""Recording: a record per successful task, kept in memory and written in batches.

The ``law_core_task_event`` hook hands every task event here. At "start" the time is
noted; at "success" the record is built (task, parameters, code, software, sandbox, host
and job, times, the inputs' and outputs' URIs, sizes, mtimes and checksums) and buffered.
Branches of a workflow are written every ``flush_records`` records or ``flush_seconds``,
other tasks at once, and whatever is left when the process ends (a pool worker's too).
A process forked from another starts with an empty buffer of its own: what the parent
had buffered is the parent's to write.
"""

from __future__ import annotations

import atexit
import functools
import json
import logging
import os
import stat
import sys
import time
from itertools import compress, repeat
from operator import is_not
from typing import Any

import luigi

from law_core.plugin import leaf_targets, task_arguments
from law_core_provenance import facts
from law_core_provenance.settings import ProvenanceSettings

logger = logging.getLogger("law_core.provenance")

SIDECAR_SUFFIX = ".provenance.json"

_RECORDER: Recorder | None = None


def handle(event: Any) -> None:
    """The hook's work; never raises (a task must not fail because of its record)."""
    task = getattr(event, "task", None)
    if task is None or event.kind == "failure":
        if task is not None and _RECORDER is not None:
            _RECORDER.starts.pop(task.task_id, None)
        return
    try:
        recorder = get_recorder()
        if recorder is None:
            return
        if event.kind == "start":
            recorder.starts[task.task_id] = event.time
        elif event.kind == "success":
            recorder.succeeded(task, event.time)
    except Exception as err:  # noqa: BLE001 - recorded or not, the run goes on
        logger.warning("the provenance of %r was not recorded: %s: %s", task,
                       type(err).__name__, err)


def get_recorder() -> Recorder | None:
    """This process's recorder (None when ``[provenance] enabled`` is false)."""
    global _RECORDER
    if _RECORDER is None or _RECORDER.pid != os.getpid():
        settings = ProvenanceSettings.resolve().checked()
        _RECORDER = Recorder(settings) if settings.enabled else _Disabled()
    return None if isinstance(_RECORDER, _Disabled) else _RECORDER


def reset() -> None:
    """Write what is buffered and forget the recorder (tests, a changed config)."""
    global _RECORDER
    if _RECORDER is not None and _RECORDER.pid == os.getpid():
        _RECORDER.flush()
    _RECORDER = None


class Recorder:
    def __init__(self, settings: ProvenanceSettings):
        self.settings = settings
        self.pid = os.getpid()
        self.starts: dict[str, float] = {}
        self.buffer: list[dict[str, Any]] = []
        self.first_buffered = 0.0
        self.checksum_limit = int(settings.checksum_max_size * 1e6)
        self._db: Any = None
        self._environment_written = False
        atexit.register(self.flush)
        # a pool worker ends through multiprocessing, which skips atexit but runs these
        import multiprocessing.util

        multiprocessing.util.Finalize(self, self.flush, exitpriority=10)

    def succeeded(self, task: Any, end: float) -> None:
        start = self.starts.pop(task.task_id, None)
        is_workflow = getattr(task, "is_workflow", None)
        if callable(is_workflow) and is_workflow():
            return  # its branches are recorded, each where it ran
        record, outputs = build_record(task, start, end, self.checksum_limit)
        if not record["outputs"]:
            return  # nothing anybody could ask about
        self._sidecars(outputs, record)
        if not self.buffer:
            self.first_buffered = time.monotonic()
        self.buffer.append(record)
        branch = getattr(task, "branch", None)
        if (branch is None or branch == -1 or len(self.buffer) >= self.settings.flush_records
                or time.monotonic() - self.first_buffered >= self.settings.flush_seconds):
            self.flush()

    def flush(self) -> None:
        if os.getpid() != self.pid or not self.buffer:
            return
        records, self.buffer = self.buffer, []
        if not self._environment_written:
            records[0] = {**records[0], "environment_facts": facts.environment()[1]}
        try:
            if self._db is None:
                from law_core_provenance.database import Database

                self._db = Database(self.settings.database_path())
            self._db.insert(records)
            self._environment_written = True
        except Exception as err:  # noqa: BLE001 - a lost record must not fail the run
            logger.warning("%d provenance records could not be written to %s: %s",
                           len(records), self.settings.database_path(), err)

    def _sidecars(self, outputs: list[Any], record: dict[str, Any]) -> None:
        """A copy of the record beside each output (remote ones by default), for other
        machines: ``NAME.provenance.json``."""
        mode = self.settings.sidecars
        if mode == "none" or (mode == "remote" and all(
                f["uri"].startswith("file://") for f in record["outputs"])):
            return
        text = None
        for target in outputs:
            fs = getattr(target, "fs", None)
            if fs is None or not hasattr(target, "sibling") or (mode == "remote" and
                                                                   fs.is_local):
                continue
            if text is None:
                text = json.dumps(sidecar_content(record), indent=1, sort_keys=True)
            try:
                with target.sibling(target.basename + SIDECAR_SUFFIX).open("w") as f:
                    f.write(text)
            except Exception as err:  # noqa: BLE001
                logger.warning("the provenance of %s could not be written beside it: %s",
                               target.uri(), err)


class _Disabled:
    """The recorder of a process where ``[provenance] enabled`` is false."""

    def __init__(self) -> None:
        self.pid = os.getpid()


def sidecar_content(record: dict[str, Any]) -> dict[str, Any]:
    """The record as written beside an output: complete in itself (with its software)."""
    return {**record, "environment_facts": facts.environment()[1],
            "format": "law-core-provenance/1"}


# building a record


def build_record(task: Any, start: float | None, end: float,
                 checksum_limit: int) -> tuple[dict[str, Any], list[Any]]:
    """The record of a task that just succeeded, and its output targets."""
    cls = type(task)
    args = _arguments(task)
    if args is not None:
        params = dict(arg[2:].split("=", 1) for arg in args)
    else:
        params = {k: str(v) for k, v in task.to_str_params().items()}
    branch = getattr(task, "branch", None)
    outputs = leaf_targets(task.output())
    return {
        "task_id": task.task_id,
        "family": task.get_task_family(),
        "task_class": f"{cls.__module__}.{cls.__qualname__}",
        "branch": branch if isinstance(branch, int) and branch >= 0 else None,
        "params": params,
        "args": args,
        "environment": facts.environment()[0],
        "code": _code(cls.__module__),
        "sandbox": facts.sandbox_of(task),
        "host": facts.host(),
        "job": facts.job(),
        "pid": os.getpid(),
        "start": start,
        "end": end,
        "inputs": file_facts(_inputs(task), checksum_limit),
        "outputs": file_facts(outputs, checksum_limit),
    }, outputs


def _inputs(task: Any) -> list[Any]:
    """The input targets of ``task``; none when ``requires()`` returns None (luigi's
    ``input()`` raises for it, though luigi runs such a task). ``requires()`` is asked
    once: where ``input()`` is luigi's (the outputs of ``requires()``), they are taken
    from the answer at hand (a branch's requirement is built anew on every call)."""
    required = task.requires()
    if required is None:
        return []
    if _standard_input(type(task)):
        return leaf_targets(luigi.task.getpaths(required))
    return leaf_targets(task.input())


@functools.lru_cache(maxsize=256)
def _standard_input(cls: type) -> bool:
    """Whether ``cls.input()`` is luigi's, or the workflow's, which is luigi's for a branch
    (workflows themselves are not recorded)."""
    from law_core.plugin import Workflow

    return getattr(cls, "input", None) in (luigi.Task.input, Workflow.input)


#: per task class: the parameters task_arguments() wrote for its first instance, those it
#: left out although they had a value (workflow-only and job-manager parameters), and the
#: names of all with a value (None: the direct way does not give the same text for this
#: class, e.g. task values)
_ARGUMENT_NAMES: dict[type, tuple[tuple[tuple[str, Any], ...], frozenset[str],
                                  frozenset[str]] | None] = {}


def _arguments(task: Any) -> list[str] | None:
    """The ``--name=value`` arguments that rebuild the task, as the core's task_arguments
    writes them (None when a value cannot be written as one). The core's function is asked
    once per class, and again only for an instance it might answer differently for (a
    parameter without value where the first had one, or the reverse); the others' values
    are serialized directly, which is a tenth of its cost."""
    cls = type(task)
    values = task.param_kwargs
    known = _ARGUMENT_NAMES.get(cls, False)
    if known:
        included, left_out, with_value = known
        if _names_with_value(values) == with_value:
            try:
                return [f"--{name.replace('_', '-')}={param.serialize(values[name])}"
                        for name, param in included]
            except Exception:  # noqa: BLE001 - the careful way below says what is wrong
                pass
    try:
        args = task_arguments(task, keep=("branch",))
    except Exception:  # noqa: BLE001 - then the parameters as luigi writes them
        return None
    if known is False:
        _ARGUMENT_NAMES[cls] = _learn(task, args)
    return args


def _learn(task: Any, args: list[str]) -> Any:
    """Which parameters task_arguments wrote for ``task``, if serializing them directly
    gives the same text."""
    values = task.param_kwargs
    flags = {arg.split("=", 1)[0] for arg in args}
    params = task.get_params()
    included = tuple((n, p) for n, p in params if f"--{n.replace('_', '-')}" in flags)
    names = {n for n, _ in included}
    left_out = frozenset(n for n, _ in params if n not in names and values.get(n) is not None)
    try:
        direct = [f"--{n.replace('_', '-')}={p.serialize(values[n])}" for n, p in included]
    except Exception:  # noqa: BLE001
        return None
    with_value = _names_with_value(values)
    if direct != args or with_value != names | left_out:
        return None  # not the same text, or a parameter without a value was written
    return included, left_out, with_value


def _names_with_value(values: dict[str, Any]) -> frozenset[str]:
    """The parameters whose value is not None: an instance with the same set as the first
    of its class is written the same way."""
    return frozenset(compress(values, map(is_not, values.values(), repeat(None))))


@functools.lru_cache(maxsize=256)
def _code(module: str) -> dict[str, Any]:
    return facts.code_of(getattr(sys.modules.get(module), "__file__", None))


def file_facts(targets: list[Any], checksum_limit: int) -> list[dict[str, Any]]:
    """URI, size, mtime and (local files up to ``checksum_limit`` bytes) SHA-256 of each
    target; size None when it does not exist or could not be asked."""
    found = []
    for target in targets:
        fs = getattr(target, "fs", None)
        path = getattr(target, "path", None)
        if fs is not None and callable(getattr(target, "uri", None)):
            uri, local = target.uri(), bool(fs.is_local)
        elif isinstance(path, str):  # a target of plain luigi
            fs, local = None, True
            path = os.path.abspath(path)
            uri = "file://" + path
        else:
            continue
        found.append(stat_fact(uri, path, fs if not local else None, checksum_limit))
    return found


def stat_fact(uri: str, path: str, remote_fs: Any, checksum_limit: int) -> dict[str, Any]:
    """What a file is now: size, mtime, checksum (local small files); size None when it is
    missing, with ``error`` when the storage could not be asked."""
    fact: dict[str, Any] = {"uri": uri, "size": None, "mtime": None, "checksum": None}
    try:
        if remote_fs is None:
            st = os.stat(path)
            fact.update(size=st.st_size, mtime=st.st_mtime)
            if stat.S_ISREG(st.st_mode) and st.st_size <= checksum_limit:
                fact["checksum"] = "sha256:" + facts.cached_checksum(path, st.st_size,
                                                                     st.st_mtime)
        else:
            st = remote_fs.stat(path)
            fact.update(size=st.size, mtime=st.mtime)
    except FileNotFoundError:
        pass
    except Exception as err:  # noqa: BLE001 - unreachable storage: say so
        fact["error"] = f"{type(err).__name__}: {err}"
    return fact
