"""``law.util``: the helper functions law 0.1.21 analyses import, with law's behaviour.

Analyses call these helpers directly (``law.util.flatten(self.input())``,
``law.util.colored(...)``, ``law.util.human_bytes(...)``), so their results, defaults and
quirks follow law 0.1.21; a few deliberate differences are listed in the docstrings of the
functions concerned. Everything here is plain Python; nothing needs a running service.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import datetime
import fnmatch
import hashlib
import itertools
import logging
import math
import multiprocessing
import multiprocessing.managers
import os
import random
import re
import shlex
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
import types
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, MappingView
from typing import Any

__all__ = [
    "default_lock", "io_lock", "console_lock", "no_value", "mp_manager", "rel_path",
    "law_src_path", "law_home_path", "law_run", "print_err", "abort", "import_file",
    "get_terminal_width", "is_classmethod", "is_number", "is_float", "try_int",
    "round_discrete", "str_to_int", "flag_to_bool", "empty_context", "common_task_params",
    "colored", "uncolored", "query_choice", "is_pattern", "brace_expand", "range_expand",
    "range_join", "multi_match", "is_iterable", "is_lazy_iterable", "make_list", "make_tuple",
    "make_set", "make_unique", "is_nested", "flatten", "merge_dicts", "unzip", "which",
    "map_verbose", "map_struct", "mask_struct", "tmp_file", "perf_counter",
    "interruptable_popen", "send_signal_silent", "kill_process", "get_subprocess_pids",
    "readable_popen", "create_hash", "create_random_string", "copy_no_perm", "makedirs",
    "user_owns_file", "increment_path", "iter_chunks", "chunk_slice_ranges", "human_bytes",
    "parse_bytes", "human_duration", "parse_duration", "is_file_exists_error", "send_mail",
    "DotDict", "ShorthandDict", "open_compat", "patch_object", "join_generators", "quote_cmd",
    "escape_markdown", "classproperty", "BaseStream", "TeeStream", "FilteredStream",
]

logger = logging.getLogger(__name__)

#: Whether this runs in a Google Colab notebook (whose kernel has imported google.colab).
ON_COLAB = "google.colab" in sys.modules

#: Locks shared by code that must not interleave (law analyses use them by name).
default_lock = threading.Lock()
io_lock = threading.Lock()
console_lock = threading.Lock()


# --- the missing-value marker ----------------------------------------------------------------


class NoValue:
    """Type of :data:`no_value`, a falsy marker for "not given" where *None* is a valid value.
    There is only one instance."""

    _instance: NoValue | None = None

    def __new__(cls, *args: Any, **kwargs: Any) -> NoValue:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"{self.__module__}.no_value"

    def __str__(self) -> str:
        return "no_value"

    def __reduce__(self) -> str:
        return "no_value"


no_value = NoValue()


# --- multiprocessing manager -----------------------------------------------------------------


def MPManager(**kwargs: Any) -> multiprocessing.managers.SyncManager:  # noqa: N802 - law's name
    """A started :class:`multiprocessing.managers.SyncManager`; *kwargs* (e.g. ``address``) go
    to its constructor, ``ctx`` defaults to the default multiprocessing context."""
    kwargs.setdefault("ctx", multiprocessing.get_context())
    manager = multiprocessing.managers.SyncManager(**kwargs)
    manager.start()
    return manager


_MP_SHARED_TYPES = frozenset({
    "list", "dict", "Namespace", "Lock", "RLock", "Semaphore", "BoundedSemaphore", "Condition",
    "Event", "Barrier", "Queue", "Value", "Array",
})


class DeferredManager:
    """A :func:`MPManager` that starts (a server process) only when a shared object is first
    requested; :meth:`get` caches shared objects by name."""

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self._manager: multiprocessing.managers.SyncManager | None = None
        self._objects: dict[str, Any] = {}

    def _start(self) -> None:
        if self._manager is None:
            self._manager = MPManager(**self.kwargs)

    def get(self, name: str, obj_type: str, *args: Any, **kwargs: Any) -> Any:
        """The shared object *name*, made by the manager's *obj_type* factory on first use."""
        if name not in self._objects:
            self._objects[name] = getattr(self, obj_type)(*args, **kwargs)
        return self._objects[name]

    def __getattr__(self, attr: str) -> Any:
        if attr in _MP_SHARED_TYPES:
            self._start()
        return getattr(self._manager, attr)


mp_manager = DeferredManager(address=("localhost", 0))


# --- paths and process -----------------------------------------------------------------------


def rel_path(anchor: Any, *paths: Any) -> str:
    """*paths* joined onto *anchor* (user and variables expanded, absolute, normalized); when
    *anchor* is an existing file, its directory is the anchor (``rel_path(__file__, "x")``)."""
    anchor = os.path.abspath(os.path.expandvars(os.path.expanduser(str(anchor))))
    if os.path.isfile(anchor):
        anchor = os.path.dirname(anchor)
    return os.path.normpath(os.path.join(anchor, *(str(p) for p in paths)))


def law_src_path(*paths: Any) -> str:
    """The directory of the installed ``law`` package (here: the compat package), joined with
    *paths*."""
    return rel_path(__file__, *paths)


def law_home_path(*paths: Any) -> str:
    """The law home directory (``$LAW_HOME``, default ``~/.law``) joined with *paths*."""
    home = os.getenv("LAW_HOME") or os.path.expandvars(os.path.expanduser("$HOME/.law"))
    return os.path.normpath(os.path.join(home, *(str(p) for p in paths)))


def law_run(argv: str | Iterable[Any], **kwargs: Any) -> Any:
    """Run a task from a command line: *argv* (a string or list) starts with the task family,
    then its parameters. luigi's process lock is disabled; *kwargs* go to
    ``luigi.interface.run``, whose result is returned."""
    from luigi.interface import run as luigi_run

    args = shlex.split(argv) if isinstance(argv, str) else [str(a) for a in argv]
    return luigi_run([*args, "--no-lock"], **kwargs)


def print_err(*args: Any, **kwargs: Any) -> None:
    """Like ``print(*args)`` but to stderr; ``flush=True`` flushes stderr afterwards."""
    sys.stderr.write(" ".join(str(a) for a in args) + "\n")
    if kwargs.get("flush", False):
        sys.stderr.flush()


def abort(msg: Any = None, exitcode: int | None = 1, color: bool = True) -> None:
    """Exit with *exitcode*, first printing *msg* (if not None): to stdout for exit code 0 or
    None, otherwise to stderr, in red when *color*."""
    if msg is not None:
        if exitcode in (None, 0):
            print(msg)
        else:
            print_err(colored(msg, color="red") if color else msg)
    sys.exit(exitcode)


def import_file(path: Any, attr: str | None = None) -> Any:
    """Execute the python file *path* (need not be importable) and return its globals as a
    :class:`DotDict`, or only its member *attr* (AttributeError when missing)."""
    path = os.path.expandvars(os.path.expanduser(str(path)))
    namespace = DotDict()
    with open(path) as f:
        code = compile(f.read(), path, "exec")
    exec(code, namespace)  # noqa: S102 - loading user code is the purpose
    if attr:
        if attr not in namespace:
            raise AttributeError(f"no local member '{attr}' found in file {path}")
        return namespace[attr]
    return namespace


def get_terminal_width(fallback: bool = False) -> int | None:
    """Columns of the terminal behind ``sys.__stdout__``, None when there is none; with
    *fallback*, ``shutil.get_terminal_size`` (honouring ``$COLUMNS``, never None)."""
    try:
        size = shutil.get_terminal_size() if fallback else os.get_terminal_size()
    except OSError:
        return None
    return size.columns


# --- type checks and conversions -------------------------------------------------------------


