"""The X.509 proxy that gfal2 presents, read by law-core before each request.

A request made with an expired proxy gets odd answers: a TLS alert from a WebDAV door, a
connection reset on a listing, from some storage "no such file" (law issue #60: outputs
shown as absent, work done again). So law-core reads the proxy's end itself, and once it
has passed the storage is "unreachable: the X.509 proxy ... expired at ...", never asked.

The proxy is the file gfal2's protocol plugins (XRootD, HTTP, GridFTP, SRM) read:
``X509_USER_PROXY``, else ``/tmp/x509up_u<uid>``, where voms-proxy-init and grid-proxy-init
put it. It ends with the earliest end of the certificates in the file (the proxy and the
user certificate it was made from). VOMS attributes, which may end sooner, are not read.

The option ``x509_proxy`` (``[gfal]`` for every file system, ``[fs.NAME]`` for one) says
when the proxy is checked:

``auto`` (default)
    when one is in use: ``X509_USER_PROXY`` is set or the default file exists. Without one
    nothing is checked (anonymous or token access).
``required``
    always: a missing proxy is an error as well.
``no``
    never (storage reached without X.509; a stale proxy file lying around then stops
    nothing).

Only URIs whose requests may present a proxy are checked (:data:`PROXY_SCHEMES`), never
``file://`` or plain ``http://``.
"""

from __future__ import annotations

import os
import threading
from datetime import datetime

from law_core.plugin import ConfigError, Credential, CredentialError, get_config, scheme_of

#: schemes whose requests may present an X.509 proxy
PROXY_SCHEMES = frozenset({"root", "xroot", "davs", "https", "gsiftp", "srm"})

#: values of the ``x509_proxy`` option
MODES = ("auto", "required", "no")

#: what to do about an ended proxy, and about a missing one
RENEW = "renew it with voms-proxy-init (or grid-proxy-init)"
CREATE = "create one with voms-proxy-init (or grid-proxy-init)"

_ends: dict[tuple[str, int, int, int], datetime] = {}
_lock = threading.Lock()


def proxy_path() -> tuple[str, bool]:
    """The proxy file requests present, and whether ``X509_USER_PROXY`` named it."""
    given = os.environ.get("X509_USER_PROXY")
    if given:
        return given, True
    return f"/tmp/x509up_u{os.getuid()}", False


def proxy_mode(option: str | None) -> str:
    """The ``x509_proxy`` mode in effect: the file system's option, else ``[gfal]``'s."""
    where = "x509_proxy of the file system"
    if option is None:
        option, where = get_config().get("gfal", "x509_proxy", default="auto"), \
            "[gfal] x509_proxy"
    mode = str(option).strip().lower() or "auto"
    if mode not in MODES:
        raise ConfigError(f"{where} = {option!r}: expected one of {', '.join(MODES)}")
    return mode


def proxy_credential(uri: str, option: str | None = None) -> Credential | None:
    """The proxy that requests on ``uri`` present (see the module docstring), or None; a
    :class:`CredentialError` when one is needed but missing or unreadable."""
    if scheme_of(uri) not in PROXY_SCHEMES:
        return None
    mode = proxy_mode(option)
    if mode == "no":
        return None
    path, named = proxy_path()
    try:
        valid_until = not_after(path)
    except FileNotFoundError:
        if mode == "auto" and not named:
            return None  # no proxy in use: anonymous (or token) access
        reason = (f"no X.509 proxy: X509_USER_PROXY names {path}, which does not exist"
                  if named else f"no X.509 proxy: x509_proxy = required, but X509_USER_PROXY "
                  f"is not set and {path} does not exist")
        raise CredentialError(f"{reason}; {CREATE}", reason=reason) from None
    except (OSError, ValueError) as err:
        reason = f"the X.509 proxy {path} cannot be read ({err})"
        raise CredentialError(f"{reason}; {CREATE}", reason=reason) from None
    return Credential(f"the X.509 proxy {path}", valid_until, RENEW, path=path,
                      variable="X509_USER_PROXY")


def not_after(path: str) -> datetime:
    """When the certificates in the PEM file ``path`` end (the earliest), read once per
    version of the file; FileNotFoundError when it is missing, ValueError when it holds
    no certificate."""
    st = os.stat(path)
    key = (path, st.st_ino, st.st_mtime_ns, st.st_size)
    end = _ends.get(key)
    if end is None:
        from cryptography import x509

        with open(path, "rb") as f:
            data = f.read()
        try:
            certificates = x509.load_pem_x509_certificates(data)
        except ValueError:
            raise ValueError("no PEM certificate in it") from None
        end = min(cert.not_valid_after_utc for cert in certificates)
        with _lock:
            _ends[key] = end
    return end
