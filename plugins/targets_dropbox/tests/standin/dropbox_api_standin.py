"""A STAND-IN for the Dropbox API v2, for law-core-dropbox's tests. It is not Dropbox.

The Dropbox service cannot be reached from the machines the tests run on, so the tests run
the official ``dropbox`` SDK, unchanged, against this local server, on loopback only. It
speaks the subset of the API v2 that law-core-dropbox uses, with Dropbox's request and
response formats:

- two hosts, like ``api.dropboxapi.com`` and ``content.dropboxapi.com``: two HTTPS
  listeners on 127.0.0.1 with a certificate made at test time (:func:`make_certificates`),
  which the SDK trusts through its ``ca_certs`` argument. The SDK is pointed at them with
  its own environment variables ``DROPBOX_API_HOST`` and ``DROPBOX_API_CONTENT_HOST``
  (read when the SDK is imported; :meth:`DropboxStandIn.sdk_environment`);
- RPC endpoints on the API host, JSON argument in the body and JSON result:
  ``files/get_metadata``, ``files/list_folder``, ``files/list_folder/continue`` (paging
  cursors, ``page_size`` entries a page), ``files/create_folder_v2``, ``files/delete_v2``,
  ``files/copy_v2``, ``files/move_v2``; and ``/oauth2/token`` (the ``refresh_token``
  grant, form-encoded, as the SDK refreshes its access token);
- content endpoints on the content host, argument in the ``Dropbox-API-Arg`` header:
  ``files/upload``, ``files/upload_session/start``, ``append_v2`` and ``finish`` (JSON
  result in the body), ``files/download`` (result in the ``Dropbox-API-Result`` header,
  the file in the body); a route on the wrong host is refused with 400;
- errors as Dropbox sends them: 409 with ``{"error_summary": "path/not_found/...",
  "error": {".tag": "path", "path": {".tag": "not_found"}}}`` for endpoint errors, 400
  with a text body for malformed calls, 401 with ``{"error": {".tag":
  "expired_access_token"}}`` (or ``invalid_access_token``), 429 with ``Retry-After``,
  5xx; the OAuth endpoint answers 400 ``{"error": "invalid_grant"}`` for a refresh token
  it does not know;
- Dropbox's semantics that the plugin relies on: case-insensitive paths that keep their
  display case, parent folders created implicitly, uploads that appear only when
  committed (``mode`` add/overwrite), move and copy that fail on an existing destination
  (``to/conflict/file``), ``delete_v2`` of a folder with its contents, the content hash
  (SHA-256 of the SHA-256s of 4 MiB blocks) checked on every upload call that sends one
  and reported in the metadata, 150 MiB at most in one request.

Test controls: :meth:`~DropboxStandIn.inject` answers the next request(s) of a route with
429 (and ``Retry-After``) or a 5xx; ``dead_prefixes`` makes requests naming a path below a
prefix end with a dropped connection and no answer, as an unreachable door would;
:meth:`~DropboxStandIn.stop` and :meth:`~DropboxStandIn.start` take both hosts away and
bring them back on the same ports, files kept; :meth:`~DropboxStandIn.expire_access_tokens`
and :meth:`~DropboxStandIn.revoke_refresh_tokens`; ``log`` records every request (route,
host, status, argument, times) for the tests to check what the SDK sent.

Files are kept below ``root`` (one blob file per file version); upload bodies are read in
1 MiB pieces into files, so large uploads do not sit in memory.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import os
import posixpath
import secrets
import shutil
import socket
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

#: Dropbox's limit for the data of one request
MAX_REQUEST_DATA = 150 * 1024 * 1024
BLOCK_SIZE = 4 * 1024 * 1024

RPC_ROUTES = frozenset({
    "files/get_metadata", "files/list_folder", "files/list_folder/continue",
    "files/create_folder_v2", "files/delete_v2", "files/copy_v2", "files/move_v2",
})
UPLOAD_ROUTES = frozenset({
    "files/upload", "files/upload_session/start", "files/upload_session/append_v2",
    "files/upload_session/finish",
})
DOWNLOAD_ROUTES = frozenset({"files/download"})
OAUTH_ROUTE = "oauth2/token"


# answers


class Answer(Exception):
    """An HTTP answer other than the route's result."""

    def __init__(self, status: int, body: Any, content_type: str = "application/json",
                 headers: dict[str, str] | None = None):
        super().__init__(status)
        self.status = status
        self.body = body if isinstance(body, bytes) else (
            json.dumps(body).encode() if content_type == "application/json" else
            str(body).encode())
        self.content_type = content_type
        self.headers = headers or {}


