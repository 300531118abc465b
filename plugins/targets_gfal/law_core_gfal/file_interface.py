"""The file interface on gfal2: single requests on root://, davs://, gsiftp://, file:// URIs.

gfal2 reports failures as ``gfal2.GError`` with a POSIX errno; they become the matching
``OSError`` subclass (``FileNotFoundError`` for ENOENT, ``ConnectionRefusedError`` for
ECONNREFUSED, ...), which tells the core's failover whether the storage answered or could
not be reached.
"""

from __future__ import annotations

import errno
import os
import posixpath
import re
import stat as stat_module
from typing import Any, ClassVar
from urllib.parse import urlsplit

from law_core.plugin import (
    DEFINITIVE_ERRNOS,
    Credential,
    FileInterface,
    StatResult,
    is_definitive,
    redact,
    scheme_of,
)
from law_core_gfal import helper, http_download
from law_core_gfal.context import get_context, gfal2_module, signals_kept
from law_core_gfal.plugin import SCHEMES

#: transfer options of a ``[fs.NAME]`` section and their defaults
TRANSFER_DEFAULTS: dict[str, Any] = {
    "gfal_transfer_timeout": 3600,          # seconds for one file copy
    "gfal_transfer_checksum_check": False,  # compare source and destination checksums
    "gfal_transfer_checksum_type": "ADLER32",
    "gfal_transfer_nbstreams": 1,           # parallel streams (GridFTP)
    "gfal_transfer_overwrite": True,        # replace an existing destination
    "gfal_transfer_create_parent": True,    # create the destination's directory
    "gfal_transfer_strict_copy": False,     # no checks around the copy, only the copy
}

_LOCAL = "file"


#: answers some gfal2 plugins report with an unrelated errno (XRootD: "Not a directory"
#: as EILSEQ), recognized by their text
_ANSWERS_BY_TEXT = {os.strerror(code): code for code in (
    errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.ENOTEMPTY, errno.EACCES,
    errno.EPERM,
)}


#: GridFTP servers put the errno of the failed system call into their reply, under a
#: code of their own (gfal2 reports ECOMM): "451-GridFTP-Errno: 39"
_GRIDFTP_ERRNO = re.compile(r"GridFTP-Errno: (\d+)")


#: after a failed GridFTP request, gfal2 sometimes hands the next one to a Globus client
#: handle that is not idle yet ("GLOBUS_FTP_CLIENT_IDLE not allowed here", as ECOMM): the
#: request was not sent, and asking again gets the server's answer
_BUSY = "not allowed here"
_BUSY_ATTEMPTS = 4


#: the longest name (one path component) that common storage file systems take
NAME_MAX = 255


def _name_too_long(uri: str) -> bool:
    path = urlsplit(uri).path
    return any(len(part.encode("utf-8", "surrogateescape")) > NAME_MAX
               for part in path.split("/"))


def _error(err: Any, uri: str, what: str, *others: str) -> OSError:
    """The OSError for a ``gfal2.GError`` (its ``code`` is an errno); ``others`` are
    further URIs of the request (a copy's destination)."""
    text = str(err).strip()
    code = getattr(err, "code", 0) or errno.EIO
    if code not in DEFINITIVE_ERRNOS:
        match = _GRIDFTP_ERRNO.search(text)
        if match and int(match.group(1)) in DEFINITIVE_ERRNOS:
            code = int(match.group(1))
    if code not in DEFINITIVE_ERRNOS:
        code = next((c for t, c in _ANSWERS_BY_TEXT.items() if t in text), code)
    if ((code not in DEFINITIVE_ERRNOS or code in (errno.EPERM, errno.EACCES))
            and any(_name_too_long(u) for u in (uri, *others))):
        # a name the server's disk refuses as too long: XrdHttp answers "HTTP 500",
        # Apache "HTTP 403"
        code = errno.ENAMETOOLONG
        text = f"{os.strerror(code)} ({text})"
    return OSError(code, f"{what} failed: {redact(text)}", redact(uri))


