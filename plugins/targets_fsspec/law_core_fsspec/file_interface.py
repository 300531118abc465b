"""The file interface on fsspec: law-core's URI-level primitives on any fsspec file system.

A URI's scheme is the fsspec protocol (``memory://bucket/x``, ``s3://bucket/x``,
``sftp://host/x``); its ``scheme://authority`` part picks one fsspec file system instance,
made by ``fsspec.core.url_to_fs`` with the storage options of
:class:`~law_core_fsspec.settings.FsspecSettings` (so ``sftp://host`` and ``ftp://host:port``
reach their host).

=========  ==============================================================================
stat       ``info`` (after ``invalidate_cache``: fsspec's listing cache never answers)
listdir    ``ls(detail=True)``: names only, without the directory itself
mkdir      ``makedirs(exist_ok=True)``
remove     ``info`` (a directory is refused), ``rm_file``
rmdir      ``ls`` (refused when not empty), ``rmdir``
rename     ``info`` of the destination (a directory is refused); the file system's own
           ``mv`` when it has one (a rename: local, sftp, ftp), else ``cp_file`` and
           ``rm_file`` (object stores have no rename)
copy       ``put_file`` (upload), ``get_file`` (download), ``cp_file`` between two URIs of
           one fsspec instance; ENOTSUP between instances (the core streams through here)
=========  ==============================================================================

Errors follow :mod:`law_core.targets.file_interface`. fsspec implementations raise the
builtin ``OSError`` kinds for answers, but some hide a failure to reach the storage inside
one: fsspec's http file system raises ``FileNotFoundError`` *from* the connection error
when a server is down. Such an error is "could not ask" here (a ``ConnectionError``), as
are HTTP statuses 5xx, 408 and 429 and errors named like connection failures and timeouts;
HTTP 401/403 are ``PermissionError``, 404/410 ``FileNotFoundError``, other 4xx ``EINVAL``
(refused as asked).
"""

from __future__ import annotations

import errno
import json
import os
import posixpath
import re
import shutil
import threading
from collections.abc import Callable
from typing import Any, ClassVar

from law_core.plugin import (
    FileInterface,
    LawCoreError,
    PluginError,
    StatResult,
    TargetError,
    get_config,
    is_definitive,
    redact,
    scheme_of,
)
from law_core_fsspec.mtime import mtime_of
from law_core_fsspec.settings import FsspecSettings, json_object

_LOCAL = "file"

_PREFIX = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://[^/?#]*)")

#: the errno of each builtin answer, for errors raised without one
_ERRNO_OF = (
    (FileNotFoundError, errno.ENOENT), (FileExistsError, errno.EEXIST),
    (NotADirectoryError, errno.ENOTDIR), (IsADirectoryError, errno.EISDIR),
    (PermissionError, errno.EACCES),
)

#: what names of exception classes say about a failure to reach the storage (aiohttp's
#: ServerDisconnectedError, botocore's EndpointConnectionError, httpx's ReadTimeout, ...)
_TRANSPORT_NAMES = re.compile(r"Connect|Disconnect|Timeout|Unreachable")

#: errors that are bugs or configuration, raised as they are
_NOT_ABOUT_THE_STORAGE = (LawCoreError, ImportError, TypeError, AttributeError, NameError,
                          NotImplementedError)