def _summary(error: Any) -> str:
    """Dropbox's error_summary of an error union: the tag chain, ``path/not_found/...``."""
    tags = []
    value = error
    while isinstance(value, dict) and ".tag" in value:
        tag = value[".tag"]
        tags.append(tag)
        value = value.get(tag, value.get("reason"))
    return "/".join(tags) + "/..."


def endpoint_error(error: dict[str, Any]) -> Answer:
    """An endpoint error: HTTP 409 with the error union and its summary."""
    return Answer(409, {"error_summary": _summary(error), "error": error})


def bad_request(route: str, text: str) -> Answer:
    return Answer(400, f'Error in call to API function "{route}": {text}', "text/plain")


def not_found() -> dict[str, Any]:
    return {".tag": "not_found"}


def conflict(kind: str) -> dict[str, Any]:
    return {".tag": "conflict", "conflict": {".tag": kind}}


# hashing


def content_hash_of_file(path: str | os.PathLike[str], start: int = 0,
                         length: int | None = None) -> str:
    """Dropbox's content hash of a file (or of ``length`` bytes from ``start``)."""
    overall = hashlib.sha256()
    with open(path, "rb") as f:
        f.seek(start)
        left = length if length is not None else os.fstat(f.fileno()).st_size - start
        while left > 0:
            block = f.read(min(BLOCK_SIZE, left))
            if not block:
                break
            left -= len(block)
            overall.update(hashlib.sha256(block).digest())
    return overall.hexdigest()


# the namespace


@dataclass
class Entry:
    kind: str  # "file" or "folder"
    display: str
    id: str
    rev: str = ""
    size: int = 0
    server_modified: str = ""
    client_modified: str = ""
    content_hash: str = ""
    blob: str = ""

    def metadata(self) -> dict[str, Any]:
        md: dict[str, Any] = {
            ".tag": self.kind,
            "name": posixpath.basename(self.display),
            "id": self.id,
            "path_lower": self.display.lower(),
            "path_display": self.display,
        }
        if self.kind == "file":
            md.update({
                "client_modified": self.client_modified,
                "server_modified": self.server_modified,
                "rev": self.rev,
                "size": self.size,
                "is_downloadable": True,
                "content_hash": self.content_hash,
            })
        return md


@dataclass
class Session:
    id: str
    data: str
    size: int = 0
    closed: bool = False


@dataclass
class Record:
    """One request the stand-in received."""

    time: float           # time.monotonic() when the request's body had arrived
    host: str             # "api" or "content"
    route: str
    arg: Any = None
    data_size: int = 0
    status: int = 0       # 0: the connection was dropped
    answered: float = 0.0


@dataclass
class Fault:
    route: str
    status: int
    times: int
    retry_after: int | None = None


@dataclass
class Listing:
    path: str
    remaining: list[dict[str, Any]] = field(default_factory=list)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _new_id() -> str:
    return "id:" + secrets.token_urlsafe(16)


def _parent(path_lower: str) -> str:
    return posixpath.dirname(path_lower) if path_lower.count("/") > 1 else ""


