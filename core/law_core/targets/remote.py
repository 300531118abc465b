"""Remote file systems and their targets, built on a plugin's :class:`FileInterface`.

A :class:`RemoteFileSystem` turns paths into URIs on one or several bases and gives every
target operation the core promises (atomic uploads, copies between file systems,
collections from one listing, localize) on top of a handful of URI-level requests, with
failover between bases, retries (:mod:`law_core.targets.failover`) and a local cache
(:mod:`law_core.targets.cache`). A storage plugin subclasses it and names its interface::

    class GFALFileSystem(RemoteFileSystem):
        file_interface_cls = GFALFileInterface
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import posixpath
import re
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import IO, Any, ClassVar

from law_core.errors import TargetError
from law_core.settings import OptionSpec
from law_core.targets.cache import RemoteCache
from law_core.targets.existence import DATABASE_NAME, ExistenceCache
from law_core.targets.failover import OPERATION_ALIASES, OPERATIONS, Failover
from law_core.targets.file import DirectoryTarget, FileSystemTarget, FileTarget
from law_core.targets.file_interface import FileInterface
from law_core.targets.file_system import FileSystem, StatResult
from law_core.targets.pacing import RequestPacer
from law_core.targets.uri import join_uri, normalize_path, redact, split_uri

logger = logging.getLogger(__name__)

#: defaults of a remote file system's options (also those of ``[fs.NAME]`` sections)
DEFAULTS: dict[str, Any] = {
    "retries": 1,
    "retry_delay": 2.0,
    "random_base": False,
    "bad_base_time": 60.0,
    "validate_copy": True,
    "use_cache": False,
    "cache_root": os.path.join(tempfile.gettempdir(), f"law-core-cache-{os.getuid()}"),
    "cache_max_size": 10 * 1000**3,
    "cache_mtime_patience": 0.0,
    "exists_cache_lifetime": 0.0,
    "max_requests_per_second": 0.0,
}

_EXISTS_CACHE_LIFETIME = OptionSpec(
    "exists_cache_lifetime", "duration", 0.0,
    "how long a file seen on the storage counts as existing without asking again "
    "(0: always ask); see law_core.targets.existence", unit="s")


class RemoteFileSystem(FileSystem):
    """Files on a storage reached through one or several bases.

    ``base``: one base URI or several (a list, or a string with commas and brace
    expansion, ``root://door{1,2}.example//store``) tried in order for failover.
    ``base_<op>``: bases for one kind of operation (``stat``, ``listdir``, ``mkdir``,
    ``remove``, ``rmdir``, ``rename``, ``filecopy``), e.g. listings through XRootD and
    transfers through WebDAV. ``retries``, ``retry_delay``, ``random_base``,
    ``bad_base_time``: see :mod:`law_core.targets.failover`. ``validate_copy``: compare
    the size after every upload. ``cache``: a :class:`RemoteCache` (or its root
    directory) for downloads. ``exists_cache``: an
    :class:`~law_core.targets.existence.ExistenceCache` remembering which files exist
    across processes and runs. ``max_requests_per_second``: at most this many requests
    from this process (0: no limit; see :mod:`law_core.targets.pacing`). Other keyword
    arguments are the file interface's options.
    """

    #: the plugin's interface class, instantiated with the backend options
    file_interface_cls: ClassVar[type[FileInterface] | None] = None

    is_local = False

    def __init__(
        self,
        base: str | list[str] | tuple[str, ...],
        name: str | None = None,
        *,
        file_interface: FileInterface | None = None,
        retries: int = DEFAULTS["retries"],
        retry_delay: float = DEFAULTS["retry_delay"],
        random_base: bool = DEFAULTS["random_base"],
        bad_base_time: float = DEFAULTS["bad_base_time"],
        validate_copy: bool = DEFAULTS["validate_copy"],
        cache: RemoteCache | str | None = None,
        exists_cache: ExistenceCache | None = None,
        max_requests_per_second: float = DEFAULTS["max_requests_per_second"],
        **options: Any,
    ):
        op_bases = {}
        for key in [k for k in options if k.startswith("base_")]:
            op_bases[key[len("base_"):]] = options.pop(key)
        if file_interface is None:
            if self.file_interface_cls is None:
                raise TargetError(
                    f"{type(self).__name__} has no file_interface_cls; pass file_interface="
                )
            try:
                file_interface = self.file_interface_cls(**options)
            except TypeError as err:
                raise TargetError(f"{type(self).__name__}: {err}") from None
        elif options:
            raise TargetError(
                f"{type(self).__name__} got options {sorted(options)} for its file interface, "
                "but an interface instance was passed; configure that instance instead"
            )
        self.file_interface = file_interface
        self.failover = Failover(
            base, op_bases, retries=retries, retry_delay=retry_delay, random_base=random_base,
            bad_base_time=bad_base_time, is_transient=file_interface.is_transient,
        )
        super().__init__(name or f"{type(self).__name__}({redact(self.failover.bases[0])})")
        self.validate_copy = validate_copy
        self.cache = RemoteCache(cache) if isinstance(cache, str) else cache
        self.exists_cache = exists_cache if exists_cache and exists_cache.enabled else None
        self.pacer = RequestPacer(max_requests_per_second)
        self._no_direct_copy: set[tuple[str, str]] = set()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, base={redact(self.failover.bases[0])!r})"

    @property
    def base(self) -> list[str]:
        """The general bases, in configured order."""
        return list(self.failover.bases)

    @property
    def cache_key(self) -> str:
        """The directory of this file system in a cache shared with others."""
        digest = hashlib.sha1(self.failover.first_base("filecopy").encode()).hexdigest()[:8]
        return f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', self.name)[:40]}-{digest}"

    # URIs and targets

    def uri(self, path: str, op: str | None = None) -> str:
        """The URI of ``path`` on the first base (of operation ``op``)."""
        return join_uri(self.failover.first_base(op), normalize_path(path))

    def target(self, path: str, type: str = "f") -> FileSystemTarget:
        """A file (``"f"``) or directory (``"d"``) target at ``path`` on this file system."""
        if type not in ("f", "d"):
            raise TargetError(f"target type must be 'f' (file) or 'd' (directory), not {type!r}")
        return (RemoteFileTarget if type == "f" else RemoteDirectoryTarget)(path, fs=self)

    _instances: ClassVar[dict[tuple[type, str], RemoteFileSystem]] = {}
    _instances_lock = threading.Lock()

    @classmethod
    def for_base(cls, base: str) -> RemoteFileSystem:
        """The process-wide file system of this class for one server root (what
        ``law.target(uri)`` uses), created with default options on first use."""
        key = (cls, base)
        with cls._instances_lock:
            fs = cls._instances.get(key)
            if fs is None:
                fs = cls._instances[key] = cls(base, name=redact(base))
        return fs

    @classmethod
    def target_from_uri(cls, uri: str, type: str = "f") -> FileSystemTarget:
        base, path = split_uri(uri)
        return cls.for_base(base).target(path, type)

    # calls through the failover

    def _call(self, op: str, path: str, func: Any) -> Any:
        def attempt(base: str) -> Any:
            uri = join_uri(base, path)
            self.file_interface.check_credential(uri)
            self.pacer.wait()
            return func(uri)

        return self.failover.call(op, attempt, f"{op} of {path} on {self.name}")

    # primitives

    def stat(self, path: str) -> StatResult:
        return self._call("stat", normalize_path(path), self.file_interface.stat)

    def exists(self, path: str) -> bool:
        path = normalize_path(path)
        if self._seen_recently(path):
            return True
        found = self._call("stat", path, self.file_interface.exists)
        if found:
            self._seen(path)
        return found

    def isfile(self, path: str) -> bool:
        path = normalize_path(path)
        if self._seen_recently(path):
            return True
        try:
            is_file = not self.stat(path).is_dir
        except FileNotFoundError:
            return False
        if is_file:
            self._seen(path)
        return is_file

    def isdir(self, path: str) -> bool:
        try:
            return self.stat(path).is_dir
        except FileNotFoundError:
            return False

    def listdir(self, path: str) -> list[str]:
        path = normalize_path(path)
        names = self._call("listdir", path, self.file_interface.listdir)
        if self.exists_cache is not None:
            self.exists_cache.listed(self.cache_key, path, names)
        return names

    def existing_names(self, directory: str, names: Iterable[str]) -> set[str]:
        """As for every file system; names seen within ``exists_cache_lifetime`` need no
        listing, so a directory whose wanted files were all seen costs no request."""
        wanted = set(names)
        if self.exists_cache is not None:
            known = self.exists_cache.names(self.cache_key, normalize_path(directory))
            if wanted <= known:
                return wanted
        return super().existing_names(directory, wanted)

    def mkdir(self, path: str) -> None:
        self._call("mkdir", normalize_path(path), self.file_interface.mkdir)

    def remove(self, path: str) -> None:
        path = normalize_path(path)
        self._forget(path)
        self._call("remove", path, self.file_interface.remove)
        self._invalidate(path)

    def rmdir(self, path: str, recursive: bool = False) -> None:
        path = normalize_path(path)
        if path == "/" and recursive:
            raise TargetError(
                f"refusing to remove the whole of {self.uri('/')} recursively; remove the "
                "directories below it instead"
            )
        names = self.listdir(path)  # FileNotFoundError when missing, as promised
        if names and not recursive:
            raise OSError(errno.ENOTEMPTY, "directory not empty", self.uri(path))
        for name in names:
            child = posixpath.join(path, name)
            if self.isdir(child):
                self.rmdir(child, recursive=True)
            else:
                self.remove(child)
        self._call("rmdir", path, self.file_interface.rmdir)
        self._forget(path, recursive=True)

    def rename(self, src: str, dst: str) -> None:
        src, dst = normalize_path(src), normalize_path(dst)
        self._forget(src)

        def attempt(base: str) -> None:
            self.file_interface.check_credential(join_uri(base, src))
            self.pacer.wait()
            self.file_interface.rename(join_uri(base, src), join_uri(base, dst))

        self.failover.call("rename", attempt, f"rename of {src} to {dst} on {self.name}")
        self._invalidate(src)
        self._invalidate(dst)
        self._seen(dst)

    def put(self, local_path: str, path: str) -> None:
        path = normalize_path(path)
        src = "file://" + os.path.abspath(local_path)
        self._call("filecopy", path, lambda uri: self.file_interface.copy(src, uri))
        self._invalidate(path)
        if self.validate_copy:
            size, remote = os.path.getsize(local_path), self.stat(path).size
            if size != remote:
                raise TargetError(
                    f"upload of {local_path} to {self.uri(path)} is incomplete: {remote} of "
                    f"{size} bytes arrived; try again, or check the storage's free space"
                )

    def get(self, path: str, local_path: str) -> None:
        path = normalize_path(path)
        if self.cache is not None:
            with self.cached(path) as cached:
                shutil.copyfile(cached, local_path)
        else:
            self._download(path, local_path)

    def _download(self, path: str, local_path: str) -> None:
        dst = "file://" + os.path.abspath(local_path)

        def download(uri: str) -> None:
            if os.path.lexists(local_path):
                os.remove(local_path)  # a partial file of a failed attempt
            self.file_interface.copy(uri, dst)

        self._call("filecopy", path, download)

    def copy(self, src: str, dst: str) -> None:
        """A copy on the storage itself (third-party) when the backend can, else through
        a local temporary file."""
        src, dst = normalize_path(src), normalize_path(dst)
        if not self._direct_copy(self, src, dst):
            super().copy(src, dst)
        self._invalidate(dst)

    def transfer_to(self, path: str, dst_fs: FileSystem, dst_path: str) -> bool:
        path = normalize_path(path)
        if dst_fs.is_local:
            self.get(path, dst_path)
            return True
        if isinstance(dst_fs, RemoteFileSystem):
            return self._direct_copy(dst_fs, path, normalize_path(dst_path))
        return False

    def _direct_copy(self, dst_fs: RemoteFileSystem, src: str, dst: str) -> bool:
        """A copy from this storage to ``dst_fs`` without passing through this machine;
        False when the backends cannot (remembered, so it is asked once)."""
        if type(dst_fs.file_interface) is not type(self.file_interface):
            return False
        pair = (self.failover.first_base("filecopy"), dst_fs.failover.first_base("filecopy"))
        if pair in self._no_direct_copy:
            return False
        # the destination's bases fail over; the source is read from its best base
        src_uri = join_uri(self.failover.preferred("filecopy"), src)
        self.file_interface.check_credential(src_uri)
        try:
            dst_fs._call("filecopy", dst,
                         lambda dst_uri: self.file_interface.copy(src_uri, dst_uri))
        except OSError as err:
            if err.errno != errno.ENOTSUP:
                raise
            logger.debug("no direct copy from %s to %s: %s", *map(redact, (*pair, err)))
            self._no_direct_copy.add(pair)
            return False
        dst_fs._seen(dst)
        return True

    # the cache

    @contextmanager
    def cached(self, path: str) -> Iterator[str]:
        """The local path of an up-to-date cached copy of ``path`` (kept during the
        block); a TargetError when this file system has no cache."""
        if self.cache is None:
            raise TargetError(f"{self.name} has no cache; set use_cache = true in its config")
        path = normalize_path(path)
        with self.cache.use(self.cache_key, path, lambda: self.stat(path),
                            lambda local: self._download(path, local)) as local:
            yield local

    def _invalidate(self, path: str) -> None:
        """``path`` changed: its downloaded copy is outdated, and until it is seen again
        it is not known to exist."""
        if self.cache is not None:
            self.cache.invalidate(self.cache_key, path)
        self._forget(path)

    # the existence cache

    def _seen_recently(self, path: str) -> bool:
        return self.exists_cache is not None and self.exists_cache.exists(self.cache_key, path)

    def _seen(self, path: str) -> None:
        if self.exists_cache is not None:
            self.exists_cache.seen(self.cache_key, path)

    def _forget(self, path: str, recursive: bool = False) -> None:
        if self.exists_cache is not None:
            self.exists_cache.forget(self.cache_key, path, recursive=recursive)

    # configuration

    @classmethod
    def option_kinds(cls) -> dict[str, str | OptionSpec]:
        """Every option a ``[fs.NAME]`` section may set for this class: name -> kind, or
        the declared option of one of the file interface's settings."""
        kinds = {
            "base": "bases", "retries": "int", "retry_delay": "float", "random_base": "bool",
            "bad_base_time": "float", "validate_copy": "bool", "use_cache": "bool",
            "cache_root": "str", "cache_max_size": "size", "cache_mtime_patience": "float",
            "exists_cache_lifetime": _EXISTS_CACHE_LIFETIME,
            "max_requests_per_second": "float",
        }
        for op in (*OPERATIONS, *OPERATION_ALIASES):
            kinds[f"base_{op}"] = "bases"
        if cls.file_interface_cls is not None:
            kinds.update(cls.file_interface_cls.option_kinds())
        return kinds

    @classmethod
    def from_options(cls, name: str, options: dict[str, Any]) -> RemoteFileSystem:
        """A file system from parsed config options (see :mod:`law_core.targets.named`)."""
        options = dict(options)
        use_cache = options.pop("use_cache", DEFAULTS["use_cache"])
        cache_options = {k: options.pop(k, DEFAULTS[k]) for k in
                         ("cache_root", "cache_max_size", "cache_mtime_patience")}
        cache = None
        if use_cache:
            cache = RemoteCache(cache_options["cache_root"], cache_options["cache_max_size"],
                                cache_options["cache_mtime_patience"])
        lifetime = options.pop("exists_cache_lifetime", DEFAULTS["exists_cache_lifetime"])
        exists_cache = None
        if lifetime:
            exists_cache = ExistenceCache(
                os.path.join(cache_options["cache_root"], DATABASE_NAME), lifetime)
        base = options.pop("base", None)
        if not base:
            raise TargetError(f"file system '{name}' has no base")
        return cls(base, name=name, cache=cache, exists_cache=exists_cache, **options)


def _resolve_fs(fs: RemoteFileSystem | str) -> RemoteFileSystem:
    if isinstance(fs, str):
        from law_core.targets.named import file_system

        resolved = file_system(fs)
        if not isinstance(resolved, RemoteFileSystem):
            raise TargetError(f"file system '{fs}' is not a remote file system")
        return resolved
    return fs


class _RemoteTarget(FileSystemTarget):
    def __init__(self, path: str, fs: RemoteFileSystem | str):
        super().__init__(normalize_path(path), _resolve_fs(fs))

    def _file_type(self) -> type[FileTarget]:
        return RemoteFileTarget

    def _directory_type(self) -> type[DirectoryTarget]:
        return RemoteDirectoryTarget


class RemoteFileTarget(_RemoteTarget, FileTarget):
    """A file on a remote file system (``fs`` an instance or the name of a configured
    one): the same API as a local file."""

    fs: RemoteFileSystem

    @contextmanager
    def localize(self, mode: str = "r") -> Iterator[FileTarget]:
        """As for every file; reading goes through the file system's cache when it has
        one (the cached copy itself is yielded: read it, do not change it)."""
        if mode != "r" or self.fs.cache is None:
            with super().localize(mode) as local:
                yield local
            return
        from law_core.targets.local import LocalFileTarget

        try:
            with self.fs.cached(self.path) as cached:
                yield LocalFileTarget(cached)
        except FileNotFoundError:
            raise TargetError(f"cannot localize {self.uri()}: it does not exist") from None

    def open(self, mode: str = "r", **kwargs: Any) -> IO[Any]:
        """As for every file; a file read is a local copy opened directly (it stays
        readable after its temporary directory is gone), not read into memory."""
        if "r" not in mode:
            return super().open(mode, **kwargs)
        with self.localize("r") as local:
            return open(local.path, mode, **kwargs)  # noqa: SIM115


class RemoteDirectoryTarget(_RemoteTarget, DirectoryTarget):
    """A directory on a remote file system."""
