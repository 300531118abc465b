"""The file interface on the Dropbox API v2, through the official ``dropbox`` SDK.

URIs are ``dropbox://dropbox.com/PATH`` (or ``dropbox:///PATH``): PATH is the path in the
Dropbox (of the app's folder for apps with "App folder" access). The authority names the
service, not an account or a server: the SDK decides which servers it talks to.

The primitives and the requests they make:

=========  ==============================================================================
stat       files/get_metadata (the root, which has no metadata: files/list_folder)
listdir    files/list_folder, then files/list_folder/continue while ``has_more``
mkdir      files/create_folder_v2 (parents are created by Dropbox); an existing folder is
           fine
remove     files/get_metadata (a folder is refused: delete_v2 would remove it with its
           contents), files/delete_v2
rmdir      files/list_folder (limit 1: refused when not empty), files/delete_v2
rename     files/move_v2; when the destination file exists: files/delete_v2 of it, then
           files/move_v2 again (see :meth:`DropboxFileInterface.rename`)
copy       upload: files/upload, or files/upload_session/start, append_v2 ..., finish for
           files larger than one chunk; download: files/download; on Dropbox: files/copy_v2
           (replacing an existing destination file like rename)
=========  ==============================================================================

Uploads and downloads stream: one chunk (``dropbox_chunk_size``) is in memory at a time.
Both are checked with Dropbox's content hash (:mod:`law_core_dropbox.content_hash`): the
hash computed here while reading the local file, or while writing the download, must equal
the ``content_hash`` of the file's metadata.

Errors follow :mod:`law_core.targets.file_interface`. Dropbox's endpoint errors (HTTP 409)
become the matching ``OSError``: ``path/not_found`` is ``FileNotFoundError``,
``path/not_folder`` ``NotADirectoryError``, ``path/conflict/file`` ``FileExistsError``,
``no_write_permission`` ``PermissionError``, ``insufficient_space`` ``ENOSPC``, ...; rate
limits (429) and server errors (5xx) are retried by the SDK (``dropbox_rate_limit_retries``
honoring Retry-After, ``dropbox_server_error_retries`` with backoff) and are transient
after that, as are network errors and ``too_many_write_operations``. Rejected credentials
(401) are a :class:`~law_core.errors.TargetError` that names the config section to fix,
never the token.

Credentials (``app_key``, ``app_secret``, ``refresh_token``, ``access_token``) and the
tuning options are declared in :class:`~law_core_dropbox.settings.DropboxSettings`: the file
system's own options (``[fs.NAME]``, or arguments), else the ``[dropbox]`` config section,
else the defaults, resolved when the interface is first used (and again when the config
changes). Credentials are kept out of ``options``, reprs, logs and error messages.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import logging
import os
import posixpath
import re
import threading
from calendar import timegm
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from law_core.plugin import (
    FileInterface,
    LawCoreError,
    PluginError,
    StatResult,
    TargetError,
    is_definitive,
    normalize_path,
)
from law_core_dropbox.content_hash import BLOCK_SIZE, ContentHasher, block_digests
from law_core_dropbox.settings import TOKENS, DropboxSettings

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: options of the credentials: never shown
CREDENTIAL_OPTIONS = tuple(sorted(DropboxSettings.secret_options()))
#: the section of the process-wide options, ``[dropbox]``
SECTION = DropboxSettings.section

#: Dropbox's limit for the data of one request (150 MiB), as whole hash blocks
MAX_CHUNK_SIZE = (150 * 1024 * 1024 // BLOCK_SIZE) * BLOCK_SIZE

#: authorities of dropbox:// URIs (law's URIs are dropbox://dropbox.com/PATH)
AUTHORITIES = ("", "dropbox.com", "www.dropbox.com")

_URI = re.compile(r"^dropbox://([^/?#]*)(/[^?#]*)?$", re.IGNORECASE)

#: tags of Dropbox errors (anywhere in the error's tag chain) and what they mean here
_TRANSIENT_TAGS = frozenset({
    "too_many_write_operations", "too_many_requests", "internal_error", "locked",
    "content_hash_mismatch", "too_many_shared_folder_targets", "concurrent_session_invalid_offset",
})
_PERMISSION_TAGS = frozenset({
    "no_write_permission", "restricted_content", "team_folder", "operation_suppressed",
    "cant_copy_shared_folder", "cant_nest_shared_folder", "cant_move_shared_folder",
    "cant_transfer_ownership", "cant_move_into_vault", "cant_move_into_family",
    "access_denied", "unsupported_file", "unsupported_content_type", "email_unverified",
    "not_allowed",
})
_INVALID_TAGS = frozenset({
    "malformed_path", "disallowed_name", "cant_move_folder_into_itself",
    "duplicated_or_nested_paths", "too_many_files", "payload_too_large", "template_error",
    "invalid_path_root", "too_large",
})


class DropboxError(OSError):
    """An error of the Dropbox API that is not one of the builtin OSError kinds;
    ``transient`` tells the core's failover whether asking again may help."""

    def __init__(self, code: int, message: str, filename: str | None = None,
                 transient: bool = False):
        super().__init__(code, message, filename)
        self.transient = transient


