"""Quoting for HTCondor's submit language, so that no value law-core writes changes meaning.

condor_submit reads ``command = value`` lines: a value runs to the end of its line with its
outer whitespace dropped (a trailing backslash continues it on the next line), and
``$(NAME)`` or ``$FUNCTION(...)`` anywhere in it is a macro. There is no quoting of plain
values, so a value law-core writes must be one line without outer whitespace, and each ``$``
that would start a macro is written as the built-in macro ``$(DOLLAR)`` (other ``$`` are
plain text). ``$$(`` cannot be written at all: HTCondor reads it as a match-time
substitution. On top of that:

- ``arguments`` uses the new syntax: the whole value in double quotes (a literal ``"`` is
  ``""``), arguments separated by whitespace, an argument holding whitespace or ``'`` put in
  single quotes (a literal ``'`` in it is ``''``);
- ClassAd attributes (``+Name = value``) hold ClassAd expressions, so strings are ClassAd
  string literals (``"..."`` with ``\\`` and ``"`` escaped by a backslash);
- file lists (``transfer_input_files``) are split at commas and whitespace;
- the rows of ``queue ... from ( ... )`` are split at commas and whitespace.
"""

from __future__ import annotations

import re

from law_core.plugin import WorkflowError

#: a ``$`` that starts a macro reference: ``$(NAME)``, ``$ENV(NAME)``, ``$INT(...)``, ...
_MACRO_DOLLAR = re.compile(r"\$(?=[A-Za-z0-9_]*\()")
#: what a row item of ``queue ... from`` or a file-list item may hold without quoting
_SAFE_ITEM = re.compile(r"[A-Za-z0-9_./+@%:=-]+")


def _check_line(value: str, what: str) -> None:
    if "\n" in value or "\r" in value or "\0" in value:
        raise WorkflowError(f"{what} {value!r} holds a line break, which an HTCondor submit "
                            "description cannot carry")


def escape_macros(value: str, what: str = "the value") -> str:
    """``value`` with each ``$`` that would start a macro written as ``$(DOLLAR)``."""
    for match in _MACRO_DOLLAR.finditer(value):
        start = match.start()
        if value[start - 1:start] == "$" or value[start + 1:].upper().startswith("(DOLLAR)"):
            raise WorkflowError(
                f"{what} {value!r} cannot be written into an HTCondor submit description: "
                "condor_submit reads '$$(' as a match-time substitution and '$(DOLLAR)' as "
                "its own macro; avoid these character sequences")
    return _MACRO_DOLLAR.sub("$(DOLLAR)", value)


def submit_value(value: str, what: str = "the value") -> str:
    """A plain value (a path, a name) as condor_submit must read it to get ``value`` back."""
    value = str(value)
    _check_line(value, what)
    if value != value.strip():
        raise WorkflowError(f"{what} {value!r} begins or ends with whitespace, which "
                            "condor_submit drops; use a value without it")
    if value.endswith("\\"):
        raise WorkflowError(f"{what} {value!r} ends with a backslash, which condor_submit "
                            "reads as a line continuation; use a value without it")
    return escape_macros(value, what)


def classad_string(value: str, what: str = "the value") -> str:
    """A ClassAd string literal on a ``+Attr = ...`` line of a submit description."""
    _check_line(value, what)
    return escape_macros(classad_literal(value), what)


def classad_literal(value: str) -> str:
    """A ClassAd string literal, as used in constraints on the command line."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_argument(arg: str, what: str = "the argument") -> str:
    """One argument in the new ``arguments = "..."`` syntax (without the outer quotes)."""
    _check_line(arg, what)
    if arg == "" or any(c in arg for c in " \t'\""):
        arg = "'" + arg.replace("'", "''") + "'"
    return escape_macros(arg.replace('"', '""'), what)


def arguments_value(tokens: list[str]) -> str:
    """The ``arguments`` value from tokens already quoted (or macro references)."""
    return '"' + " ".join(tokens) + '"'


def safe_item(value: str, what: str) -> str:
    """A row item of ``queue ... from`` or a file-list item: only characters that neither
    split nor expand."""
    if not _SAFE_ITEM.fullmatch(value):
        raise WorkflowError(
            f"{what} {value!r} cannot be written into an HTCondor submit description: such "
            "items are split at commas and whitespace and may not hold '$' or quotes; use "
            "letters, digits and _./+@%:=- only")
    return value


def file_list(items: list[str], what: str) -> str:
    """A comma-separated file list (``transfer_input_files``, ``transfer_output_files``)."""
    return ", ".join(safe_item(item, what) for item in items)