def is_classmethod(func: Any, cls: type | None = None) -> bool:
    """Whether *func* is a classmethod of *cls*; without *cls*, the class is looked up from
    the function's ``__qualname__`` in its module."""
    if cls is None:
        qualname = getattr(func, "__qualname__", None)
        module = getattr(func, "__module__", None)
        if qualname and module and "." in qualname:
            cls = getattr(sys.modules.get(module), qualname.rsplit(".", 1)[0], None)
    if cls is None:
        return False
    name = getattr(func, "__name__", None)
    if name is None:
        raise AttributeError(f"func '{func}' has no attribute __name__")
    if getattr(cls, name, None) != func:
        return False
    try:
        for base in cls.__mro__:
            if name in base.__dict__:
                return type(base.__dict__[name]).__name__ == "classmethod"
    except AttributeError:
        return False
    return False


def is_number(n: Any) -> bool:
    """Whether *n* is an int or a float (booleans are not numbers here)."""
    return isinstance(n, (int, float)) and not isinstance(n, bool)


def is_float(v: Any) -> bool:
    """Whether ``float(v)`` succeeds."""
    try:
        float(v)
    except Exception:
        return False
    return True


def try_int(n: Any) -> Any:
    """*n* as an int when that loses nothing (``2.0`` -> ``2``), else *n* unchanged."""
    as_int = int(n)
    return as_int if n == as_int else n


def round_discrete(n: Any, base: float = 1.0, round_fn: Any = round) -> float:
    """*n* rounded to a multiple of *base*; *round_fn* is a function or one of ``"round"``,
    ``"floor"``, ``"ceil"``: ``round_discrete(17, 2.5, "floor")`` -> ``15.0``."""
    if isinstance(round_fn, str):
        named = {"round": round, "floor": math.floor, "ceil": math.ceil}
        if round_fn not in named:
            raise ValueError(f"unknown round function '{round_fn}', choose one of {list(named)}")
        round_fn = named[round_fn]
    return base * round_fn(float(n) / base)


def str_to_int(s: Any) -> int:
    """An integer from text in decimal or with a ``0b``/``0o``/``0d``/``0x`` prefix."""
    text = str(s).lower()
    match = re.match(r"^0([bodx])\d+$", text)
    base = {"b": 2, "o": 8, "d": 10, "x": 16}[match.group(1)] if match else 10
    return int(text, base=base)


_TRUE_FLAGS = ("true", "1", "yes", "y", "on")
_FALSE_FLAGS = ("false", "0", "no", "n", "off")


def flag_to_bool(s: Any, silent: bool = False) -> bool | None:
    """A boolean from a flag string (``true/1/yes/y/on``, ``false/0/no/n/off``, any case);
    booleans pass through. Anything else raises ValueError, or gives None when *silent*."""
    if isinstance(s, bool):
        return s
    if isinstance(s, str):
        if s.lower() in _TRUE_FLAGS:
            return True
        if s.lower() in _FALSE_FLAGS:
            return False
    if silent:
        return None
    raise ValueError(f"cannot convert to bool: {s} (expected one of "
                     f"{', '.join(_TRUE_FLAGS + _FALSE_FLAGS)})")


@contextlib.contextmanager
def empty_context(obj: Any = None) -> Iterator[Any]:
    """A context that does nothing and yields *obj*, for code that only sometimes needs one."""
    yield obj


def common_task_params(task_instance: Any, task_cls: Any) -> dict[str, Any]:
    """The parameter values of *task_instance* for the parameters *task_cls* also has, taken
    as they are (not re-parsed)."""
    wanted = {name for name, _ in task_cls.get_params()}
    return {name: getattr(task_instance, name)
            for name, _ in task_instance.get_params() if name in wanted}


# --- terminal colors -------------------------------------------------------------------------

colors = {
    "default": 39, "black": 30, "red": 31, "green": 32, "yellow": 33, "blue": 34,
    "magenta": 35, "cyan": 36, "light_gray": 37, "dark_gray": 90, "light_red": 91,
    "light_green": 92, "light_yellow": 93, "light_blue": 94, "light_magenta": 95,
    "light_cyan": 96, "white": 97,
}

#: background codes are the foreground codes + 10
backgrounds = {name: code + 10 for name, code in colors.items()}

styles = {
    "default": 0, "bright": 1, "dim": 2, "underlined": 4, "blink": 5, "inverted": 7,
    "hidden": 8,
}

#: ANSI CSI escape sequences (colors, styles, cursor movement).
uncolor_cre = re.compile(r"(\x1B\[[0-?]*[ -/]*[@-~])")


def _stdout_is_terminal() -> bool:
    """Whether stdout is a tty or a Jupyter output stream (which renders colors)."""
    try:
        if os.isatty(sys.stdout.fileno()):
            return True
    except Exception:
        pass
    # a Jupyter kernel's stdout is an ipykernel OutStream; the module is loaded when it is
    iostream = sys.modules.get("ipykernel.iostream")
    return iostream is not None and isinstance(sys.stdout, iostream.OutStream)


def _pick(table: dict[str, int], key: Any) -> int:
    if key == "random":
        return random.choice(list(table.values()))
    return table.get(key, table["default"])


def colored(msg: Any, color: str | None = None, background: str | None = None,
            style: Any = None, force: bool = False) -> Any:
    """*msg* wrapped in ANSI codes for *color*, *background* and *style* (a name or a list of
    names; each can be ``"random"``); unknown or missing names mean the default.

    As in law, *msg* comes back unchanged when stdout is neither a tty nor a Jupyter output
    stream (a log file, a pipe), unless *force* is true.
    """
    if not force and not _stdout_is_terminal():
        return msg
    styles_ = style if isinstance(style, (tuple, list, set)) else (style,)
    style_codes = ";".join(str(_pick(styles, s)) for s in styles_)
    codes = f"{style_codes};{_pick(backgrounds, background)};{_pick(colors, color)}"
    return f"\033[{codes}m{msg}\033[0m"


def uncolored(s: str) -> str:
    """*s* without ANSI escape sequences."""
    return uncolor_cre.sub("", s)


def query_choice(msg: str, choices: Iterable[Any], default: Any = None,
                 descriptions: list[str] | None = None, lower: bool = True) -> str:
    """Ask on the prompt until the answer is one of *choices* and return it (lower-cased when
    *lower*); an empty answer means *default* (which must be a choice), marked with ``*``."""
    choices = [str(c) for c in choices]
    accepted = [c.lower() for c in choices] if lower else choices
    if default is not None and default not in choices:
        raise ValueError(f"default {default!r} must be one of the choices {choices}")
    hints = [c + "*" if c == default else c for c in choices]
    if descriptions is not None:
        if len(descriptions) != len(choices):
            raise ValueError("length of descriptions must match length of choices")
        hints = [f"{h}({d})" for h, d in zip(hints, descriptions)]
    prompt = f"{msg} [{', '.join(hints)}] "
    answer = None
    while answer not in accepted:
        if answer is not None:
            print(f"invalid choice: '{answer}'")
        answer = input(prompt)
        if default is not None and answer == "":
            answer = default
        if lower:
            answer = answer.lower()
    return answer


# --- patterns, braces, ranges ----------------------------------------------------------------


def is_pattern(s: str) -> bool:
    """Whether *s* contains a glob wildcard (``*`` or ``?``)."""
    return "*" in s or "?" in s


# Stand-ins that hide escaped characters from the splitting below; private-use code points
# do not occur in task names or paths.
_ESC_OPEN, _ESC_CLOSE, _INNER_SEP, _ESC_SEP = "\ue000", "\ue001", "\ue002", "\ue003"
# a brace group: "{" and then anything up to the next "}" without another "{" in between
_BRACE_GROUP = re.compile(r"\{[^{]*\}")


