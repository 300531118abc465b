"""The local file system, and targets on it."""

from __future__ import annotations

import os
import shutil
import stat

from law_core.targets.file import DirectoryTarget, FileSystemTarget, FileTarget
from law_core.targets.file_system import FileSystem, StatResult


class LocalFileSystem(FileSystem):
    """The disk of the machine the process runs on (URI scheme ``file``)."""

    is_local = True

    def uri(self, path: str) -> str:
        return "file://" + path

    def stat(self, path: str) -> StatResult:
        st = os.stat(path)
        return StatResult(size=st.st_size, mtime=st.st_mtime, is_dir=stat.S_ISDIR(st.st_mode))

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def isdir(self, path: str) -> bool:
        return os.path.isdir(path)

    def isfile(self, path: str) -> bool:
        # like os.path.exists (any error is "missing"), but a directory does not count;
        # anything else (a fifo, a device) does, as before
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            return False
        return not stat.S_ISDIR(st.st_mode)

    def listdir(self, path: str) -> list[str]:
        return os.listdir(path)

    def mkdir(self, path: str) -> None:
        os.makedirs(path, exist_ok=True)

    def remove(self, path: str) -> None:
        os.remove(path)

    def rmdir(self, path: str, recursive: bool = False) -> None:
        if recursive:
            shutil.rmtree(path)
        else:
            os.rmdir(path)

    def rename(self, src: str, dst: str) -> None:
        os.replace(src, dst)

    def put(self, local_path: str, path: str) -> None:
        shutil.copyfile(local_path, path)

    def get(self, path: str, local_path: str) -> None:
        shutil.copyfile(path, local_path)

    def copy(self, src: str, dst: str) -> None:
        shutil.copyfile(src, dst)

    @classmethod
    def target_from_uri(cls, uri: str, type: str = "f") -> FileSystemTarget:
        return LocalFileTarget(uri) if type == "f" else LocalDirectoryTarget(uri)


#: the one local file system instance, shared by all local targets
local_fs = LocalFileSystem("local")


def local_path(path: str) -> str:
    """An absolute, normalized path with a leading ``~`` expanded. ``$VARS`` are not: a
    path built by code means the same file on every machine (config values are expanded
    where they are read), and a name may hold a literal ``$``."""
    if path.startswith("file://"):
        path = path[len("file://"):]
    # the common case, 100000 times in a large workflow: absolute, nothing to expand or
    # normalize (no '//', '/.' or trailing '/'), so returned as it is
    if path[:1] == "/" and "//" not in path and "/." not in path \
            and (path[-1:] != "/" or path == "/"):
        return path
    return os.path.abspath(os.path.expanduser(path))


class _LocalTarget(FileSystemTarget):
    def __init__(self, path: str, fs: FileSystem | None = None):
        super().__init__(local_path(path), fs or local_fs)

    def _file_type(self) -> type[FileTarget]:
        return LocalFileTarget

    def _directory_type(self) -> type[DirectoryTarget]:
        return LocalDirectoryTarget


class LocalFileTarget(_LocalTarget, FileTarget):
    """A file on the local disk."""


class LocalDirectoryTarget(_LocalTarget, DirectoryTarget):
    """A directory on the local disk."""
