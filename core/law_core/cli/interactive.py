"""The interactive options of ``law-core run``, with law's semantics.

Each function takes the task and the option's value (``DEPTH[,...]``) and returns
whether the task should be run afterwards (only ``--remove-output D,M,true`` does).
Depth 0 is the task alone, -1 the whole tree. Collections are counted from one listing
per directory, so the status of a 100000-branch workflow is quick. An output whose storage
cannot be asked (no base answered, an expired proxy) is "unreachable: REASON", one it
refuses to show "no access: REASON", never "absent".
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Any

import luigi

from law_core.errors import CredentialError, ParameterError, StorageUnreachableError
from law_core.targets.collection import TargetCollection, leaf_targets
from law_core.targets.file import DirectoryTarget, FileSystemTarget, FileTarget


def _parse(spec: str, option: str, defaults: tuple[Any, ...]) -> list[Any]:
    parts = [p.strip() for p in spec.split(",")]
    if len(parts) > len(defaults):
        raise ParameterError(f"{option} takes at most {len(defaults)} comma-separated values, "
                             f"got {spec!r}")
    values = list(defaults)
    for i, part in enumerate(parts):
        if part == "":
            continue
        if isinstance(defaults[i], bool):
            if part.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ParameterError(f"{option}: expected true or false, not {part!r}")
            values[i] = part.lower() in ("true", "1", "yes")
        elif isinstance(defaults[i], int):
            try:
                values[i] = int(part)
            except ValueError:
                raise ParameterError(f"{option}: expected an integer depth, not {part!r}") \
                    from None
        else:
            values[i] = part
    return values


def walk(task: Any, max_depth: int, unreachable: Callable[[Any, int, str], None] | None = None
         ) -> Iterator[tuple[Any, int, bool]]:
    """(task, depth, seen before) for the task and its requirements, depth first.

    A workflow's requirements are those of its missing branches: where its outputs'
    storage cannot be asked they are unknown, and ``unreachable(task, depth, reason)`` is
    told so (without it, the error is raised)."""
    seen: set[str] = set()
    stack = [(task, 0)]
    while stack:
        current, depth = stack.pop()
        repeated = current.task_id in seen
        seen.add(current.task_id)
        yield current, depth, repeated
        if repeated or (max_depth >= 0 and depth >= max_depth):
            continue
        try:
            deps = luigi.task.flatten(current.requires())
        except StorageUnreachableError as err:
            if unreachable is None:
                raise
            unreachable(current, depth, err.reason)
            continue
        stack.extend((dep, depth + 1) for dep in reversed(deps))


def _outputs(task: Any) -> list[Any]:
    """The task's outputs, checked to be targets; collections stay whole."""
    from law_core.task import output_targets

    return output_targets(task)


def _files(target: Any, existing_only: bool = False) -> list[Any]:
    if isinstance(target, TargetCollection):
        existing = target.existing_keys() if existing_only else None
        items = ((k, target.targets[k]) for k in target.targets
                 if existing is None or k in existing)
        return [leaf for _, v in items for leaf in luigi.task.flatten(v)]
    if existing_only and not target.exists():
        return []
    return [target]


def _label(target: Any) -> str:
    return target.uri() if isinstance(target, FileSystemTarget) else repr(target)


class _Colors:
    def __init__(self) -> None:
        self.on = sys.stdout.isatty()

    def __call__(self, text: str, color: str) -> str:
        codes = {"green": 32, "red": 31, "yellow": 33, "cyan": 36, "grey": 90}
        return f"\033[{codes[color]}m{text}\033[0m" if self.on else text


def _task_line(task: Any, depth: int, repeated: bool, color: _Colors) -> str:
    mark = " (see above)" if repeated else ""
    external = " [external]" if isinstance(task, luigi.ExternalTask) else ""
    return f"{'|   ' * depth}{depth} > {color(repr(task), 'cyan')}{external}{mark}"


def print_deps(task: Any, spec: str) -> bool:
    (max_depth,) = _parse(spec, "--print-deps", (0,))
    color = _Colors()
    print(f"dependencies of {task!r} to depth {max_depth}\n")
    for current, depth, repeated in walk(task, max_depth):
        print(_task_line(current, depth, repeated, color))
    return False


class _Unknown:
    """Outputs whose state cannot be told during one ``--print-status``: their storage
    could not be asked ("unreachable") or refused ("no access"). Never "absent", which would
    say that running the task again is right. A file system that did not answer is
    remembered: its other outputs are shown so at once, not after the retries of each."""

    def __init__(self) -> None:
        self._silent: dict[int, tuple[Any, str]] = {}

    def ask(self, target: Any, question: Any) -> tuple[Any, tuple[str, str] | None]:
        """``question()`` about ``target`` (a target or a collection), or why it has no
        answer: ("unreachable" or "no access", the reason)."""
        known = self._silent.keys() & _file_systems(target) if self._silent else set()
        if known:
            return None, ("unreachable", self._silent[known.pop()][1])
        try:
            return question(), None
        except StorageUnreachableError as err:
            file_systems = _file_systems(target)
            # a credential answers at once; an unanswered request took the retries (and
            # with several file systems, which one failed is not known)
            if not isinstance(err, CredentialError) and len(file_systems) == 1:
                key, fs = file_systems.popitem()
                name = getattr(fs, "name", None) or repr(fs)
                self._silent[key] = (fs, f"{name} did not answer, see above")
            return None, ("unreachable", err.reason)
        except PermissionError as err:  # e.g. a credential the storage no longer accepts
            return None, ("no access", str(err))