class _Secret:
    """A credential: shown as ``***`` by repr and str, read with :meth:`reveal`."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "'***'"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass
class _State:
    pid: int
    config: Any
    settings: DropboxSettings
    client: Any


def _sdk() -> Any:
    """The dropbox SDK, imported on first use."""
    try:
        import dropbox
        import dropbox.exceptions
        import dropbox.files
        import dropbox.stone_validators
    except ImportError as err:
        raise PluginError(
            f"law-core-dropbox needs the dropbox SDK, which cannot be imported ({err}); "
            "install it with: pip install dropbox (pip install law-core-dropbox pulls it in)"
        ) from err
    return dropbox


def dropbox_path(uri: str) -> str:
    """The Dropbox API path of a ``dropbox://`` URI: ``/a/b``, or ``""`` for the root."""
    match = _URI.match(uri)
    if not match:
        raise TargetError(
            f"'{uri}' is not a Dropbox URI; they look like dropbox://dropbox.com/PATH "
            "(or dropbox:///PATH)"
        )
    if match.group(1).lower() not in AUTHORITIES:
        raise TargetError(
            f"'{uri}' names the host '{match.group(1)}'; Dropbox URIs name the service, not a "
            "server: write dropbox://dropbox.com/PATH (or dropbox:///PATH)"
        )
    path = normalize_path(match.group(2) or "/")
    return "" if path == "/" else path


def _local_path(uri: str) -> str:
    path = uri[len("file://"):]
    if path.startswith("localhost/"):
        path = path[len("localhost"):]
    return path


def _scheme(uri: str) -> str:
    return uri.split("://", 1)[0].lower() if "://" in uri else "file"


def _tags(error: Any) -> list[str]:
    """The tag chain of a Dropbox error union: ``["path", "conflict", "file"]``, the
    ``error_summary`` of the HTTP answer without its noise."""
    chain: list[str] = []
    value = error
    for _ in range(10):
        tag = getattr(value, "_tag", None)
        if tag is None:
            # a struct inside the chain: UploadWriteFailed carries its WriteError in "reason"
            value = getattr(value, "reason", None)
            if value is None:
                break
            continue
        chain.append(str(tag))
        value = getattr(value, "_value", None)
        if value is None:
            break
    return chain


def _timestamp(moment: Any) -> float:
    """Seconds since the epoch of one of the SDK's naive UTC datetimes."""
    return float(timegm(moment.utctimetuple())) + moment.microsecond / 1e6


