"""pytest fixtures for plugin authors, active wherever law-core is installed (``pytest11``).

They start the real services a backend plugin is tested against, on a developer machine
as in CI:

- ``law_core_slurm_cluster``: a one-node Slurm cluster (munged, slurmctld, slurmd on
  localhost with their own config in a temporary directory); ``SLURM_CONF`` points the
  Slurm tools at it while the session lasts;
- ``law_core_xrootd_server``: an XRootD server on loopback, as its root URL
  (``root://127.0.0.1:PORT//``);
- ``law_core_webdav_server``: XRootD with its HTTP plugin (XrdHttp) on loopback as a
  WebDAV server, as its root URL (``davs://127.0.0.1:PORT/``, ``.server`` is the
  :class:`~law_core.testing.services.WebDAVServer`);
- ``law_core_apache_dav_server``: Apache httpd with mod_dav_fs on loopback, as its root URL
  (``davs://127.0.0.1:PORT/``);
- ``law_core_gridftp_server``: globus-gridftp-server with GSI on loopback, as the URL of its
  data directory (``gsiftp://127.0.0.1:PORT/<absolute path>/``); ``X509_USER_PROXY`` points
  at a proxy of the test user while the session lasts;
- ``law_core_ftp_server``: the same server for anonymous ``ftp://``, no certificates;
- ``law_core_docker_image``: a Docker daemon (the running one, else ``dockerd`` started
  for the session) with a Debian image built locally (debootstrap + docker import; nothing
  is pulled), as its tag.

The TLS servers share one test CA, which ``X509_CERT_DIR`` points at while the session
lasts (davix and Globus read it when a gfal2 context is created: make the context after the
fixture). ``.server`` of each URL is the server (``law_core.testing.services``), to stop
and restart it.

Each is skipped, with the reason, only where the service's binaries are not installed
(looked up on ``LAW_CORE_SERVICE_PATH``, default ``PATH`` and the system directories);
with ``LAW_CORE_REQUIRE_SERVICES=1`` (as in law-core's own CI) a missing binary is an error
instead. Anything else that goes wrong is an error. ``law_core_isolated`` gives a test the
config and plugin registry a fresh process would have.

``law_core_reference_jobs`` makes law-core's reference job manager (``--workflow
processes``, :mod:`law_core.testing.reference_jobs`: jobs as local processes) a plugin for
one test, in this process and, through its ``.env``, in ``law-core`` subprocesses, with a
spool of its own; jobs the test left running are killed after it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import pytest

_SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def unavailable(reason: str) -> NoReturn:
    """Skip the test for want of what it needs (a service, a tool, root), or fail it where
    ``LAW_CORE_REQUIRE_SERVICES=1`` says that everything is there (law-core's CI): a test
    of a real backend must not pass there by being skipped."""
    if os.environ.get("LAW_CORE_REQUIRE_SERVICES") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def _require(binaries: tuple[str, ...], service: str, packages: str) -> None:
    path = os.environ.get("LAW_CORE_SERVICE_PATH",
                          os.pathsep.join([os.environ.get("PATH", ""), _SYSTEM_PATH]))
    missing = [b for b in binaries if shutil.which(b, path=path) is None]
    if missing:
        unavailable(f"{service} needs {', '.join(missing)}, which is not installed here "
                    f"(Debian packages: {packages})")


def _set_environ(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


@contextmanager
def _environ(**values: str) -> Iterator[None]:
    """``os.environ`` with ``values`` set, as it was afterwards."""
    old = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in old.items():
            _set_environ(name, value)


@contextmanager
def _public_tmp(prefix: str) -> Iterator[str]:
    """A temporary directory that nobody (the servers' user under root) may enter."""
    import tempfile

    root = tempfile.mkdtemp(prefix=prefix)
    os.chmod(root, 0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def law_core_isolated() -> Iterator[None]:
    """Config and plugin registry as a fresh process would have them, before and after."""
    from law_core.config import reset_config
    from law_core.registry import reset_registry

    reset_config()
    reset_registry()
    yield
    reset_config()
    reset_registry()


@pytest.fixture(scope="session")
def _law_core_reference_jobs_path(tmp_path_factory: pytest.TempPathFactory):
    from law_core.testing.reference_jobs import install_entry_point

    return install_entry_point(tmp_path_factory.mktemp("law-core-reference-jobs"))


@pytest.fixture
def law_core_reference_jobs(_law_core_reference_jobs_path, tmp_path_factory: pytest.TempPathFactory,
                            monkeypatch: pytest.MonkeyPatch) -> Iterator:
    from law_core.testing.reference_jobs import ReferenceJobs

    jobs = ReferenceJobs(_law_core_reference_jobs_path, tmp_path_factory.mktemp("spool"))
    # through monkeypatch: every later change of sys.path in the test is undone with it
    monkeypatch.syspath_prepend(str(jobs.path))
    _forget_plugins()  # discovered afresh, with the plugin
    yield jobs
    jobs.stop()
    monkeypatch.undo()  # sys.path without the plugin, before it is discovered again
    _forget_plugins()


def _forget_plugins() -> None:
    """The next get_registry() discovers the plugins on the present sys.path: stevedore
    keeps the entry points it found per process, which reset_registry() alone does not
    clear."""
    from stevedore import ExtensionManager

    from law_core.registry import ENTRY_POINT_GROUP, reset_registry

    ExtensionManager.ENTRY_POINT_CACHE.pop(ENTRY_POINT_GROUP, None)
    reset_registry()


@pytest.fixture(scope="session")
def law_core_slurm_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    _require(("munged", "slurmctld", "slurmd", "sbatch", "squeue"), "a Slurm cluster",
             "slurm-wlm munge")
    from law_core.testing.slurm import slurm_cluster

    # a small MaxArraySize, as many sites have: submissions larger than one array are split
    with slurm_cluster(tmp_path_factory.mktemp("law-core-slurm"), max_array_size=101) \
            as cluster:
        old = os.environ.get("SLURM_CONF")
        os.environ["SLURM_CONF"] = cluster.env["SLURM_CONF"]
        try:
            yield cluster
        finally:
            if old is None:
                os.environ.pop("SLURM_CONF", None)
            else:
                os.environ["SLURM_CONF"] = old


@pytest.fixture(scope="session")
def law_core_xrootd_server() -> Iterator[str]:
    _require(("xrootd",), "an XRootD server", "xrootd-server")
    from law_core.testing.services import xrootd_server

    with _public_tmp("law-core-xrootd-") as root, xrootd_server(root) as url:
        yield url


@pytest.fixture(scope="session")
def _law_core_test_pki() -> Iterator[str]:
    """One test CA for every TLS server of the session, trusted through
    ``X509_CERT_DIR`` while the session lasts (davix and Globus read it when a gfal2
    context is created: make the context after the fixture)."""
    from law_core.testing.services import make_test_pki

    with _public_tmp("law-core-pki-") as root:
        pki = os.path.join(root, "pki")
        with _environ(X509_CERT_DIR=str(make_test_pki(pki))):
            yield pki


@pytest.fixture(scope="session")
def law_core_webdav_server(request: pytest.FixtureRequest) -> Iterator[str]:
    _require(("xrootd", "openssl"), "a WebDAV server (XRootD's XrdHttp)",
             "xrootd-server xrootd-server-plugins openssl")
    from law_core.testing.services import webdav_server

    pki = request.getfixturevalue("_law_core_test_pki")
    with _public_tmp("law-core-webdav-") as root, webdav_server(root, pki=pki) as url:
        yield url


@pytest.fixture(scope="session")
def law_core_apache_dav_server(request: pytest.FixtureRequest) -> Iterator[str]:
    _require(("apache2", "openssl"), "a WebDAV server (Apache mod_dav)", "apache2-bin openssl")
    from law_core.testing.services import apache_dav_server

    pki = request.getfixturevalue("_law_core_test_pki")
    with _public_tmp("law-core-apache-") as root, apache_dav_server(root, pki=pki) as url:
        yield url


@pytest.fixture(scope="session")
def law_core_gridftp_server(request: pytest.FixtureRequest) -> Iterator[str]:
    _require(("globus-gridftp-server", "grid-proxy-init", "openssl"), "a GridFTP server (GSI)",
             "globus-gridftp-server-progs globus-proxy-utils openssl")
    from law_core.testing.services import gridftp_server

    pki = request.getfixturevalue("_law_core_test_pki")
    with _public_tmp("law-core-gridftp-") as root, gridftp_server(root, pki=pki) as url:
        # the test user's proxy, which the server's grid-mapfile knows
        with _environ(X509_USER_PROXY=str(url.server.proxy)):  # type: ignore[attr-defined]
            yield url


@pytest.fixture(scope="session")
def law_core_ftp_server() -> Iterator[str]:
    _require(("globus-gridftp-server",), "an anonymous FTP server (GridFTP)",
             "globus-gridftp-server-progs")
    from law_core.testing.services import gridftp_server

    with _public_tmp("law-core-ftp-") as root, gridftp_server(root, anonymous=True) as url:
        yield url


@pytest.fixture(scope="session")
def law_core_docker_image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _require(("dockerd", "docker", "debootstrap"), "a Docker image", "docker.io debootstrap")
    from law_core.testing.docker import debian_rootfs, docker_daemon, docker_image

    with docker_daemon(tmp_path_factory.mktemp("law-core-dockerd")):
        yield docker_image(debian_rootfs())