class GFALFileInterface(FileInterface):
    """gfal2 requests, with the transfer options of law's ``gfal_transfer_*``."""

    schemes: ClassVar[tuple[str, ...]] = (*SCHEMES, _LOCAL)

    config_options: ClassVar[dict[str, str]] = {
        "gfal_transfer_timeout": "int",
        "gfal_transfer_checksum_check": "bool",
        "gfal_transfer_checksum_type": "str",
        "gfal_transfer_nbstreams": "int",
        "gfal_transfer_overwrite": "bool",
        "gfal_transfer_create_parent": "bool",
        "gfal_transfer_strict_copy": "bool",
        # when the X.509 proxy is checked: auto, required or no (law_core_gfal.credentials)
        "x509_proxy": "str",
    }

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.transfer = {**TRANSFER_DEFAULTS, **options}

    def _run(self, what: str, uri: str, func: Any, *args: Any) -> Any:
        gfal2 = gfal2_module()
        for attempt in range(_BUSY_ATTEMPTS):
            try:
                with signals_kept():
                    return func(*args)
            except gfal2.GError as err:
                if _BUSY in str(err) and attempt + 1 < _BUSY_ATTEMPTS:
                    continue  # the request never reached the server: ask again at once
                raise _error(err, uri, what, *(a for a in args if isinstance(a, str))) from None

    # metadata

    def stat(self, uri: str) -> StatResult:
        if helper.needs_helper(uri):
            return helper.call("stat", self.options, uri)  # type: ignore[no-any-return]
        st = self._run("stat", uri, get_context().stat, uri)
        return StatResult(size=st.st_size, mtime=float(st.st_mtime),
                          is_dir=stat_module.S_ISDIR(st.st_mode))

    def listdir(self, uri: str) -> list[str]:
        if helper.needs_helper(uri):
            return helper.call("listdir", self.options, uri)  # type: ignore[no-any-return]
        try:
            names = self._run("listdir", uri, get_context().listdir, uri)
        except IsADirectoryError as err:  # GridFTP's errno for listing a file
            raise NotADirectoryError(errno.ENOTDIR, err.strerror, err.filename) from None
        # GridFTP lists "." and ".." too
        return [n for n in names if n not in (".", "..")]

    def mkdir(self, uri: str) -> None:
        if helper.needs_helper(uri):
            helper.call("mkdir", self.options, uri)
            return
        try:
            self._run("mkdir", uri, get_context().mkdir_rec, uri, 0o755)
        except FileExistsError:
            pass  # some protocols say so for an existing directory

    def remove(self, uri: str) -> None:
        if helper.needs_helper(uri):
            helper.call("remove", self.options, uri)
            return
        self._run("remove", uri, get_context().unlink, uri)

    def rmdir(self, uri: str) -> None:
        if helper.needs_helper(uri):
            helper.call("rmdir", self.options, uri)
            return
        try:
            self._run("rmdir", uri, get_context().rmdir, uri)
        except FileExistsError as err:
            # WebDAV servers refuse to DELETE a full collection with "409 Conflict"
            raise OSError(errno.ENOTEMPTY, err.strerror, err.filename) from None
        except OSError as err:
            # XrdHttp says "HTTP 500" for a full directory: an answer when it has entries
            if is_definitive(err) or not self._has_entries(uri):
                raise
            raise OSError(errno.ENOTEMPTY, err.strerror, err.filename) from None

    def _has_entries(self, uri: str) -> bool:
        try:
            return bool(self.listdir(uri))
        except Exception:
            return False

    def rename(self, src_uri: str, dst_uri: str) -> None:
        if helper.needs_helper(src_uri, dst_uri):
            helper.call("rename", self.options, src_uri, dst_uri)
            return
        ctx = get_context()
        try:
            self._run("rename", src_uri, ctx.rename, src_uri, dst_uri)
        except FileExistsError:
            # protocols that do not replace on rename (WebDAV MOVE without Overwrite)
            self._run("remove", dst_uri, ctx.unlink, dst_uri)
            self._run("rename", src_uri, ctx.rename, src_uri, dst_uri)

    # transfers

    def transfer_parameters(self) -> Any:
        """gfal2 transfer parameters from the options."""
        gfal2 = gfal2_module()
        with signals_kept():
            params = get_context().transfer_parameters()
        options = self.transfer
        params.timeout = int(options["gfal_transfer_timeout"])
        params.nbstreams = int(options["gfal_transfer_nbstreams"])
        params.overwrite = bool(options["gfal_transfer_overwrite"])
        params.create_parent = bool(options["gfal_transfer_create_parent"])
        params.strict_copy = bool(options["gfal_transfer_strict_copy"])
        if options["gfal_transfer_checksum_check"]:
            params.set_checksum(gfal2.checksum_mode.both,
                                str(options["gfal_transfer_checksum_type"]), "")
        return params

    def copy(self, src_uri: str, dst_uri: str) -> None:
        if helper.needs_helper(src_uri, dst_uri, transfer=True):
            # forked from a process whose backend state this one cannot use
            helper.call("copy", self.options, src_uri, dst_uri,
                        timeout=int(self.transfer["gfal_transfer_timeout"]))
        else:
            self.copy_here(src_uri, dst_uri)

    def copy_here(self, src_uri: str, dst_uri: str) -> None:
        """The copy, in this process."""
        remote_to_remote = scheme_of(src_uri) != _LOCAL and scheme_of(dst_uri) != _LOCAL
        helper.mark_transferred()
        if http_download.is_http_download(src_uri, dst_uri):
            http_download.download(self, src_uri, dst_uri)
            return
        try:
            self._run("copy to " + redact(dst_uri), src_uri, get_context().filecopy,
                      self.transfer_parameters(), src_uri, dst_uri)
        except OSError as err:
            if remote_to_remote and (err.errno in (errno.ENOTSUP, errno.EPROTONOSUPPORT) or (
                    err.errno == errno.ENOENT and self._exists_quietly(src_uri))):
                # no third-party copy between these two (Apache's mod_dav answers gfal2's
                # COPY with 404, for a source that is there): the core streams through here
                raise OSError(errno.ENOTSUP, f"no third-party copy: {err.strerror}",
                              err.filename) from None
            if (err.errno == errno.EISDIR and scheme_of(src_uri) == _LOCAL
                    and not self._exists_quietly(posixpath.dirname(dst_uri.rstrip("/")))):
                # a WebDAV server's "409 Conflict" for a missing directory (gfal2: EISDIR)
                raise FileNotFoundError(errno.ENOENT, f"no directory for the file: "
                                        f"{err.strerror}", redact(dst_uri)) from None
            raise

    def _exists_quietly(self, uri: str) -> bool:
        """Whether ``uri`` exists; False when that cannot be asked either."""
        try:
            return self.exists(uri)
        except Exception:
            return False

    # credentials

    def credential(self, uri: str) -> Credential | None:
        """The X.509 proxy that requests on ``uri`` present, as the ``x509_proxy`` option
        says (see :mod:`law_core_gfal.credentials`); the core checks it before each one."""
        from law_core_gfal.credentials import proxy_credential

        return proxy_credential(uri, self.options.get("x509_proxy"))
