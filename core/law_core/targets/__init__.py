"""Targets: files and directories on any file system, and collections of them."""

from law_core.targets.cache import RemoteCache
from law_core.targets.collection import (
    NestedSiblingFileCollection,
    SiblingFileCollection,
    TargetCollection,
)
from law_core.targets.factory import target
from law_core.targets.file import DirectoryTarget, FileSystemTarget, FileTarget
from law_core.targets.file_interface import FileInterface
from law_core.targets.file_system import FileSystem, StatResult
from law_core.targets.local import LocalDirectoryTarget, LocalFileSystem, LocalFileTarget, local_fs
from law_core.targets.remote import RemoteDirectoryTarget, RemoteFileSystem, RemoteFileTarget

__all__ = [
    "DirectoryTarget", "FileInterface", "FileSystem", "FileSystemTarget", "FileTarget",
    "LocalDirectoryTarget", "LocalFileSystem", "LocalFileTarget", "NestedSiblingFileCollection",
    "RemoteCache", "RemoteDirectoryTarget", "RemoteFileSystem", "RemoteFileTarget",
    "SiblingFileCollection", "StatResult", "TargetCollection", "local_fs", "target",
]

