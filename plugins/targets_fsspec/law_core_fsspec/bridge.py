"""``law://``: law-core file systems for fsspec readers (uproot, pandas, awkward, dask).

``law://NAME/path/file.root`` is the file ``/path/file.root`` on the file system of the
``[fs.NAME]`` config section, reached through law-core: its bases with failover, its
retries, its cache. fsspec finds :class:`LawFileSystem` through the ``fsspec.specs`` entry
point, so ``uproot.open("law://grid/ntuples/f.root")`` and
``pandas.read_csv("law://grid/tables/t.csv")`` work without importing this plugin.

Readers get a local copy of the file: the file system's cache entry when it has a cache
(``use_cache = true``), else a download into a temporary file. Opening a file checks the
copy against the storage (one stat); readers that ask for byte ranges (``cat_file``, as
uproot does, hundreds of times per file) reuse it for ``check_interval`` seconds before
checking again. At most ``max_copies`` copies stay open per process (their disk space is
freed when they are dropped). Writing (``"wb"``) goes to a local temporary file that
replaces the target atomically when it is closed without error.

Answers are honest: ``exists`` is False only when the storage said the file is missing;
a storage that could not be asked raises (fsspec's default would say False).
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Any

from fsspec.spec import AbstractFileSystem
from fsspec.utils import isfilelike

from law_core.plugin import (
    FileSystemTarget,
    LawCoreError,
    StatResult,
    TargetError,
    file_system,
    normalize_path,
)


class LawFileSystem(AbstractFileSystem):
    """fsspec's view of law-core's named file systems (see the module docstring).

    ``check_interval``: seconds a local copy serves byte-range reads before it is checked
    against the storage again; ``max_copies``: local copies kept open per process.
    """

    protocol = ("law",)
    root_marker = ""

    def __init__(self, check_interval: float = 10.0, max_copies: int = 16,
                 **storage_options: Any):
        if storage_options:
            raise TypeError(
                f"law:// takes the options check_interval and max_copies, not "
                f"{sorted(storage_options)}; the storage's own options belong in its "
                "[fs.NAME] config section"
            )
        super().__init__()
        self.check_interval = float(check_interval)
        self.copies = _LocalCopies(int(max_copies))

    # law:// paths

    def resolve(self, path: str) -> tuple[Any, str, str]:
        """``(file system, path on it, fsspec name)`` for ``law://NAME/path``."""
        stripped = self._strip_protocol(path)
        name, _, rest = stripped.partition("/")
        if not name:
            raise ValueError(
                f"'{path}' names no file system; law:// URLs look like law://NAME/path, "
                "NAME a [fs.NAME] section of the law-core config"
            )
        fs = file_system(name)
        rel = normalize_path(rest)
        return fs, rel, name + rel.rstrip("/")

    @staticmethod
    def _entry(name: str, st: StatResult) -> dict[str, Any]:
        return {"name": name, "size": st.size,
                "type": "directory" if st.is_dir else "file", "mtime": st.mtime}

    # metadata

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        fs, rel, name = self.resolve(path)
        return self._entry(name, fs.stat(rel))

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        """The directory's entries (one listing); with ``detail``, one stat per entry."""
        fs, rel, name = self.resolve(path)
        try:
            names = sorted(fs.listdir(rel))
        except NotADirectoryError:
            entry = self._entry(name, fs.stat(rel))
            return [entry if detail else name]
        children = [f"{name}/{n}" for n in names]
        if not detail:
            return children
        return [self._entry(c, fs.stat(f"{rel.rstrip('/')}/{n}"))
                for c, n in zip(children, names)]

    def exists(self, path: str, **kwargs: Any) -> bool:
        """Whether ``path`` exists; an error when the storage could not be asked."""
        try:
            self.info(path)
        except (FileNotFoundError, NotADirectoryError):
            return False
        return True

    def isfile(self, path: str) -> bool:
        try:
            return self.info(path)["type"] == "file"
        except (FileNotFoundError, NotADirectoryError):
            return False

    def isdir(self, path: str) -> bool:
        try:
            return self.info(path)["type"] == "directory"
        except (FileNotFoundError, NotADirectoryError):
            return False

    def modified(self, path: str) -> datetime:
        return datetime.fromtimestamp(self.info(path)["mtime"], tz=timezone.utc)

    def invalidate_cache(self, path: str | None = None) -> None:
        """Drop the local copies (of ``path``, or all): the next read fetches again."""
        if path is None:
            self.copies.clear()
        else:
            fs, rel, _ = self.resolve(path)
            self.copies.drop(fs.uri(rel))

    # changes

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        fs, rel, _ = self.resolve(path)
        if not create_parents and rel != "/":
            parent = rel.rsplit("/", 1)[0] or "/"
            if not fs.stat(parent).is_dir:
                raise NotADirectoryError(f"{path}: its parent is a file")
        fs.mkdir(rel)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        if not exist_ok and self.exists(path):
            raise FileExistsError(path)
        fs, rel, _ = self.resolve(path)
        fs.mkdir(rel)

    def rm_file(self, path: str) -> None:
        fs, rel, _ = self.resolve(path)
        fs.remove(rel)

    _rm = rm_file

    def rmdir(self, path: str) -> None:
        fs, rel, _ = self.resolve(path)
        fs.rmdir(rel)

    def rm(self, path: str | list[str], recursive: bool = False,
           maxdepth: int | None = None) -> None:
        """Remove files, and directories: empty ones, or with their contents when
        ``recursive`` (``maxdepth`` is not supported)."""
        if maxdepth is not None:
            raise NotImplementedError("law:// removes whole directories; maxdepth is not "
                                      "supported")
        for one in [path] if isinstance(path, str) else path:
            fs, rel, _ = self.resolve(one)
            if fs.stat(rel).is_dir:
                fs.rmdir(rel, recursive=recursive)
            else:
                fs.remove(rel)

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        """A copy through law-core (on the storage when the backends can), atomic."""
        src, dst = self._file_target(path1), self._target(path2)
        src.copy_to(dst)

    def mv(self, path1: str, path2: str, recursive: bool = False,
           maxdepth: int | None = None, **kwargs: Any) -> None:
        """A rename within one file system, else a copy and a removal; directories as
        fsspec moves them (copies and removals)."""
        fs, rel, _ = self.resolve(path1)
        if fs.stat(rel).is_dir:
            super().mv(path1, path2, recursive=recursive, maxdepth=maxdepth, **kwargs)
            return
        self._file_target(path1).move_to(self._target(path2))

    def put_file(self, lpath: str, rpath: str, callback: Any = None, mode: str = "overwrite",
                 **kwargs: Any) -> None:
        """An atomic upload of the local file ``lpath``."""
        if os.path.isdir(lpath):
            self.makedirs(rpath, exist_ok=True)
            return
        self._target(rpath).copy_from(os.path.abspath(lpath))

    def get_file(self, rpath: str, lpath: Any, callback: Any = None, outfile: Any = None,
                 **kwargs: Any) -> None:
        """A download (through the file system's cache when it has one) to ``lpath``."""
        if isfilelike(lpath):
            with self.open(rpath, "rb") as f:
                shutil.copyfileobj(f, lpath)
            return
        fs, rel, _ = self.resolve(rpath)
        if fs.stat(rel).is_dir:
            os.makedirs(lpath, exist_ok=True)
            return
        fs.target(rel).copy_to(os.path.abspath(lpath))

    def _target(self, path: str) -> FileSystemTarget:
        fs, rel, _ = self.resolve(path)
        return fs.target(rel)

    def _file_target(self, path: str) -> FileSystemTarget:
        """The file target of an existing file: FileNotFoundError, IsADirectoryError as
        fsspec callers expect them."""
        fs, rel, _ = self.resolve(path)
        if fs.stat(rel).is_dir:
            raise IsADirectoryError(path)
        return fs.target(rel)

    # reading and writing

    def _open(self, path: str, mode: str = "rb", block_size: Any = None,
              autocommit: bool = True, cache_options: Any = None, **kwargs: Any) -> Any:
        if mode == "rb":
            fs, rel, _ = self.resolve(path)
            fd = self.copies.open(fs, rel, max_age=0.0)
            return io.BufferedReader(_PreadFile(fd, path))
        if mode in ("wb", "xb"):
            if not autocommit:
                raise NotImplementedError(
                    "law:// writes each file atomically when it is closed; fsspec "
                    "transactions (autocommit=False) are not supported")
            if mode == "xb" and self.exists(path):
                raise FileExistsError(path)
            return _AtomicUpload(self._target(path))
        raise ValueError(f"law:// files are read ('rb') or written whole ('wb'), not {mode!r}")

    def cat_file(self, path: str, start: int | None = None, end: int | None = None,
                 **kwargs: Any) -> bytes:
        """Bytes ``start:end`` of ``path`` from its local copy (fetched on first use,
        checked again after ``check_interval`` seconds)."""
        fs, rel, _ = self.resolve(path)
        fd = self.copies.open(fs, rel, max_age=self.check_interval)
        try:
            size = os.fstat(fd).st_size
            begin = 0 if start is None else (max(size + start, 0) if start < 0 else start)
            stop = size if end is None else (max(size + end, 0) if end < 0 else min(end, size))
            return _pread_all(fd, max(stop - begin, 0), begin)
        finally:
            os.close(fd)


