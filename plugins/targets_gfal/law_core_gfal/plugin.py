"""The hooks of law-core-gfal: cheap to import (no gfal2 here), see law_core.hookspecs."""

from __future__ import annotations

from law_core.hookspecs import hookimpl

#: the schemes the gfal2 protocol plugins serve: xrootd (root, xroot), http (davs, dav,
#: https, http), gridftp (gsiftp, and ftp for anonymous GridFTP), srm. ``file`` belongs to
#: the core's local file system; ``file://`` bases inside a gfal file system work all the same.
SCHEMES = ("root", "xroot", "davs", "dav", "https", "http", "gsiftp", "ftp", "srm")

#: process-wide options of the gfal2 context, section [gfal]
CONFIG_DEFAULTS = {
    # XRootD client (XrdCl) settings, applied when the first context is created unless
    # the XRD_* environment variable is set: fail fast on a dead door and let law-core's
    # failover and retries decide what to do, instead of XrdCl waiting minutes
    "xrootd_connection_retry": "1",
    "xrootd_connection_window": "10",
    "xrootd_stream_error_window": "0",
    "xrootd_request_timeout": "300",
    # when law-core checks the X.509 proxy before a request: auto (when one is in use),
    # required, no (law_core_gfal.credentials); [fs.NAME] x509_proxy for one file system
    "x509_proxy": "auto",
    # gfal2's HTTP plugin asks the server for a bearer token (a macaroon) before every
    # request: only third-party copies between token-aware servers (dCache, XRootD with
    # macaroons) need one, and it costs a request each time (a davs:// upload made 19
    # requests, at half the speed of davix-put); true turns it back on
    "http_bearer_token": "false",
}


@hookimpl
def law_core_file_systems() -> list:
    from law_core.records import FileSystemRecord

    return [
        FileSystemRecord(
            "gfal", "law_core_gfal.file_system:GFALFileSystem",
            "grid storage through gfal2 (XRootD, WebDAV, GridFTP, SRM)",
            schemes=SCHEMES, config_section="gfal",
        ),
    ]


@hookimpl
def law_core_config_defaults() -> dict[str, dict[str, str]]:
    return {"gfal": dict(CONFIG_DEFAULTS)}