def brace_expand(s: str, split_csv: bool = False, escape_csv_sep: bool = True) -> list[str]:
    """All strings *s* stands for, with each ``{a,b,...}`` group replaced by each of its
    options, groups combined in every way: ``"A{1,2}B{3,4}"`` -> ``A1B3, A1B4, A2B3, A2B4``.

    law's rules: a group with one option is still expanded (``"C{3}D"`` -> ``"C3D"``); groups
    do not nest (a stray brace raises ValueError); ``\\{`` and ``\\}`` are no group and stay in
    the result as written. With
    *split_csv*, *s* is first split at the commas outside groups (``\\,`` is a literal comma
    when *escape_csv_sep*) and the parts are expanded one after the other.
    """
    s = s.replace("\\{", _ESC_OPEN).replace("\\}", _ESC_CLOSE)
    if split_csv:
        hidden = _BRACE_GROUP.sub(lambda m: m.group(0).replace(",", _INNER_SEP), s)
        if escape_csv_sep:
            hidden = hidden.replace("\\,", _ESC_SEP)
        parts = hidden.split(",")
        if len(parts) > 1:
            return [
                expanded
                for part in parts
                for expanded in brace_expand(
                    part.replace(_ESC_SEP, ",").replace(_INNER_SEP, ",")
                    .replace(_ESC_OPEN, "\\{").replace(_ESC_CLOSE, "\\}"))
            ]
    # law fills the text between groups in as a str.format template, so stray braces there
    # follow format's rules: "{{" and "}}" give one brace, a lone one is an error
    template = "{}".join(_BRACE_GROUP.split(s))
    options = [group[1:-1].split(",") for group in _BRACE_GROUP.findall(s)]
    results = []
    for choice in itertools.product(*options):
        try:
            text = template.format(*choice)
        except (ValueError, IndexError, KeyError):
            raise ValueError(f"cannot expand braces in '{s}': unbalanced '{{' or '}}' (write "
                             "literal braces as \\{ and \\})") from None
        results.append(text.replace(_ESC_OPEN, "\\{").replace(_ESC_CLOSE, "\\}"))
    return results


def range_expand(s: Any, include_end: bool = False, min_value: int | None = None,
                 max_value: int | None = None, sep: str = ":") -> list[int]:
    """The integers in one or more ranges: strings ``"5:8"``, ``"10"``, ``":4"``, ``"4:"`` or
    tuples ``(5, 8)``, ``(10,)``, ``(None, 4)``. Ends are exclusive unless *include_end*; open
    ends need *min_value*/*max_value*, which also bound the result. Duplicates are dropped,
    order kept: ``range_expand(["5:8", "10"])`` -> ``[5, 6, 7, 10]``."""

    def to_int(value: Any, shown: Any = None) -> int:
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"invalid number or range '{value if shown is None else shown}'"
                             ) from None

    items = [s] if isinstance(s, tuple) else make_list(s)
    numbers: list[int] = []
    for item in items:
        if isinstance(item, (tuple, list)):
            if len(item) == 1:
                numbers.append(to_int(item[0]))
                continue
            if len(item) != 2:
                raise ValueError(f"invalid range tuple length: {item} (expected 1 or 2 values)")
            start, stop = item
        else:
            item = str(item)
            if sep not in item:
                numbers.append(to_int(item))
                continue
            start, stop = (part or None for part in item.split(sep, 1))
        if start is None:
            if min_value is None:
                raise ValueError(f"range '{item}' with missing start value requires min_value "
                                 "to be set")
            start = min_value
        if stop is None:
            if max_value is None:
                raise ValueError(f"range '{item}' with missing stop value requires max_value "
                                 "to be set")
            stop = max_value
        start, stop = sorted((to_int(start), to_int(stop)))
        numbers.extend(range(start, stop + int(bool(include_end))))

    numbers = make_unique(numbers)
    if min_value is not None:
        numbers = [n for n in numbers if n >= min_value]
    if max_value is not None:
        numbers = [n for n in numbers if n < max_value + int(bool(include_end))]
    return numbers


def range_join(numbers: Iterable[Any], to_str: bool = False, include_end: bool = False,
               sep: str = ",", range_sep: str = ":") -> Any:
    """The inverse of :func:`range_expand`: sorted, unique integers (or integer strings) as
    ``(n,)`` and ``(start, end)`` tuples, end exclusive unless *include_end*:
    ``[1, 2, 3, 5]`` -> ``[(1, 4), (5,)]``; with *to_str*: ``"1:4,5"``."""
    values = []
    for n in numbers:
        if isinstance(n, str):
            try:
                n = int(n)
            except ValueError:
                raise ValueError(f"invalid number format '{n}'") from None
        if not isinstance(n, int):
            raise TypeError(f"cannot handle non-integer value '{n}' in numbers to join")
        values.append(n)
    if not values:
        return "" if to_str else []

    end_offset = 0 if include_end else 1
    ranges: list[tuple[int, ...]] = []
    values = sorted(set(values))
    start = stop = values[0]
    for n in [*values[1:], None]:
        if n is not None and n == stop + 1:
            stop = n
            continue
        ranges.append((start,) if start == stop else (start, stop + end_offset))
        if n is not None:
            start = stop = n
    if to_str:
        return sep.join(range_sep.join(str(v) for v in r) for r in ranges)
    return ranges


def multi_match(name: str, patterns: Any, mode: Callable[[Iterable[bool]], bool] = any,
                regex: bool | None = None, skip_negation: bool = False) -> bool:
    """Whether *name* matches *patterns* (one or a list): *mode* ``any`` (default) or ``all``.
    Patterns are globs (fnmatch), or regexes (``re.match``) when *regex*; with *regex* None,
    a pattern is a regex when it starts with ``^`` and ends with ``$``. A leading ``!`` negates
    a pattern unless *skip_negation*."""

    def matches(pattern: str) -> bool:
        use_regex = regex
        if use_regex is None:
            use_regex = pattern.startswith("^") and pattern.endswith("$")
        return bool(re.match(pattern, name)) if use_regex else fnmatch.fnmatch(name, pattern)

    def check(pattern: str) -> bool:
        if not skip_negation and pattern.startswith("!"):
            return not matches(pattern[1:])
        return matches(pattern)

    return mode(check(p) for p in make_list(patterns))


# --- containers ------------------------------------------------------------------------------


def is_iterable(obj: Any) -> bool:
    """Whether ``iter(obj)`` works."""
    try:
        iter(obj)
    except Exception:
        return False
    return True


#: Types that produce their items on demand; helpers below consume them like lists.
lazy_iter_types = (types.GeneratorType, MappingView, range, map, enumerate)


def is_lazy_iterable(obj: Any) -> bool:
    """Whether *obj* is a generator, a dict view, a range, a map or an enumerate object."""
    return isinstance(obj, lazy_iter_types)


def make_list(obj: Any, cast: bool = True) -> list[Any]:
    """*obj* as a new list: lists and lazy iterables are copied, tuples and sets converted when
    *cast*; anything else (strings, dicts included) becomes ``[obj]``."""
    if isinstance(obj, list) or is_lazy_iterable(obj):
        return list(obj)
    if cast and isinstance(obj, (tuple, set)):
        return list(obj)
    return [obj]


def make_tuple(obj: Any, cast: bool = True) -> tuple[Any, ...]:
    """*obj* as a tuple: tuples as they are, lazy iterables and (when *cast*) lists and sets
    converted, anything else ``(obj,)``."""
    if isinstance(obj, tuple):
        return obj
    if is_lazy_iterable(obj) or (cast and isinstance(obj, (list, set))):
        return tuple(obj)
    return (obj,)


def make_set(obj: Any, cast: bool = True) -> set[Any]:
    """*obj* as a set: sets as they are, lazy iterables and (when *cast*) lists and tuples
    converted, anything else ``{obj}``."""
    if isinstance(obj, set):
        return obj
    if is_lazy_iterable(obj) or (cast and isinstance(obj, (list, tuple))):
        return set(obj)
    return {obj}


def make_unique(obj: Any) -> Any:
    """*obj* without repeated (hashable) elements, first occurrences kept in order; tuples stay
    tuples, every other iterable gives a list, non-iterables raise TypeError."""
    if not isinstance(obj, (list, tuple)):
        if not is_iterable(obj):
            raise TypeError(f"object is neither list, tuple, nor generic iterable: {obj!r}")
        obj = list(obj)
    unique = list(dict.fromkeys(obj))
    return obj.__class__(unique) if isinstance(obj, tuple) else unique