def fsspec_url(target: FileSystemTarget) -> str:
    """The URL an fsspec reader opens ``target`` with: ``law://NAME/path`` on a configured
    file system (``[fs.NAME]``), the local path of a local file, the native URL of a target
    on an fsspec file system (``memory://...``, ``s3://...``, without law-core's failover)."""
    fs = target.fs
    if getattr(fs, "is_local", False):
        return os.path.abspath(target.path)
    name = getattr(fs, "name", "")
    try:
        named = file_system(name) if name else None
    except LawCoreError:
        named = None
    if named is fs:
        return f"law://{name}{normalize_path(target.path)}"
    from law_core_fsspec.file_interface import FsspecFileInterface

    if isinstance(getattr(fs, "file_interface", None), FsspecFileInterface):
        return target.uri()
    raise TargetError(
        f"{target.uri()} is on a file system without a name in the config, which fsspec "
        "readers cannot reach; configure its storage as a [fs.NAME] section and make the "
        "target there (law.target('fs.NAME:/path')): its URL is then law://NAME/path"
    )


# local copies


def _pread_all(fd: int, size: int, offset: int) -> bytes:
    chunks, done = [], 0
    while done < size:
        chunk = os.pread(fd, size - done, offset + done)
        if not chunk:
            break
        chunks.append(chunk)
        done += len(chunk)
    return b"".join(chunks)


