"""The file-interface contract: the few URI-level operations a storage plugin implements.

A storage backend (gfal2, an SDK, ...) only has to answer single requests on full URIs.
:class:`~law_core.targets.remote.RemoteFileSystem` builds everything else on top: bases and
failover between them, retries, the local cache, atomic uploads, recursive removal,
directory walks and target collections.

Errors are the contract's most important part, because failover depends on them. An
operation raises

- a *definitive* error when the storage answered: ``FileNotFoundError`` (missing),
  ``FileExistsError``, ``NotADirectoryError``, ``IsADirectoryError``, ``PermissionError``,
  or an ``OSError`` whose ``errno`` is one of :data:`DEFINITIVE_ERRNOS`. Asking another
  base or asking again would give the same answer, so these are raised to the caller
  at once;
- any other exception when the storage could not be asked (connection refused, timeout,
  a broken door): the file system then tries the next base, and later retries.

Errors that are not about the storage at all (a law-core error such as a missing backend
library, ``ImportError``, ``TypeError``, ...) are raised at once too.

An interface may refine this by overriding :meth:`FileInterface.is_transient`.

Credentials are the other half: a storage that a request reaches with an expired X.509
proxy answers oddly (a TLS alert, a reset connection, on some servers "no such file"), and
"no such file" would make law-core run again work that exists. So an interface that
presents a credential says which one, and until when, through
:meth:`FileInterface.credential`; before every request the remote file system checks it
(:meth:`FileInterface.check_credential`) and raises a
:class:`~law_core.errors.CredentialError` (never asking the storage) once it has ended.
The same answer lets workflows refuse to submit jobs that would outlive the credential.
"""

from __future__ import annotations

import errno
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, ClassVar

from law_core.errors import CredentialError, LawCoreError
from law_core.settings import OptionSpec, Settings
from law_core.targets.file_system import StatResult

#: errnos that are the storage's answer, not a failure to reach it
DEFINITIVE_ERRNOS = frozenset({
    errno.ENOENT, errno.EEXIST, errno.ENOTDIR, errno.EISDIR, errno.ENOTEMPTY, errno.EACCES,
    errno.EPERM, errno.EINVAL, errno.ENAMETOOLONG, errno.ENOTSUP, errno.ENODEV, errno.EROFS,
    errno.ENOSPC, errno.EDQUOT,
})

_DEFINITIVE_TYPES = (
    FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError, PermissionError,
)

#: errors that are not about reaching the storage (a missing library, a bug, a bad
#: configuration): asking again or elsewhere would not help either
_NOT_ABOUT_THE_STORAGE = (
    LawCoreError, ImportError, TypeError, AttributeError, NameError, NotImplementedError,
)