def is_nested(obj: Any) -> bool:
    """Whether *obj* is a list or tuple whose items are all lists or tuples."""
    return isinstance(obj, (list, tuple)) and all(isinstance(i, (list, tuple)) for i in obj)


def flatten(*structs: Any, **kwargs: Any) -> list[Any]:
    """flatten(*structs, flatten_dict=True, flatten_list=True, flatten_tuple=True,
    flatten_set=True)

    The leaves of one or more nested structures in one list: dict values, list, tuple and set
    items and lazy iterables are descended into (each kind unless its flag is false), anything
    else is a leaf: ``flatten({"a": [1, (2, 3)]}, 4)`` -> ``[1, 2, 3, 4]``.
    """
    # Mapping: law-core's lazy mappings (a workflow collection's targets) count as dicts
    flags = {
        Mapping: kwargs.get("flatten_dict", True), list: kwargs.get("flatten_list", True),
        tuple: kwargs.get("flatten_tuple", True), set: kwargs.get("flatten_set", True),
    }
    result: list[Any] = []

    def visit(obj: Any) -> None:
        for kind, enabled in flags.items():
            if isinstance(obj, kind):
                if not enabled:
                    result.append(obj)
                    return
                for item in (obj.values() if kind is Mapping else obj):
                    visit(item)
                return
        if is_lazy_iterable(obj):
            for item in obj:
                visit(item)
        else:
            result.append(obj)

    if structs:
        visit(structs[0] if len(structs) == 1 else structs)
    return result


def merge_dicts(*dicts: Any, **kwargs: Any) -> dict[Any, Any]:
    """merge_dicts(*dicts, inplace=False, cls=None, deep=False)

    One dict with the items of all *dicts* (non-dicts are skipped), later ones winning. A new
    dict of class *cls* (default: that of the first dict) unless *inplace*, which updates the
    first one. With *deep*, values that are dicts on both sides are merged recursively.

    Unlike law, a deep merge never changes the nested dicts of the other arguments (law
    merged later values into the nested dicts it had taken over from earlier arguments).
    """
    if not dicts:
        raise ValueError("cannot merge empty sequence of dictionaries")
    deep = kwargs.get("deep", False)
    if kwargs.get("inplace", False):
        merged, sources = dicts[0], dicts[1:]
    else:
        cls = kwargs.get("cls")
        if cls is None:
            first = next((d for d in dicts if isinstance(d, dict)), None)
            if first is None:
                raise TypeError("cannot infer cls as none of the passed objects is of type dict")
            cls = first.__class__
        merged, sources = cls(), dicts
    for d in sources:
        if not isinstance(d, dict):
            continue
        if not deep:
            merged.update(d)
            continue
        for key, value in d.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merge_dicts(merged[key], value, inplace=True, deep=True)
            else:
                merged[key] = _copy_dict_tree(value)
    return merged


def _copy_dict_tree(value: Any) -> Any:
    """*value* with all its nested dicts copied (other values shared), so that deep merges
    into the result leave the caller's dicts alone."""
    if not isinstance(value, dict):
        return value
    copied = copy.copy(value)
    for key, item in copied.items():
        if isinstance(item, dict):
            copied[key] = _copy_dict_tree(item)
    return copied


def unzip(struct: Iterable[Any], fill_none: bool = False) -> tuple[list[Any], ...] | None:
    """The inverse of ``zip``: ``[(1, 2), (3, 4)]`` -> ``([1, 3], [2, 4])``. The first sequence
    sets the number of lists; a shorter one raises ValueError, or is padded with None when
    *fill_none*. None for an empty *struct*."""
    lists: tuple[list[Any], ...] | None = None
    for index, seq in enumerate(struct):
        if lists is None:
            lists = tuple([] for _ in range(len(seq)))
        for j, target in enumerate(lists):
            if j < len(seq):
                target.append(seq[j])
            elif fill_none:
                target.append(None)
            else:
                raise ValueError(f"sequence at index {index} has {len(seq)} items, fewer than "
                                 f"the {len(lists)} of the first one (use fill_none=True)")
    return lists


def which(prog: Any) -> Any:
    """The path of executable *prog* found in ``$PATH`` (or *prog* itself when it is a path to
    an executable), None when not found."""

    def executable(path: str) -> bool:
        return os.path.isfile(path) and os.access(path, os.X_OK)

    if os.path.dirname(str(prog)):
        return prog if executable(str(prog)) else None
    if "PATH" not in os.environ:
        return None
    for directory in os.environ["PATH"].split(os.pathsep):
        path = os.path.join(directory.strip('"'), prog)
        if executable(path):
            return path
    return None


def map_verbose(func: Callable[[Any], Any], seq: Iterable[Any], msg: str = "{}",
                every: int = 25, start: bool = True, end: bool = True, offset: int = 0,
                callback: Callable[[int], Any] | None = None) -> list[Any]:
    """``list(map(func, seq))`` that reports progress: after the first item (*start*), every
    *every* items and after the last (*end*), ``msg.format(i + offset)`` is printed, or
    *callback(i)* is called (i counts from 0)."""
    if not callable(callback):
        def callback(i: int) -> None:
            print(msg.format(i + offset))

    results = []
    reported = False
    i = -1
    for i, obj in enumerate(seq):
        results.append(func(obj))
        reported = (start and i == 0) or (i + 1) % every == 0
        if reported:
            callback(i)
    if end and results and not reported:
        callback(i)
    return results


def map_struct(func: Callable[[Any], Any], struct: Any, map_dict: Any = True,
               map_list: Any = True, map_tuple: Any = False, map_set: Any = False,
               cls: Any = None, custom_mappings: dict[Any, Callable[..., Any]] | None = None
               ) -> Any:
    """*struct* with *func* applied to each leaf, keeping the structure:
    ``map_struct(f, {"a": [1, 2]})`` -> ``{"a": [f(1), f(2)]}``.

    *map_dict*, *map_list*, *map_tuple*, *map_set* say which containers are descended into
    (others are leaves); an integer limits that to the first n levels. When *cls* is given,
    *func* is applied to *struct* only if it is a *cls* instance and nothing is descended into.
    *custom_mappings* maps types to ``fn(func, obj, **options)`` that traverse them.
    """
    if is_lazy_iterable(struct):
        struct = list(struct)

    options = {"map_dict": map_dict, "map_list": map_list, "map_tuple": map_tuple,
               "map_set": map_set}
    descend: tuple[type, ...] = ()
    for (name, value), kind in zip(list(options.items()), (dict, list, tuple, set)):
        if value:
            descend += (kind,)
            if is_number(value):
                options[name] = value - 1

    if cls is not None:
        return func(struct) if isinstance(struct, cls) else struct

    rest = {**options, "cls": cls, "custom_mappings": custom_mappings}
    if custom_mappings:
        for kinds, mapping in custom_mappings.items():
            if isinstance(struct, kinds):
                return mapping(func, struct, **rest)

    if isinstance(struct, descend):
        if isinstance(struct, dict):
            new = struct.__class__()
            for key, value in struct.items():
                new[key] = map_struct(func, value, **rest)
            return new
        mapped = [map_struct(func, value, **rest) for value in struct]
        if isinstance(struct, set):
            new_set = struct.__class__()
            new_set.update(mapped)
            return new_set
        if isinstance(struct, tuple):
            return struct.__class__(mapped)
        new_list = struct.__class__()
        new_list.extend(mapped)
        return new_list

    return func(struct)


