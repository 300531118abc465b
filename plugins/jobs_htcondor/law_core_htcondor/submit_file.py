"""Quoting for HTCondor's submit language, so that no value law-core writes changes meaning.

A value runs to the end of its line, outer whitespace dropped, a trailing backslash
continuing it; ``$(NAME)`` and ``$FUNC(...)`` anywhere are macros, so each ``$`` that would
start one is written as ``$(DOLLAR)`` (``$$(`` cannot be written: a match-time
substitution). ``arguments`` uses the new syntax (``"..."``, ``""`` for ``"``, an argument
with whitespace or ``'`` in single quotes, ``''`` for ``'``); ``+Attr`` values are ClassAd
expressions; file lists and ``queue ... from`` rows split at commas and whitespace.
"""

from __future__ import annotations

import re

from law_core.plugin import WorkflowError

_MACRO_DOLLAR = re.compile(r"\$(?=[A-Za-z0-9_]*\()")
_SAFE_ITEM = re.compile(r"[A-Za-z0-9_./+@%:=-]+")


def _refuse(what: str, value: str, why: str) -> WorkflowError:
    return WorkflowError(f"{what} {value!r} cannot be written into an HTCondor submit "
                         f"description: {why}")


def escape_macros(value: str, what: str = "the value") -> str:
    """``value`` with each ``$`` that would start a macro written as ``$(DOLLAR)``."""
    if "\n" in value or "\r" in value or "\0" in value:
        raise _refuse(what, value, "it holds a line break")
    for match in _MACRO_DOLLAR.finditer(value):
        start = match.start()
        if value[start - 1:start] == "$" or value[start + 1:].upper().startswith("(DOLLAR)"):
            raise _refuse(what, value, "condor_submit reads '$$(' as a match-time "
                          "substitution and '$(DOLLAR)' as its own macro; avoid them")
    return _MACRO_DOLLAR.sub("$(DOLLAR)", value)


def submit_value(value: str, what: str = "the value") -> str:
    """A plain value (a path, a name) as condor_submit must read it to get ``value`` back."""
    if value != value.strip():
        raise _refuse(what, value, "condor_submit drops its outer whitespace")
    if value.endswith("\\"):
        raise _refuse(what, value, "condor_submit reads its last '\\' as a line continuation")
    return escape_macros(value, what)


def classad_literal(value: str) -> str:
    """A ClassAd string literal (in a constraint on the command line)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def classad_string(value: str, what: str = "the value") -> str:
    """A ClassAd string literal on a ``+Attr = ...`` line."""
    return escape_macros(classad_literal(value), what)


def quote_argument(arg: str, what: str = "the argument") -> str:
    """One argument of ``arguments = "..."`` (without the outer quotes)."""
    if arg == "" or any(c in arg for c in " \t'\""):
        arg = "'" + arg.replace("'", "''") + "'"
    return escape_macros(arg.replace('"', '""'), what)


def arguments_value(tokens: list[str]) -> str:
    """The ``arguments`` value from tokens already quoted (or macro references)."""
    return '"' + " ".join(tokens) + '"'


def safe_item(value: str, what: str) -> str:
    """A ``queue ... from`` row item or file-list item: nothing that splits or expands."""
    if not _SAFE_ITEM.fullmatch(value):
        raise _refuse(what, value, "such items are split at commas and whitespace and may "
                      "not hold '$' or quotes; use letters, digits and _./+@%:=- only")
    return value


def file_list(items: list[str], what: str) -> str:
    """A comma-separated file list (``transfer_input_files``, ``transfer_output_files``)."""
    return ", ".join(safe_item(item, what) for item in items)