class DropboxFileInterface(FileInterface):
    """Single requests on ``dropbox://`` URIs through the dropbox SDK."""

    schemes: ClassVar[tuple[str, ...]] = ("dropbox", "file")

    settings_cls: ClassVar[type[DropboxSettings]] = DropboxSettings

    def __init__(self, **options: Any):
        super().__init__(**options)
        given = {k: v for k, v in options.items() if v is not None and v != ""}
        for key in CREDENTIAL_OPTIONS:
            if key in given:
                given[key] = _Secret(str(given[key]))
        self._given = given
        # anyone may print options: the credentials there are masked
        self.options = {k: (_Secret(str(v)) if k in CREDENTIAL_OPTIONS else v)
                        for k, v in options.items()}
        #: the config section the options came from (``fs.NAME``), set by
        #: DropboxFileSystem.from_options; None for options given as arguments
        self.config_section: str | None = None
        self._lock = threading.Lock()
        self._lock_pid = os.getpid()
        self._state: _State | None = None

    def __repr__(self) -> str:
        given = sorted(k for k in self._given if k in CREDENTIAL_OPTIONS)
        where = f"[{self.config_section}]" if self.config_section else "arguments"
        return (f"{type(self).__name__}(credentials from {where}: "
                f"{', '.join(given) or 'none, [dropbox] decides'})")

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_lock"] = None
        state["_state"] = None  # a client (a connection pool) does not travel
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self._lock_pid = os.getpid()

    # settings and the client

    def _resolve(self) -> DropboxSettings:
        """The settings: the file system's options, else ``[dropbox]``, else defaults."""
        given = {k: v.reveal() if isinstance(v, _Secret) else v for k, v in self._given.items()}
        where = f"[{self.config_section}]" if self.config_section else \
            "the file system's arguments"
        settings = DropboxSettings.resolve(given, given_where=where)
        if any(token in given for token in TOKENS):
            # tokens come as a pair from one place: a file system with a token of its own
            # never uses a token of [dropbox] (which may be another account's)
            settings = dataclasses.replace(
                settings, **{token: given.get(token, "") for token in TOKENS})
        if settings.dropbox_ca_certs:
            ca_certs = os.path.expanduser(settings.dropbox_ca_certs)
            if not os.path.isfile(ca_certs):
                raise TargetError(
                    f"dropbox_ca_certs = {ca_certs} ({self._origin('dropbox_ca_certs')}) is "
                    "not a file; it names a PEM bundle of the CAs to trust")
            settings = dataclasses.replace(settings, dropbox_ca_certs=ca_certs)
        if settings.dropbox_chunk_size < BLOCK_SIZE:
            raise TargetError(
                f"dropbox_chunk_size = {int(settings.dropbox_chunk_size)} bytes "
                f"({self._origin('dropbox_chunk_size')}) is below Dropbox's hash block of "
                "4 MiB; use at least 4MiB (multiples of 4MiB)"
            )
        return settings

    def _origin(self, option: str) -> str:
        """Where ``option`` is set, for messages: ``[fs.box] (/home/me/law.cfg:12)``."""
        from law_core.plugin import get_config

        config = get_config()
        if option in self._given:
            if self.config_section:
                return f"[{self.config_section}] ({config.origin(self.config_section, option)})"
            return f"the file system's {option} argument"
        if config.has(SECTION, option) and config.get(SECTION, option).strip():
            return f"[{SECTION}] ({config.origin(SECTION, option)})"
        return "the default"

    def _where(self, settings: DropboxSettings, option: str | None = None) -> str:
        """Where to fix the credentials (the token, or ``option``), for messages."""
        option = option or ("refresh_token" if settings.refresh_token else (
            "access_token" if settings.access_token else "refresh_token"))
        if getattr(settings, option):
            return self._origin(option)
        if self.config_section:
            return f"[{self.config_section}] (or [{SECTION}])"
        return f"[{SECTION}]"

    def _new_client(self, settings: DropboxSettings) -> Any:
        dropbox = _sdk()
        if not settings.refresh_token and not settings.access_token:
            section = f"[{self.config_section}] or [{SECTION}]" if self.config_section \
                else f"[{SECTION}]"
            raise TargetError(
                f"no Dropbox credentials: set refresh_token with app_key and app_secret "
                f"(or an access_token) in {section} of the law-core config; the "
                "law-core-dropbox README says how to get them"
            )
        if settings.refresh_token and not settings.app_key:
            raise TargetError(
                f"the refresh token of {self._origin('refresh_token')} needs the app's "
                "app_key (and app_secret, unless the token was made with PKCE) beside it"
            )
        session = None
        if settings.dropbox_ca_certs:
            session = _ca_session(settings.dropbox_ca_certs)
        try:
            return dropbox.Dropbox(
                oauth2_access_token=settings.access_token or None,
                oauth2_refresh_token=settings.refresh_token or None,
                app_key=settings.app_key or None,
                app_secret=settings.app_secret or None,
                max_retries_on_error=settings.dropbox_server_error_retries,
                max_retries_on_rate_limit=settings.dropbox_rate_limit_retries,
                timeout=settings.dropbox_timeout,
                session=session,
                user_agent="law-core-dropbox",
            )
        except Exception as err:  # the SDK's BadInputException
            raise TargetError(
                f"cannot set up a Dropbox client with the credentials of {self._where(settings)}"
                f": {self._redact(str(err), settings)}"
            ) from None

    def _current(self) -> _State:
        """The client of this process for the current config (made on first use, again
        in a forked child and when the config changed the settings)."""
        from law_core.plugin import get_config

        config = get_config()
        if self._lock_pid != os.getpid():
            # forked: the parent's lock may have been held by a thread the child lacks
            self._lock, self._lock_pid = threading.Lock(), os.getpid()
        with self._lock:
            state = self._state
            if state is not None and state.pid == os.getpid() and state.config is config:
                return state
            settings = self._resolve()
            if state is not None and state.pid == os.getpid() and state.settings == settings:
                state.config = config
                return state
            self._state = _State(os.getpid(), config, settings, self._new_client(settings))
            return self._state

    @property
    def chunk_size(self) -> int:
        """Bytes per upload request (a multiple of 4 MiB)."""
        chunk = int(self._current().settings.dropbox_chunk_size)
        # whole hash blocks, at most what one request may carry
        return min(MAX_CHUNK_SIZE, chunk // BLOCK_SIZE * BLOCK_SIZE)

    def account_key(self) -> str:
        """A digest of the credentials: two interfaces with the same key reach the same
        Dropbox (different keys may still do)."""
        settings = self._current().settings
        material = "\0".join((settings.app_key, settings.refresh_token or settings.access_token))
        return hashlib.sha256(material.encode()).hexdigest()

    # requests and their errors

    def _redact(self, text: str, settings: DropboxSettings | None = None) -> str:
        if settings is None:
            state = self._state
            settings = state.settings if state is not None else None
        secrets = settings.secrets() if settings is not None else []
        state = self._state
        if state is not None:
            # the access token the SDK got with the refresh token
            current = getattr(state.client, "_oauth2_access_token", None)
            if current:
                secrets.append(current)
        for secret in sorted(set(secrets), key=len, reverse=True):
            if len(secret) >= 4:
                text = text.replace(secret, "***")
        return text

    def _request(self, what: str, uri: str, call: Callable[[Any], T], session: bool = False
                 ) -> T:
        """``call(client)``, its errors mapped to the file-interface contract; ``session``:
        the call is one of an upload session, whose lookup errors are about the session."""
        state = self._current()
        logger.debug("dropbox: %s %s", what, uri)
        try:
            return call(state.client)
        except Exception as err:
            raise self._map_error(err, what, uri, state.settings, session) from None

    def _map_error(self, err: Exception, what: str, uri: str, settings: DropboxSettings,
                   session: bool = False) -> BaseException:
        dropbox = _sdk()
        exc = dropbox.exceptions
        import requests

        def text(value: object) -> str:
            return self._redact(str(value), settings)[:500]

        if isinstance(err, (LawCoreError, OSError)) and not isinstance(
                err, requests.exceptions.RequestException):
            return err
        if isinstance(err, exc.ApiError):
            return self._api_error(err, what, uri, session)
        if isinstance(err, exc.AuthError):
            return self._auth_error(err, what, settings)
        if isinstance(err, exc.RateLimitError):
            return DropboxError(
                errno.EAGAIN, f"{what}: Dropbox still limits the request rate after "
                f"{settings.dropbox_rate_limit_retries} retries (raise "
                "dropbox_rate_limit_retries)",
                uri, transient=True)
        if isinstance(err, exc.InternalServerError):
            return DropboxError(
                errno.EIO, f"{what}: Dropbox answered HTTP {err.status_code} "
                f"(a server error) {settings.dropbox_server_error_retries + 1} times: "
                f"{text(err.body)}",
                uri, transient=True)
        if isinstance(err, exc.BadInputError):
            if "invalid_client" in str(err.message):
                return TargetError(
                    "Dropbox refused the app key or app secret of "
                    f"{self._where(settings, 'app_secret')} "
                    "(invalid_client) while refreshing the access token; copy both from the "
                    "app's page in the Dropbox App Console"
                )
            return DropboxError(errno.EINVAL, f"{what}: Dropbox refused the request (HTTP "
                                f"400): {text(err.message)}", uri)
        if isinstance(err, exc.HttpError):
            status = getattr(err, "status_code", 0) or 0
            return DropboxError(errno.EIO, f"{what}: Dropbox answered HTTP {status}: "
                                f"{text(getattr(err, 'body', ''))}", uri,
                                transient=status >= 500 or status in (408, 425, 429))
        if isinstance(err, dropbox.stone_validators.ValidationError):
            return DropboxError(errno.EINVAL, f"{what}: invalid argument for Dropbox: "
                                f"{text(err)}", uri)
        if isinstance(err, requests.exceptions.SSLError):
            return TargetError(
                f"{what} of {uri}: the TLS connection to Dropbox failed verification "
                f"({text(err)}); behind a TLS-inspecting proxy, set dropbox_ca_certs to its "
                "CA bundle"
            )
        if isinstance(err, (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                            requests.exceptions.ChunkedEncodingError)):
            return ConnectionError(f"{what} of {uri}: Dropbox could not be reached: "
                                   f"{type(err).__name__}: {text(err)}")
        if isinstance(err, requests.exceptions.RequestException):
            return DropboxError(errno.EIO, f"{what}: {type(err).__name__}: {text(err)}", uri,
                                transient=True)
        if type(err).__name__ == "BadInputException":
            return TargetError(f"{what}: the Dropbox client refused its input: {text(err)}")
        return err

    def _api_error(self, err: Any, what: str, uri: str, session: bool = False) -> OSError:
        """The OSError for an endpoint error (HTTP 409) of Dropbox."""
        tags = _tags(err.error)
        summary = "/".join(tags) or "unknown"
        message = f"{what}: Dropbox answered {summary}"
        names = set(tags)
        result: OSError
        if session and tags[:1] != ["path"]:
            # the upload session was lost, closed or is at another offset: upload anew
            result = DropboxError(errno.EIO, message, uri, transient=True)
        elif names & _TRANSIENT_TAGS:
            result = DropboxError(errno.EAGAIN, message, uri, transient=True)
        elif "not_found" in names:
            result = FileNotFoundError(errno.ENOENT, message, uri)
        elif "not_folder" in names:
            result = NotADirectoryError(errno.ENOTDIR, message, uri)
        elif "not_file" in names:
            result = IsADirectoryError(errno.EISDIR, message, uri)
        elif "conflict" in names:
            if "file_ancestor" in names:
                result = NotADirectoryError(errno.ENOTDIR, message, uri)
            elif "folder" in names:
                result = IsADirectoryError(errno.EISDIR, message, uri)
            else:
                result = FileExistsError(errno.EEXIST, message, uri)
        elif names & _PERMISSION_TAGS:
            result = PermissionError(errno.EACCES, message, uri)
        elif "insufficient_space" in names:
            result = DropboxError(errno.ENOSPC, message, uri)
        elif "insufficient_quota" in names:
            result = DropboxError(errno.EDQUOT, message, uri)
        elif names & _INVALID_TAGS:
            result = DropboxError(errno.EINVAL, message, uri)
        else:  # an answer this plugin does not know: asking again would not change it
            result = DropboxError(errno.EIO, message, uri)
        result.dropbox_tags = tags  # type: ignore[attr-defined]
        # incorrect_offset of upload sessions: where the session is
        value, correct = err.error, None
        for _ in range(4):
            correct = getattr(value, "correct_offset", None)
            if correct is not None or value is None:
                break
            value = getattr(value, "_value", None)
        result.correct_offset = correct  # type: ignore[attr-defined]
        return result

    def _auth_error(self, err: Any, what: str, settings: DropboxSettings) -> TargetError:
        """Rejected credentials: what to do, where, without showing them."""
        error = getattr(err, "error", None)
        tag = getattr(error, "_tag", None) or "unknown"
        where = self._where(settings)
        if tag == "expired_access_token":
            if settings.refresh_token:
                advice = ("the access token refreshed with the refresh token expired at once; "
                          "check the machine's clock, or create a new refresh token")
            else:
                advice = ("Dropbox's access tokens last four hours; set refresh_token "
                          "(with app_key and app_secret) there instead of access_token, "
                          "which law-core-dropbox refreshes by itself, or refresh the "
                          "access token")
            message = f"the Dropbox access token of {where} has expired: {advice}"
        elif tag == "invalid_access_token":
            token = "refresh token" if settings.refresh_token else "access token"
            message = (f"Dropbox refused the {token} of {where} (invalid or revoked, or made "
                       f"for another app than the app_key): refresh the token in {where}; "
                       "the law-core-dropbox README says how to create a refresh token")
        elif tag == "missing_scope":
            scope = getattr(getattr(error, "_value", None), "required_scope", None) or "?"
            message = (f"the Dropbox token of {where} lacks the permission {scope}: enable "
                       "it on the app's Permissions tab in the Dropbox App Console, then "
                       f"create a new refresh token and set it in {where}")
        else:
            message = (f"Dropbox refused the credentials of {where} ({tag}): refresh the "
                       f"token in {where}")
        return TargetError(f"{what}: {message}")

    def is_transient(self, err: BaseException) -> bool:
        if isinstance(err, DropboxError):
            return err.transient
        return not is_definitive(err)

    # metadata

    def stat(self, uri: str) -> StatResult:
        path = dropbox_path(uri)
        if path == "":  # the root has no metadata; a listing proves it is there
            self._request("stat", uri, lambda c: c.files_list_folder("", limit=1))
            return StatResult(size=0, mtime=0.0, is_dir=True)
        return self._stat_of(self._request("stat", uri, lambda c: c.files_get_metadata(path)))

    @staticmethod
    def _stat_of(metadata: Any) -> StatResult:
        files = _sdk().files
        if isinstance(metadata, files.FileMetadata):
            return StatResult(size=int(metadata.size),
                              mtime=_timestamp(metadata.server_modified), is_dir=False)
        # folders have no modification time on Dropbox
        return StatResult(size=0, mtime=0.0, is_dir=True)

    def listdir(self, uri: str) -> list[str]:
        path = dropbox_path(uri)
        deleted = _sdk().files.DeletedMetadata
        result = self._request("listdir", uri, lambda c: c.files_list_folder(path))
        names = [e.name for e in result.entries if not isinstance(e, deleted)]
        while result.has_more:
            result = self._request("listdir (next page)", uri, lambda c, cursor=result.cursor:
                                   c.files_list_folder_continue(cursor))
            names.extend(e.name for e in result.entries if not isinstance(e, deleted))
        return names

    def mkdir(self, uri: str) -> None:
        self._mkdir(dropbox_path(uri), uri)

    def _mkdir(self, path: str, uri: str) -> None:
        if path == "":
            return
        try:
            self._request("mkdir", uri, lambda c: c.files_create_folder_v2(path))
        except IsADirectoryError:
            pass  # path/conflict/folder: it exists
        except FileNotFoundError:
            # Dropbox creates the missing parents; should it ever refuse, create them here
            parent = posixpath.dirname(path)
            if parent in ("", "/"):
                raise
            self._mkdir(parent, uri)
            with contextlib.suppress(IsADirectoryError):
                self._request("mkdir", uri, lambda c: c.files_create_folder_v2(path))

    def remove(self, uri: str) -> None:
        path = dropbox_path(uri)
        if path == "" or self.stat(uri).is_dir:
            # delete_v2 would remove a folder with everything in it
            raise IsADirectoryError(errno.EISDIR, "remove: it is a folder (use rmdir)", uri)
        self._request("remove", uri, lambda c: c.files_delete_v2(path))

    def rmdir(self, uri: str) -> None:
        path = dropbox_path(uri)
        if path == "":
            raise PermissionError(errno.EPERM, "rmdir: refusing to delete the Dropbox's root",
                                  uri)
        listing = self._request("rmdir", uri, lambda c: c.files_list_folder(path, limit=1))
        if listing.entries:
            raise OSError(errno.ENOTEMPTY, "rmdir: the folder is not empty", uri)
        self._request("rmdir", uri, lambda c: c.files_delete_v2(path))

    def rename(self, src_uri: str, dst_uri: str) -> None:
        """``files/move_v2``, replacing the destination file.

        Dropbox's move fails when the destination exists (``to/conflict/file``) and has
        no overwrite mode, so the destination file is deleted (``files/delete_v2``) and
        the move repeated. Between the two requests the destination is absent, never
        partial: a reader sees "missing", then the new file. The old file stays in
        Dropbox's deleted files (restorable for 30 days or more). Moving aside to a
        backup name first would make the window no shorter and add a request, and an
        ``autorename`` move would leave the file under another name. A destination folder
        is never deleted (IsADirectoryError). A case-only rename (``a.txt`` to ``A.txt``),
        which Dropbox's move refuses, goes through a temporary name.
        """
        src, dst = dropbox_path(src_uri), dropbox_path(dst_uri)
        if src == dst:
            self.stat(src_uri)  # FileNotFoundError when missing
            return
        if src.lower() == dst.lower():
            parent, name = posixpath.split(dst)
            tmp = posixpath.join(parent, f".tmp-rename-{os.urandom(4).hex()}-{name}")
            self._relocate("rename", "files_move_v2", src, tmp, src_uri)
            self._relocate("rename", "files_move_v2", tmp, dst, src_uri)
            return
        self._relocate("rename", "files_move_v2", src, dst, src_uri)

    def _relocate(self, what: str, method: str, src: str, dst: str, uri: str) -> None:
        """move_v2/copy_v2 from ``src`` to ``dst``, replacing a destination file."""
        for _ in range(3):
            try:
                self._request(what, uri, lambda c: getattr(c, method)(src, dst))
                return
            except FileExistsError as err:
                if getattr(err, "dropbox_tags", [None])[0] != "to":
                    raise
            with contextlib.suppress(FileNotFoundError):
                self._request(f"{what} (replacing {dst})", uri,
                              lambda c: c.files_delete_v2(dst))
        raise DropboxError(errno.EAGAIN, f"{what}: the destination {dst} reappeared after "
                           "being replaced three times", uri, transient=True)

    # transfers

    def copy(self, src_uri: str, dst_uri: str) -> None:
        src_scheme, dst_scheme = _scheme(src_uri), _scheme(dst_uri)
        if src_scheme == "file" and dst_scheme == "dropbox":
            self._upload(_local_path(src_uri), dst_uri)
        elif src_scheme == "dropbox" and dst_scheme == "file":
            self._download(src_uri, _local_path(dst_uri))
        elif src_scheme == "dropbox" and dst_scheme == "dropbox":
            src = dropbox_path(src_uri)
            if src == "":
                raise IsADirectoryError(errno.EISDIR, "copy: the root is a folder", src_uri)
            self._relocate("copy", "files_copy_v2", src, dropbox_path(dst_uri), src_uri)
        else:
            raise OSError(errno.ENOTSUP, f"no direct copy from {src_scheme}:// to "
                          f"{dst_scheme}:// through Dropbox", dst_uri)

    def _upload(self, local: str, uri: str) -> None:
        """files/upload for files of one chunk, else an upload session; the content hash
        computed while reading must be the one Dropbox reports."""
        path = dropbox_path(uri)
        if path == "":
            raise IsADirectoryError(errno.EISDIR, "upload: the root is a folder", uri)
        files = _sdk().files
        chunk_size = self.chunk_size
        overwrite = files.WriteMode.overwrite
        overall = hashlib.sha256()

        def chunk_hash(data: bytes) -> str:
            # the hash of this request's data; its block digests feed the file's hash
            digests = block_digests(data)
            overall.update(digests)
            return hashlib.sha256(digests).hexdigest()

        with open(local, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            data = f.read(chunk_size)
            if size <= chunk_size:
                hexdigest = chunk_hash(data)
                metadata = self._request("upload", uri, lambda c: c.files_upload(
                    data, path, mode=overwrite, mute=True, content_hash=hexdigest))
            else:
                hexdigest = chunk_hash(data)
                started = self._request("upload (start session)", uri, lambda c: (
                    c.files_upload_session_start(data, content_hash=hexdigest)), session=True)
                session_id, offset = started.session_id, len(data)
                logger.debug("dropbox: upload session for %s (%d bytes)", uri, size)
                while True:
                    data = b""  # one chunk in memory at a time
                    data = f.read(chunk_size)
                    hexdigest = chunk_hash(data)
                    cursor = files.UploadSessionCursor(session_id, offset)
                    if offset + len(data) >= size or len(data) < chunk_size:
                        commit = files.CommitInfo(path, mode=overwrite, mute=True)
                        metadata = self._finish(uri, data, cursor, commit, hexdigest)
                        break
                    self._append(uri, data, cursor, hexdigest)
                    offset += len(data)
            data = b""
        expected = overall.hexdigest()
        if metadata.content_hash != expected:
            with contextlib.suppress(Exception):
                self._request("remove (corrupt upload)", uri, lambda c: c.files_delete_v2(path))
            raise DropboxError(
                errno.EIO, f"upload of {local}: Dropbox's content hash {metadata.content_hash} "
                f"is not the local file's {expected}; the upload is removed", uri,
                transient=True)

    def _finish(self, uri: str, data: bytes, cursor: Any, commit: Any, hexdigest: str) -> Any:
        """The last upload_session/finish: the file appears, its metadata is returned."""
        return self._request("upload (finish session)", uri, lambda c: (
            c.files_upload_session_finish(data, cursor, commit, content_hash=hexdigest)),
            session=True)

    def _append(self, uri: str, data: bytes, cursor: Any, hexdigest: str) -> None:
        """One append_v2; an offset error saying that the data arrived already (the answer
        to an earlier try was lost, and the SDK sent it again) counts as success."""
        try:
            self._request("upload (append)", uri, lambda c: c.files_upload_session_append_v2(
                data, cursor, content_hash=hexdigest), session=True)
        except OSError as err:
            if "incorrect_offset" not in getattr(err, "dropbox_tags", []):
                raise
            correct = getattr(err, "correct_offset", None)
            if correct != cursor.offset + len(data):
                raise DropboxError(errno.EIO, f"upload: the session is at byte {correct}, not "
                                   f"{cursor.offset + len(data)}", uri, transient=True) from None

    def _download(self, uri: str, local: str) -> None:
        """files/download streamed into ``local``, checked with the content hash."""
        path = dropbox_path(uri)
        if path == "":
            raise IsADirectoryError(errno.EISDIR, "download: the root is a folder", uri)
        metadata, response = self._request("download", uri, lambda c: c.files_download(path))
        hasher = ContentHasher()

        def stream() -> None:
            with contextlib.closing(response), open(local, "wb") as f:
                for piece in response.iter_content(1024 * 1024):
                    hasher.update(piece)
                    f.write(piece)

        try:
            self._request("download", uri, lambda c: stream())
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(local)
            raise
        if metadata.content_hash and hasher.hexdigest() != metadata.content_hash:
            with contextlib.suppress(OSError):
                os.remove(local)
            raise DropboxError(
                errno.EIO, f"download: the content hash of the {hasher.size} bytes received "
                f"is not Dropbox's {metadata.content_hash}", uri, transient=True)


def _ca_session(ca_certs: str) -> Any:
    """A requests session that verifies TLS with ``ca_certs`` only.

    The SDK's own ``ca_certs`` goes into ``session.verify``, which requests replaces
    with ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` whenever one is set (as on many
    clusters and conda environments): the configured bundle would be ignored. Proxies
    from the environment still apply.
    """
    import requests
    from requests.adapters import HTTPAdapter

    class CASession(requests.Session):
        def merge_environment_settings(self, url: Any, proxies: Any, stream: Any,
                                       verify: Any, cert: Any) -> dict[str, Any]:
            merged = super().merge_environment_settings(url, proxies, stream, verify, cert)
            merged["verify"] = self.verify
            return merged

    session = CASession()
    session.verify = ca_certs
    session.mount("https://", HTTPAdapter(pool_connections=4, pool_maxsize=8))
    return session