def mask_struct(mask: Any, struct: Any, replace: Any = no_value, keep_missing: bool = True,
                convert_types: dict[Any, Callable[[Any], Any]] | None = None) -> Any:
    """The parts of *struct* that *mask* (booleans in the same nested shape) keeps; removed
    parts are replaced by *replace* when it is given. Parts the mask does not mention are kept
    unless *keep_missing* is false. *convert_types* maps types to converters applied while
    walking: ``mask_struct({"a": [False, True], "b": False}, {"a": [1, 2], "b": 3})`` ->
    ``{"a": [2]}``."""
    if is_lazy_iterable(struct):
        struct = list(struct)

    if convert_types:
        for kinds, convert in convert_types.items():
            if isinstance(struct, kinds):
                struct = convert(struct)
                break

    if isinstance(mask, bool) or not isinstance(struct, (list, tuple, dict)):
        return struct if mask else replace

    def child(sub_mask: Any, value: Any, sub_replace: Any) -> Any:
        return mask_struct(sub_mask, value, replace=sub_replace, keep_missing=keep_missing,
                           convert_types=convert_types)

    if isinstance(struct, (list, tuple)) and isinstance(mask, (list, tuple)):
        kept = []
        for i, value in enumerate(struct):
            if i >= len(mask):
                if keep_missing:
                    kept.append(value)
                continue
            sub_replace = replace
            if isinstance(replace, (list, tuple)) and i < len(replace):
                sub_replace = replace[i]
            value = child(mask[i], value, sub_replace)
            if value is not no_value:
                kept.append(value)
        return struct.__class__(kept) if kept else replace

    if isinstance(struct, dict) and isinstance(mask, dict):
        new = struct.__class__()
        for key, value in struct.items():
            if key not in mask:
                if keep_missing:
                    new[key] = value
                continue
            sub_replace = replace[key] if isinstance(replace, dict) and key in replace else replace
            value = child(mask[key], value, sub_replace)
            if value is not no_value:
                new[key] = value
        return new or replace

    raise TypeError(f"mask and struct must have the same type, got '{type(mask)}' and "
                    f"'{type(struct)}'")


# --- files and processes ---------------------------------------------------------------------


@contextlib.contextmanager
def tmp_file(*args: Any, **kwargs: Any) -> Iterator[tuple[int, str]]:
    """An empty temporary file, as ``(fd, path)`` from :func:`tempfile.mkstemp` (which gets
    *args* and *kwargs*), removed afterwards."""
    fd, path = tempfile.mkstemp(*args, **kwargs)
    try:
        yield fd, path
    finally:
        if os.path.exists(path):
            os.remove(path)


def perf_counter() -> float:
    """``time.perf_counter()``."""
    return time.perf_counter()


def interruptable_popen(*args: Any, **kwargs: Any) -> tuple[int, str | None, str | None]:
    """interruptable_popen(*args, stdin_callback=None, stdin_delay=0, interrupt_callback=None,
    kill_timeout=None, processes=None, **kwargs)

    Run ``subprocess.Popen(*args, **kwargs)`` to its end and return ``(returncode, stdout,
    stderr)`` (decoded when piped, else None). stdin is DEVNULL, or a pipe fed with the result
    of *stdin_callback()* (after *stdin_delay* seconds) when given. On KeyboardInterrupt,
    *interrupt_callback(process)* is called, the process tree gets SIGTERM (SIGKILL after
    *kill_timeout* seconds) and the interrupt propagates. The process is appended to
    *processes* when that list is given.
    """
    stdin_callback = kwargs.pop("stdin_callback", None)
    stdin_delay = kwargs.pop("stdin_delay", 0)
    interrupt_callback = kwargs.pop("interrupt_callback", None)
    kill_timeout = kwargs.pop("kill_timeout", None)
    processes = kwargs.pop("processes", None)
    kwargs.setdefault("stdin", subprocess.PIPE if callable(stdin_callback) else subprocess.DEVNULL)

    process = subprocess.Popen(*args, **kwargs)
    if processes is not None:
        processes.append(process)

    data = None
    if callable(stdin_callback):
        if stdin_delay > 0:
            time.sleep(stdin_delay)
        data = stdin_callback()
        if isinstance(data, str):
            data = (data + "\n").encode("utf-8")

    try:
        out, err = process.communicate(data)
    except KeyboardInterrupt:
        if callable(interrupt_callback):
            interrupt_callback(process)
        kill_process(process, kill_timeout=kill_timeout)
        raise

    if isinstance(out, bytes):
        out = out.decode("utf-8")
    if isinstance(err, bytes):
        err = err.decode("utf-8")
    return process.returncode, out, err


def send_signal_silent(pid: int, sig: int) -> bool:
    """Send *sig* to process *pid*; False when there is no such process."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    return True


def _ps_children(pid: int) -> list[int]:
    """Direct children of *pid* started no earlier than it (guards against reused pids),
    from ``ps`` (1 s resolution)."""
    result = subprocess.run(["ps", "-eo", "ppid=,pid=,lstart="], capture_output=True,
                            text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"failed to get subprocess pids for pid {pid}: {result.stderr}")
    started: dict[int, float] = {}
    parents: dict[int, int] = {}
    for line in result.stdout.splitlines():
        fields = line.split(None, 2)
        if len(fields) < 3:
            continue
        ppid, child, lstart = int(fields[0]), int(fields[1]), fields[2].strip()
        if child == pid or ppid == pid:
            started[child] = datetime.datetime.strptime(lstart, "%a %b %d %H:%M:%S %Y"
                                                        ).timestamp()
            parents[child] = ppid
    if pid not in started:
        return []
    own = started[pid]
    return [child for child, ppid in parents.items()
            if child != pid and started[child] >= own and send_signal_silent(child, 0)]


def get_subprocess_pids(pid: int, recursive: bool = False, use_psutil: bool = True
                        ) -> list[int]:
    """Pids of the child processes of *pid* (all descendants, depth first, when *recursive*),
    via psutil when installed and allowed, else via ``ps``."""
    if not isinstance(pid, int):
        raise TypeError(f"pid must be an integer, got '{pid}'")
    psutil = None
    if use_psutil:
        try:
            import psutil
        except ImportError:
            psutil = None
    if psutil is not None:
        try:
            parent = psutil.Process(pid)
            own = parent.create_time()
            return [c.pid for c in parent.children(recursive=recursive)
                    if c.create_time() >= own]
        except psutil.NoSuchProcess:
            return []

    pids: list[int] = []
    queue = collections.deque(_ps_children(pid))
    while queue:
        child = queue.popleft()
        pids.append(child)
        if recursive:
            queue.extendleft(reversed(_ps_children(child)))
    return pids


def kill_process(p: subprocess.Popen, recursive: bool = True,
                 kill_timeout: float | None = None) -> None:
    """SIGTERM to the running process *p* (and its descendants when *recursive*), SIGKILL
    when it still runs *kill_timeout* seconds later."""
    if not send_signal_silent(p.pid, 0):
        return

    def alive() -> bool:
        return p.poll() is None

    def send(sig: int) -> None:
        if not alive():
            return
        pids = [p.pid] + (get_subprocess_pids(p.pid, recursive=True) if recursive else [])
        for pid in pids:
            send_signal_silent(pid, sig)

    send(signal.SIGTERM)
    if kill_timeout is not None and alive():
        deadline = perf_counter() + kill_timeout
        while perf_counter() < deadline:
            time.sleep(0.05)
            if not alive():
                return
        send(signal.SIGKILL)


def readable_popen(*args: Any, **kwargs: Any) -> tuple[subprocess.Popen, Iterator[str]]:
    """``(process, lines)``: a ``Popen(*args, **kwargs)`` with stdout and stderr merged into one
    pipe, and a generator of its output lines (right-stripped) as they come; the returncode is
    set once the generator is exhausted."""
    kwargs["stdout"] = subprocess.PIPE
    kwargs["stderr"] = subprocess.STDOUT
    process = subprocess.Popen(*args, **kwargs)

    def lines() -> Iterator[str]:
        for line in process.stdout:
            yield (line.decode("utf-8") if isinstance(line, bytes) else line).rstrip()
        process.communicate()

    return process, lines()


def create_hash(inp: Any, l: int = 10, algo: str = "sha256", to_int: bool = False) -> Any:  # noqa: E741
    """The first *l* hex digits of the *algo* (a hashlib name) digest of ``str(inp)``, or their
    integer value when *to_int*. Same values as law (the text is encoded as latin-1)."""
    digest = hashlib.new(algo, str(inp).encode("latin-1")).hexdigest()[:l]
    return int(digest, 16) if to_int else digest


def create_random_string(prefix: str = "", l: int = 10) -> str:  # noqa: E741
    """*l* random hex characters, as ``<prefix>_<chars>`` when *prefix* is given."""
    chars = ""
    while len(chars) < l:
        chars += uuid.uuid4().hex
    return f"{prefix}_{chars[:l]}" if prefix else chars[:l]


def copy_no_perm(src: Any, dst: Any) -> None:
    """Copy file *src* to *dst* with its metadata (times) but keep *dst*'s permission bits."""
    src, dst = str(src), str(dst)
    shutil.copyfile(src, dst)
    mode = os.stat(dst).st_mode
    shutil.copystat(src, dst)
    os.chmod(dst, mode)


