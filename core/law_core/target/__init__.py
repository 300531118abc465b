"""Targets: files and directories on any file system, and collections of them."""

import sys as _sys
import types as _types

from law_core.target.cache import RemoteCache
from law_core.target.collection import (
    NestedSiblingFileCollection,
    SiblingFileCollection,
    TargetCollection,
)
from law_core.target.factory import target
from law_core.target.file import DirectoryTarget, FileSystemTarget, FileTarget
from law_core.target.file_interface import FileInterface
from law_core.target.file_system import FileSystem, StatResult
from law_core.target.local import LocalDirectoryTarget, LocalFileSystem, LocalFileTarget, local_fs
from law_core.target.remote import RemoteDirectoryTarget, RemoteFileSystem, RemoteFileTarget

__all__ = [
    "DirectoryTarget", "FileInterface", "FileSystem", "FileSystemTarget", "FileTarget",
    "LocalDirectoryTarget", "LocalFileSystem", "LocalFileTarget", "NestedSiblingFileCollection",
    "RemoteCache", "RemoteDirectoryTarget", "RemoteFileSystem", "RemoteFileTarget",
    "SiblingFileCollection", "StatResult", "TargetCollection", "local_fs", "target",
]


class _CallablePackage(_types.ModuleType):
    """Importing any ``law_core.target.*`` module binds this package to the attribute
    ``law_core.target``, where ``law.target(uri)`` (the factory) is expected: calling the
    package therefore calls the factory, so ``law.target(uri)`` works in any import order."""

    def __call__(self, uri: str, type: str = "f") -> FileSystemTarget:
        return target(uri, type)


_sys.modules[__name__].__class__ = _CallablePackage
