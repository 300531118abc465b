"""Names a public module re-exports, imported only when first used.

``law_core`` and ``law_core.plugin`` re-export many classes, but importing either must stay
cheap (``law-core --help``, plugin discovery), so each name is imported from its module on
first access and then kept in the module's globals.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(module: str, exports: Mapping[str, str], namespace: dict[str, Any]
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for the module ``module`` (whose globals are
    ``namespace``): each name of ``exports`` comes from the module it maps to."""

    def getattr_(name: str) -> Any:
        source = exports.get(name)
        if source is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(source), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return getattr_, dir_