def makedirs(path: Any, perm: int | None = None) -> None:
    """Create directory *path* with its parents, fine when it exists. With *perm*, the umask
    is off while creating: *path* gets exactly *perm*, new parents 0o777 (as in law)."""
    path = str(path)
    if os.path.isdir(path):
        return
    if perm is None:
        os.makedirs(path, exist_ok=True)
        return
    umask = os.umask(0)
    try:
        os.makedirs(path, perm, exist_ok=True)
    finally:
        os.umask(umask)


def user_owns_file(path: Any, uid: int | None = None) -> bool:
    """Whether the file *path* belongs to user *uid* (default: this process's user)."""
    path = os.path.expandvars(os.path.expanduser(str(path)))
    return os.stat(path).st_uid == (os.getuid() if uid is None else uid)


def increment_path(path: Any, n: int | None = None) -> str:
    """*path* (absolute) with a counter ``_N`` before the extension: raised by *n* when given,
    else the first counter whose path does not exist yet (*path* itself when it is free)."""
    path = os.path.abspath(os.path.expandvars(os.path.expanduser(str(path))))
    dirname, basename = os.path.split(path)
    stem, ext = os.path.splitext(basename)
    counter = 0
    match = re.match(r"^([^.]+)_(\d+)$", stem)
    if match:
        stem, counter = match.group(1), int(match.group(2))

    def numbered(i: int) -> str:
        return os.path.join(dirname, f"{stem}_{counter + i}{ext}")

    if n is not None:
        return numbered(n)
    candidate, i = path, 0
    while os.path.exists(candidate):
        i += 1
        candidate = numbered(i)
    return candidate


def iter_chunks(l: Any, size: int) -> Iterator[Any]:  # noqa: E741
    """Chunks of *size* items of a sequence (slices), an iterable (lists) or an integer n
    (``range(n)``); *size* < 1 gives everything as one chunk."""
    if isinstance(l, int):
        l = range(l)  # noqa: E741
    if is_lazy_iterable(l):
        if size < 1:
            yield list(l)
            return
        chunk: list[Any] = []
        for item in l:
            if len(chunk) == size:
                yield chunk
                chunk = []
            chunk.append(item)
        if chunk:
            yield chunk
    elif size < 1:
        yield l
    else:
        for start in range(0, len(l), size):
            yield l[start:start + size]


def chunk_slice_ranges(sizes: Iterable[Any], start: int | None, stop: int | None
                       ) -> list[tuple[int, int] | None]:
    """For chunks of *sizes* (ints, or sized objects) laid end to end, the ``(start, stop)``
    slice of each chunk that the overall ``[start, stop)`` covers, None for untouched chunks;
    a negative *stop* counts from the end: ``([10, 10, 10], 5, 15)`` ->
    ``[(5, 10), (0, 5), None]``."""
    sizes = [s if isinstance(s, int) else len(s) for s in sizes]
    total = sum(sizes)
    start = 0 if start is None else start
    stop_given = total if stop is None else stop
    stop = stop_given + total if stop_given < 0 else stop_given
    if not 0 <= start <= stop <= total:
        raise ValueError(f"invalid start and stop indices {start} and {stop_given} for total "
                         f"size {total}")
    slices: list[tuple[int, int] | None] = [None] * len(sizes)
    for i, size in enumerate(sizes):
        if start >= size:
            start -= size
            stop -= size
        elif stop > size:
            slices[i] = (start, size)
            start = 0
            stop -= size
        else:
            slices[i] = (start, stop)
            break
    return slices


# --- sizes and durations ---------------------------------------------------------------------

byte_units = ["bytes", "kB", "MB", "GB", "TB", "PB", "EB"]
byte_units_lower = [u.lower() for u in byte_units]


def human_bytes(n: float, unit: str | None = None, fmt: Any = False) -> Any:
    """*n* bytes as ``(value, unit)`` in the largest unit (1024 steps) that keeps the value at
    least 1, or in *unit*: ``human_bytes(3407872)`` -> ``(3.25, "MB")``. Values in bytes are
    ints. *fmt* True gives ``"3.2 MB"``, a template string is filled with value and unit.

    Unlike law, amounts below 1 byte are given in bytes (law picked "EB").
    """
    if unit and unit not in byte_units:
        raise ValueError(f"unknown unit '{unit}', valid values are {byte_units}")
    if n == 0:
        idx = 0  # as in law, also when a unit is given: (0, "bytes")
    elif unit:
        idx = byte_units.index(unit)
    else:
        idx = min(max(int(math.floor(math.log(abs(n), 1024))), 0), len(byte_units) - 1)
    value: float = n / 1024.0 ** idx
    if idx == 0:
        value = int(round(value))
    if fmt:
        template = fmt if isinstance(fmt, str) else ("{} {}" if idx == 0 else "{:.1f} {}")
        return template.format(value, byte_units[idx])
    return value, byte_units[idx]


_BYTES_RE = re.compile(r"^\s*(-?\d+\.?\d*)\s*({})?\s*$".format(
    "|".join(sorted(byte_units_lower, key=len, reverse=True))))


def _byte_unit(unit: str, what: str) -> str:
    if unit.lower() not in byte_units_lower:
        raise ValueError(f"unknown {what} '{unit}', valid values are {byte_units}")
    return byte_units[byte_units_lower.index(unit.lower())]


def parse_bytes(s: Any, input_unit: str = "bytes", unit: str = "bytes") -> float:
    """The size *s* (a number, or text like ``"2048 kB"``, units case-insensitive) in *unit*;
    numbers and unit-less text are in *input_unit*: ``parse_bytes("2048 kB", unit="MB")`` ->
    ``2.0``. Text that is no size raises ValueError."""
    input_unit = _byte_unit(input_unit, "input_unit")
    unit = _byte_unit(unit, "unit")
    if isinstance(s, (int, float)):
        value = float(s)
    else:
        match = _BYTES_RE.match(s.lower())
        if not match:
            raise ValueError(f"cannot parse bytes from string '{s}' (expected a number and "
                             f"optionally one of {byte_units})")
        value = float(match.group(1))
        if match.group(2):
            input_unit = _byte_unit(match.group(2), "input_unit")
    size = value * 1024.0 ** byte_units.index(input_unit)
    return human_bytes(size, unit)[0]


time_units = collections.OrderedDict([
    ("week", 7 * 24 * 3600), ("day", 24 * 3600), ("hour", 3600), ("minute", 60), ("second", 1),
])

time_unit_aliases = {
    "w": "week", "weeks": "week",
    "d": "day", "days": "day",
    "h": "hour", "hours": "hour",
    "m": "minute", "min": "minute", "mins": "minute", "minutes": "minute",
    "s": "second", "sec": "second", "secs": "second", "seconds": "second",
}

_HUMAN_UNITS = ["day", "hour", "minute", "second"]


