"""Real storage servers on loopback for the whole test session (law_core.testing.services):
XRootD, XRootD's WebDAV (XrdHttp), Apache's WebDAV, GridFTP with GSI and anonymous."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# the suites' own asserts show the values they compare (before the suites are imported)
pytest.register_assert_rewrite("law_core.testing.file_interface", "law_core.testing.remote")

from law_core.testing.services import (  # noqa: E402
    ApacheDAVServer,
    GridFTPServer,
    WebDAVServer,
    XRootDServer,
    free_port,
    xrootd_server,
)


@pytest.fixture(scope="session")
def xrootd() -> Iterator[XRootDServer]:
    """The server; its files are below ``xrootd.data``, its URL is ``xrootd.url``."""
    # as root the server runs as nobody, who cannot enter pytest's private tmp directory
    root = tempfile.mkdtemp(prefix="law-core-gfal-tests-")
    os.chmod(root, 0o755)
    try:
        with xrootd_server(root) as url:
            yield url.server
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def webdav(law_core_webdav_server: str) -> WebDAVServer:
    """XRootD's WebDAV server (XrdHttp); ``webdav.url`` is ``davs://127.0.0.1:PORT/``."""
    from law_core_gfal.context import reset_context

    # davix reads X509_CERT_DIR (set by the fixture) when a gfal2 context is created: one
    # made by an earlier test would not trust the server's test CA
    reset_context()
    return law_core_webdav_server.server  # type: ignore[attr-defined]


@pytest.fixture
def public_tmp() -> Iterator[Path]:
    """A temporary directory that the server's user (nobody, under root) may enter."""
    path = Path(tempfile.mkdtemp(prefix="law-core-gfal-test-"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def dead_port() -> int:
    """A port nothing listens on."""
    return free_port()


@pytest.fixture(autouse=True)
def _fresh_singletons(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No user config, freshly discovered plugins, no remembered bad bases."""
    from law_core.config import reset_config
    from law_core.registry import reset_registry
    from law_core.targets.failover import bad_bases

    for key in list(os.environ):
        if key.startswith("LAW_CORE"):
            monkeypatch.delenv(key)
    reset_config()
    reset_registry()
    bad_bases.clear()
    yield
    reset_config()
    reset_registry()
    bad_bases.clear()


def _fresh_context() -> None:
    from law_core_gfal.context import reset_context

    # davix and Globus read X509_CERT_DIR and X509_USER_PROXY (set by the fixtures) when a
    # gfal2 context is created: one made by an earlier test would not know them
    reset_context()


@pytest.fixture(scope="session")
def apache_dav(law_core_apache_dav_server: str) -> ApacheDAVServer:
    """Apache httpd with mod_dav_fs; ``apache_dav.url`` is ``davs://127.0.0.1:PORT/``."""
    _fresh_context()
    return law_core_apache_dav_server.server  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def gridftp(law_core_gridftp_server: str) -> GridFTPServer:
    """globus-gridftp-server with GSI; ``gridftp.url`` is ``gsiftp://127.0.0.1:PORT/<data>/``."""
    _fresh_context()
    return law_core_gridftp_server.server  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def ftp(law_core_ftp_server: str) -> GridFTPServer:
    """globus-gridftp-server for anonymous clients; ``ftp.url`` is ``ftp://127.0.0.1:PORT/<data>/``."""
    return law_core_ftp_server.server  # type: ignore[attr-defined]
