"""Wrapping a method that a task subclass defines, once per kind of wrapper.

Workflows route ``requires``/``output``/``run`` between the workflow and its branches, and
sandbox tasks re-execute ``run()`` inside their sandbox and stage ``output()``; each does so
by wrapping the method a subclass defines, in ``__init_subclass__``. The wrappers stack (a
sandboxed workflow's ``run`` goes through both), keep the user's name, docstring and
signature, and are applied once: a method inherited unchanged, or assigned from another
class, is not wrapped again by the same kind of wrapper.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

#: the attribute of a wrapped method holding the kinds of wrappers it went through
_MARKS = "_law_core_wrapped"


def wrapped_by(method: Any) -> frozenset[str]:
    """The kinds of wrappers ``method`` went through."""
    return getattr(method, _MARKS, frozenset())


def wrap_defined(cls: type, name: str, wrapper: Callable[[Callable[..., Any]], Callable[..., Any]],
                 kind: str) -> None:
    """Replace the method ``name`` that ``cls`` itself defines by ``wrapper(method)``,
    unless it went through a wrapper of this ``kind`` already; inherited methods and other
    attributes (properties, ...) are left alone."""
    method = cls.__dict__.get(name)
    if method is None or not callable(method) or kind in wrapped_by(method):
        return
    wrapped = functools.wraps(method)(wrapper(method))
    setattr(wrapped, _MARKS, wrapped_by(method) | {kind})
    setattr(cls, name, wrapped)
