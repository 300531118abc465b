"""Targets: files and directories on any file system, and collections of them."""

from law_core.target.collection import (
    NestedSiblingFileCollection,
    SiblingFileCollection,
    TargetCollection,
)
from law_core.target.factory import target
from law_core.target.file import DirectoryTarget, FileSystemTarget, FileTarget
from law_core.target.file_system import FileSystem, StatResult
from law_core.target.local import LocalDirectoryTarget, LocalFileSystem, LocalFileTarget, local_fs

__all__ = [
    "DirectoryTarget", "FileSystem", "FileSystemTarget", "FileTarget", "LocalDirectoryTarget",
    "LocalFileSystem", "LocalFileTarget", "NestedSiblingFileCollection",
    "SiblingFileCollection", "StatResult", "TargetCollection", "local_fs", "target",
]