def utc_text(when: datetime) -> str:
    """``when`` as messages show it: ``2026-11-30 12:00 UTC``."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class Credential:
    """What a storage request presents to say who asks, as far as law-core checks it.

    ``name`` says which one in messages ("the X.509 proxy /tmp/x509up_u1000"),
    ``valid_until`` is when it ends (timezone-aware), ``renew`` tells how to get a new one
    ("renew it with voms-proxy-init"). A credential held in a file names it in ``path``,
    with the ``variable`` through which tools find it (``X509_USER_PROXY``): jobs on
    workers that share no file system with this host then take the file with them."""

    name: str
    valid_until: datetime
    renew: str = "renew it"
    path: str | None = None
    variable: str | None = None

    def expired(self, now: datetime | None = None) -> bool:
        return self.valid_until <= (now or datetime.now(timezone.utc))

    def expired_error(self) -> CredentialError:
        """The error of a request made with this credential after it ended."""
        reason = f"{self.name} expired at {utc_text(self.valid_until)}"
        return CredentialError(f"{reason}; {self.renew}", reason=reason,
                               valid_until=self.valid_until)


def is_definitive(err: BaseException) -> bool:
    """Whether ``err`` is the storage's answer, or no failure to reach it (see the module
    docstring)."""
    if isinstance(err, (*_DEFINITIVE_TYPES, *_NOT_ABOUT_THE_STORAGE)):
        return True
    return isinstance(err, OSError) and err.errno in DEFINITIVE_ERRNOS


class FileInterface(ABC):
    """Single requests on full URIs; subclassed by storage plugins.

    Primitives (all take full URIs, e.g. ``root://host//store/x.root``):

    ``stat(uri) -> StatResult``
        size, mtime (seconds since the epoch) and kind; ``FileNotFoundError`` if missing.
    ``listdir(uri) -> list[str]``
        the names in a directory (not paths; no ``.``/``..``), in one request however
        many entries; ``FileNotFoundError`` if missing.
    ``mkdir(uri)``
        create a directory and its missing parents; no error when it exists.
    ``remove(uri)``
        remove a file; ``FileNotFoundError`` if missing.
    ``rmdir(uri)``
        remove an *empty* directory (recursion is built on listdir/remove by the caller).
    ``rename(src_uri, dst_uri)``
        move a file within one storage, *replacing* ``dst_uri`` when it exists (atomic
        uploads write a temporary name and rename it).
    ``copy(src_uri, dst_uri)``
        copy a file; either side may be a local ``file://`` URI (upload, download) or both
        on storage (a third-party copy). The destination's directory exists. Raise
        ``OSError(errno.ENOTSUP, ...)`` when the two URIs cannot be copied directly (no
        third-party copy between them): the caller then streams through a local file.

    ``exists(uri)`` has a default built on ``stat``. ``credential(uri)`` names the
    credential requests present (default: none); the core checks it before each primitive.

    The backend's own options are declared once, as a
    :class:`~law_core.settings.Settings` dataclass named by ``settings_cls``: their
    kinds, defaults and help. A ``[fs.NAME]`` section may set them (parsed by their
    kinds, errors naming the line), or the file system's arguments; either way they reach
    ``__init__`` as keyword arguments (``self.options``), and
    ``settings_cls.resolve(self.options)`` gives the settings in effect: those options,
    else the settings' own section (process-wide ones, like ``[dropbox]``), else the
    declared defaults. ``config_options`` (name -> ``"str"``, ``"int"``, ``"float"``,
    ``"bool"`` or ``"size"``) is the older spelling of the names and kinds alone.
    """

    #: URI schemes this interface can reach (informational, and for copy decisions)
    schemes: ClassVar[tuple[str, ...]] = ()

    #: the backend's options (see the class docstring)
    settings_cls: ClassVar[type[Settings] | None] = None

    #: the older spelling, for interfaces not on settings: name -> kind
    config_options: ClassVar[dict[str, str]] = {}

    def __init__(self, **options: Any):
        known = self.option_kinds()
        unknown = set(options) - set(known)
        if unknown:
            raise TypeError(
                f"{type(self).__name__} got unknown options {sorted(unknown)}; "
                f"known: {sorted(known)}"
            )
        self.options = options

    @classmethod
    def option_kinds(cls) -> dict[str, str | OptionSpec]:
        """The options the interface takes: name -> the declared option (which parses its
        values), or the kind of an older ``config_options`` entry."""
        if cls.settings_cls is not None:
            return dict(cls.settings_cls.specs())
        return dict(cls.config_options)

    @abstractmethod
    def stat(self, uri: str) -> StatResult:
        """Size, mtime and kind of ``uri``."""

    def exists(self, uri: str) -> bool:
        try:
            self.stat(uri)
        except FileNotFoundError:
            return False
        return True

    @abstractmethod
    def listdir(self, uri: str) -> list[str]:
        """Names in the directory ``uri``, one request."""

    @abstractmethod
    def mkdir(self, uri: str) -> None:
        """Create the directory ``uri`` with its parents; fine when it exists."""

    @abstractmethod
    def remove(self, uri: str) -> None:
        """Remove the file ``uri``."""

    @abstractmethod
    def rmdir(self, uri: str) -> None:
        """Remove the empty directory ``uri``."""

    @abstractmethod
    def rename(self, src_uri: str, dst_uri: str) -> None:
        """Move ``src_uri`` to ``dst_uri`` on one storage, replacing ``dst_uri``."""

    @abstractmethod
    def copy(self, src_uri: str, dst_uri: str) -> None:
        """Copy one file between two URIs (``file://`` on one side, or third-party)."""

    def is_transient(self, err: BaseException) -> bool:
        """Whether ``err`` means "could not ask": try another base, retry later."""
        return not is_definitive(err)

    def credential(self, uri: str) -> Credential | None:
        """The credential that requests on ``uri`` present, or None when they present
        none law-core can check (anonymous access, a scheme without credentials).

        Raise :class:`~law_core.errors.CredentialError` when one is needed but missing or
        unreadable; return an ended one as it is (the core raises then, naming its end).
        Asked before every primitive, so keep it cheap: cache what you read from disk
        (keyed by the file's mtime, say). Default: None."""
        return None

    def check_credential(self, uri: str) -> None:
        """Raise :class:`~law_core.errors.CredentialError` when the credential of
        requests on ``uri`` is missing or ended; :class:`RemoteFileSystem` calls this
        before every request, so an interface need not."""
        credential = self.credential(uri)
        if credential is not None and credential.expired():
            raise credential.expired_error()
