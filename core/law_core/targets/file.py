"""File and directory targets: one API whatever file system they live on.

Writes are atomic. ``dump``, ``open("w")`` and ``localize("w")`` write a temporary sibling
(``.tmp-XXXXXXXX-NAME``) and rename it to the target's name only when writing succeeded,
so a failing task never leaves an output that ``exists()`` reports.
"""

from __future__ import annotations

import io
import os
import posixpath
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import luigi

from law_core.errors import TargetError
from law_core.targets.file_system import FileSystem, StatResult

TMP_PREFIX = ".tmp-"


def temporary_sibling_name(name: str) -> str:
    """A hidden name beside ``name`` for writing, never matched by a collection. It ends
    with ``name`` so that tools choosing the format by extension (``.tar.gz``, ``.png``,
    numpy adding ``.npy``) write the right one."""
    return f"{TMP_PREFIX}{os.urandom(4).hex()}-{name}"


def is_temporary_name(name: str) -> bool:
    """Whether ``name`` is a temporary sibling of an atomic write."""
    return name.startswith(TMP_PREFIX)


class FileSystemTarget(luigi.Target):
    """A path on a file system."""

    def __init__(self, path: str, fs: FileSystem):
        self.fs = fs
        self.path = path

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.uri()!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, FileSystemTarget)
            and type(self) is type(other)
            and self.fs is other.fs
            and self.path == other.path
        )

    def __hash__(self) -> int:
        return hash((type(self), id(self.fs), self.path))

    @property
    def basename(self) -> str:
        return posixpath.basename(self.path.rstrip("/"))

    @property
    def dirname(self) -> str:
        return posixpath.dirname(self.path.rstrip("/")) or "/"

    def uri(self) -> str:
        return self.fs.uri(self.path)

    def exists(self) -> bool:
        return self.fs.exists(self.path)

    def stat(self) -> StatResult:
        try:
            return self.fs.stat(self.path)
        except FileNotFoundError:
            raise TargetError(f"{self.uri()} does not exist") from None

    @property
    def parent(self) -> DirectoryTarget:
        return self._directory_type()(self.dirname, fs=self.fs)

    def sibling(self, name: str, type: str = "f") -> FileSystemTarget:
        """The target ``name`` in the same directory; ``type`` "f" (file) or "d"."""
        return self.parent.child(name, type)

    def _file_type(self) -> type[FileTarget]:
        return FileTarget

    def _directory_type(self) -> type[DirectoryTarget]:
        return DirectoryTarget

    def _make(self, cls: type, path: str) -> Any:
        try:
            return cls(path, fs=self.fs)
        except TypeError:
            return cls(path, self.fs)


