"""File and directory targets: one API whatever file system they live on.

Writes are atomic. ``dump``, ``open("w")`` and ``localize("w")`` write a temporary sibling
(``.tmp-HOST-PID-RAND-NAME``, see :mod:`law_core.targets.temporary`) and rename it to the
target's name only when writing succeeded, so a failing task never leaves an output that
``exists()`` reports. What a killed writer leaves behind is removed by
:meth:`FileSystemTarget.remove_stale_temporaries`.
"""

from __future__ import annotations

import errno
import io
import logging
import os
import posixpath
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import luigi

from law_core.errors import TargetError
from law_core.targets.file_system import FileSystem, StatResult
from law_core.targets.temporary import (
    STALE_TEMPORARY_AGE,
    TMP_PREFIX,
    is_stale,
    is_temporary_name,
    shorten_name,
    temporary_sibling_name,
    temporary_writer,
    writing,
)

__all__ = [
    "STALE_TEMPORARY_AGE", "TMP_PREFIX", "DirectoryTarget", "FileSystemTarget", "FileTarget",
    "is_temporary_name", "remove_path", "temporary_sibling_name",
]

logger = logging.getLogger(__name__)

#: the length of a name most file systems allow at most (NAME_MAX, in bytes)
NAME_MAX = 255


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

    def uri(self, scheme: bool = True) -> str:
        """The URI that :func:`law_core.target` maps back to this target; without the
        scheme (``scheme=False``), what is left of it (a local target's path)."""
        uri = self.fs.uri(self.path)
        if not scheme:
            head, sep, rest = uri.partition("://")
            if sep and "/" not in head:
                return rest if head != "file" else rest or "/"
        return uri

    @property
    def abspath(self) -> str:
        """What local tools and other file systems can reach this target by: the absolute
        path of a local target, the full URI of a remote one."""
        return self.path if self.fs.is_local else self.uri()

    def chmod(self, mode: int, silent: bool = False) -> bool:
        """Set the permission bits (``0o644``); returns whether they were set. A storage
        without permissions (Dropbox, most remote ones) ignores the call and returns
        False; a missing target is a TargetError unless ``silent``."""
        chmod = getattr(self.fs, "chmod", None)
        if chmod is None:
            logger.debug("%s keeps no permissions; chmod(%o) ignored", self.fs, mode)
            return False
        try:
            chmod(self.path, mode)
        except FileNotFoundError:
            if silent:
                return False
            raise TargetError(f"cannot chmod {self.uri()}: it does not exist") from None
        except PermissionError as err:
            if silent:
                return False
            raise TargetError(f"cannot chmod {self.uri()}: permission denied; only the "
                              "owner of a file can change its mode") from err
        return True

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

    # what killed writers leave behind

    def remove_stale_temporaries(self, max_age: float = STALE_TEMPORARY_AGE,
                                 reuse_listing: bool = False) -> int:
        """Remove the temporary siblings that killed writes of this target left behind
        (a SIGKILL, a lost batch job, an upload whose cleanup could not reach the
        storage); returns how many were removed. Call it before writing the target anew.

        A temporary sibling is stale when its writer was a process of this machine that
        no longer runs, or when it was not modified for ``max_age`` seconds (a writer on
        another machine cannot be asked; :data:`STALE_TEMPORARY_AGE` is a day). A live
        writer's is never removed. Costs one listing of the parent directory (of a
        directory with 1000 entries or more at most one a minute per process, so that a
        workflow's branches do not list their shared directory once each; of any directory
        with ``reuse_listing``) and a stat per temporary sibling of this target. A missing
        directory has none: 0; a listing that fails otherwise (the storage is gone) raises.
        A temporary sibling that cannot be removed is logged and left: the target is
        written under another name anyway.
        """
        directory = self.dirname
        try:
            entries = _temporaries.names(self.fs, directory, reuse_listing)
        except (FileNotFoundError, NotADirectoryError):
            return 0
        if not entries:  # the common case, before each branch of a workflow runs
            return 0
        name = self.basename
        removed = 0
        now = time.time()
        for entry in sorted(entries):
            writer = temporary_writer(entry, name)
            if writer is None:
                continue
            path = posixpath.join(directory, entry)
            try:
                st = self.fs.stat(path)
                if not is_stale(writer, st.mtime, max_age, now):
                    continue
                if st.is_dir:
                    self.fs.rmdir(path, recursive=True)
                else:
                    self.fs.remove(path)
            except FileNotFoundError:  # gone already (another run cleaned up)
                _temporaries.forget(self.fs, directory, entry)
                continue
            except (OSError, TargetError) as err:
                logger.warning("cannot remove the stale temporary file %s: %s",
                               self.fs.uri(path), err)
                continue
            _temporaries.forget(self.fs, directory, entry)
            logger.info("removed the stale temporary file %s", self.fs.uri(path))
            removed += 1
        return removed

    # errors

    def _name_too_long(self, err: OSError) -> TargetError:
        size = len(self.basename.encode("utf-8", "surrogateescape"))
        if size > NAME_MAX:
            reason = (f"its name is {size} bytes long, more than the file system allows "
                      f"(at most {NAME_MAX} on most); choose a shorter name")
        else:
            reason = "its path is too long for the file system; choose a shorter one"
        return TargetError(f"cannot write {self.uri()}: {reason} ({err.strerror or err})")

    @contextmanager
    def _name_errors(self) -> Iterator[None]:
        """A name the file system refuses as too long is a TargetError naming this target,
        not an OSError naming a temporary path."""
        try:
            yield
        except OSError as err:
            if err.errno == errno.ENAMETOOLONG:
                raise self._name_too_long(err) from err
            raise

    def _make_directory(self, path: str) -> None:
        """Create the directory ``path`` (this target's, or its parent) with its parents,
        every failure a TargetError saying why."""
        try:
            self.fs.mkdir(path)
        except PermissionError as err:
            what = self.fs.uri(path) + ("" if path == self.path else f" for {self.uri()}")
            raise TargetError(
                f"cannot create the directory {what}: permission denied; choose an output "
                "location you can write to"
            ) from err
        except OSError as err:
            # e.g. a path component is a regular file (NotADirectoryError, FileExistsError)
            reason = err.strerror or str(err)
            if err.filename:
                reason += f": {err.filename}"
            if isinstance(err, (FileExistsError, NotADirectoryError)):
                reason += " (a file is in the way of the directory)"
            what = self.fs.uri(path) + ("" if path == self.path else f" for {self.uri()}")
            raise TargetError(f"cannot create the directory {what}: {reason}") from err

    def _stat_or_none(self) -> StatResult | None:
        """The stat of the target, None when missing; a too long name is a TargetError."""
        with self._name_errors():
            try:
                return self.fs.stat(self.path)
            except (FileNotFoundError, NotADirectoryError):
                return None

    def _is_dir_quietly(self) -> bool:
        try:
            return self.fs.isdir(self.path)
        except Exception:  # the storage is gone: the error that counts is the caller's
            return False

    def _is_file_quietly(self) -> bool:
        try:
            return self.fs.isfile(self.path)
        except Exception:  # as above
            return False


