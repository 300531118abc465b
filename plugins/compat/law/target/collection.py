"""law's target collections on law-core's: law's API, law-core's listings.

law and law-core name the same methods differently: in law, ``iter_existing()`` and
``iter_missing()`` yield the targets themselves (``keys=True``: ``(key, targets)``
pairs), ``count()`` is a number (``keys=True``: with the keys), ``targets`` keeps the
list or dict it was given and ``SiblingFileCollection.dir`` is a directory target. The
classes here give law's API. Existence still comes from law-core: one listing per
directory, and the outputs of a workflow are not built to learn which exist
(``existing_keys()``, ``required_count()`` and ``len()`` keep their law-core meaning, so
law-core's machinery can use a collection of either kind).
"""

from __future__ import annotations

import random
import types
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import law_core
from law_core.errors import TargetError

__all__ = ["TargetCollection", "FileCollection", "SiblingFileCollection",
           "NestedSiblingFileCollection", "flatten_collections"]

_unset = object()


class _TargetList(list):
    """The targets of a collection made from a list: a list to the user (iterating yields
    targets, as in law), with the mapping methods law-core's collections read."""

    def keys(self) -> range:
        return range(len(self))

    def values(self) -> list[Any]:
        return list(self)

    def items(self) -> Iterator[tuple[int, Any]]:
        return enumerate(self)


def _flatten(struct: Any) -> list[Any]:
    """The targets in a structure of dicts, lists and tuples; collections stay whole."""
    if isinstance(struct, Mapping):
        return [t for v in struct.values() for t in _flatten(v)]
    if isinstance(struct, (list, tuple)):
        return [t for v in struct for t in _flatten(v)]
    return [] if struct is None else [struct]


def flatten_collections(*targets: Any) -> list[Any]:
    """The leaf targets in ``targets``, collections opened up (nested ones too). In law's
    order: the targets of a collection inside the structure come in reverse (so
    ``first_target`` of a collection of collections is the last target of the first)."""
    leaves: list[Any] = []
    todo = deque(_flatten(list(targets)))
    while todo:
        target = todo.popleft()
        if isinstance(target, law_core.TargetCollection):
            todo.extendleft([t for v in target.targets.values() for t in _flatten(v)])
        else:
            leaves.append(target)
    return leaves


def _map_struct(func: Callable[[Any], Any], struct: Any) -> Any:
    if isinstance(struct, Mapping):
        return type(struct)((k, _map_struct(func, v)) for k, v in struct.items()) \
            if isinstance(struct, dict) else {k: _map_struct(func, v) for k, v in struct.items()}
    if isinstance(struct, (list, tuple)):
        return type(struct)(_map_struct(func, v) for v in struct)
    return func(struct)


