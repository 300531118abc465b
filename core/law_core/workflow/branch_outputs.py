"""The outputs of a workflow's branches: built when asked for, located by a pattern.

A workflow's collection holds one output per branch; building a million of them costs
more than checking whether they exist. Most branch ``output()`` methods differ between
branches only in the branch number written into a path (``f"hist_{self.branch}.json"``).
:func:`output_pattern` calls ``output()`` once with a stand-in for the branch number that
is written as a marker, that follows ``+ - * // %`` with integers (``self.branch // 1000``
for a directory per thousand files), and that notes every other use (comparisons, a lookup
in the branch map, ...). When the number was only written, the marked paths are a pattern
from which every branch's paths follow by substitution. The pattern is used only after it has
reproduced the real outputs of sampled branches; in every other case the outputs are
built one by one, as ``output()`` says.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from itertools import groupby, repeat
from typing import Any

from law_core.targets.collection import LazyTargets, leaf_targets
from law_core.targets.file import FileSystemTarget

#: operations that make a value from the branch number: (int method, int operand) each
Operations = tuple[tuple[Callable[[int, int], int], int], ...]

#: below this many branches the outputs are simply built
PATTERN_MIN_BRANCHES = 16

#: the stand-in's value: if it shows up in a path, the number was used unseen
_STAND_IN_VALUE = 918273645
_MARKER = "XLAWCOREBRANCH{}X"
_MARKER_RE = re.compile(r"XLAWCOREBRANCH(\d+)X")

#: comparisons whose answer is the same for every branch number (>= 0)
_BRANCH_AGNOSTIC = {("__eq__", -1), ("__ne__", -1), ("__lt__", 0), ("__ge__", 0),
                    ("__gt__", -1), ("__le__", -1)}


class _BranchStandIn(int):
    """The branch number while ``output()`` is probed (or a value computed from it by
    ``+ - * // %`` with an int: the operations ``ops``, each an int method and its
    operand): written as a marker, any other use noted in ``uses``."""

    def __new__(cls, specs: list[tuple[Operations, str]], uses: list[str], ops: Operations = (),
                value: int = _STAND_IN_VALUE) -> _BranchStandIn:
        self = super().__new__(cls, value)
        self.specs, self.uses, self.ops = specs, uses, ops
        return self

    def __format__(self, spec: str) -> str:
        format(0, spec)  # an invalid spec raises as for an int
        key = (self.ops, spec)
        if key not in self.specs:
            self.specs.append(key)
        return _MARKER.format(self.specs.index(key))

    def __str__(self) -> str:
        return self.__format__("")

    __repr__ = __str__


def _noting(name: str) -> Callable[..., Any]:
    plain = getattr(int, name)

    def method(self: _BranchStandIn, *args: Any) -> Any:
        if not (not self.ops and len(args) == 1 and type(args[0]) is int
                and (name, args[0]) in _BRANCH_AGNOSTIC):
            self.uses.append(name)
        return plain(self, *args)

    method.__name__ = name
    return method


def _deriving(name: str) -> Callable[..., Any]:
    """``stand_in OP n`` with an int ``n``: a stand-in for the result, which follows from
    any branch number the same way."""
    plain = getattr(int, name)

    def method(self: _BranchStandIn, other: Any) -> Any:
        if type(other) is not int:
            self.uses.append(name)
            return plain(self, other)
        return _BranchStandIn(self.specs, self.uses, (*self.ops, (plain, other)),
                              plain(int.__int__(self), other))

    method.__name__ = name
    return method


for _name in ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__hash__",
              "__bool__", "__int__", "__float__", "__index__",
              "__rfloordiv__", "__truediv__", "__rtruediv__", "__rmod__",
              "__divmod__", "__rdivmod__", "__pow__", "__rpow__", "__neg__", "__pos__",
              "__abs__", "__invert__", "__and__", "__rand__", "__or__", "__ror__", "__xor__",
              "__rxor__", "__lshift__", "__rlshift__", "__rshift__", "__rrshift__",
              "__round__", "__trunc__", "__floor__", "__ceil__", "to_bytes", "bit_length",
              "bit_count", "as_integer_ratio", "conjugate", "__getnewargs__",
              "__reduce__", "__reduce_ex__", "__sizeof__"):
    setattr(_BranchStandIn, _name, _noting(_name))
for _name in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
              "__floordiv__", "__mod__"):
    setattr(_BranchStandIn, _name, _deriving(_name))


class OutputPattern:
    """The file locations of every branch's outputs, from one probed ``output()``."""

    def __init__(self, leaves: list[tuple[Any, list[str]]], specs: list[tuple[Operations, str]]):
        #: (file system, path split at the markers: text, spec index, text, ...)
        self.leaves = leaves
        #: per marker: how its value follows from the branch number (the operations
        #: applied to it in turn, none: it is the number), and its format spec
        self.specs = specs

    def paths(self, branch: int) -> list[str]:
        return [self._render(parts, [branch])[0] for _, parts in self.leaves]

    def _render(self, parts: list[str], branches: list[int]) -> list[str]:
        """The text ``parts`` describe (text, marker index, text, ...), for each branch."""
        if len(parts) == 1:
            return [parts[0]] * len(branches)
        return self._format(parts, self._columns(parts, branches))

    def _columns(self, parts: list[str], branches: list[int]) -> list[list[int]]:
        """The values of each marker in ``parts``, for all branches at once (map: no
        frame per branch)."""
        columns = []
        for i in range(1, len(parts), 2):
            values = branches
            for operation, operand in self.specs[int(parts[i])][0]:
                values = list(map(operation, values, repeat(operand)))
            columns.append(values)
        return columns

    def _format(self, parts: list[str], columns: list[list[int]]) -> list[str]:
        """The text ``parts`` (with at least one marker) describe, for each row of marker
        values in ``columns``."""
        specs = [self.specs[int(parts[i])][1] for i in range(1, len(parts), 2)]
        if any("{" in spec or "}" in spec for spec in specs):
            return ["".join(part if i % 2 == 0 else format(values[i // 2], specs[i // 2])
                            for i, part in enumerate(parts))
                    for values in zip(*columns)]
        # one str.format() per text: its braces doubled, the markers as fields
        text = "".join(
            part.replace("{", "{{").replace("}", "}}") if i % 2 == 0 else
            f"{{{i // 2}:{specs[i // 2]}}}" for i, part in enumerate(parts))
        return list(map(text.format, *columns))

    def located_names(self, branches: list[int]
                      ) -> dict[tuple[Any, str], tuple[list[int], list[str]]]:
        """The branches and their basenames by (file system, directory)."""
        located: dict[tuple[Any, str], tuple[list[int], list[str]]] = {}
        for fs, parts in self.leaves:
            runs, names = self._directory_runs(parts, branches)
            start = 0
            for directory, length in runs:
                keys, basenames = located.setdefault((fs, directory or "/"), ([], []))
                end = start + length
                keys.extend(branches[start:end])
                basenames.extend(names[start:end])
                start = end
        return located

    def _directory_runs(self, parts: list[str], branches: list[int]
                        ) -> tuple[list[tuple[str, int]], list[str]]:
        """The runs of neighbouring branches that share a directory, as (directory,
        length), and each branch's basename; a trailing slash (a directory target) is
        dropped."""
        parts = [*parts[:-1], parts[-1].rstrip("/")]
        if any("/" in self.specs[int(marker)][1] for marker in parts[1::2]):
            # a format spec with a slash as fill: split each written path
            split = [path.rpartition("/") for path in self._render(parts, branches)]
            runs = [(directory, len(list(run)))
                    for directory, run in groupby(directory for directory, _, _ in split)]
            return runs, [name for _, _, name in split]
        # a marker writes a number: the last slash is in a text part
        for i in range(len(parts) - 1, -1, -2):
            head, slash, tail = parts[i].rpartition("/")
            if slash:
                break
        else:
            return [("", len(branches))], self._render(parts, branches)
        names = self._render([tail, *parts[i + 1:]], branches)
        if i == 0:
            return [(head, len(branches))], names
        # neighbours mostly share a directory: each written once per run of its values
        directory_parts = [*parts[:i], head]
        columns = self._columns(directory_parts, branches)
        runs = [(self._format(directory_parts, [[value] for value in values])[0],
                 len(list(run)))
                for values, run in groupby(zip(*columns))]
        return runs, names


def output_pattern(make_branch: Callable[[int], Any], samples: list[int]
                   ) -> OutputPattern | None:
    """The pattern of the outputs of the branch tasks ``make_branch(n)`` makes, checked on
    the branches ``samples``; None when the outputs do not follow one."""
    specs: list[tuple[Operations, str]] = []
    uses: list[str] = []
    try:
        probed = leaf_targets(make_branch(_BranchStandIn(specs, uses)).output())
        leaves = [(t.fs, _MARKER_RE.split(t.path)) for t in probed
                  if isinstance(t, FileSystemTarget)]
    except Exception:  # noqa: BLE001 - output() needs the real number: no pattern
        return None
    if uses or not probed or len(leaves) != len(probed) or any(
            str(_STAND_IN_VALUE) in "".join(parts) for _, parts in leaves):
        return None
    pattern = OutputPattern(leaves, specs)
    types = [type(t) for t in probed]
    for branch in samples:
        try:
            real = leaf_targets(make_branch(branch).output())
        except Exception:  # noqa: BLE001 - its own error shows when it is built
            return None
        if (len(real) != len(leaves) or [type(t) for t in real] != types
                or any(t.fs is not fs for t, (fs, _) in zip(real, leaves))
                or [t.path for t in real] != pattern.paths(branch)):
            return None
    return pattern


class BranchOutputs(LazyTargets):
    """The outputs of a workflow's selected branches, keyed by branch number, each built
    (and kept) when first asked for; their locations from an :class:`OutputPattern` when
    the outputs follow one."""

    def __init__(self, workflow: Any, branches: list[int]):
        self._workflow = workflow
        self._index = dict.fromkeys(branches)
        self._built: dict[int, Any] = {}
        self._pattern: OutputPattern | None | bool = False  # False: not asked yet

    def __getstate__(self) -> dict[str, Any]:
        # what was built or probed is found again where it is needed (a pattern's
        # functions do not pickle)
        return {**self.__dict__, "_built": {}, "_pattern": False}

    def __len__(self) -> int:
        return len(self._index)

    def __iter__(self) -> Iterator[int]:
        return iter(self._index)

    def __contains__(self, branch: object) -> bool:
        return branch in self._index

    def __getitem__(self, branch: int) -> Any:
        built = self._built.get(branch)
        if built is None:
            if branch not in self._index:
                raise KeyError(branch)
            built = self._built[branch] = self._branch(branch).output()
        return built

    def _branch(self, branch: int) -> Any:
        known = self._workflow.__dict__.get("_branch_tasks") or {}
        return known.get(branch) or self._workflow._transient_branch(branch)

    def located_names(self) -> dict[tuple[Any, str], list[tuple[int, str]]] | None:
        if self._pattern is False:
            keys = list(self._index)
            self._pattern = None
            if len(keys) >= PATTERN_MIN_BRANCHES:
                samples = sorted({keys[0], keys[1], keys[len(keys) // 2], keys[-1]})
                self._pattern = output_pattern(self._workflow._transient_branch, samples)
        if self._pattern is None:
            return None
        return self._pattern.located_names(list(self._index))