class FileTarget(FileSystemTarget):
    """A file: open, load and dump it, copy or move it, localize it for local tools."""

    def exists(self) -> bool:
        """Whether the file exists. A directory in its place is no output of this target
        (a task with it is not complete; writing the file then fails with a clear error)."""
        return self.fs.isfile(self.path)

    def remove(self, silent: bool = True) -> bool:
        """Remove the file; returns whether something was removed."""
        try:
            self.fs.remove(self.path)
        except FileNotFoundError:
            if not silent:
                raise TargetError(f"cannot remove {self.uri()}: it does not exist") from None
            return False
        except OSError as err:
            if self._is_dir_quietly():
                raise self._is_a_directory("remove") from err
            raise
        return True

    def _is_a_directory(self, action: str) -> TargetError:
        return TargetError(
            f"cannot {action} {self.uri()}: it is a directory, and this is a file target; "
            "remove the directory, or make the output a directory target (dir=True)"
        )

    def _refuse_directory(self, action: str) -> None:
        """Fail before writing when a directory is where the file goes: no work is lost,
        and no storage gets to replace a directory by a file."""
        st = self._stat_or_none()
        if st is not None and st.is_dir:
            raise self._is_a_directory(action)

    @contextmanager
    def _temporary_path(self) -> Iterator[str]:
        """The path of a temporary sibling to write this file under, during the block."""
        with writing(self.basename) as name:
            yield posixpath.join(self.dirname, name)

    def _commit(self, tmp_path: str, missing_ok: bool = False) -> bool:
        """Rename the written temporary sibling ``tmp_path`` to this file; with
        ``missing_ok``, a ``tmp_path`` never written (a formatter that wrote no file) is
        nothing to commit: False. Asked only when the rename fails, which saves a system
        call on each of a workflow's writes."""
        try:
            with self._name_errors():
                self.fs.rename(tmp_path, self.path)
        except OSError as err:
            if missing_ok and isinstance(err, FileNotFoundError) and \
                    not os.path.lexists(tmp_path):
                return False
            if self._is_dir_quietly():  # a directory appeared while writing
                raise self._is_a_directory("write") from err
            raise
        return True

    def touch(self) -> None:
        """Create the file empty if it is missing (and its directory); a local file that
        exists gets the current time as its modification time, as ``touch`` does (its
        content is kept)."""
        if not self.exists():
            with self.open("w"):
                pass
        elif self.fs.is_local:
            os.utime(self.path)

    def makedirs(self) -> None:
        """Create the directory this file goes into."""
        self.fs.mkdir(self.dirname)

    # writing and reading

    @contextmanager
    def localize(self, mode: str = "r") -> Iterator[FileTarget]:
        """A local file target standing for this one, for tools that need a local path.

        ``"r"``: a local copy (the file itself when it is local); a TargetError when the
        file does not exist. ``"w"``: a local temporary file with the target's basename (its
        end, with the extension, when it is longer than 128 bytes), moved to this target
        only when the block ends without error.
        """
        from law_core.targets.local import LocalFileTarget

        if mode == "r":
            if self.fs.is_local:
                if not self.exists():
                    if self._is_dir_quietly():
                        raise self._is_a_directory("read")
                    raise TargetError(f"cannot localize {self.uri()}: it does not exist")
                yield self._make(LocalFileTarget, self.path)
                return
            with tempfile.TemporaryDirectory(prefix="law-core-localize-") as tmp:
                local = posixpath.join(tmp, shorten_name(self.basename))
                try:
                    self.fs.get(self.path, local)
                except FileNotFoundError:
                    raise TargetError(f"cannot localize {self.uri()}: it does not exist") from None
                yield LocalFileTarget(local)
            return
        if mode != "w":
            raise TargetError(f"localize mode must be 'r' or 'w', not {mode!r}")
        self._ensure_parent()
        self._refuse_directory("write")
        if self.fs.is_local:
            with self._local_write() as tmp_path:
                yield LocalFileTarget(tmp_path)
            return
        with tempfile.TemporaryDirectory(prefix="law-core-localize-") as tmp:
            local = posixpath.join(tmp, shorten_name(self.basename))
            yield LocalFileTarget(local)
            if os.path.exists(local):
                self._upload_atomic(local)

    def _ensure_parent(self) -> None:
        self._make_directory(self.dirname)

    def _upload_atomic(self, local_path: str) -> None:
        with self._temporary_path() as tmp_path:
            try:
                with self._name_errors():
                    self.fs.put(local_path, tmp_path)
                self._commit(tmp_path)
            except BaseException:
                try:
                    self.fs.remove(tmp_path)
                except Exception:  # missing, or the storage is gone: keep the original
                    pass           # error (remove_stale_temporaries() removes it later)
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
                except IsADirectoryError as err:
                    raise self._is_a_directory("read") from err
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
        # checked first: some libraries read a missing file as empty (configparser)
        if not self.exists():
            if self._is_dir_quietly():
                raise self._is_a_directory("load")
            raise TargetError(f"cannot load {self.uri()}: it does not exist")
        if self.fs.is_local:
            return fmt.load(self.path, **kwargs)  # in place
        with self.localize("r") as local:
            return fmt.load(local.path, **kwargs)

    def dump(self, obj: Any, formatter: str | None = None, **kwargs: Any) -> None:
        """Write ``obj`` with a formatter chosen by name, or by extension when None."""
        from law_core.formatter import resolve_formatter

        fmt = resolve_formatter(self.path, formatter)
        if self.fs.is_local:
            # without localize's target objects and checks: a workflow's branches each
            # write their outputs this way (a directory in the way is found by the rename,
            # which never replaces one)
            self._ensure_parent()
            with self._local_write() as tmp_path:
                fmt.dump(tmp_path, obj, **kwargs)
            return
        with self.localize("w") as local:
            fmt.dump(local.path, obj, **kwargs)

    @contextmanager
    def _local_write(self) -> Iterator[str]:
        """The path of a temporary sibling to write this local file under: it becomes this
        file when the block ends without error (having written it), else it is removed."""
        with writing(self.basename) as name:
            tmp_path = posixpath.join(self.dirname, name)
            committed = False
            try:
                try:
                    yield tmp_path
                except OSError as err:
                    if err.errno == errno.ENAMETOOLONG and err.filename == tmp_path:
                        raise self._name_too_long(err) from err
                    raise
                committed = self._commit(tmp_path, missing_ok=True)
            finally:
                if not committed and os.path.lexists(tmp_path):
                    remove_path(tmp_path)

    # copies between file systems

    def copy_to(self, dst: FileSystemTarget | str) -> FileTarget:
        """Copy this file to ``dst`` (a file target, or a directory target to copy into);
        the copy appears atomically. Returns the file written."""
        dst_file = _destination_file(dst, self.basename)
        if not self.exists():
            if self._is_dir_quietly():
                raise self._is_a_directory("copy")
            raise TargetError(f"cannot copy {self.uri()}: it does not exist")
        dst_file._ensure_parent()
        dst_file._refuse_directory("write")
        if dst_file.fs is self.fs:
            with dst_file._temporary_path() as tmp:
                try:
                    with dst_file._name_errors():
                        self.fs.copy(self.path, tmp)
                    dst_file._commit(tmp)
                finally:
                    if self.fs.exists(tmp):
                        self.fs.remove(tmp)
        else:
            # straight to a temporary sibling when the backend can (a download, a
            # third-party copy), else through a local copy
            with dst_file._temporary_path() as tmp:
                try:
                    with dst_file._name_errors():
                        direct = self.fs.transfer_to(self.path, dst_file.fs, tmp)
                    if direct:
                        dst_file._commit(tmp)
                except BaseException:
                    try:
                        dst_file.fs.remove(tmp)
                    except Exception:  # missing, or the storage is gone: the error that
                        pass           # counts is the one raised below
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

    # the same with local paths: for code that hands paths to local tools

    def copy_to_local(self, dst: FileSystemTarget | str | None = None) -> str:
        """Copy this file to a local path (a file, or a directory to copy into) and return
        the local file's path. Without ``dst``, to a new temporary local file (removed when
        the process ends; its extension is this file's)."""
        return self.copy_to(_local_destination(dst, self)).path

    def move_to_local(self, dst: FileSystemTarget | str | None = None) -> str:
        """Like :meth:`copy_to_local`, and this file is removed."""
        return self.move_to(_local_destination(dst, self)).path

    def copy_from_local(self, src: FileSystemTarget | str) -> str:
        """Copy the local file ``src`` (a path or a local target) to this file; returns
        :attr:`abspath`."""
        self.copy_from(_local_source(src))
        return self.abspath

    def move_from_local(self, src: FileSystemTarget | str) -> str:
        """Move the local file ``src`` to this file; returns :attr:`abspath`."""
        _local_source(src).move_to(self)
        return self.abspath

    def move_to(self, dst: FileSystemTarget | str) -> FileTarget:
        """Move this file to ``dst``: a rename within one file system, else copy and remove."""
        dst_file = _destination_file(dst, self.basename)
        if dst_file.fs is self.fs:
            if not self.exists():
                if self._is_dir_quietly():
                    raise self._is_a_directory("move")
                raise TargetError(f"cannot move {self.uri()}: it does not exist")
            dst_file._ensure_parent()
            dst_file._refuse_directory("write")
            dst_file._commit(self.path)
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
        """Whether the directory exists; a file in its place does not count."""
        return self.fs.isdir(self.path)

    def _is_a_file(self, action: str) -> TargetError:
        return TargetError(
            f"cannot {action} {self.uri()}: it is a file, and this is a directory target; "
            "remove the file, or make the output a file target"
        )

    def makedirs(self) -> None:
        """Create the directory and its missing parents."""
        st = self._stat_or_none()
        if st is not None and not st.is_dir:
            # checked first: some storages answer mkdir on a file with success
            raise self._is_a_file("create the directory")
        if st is None:
            self._make_directory(self.path)

    touch = makedirs

    def remove(self, recursive: bool = True, silent: bool = True) -> bool:
        """Remove the directory (and by default everything in it)."""
        try:
            self.fs.rmdir(self.path, recursive=recursive)
        except FileNotFoundError:
            if not silent:
                raise TargetError(f"cannot remove {self.uri()}: it does not exist") from None
            return False
        except OSError as err:
            if isinstance(err, NotADirectoryError) or self._is_file_quietly():
                raise self._is_a_file("remove") from err
            raise
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