def _file_systems(target: Any) -> dict[int, Any]:
    """The file systems of a target's or a collection's leaves, by identity."""
    leaves = leaf_targets(target) if isinstance(target, TargetCollection) else [target]
    return {id(fs): fs for fs in (getattr(t, "fs", None) for t in leaves) if fs is not None}


def print_status(task: Any, spec: str) -> bool:
    max_depth, target_depth = _parse(spec, "--print-status", (0, 0))
    color = _Colors()
    unknown = _Unknown()

    def unknown_requirements(current: Any, depth: int, reason: str) -> None:
        print(f"{'|   ' * depth}      requirements: {color('unreachable', 'yellow')}: {reason}")

    print(f"status of {task!r} to depth {max_depth}\n")
    for current, depth, repeated in walk(task, max_depth, unknown_requirements):
        print(_task_line(current, depth, repeated, color))
        if repeated:
            continue
        indent = "|   " * depth + "      "
        for target in _outputs(current):
            if isinstance(target, TargetCollection):
                existing, why = unknown.ask(target, target.existing_keys)
                total = len(target)
                if why is not None:
                    state = f"{color(why[0], 'yellow')}: {why[1]}"
                else:
                    n = len(existing)
                    word = color("existent", "green") if n >= target.required_count() \
                        else color("absent", "red")
                    state = f"{word} ({n}/{total})"
                print(f"{indent}collection of {total} targets: {state}")
                if target_depth > 0:
                    for key, value in target.targets.items():
                        mark = color(why[0], "yellow") if why is not None else \
                            color("existent", "green") if key in existing else \
                            color("absent", "red")
                        for leaf in luigi.task.flatten(value):
                            print(f"{indent}    {key}: {_label(leaf)}: {mark}")
            else:
                ok, why = unknown.ask(target, target.exists)
                state = f"{color(why[0], 'yellow')}: {why[1]}" if why is not None \
                    else color("existent", "green") if ok else color("absent", "red")
                print(f"{indent}{_label(target)}: {state}")
    return False


def print_output(task: Any, spec: str) -> bool:
    (max_depth,) = _parse(spec, "--print-output", (0,))
    printed: set[str] = set()
    for current, _, repeated in walk(task, max_depth):
        if repeated:
            continue
        for target in _outputs(current):
            for leaf in _files(target):
                label = _label(leaf)
                if label not in printed:
                    printed.add(label)
                    print(label)
    return False


class _Asker:
    """Asks y/n/a/q once per task; 'a' says yes to all that follow."""

    def __init__(self) -> None:
        self.all = False

    def __call__(self, question: str) -> bool:
        if self.all:
            return True
        while True:
            try:
                answer = input(f"{question} [y/n/a(ll)/q(uit)] ").strip().lower()
            except EOFError:
                answer = "q"
            if answer in ("y", "n", "a", "q"):
                break
        if answer == "q":
            raise SystemExit(0)
        if answer == "a":
            self.all = True
        return answer in ("y", "a")


def _modal_tasks(task: Any, spec: str, option: str, third: Any) -> Iterator[tuple[Any, str, Any]]:
    max_depth, mode, extra = _parse(spec, option, (0, "i", third))
    if mode not in ("i", "a", "d"):
        raise ParameterError(f"{option}: MODE must be i (interactive), a (all) or d (dry run),"
                             f" not {mode!r}")
    for current, _, repeated in walk(task, max_depth):
        if repeated:
            continue
        yield current, mode, extra


def remove_output(task: Any, spec: str) -> bool:
    ask = _Asker()
    run_after = False
    for current, mode, run_flag in _modal_tasks(task, spec, "--remove-output", False):
        run_after = run_flag
        if isinstance(current, luigi.ExternalTask):
            print(f"skipping external task {current!r}")
            continue
        targets = [leaf for t in _outputs(current) for leaf in _files(t, existing_only=True)]
        if not targets:
            continue
        if mode == "d":
            for leaf in targets:
                print(f"would remove {_label(leaf)}")
            continue
        if mode == "i" and not ask(f"remove {len(targets)} output(s) of {current!r}?"):
            continue
        for leaf in targets:
            leaf.remove()
            print(f"removed {_label(leaf)}")
    return run_after


def fetch_output(task: Any, spec: str) -> bool:
    from law_core.targets.local import LocalDirectoryTarget

    ask = _Asker()
    for current, mode, directory in _modal_tasks(task, spec, "--fetch-output", "."):
        destination = LocalDirectoryTarget(directory)
        targets = [leaf for t in _outputs(current) for leaf in _files(t, existing_only=True)
                   if isinstance(leaf, (FileTarget, DirectoryTarget))]
        if not targets:
            continue
        if mode == "d":
            for leaf in targets:
                print(f"would fetch {_label(leaf)} to {destination.path}")
            continue
        if mode == "i" and not ask(f"fetch {len(targets)} output(s) of {current!r}?"):
            continue
        for leaf in targets:
            dst = destination.child(leaf.basename, "d" if isinstance(leaf, DirectoryTarget)
                                    else "f")
            leaf.copy_to(dst)
            print(f"fetched {_label(leaf)} to {dst.path}")
    return False
