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


def _tmp_dir(tmp_dir: Any) -> str | None:
    """law's directory of temporary targets: the argument, else ``[target] tmp_dir``."""
    if tmp_dir is not None:
        return str(getattr(tmp_dir, "path", tmp_dir))
    from law.config import Config

    value = Config.instance().get_expanded("target", "tmp_dir", default=None)
    return os.path.realpath(_expanded(value)) if value else None


class LocalFileTarget(law_core.LocalFileTarget, metaclass=_CoreAlike):
    """A local file; ``$VAR`` and ``~`` in the path are expanded, as law does.
    ``is_tmp=True`` (or an extension) without a path: a new file in ``tmp_dir`` (law's
    ``[target] tmp_dir``), removed when the target is garbage collected or at exit."""

    _core_class = law_core.LocalFileTarget

    def __init__(self, path: str | None = None, fs: Any = None, is_tmp: bool | str = False,
                 tmp_dir: Any = None, **kwargs: Any) -> None:
        tmp_dir = _tmp_dir(tmp_dir) if is_tmp and not path else None
        super().__init__(_expanded(path), fs, is_tmp=is_tmp, tmp_dir=tmp_dir)

    def touch(self, perm: int | None = None, dir_perm: int | None = None,
              **kwargs: Any) -> None:
        """Create the file (law: with the permissions ``perm``, and ``dir_perm`` for a
        directory it creates)."""
        created = not self.parent.exists()
        super().touch()
        if perm is not None:
            self.chmod(perm)
        if dir_perm is not None and created:
            self.parent.chmod(dir_perm)


class LocalDirectoryTarget(law_core.LocalDirectoryTarget, metaclass=_CoreAlike):
    """A local directory; ``$VAR`` and ``~`` in the path are expanded, as law does."""

    _core_class = law_core.LocalDirectoryTarget

    def __init__(self, path: str | None = None, fs: Any = None, is_tmp: bool | str = False,
                 tmp_dir: Any = None, **kwargs: Any) -> None:
        tmp_dir = _tmp_dir(tmp_dir) if is_tmp and not path else None
        super().__init__(_expanded(path), fs, is_tmp=is_tmp, tmp_dir=tmp_dir)

    def touch(self, perm: int | None = None, **kwargs: Any) -> None:
        """Create the directory (law: with the permissions ``perm``)."""
        super().touch()
        if perm is not None:
            self.chmod(perm)


#: law's luigi-compatible name of its local file target
LocalTarget = LocalFileTarget
