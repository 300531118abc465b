"""``law.wlcg``: law's WLCG targets and proxy helpers on law-core-gfal.

:class:`WLCGFileSystem` reads law's configuration: the section named by ``fs=`` (or the
first argument), else the one of ``[target] default_wlcg_fs`` (law's default: ``wlcg_fs``).
Its options are law's: ``base`` (several bases, comma separated, for failover) and
``base_stat``, ``base_listdir``, ``base_filecopy``, ... per operation, ``retries``,
``retry_delay`` (``5s``), ``random_base``, ``validate_copy``, ``cache_root`` (a cache when
set, unless ``use_cache`` is false), ``cache_max_size``, and the ``gfal_transfer_*``
options law-core-gfal has. law-core-gfal orders the bases of each operation by protocol
(listings through XRootD, transfers through XRootD or WebDAV first) unless the section
gives ``base_<op>``. Options of law's permission handling do not apply and are ignored.

The proxy helpers ask ``voms-proxy-info`` where law does (the VO and the identity of a
VOMS proxy). Without it on PATH, ``get_vomsproxy_lifetime``, ``check_vomsproxy_validity``
and ``get_vomsproxy_identity`` read the proxy file itself (the end of its certificates,
its subject); ``get_vomsproxy_vo`` needs ``voms-proxy-info``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import datetime, timezone
from typing import Any, ClassVar

from law_core_gfal import WLCGFileSystem as _CoreWLCGFileSystem

import law_core
from law_core.errors import TargetError

__all__ = [
    "get_userkey", "get_usercert", "get_usercert_subject", "get_vomsproxy_file",
    "get_vomsproxy_identity", "get_vomsproxy_lifetime", "get_vomsproxy_vo",
    "check_vomsproxy_validity", "WLCGFileSystem", "WLCGTarget", "WLCGFileTarget",
    "WLCGDirectoryTarget",
]

#: the OID of the proxyCertInfo extension that marks an RFC 3820 proxy certificate
_RFC3820_OID = "1.3.6.1.5.5.7.1.14"


# --- certificates and proxies ------------------------------------------------------------


def _expand(path: str) -> str:
    return os.path.expandvars(os.path.expanduser(path))


def get_userkey() -> str:
    """The user's grid key: ``$X509_USER_KEY``, else ``~/.globus/userkey.pem``."""
    return _expand(os.getenv("X509_USER_KEY", "$HOME/.globus/userkey.pem"))


def get_usercert() -> str:
    """The user's grid certificate: ``$X509_USER_CERT``, else ``~/.globus/usercert.pem``."""
    return _expand(os.getenv("X509_USER_CERT", "$HOME/.globus/usercert.pem"))


def _certificates(path: str) -> list[Any]:
    from cryptography import x509

    with open(path, "rb") as f:
        data = f.read()
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError:
        raise ValueError(f"{path} holds no PEM certificate") from None


def _subject(cert: Any) -> str:
    """A subject in OpenSSL's one-line form, as ``openssl x509 -subject`` prints it."""
    return ", ".join(f"{attr.rfc4514_attribute_name} = {attr.value}"
                     for attr in cert.subject)