class _TemporaryListings:
    """The temporary names in a directory, from one listing. A large directory (a
    workflow's 100000 outputs) is listed at most once every :attr:`reuse` seconds per
    process, not once for each of its targets; a small one on every call, unless the
    caller accepts a listing of the last :attr:`reuse` seconds whatever the size (the
    clean-up before each branch of a workflow runs: what a killed earlier run left was
    there before)."""

    large = 1000
    reuse = 60.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # per file system and directory: (when, the temporary names, whether it was large)
        self._listings: weakref.WeakKeyDictionary[
            Any, dict[str, tuple[float, set[str], bool]]] = weakref.WeakKeyDictionary()
        # the file system asked last and its listings (a weak key costs a new weak
        # reference on every look-up; the branches of a workflow ask for one file system)
        self._last: tuple[weakref.ref[Any], dict[str, tuple[float, set[str], bool]]] | None \
            = None

    def _of(self, fs: FileSystem) -> dict[str, tuple[float, set[str], bool]] | None:
        last = self._last
        if last is not None and last[0]() is fs:
            return last[1]
        try:
            listings = self._listings.setdefault(fs, {})
        except TypeError:  # a file system that cannot be weakly referenced: no reuse
            return None
        self._last = (weakref.ref(fs), listings)
        return listings

    def names(self, fs: FileSystem, directory: str, reuse_any: bool = False) -> set[str]:
        with self._lock:
            listings = self._of(fs)
            listed = listings.get(directory) if listings is not None else None
            if listed is not None and time.monotonic() - listed[0] < self.reuse and \
                    (reuse_any or listed[2]):
                return set(listed[1])
        names = fs.listdir(directory)
        temporary = {n for n in names if is_temporary_name(n)}
        large = len(names) >= self.large
        if (reuse_any or large) and listings is not None:
            with self._lock:
                listings[directory] = (time.monotonic(), temporary, large)
        return set(temporary)

    def forget(self, fs: FileSystem, directory: str, name: str) -> None:
        with self._lock:
            listings = self._of(fs)
            listed = listings.get(directory) if listings is not None else None
            if listed is not None:
                listed[1].discard(name)


