"""Collections of targets, whose existence is checked with one listing per directory.

A workflow with 100000 branches has 100000 outputs; asking the storage about each costs
minutes on a grid door. A collection groups its file-system targets by directory and
lists each directory once, then answers for all of them from the listings.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import luigi

from law_core.errors import TargetError
from law_core.targets.file import FileSystemTarget


class LazyTargets(Mapping):
    """Targets built only when asked for, whose file locations may be known without
    building them: a collection of a million outputs then checks existence from the
    locations alone. Subclasses implement the Mapping methods and :meth:`located_names`."""

    def located_names(self) -> dict[tuple[Any, str], tuple[list[Any], list[str]]] | None:
        """The leaf file targets' keys and basenames (two lists of one length), by (file
        system, directory), or None when they are known only by building the targets."""
        return None


class TargetCollection(luigi.Target):
    """Targets keyed by branch number (or any key), existing when enough of them do.

    ``threshold``: a value <= 1 is the fraction of targets that must exist, a value > 1
    an absolute count. :class:`LazyTargets` are kept as they are (not built).
    """

    def __init__(
        self, targets: Mapping[Any, Any] | Sequence[Any], threshold: float = 1.0
    ):
        self.targets: Mapping[Any, Any] = (
            targets if isinstance(targets, LazyTargets) else
            dict(targets) if isinstance(targets, Mapping) else dict(enumerate(targets))
        )
        self.threshold = threshold

    def __repr__(self) -> str:
        return f"{type(self).__name__}(len={len(self)}, threshold={self.threshold})"

    def __len__(self) -> int:
        return len(self.targets)

    # not iterable: luigi's flatten() would dissolve the collection into its targets and
    # complete() would then ignore the threshold (iterate .targets or iter_existing())
    __iter__ = None

    def __getitem__(self, key: Any) -> Any:
        return self.targets[key]

    def keys(self) -> list[Any]:
        return list(self.targets)

    def items(self) -> list[tuple[Any, Any]]:
        return list(self.targets.items())

    def required_count(self) -> int:
        """How many targets must exist for the collection to exist."""
        n = len(self.targets)
        if self.threshold > 1:
            return int(min(self.threshold, n))
        # rounded first: 0.7 * 10 is 7.000000000000001 in floating point, which must not
        # require 8 targets
        return math.ceil(round(self.threshold * n, 9))

    def existing_keys(self) -> set[Any]:
        """Keys of the targets that exist, from one listing per directory."""
        located = (self.targets.located_names() if isinstance(self.targets, LazyTargets)
                   else None)
        if located is not None:
            return _existing_from_listings(located)
        existing: set[Any] = set()
        # (file system, directory) -> (keys, basenames); file systems compare by identity
        by_directory: dict[tuple[Any, str], tuple[list[Any], list[str]]] = {}
        is_file_target = _file_target_test()
        last: tuple[Any, str] | None = None
        keys: list[Any] = []
        basenames: list[str] = []
        for key, value in self.targets.items():
            if is_file_target(value):
                leaves: Any = (value,)
            else:
                leaves = leaf_targets(value)
                if not leaves or not all(map(is_file_target, leaves)):
                    if all(t.exists() for t in leaves):
                        existing.add(key)
                    continue
            for t in leaves:
                directory, _, basename = t.path.rstrip("/").rpartition("/")
                if last is None or last[1] != directory or last[0] is not t.fs:
                    last = (t.fs, directory)  # neighbours mostly share a directory
                    keys, basenames = by_directory.setdefault((t.fs, directory or "/"),
                                                              ([], []))
                keys.append(key)
                basenames.append(basename)
        return existing | _existing_from_listings(by_directory)

    def count(self) -> tuple[int, int]:
        """(number of existing targets, number of targets)."""
        return len(self.existing_keys()), len(self.targets)

    def exists(self) -> bool:
        return self.count()[0] >= self.required_count()

    def iter_existing(self) -> Iterator[tuple[Any, Any]]:
        existing = self.existing_keys()  # keys first: lazy targets are built only if wanted
        return ((k, self.targets[k]) for k in self.targets if k in existing)

    def iter_missing(self) -> Iterator[tuple[Any, Any]]:
        existing = self.existing_keys()
        return ((k, self.targets[k]) for k in self.targets if k not in existing)

    def remove(self) -> None:
        for target in (t for value in self.targets.values() for t in leaf_targets(value)):
            if target.exists():
                target.remove()

    def uri(self) -> list[str]:
        return [t.uri() for value in self.targets.values() for t in leaf_targets(value)]


class SiblingFileCollection(TargetCollection):
    """A collection of files that all live in one directory: one listing answers all."""

    def __init__(self, targets: Mapping[Any, Any] | Sequence[Any], threshold: float = 1.0):
        super().__init__(targets, threshold)
        is_file_target = _file_target_test()
        dirs = {(id(t.fs), t.path.rstrip("/").rpartition("/")[0] or "/")
                for v in self.targets.values()
                for t in ((v,) if is_file_target(v) else leaf_targets(v))}
        if len(dirs) > 1:
            raise TargetError(
                f"a SiblingFileCollection needs all files in one directory, these are in "
                f"{len(dirs)}; use a NestedSiblingFileCollection"
            )
        self.dir = next(iter(dirs))[1] if dirs else None


class NestedSiblingFileCollection(TargetCollection):
    """A collection of files spread over several directories, one listing for each."""


def _file_target_test() -> Callable[[Any], bool]:
    """isinstance(t, FileSystemTarget), asked once per type: on luigi's abstract target
    classes it is slow, and collections ask it for every target."""
    known: dict[type, bool] = {}

    def is_file_target(target: Any) -> bool:
        answer = known.get(type(target))
        if answer is None:
            answer = known[type(target)] = isinstance(target, FileSystemTarget)
        return answer

    return is_file_target


def _existing_from_listings(
    by_directory: dict[tuple[Any, str], tuple[list[Any], list[str]]]
) -> set[Any]:
    """Keys all of whose files are in their directory's listing."""
    present: set[Any] = set()
    missing: set[Any] = set()
    for (fs, directory), (keys, basenames) in by_directory.items():
        found = fs.existing_names(directory, basenames)
        if found.issuperset(basenames):  # the usual answer of a status: all there
            present.update(keys)
            continue
        for key, basename in zip(keys, basenames):
            (present if basename in found else missing).add(key)
    return present - missing if missing else present


def leaf_targets(structure: Any) -> list[Any]:
    """The targets inside a structure of targets: dicts and lists flattened, collections
    opened up (nested ones too)."""
    leaves = []
    for item in luigi.task.flatten(structure):
        if isinstance(item, TargetCollection):
            leaves += [t for v in item.targets.values() for t in leaf_targets(v)]
        else:
            leaves.append(item)
    return leaves


def target_uris(structure: Any) -> list[str]:
    """The URI (else the path, else the class) of every leaf target of ``structure``: how
    two processes compare where a task's outputs go."""
    names = []
    for target in leaf_targets(structure):
        uri = getattr(target, "uri", None)
        name = uri() if callable(uri) else getattr(target, "path", None)
        names.append(str(name) if name is not None else
                     f"{type(target).__module__}.{type(target).__qualname__}")
    return names
