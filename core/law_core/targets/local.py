"""The local file system, and targets on it."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import uuid
import weakref

from law_core.errors import TargetError
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
        # one system call and no exception when the directory is there (each output
        # written asks)
        if os.path.isdir(path):
            return
        try:
            os.mkdir(path)
        except FileExistsError:
            if not os.path.isdir(path):
                raise
        except FileNotFoundError:
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

    def chmod(self, path: str, mode: int) -> None:
        os.chmod(path, mode)

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


def temporary_path(is_tmp: bool | str = True, tmp_dir: str | None = None) -> str:
    """A new path in ``tmp_dir`` (the system's temporary directory by default) that
    nothing uses; ``is_tmp`` may be an extension (``"json"`` or ``".json"``)."""
    directory = local_path(tmp_dir) if tmp_dir else tempfile.gettempdir()
    os.makedirs(directory, exist_ok=True)
    suffix = ""
    if isinstance(is_tmp, str) and is_tmp:
        suffix = is_tmp if is_tmp.startswith(".") else "." + is_tmp
    while True:
        path = os.path.join(directory, f"law-core-tmp-{uuid.uuid4().hex[:12]}{suffix}")
        if not os.path.lexists(path):
            return path


def _remove_quietly(path: str) -> None:
    from law_core.targets.file import remove_path

    try:
        remove_path(path)
    except OSError:  # gone already, or not ours to remove any more: nothing to clean up
        pass


class _LocalTarget(FileSystemTarget):
    """``is_tmp`` makes a temporary target: removed (with its content, for a directory)
    when the target object is garbage collected, or at the latest when the process
    ends. Without a path it gets a new one in ``tmp_dir``; ``is_tmp`` may then be the
    extension to give it (``is_tmp="json"``)."""

    is_tmp: bool | str = False

    def __init__(self, path: str | None = None, fs: FileSystem | None = None,
                 is_tmp: bool | str = False, tmp_dir: str | None = None):
        if not path:
            if not is_tmp:
                raise TargetError(f"a {type(self).__name__} needs a path, or is_tmp=True for "
                                  "a new temporary one")
            path = temporary_path(is_tmp, tmp_dir)
        super().__init__(local_path(path), fs or local_fs)
        if is_tmp:
            # an extension as the path ends: ".json"
            self.is_tmp = is_tmp if not isinstance(is_tmp, str) or is_tmp.startswith(".") \
                else "." + is_tmp
            # a finalizer, not __del__: it also runs at exit, and holds no reference to self
            self._tmp_finalizer = weakref.finalize(self, _remove_quietly, self.path)

    def _file_type(self) -> type[FileTarget]:
        return LocalFileTarget

    def _directory_type(self) -> type[DirectoryTarget]:
        return LocalDirectoryTarget


class LocalFileTarget(_LocalTarget, FileTarget):
    """A file on the local disk."""


class LocalDirectoryTarget(_LocalTarget, DirectoryTarget):
    """A directory on the local disk."""