class _Copy:
    __slots__ = ("checked", "fd", "version")

    def __init__(self, fd: int, version: tuple[int, float], checked: float):
        self.fd, self.version, self.checked = fd, version, checked


class _LocalCopies:
    """Open local copies of remote files, by URI, least recently used dropped first.

    A copy is an open file descriptor: its file may be removed (a temporary file, at once;
    a cache entry, when the cache evicts it) and stays readable while it is open."""

    def __init__(self, max_copies: int):
        self.max_copies = max(1, max_copies)
        self._copies: OrderedDict[str, _Copy] = OrderedDict()
        self._lock = threading.Lock()

    def open(self, fs: Any, path: str, max_age: float) -> int:
        """A new descriptor (the caller closes it) of an up-to-date copy of ``path``:
        a copy checked less than ``max_age`` seconds ago is used as it is."""
        key = fs.uri(path)
        fd = self._dup(key, lambda c: time.monotonic() - c.checked < max_age)
        if fd is not None:
            return fd
        st = fs.stat(path)  # FileNotFoundError when it is gone
        if st.is_dir:
            raise IsADirectoryError(f"{key} is a directory")
        version = (st.size, st.mtime)
        fd = self._dup(key, lambda c: c.version == version, touch=True)
        if fd is not None:
            return fd
        copy = _Copy(_fetch(fs, path), version, time.monotonic())
        with self._lock:
            old = self._copies.pop(key, None)
            if old is not None:
                os.close(old.fd)
            self._copies[key] = copy
            while len(self._copies) > self.max_copies:
                os.close(self._copies.popitem(last=False)[1].fd)
            return os.dup(copy.fd)

    def _dup(self, key: str, usable: Any, touch: bool = False) -> int | None:
        with self._lock:
            copy = self._copies.get(key)
            if copy is None or not usable(copy):
                return None
            self._copies.move_to_end(key)
            if touch:
                copy.checked = time.monotonic()
            return os.dup(copy.fd)

    def drop(self, key: str) -> None:
        with self._lock:
            copy = self._copies.pop(key, None)
            if copy is not None:
                os.close(copy.fd)

    def clear(self) -> None:
        with self._lock:
            while self._copies:
                os.close(self._copies.popitem()[1].fd)


