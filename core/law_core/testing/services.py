"""Real services for backend tests, started and stopped by the tests themselves.

:func:`xrootd_server` runs an XRootD server on loopback for as long as a ``with`` block
lasts::

    with xrootd_server(tmp_dir) as url:       # "root://127.0.0.1:PORT//"
        fs = GFALFileSystem(url + "data")

The files it serves live in ``tmp_dir/xrootd/data`` (``data_dir(tmp_dir)``). XRootD refuses
to run as root, so as root it runs as ``nobody`` (``-R nobody``) and ``tmp_dir`` must be
reachable by that user. A missing ``xrootd`` binary is an error, never a skip: the tests
of a storage backend prove nothing without the storage.

:func:`webdav_server` runs XRootD with its HTTP plugin (XrdHttp) as a WebDAV server
(``davs://127.0.0.1:PORT/`` with a test CA made for it; clients trust it through
``X509_CERT_DIR``), its files in ``tmp_dir/xrdhttp/data``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SERVER_USER = "nobody"


class ServiceError(RuntimeError):
    """A test service could not be started."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def data_dir(tmp_dir: str | os.PathLike[str]) -> Path:
    """The local directory an :class:`XRootDServer` in ``tmp_dir`` exports as ``/``."""
    return Path(tmp_dir) / "xrootd" / "data"


class XRootDServer:
    """An XRootD server on 127.0.0.1 exporting ``data_dir(tmp_dir)`` as ``/``.

    ``start()`` and ``stop()`` may be called repeatedly (the port and the files stay), so
    tests can take the server away in the middle of an operation; ``cleanup()`` removes
    everything the server wrote. ``tpc`` enables third-party copies between servers.
    """

    #: the subdirectory of ``tmp_dir`` with the server's config, logs and data
    dirname = "xrootd"

    def __init__(self, tmp_dir: str | os.PathLike[str], port: int | None = None,
                 tpc: bool = True, binary: str = "xrootd"):
        # sbin directories too: a PATH without them must not make the server "missing"
        search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin"])
        self.binary = shutil.which(binary, path=search)
        if self.binary is None:
            raise ServiceError(
                f"the {binary} binary is not installed, so the XRootD tests cannot run; install "
                "it (Debian: apt-get install xrootd-server xrootd-client; the project's "
                "scripts/install-system-packages does it)"
            )
        self.dir = Path(tmp_dir) / self.dirname
        self.data = self.dir / "data"
        self._auto_port = port is None
        self._port_retries = 3
        self.port = port or free_port()
        self.tpc = tpc
        self.process: subprocess.Popen[bytes] | None = None
        self.run_as = SERVER_USER if os.geteuid() == 0 else None
        self._prepare()

    @property
    def url(self) -> str:
        """The server's root URL, ``root://127.0.0.1:PORT//``."""
        return f"root://127.0.0.1:{self.port}//"

    @property
    def log(self) -> Path:
        return self.dir / "xrootd.log"

    def _config_lines(self) -> list[str]:
        lines = [
            "all.export /",
            f"oss.localroot {self.data}",
            f"xrd.port {self.port}",
            f"all.adminpath {self.dir / 'admin'}",
            f"all.pidpath {self.dir / 'run'}",
            "xrootd.chksum adler32",
        ]
        if self.tpc:
            xrdcp = shutil.which("xrdcp")
            if xrdcp:
                lines.append(f"ofs.tpc pgm {xrdcp} --server")
        return lines

    def _prepare(self) -> None:
        for sub in ("data", "admin", "run"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        (self.dir / "xrootd.cfg").write_text("\n".join(self._config_lines()) + "\n")
        if self.run_as:
            self._check_reachable()
            self.chown()

    def _ports(self) -> tuple[int, ...]:
        return (self.port,)

    def _new_ports(self) -> None:
        self.port = free_port()

    def _check_reachable(self) -> None:
        """As root, the server runs as nobody: every parent must let nobody through."""
        uid = pwd.getpwnam(self.run_as).pw_uid
        for parent in [*reversed(self.dir.parents)]:
            st = parent.stat()
            if st.st_uid != uid and not st.st_mode & 0o001:
                raise ServiceError(
                    f"the XRootD server runs as '{self.run_as}', who cannot enter {parent} "
                    f"(mode {oct(st.st_mode & 0o777)}); put its directory below one that "
                    "others may enter, e.g. tempfile.mkdtemp() with mode 0o755 in /tmp"
                )

    def chown(self) -> None:
        """Give everything below the server's directory to the server's user (after a
        test wrote files into the data directory directly)."""
        if not self.run_as:
            return
        user = pwd.getpwnam(self.run_as)
        for root, dirs, files in os.walk(self.dir):
            os.chown(root, user.pw_uid, user.pw_gid)
            for name in (*dirs, *files):
                os.lchown(os.path.join(root, name), user.pw_uid, user.pw_gid)

    def start(self, timeout: float = 20.0) -> str:
        """Start the server and wait until it answers; returns :attr:`url`."""
        if self.process is not None and self.process.poll() is None:
            return self.url
        args = [self.binary, "-c", str(self.dir / "xrootd.cfg"), "-l", str(self.log)]
        if self.run_as:
            args += ["-R", self.run_as]
        with open(self.dir / "xrootd.stderr", "ab") as stderr:
            self.process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.process = None
                if (self._auto_port and any(_answers(p) for p in self._ports())
                        and self._port_retries > 0):
                    # someone took a free port in the meantime: take other ones
                    self._port_retries -= 1
                    self._new_ports()
                    self._prepare()
                    return self.start(timeout)
                raise ServiceError(
                    f"xrootd exited on port {self.port}:\n{self._log_tail()}"
                )
            if all(_answers(p) for p in self._ports()):
                return self.url
            time.sleep(0.05)
        self.stop()
        raise ServiceError(f"xrootd did not answer on port {self.port} within {timeout} s:"
                           f"\n{self._log_tail()}")

    def stop(self) -> None:
        """Stop the server (the files stay); waits until the port is closed."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                # after a third-party copy, xrootd sometimes leaves SIGTERM pending: a test
                # server has nothing to save, so it is killed soon
                self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        deadline = time.monotonic() + 10
        while any(_answers(p) for p in self._ports()) and time.monotonic() < deadline:
            time.sleep(0.05)

    def cleanup(self) -> None:
        """Stop the server and remove its directory."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _log_tail(self, lines: int = 20) -> str:
        text = ""
        for path in (self.log, self.dir / "xrootd.stderr"):
            if path.exists():
                text += path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:]) or "(no log)"