class FileTarget(FileSystemTarget):
    """A file: open, load and dump it, copy or move it, localize it for local tools."""

    def remove(self, silent: bool = True) -> bool:
        """Remove the file; returns whether something was removed."""
        try:
            self.fs.remove(self.path)
        except FileNotFoundError:
            if not silent:
                raise TargetError(f"cannot remove {self.uri()}: it does not exist") from None
            return False
        return True

    def touch(self) -> None:
        """Create the file empty if it is missing (and its directory)."""
        if not self.exists():
            with self.open("w"):
                pass

    def makedirs(self) -> None:
        """Create the directory this file goes into."""
        self.fs.mkdir(self.dirname)

    # writing and reading

    @contextmanager
    def localize(self, mode: str = "r") -> Iterator[FileTarget]:
        """A local file target standing for this one, for tools that need a local path.

        ``"r"``: a local copy (the file itself when it is local); a TargetError when the
        file does not exist. ``"w"``: a local temporary file with the target's basename,
        moved to this target only when the block ends without error.
        """
        from law_core.targets.local import LocalFileTarget

        if mode == "r":
            if self.fs.is_local:
                if not self.fs.exists(self.path):
                    raise TargetError(f"cannot localize {self.uri()}: it does not exist")
                yield self._make(LocalFileTarget, self.path)
                return
            with tempfile.TemporaryDirectory(prefix="law-core-localize-") as tmp:
                local = posixpath.join(tmp, self.basename)
                try:
                    self.fs.get(self.path, local)
                except FileNotFoundError:
                    raise TargetError(f"cannot localize {self.uri()}: it does not exist") from None
                yield LocalFileTarget(local)
            return
        if mode != "w":
            raise TargetError(f"localize mode must be 'r' or 'w', not {mode!r}")
        self._ensure_parent()
        if self.fs.is_local:
            tmp_path = posixpath.join(self.dirname, temporary_sibling_name(self.basename))
            try:
                yield LocalFileTarget(tmp_path)
                if os.path.lexists(tmp_path):
                    self.fs.rename(tmp_path, self.path)
            finally:
                if os.path.lexists(tmp_path):
                    remove_path(tmp_path)
            return
        with tempfile.TemporaryDirectory(prefix="law-core-localize-") as tmp:
            local = posixpath.join(tmp, self.basename)
            yield LocalFileTarget(local)
            if os.path.exists(local):
                self._upload_atomic(local)

    def _ensure_parent(self) -> None:
        try:
            self.fs.mkdir(self.dirname)
        except PermissionError as err:
            raise TargetError(
                f"cannot create the directory {self.fs.uri(self.dirname)} for {self.uri()}: "
                f"permission denied; choose an output location you can write to"
            ) from err
        except OSError as err:
            # e.g. a path component is a regular file (NotADirectoryError, FileExistsError)
            reason = err.strerror or str(err)
            if err.filename:
                reason += f": {err.filename}"
            if isinstance(err, (FileExistsError, NotADirectoryError)):
                reason += " (a file is in the way of the directory)"
            raise TargetError(
                f"cannot create the directory {self.fs.uri(self.dirname)} for {self.uri()}: "
                f"{reason}"
            ) from err

    def _upload_atomic(self, local_path: str) -> None:
        tmp_path = posixpath.join(self.dirname, temporary_sibling_name(self.basename))
        try:
            self.fs.put(local_path, tmp_path)
            self.fs.rename(tmp_path, self.path)
        except BaseException:
            try:
                self.fs.remove(tmp_path)
            except Exception:  # missing, or the storage is gone: keep the original error
                pass
            raise

    def open(self, mode: str = "r", **kwargs: Any) -> IO[Any]:
        """Open the file; in a write mode the content appears at the target's name only
        when the file is closed without an exception."""
        if "r" in mode:
            if self.fs.is_local:
                try:
                    return open(self.path, mode, **kwargs)  # noqa: SIM115
                except FileNotFoundError:
                    raise TargetError(f"cannot read {self.uri()}: it does not exist") from None
            with self.localize("r") as local:
                with open(local.path, "rb") as f:
                    data = f.read()
            return io.BytesIO(data) if "b" in mode else io.StringIO(data.decode(), newline=None)
        if "w" not in mode:
            raise TargetError(f"open mode must read ('r') or write ('w'), not {mode!r}")
        return _AtomicFile(self, mode, kwargs)

    def load(self, formatter: str | None = None, **kwargs: Any) -> Any:
        """Read the file with a formatter chosen by name, or by extension when None."""
        from law_core.formatter import resolve_formatter

        fmt = resolve_formatter(self.path, formatter)
        if not self.exists():
            raise TargetError(f"cannot load {self.uri()}: it does not exist")
        with self.localize("r") as local:
            return fmt.load(local.path, **kwargs)

    def dump(self, obj: Any, formatter: str | None = None, **kwargs: Any) -> None:
        """Write ``obj`` with a formatter chosen by name, or by extension when None."""
        from law_core.formatter import resolve_formatter

        fmt = resolve_formatter(self.path, formatter)
        with self.localize("w") as local:
            fmt.dump(local.path, obj, **kwargs)

    # copies between file systems

    def copy_to(self, dst: FileSystemTarget | str) -> FileTarget:
        """Copy this file to ``dst`` (a file target, or a directory target to copy into);
        the copy appears atomically. Returns the file written."""
        dst_file = _destination_file(dst, self.basename)
        if not self.exists():
            raise TargetError(f"cannot copy {self.uri()}: it does not exist")
        dst_file._ensure_parent()
        if dst_file.fs is self.fs:
            tmp = posixpath.join(dst_file.dirname, temporary_sibling_name(dst_file.basename))
            try:
                self.fs.copy(self.path, tmp)
                self.fs.rename(tmp, dst_file.path)
            finally:
                if self.fs.exists(tmp):
                    self.fs.remove(tmp)
        else:
            # straight to a temporary sibling when the backend can (a download, a
            # third-party copy), else through a local copy
            tmp = posixpath.join(dst_file.dirname, temporary_sibling_name(dst_file.basename))
            try:
                direct = self.fs.transfer_to(self.path, dst_file.fs, tmp)
                if direct:
                    dst_file.fs.rename(tmp, dst_file.path)
            except BaseException:
                try:
                    dst_file.fs.remove(tmp)
                except Exception:  # missing, or the storage is gone: the error that counts
                    pass           # is the one raised below
                raise
            if not direct:
                with self.localize("r") as local:
                    dst_file._upload_atomic(local.path)
        return dst_file

    def copy_from(self, src: FileTarget | str) -> FileTarget:
        """Copy ``src`` to this file."""
        src_file = _as_target(src)
        if not isinstance(src_file, FileTarget):
            raise TargetError(f"cannot copy from {src_file.uri()}: it is not a file target")
        return src_file.copy_to(self)

    def move_to(self, dst: FileSystemTarget | str) -> FileTarget:
        """Move this file to ``dst``: a rename within one file system, else copy and remove."""
        dst_file = _destination_file(dst, self.basename)
        if dst_file.fs is self.fs:
            if not self.exists():
                raise TargetError(f"cannot move {self.uri()}: it does not exist")
            dst_file._ensure_parent()
            self.fs.rename(self.path, dst_file.path)
        else:
            self.copy_to(dst_file)
            self.remove()
        return dst_file