def get_usercert_subject(usercert: str | None = None) -> str:
    """The subject of the user certificate (default: :func:`get_usercert`), by OpenSSL."""
    path = str(usercert or get_usercert())
    if not os.path.exists(path):
        raise Exception(f"usercert does not exist at '{path}'")
    proc = subprocess.run(["openssl", "x509", "-in", path, "-noout", "-subject"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise Exception(f"subject extraction from usercert failed: {proc.stderr.strip()}")
    return re.sub(r"^subject\s*=\s*", "", proc.stdout.strip())


def get_vomsproxy_file() -> str:
    """The proxy file: ``$X509_USER_PROXY``, else ``/tmp/x509up_u<uid>``."""
    if "X509_USER_PROXY" in os.environ:
        return os.environ["X509_USER_PROXY"]
    return f"/tmp/x509up_u{os.getuid()}"


def _proxy(proxy_file: Any) -> str | None:
    if proxy_file is None:
        proxy_file = get_vomsproxy_file()
    return _expand(str(proxy_file)) if proxy_file else None


def _voms_proxy_info(args: list[str], proxy_file: Any) -> tuple[int, str, str] | None:
    """``voms-proxy-info ARGS [--file PROXY]``, or None when it is not installed."""
    if shutil.which("voms-proxy-info") is None:
        return None
    cmd = ["voms-proxy-info", *args]
    path = _proxy(proxy_file)
    if path:
        cmd += ["--file", path]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    return proc.returncode, proc.stdout, proc.stderr


def _read_proxy(proxy_file: Any, silent: bool) -> list[Any] | None:
    path = _proxy(proxy_file) or get_vomsproxy_file()
    try:
        return _certificates(path)
    except (OSError, ValueError) as err:
        if silent:
            return None
        raise Exception(f"cannot read the voms proxy {path}: {err}") from None


def get_vomsproxy_identity(proxy_file: Any = None, silent: bool = False) -> str | None:
    """The identity (the subject of the user's certificate) of the proxy."""
    result = _voms_proxy_info(["--identity"], proxy_file)
    if result is not None:
        code, out, err = result
        if code != 0 and not silent:
            raise Exception(f"voms-proxy-info failed: {err}")
        return out.strip() if code == 0 else None
    certificates = _read_proxy(proxy_file, silent)
    if not certificates:
        return None
    # a proxy's own certificate is issued by the identity it stands for
    cert = certificates[0]
    return _subject(cert) if not _is_proxy(cert) else ", ".join(
        f"{a.rfc4514_attribute_name} = {a.value}" for a in cert.issuer)


def get_vomsproxy_lifetime(proxy_file: Any = None, silent: bool = False) -> int | None:
    """The seconds the proxy is still valid (0 when it expired); None when it cannot be
    read and ``silent``."""
    result = _voms_proxy_info(["--timeleft"], proxy_file)
    if result is not None:
        code, out, err = result
        if code != 0:
            if silent:
                return None
            raise Exception(f"voms-proxy-info failed: {err}")
        try:
            return int(out)
        except ValueError:
            if silent:
                return None
            raise Exception(f"no valid lifetime found in voms proxy: {out}") from None
    certificates = _read_proxy(proxy_file, silent)
    if not certificates:
        return None
    end = min(c.not_valid_after_utc for c in certificates)
    return max(0, int((end - datetime.now(timezone.utc)).total_seconds()))


def get_vomsproxy_vo(proxy_file: Any = None, silent: bool = False) -> str | None:
    """The virtual organisation of the proxy (needs ``voms-proxy-info``)."""
    result = _voms_proxy_info(["--vo"], proxy_file)
    if result is None:
        if silent:
            return None
        raise Exception("get_vomsproxy_vo needs voms-proxy-info, which is not on PATH "
                        "(install voms-clients)")
    code, out, err = result
    if code != 0 and not silent:
        raise Exception(f"voms-proxy-info failed: {err}")
    return out.strip() if code == 0 else None


def _is_proxy(cert: Any) -> bool:
    return any(ext.oid.dotted_string == _RFC3820_OID for ext in cert.extensions)


def check_vomsproxy_validity(return_rfc: bool = False,
                             proxy_file: Any = None) -> bool | tuple[bool, bool]:
    """Whether a proxy exists and is still valid; with ``return_rfc`` also whether it is
    an RFC 3820 proxy certificate: ``(valid, rfc)``."""
    path = _proxy(proxy_file) or get_vomsproxy_file()
    result = _voms_proxy_info(["--exists"], proxy_file)
    if result is not None and result[0] != 0:
        if not result[2].strip().lower().startswith("proxy not found"):
            raise Exception(f"voms-proxy-info failed: {result[2]}")
        return (False, False) if return_rfc else False
    if result is None and not os.path.exists(path):
        return (False, False) if return_rfc else False
    lifetime = get_vomsproxy_lifetime(proxy_file=proxy_file, silent=True)
    valid = bool(lifetime and lifetime > 0)
    rfc = False
    if valid and return_rfc:
        certificates = _read_proxy(proxy_file, silent=True) or []
        rfc = bool(certificates) and _is_proxy(certificates[0])
    return (valid, rfc) if return_rfc else valid


# --- the file system and targets ---------------------------------------------------------


def default_section() -> str:
    """``[target] default_wlcg_fs`` of law's config (law's default: ``wlcg_fs``)."""
    from law.config import Config

    return Config.instance().get_expanded("target", "default_wlcg_fs", default=None) \
        or "wlcg_fs"


class WLCGFileSystem(_CoreWLCGFileSystem):
    """law's ``WLCGFileSystem(section=None, **kwargs)``: options from law's config section
    (see the module), which keyword arguments override; a law-core-gfal WLCG file
    system."""

    default_instance: ClassVar[WLCGFileSystem]

    def __init__(self, section: str | None = None, **kwargs: Any):
        from law.config import Config
        from law.target.remote import backend_kinds, remote_fs_arguments, section_options

        section = section or default_section()
        options: dict[str, Any] = {}
        if "base" not in kwargs or Config.instance().has_section(section):
            options = section_options(section, backend_kinds(_CoreWLCGFileSystem))
        options.update(kwargs)
        self.config_section = section
        base, arguments = remote_fs_arguments(options, section)
        super().__init__(base, **arguments)


class _DefaultInstance:
    """``WLCGFileSystem.default_instance``: the file system of the default section, made
    when first read (law makes it on import, and warns when it cannot)."""

    instance: WLCGFileSystem | None = None

    def __get__(self, obj: Any, owner: type) -> WLCGFileSystem:
        if self.instance is None:
            self.instance = WLCGFileSystem()
        return self.instance


WLCGFileSystem.default_instance = _DefaultInstance()  # type: ignore[assignment]


def _resolve(fs: Any) -> Any:
    if fs is None:
        return WLCGFileSystem.default_instance
    if isinstance(fs, str):
        return WLCGFileSystem(fs)
    if not isinstance(fs, law_core.RemoteFileSystem):
        raise TargetError(f"fs must be a WLCGFileSystem or the name of its law config "
                          f"section, not {fs!r}")
    return fs


class WLCGTarget:
    """What law's WLCG targets share: ``fs`` is a file system, the name of a law config
    section, or None for the default one; children are WLCG targets too."""

    def _file_type(self) -> type:
        return WLCGFileTarget

    def _directory_type(self) -> type:
        return WLCGDirectoryTarget


class WLCGFileTarget(WLCGTarget, law_core.RemoteFileTarget):
    """A file on a WLCG storage element (law's ``law.wlcg.WLCGFileTarget``)."""

    def __init__(self, path: str, fs: Any = None, **kwargs: Any):
        super().__init__(path, _resolve(fs))


class WLCGDirectoryTarget(WLCGTarget, law_core.RemoteDirectoryTarget):
    """A directory on a WLCG storage element (law's ``law.wlcg.WLCGDirectoryTarget``)."""

    def __init__(self, path: str, fs: Any = None, **kwargs: Any):
        super().__init__(path, _resolve(fs))