def make_test_pki(directory: str | os.PathLike[str]) -> Path:
    """A throwaway CA and a host certificate for ``localhost`` and ``127.0.0.1`` in
    ``directory`` (``ca.pem``, ``hostcert.pem``, ``hostkey.pem``); returns the trust
    directory (``certificates/<hash>.0``) that clients are pointed at with
    ``X509_CERT_DIR``. davix checks the subjectAltName, so the host certificate has both."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise ServiceError("openssl is not installed, so no test certificates can be made "
                           "(Debian: apt-get install openssl)")
    pki = Path(directory)
    certs = pki / "certificates"
    certs.mkdir(parents=True, exist_ok=True)
    (pki / "ext.cnf").write_text(
        "[host]\nbasicConstraints=critical,CA:false\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth,clientAuth\n"
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")

    def run(*args: str) -> str:
        done = subprocess.run([openssl, *args], cwd=pki, capture_output=True, text=True)
        if done.returncode:
            raise ServiceError(f"openssl {args[0]} failed: {done.stderr.strip()}")
        return done.stdout

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-sha256",
        "-subj", "/DC=test/DC=law-core/CN=law-core Test CA", "-keyout", "ca.key",
        "-out", "ca.pem", "-addext", "basicConstraints=critical,CA:true",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "rsa:2048", "-nodes", "-sha256",
        "-subj", "/DC=test/DC=law-core/CN=localhost", "-keyout", "hostkey.pem",
        "-out", "host.csr")
    run("x509", "-req", "-in", "host.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "30", "-sha256", "-extfile", "ext.cnf",
        "-extensions", "host", "-out", "hostcert.pem")
    ca_hash = run("x509", "-in", "ca.pem", "-noout", "-hash").strip()
    shutil.copyfile(pki / "ca.pem", certs / f"{ca_hash}.0")
    (pki / "hostkey.pem").chmod(0o400)
    return certs


class WebDAVServer(XRootDServer):
    """XRootD with its HTTP plugin (XrdHttp) on 127.0.0.1: a WebDAV server for
    ``davs://``, ``https://``, ``dav://`` and ``http://`` on :attr:`http_port` (TLS is
    detected per connection), besides ``root://`` on :attr:`port`, over the same files.

    Its host certificate comes from a test CA made in its directory; clients trust it
    through ``X509_CERT_DIR`` = :attr:`cert_dir` (see :func:`webdav_server`).
    """

    dirname = "xrdhttp"

    def __init__(self, tmp_dir: str | os.PathLike[str], port: int | None = None,
                 http_port: int | None = None, scheme: str = "davs"):
        self.http_port = http_port or free_port()
        self.scheme = scheme
        self.cert_dir = make_test_pki(Path(tmp_dir) / self.dirname / "pki")
        super().__init__(tmp_dir, port=port, tpc=False)

    @property
    def url(self) -> str:
        """The server's root URL in :attr:`scheme`, ``davs://127.0.0.1:PORT/``."""
        return self.url_for(self.scheme)

    def url_for(self, scheme: str) -> str:
        """The root URL in ``scheme``: ``davs``, ``https``, ``dav``, ``http`` or ``root``."""
        if scheme in ("root", "xroot"):
            return f"{scheme}://127.0.0.1:{self.port}//"
        return f"{scheme}://127.0.0.1:{self.http_port}/"

    def _config_lines(self) -> list[str]:
        pki = self.cert_dir.parent
        lines = [line for line in super()._config_lines() if not line.startswith("xrootd.chksum")]
        return [
            *lines,
            "xrootd.chksum max 2 adler32 md5",
            f"xrd.protocol XrdHttp:{self.http_port} libXrdHttp.so",
            f"xrd.tls {pki / 'hostcert.pem'} {pki / 'hostkey.pem'}",
            f"xrd.tlsca certdir {self.cert_dir}",
            "http.listingdeny false",
        ]

    def _ports(self) -> tuple[int, ...]:
        return (self.port, self.http_port)

    def _new_ports(self) -> None:
        self.port, self.http_port = free_port(), free_port()


