"""``law.target.local``: local targets whose paths may hold ``$VAR`` and ``~``."""

from __future__ import annotations

import os
from typing import Any

import law_core
from law_core import LocalFileSystem

__all__ = ["LocalFileSystem", "LocalFileTarget", "LocalDirectoryTarget", "LocalTarget"]


def _expanded(path: Any) -> Any:
    if isinstance(path, str) and ("$" in path or path.startswith("~")):
        return os.path.expandvars(os.path.expanduser(path))
    return path


class _CoreAlike(type(law_core.LocalFileTarget)):  # type: ignore[misc]
    """law-core makes its own local targets (children, output directories): those count as
    instances of the law class they correspond to (``isinstance(t, law.LocalFileTarget)``);
    a user's subclass of the law class keeps the usual check."""

    # the checks look at the MRO directly: asking the core class (an ABC) would ask its
    # subclasses, this class among them, again

    def __instancecheck__(cls, obj: Any) -> bool:
        core = cls.__dict__.get("_core_class")
        if core is None:
            return super().__instancecheck__(obj)
        return core in type(obj).__mro__

    def __subclasscheck__(cls, sub: type) -> bool:
        core = cls.__dict__.get("_core_class")
        if core is None:
            return super().__subclasscheck__(sub)
        return core in getattr(sub, "__mro__", ())


class LocalFileTarget(law_core.LocalFileTarget, metaclass=_CoreAlike):
    """A local file; ``$VAR`` and ``~`` in the path are expanded, as law does."""

    _core_class = law_core.LocalFileTarget

    def __init__(self, path: str, fs: Any = None, **kwargs: Any) -> None:
        super().__init__(_expanded(path), fs)


class LocalDirectoryTarget(law_core.LocalDirectoryTarget, metaclass=_CoreAlike):
    """A local directory; ``$VAR`` and ``~`` in the path are expanded, as law does."""

    _core_class = law_core.LocalDirectoryTarget

    def __init__(self, path: str, fs: Any = None, **kwargs: Any) -> None:
        super().__init__(_expanded(path), fs)


#: law's luigi-compatible name of its local file target
LocalTarget = LocalFileTarget