class DropboxStandIn:
    """The stand-in's state and its two HTTPS hosts (see the module docstring)."""

    def __init__(self, root: str | os.PathLike[str], certfile: str, keyfile: str,
                 app_key: str = "standin-app-key", app_secret: str = "standin-app-secret",
                 page_size: int = 25):
        self.root = Path(root)
        (self.root / "blobs").mkdir(parents=True, exist_ok=True)
        (self.root / "spool").mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self.entries: dict[str, Entry] = {}
        self.sessions: dict[str, Session] = {}
        self.listings: dict[str, Listing] = {}
        self.apps = {app_key: app_secret}
        self.app_key, self.app_secret = app_key, app_secret
        self.refresh_tokens: dict[str, str] = {}
        self.access_tokens: dict[str, float] = {}
        self.access_token_lifetime = 4 * 3600
        self.page_size = page_size
        self.dead_prefixes: set[str] = set()
        self.faults: list[Fault] = []
        self.log: list[Record] = []
        self._rev = 0x1000000000
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(certfile, keyfile)
        # the ports are taken now, so that the SDK can be told about them before it is
        # imported; the hosts answer from start() on
        self._sockets = {role: _listen(0) for role in ("api", "content")}
        self.ports = {role: s.getsockname()[1] for role, s in self._sockets.items()}
        self._servers: dict[str, _Server] = {}
        self._connections: set[ssl.SSLSocket] = set()

    # addresses

    @property
    def api_host(self) -> str:
        return f"127.0.0.1:{self.ports['api']}"

    @property
    def content_host(self) -> str:
        return f"127.0.0.1:{self.ports['content']}"

    def sdk_environment(self) -> dict[str, str]:
        """The SDK's own variables that send it here (set before it is imported)."""
        return {"DROPBOX_API_HOST": self.api_host,
                "DROPBOX_API_CONTENT_HOST": self.content_host}

    # starting and stopping

    def start(self) -> None:
        with self.lock:
            for role in ("api", "content"):
                if role in self._servers:
                    continue
                sock = self._sockets.pop(role, None) or _listen(self.ports[role])
                server = _Server(("127.0.0.1", self.ports[role]), _Handler,
                                 bind_and_activate=False)
                server.socket.close()
                server.socket = sock
                server.server_address = sock.getsockname()
                server.server_name, server.server_port = "127.0.0.1", self.ports[role]
                server.standin, server.role = self, role
                threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                 name=f"dropbox-standin-{role}", daemon=True).start()
                self._servers[role] = server

    def stop(self) -> None:
        """Both hosts go away: listeners closed, open connections cut."""
        with self.lock:
            servers, self._servers = self._servers, {}
            connections, self._connections = set(self._connections), set()
        for server in servers.values():
            server.shutdown()
            server.server_close()
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self.stop()
        for sock in self._sockets.values():
            sock.close()
        self._sockets.clear()

    def _track(self, conn: ssl.SSLSocket, add: bool) -> None:
        with self.lock:
            (self._connections.add if add else self._connections.discard)(conn)

    # credentials

    def issue_refresh_token(self) -> str:
        token = "standin-refresh-" + secrets.token_urlsafe(24)
        with self.lock:
            self.refresh_tokens[token] = self.app_key
        return token

    def issue_access_token(self, lifetime: float | None = None) -> str:
        """An access token valid for ``lifetime`` seconds (None: until expired by hand)."""
        token = "sl.standin-" + secrets.token_urlsafe(32)
        with self.lock:
            self.access_tokens[token] = time.time() + lifetime if lifetime else float("inf")
        return token

    def expire_access_tokens(self) -> None:
        with self.lock:
            for token in self.access_tokens:
                self.access_tokens[token] = 0.0

    def revoke_refresh_tokens(self) -> None:
        with self.lock:
            self.refresh_tokens.clear()

    # test controls and inspection

    def inject(self, route: str, status: int, times: int = 1,
               retry_after: int | None = None) -> None:
        """Answer the next ``times`` requests of ``route`` with ``status`` (429, 5xx)."""
        with self.lock:
            self.faults.append(Fault(route, status, times, retry_after))

    def requests(self, route: str | None = None) -> list[Record]:
        with self.lock:
            return [r for r in self.log if route is None or r.route == route]

    def entry(self, path: str) -> Entry | None:
        with self.lock:
            return self.entries.get(path.lower().rstrip("/"))

    def read(self, path: str) -> bytes:
        entry = self.entry(path)
        if entry is None or entry.kind != "file":
            raise FileNotFoundError(path)
        return Path(entry.blob).read_bytes()

    def names(self, path: str) -> list[str]:
        with self.lock:
            lower = path.lower().rstrip("/")
            return sorted(posixpath.basename(e.display) for k, e in self.entries.items()
                          if _parent(k) == lower)

    # the namespace

    def _next_rev(self) -> str:
        self._rev += 1
        return f"{self._rev:x}{secrets.token_hex(2)}"

    def _check_path(self, route: str, path: Any, root: bool = False) -> str:
        if not isinstance(path, str):
            raise bad_request(route, "request body: path: expected a string")
        if path == "" and root:
            return ""
        if not path.startswith("/") or path.endswith("/") or "//" in path or \
                any(part in (".", "..") for part in path.split("/")[1:]):
            raise endpoint_error({".tag": "path", "path": {".tag": "malformed_path"}})
        return path.lower()

    def _ensure_parents(self, path_lower: str, display: str, where: str) -> None:
        """Create the missing folders above ``path`` (Dropbox does); a file among them is
        ``conflict/file_ancestor`` below the error tag ``where``."""
        parts = display.split("/")[1:-1]
        for i in range(1, len(parts) + 1):
            folder = "/" + "/".join(parts[:i])
            entry = self.entries.get(folder.lower())
            if entry is None:
                self.entries[folder.lower()] = Entry("folder", folder, _new_id())
            elif entry.kind == "file":
                raise endpoint_error({".tag": where, where: conflict("file_ancestor")})

    def _children(self, path_lower: str, recursive: bool = False) -> list[str]:
        prefix = path_lower + "/"
        if recursive:
            return sorted(k for k in self.entries if k.startswith(prefix))
        return sorted(k for k in self.entries if _parent(k) == path_lower)

    def _store(self, source: str) -> str:
        """A new blob for the content of the file ``source`` (moved in)."""
        blob = str(self.root / "blobs" / secrets.token_hex(12))
        os.replace(source, blob)
        return blob

    def _commit(self, route: str, path: Any, mode: Any, data_file: str, size: int,
                where: str, session_id: str | None = None) -> dict[str, Any]:
        """A file appears at ``path`` with the content of ``data_file`` (moved in)."""
        path_lower = self._check_path(route, path)
        if isinstance(mode, dict):
            mode_tag, rev = mode.get(".tag"), mode.get("update")
        else:
            mode_tag, rev = mode or "add", None

        def fail(reason: dict[str, Any]) -> Answer:
            if where == "upload":  # UploadError.path is an UploadWriteFailed
                return endpoint_error({".tag": "path", "reason": reason,
                                       "upload_session_id": session_id or "none"})
            return endpoint_error({".tag": where, where: reason})

        existing = self.entries.get(path_lower)
        if existing is not None:
            if existing.kind == "folder":
                raise fail(conflict("folder"))
            if mode_tag == "add" or (mode_tag == "update" and existing.rev != rev):
                raise fail(conflict("file"))
        try:
            self._ensure_parents(path_lower, path, "path")
        except Answer:
            raise fail(conflict("file_ancestor")) from None
        old_blob = existing.blob if existing else None
        entry = Entry("file", path if existing is None else
                      posixpath.join(posixpath.dirname(existing.display),
                                     posixpath.basename(path)),
                      existing.id if existing else _new_id(), rev=self._next_rev(),
                      size=size, server_modified=_now(), client_modified=_now(),
                      content_hash=content_hash_of_file(data_file), blob=self._store(data_file))
        self.entries[path_lower] = entry
        if old_blob:
            _unlink(old_blob)
        return entry.metadata()

    # routes

    def route(self, route: str, arg: Any, data: str | None, data_size: int) -> Any:
        """The result of ``route`` (a JSON value), or an :class:`Answer` raised."""
        handler = getattr(self, "_r_" + route.replace("/", "_"), None)
        if handler is None:
            raise Answer(404, "Unknown API function", "text/plain")
        if route in UPLOAD_ROUTES:
            return handler(arg, data, data_size)
        return handler(arg)

    def _r_files_get_metadata(self, arg: dict[str, Any]) -> Any:
        if arg.get("path") == "":
            raise bad_request("files/get_metadata", "The root folder is unsupported.")
        with self.lock:
            path_lower = self._check_path("files/get_metadata", arg.get("path"))
            entry = self.entries.get(path_lower)
            if entry is None:
                raise endpoint_error({".tag": "path", "path": not_found()})
            return entry.metadata()

    def _r_files_list_folder(self, arg: dict[str, Any]) -> Any:
        with self.lock:
            path_lower = self._check_path("files/list_folder", arg.get("path"), root=True)
            if path_lower:
                entry = self.entries.get(path_lower)
                if entry is None:
                    raise endpoint_error({".tag": "path", "path": not_found()})
                if entry.kind != "folder":
                    raise endpoint_error({".tag": "path", "path": {".tag": "not_folder"}})
            entries = [self.entries[k].metadata() for k in
                       self._children(path_lower, bool(arg.get("recursive")))]
            limit = int(arg.get("limit") or 2000)
            cursor = "AAH" + secrets.token_urlsafe(30)
            self.listings[cursor] = Listing(path_lower, entries)
            return self._page(cursor, limit)

    def _r_files_list_folder_continue(self, arg: dict[str, Any]) -> Any:
        with self.lock:
            cursor = arg.get("cursor")
            if cursor not in self.listings:
                raise endpoint_error({".tag": "reset"})
            return self._page(cursor, 2000)

    def _page(self, cursor: str, limit: int) -> dict[str, Any]:
        listing = self.listings[cursor]
        size = max(1, min(limit, self.page_size))
        page, listing.remaining = listing.remaining[:size], listing.remaining[size:]
        return {"entries": page, "cursor": cursor, "has_more": bool(listing.remaining)}

    def _r_files_create_folder_v2(self, arg: dict[str, Any]) -> Any:
        with self.lock:
            path = arg.get("path")
            path_lower = self._check_path("files/create_folder_v2", path)
            existing = self.entries.get(path_lower)
            if existing is not None:
                raise endpoint_error({".tag": "path", "path": conflict(existing.kind)})
            self._ensure_parents(path_lower, path, "path")
            entry = self.entries[path_lower] = Entry("folder", path, _new_id())
            return {"metadata": entry.metadata()}

    def _r_files_delete_v2(self, arg: dict[str, Any]) -> Any:
        with self.lock:
            path_lower = self._check_path("files/delete_v2", arg.get("path"))
            entry = self.entries.get(path_lower)
            if entry is None:
                raise endpoint_error({".tag": "path_lookup", "path_lookup": not_found()})
            for key in [path_lower, *self._children(path_lower, recursive=True)]:
                removed = self.entries.pop(key)
                if removed.blob:
                    _unlink(removed.blob)
            return {"metadata": entry.metadata()}

    def _r_files_copy_v2(self, arg: dict[str, Any]) -> Any:
        return self._relocate("files/copy_v2", arg, move=False)

    def _r_files_move_v2(self, arg: dict[str, Any]) -> Any:
        return self._relocate("files/move_v2", arg, move=True)

    def _relocate(self, route: str, arg: dict[str, Any], move: bool) -> Any:
        with self.lock:
            src, dst = arg.get("from_path"), arg.get("to_path")
            if src == "":
                raise endpoint_error({".tag": "from_lookup",
                                      "from_lookup": {".tag": "malformed_path"}})
            src_lower = self._check_path(route, src)
            dst_lower = self._check_path(route, dst)
            entry = self.entries.get(src_lower)
            if entry is None:
                raise endpoint_error({".tag": "from_lookup", "from_lookup": not_found()})
            if dst_lower == src_lower:
                raise endpoint_error({".tag": "duplicated_or_nested_paths"})
            if dst_lower.startswith(src_lower + "/"):
                raise endpoint_error({".tag": "cant_move_folder_into_itself"})
            existing = self.entries.get(dst_lower)
            if existing is not None:
                raise endpoint_error({".tag": "to", "to": conflict(existing.kind)})
            self._ensure_parents(dst_lower, dst, "to")
            moved = [src_lower, *self._children(src_lower, recursive=True)]
            for key in moved:
                old = self.entries[key]
                new_display = dst + old.display[len(src):]
                if move:
                    new = Entry(**{**old.__dict__, "display": new_display})
                    del self.entries[key]
                else:
                    new = Entry(**{**old.__dict__, "display": new_display, "id": _new_id()})
                    if old.kind == "file":
                        blob = str(self.root / "blobs" / secrets.token_hex(12))
                        os.link(old.blob, blob)
                        new.blob, new.rev, new.server_modified = blob, self._next_rev(), _now()
                self.entries[new_display.lower()] = new
            return {"metadata": self.entries[dst_lower].metadata()}

    def _check_data(self, route: str, arg: dict[str, Any], data: str, size: int,
                    start: int = 0) -> None:
        if size > MAX_REQUEST_DATA:
            raise endpoint_error({".tag": "payload_too_large"})
        expected = arg.get("content_hash")
        if expected is not None and content_hash_of_file(data, start, size) != expected:
            raise endpoint_error({".tag": "content_hash_mismatch"})

    def _r_files_upload(self, arg: dict[str, Any], data: str, size: int) -> Any:
        self._check_data("files/upload", arg, data, size)
        with self.lock:
            return self._commit("files/upload", arg.get("path"), arg.get("mode"), data, size,
                                "upload")

    def _r_files_upload_session_start(self, arg: dict[str, Any], data: str, size: int) -> Any:
        self._check_data("files/upload_session/start", arg, data, size)
        with self.lock:
            session = Session(secrets.token_hex(16), data, size, bool(arg.get("close")))
            self.sessions[session.id] = session
            return {"session_id": session.id}

    def _session(self, cursor: Any, size: int, where: str | None) -> Session:
        """The session of a cursor at the right offset; lookup errors below ``where``."""

        def fail(error: dict[str, Any]) -> Answer:
            return endpoint_error({".tag": where, where: error} if where else error)

        session = self.sessions.get((cursor or {}).get("session_id"))
        if session is None:
            raise fail(not_found())
        if session.closed:
            raise fail({".tag": "closed"})
        if (cursor or {}).get("offset") != session.size:
            raise fail({".tag": "incorrect_offset", "correct_offset": session.size})
        if session.size + size > 2**41 - 2**22:
            raise fail({".tag": "too_large"})
        return session

    def _append(self, session: Session, data: str, size: int) -> None:
        with open(data, "rb") as src, open(session.data, "ab") as dst:
            shutil.copyfileobj(src, dst, 1024 * 1024)
        session.size += size
        _unlink(data)

    def _r_files_upload_session_append_v2(self, arg: dict[str, Any], data: str,
                                          size: int) -> Any:
        self._check_data("files/upload_session/append_v2", arg, data, size)
        with self.lock:
            session = self._session(arg.get("cursor"), size, None)
            self._append(session, data, size)
            session.closed = bool(arg.get("close"))
            return None

    def _r_files_upload_session_finish(self, arg: dict[str, Any], data: str, size: int) -> Any:
        self._check_data("files/upload_session/finish", arg, data, size)
        with self.lock:
            session = self._session(arg.get("cursor"), size, "lookup_failed")
            self._append(session, data, size)
            commit = arg.get("commit") or {}
            result = self._commit("files/upload_session/finish", commit.get("path"),
                                  commit.get("mode"), session.data, session.size, "path",
                                  session.id)
            del self.sessions[session.id]
            return result

    def open_download(self, arg: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        with self.lock:
            path_lower = self._check_path("files/download", arg.get("path"))
            entry = self.entries.get(path_lower)
            if entry is None:
                raise endpoint_error({".tag": "path", "path": not_found()})
            if entry.kind != "file":
                raise endpoint_error({".tag": "path", "path": {".tag": "not_file"}})
            return entry.metadata(), open(entry.blob, "rb")  # noqa: SIM115

    def oauth_token(self, form: dict[str, str], authorization: str | None) -> dict[str, Any]:
        """The refresh_token grant of /oauth2/token."""
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.startswith("Basic "):
            decoded = base64.b64decode(authorization[6:]).decode()
            client_id, _, client_secret = decoded.partition(":")
        with self.lock:
            if form.get("grant_type") != "refresh_token":
                raise Answer(400, {"error": "unsupported_grant_type",
                                   "error_description": "only refresh_token here"})
            if client_id not in self.apps or (client_secret is not None and
                                              self.apps[client_id] != client_secret):
                raise Answer(400, {"error": "invalid_client",
                                   "error_description": "Invalid client_id or client_secret"})
            if self.refresh_tokens.get(form.get("refresh_token", "")) != client_id:
                raise Answer(400, {"error": "invalid_grant",
                                   "error_description": "refresh token is invalid or revoked"})
            token = "sl.standin-" + secrets.token_urlsafe(32)
            self.access_tokens[token] = time.time() + self.access_token_lifetime
            return {"access_token": token, "token_type": "bearer",
                    "expires_in": int(self.access_token_lifetime)}

    def check_token(self, route: str, authorization: str | None) -> None:
        if not authorization or not authorization.startswith("Bearer "):
            raise bad_request(route, 'Must provide HTTP header "Authorization" or URL '
                                     'parameter "authorization".')
        with self.lock:
            expires = self.access_tokens.get(authorization[len("Bearer "):])
        if expires is None:
            raise Answer(401, {"error_summary": "invalid_access_token/...",
                               "error": {".tag": "invalid_access_token"}})
        if expires <= time.time():
            raise Answer(401, {"error_summary": "expired_access_token/...",
                               "error": {".tag": "expired_access_token"}})

    def fault_for(self, route: str) -> Answer | None:
        with self.lock:
            for fault in self.faults:
                if fault.route == route and fault.times > 0:
                    fault.times -= 1
                    break
            else:
                return None
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        if fault.status == 429:
            return Answer(429, {"error_summary": "too_many_requests/...", "error": {
                "reason": {".tag": "too_many_requests"},
                "retry_after": fault.retry_after or 1}}, headers=headers)
        return Answer(fault.status, "stand-in: injected server error", "text/plain", headers)

    def is_dead(self, route: str, arg: Any) -> bool:
        if not self.dead_prefixes or not isinstance(arg, dict):
            return False
        paths = [arg.get("path"), arg.get("from_path"), arg.get("to_path"),
                 (arg.get("commit") or {}).get("path")]
        if route == "files/list_folder/continue":
            with self.lock:
                listing = self.listings.get(arg.get("cursor"))
            paths.append(listing.path if listing else None)
        return any(isinstance(p, str) and any(
            p.lower() == d or p.lower().startswith(d + "/") for d in self.dead_prefixes)
            for p in paths)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _listen(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(64)
    return sock


# HTTP


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    standin: DropboxStandIn
    role: str

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(60)
        try:
            conn = self.standin.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        self.standin._track(conn, True)
        try:
            self.RequestHandlerClass(conn, client_address, self)
        except (OSError, ssl.SSLError):
            pass
        finally:
            self.standin._track(conn, False)
            try:
                conn.close()
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 120

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # the stand-in's log is DropboxStandIn.log

    def do_POST(self) -> None:  # noqa: N802
        standin, role = self.server.standin, self.server.role
        url = urllib.parse.urlsplit(self.path)
        route = url.path.lstrip("/")
        length = int(self.headers.get("Content-Length") or 0)
        if route == OAUTH_ROUTE:
            self._oauth(standin, role, length)
            return
        if not route.startswith("2/"):
            self._drain(length)
            self._answer(Answer(404, "Not Found", "text/plain"))
            return
        route = route[2:]
        spool, size, arg, body = None, 0, None, b""
        try:
            if route in UPLOAD_ROUTES:
                spool, size = self._spool(length)
            else:
                body = self._drain(length, keep=route in RPC_ROUTES)
            record = Record(time.monotonic(), role, route, None, size)
            with standin.lock:
                standin.log.append(record)
            try:
                arg = self._argument(route, body if route in RPC_ROUTES else None)
                record.arg = arg
                if standin.is_dead(route, arg):
                    self.close_connection = True  # no answer: an unreachable door
                    return
                wanted = "api" if route in RPC_ROUTES else "content"
                if route in RPC_ROUTES | UPLOAD_ROUTES | DOWNLOAD_ROUTES and role != wanted:
                    raise bad_request(route, f"this function is served by the {wanted} host, "
                                             f"not the {role} host")
                standin.check_token(route, self.headers.get("Authorization"))
                fault = standin.fault_for(route)
                if fault is not None:
                    raise fault
                if route in DOWNLOAD_ROUTES:
                    self._download(standin, record, arg)
                    return
                result = standin.route(route, arg, spool, size)
                spool = None if route in UPLOAD_ROUTES else spool
                record.status = 200
                self._answer(Answer(200, result))
            except Answer as answer:
                record.status = answer.status
                self._answer(answer)
            finally:
                record.answered = time.monotonic()
        finally:
            if spool is not None:
                _unlink(spool)

    def _argument(self, route: str, body: bytes | None) -> Any:
        try:
            if route in RPC_ROUTES:
                if self.headers.get("Content-Type", "").split(";")[0] != "application/json":
                    raise bad_request(route, "Bad HTTP \"Content-Type\" header: expected "
                                             "\"application/json\"")
                return json.loads(body or b"null")
            header = self.headers.get("Dropbox-API-Arg")
            if header is None:
                raise bad_request(route, 'Must provide HTTP header "Dropbox-API-Arg" or URL '
                                         'parameter "arg".')
            return json.loads(header)
        except json.JSONDecodeError as err:
            raise bad_request(route, f"could not decode input as JSON: {err}") from None

    def _drain(self, length: int, keep: bool = False) -> bytes:
        if keep:
            return self.rfile.read(length)
        while length > 0:
            piece = self.rfile.read(min(length, 1024 * 1024))
            if not piece:
                break
            length -= len(piece)
        return b""

    def _spool(self, length: int) -> tuple[str, int]:
        """The request body, read in pieces into a file of the stand-in's."""
        path = str(self.server.standin.root / "spool" / secrets.token_hex(12))
        size = 0
        with open(path, "wb") as f:
            while size < length:
                piece = self.rfile.read(min(length - size, 1024 * 1024))
                if not piece:
                    break
                f.write(piece)
                size += len(piece)
        return path, size

    def _download(self, standin: DropboxStandIn, record: Record, arg: Any) -> None:
        metadata, f = standin.open_download(arg)
        with f:
            size = os.fstat(f.fileno()).st_size
            record.status = 200
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.send_header("Dropbox-API-Result", json.dumps(metadata))
            self.send_header("X-Dropbox-Request-Id", secrets.token_hex(16))
            self.end_headers()
            shutil.copyfileobj(f, self.wfile, 1024 * 1024)

    def _oauth(self, standin: DropboxStandIn, role: str, length: int) -> None:
        body = self._drain(length, keep=True)
        record = Record(time.monotonic(), role, OAUTH_ROUTE)
        with standin.lock:
            standin.log.append(record)
        try:
            if role != "api":
                raise Answer(404, "Not Found", "text/plain")
            form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
            record.arg = {k: v for k, v in form.items() if k in ("grant_type", "client_id")}
            result = standin.oauth_token(form, self.headers.get("Authorization"))
            record.status = 200
            self._answer(Answer(200, result))
        except Answer as answer:
            record.status = answer.status
            self._answer(answer)
        finally:
            record.answered = time.monotonic()

    def _answer(self, answer: Answer) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        self.send_header("X-Dropbox-Request-Id", secrets.token_hex(16))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)


# TLS


def make_certificates(directory: str | os.PathLike[str]) -> tuple[str, str, str]:
    """A CA and a server certificate for 127.0.0.1 and localhost signed by it, made now
    with the ``cryptography`` package: ``(ca.pem, server.pem, server.key)``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                            "law-core-dropbox test stand-in CA")])
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_path, cert_path, key_path = (directory / n for n in ("ca.pem", "server.pem",
                                                            "server.key"))
    ca_path.write_bytes(ca_cert.public_bytes(pem))
    cert_path.write_bytes(cert.public_bytes(pem) + ca_cert.public_bytes(pem))
    key_path.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    os.chmod(key_path, 0o600)
    return str(ca_path), str(cert_path), str(key_path)