class ServerURL(str):
    """A service's URL (a plain ``str``) that also holds the :attr:`server` behind it,
    for tests that stop and restart it."""

    server: XRootDServer  # or a WebDAVServer


@contextmanager
def xrootd_server(tmp_dir: str | os.PathLike[str], port: int | None = None
                  ) -> Iterator[ServerURL]:
    """An XRootD server on loopback during the block; yields its root URL
    (``root://127.0.0.1:PORT//``; ``.server`` is the :class:`XRootDServer`). It serves
    ``data_dir(tmp_dir)``; the directory is removed afterwards."""
    with _serving(XRootDServer(tmp_dir, port=port)) as url:
        yield url


@contextmanager
def webdav_server(tmp_dir: str | os.PathLike[str], scheme: str = "davs"
                  ) -> Iterator[ServerURL]:
    """A WebDAV server (XRootD's XrdHttp, :class:`WebDAVServer`) on loopback during the
    block; yields its root URL in ``scheme`` (``davs://127.0.0.1:PORT/``; ``.server`` is
    the server, ``.server.cert_dir`` the directory to set as ``X509_CERT_DIR``). Its
    directory is removed afterwards."""
    with _serving(WebDAVServer(tmp_dir, scheme=scheme)) as url:
        yield url


@contextmanager
def _serving(server: XRootDServer) -> Iterator[ServerURL]:
    """Start ``server``, yield its root URL (carrying the server), clean it up after."""
    try:
        url = ServerURL(server.start())
        url.server = server
        yield url
    finally:
        server.cleanup()