_temporaries = _TemporaryListings()


def _as_target(value: FileSystemTarget | str, directory: bool = False) -> Any:
    if isinstance(value, FileSystemTarget):
        return value
    from law_core.targets.factory import target

    return target(value, type="d" if directory else "f")


#: temporary local targets whose paths were handed out; removed when the process ends
_kept_temporaries: list[FileSystemTarget] = []


def _local_destination(dst: FileSystemTarget | str | None, src: FileTarget) -> FileSystemTarget:
    """A local target for ``dst``: a path is a local path (an existing directory is
    copied into), None a new temporary local file."""
    from law_core.targets.local import LocalDirectoryTarget, LocalFileTarget

    if dst is None:
        suffix = posixpath.splitext(src.basename)[1]
        tmp = LocalFileTarget(is_tmp=suffix or True)
        _kept_temporaries.append(tmp)  # only its path is returned: kept until the exit
        return tmp
    if isinstance(dst, FileSystemTarget):
        if not dst.fs.is_local:
            raise TargetError(f"cannot copy {src.uri()} to {dst.uri()} as a local file: it "
                              "is not on the local file system; use copy_to()")
        return dst
    if os.path.isdir(os.path.expanduser(dst)):
        return LocalDirectoryTarget(dst)
    return LocalFileTarget(dst)


def _local_source(src: FileSystemTarget | str) -> FileTarget:
    from law_core.targets.local import LocalFileTarget

    if isinstance(src, FileSystemTarget):
        if not src.fs.is_local or not isinstance(src, FileTarget):
            raise TargetError(f"{src.uri()} is not a local file; use copy_from()")
        return src
    return LocalFileTarget(src)


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
