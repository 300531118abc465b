"""The local cache of remote files: download once, read many times, shared by processes.

Layout: ``ROOT/KEY/HASH-NAME`` for the copy of a remote file (``KEY`` names the file
system, ``HASH`` the remote path, ``NAME`` is the remote basename (its last 100 bytes) so
that extensions still choose formatters), ``ROOT/KEY/HASH-NAME.lock`` beside it. A cached
copy carries the remote file's mtime as its own mtime, and its last use as its atime.

- Validation: a copy is used when its size and mtime match the remote ``stat`` (within
  ``mtime_patience`` seconds); otherwise it is downloaded again.
- Locking (``fcntl.flock``): a download holds the entry's lock exclusively, so parallel
  workers wanting the same file wait for the one download instead of doing their own;
  users of a copy hold it shared, so it is never evicted or replaced under them. Downloads
  go to a temporary name and are renamed into place, so nobody reads a half-written copy.
- Size limit: before a download, the least recently used copies that are not in use are
  evicted until the new file fits in ``max_size`` bytes (0: no limit). A file larger than
  the limit is not cached at all.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from law_core.errors import TargetError
from law_core.targets.file_system import StatResult
from law_core.targets.temporary import (
    TMP_PREFIX,
    name_tail,
    shorten_name,
    temporary_sibling_name,
)

logger = logging.getLogger(__name__)

LOCK_SUFFIX = ".lock"


def _lock(path: str, exclusive: bool, blocking: bool = True) -> int | None:
    """A flock on ``path`` (created when missing); the file descriptor, or None when
    ``blocking`` is false and someone else holds it. Robust against the lock file being
    removed (and re-created) while waiting for it."""
    mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | (0 if blocking else fcntl.LOCK_NB)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, mode)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        try:
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)  # the file was removed while we waited: lock the new one


class RemoteCache:
    """A directory of local copies of remote files (see the module docstring)."""

    def __init__(self, root: str, max_size: int = 0, mtime_patience: float = 0.0):
        self.root = os.path.abspath(os.path.expandvars(os.path.expanduser(root)))
        self.max_size = int(max_size)
        self.mtime_patience = float(mtime_patience)
        # entries this process holds shared (re-entrant use by nested localize calls)
        self._held: dict[str, int] = {}
        self._held_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RemoteCache({self.root!r}, max_size={self.max_size})"

    # paths

    def entry_path(self, key: str, path: str) -> str:
        """Where the copy of remote ``path`` of file system ``key`` lives."""
        digest = hashlib.sha1(path.encode("utf-8", "surrogateescape")).hexdigest()[:20]
        # the end of the name, for its extension; in bytes, as file systems count them
        name = name_tail(path.rstrip("/").rsplit("/", 1)[-1], 100) or "root"
        return os.path.join(self.root, key, f"{digest}-{name}")

    def _makedirs(self, directory: str) -> None:
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as err:
            raise TargetError(
                f"cannot create the cache directory {directory}: {err.strerror}; set "
                "cache_root to a writable directory, or use_cache = false"
            ) from err

    # use

    def is_valid(self, entry: str, remote: StatResult) -> bool:
        """Whether the copy at ``entry`` matches the remote file's size and mtime."""
        try:
            st = os.stat(entry)
        except FileNotFoundError:
            return False
        if st.st_size != remote.size:
            return False
        if self.mtime_patience < 0:
            return True
        return abs(st.st_mtime - remote.mtime) <= max(self.mtime_patience, 1e-3)

    @contextmanager
    def use(
        self,
        key: str,
        path: str,
        remote_stat: Callable[[], StatResult],
        fetch: Callable[[str], None],
    ) -> Iterator[str]:
        """The local path of an up-to-date copy of remote ``path``, valid in the block.

        ``remote_stat()`` asks the storage for size and mtime (FileNotFoundError when the
        file is gone), ``fetch(local_path)`` downloads it. The copy is shared-locked
        during the block.
        """
        entry = self.entry_path(key, path)
        with self._held_lock:
            held = self._held.get(entry, 0)
            if held:
                self._held[entry] = held + 1
        if held:
            # this process already uses the entry (nested use): an exclusive lock would
            # wait for ourselves, so use it when valid, else a private download
            try:
                if self.is_valid(entry, remote_stat()):
                    yield entry
                else:
                    yield from self._uncached(path, fetch)
            finally:
                self._release(entry, None)
            return

        self._makedirs(os.path.dirname(entry))
        fd = None
        try:
            while True:
                fd = _lock(entry + LOCK_SUFFIX, exclusive=True)
                try:
                    remote = remote_stat()
                except FileNotFoundError:
                    if os.path.exists(entry):
                        os.remove(entry)  # gone remotely: so is its copy
                    raise
                if not self.is_valid(entry, remote):
                    if self.max_size and remote.size > self.max_size:
                        os.close(fd)
                        fd = None
                        logger.debug("%s is larger than the cache, not cached", path)
                        yield from self._uncached(path, fetch)
                        return
                    self._download(entry, remote, fetch)
                else:
                    self._touch(entry, remote.mtime)
                # shared from here on: readers of the same file do not wait for each other
                fcntl.flock(fd, fcntl.LOCK_SH)
                if os.path.exists(entry) and os.path.exists(entry + LOCK_SUFFIX) and \
                        os.fstat(fd).st_ino == os.stat(entry + LOCK_SUFFIX).st_ino:
                    break
                os.close(fd)  # evicted in the instant the lock was converted: again
                fd = None
            with self._held_lock:
                self._held[entry] = 1
            try:
                yield entry
            finally:
                self._release(entry, fd)
                fd = None
        finally:
            if fd is not None:
                os.close(fd)

    def _release(self, entry: str, fd: int | None) -> None:
        with self._held_lock:
            count = self._held.get(entry, 1) - 1
            if count <= 0:
                self._held.pop(entry, None)
            else:
                self._held[entry] = count
        if fd is not None:
            os.close(fd)

    @staticmethod
    def _uncached(path: str, fetch: Callable[[str], None]) -> Iterator[str]:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="law-core-uncached-") as tmp:
            local = os.path.join(tmp, shorten_name(path.rstrip("/").rsplit("/", 1)[-1] or "file"))
            fetch(local)
            yield local

    def _download(self, entry: str, remote: StatResult, fetch: Callable[[str], None]) -> None:
        directory, name = os.path.split(entry)
        if os.path.exists(entry):
            os.remove(entry)
        self.allocate(remote.size, keep=entry)
        tmp = os.path.join(directory, temporary_sibling_name(name))
        try:
            fetch(tmp)
            self._touch(tmp, remote.mtime)
            os.chmod(tmp, 0o444)  # a cached copy is read, never written through localize
            os.replace(tmp, entry)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)

    @staticmethod
    def _touch(entry: str, remote_mtime: float) -> None:
        """Record a use (atime now) and the remote mtime (as mtime)."""
        os.utime(entry, ns=(time.time_ns(), int(round(remote_mtime * 1e9))))

    def invalidate(self, key: str, path: str) -> None:
        """Forget the copy of ``path`` (after the remote file was written or removed)."""
        entry = self.entry_path(key, path)
        if not os.path.exists(entry):
            return
        with self._held_lock:
            if entry in self._held:
                return  # in use by this process; validation catches the change later
        fd = _lock(entry + LOCK_SUFFIX, exclusive=True)
        try:
            if os.path.exists(entry):
                os.remove(entry)
        finally:
            os.close(fd)  # type: ignore[arg-type]

    # size limit

    def entries(self) -> list[tuple[str, os.stat_result]]:
        """Every cached copy with its stat, of every file system."""
        found = []
        try:
            keys = list(os.scandir(self.root))
        except FileNotFoundError:
            return []
        for key_dir in keys:
            if not key_dir.is_dir(follow_symlinks=False):
                continue
            for item in os.scandir(key_dir.path):
                name = item.name
                if name.endswith(LOCK_SUFFIX) or name.startswith(TMP_PREFIX):
                    continue
                try:
                    found.append((item.path, item.stat(follow_symlinks=False)))
                except FileNotFoundError:
                    continue
        return found

    def size(self) -> int:
        """Bytes used by cached copies."""
        return sum(st.st_size for _, st in self.entries())

    def allocate(self, size: int, keep: str | None = None) -> None:
        """Evict least recently used copies not in use until ``size`` more bytes fit."""
        if not self.max_size:
            return
        self._makedirs(self.root)
        global_fd = _lock(os.path.join(self.root, ".allocate" + LOCK_SUFFIX), exclusive=True)
        try:
            entries = self.entries()
            used = sum(st.st_size for _, st in entries)
            if used + size <= self.max_size:
                return
            for path, st in sorted(entries, key=lambda e: e[1].st_atime_ns):
                if used + size <= self.max_size:
                    break
                if path != keep and self._evict(path):
                    used -= st.st_size
            if used + size > self.max_size:
                logger.debug("cache %s over its limit: the copies left are in use", self.root)
        finally:
            os.close(global_fd)  # type: ignore[arg-type]

    def _evict(self, entry: str) -> bool:
        with self._held_lock:
            if entry in self._held:
                return False
        fd = _lock(entry + LOCK_SUFFIX, exclusive=True, blocking=False)
        if fd is None:
            return False  # in use by another process
        try:
            os.remove(entry)
            os.remove(entry + LOCK_SUFFIX)
        except FileNotFoundError:
            pass
        finally:
            os.close(fd)
        logger.debug("evicted %s from the cache", entry)
        return True

    def clear(self) -> None:
        """Remove every copy that is not in use."""
        for path, _ in self.entries():
            self._evict(path)

    def remove_root(self) -> None:
        """Remove the whole cache directory (when no process uses it)."""
        try:
            shutil.rmtree(self.root)
        except OSError as err:
            if err.errno != errno.ENOENT:
                raise