def _fetch(fs: Any, path: str) -> int:
    """An open descriptor of a fresh local copy of ``path``: the cache entry, or a
    download whose file is removed at once (the descriptor keeps it)."""
    if fs.cache is not None:
        with fs.cached(path) as local:
            return os.open(local, os.O_RDONLY)
    tmp = tempfile.mkdtemp(prefix="law-core-fsspec-")
    try:
        local = os.path.join(tmp, "copy")
        fs.get(path, local)
        return os.open(local, os.O_RDONLY)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class _PreadFile(io.RawIOBase):
    """A read-only file on a descriptor of its own, read with ``pread`` (no offset
    shared with other readers of the same copy)."""

    def __init__(self, fd: int, name: str):
        self._fd, self.name, self._pos = fd, name, 0
        self.size = os.fstat(fd).st_size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = os.pread(self._fd, len(buffer), self._pos)
        buffer[:len(data)] = data
        self._pos += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()


class _AtomicUpload(io.BufferedRandom):
    """A local temporary file (readable and seekable, for writers that go back) that
    replaces the target atomically when closed; an exception in its own ``with`` block,
    :meth:`discard`, or dropping it unclosed discards it. (``fsspec.open()``'s OpenFile
    closes its files however its block ends, so there, as with every fsspec file system,
    what was written is kept.)"""

    def __init__(self, target: FileSystemTarget):
        self._localized = target.localize("w")
        local = self._localized.__enter__()
        try:
            super().__init__(io.FileIO(local.path, "w+"))
        except BaseException as err:
            self._localized.__exit__(type(err), err, err.__traceback__)
            raise
        self._done = False

    def close(self) -> None:
        self._finish(None)

    def discard(self) -> None:
        """Drop what was written; the target stays as it was."""
        self._finish(RuntimeError("discarded"))

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self._finish(exc if exc_type is not None else None)

    def _finish(self, error: BaseException | None) -> None:
        if getattr(self, "_done", True):
            return
        self._done = True
        try:
            super().close()
        except BaseException as err:  # the last data could not be written: discard
            self._discard(err)
            raise
        if error is None:
            self._localized.__exit__(None, None, None)
        else:
            self._discard(error)

    def _discard(self, error: BaseException) -> None:
        try:
            self._localized.__exit__(type(error), error, error.__traceback__)
        except BaseException:
            pass  # the error that counts is the caller's

    def __del__(self) -> None:
        # dropped without close(): discarded, never committed
        if not getattr(self, "_done", True):
            self._finish(RuntimeError("not closed"))