class TargetCollection(law_core.TargetCollection):
    """law's collection of targets (a list or a dict of targets or structures of them),
    existing when at least ``threshold`` of its items do (a fraction up to 1, else a
    count). ``optional_existing``: what optional targets count as (None: checked)."""

    def __init__(self, targets: Any, threshold: float = 1.0,
                 optional_existing: bool | None = None, remove_threads: int | None = None,
                 **kwargs: Any) -> None:
        if isinstance(targets, types.GeneratorType):
            targets = list(targets)
        if isinstance(targets, (list, tuple)):
            targets = _TargetList(targets)
        elif not isinstance(targets, Mapping):
            raise TypeError(f"invalid targets of {type(self).__name__}: a list, tuple or dict "
                            f"of targets, not {type(targets).__name__}")
        super().__init__({}, threshold)
        self.targets = targets  # the list or mapping given, as law keeps it
        self.optional_existing = optional_existing
        self.remove_threads = remove_threads or 0
        self.optional = bool(kwargs.get("optional", False))

    # law's access

    def keys(self) -> list[Any]:
        return list(self.targets.keys())

    def iter_all(self, **kwargs: Any) -> Iterator[Any]:
        return self._iter_state(existing=None, **kwargs)

    def iter_existing(self, **kwargs: Any) -> Iterator[Any]:  # type: ignore[override]
        """The existing items (their targets; ``keys=True``: ``(key, targets)`` pairs;
        ``unpack=False``: each item's targets as a flat list)."""
        return self._iter_state(existing=True, **kwargs)

    def iter_missing(self, **kwargs: Any) -> Iterator[Any]:  # type: ignore[override]
        """The missing items, as :meth:`iter_existing` yields existing ones."""
        return self._iter_state(existing=False, **kwargs)

    def _iter_state(self, existing: bool | None = True, optional_existing: Any = _unset,
                    keys: bool = False, unpack: bool = True,
                    exists_func: Callable[[Any], bool] | None = None) -> Iterator[Any]:
        if optional_existing is _unset:
            optional_existing = self.optional_existing
        existing_keys = None
        if existing is not None:
            if exists_func is None and not self._has_optional(optional_existing):
                existing_keys = self.existing_keys()  # one listing per directory
            else:
                exists_func = exists_func or self._exists_func(optional_existing)
        for key in self.targets.keys():
            if existing is not None:
                if existing_keys is not None:
                    state = key in existing_keys
                else:
                    state = all(map(exists_func, _flatten(self.targets[key])))
                if state is not bool(existing):
                    continue
            value = self.targets[key] if unpack else _flatten(self.targets[key])
            yield (key, value) if keys else value

    def _lazy(self) -> bool:
        """Whether the targets are a workflow's outputs, built only when asked for."""
        return not isinstance(self.targets, (dict, _TargetList))

    def _has_optional(self, optional_existing: Any) -> bool:
        if optional_existing is None or self._lazy():
            return False
        return any(getattr(t, "optional", False) or isinstance(t, TargetCollection)
                   for v in self.targets.values() for t in _flatten(v))

    @staticmethod
    def _exists_func(optional_existing: Any) -> Callable[[Any], bool]:
        def exists(target: Any) -> bool:
            if optional_existing is not None and getattr(target, "optional", False):
                return bool(optional_existing)
            if isinstance(target, TargetCollection):
                return target.exists(optional_existing=optional_existing)
            return target.exists()

        return exists

    # law's counting

    def _abs_threshold(self) -> float:
        if self.threshold < 0:
            return 0
        if self.threshold <= 1:
            return len(self) * self.threshold
        return min(len(self), max(self.threshold, 0.0))

    def count(self, keys: bool = False, **kwargs: Any) -> Any:  # type: ignore[override]
        """How many items exist (``keys=True``: ``(number, [their keys])``)."""
        found = [key for key, _ in self._iter_state(existing=True, keys=True, **kwargs)]
        return (len(found), found) if keys else len(found)

    def exists(self, **kwargs: Any) -> bool:
        threshold = self._abs_threshold()
        if threshold == 0:
            return True
        return self.count(**kwargs) >= threshold

    def complete(self, **kwargs: Any) -> bool:
        kwargs["optional_existing"] = True
        return self.optional or self.exists(**kwargs)

    # law's helpers

    def _flat_targets(self) -> list[Any]:
        """The targets of all items, collections among them kept whole."""
        return [t for v in self.targets.values() for t in _flatten(v)]

    @property
    def first_target(self) -> Any:
        leaves = flatten_collections(self._flat_targets())
        return leaves[0] if leaves else None

    def random_target(self) -> Any:
        return random.choice(list(self.targets.values()))

    def uri(self, *args: Any, **kwargs: Any) -> list[str]:
        return _flatten([t.uri(*args, **kwargs) for t in self._flat_targets()])

    def remove(self, silent: bool = True, threads: int | None = None,
               **kwargs: Any) -> None:
        """Remove every target (law's signature; ``threads`` is accepted, removal is
        sequential)."""
        for target in self._flat_targets():
            target.remove(silent=silent, **kwargs)

    def _copy_kwargs(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "optional_existing": self.optional_existing}

    def map(self, func: Callable[[Any], Any]) -> TargetCollection:
        """A collection of the same class whose targets are ``func`` of these."""
        targets = list(self.targets) if isinstance(self.targets, _TargetList) else \
            dict(self.targets.items())
        return type(self)(_map_struct(func, targets), **self._copy_kwargs())

    def status_text(self, max_depth: int = 0, flags: Any = None, color: bool = False,
                    **kwargs: Any) -> str:
        """``existent (n/N)`` or ``absent (n/N)``, as law's status line of a collection."""
        count, found = self.count(keys=True, **kwargs)
        text = "existent" if count >= self._abs_threshold() else "absent"
        if color:
            from law.util import colored

            text = colored(text, "green" if text == "existent" else "red", style="bright")
        text += f" ({count}/{len(self)})"
        if flags and "missing" in flags and count != len(self):
            text += ", missing branches: " + ",".join(str(k) for k in self.keys()
                                                      if k not in set(found))
        return text


