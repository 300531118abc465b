"""Quoting for CREAM's JDL (a ClassAd), so that no value law-core writes changes meaning.

A JDL string is a ClassAd string literal: double quotes, with ``\\`` and ``"`` escaped by a
backslash; it cannot hold a line break. ``Arguments`` is one such string that the worker
node splits like a shell (CREAM's JDL guide: arguments with spaces in single quotes,
quotes escaped, no backquote at all), so each argument is shell-quoted first.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from law_core.plugin import WorkflowError

_ATTRIBUTE_LINE = re.compile(r"([A-Za-z][A-Za-z0-9_]*)\s*=\s*(\S.*?);?")


def string(value: str, what: str = "the value") -> str:
    """``value`` as a JDL string literal."""
    if any(c in value for c in "\n\r\0"):
        raise WorkflowError(f"{what} {value!r} holds a line break, which a JDL string cannot "
                            "carry")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def arguments(args: list[str]) -> str:
    """The ``Arguments`` string: each argument shell-quoted, the whole a JDL string."""
    for arg in args:
        if "`" in arg:
            raise WorkflowError(f"the job argument {arg!r} holds a backquote, which CREAM's "
                                "JDL cannot carry")
    return string(" ".join(shlex.quote(arg) for arg in args), "the job arguments")


def value(item: Any, what: str = "the value") -> str:
    """A string, an integer or a list of strings as JDL."""
    if isinstance(item, bool) or not isinstance(item, (int, str, list, tuple)):
        raise TypeError(f"no JDL form for {item!r}")
    if isinstance(item, int):
        return str(item)
    if isinstance(item, str):
        return string(item, what)
    return "{" + ", ".join(string(v, what) for v in item) + "}"


def extra_lines(text: str) -> list[str]:
    """``Name = value;`` lines of ``[glite] extra_lines``, checked and given their ``;``."""
    lines = []
    for line in (raw.strip() for raw in text.splitlines()):
        if not line or line.startswith(("#", "//")):
            continue
        match = _ATTRIBUTE_LINE.fullmatch(line)
        if match is None:
            raise WorkflowError(f"[glite] extra_lines must hold JDL attributes such as "
                                f"'CpuNumber = 2;', one per line, not {line!r}")
        lines.append(f"{match.group(1)} = {match.group(2)};")
    return lines