def human_duration(colon_format: Any = False, plural: bool = True, **kwargs: Any) -> str:
    """A duration given as ``datetime.timedelta`` *kwargs*, as text: ``seconds=90001`` ->
    ``"1 day, 1 hour, 1 second"``, negative ones as ``"minus ..."``. Units go up to days;
    seconds keep up to two decimals; units are plural unless the value is exactly 1 or
    *plural* is false.

    *colon_format* True gives ``"[d-][hh:]mm:ss[.ms]"`` (``"1-01:00:01"``, ``"-20:33"``); a unit
    name (``"h"``, ``"minute"``, ...) makes that the largest field (``"25:00:01"``), where
    ``"s"`` still gives ``"00:ss"``.
    """
    seconds = float(datetime.timedelta(**kwargs).total_seconds())
    negative = seconds < 0
    seconds = abs(seconds)

    first = 0
    limited = isinstance(colon_format, str)
    if limited:
        limit = time_unit_aliases.get(colon_format, colon_format)
        if limit not in _HUMAN_UNITS:
            raise ValueError(f"unknown colon_format unit '{limit}', valid values are "
                             f"{','.join(_HUMAN_UNITS)}")
        first = _HUMAN_UNITS.index(limit)

    text = ""
    for unit in _HUMAN_UNITS[first:]:
        if unit == "second":
            value: float = try_int(round(seconds, 2))
        else:
            value = int(seconds // time_units[unit])
            seconds -= value * time_units[unit]

        if value == 0:
            if colon_format:
                keep = bool(text) or unit == "second" or limited
            else:
                keep = not text and unit == "second"
            if not keep:
                continue

        if not colon_format:
            suffix = "" if (value == 1 or not plural) else "s"
            text += f"{', ' if text else ''}{value} {unit}{suffix}"
        elif unit == "second":
            text += f"{'' if text else '00:'}{'0' if value < 10 else ''}{value}"
        elif unit == "day":
            text += f"{value}-"
        else:
            text += f"{value:02d}:"

    if negative:
        text = ("-" if colon_format else "minus ") + text
    return text


_COLON_DURATION = re.compile(
    r"^(?P<sign>[+-])?(?:(?:(?:(?P<d>\d+)-)?(?P<h>\d+):)?(?P<m>\d+):)?(?P<s>\d+)(?P<frac>\.\d*)?$")
_ALL_TIME_UNITS = sorted([*time_units, *time_unit_aliases], key=len, reverse=True)
_DURATION_PART = re.compile(r"^\s*(\d+|\d+\.|\.\d+|\d+\.\d+)\s*({})?\s*$".format(
    "|".join(_ALL_TIME_UNITS)))


def _time_unit(unit: str, what: str) -> str:
    unit = time_unit_aliases.get(unit, unit)
    if unit not in time_units:
        raise ValueError(f"unknown {what} '{unit}', valid values are {','.join(time_units)} "
                         "and their aliases")
    return unit


def parse_duration(s: Any, input_unit: str = "s", unit: str = "s") -> float:
    """The duration *s* in *unit* (``"s"``, ``"min"``, ``"hours"``, ...). Numbers and
    unit-less parts are in *input_unit*. Text is either ``"[+-][d-][h:][m:]s[.ms]"``
    (``"04:02:01.1"`` -> 14521.1) or parts like ``"10 mins, 15 secs"`` joined by commas or
    "and", optionally led by ``+``/``-``/``plus``/``minus``. Anything else raises
    ValueError."""
    input_unit = _time_unit(input_unit, "input_unit")
    unit = _time_unit(unit, "unit")

    sign = 1
    total = 0.0
    if isinstance(s, (int, float)) or is_float(s):
        total = float(s) * time_units[input_unit]
    else:
        s = s.strip()
        colon = _COLON_DURATION.match(s)
        if colon:
            if colon.group("sign") == "-":
                sign = -1
            for field, name in (("d", "day"), ("h", "hour"), ("m", "minute")):
                if colon.group(field):
                    total += float(colon.group(field)) * time_units[name]
            total += float(colon.group("s"))
            if colon.group("frac"):
                total += float(colon.group("frac"))
        else:
            signed = re.match(r"^(\+|-|plus\s|minus\s)\s*(.*)$", s)
            if signed:
                sign = 1 if signed.group(1) in ("+", "plus ") else -1
                s = signed.group(2)
            for part in re.sub(r",+", ",", s.replace("and", ",")).split(","):
                part = part.strip()
                if not part:
                    continue
                match = _DURATION_PART.match(part)
                if not match:
                    raise ValueError(f"cannot parse duration string '{s}' (expected e.g. "
                                     "'10 mins, 15 secs' or '1:10:15')")
                part_unit = time_unit_aliases.get(match.group(2) or input_unit,
                                                  match.group(2) or input_unit)
                total += float(match.group(1)) * time_units[part_unit]

    return sign * total / time_units[unit]


def is_file_exists_error(e: BaseException) -> bool:
    """Whether *e* says that a file or directory exists already."""
    return isinstance(e, FileExistsError)


def send_mail(recipient: str, sender: str, subject: str = "", content: str = "",
              smtp_host: str = "127.0.0.1", smtp_port: int = 25) -> bool:
    """Send a plain mail through the SMTP server *smtp_host*:*smtp_port*; False (and a
    warning) when the server cannot be reached."""
    try:
        server = smtplib.SMTP(smtp_host, smtp_port)
    except Exception as e:
        logger.warning(f"cannot create SMTP server {smtp_host}:{smtp_port}: {e}")
        return False
    header = f"From: {sender}\r\nTo: {recipient}\r\nSubject: {subject}\r\n\r\n"
    try:
        server.sendmail(sender, recipient, header + content)
    finally:
        with contextlib.suppress(Exception):
            server.quit()
    return True


# --- dictionaries ----------------------------------------------------------------------------


class DotDict(collections.OrderedDict):
    """An ordered dict whose items can also be read and set as attributes (``d.foo``); a
    missing attribute raises AttributeError."""

    def __getattr__(self, attr: str) -> Any:
        try:
            return self[attr]
        except KeyError:
            raise AttributeError(f"'{self.__class__.__name__}' object has no attribute "
                                 f"'{attr}'") from None

    def __setattr__(self, attr: str, value: Any) -> None:
        self[attr] = value

    def copy(self) -> DotDict:
        return self.__class__(self)

    @classmethod
    def wrap(cls, *args: Any, **kwargs: Any) -> DotDict:
        """A DotDict of ``dict(*args, **kwargs)`` in which all nested dicts are DotDicts too."""

        def convert(value: Any) -> Any:
            if isinstance(value, dict):
                return cls((k, convert(v)) for k, v in value.items())
            return value

        return convert(collections.OrderedDict(*args, **kwargs))


class ShorthandDict(collections.OrderedDict):
    """An ordered dict with the keys of the class attribute :attr:`attributes` (name ->
    default, deep-copied per instance) always present and readable/settable as attributes."""

    attributes: dict[str, Any] = {}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        for attr, default in self.attributes.items():
            self[attr] = kwargs.pop(attr) if attr in kwargs else copy.deepcopy(default)
        self.update(kwargs)

    def copy(self) -> ShorthandDict:
        return self.__class__(**{key: copy.deepcopy(value) for key, value in self.items()})

    def __getattr__(self, attr: str) -> Any:
        if attr in self.attributes:
            return self[attr]
        return super().__getattribute__(attr)

    def __setattr__(self, attr: str, value: Any) -> None:
        if attr in self.attributes:
            self[attr] = value
        else:
            super().__setattr__(attr, value)




class InsertableDict(collections.OrderedDict):
    """An ordered dict with inserts relative to existing keys::

        d = InsertableDict(foo=1, bar=2)
        d.insert_before("bar", "new", 3)   # foo, new, bar
        d.insert_after("foo", "bar", 4)    # foo, bar(=4), new: an existing key moves

    *key* may also be a dict or a list of ``(key, value)`` pairs (with *value* left at
    :data:`no_value`) to insert several items. A missing reference key appends at the end.
    """

    def _insert(self, ref_key: Any, key: Any, value: Any, offset: int) -> None:
        if isinstance(key, (list, dict)) and value is no_value:
            new_items = list(key.items()) if isinstance(key, dict) else list(key)
        else:
            new_items = [(key, value)]
        if ref_key is no_value or ref_key not in self:
            self.update(new_items)
            return
        new_keys = {k for k, _ in new_items}
        items = list(self.items())
        pos = list(self).index(ref_key) + offset
        items = ([(k, v) for k, v in items[:pos] if k not in new_keys] + new_items
                 + [(k, v) for k, v in items[pos:] if k not in new_keys])
        self.clear()
        self.update(items)

    def insert_before(self, before_key: Any, key: Any, value: Any = no_value) -> None:
        """Insert *key*: *value* (or several items, see the class) before *before_key*."""
        self._insert(before_key, key, value, 0)

    def insert_after(self, after_key: Any, key: Any, value: Any = None) -> None:
        """Insert *key*: *value* after *after_key*. Note law's default *value* here is None,
        so several items need ``value=no_value`` explicitly."""
        self._insert(after_key, key, value, 1)

    def prepend(self, key: Any, value: Any = no_value) -> None:
        """Put *key*: *value* first; without *value*, move the existing *key* to the front."""
        first = next(iter(self)) if self else no_value
        if value is no_value and not isinstance(key, (list, dict)):
            value = self.get(key, None)
        self.insert_before(first, key, value=value)

    def append(self, key: Any, value: Any = no_value) -> None:
        """Put *key*: *value* last; without *value*, move the existing *key* to the end."""
        last = next(reversed(self)) if self else no_value
        if value is no_value and not isinstance(key, (list, dict)):
            value = self.get(key, None)
        self.insert_after(last, key, value=value)


# --- misc ------------------------------------------------------------------------------------


def open_compat(path: Any, *args: Any, **kwargs: Any) -> Any:
    """``open(str(path), ...)`` (law's python 2 shim)."""
    return open(str(path), *args, **kwargs)  # noqa: SIM115


@contextlib.contextmanager
def patch_object(obj: Any, attr: str, value: Any, reset: bool = True, orig: Any = no_value,
                 lock: Any = False) -> Iterator[Any]:
    """Set ``obj.attr = value`` for the duration of the context, then restore the original
    (*orig*, default: the current value; deleted when there was none) unless *reset* is
    false. *lock* True holds :data:`default_lock` meanwhile; a lock object holds that one."""
    if orig is no_value:
        orig = getattr(obj, attr, no_value)
    guard = (default_lock if lock is True else lock) if lock else empty_context()
    with guard:
        try:
            setattr(obj, attr, value)
            yield obj
        finally:
            if reset:
                with contextlib.suppress(Exception):
                    if orig is no_value:
                        delattr(obj, attr)
                    else:
                        setattr(obj, attr, orig)


def join_generators(*generators: Any, **kwargs: Any) -> Iterator[Any]:
    """join_generators(*generators, on_error=None)

    One generator yielding from each of *generators* in turn; values sent in are passed on to
    the current generator. When iterating raises (KeyboardInterrupt included) and
    *on_error(error)* returns true, that generator is resumed, otherwise the error propagates.
    """
    on_error = kwargs.get("on_error")
    for gen in generators:
        sent = no_value
        while True:
            try:
                sent = yield (next(gen) if sent is no_value else gen.send(sent))
            except StopIteration:
                break
            except (Exception, KeyboardInterrupt) as error:
                if callable(on_error) and on_error(error):
                    sent = no_value
                else:
                    raise


def quote_cmd(cmd: Iterable[Any]) -> str:
    """The command list *cmd* as one shell-quoted string; a nested list becomes one quoted
    argument: ``["bash", "-c", ["echo", "a b"]]`` -> ``bash -c 'echo '"'"'a b'"'"''``."""
    return " ".join(
        shlex.quote(quote_cmd(part) if isinstance(part, (list, tuple)) else str(part))
        for part in cmd
    )


def escape_markdown(s: str) -> str:
    """*s* with the markdown-relevant characters ``( ) = . _ -`` backslash-escaped."""
    return re.sub(r"([^\\]?)([()=._-])", r"\1\\\2", s)


class ClassPropertyDescriptor:
    """The descriptor behind :func:`classproperty`; setting raises unless *fset* is given."""

    def __init__(self, fget: Any, fset: Any = None) -> None:
        self.fget = fget
        self.fset = fset

    def __get__(self, obj: Any, cls: type | None = None) -> Any:
        return self.fget.__get__(obj, type(obj) if cls is None else cls)()

    def __set__(self, obj: Any, value: Any) -> None:
        if not self.fset:
            raise AttributeError("can't set attribute")
        self.fset.__get__(obj, type(obj))(value)


def classproperty(func: Any) -> ClassPropertyDescriptor:
    """Like ``property``, but computed on the class (``Cls.name`` works without instance)."""
    if not isinstance(func, (classmethod, staticmethod)):
        func = classmethod(func)
    return ClassPropertyDescriptor(func)


class BaseStream:
    """A writable stream that ignores writes after :meth:`close` and flushes after each write
    (unless *flush_after_write* or the class's ``FLUSH_AFTER_WRITE`` is false). Subclasses
    implement ``_write``, ``_flush`` and ``_close``."""

    FLUSH_AFTER_WRITE = True

    def __init__(self, flush_after_write: bool | None = None) -> None:
        self.closed = False
        self.flush_after_write = flush_after_write

    @property
    def _flush_after_write(self) -> bool:
        if self.flush_after_write is None:
            return self.FLUSH_AFTER_WRITE
        return self.flush_after_write

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def __enter__(self) -> BaseStream:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        if not self.closed:
            self.flush()
            self._close()
            self.closed = True

    def flush(self) -> None:
        if not self.closed:
            self._flush()

    def write(self, *args: Any, **kwargs: Any) -> None:
        if not self.closed:
            self._write(*args, **kwargs)
            if self._flush_after_write:
                self.flush()

    def _close(self) -> None:
        return None

    def _flush(self) -> None:
        return None

    def _write(self, *args: Any, **kwargs: Any) -> None:
        return None


class TeeStream(BaseStream):
    """TeeStream(*consumers, mode="w", flush_after_write=None)

    Writes go to every consumer stream; a consumer given as a path is a file opened with
    *mode* (and closed with the tee), like the shell's ``tee``.
    """

    def __init__(self, *consumers: Any, **kwargs: Any) -> None:
        mode = kwargs.pop("mode", "w")
        super().__init__(**kwargs)
        self.consumers: list[Any] = []
        self.open_files: list[Any] = []
        for consumer in consumers:
            if isinstance(consumer, str):
                consumer = open(consumer, mode)  # noqa: SIM115 - closed in _close
                self.open_files.append(consumer)
            self.consumers.append(consumer)

    def _close(self) -> None:
        for f in self.open_files:
            f.close()

    def _flush(self) -> None:
        for consumer in self.consumers:
            if not getattr(consumer, "closed", False):
                consumer.flush()

    def _write(self, *args: Any, **kwargs: Any) -> None:
        for consumer in self.consumers:
            consumer.write(*args, **kwargs)


class FilteredStream(BaseStream):
    """Writes go to *stream* only when ``filter_fn(*args, **kwargs)`` is true."""

    def __init__(self, stream: Any, filter_fn: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stream = stream
        self.filter_fn = filter_fn

    def _close(self) -> None:
        self.stream.close()

    def _flush(self) -> None:
        if not getattr(self.stream, "closed", False):
            self.stream.flush()

    def _write(self, *args: Any, **kwargs: Any) -> None:
        if self.filter_fn(*args, **kwargs):
            self.stream.write(*args, **kwargs)