class FileCollection(TargetCollection):
    """A collection of file-system targets (and other file collections) only."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self._lazy():
            return  # a workflow's outputs: built only when asked for
        for target in (t for v in self.targets.values() for t in _flatten(v)):
            if not isinstance(target, (law_core.FileSystemTarget, FileCollection)):
                raise TypeError(f"a {type(self).__name__} holds file targets and file "
                                f"collections only, not {type(target).__name__}")

    @contextmanager
    def localize(self, *args: Any, **kwargs: Any) -> Iterator[FileCollection]:
        """A collection of the same class of the targets localized (law's context)."""
        from contextlib import ExitStack

        with ExitStack() as stack:
            yield self.map(lambda t: stack.enter_context(t.localize(*args, **kwargs)))


class SiblingFileCollection(FileCollection, law_core.SiblingFileCollection):
    """Files in one directory: one listing answers for all. ``dir`` is that directory (a
    directory target, as in law)."""

    @classmethod
    def from_directory(cls, directory: Any, **kwargs: Any) -> SiblingFileCollection:
        """The files in ``directory`` (a directory target, or a local path); ``kwargs``
        filter them as ``listdir`` does (``pattern=``)."""
        if isinstance(directory, law_core.DirectoryTarget):
            d = directory
        elif directory:
            from law.target.local import LocalDirectoryTarget

            d = LocalDirectoryTarget(str(directory))
        else:
            raise TypeError(f"directory must be a directory target or a path, not "
                            f"{directory!r}")
        kwargs["type"] = "f"
        return cls([d.child(name, type="f") for name in d.listdir(**kwargs)])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        FileCollection.__init__(self, *args, **kwargs)
        first = self.first_target
        if first is None:
            raise TargetError(f"a {type(self).__name__} needs at least one file target")
        self.dir = first.parent
        for target in flatten_collections(self._flat_targets()):
            if target.fs is not first.fs or target.parent.path != self.dir.path:
                raise TargetError(f"{target!r} is not in the directory {self.dir.path} of "
                                  f"{type(self).__name__}; use a NestedSiblingFileCollection")


class NestedSiblingFileCollection(FileCollection, law_core.NestedSiblingFileCollection):
    """Files spread over directories, one listing for each. ``collections`` holds a
    :class:`SiblingFileCollection` per directory, as in law."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        FileCollection.__init__(self, *args, **kwargs)
        self._collections: list[SiblingFileCollection] | None = None

    @property
    def collections(self) -> list[SiblingFileCollection]:
        if self._collections is None:
            grouped: dict[tuple[int, str], list[Any]] = {}
            for target in flatten_collections(self._flat_targets()):
                grouped.setdefault((id(target.fs), target.parent.path), []).append(target)
            self._collections = [SiblingFileCollection(ts) for ts in grouped.values()]
        return self._collections