class DirectoryTarget(FileSystemTarget):
    """A directory: its children, listings, walks and globs."""

    def child(self, name: str, type: str = "f") -> FileSystemTarget:
        """The target ``name`` inside this directory: ``type`` "f" (file) or "d"."""
        if type not in ("f", "d"):
            raise TargetError(f"child type must be 'f' (file) or 'd' (directory), not {type!r}")
        cls = self._file_type() if type == "f" else self._directory_type()
        return self._make(cls, posixpath.join(self.path, name))

    def exists(self) -> bool:
        return self.fs.isdir(self.path)

    def makedirs(self) -> None:
        self.fs.mkdir(self.path)

    touch = makedirs

    def remove(self, recursive: bool = True, silent: bool = True) -> bool:
        """Remove the directory (and by default everything in it)."""
        try:
            self.fs.rmdir(self.path, recursive=recursive)
        except FileNotFoundError:
            if not silent:
                raise TargetError(f"cannot remove {self.uri()}: it does not exist") from None
            return False
        return True

    def listdir(self, pattern: str | None = None, type: str | None = None) -> list[str]:
        """Sorted names in the directory, optionally filtered by shell pattern and by
        ``type`` "f" or "d"."""
        import fnmatch

        try:
            names = sorted(self.fs.listdir(self.path))
        except FileNotFoundError:
            raise TargetError(f"cannot list {self.uri()}: it does not exist") from None
        if pattern:
            names = fnmatch.filter(names, pattern)
        if type is not None:
            want_dir = type == "d"
            names = [n for n in names if self.fs.isdir(posixpath.join(self.path, n)) == want_dir]
        return names

    def glob(self, pattern: str) -> list[str]:
        """Paths relative to this directory that match ``pattern`` (``*/out_*.json``)."""
        prefix = self.path.rstrip("/") + "/"
        return [p[len(prefix):] for p in self.fs.glob(prefix + pattern.lstrip("/"))]

    def walk(self, max_depth: int = -1) -> Iterator[tuple[str, list[str], list[str]]]:
        return self.fs.walk(self.path, max_depth=max_depth)

    def copy_to(self, dst: DirectoryTarget | str) -> DirectoryTarget:
        """Copy the directory tree into ``dst`` (created when missing)."""
        dst_dir = _as_target(dst, directory=True)
        for current, _, files in self.walk():
            rel = posixpath.relpath(current, self.path)
            target_dir = dst_dir if rel == "." else dst_dir.child(rel, "d")
            for name in files:
                self._make(self._file_type(), posixpath.join(current, name)).copy_to(
                    target_dir.child(name, "f"))
        dst_dir.makedirs()
        return dst_dir


class _AtomicFile(io.IOBase):
    """A file object writing a temporary sibling, renamed into place on a clean close."""

    _file: IO[Any] | None = None  # stays None when __init__ fails, see __del__

    def __init__(self, target: FileTarget, mode: str, kwargs: dict[str, Any]):
        self._target = target
        self._localized = target.localize("w")
        local = self._localized.__enter__()
        try:
            self._file = open(local.path, mode, **kwargs)  # noqa: SIM115
        except BaseException as err:
            self._localized.__exit__(type(err), err, err.__traceback__)
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)

    def write(self, data: Any) -> int:
        return self._file.write(data)

    def writelines(self, lines: Any) -> None:
        self._file.writelines(lines)

    def __enter__(self) -> _AtomicFile:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self._finish(exc_type, exc, tb)

    def close(self) -> None:
        self._finish(None, None, None)

    def _finish(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._file is None or self._file.closed:
            return
        self._file.close()
        if exc_type is None:
            self._localized.__exit__(None, None, None)
        else:
            try:
                self._localized.__exit__(exc_type, exc, tb)
            except BaseException:
                pass
        super().close()

    def __del__(self) -> None:
        # an atomic file dropped without close() is discarded, never committed
        if self._file is not None and not self._file.closed:
            self._finish(RuntimeError, RuntimeError("not closed"), None)


def _as_target(value: FileSystemTarget | str, directory: bool = False) -> Any:
    if isinstance(value, FileSystemTarget):
        return value
    from law_core.targets.factory import target

    return target(value, type="d" if directory else "f")


def _destination_file(dst: FileSystemTarget | str, basename: str) -> FileTarget:
    dst_target = _as_target(dst)
    if isinstance(dst_target, DirectoryTarget):
        return dst_target.child(basename, "f")  # type: ignore[return-value]
    return dst_target


def remove_path(path: str) -> None:
    """Remove a local file or tree, whatever it is."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)
