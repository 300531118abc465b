"""URIs of remote files: a *base* (where a storage is reached) and a *path* below it.

A remote file system addresses files by absolute paths (``/store/user/x.root``) and turns
them into URIs by joining them to a base (``root://door1.example//store`` +
``/user/x.root``). Several bases may reach the same files (doors, protocols), so the path,
not the URI, is what identifies a file. Helpers here never touch the network.
"""

from __future__ import annotations

import posixpath
import re

from law_core.errors import TargetError

#: schemes whose URIs write an absolute path with two slashes after the host
#: (``root://host//store/x``), as XRootD expects
DOUBLE_SLASH_SCHEMES = frozenset({"root", "xroot", "roots", "xroots"})

_URI = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://([^/?#]*)(.*)$")


def scheme_of(uri: str) -> str | None:
    """The scheme of ``uri`` (``root``), None for a plain path."""
    match = _URI.match(uri)
    return match.group(1).lower() if match else None


def split_uri(uri: str) -> tuple[str, str]:
    """``(base, path)`` for a full URI: the base is ``scheme://authority/`` (the root of
    the server), the path the normalized absolute path on it.

    >>> split_uri("root://host:1094//store/a/../x.root")
    ('root://host:1094//', '/store/x.root')
    """
    match = _URI.match(uri)
    if not match:
        raise TargetError(f"'{uri}' is not a URI (expected scheme://host/path)")
    scheme, authority, rest = match.group(1).lower(), match.group(2), match.group(3)
    query = ""
    if "?" in rest:
        rest, query = rest.split("?", 1)
        query = "?" + query
    base = normalize_base(f"{scheme}://{authority}/{query}")
    return base, normalize_path(rest)


def normalize_path(path: str) -> str:
    """An absolute, normalized path: ``a//b/../c/`` -> ``/a/c``."""
    path = posixpath.normpath("/" + path.lstrip("/"))
    return "/" + path.lstrip("/")


def normalize_base(base: str) -> str:
    """A base in canonical form: ends with ``/``; XRootD bases have ``//`` after the host.

    A query (``?svcClass=x``) stays at the end and is appended to every URI built on it.
    """
    match = _URI.match(base.strip())
    if not match:
        raise TargetError(
            f"base '{base}' is not a URI; a base looks like root://host//path or "
            "davs://host:443/path (a local directory is file:///path)"
        )
    scheme, authority, rest = match.group(1).lower(), match.group(2), match.group(3)
    query = ""
    if "?" in rest:
        rest, query = rest.split("?", 1)
        query = "?" + query
    path = posixpath.normpath("/" + rest.lstrip("/")).lstrip("/")
    lead = "//" if scheme in DOUBLE_SLASH_SCHEMES else "/"
    body = lead + (path + "/" if path and path != "." else "")
    return f"{scheme}://{authority}{body}{query}"


def join_uri(base: str, path: str) -> str:
    """The URI of ``path`` (absolute, normalized) below the canonical ``base``."""
    query = ""
    if "?" in base:
        base, query = base.split("?", 1)
        query = "?" + query
    rel = path.lstrip("/")
    return base + rel + query


_USERINFO = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.\-]*://)[^/@\s]+@")
_SECRET_PARAM = re.compile(
    r"([?&;](?:authz|access_token|token|bearer_token|signature|sig|x-amz-signature|"
    r"x-amz-credential|x-amz-security-token|password)=)[^&\s\"']+",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """``text`` with credentials in URIs (``user:secret@``, ``?authz=...``) masked, for
    logs and error messages."""
    return _SECRET_PARAM.sub(r"\1***", _USERINFO.sub(r"\1***@", str(text)))