class _Secret:
    """A credential in ``options``: shown as ``***``."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value

    def __repr__(self) -> str:
        return "'***'"

    __str__ = __repr__


def _local_path(uri: str) -> str:
    path = uri[len("file://"):]
    return path[len("localhost"):] if path.startswith("localhost/") else path


def _http_status(err: BaseException) -> int | None:
    """The HTTP status an error carries (aiohttp, requests, httpx, botocore), if any."""
    status = getattr(err, "status", None)
    if isinstance(status, int):
        return status
    response = getattr(err, "response", None)
    status = getattr(response, "status_code", None)
    if isinstance(status, int):
        return status
    if isinstance(response, dict):  # botocore's ClientError
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if isinstance(status, int):
            return status
    return None


def _is_transport_failure(err: BaseException) -> bool:
    """Whether ``err`` itself says that the storage could not be asked."""
    status = _http_status(err)
    if status is not None:
        return status >= 500 or status in (408, 429)
    if isinstance(err, OSError):
        return not is_definitive(err)
    return bool(_TRANSPORT_NAMES.search(type(err).__name__))


def _causes(err: BaseException) -> list[BaseException]:
    """What ``err`` was raised from (``raise ... from``), nearest first."""
    causes: list[BaseException] = []
    cause = err.__cause__
    while cause is not None and len(causes) < 10:
        causes.append(cause)
        cause = cause.__cause__
    return causes


class FsspecFileInterface(FileInterface):
    """Single requests on URIs of any fsspec protocol (see the module docstring)."""

    schemes: ClassVar[tuple[str, ...]] = ()  # any protocol fsspec knows

    settings_cls: ClassVar[type[FsspecSettings]] = FsspecSettings

    def __init__(self, **options: Any):
        for name in ("storage_options", "credentials"):  # given as dicts in Python
            if isinstance(options.get(name), dict):
                options[name] = json.dumps(options[name])
        super().__init__(**options)
        secret = FsspecSettings.secret_options()
        self._given = {k: v for k, v in options.items() if v is not None and v != ""}
        #: the config section of the options (``fs.NAME``), for messages; set by
        #: FsspecFileSystem.from_options, None for options given as arguments
        self.config_section: str | None = None
        for name in ("storage_options", "credentials"):  # bad JSON: an error at once
            json_object(str(self._given.get(name, "")), name, self._where(),
                        secret=name in secret)
        # anyone may print options: the credentials there are masked
        self.options = {k: _Secret(v) if k in secret else v for k, v in options.items()}
        self._lock = threading.Lock()
        self._state: tuple[int, Any, FsspecSettings, dict[str, Any]] | None = None

    def __repr__(self) -> str:
        where = f"[{self.config_section}]" if self.config_section else "arguments"
        return f"{type(self).__name__}(options from {where}: {sorted(self._given)})"

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_lock"] = None
        state["_state"] = None  # fsspec instances (connections, event loops) do not travel
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    # settings and fsspec instances

    def settings(self) -> FsspecSettings:
        """The settings in effect: these options, else ``[fsspec]``, else the defaults."""
        return self._current()[2]

    def _where(self) -> str:
        return f"[{self.config_section}]" if self.config_section else \
            "the file system's arguments"

    def _current(self) -> tuple[int, Any, FsspecSettings, dict[str, Any]]:
        """Settings and fsspec instances, made again in a forked child and after the
        config changed."""
        config = get_config()
        state = self._state
        if state is None or state[0] != os.getpid() or state[1] is not config:
            settings = FsspecSettings.resolve(self._given, given_where=self._where())
            settings.kwargs(self._where())  # bad JSON is a ConfigError at once
            state = self._state = (os.getpid(), config, settings, {})
        return state

    def filesystem(self, uri: str) -> tuple[Any, str]:
        """The fsspec file system reaching ``uri`` and the path it takes for it."""
        match = _PREFIX.match(uri)
        if not match:
            raise TargetError(f"'{redact(uri)}' is not a URI (expected protocol://host/path)")
        prefix = match.group(1)
        _, _, settings, instances = self._current()
        fs = instances.get(prefix)
        if fs is None:
            with self._lock:
                fs = instances.get(prefix)
                if fs is None:
                    fs = instances[prefix] = self._make(prefix, settings)
        return fs, fs._strip_protocol(uri)

    def _make(self, prefix: str, settings: FsspecSettings) -> Any:
        import fsspec
        import fsspec.core

        protocol = scheme_of(prefix) or ""
        try:
            fsspec.get_filesystem_class(protocol)
        except ImportError as err:
            raise PluginError(
                f"the fsspec protocol '{protocol}' needs a package that is not installed: "
                f"{err}"
            ) from None
        except ValueError:
            raise PluginError(
                f"fsspec knows no protocol '{protocol}' (of {redact(prefix)}); known: "
                f"{', '.join(sorted(fsspec.available_protocols()))}"
            ) from None
        kwargs = settings.kwargs(self._where())
        try:
            fs, _ = fsspec.core.url_to_fs(prefix + "/", **kwargs)
        except TypeError as err:
            raise TargetError(
                f"fsspec's '{protocol}' file system refused the options {sorted(kwargs)} of "
                f"{self._where()}: {self._mask(str(err))}; see its documentation for the "
                "options it takes"
            ) from None
        return fs

    # errors

    def _mask(self, text: str) -> str:
        text = redact(text)
        state = self._state
        for value in (state[2].secrets() if state else []):
            text = text.replace(value, "***")
        return text

    def _call(self, what: str, uri: str, op: Callable[[Any, str], Any]) -> Any:
        """``op(fs, path)`` for ``uri``, its errors as the contract wants them."""
        try:
            fs, path = self.filesystem(uri)
            return op(fs, path)
        except _NOT_ABOUT_THE_STORAGE:
            raise
        except Exception as err:
            translated = self._translate(err, what, uri)
            if translated is None:
                raise
            raise translated from None

    def _translate(self, err: BaseException, what: str, uri: str) -> BaseException | None:
        """The contract's error for ``err``; None to raise ``err`` as it is."""
        text = self._mask(f"{what} failed: {type(err).__name__}: {err}".rstrip(": "))
        name = redact(uri)
        answer = isinstance(err, OSError) and is_definitive(err)
        # an answer raised from another error (fsspec's http: FileNotFoundError from
        # anything that went wrong) is what that error says
        origins = [err, *(_causes(err) if answer else [])]
        status = next((s for s in map(_http_status, origins) if s is not None), None)
        if status is not None:
            if status in (404, 410):
                return OSError(errno.ENOENT, text, name)
            if status in (401, 403):
                return OSError(errno.EACCES, text, name)
            if status >= 500 or status in (408, 429):
                return ConnectionError(f"{text} (HTTP {status})")
            if 400 <= status < 500:  # refused as asked: asking again will not help
                return OSError(errno.EINVAL, text, name)
        if answer:
            hidden = next((c for c in origins[1:] if _is_transport_failure(c)), None)
            if hidden is not None:
                return ConnectionError(f"{text} (the storage could not be reached: "
                                       f"{type(hidden).__name__}: {self._mask(str(hidden))})")
            assert isinstance(err, OSError)
            code = err.errno or next(c for t, c in _ERRNO_OF if isinstance(err, t))
            return OSError(code, text, name)
        if _is_transport_failure(err):
            if isinstance(err, OSError) and err.errno:
                return OSError(err.errno, text, name)  # ConnectionRefusedError, ...
            return TimeoutError(text) if isinstance(err, TimeoutError) else \
                ConnectionError(text)
        return None

    # metadata

    def stat(self, uri: str) -> StatResult:
        def stat(fs: Any, path: str) -> StatResult:
            fs.invalidate_cache(path)
            info = fs.info(path)
            is_dir = info.get("type") == "directory"
            mtime = mtime_of(info)
            if mtime is None and not is_dir:
                try:
                    mtime = mtime_of({"mtime": fs.modified(path)})
                except (NotImplementedError, AttributeError):
                    pass
            return StatResult(size=int(info.get("size") or 0), mtime=mtime or 0.0,
                              is_dir=is_dir)

        return self._call("stat", uri, stat)

    def listdir(self, uri: str) -> list[str]:
        def listdir(fs: Any, path: str) -> list[str]:
            fs.invalidate_cache(path)
            itself = path.rstrip("/")
            entries = fs.ls(path, detail=True)
            names = []
            for entry in entries:
                full = str(entry["name"]).rstrip("/")
                if full == itself:
                    if entry.get("type") != "directory" and len(entries) == 1:
                        raise NotADirectoryError(errno.ENOTDIR, "not a directory", path)
                    continue  # some stores list a directory's own marker
                name = posixpath.basename(full)
                if name not in ("", ".", ".."):
                    names.append(name)
            return names

        return self._call("listdir", uri, listdir)

    def mkdir(self, uri: str) -> None:
        self._call("mkdir", uri, lambda fs, path: fs.makedirs(path, exist_ok=True))

    def remove(self, uri: str) -> None:
        def remove(fs: Any, path: str) -> None:
            if fs.info(path).get("type") == "directory":
                raise IsADirectoryError(errno.EISDIR, "is a directory", path)
            fs.rm_file(path)

        self._call("remove", uri, remove)

    def rmdir(self, uri: str) -> None:
        def rmdir(fs: Any, path: str) -> None:
            fs.invalidate_cache(path)
            if fs.ls(path, detail=False):
                raise OSError(errno.ENOTEMPTY, "directory not empty", path)
            fs.rmdir(path)

        self._call("rmdir", uri, rmdir)

    def rename(self, src_uri: str, dst_uri: str) -> None:
        from fsspec.spec import AbstractFileSystem

        fs, dst = self._call("rename", dst_uri, lambda fs, path: (fs, path))

        def rename(src_fs: Any, src: str) -> None:
            if src_fs is not fs:
                raise OSError(errno.EXDEV, "rename between two storages", redact(dst_uri))
            self._refuse_directory(fs, dst)
            if type(fs).mv is not AbstractFileSystem.mv:
                fs.mv(src, dst)  # the storage's own rename
            else:
                fs.cp_file(src, dst)
                fs.rm_file(src)

        self._call("rename to " + redact(dst_uri), src_uri, rename)

    @staticmethod
    def _refuse_directory(fs: Any, path: str) -> None:
        """Fail when ``path`` is a directory: fsspec would copy *into* it."""
        try:
            info = fs.info(path)
        except FileNotFoundError:
            return
        if info.get("type") == "directory":
            raise IsADirectoryError(errno.EISDIR, "is a directory", path)

    # transfers

    def copy(self, src_uri: str, dst_uri: str) -> None:
        src_local, dst_local = scheme_of(src_uri) == _LOCAL, scheme_of(dst_uri) == _LOCAL
        if src_local and dst_local:
            shutil.copyfile(_local_path(src_uri), _local_path(dst_uri))
        elif src_local:
            local = _local_path(src_uri)
            self._call("upload to", dst_uri, lambda fs, path: fs.put_file(local, path))
        elif dst_local:
            local = _local_path(dst_uri)

            def download(fs: Any, path: str) -> None:
                fs.get_file(path, local)
                if os.path.isdir(local):  # fsspec "downloads" a directory as one
                    os.rmdir(local)
                    raise IsADirectoryError(errno.EISDIR, "is a directory", path)

            self._call("download", src_uri, download)
        else:
            fs, dst = self._call("copy to", dst_uri, lambda fs, path: (fs, path))

            def copy(src_fs: Any, src: str) -> None:
                if src_fs is not fs:
                    raise OSError(errno.ENOTSUP, "no direct copy between two fsspec file "
                                  f"systems ({src_fs.protocol} to {fs.protocol})", src)
                if src_fs.info(src).get("type") == "directory":
                    raise IsADirectoryError(errno.EISDIR, "is a directory", src)
                self._refuse_directory(fs, dst)
                fs.cp_file(src, dst)

            self._call("copy to " + redact(dst_uri), src_uri, copy)
