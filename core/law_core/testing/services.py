"""Real services for backend tests, started and stopped by the tests themselves.

:func:`xrootd_server` runs an XRootD server on loopback for as long as a ``with`` block
lasts::

    with xrootd_server(tmp_dir) as url:       # "root://127.0.0.1:PORT//"
        fs = GFALFileSystem(url + "data")

The files it serves live in ``tmp_dir/xrootd/data`` (``data_dir(tmp_dir)``). As root, every
server here runs as ``nobody`` (XRootD refuses to run as root), so ``tmp_dir`` must be
reachable by that user. A missing binary is an error, never a skip: the tests of a storage
backend prove nothing without the storage.

The other servers, each in ``tmp_dir/<its dirname>``, files in its ``data`` directory:

- :func:`webdav_server`: XRootD with its HTTP plugin (XrdHttp) as a WebDAV server
  (``davs://127.0.0.1:PORT/``);
- :func:`apache_dav_server`: Apache httpd with mod_dav_fs (``davs://127.0.0.1:PORT/``);
- :func:`gridftp_server`: globus-gridftp-server, with GSI (``gsiftp://``, clients hold a
  proxy of a test user) or anonymous (``ftp://``). GridFTP URLs name absolute paths on the
  server's disk: ``gsiftp://127.0.0.1:PORT/tmp/.../gridftp/data/``.

The TLS servers share one test CA per directory (:func:`make_test_pki`, in ``tmp_dir/pki``
unless given): clients trust it through ``X509_CERT_DIR`` = the server's ``cert_dir``.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

SERVER_USER = "nobody"

#: the subject of the test user's certificate (:func:`make_test_pki`)
TEST_USER_DN = "/DC=test/DC=law-core/CN=law-core Test User"
_CA_DN = "/DC=test/DC=law-core/CN=law-core Test CA"


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


def _exit_status(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _which(binary: str) -> str | None:
    # sbin directories too: a PATH without them must not make the server "missing"
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin"])
    return shutil.which(binary, path=search)


def data_dir(tmp_dir: str | os.PathLike[str]) -> Path:
    """The local directory an :class:`XRootDServer` in ``tmp_dir`` exports as ``/``."""
    return Path(tmp_dir) / "xrootd" / "data"


class LoopbackServer:
    """A server process on 127.0.0.1, its config, logs and files in ``tmp_dir/<dirname>``,
    the files it serves in :attr:`data`.

    ``start()`` and ``stop()`` may be called repeatedly (the port and the files stay), so
    tests can take the server away in the middle of an operation; ``cleanup()`` removes
    everything the server wrote. A subclass names its binary and Debian packages, and
    defines :meth:`_command`, :meth:`_write_config` and :attr:`url`.
    """

    #: the subdirectory of ``tmp_dir`` with the server's config, logs and data
    dirname = "server"
    #: what the server is, in messages
    title = "server"
    #: the Debian packages that bring the binary, for the error when it is missing
    packages = ""
    #: further subdirectories the server needs besides ``data``
    subdirs: ClassVar[tuple[str, ...]] = ()

    def __init__(self, tmp_dir: str | os.PathLike[str], port: int | None, binary: str):
        self.binary = _which(binary)
        if self.binary is None:
            raise ServiceError(
                f"the {binary} binary is not installed, so the {self.title} tests cannot run; "
                f"install it (Debian: apt-get install {self.packages}; the project's "
                "scripts/install-system-packages does it)"
            )
        self.dir = Path(tmp_dir) / self.dirname
        self.data = self.dir / "data"
        self._auto_port = port is None
        self._port_retries = 3
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.run_as = SERVER_USER if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        raise NotImplementedError

    @property
    def log(self) -> Path:
        """The server's own log file."""
        return self.dir / f"{Path(self.binary or 'server').name}.log"

    @property
    def _stderr(self) -> Path:
        return self.dir / f"{Path(self.binary or 'server').name}.stderr"

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _popen_options(self) -> dict[str, Any]:
        """Further ``subprocess.Popen`` arguments (environment, user)."""
        return {}

    def _write_config(self) -> None:
        """Write the server's configuration below :attr:`dir` (called again with new
        ports when the first ones were taken)."""

    def _prepare(self) -> None:
        for sub in ("data", *self.subdirs):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        self._write_config()
        if self.run_as:
            self._check_reachable()
            self.chown()

    def _ports(self) -> tuple[int, ...]:
        return (self.port,)

    def _new_ports(self) -> None:
        self.port = free_port()

    def _check_reachable(self) -> None:
        """As root, the server runs as nobody: every parent must let nobody through."""
        uid = pwd.getpwnam(self.run_as).pw_uid  # type: ignore[arg-type]
        for parent in [*reversed(self.dir.parents)]:
            st = parent.stat()
            if st.st_uid != uid and not st.st_mode & 0o001:
                raise ServiceError(
                    f"the {self.title} server runs as '{self.run_as}', who cannot enter "
                    f"{parent} (mode {oct(st.st_mode & 0o777)}); put its directory below one "
                    "that others may enter, e.g. tempfile.mkdtemp() with mode 0o755 in /tmp"
                )

    def _run_as_ids(self) -> tuple[int, int]:
        user = pwd.getpwnam(self.run_as)  # type: ignore[arg-type]
        return user.pw_uid, user.pw_gid

    def chown(self) -> None:
        """Give everything below the server's directory to the server's user (after a
        test wrote files into the data directory directly)."""
        if not self.run_as:
            return
        uid, gid = self._run_as_ids()
        for root, dirs, files in os.walk(self.dir):
            os.chown(root, uid, gid)
            for name in (*dirs, *files):
                os.lchown(os.path.join(root, name), uid, gid)

    def start(self, timeout: float = 20.0) -> str:
        """Start the server and wait until it answers; returns :attr:`url`."""
        if self.process is not None and self.process.poll() is None:
            return self.url
        with open(self._stderr, "ab") as stderr:
            # a session of its own: stop() ends the processes it forks (one per
            # connection for GridFTP) with it, and Ctrl-C in a terminal goes to the tests
            self.process = subprocess.Popen(
                self._command(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=stderr, start_new_session=True, **self._popen_options())
        name = Path(self.binary or "server").name
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                self.process = None
                if (self._auto_port and any(_answers(p) for p in self._ports())
                        and self._port_retries > 0):
                    # someone took a free port in the meantime: take other ones
                    self._port_retries -= 1
                    self._new_ports()
                    self._prepare()
                    return self.start(timeout)
                raise ServiceError(f"{name} exited ({_exit_status(code)}) on port "
                                   f"{self.port}:\n{self._log_tail()}")
            if all(_answers(p) for p in self._ports()):
                return self.url
            time.sleep(0.05)
        self.stop()
        raise ServiceError(f"{name} did not answer on port {self.port} within {timeout} s:"
                           f"\n{self._log_tail()}")

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.process.pid, sig)  # type: ignore[union-attr]
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self) -> None:
        """Stop the server and what it forked (the files stay); waits until the port is
        closed."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                # after a third-party copy, xrootd sometimes leaves SIGTERM pending: a test
                # server has nothing to save, so it is killed soon
                self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.process.wait()
        self._signal_group(signal.SIGKILL)  # children that outlived their parent
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
        for path in (self.log, self._stderr):
            if path.exists():
                text += path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:]) or "(no log)"


class XRootDServer(LoopbackServer):
    """An XRootD server on 127.0.0.1 exporting ``data_dir(tmp_dir)`` as ``/``.

    ``tpc`` enables third-party copies between servers.
    """

    dirname = "xrootd"
    title = "XRootD"
    packages = "xrootd-server xrootd-client"
    subdirs = ("admin", "run")

    def __init__(self, tmp_dir: str | os.PathLike[str], port: int | None = None,
                 tpc: bool = True, binary: str = "xrootd"):
        super().__init__(tmp_dir, port, binary)
        self.tpc = tpc
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

    def _write_config(self) -> None:
        (self.dir / "xrootd.cfg").write_text("\n".join(self._config_lines()) + "\n")

    def _command(self) -> list[str]:
        # "-k fifo": the log is reopened through a fifo, never at midnight. The midnight
        # wait calls mktime, whose getenv("TZ") races with the setenv of xrootd's start-up
        # (5.5): about one start in 150 died of SIGSEGV before it wrote a line
        args = [self.binary, "-c", str(self.dir / "xrootd.cfg"), "-l", str(self.log),
                "-k", "fifo"]
        if self.run_as:
            args += ["-R", self.run_as]
        return args  # type: ignore[return-value]


def _openssl(pki: Path, *args: str) -> str:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise ServiceError("openssl is not installed, so no test certificates can be made "
                           "(Debian: apt-get install openssl)")
    done = subprocess.run([openssl, *args], cwd=pki, capture_output=True, text=True)
    if done.returncode:
        raise ServiceError(f"openssl {args[0]} failed: {done.stderr.strip()}")
    return done.stdout


def make_test_pki(directory: str | os.PathLike[str]) -> Path:
    """A throwaway CA in ``directory`` (``ca.pem``, ``ca.key``) with a host certificate for
    ``localhost`` and ``127.0.0.1`` (``hostcert.pem``, ``hostkey.pem``) and a user
    certificate (``usercert.pem``, ``userkey.pem``, subject :data:`TEST_USER_DN`); returns
    the trust directory that clients are pointed at with ``X509_CERT_DIR``: the CA as
    ``<hash>.0`` and, for Globus (GridFTP), its ``<hash>.signing_policy``. davix and GSI
    check the subjectAltName, so the host certificate has both names. A PKI already in
    ``directory`` is reused, so that servers in one directory share one CA."""
    pki = Path(directory)
    if pki.name == "certificates" and (pki.parent / "ca.pem").exists():
        # a second CA in there would leave the servers' and the clients' trust apart
        raise ServiceError(
            f"{pki} is the trust directory that make_test_pki returns; pass the directory "
            f"that was given to it ({pki.parent}) as the PKI")
    certs = pki / "certificates"
    names = ("ca.pem", "hostcert.pem", "hostkey.pem", "usercert.pem", "userkey.pem")
    if all((pki / name).exists() for name in names) and list(certs.glob("*.signing_policy")):
        return certs
    certs.mkdir(parents=True, exist_ok=True)
    (pki / "ext.cnf").write_text(
        "[host]\nbasicConstraints=critical,CA:false\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth,clientAuth\n"
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
        "[user]\nbasicConstraints=critical,CA:false\n"
        "keyUsage=critical,digitalSignature,keyEncipherment,dataEncipherment\n"
        "extendedKeyUsage=clientAuth\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
    _openssl(pki, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-sha256",
             "-subj", _CA_DN, "-keyout", "ca.key", "-out", "ca.pem",
             "-addext", "basicConstraints=critical,CA:true",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    for kind, subject in (("host", "/DC=test/DC=law-core/CN=localhost"),
                          ("user", TEST_USER_DN)):
        _openssl(pki, "req", "-newkey", "rsa:2048", "-nodes", "-sha256", "-subj", subject,
                 "-keyout", f"{kind}key.pem", "-out", f"{kind}.csr")
        _openssl(pki, "x509", "-req", "-in", f"{kind}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-days", "30", "-sha256", "-extfile", "ext.cnf",
                 "-extensions", kind, "-out", f"{kind}cert.pem")
        (pki / f"{kind}key.pem").chmod(0o400)
    ca_hash = _openssl(pki, "x509", "-in", "ca.pem", "-noout", "-hash").strip()
    shutil.copyfile(pki / "ca.pem", certs / f"{ca_hash}.0")
    # Globus accepts a CA only with a policy saying whose certificates it may sign
    (certs / f"{ca_hash}.signing_policy").write_text(
        f"access_id_CA X509 '{_CA_DN}'\npos_rights globus CA:sign\n"
        "cond_subjects globus '\"/DC=test/DC=law-core/*\"'\n")
    return certs


def make_test_proxy(directory: str | os.PathLike[str], hours: int = 72) -> Path:
    """An X.509 proxy of the test user of the PKI in ``directory`` (made by
    :func:`make_test_pki`), valid for ``hours``, as ``directory/x509up``: the credential
    GSI clients find through ``X509_USER_PROXY``. An existing one is reused."""
    pki = Path(directory)
    proxy = pki / "x509up"
    if proxy.exists():
        return proxy
    tool = _which("grid-proxy-init")
    if tool is None:
        raise ServiceError("grid-proxy-init is not installed, so no test proxy can be made "
                           "(Debian: apt-get install globus-proxy-utils)")
    done = subprocess.run(
        [tool, "-q", "-cert", str(pki / "usercert.pem"), "-key", str(pki / "userkey.pem"),
         "-out", str(proxy), "-valid", f"{hours}:00"],
        env={**os.environ, "X509_CERT_DIR": str(pki / "certificates")},
        capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode:
        raise ServiceError(f"grid-proxy-init failed: {(done.stderr or done.stdout).strip()}")
    return proxy


class _TLSServer(LoopbackServer):
    """A server with a host certificate of a test CA: :attr:`cert_dir` is the directory
    clients trust it through (``X509_CERT_DIR``); ``pki`` the PKI's directory, by default
    ``tmp_dir/pki`` (shared with the other servers there)."""

    def _init_pki(self, tmp_dir: str | os.PathLike[str],
                  pki: str | os.PathLike[str] | None) -> None:
        self.pki = Path(pki) if pki is not None else Path(tmp_dir) / "pki"
        self.cert_dir = make_test_pki(self.pki)

    def _install_host_credential(self) -> tuple[Path, Path]:
        """The host certificate and key, copied into the server's directory (as root,
        they become the server user's with :meth:`chown`)."""
        cert, key = self.dir / "hostcert.pem", self.dir / "hostkey.pem"
        for src, dst, mode in ((self.pki / "hostcert.pem", cert, 0o444),
                               (self.pki / "hostkey.pem", key, 0o400)):
            if dst.exists():
                dst.unlink()
            shutil.copyfile(src, dst)
            dst.chmod(mode)
        return cert, key


class WebDAVServer(XRootDServer, _TLSServer):
    """XRootD with its HTTP plugin (XrdHttp) on 127.0.0.1: a WebDAV server for
    ``davs://``, ``https://``, ``dav://`` and ``http://`` on :attr:`http_port` (TLS is
    detected per connection), besides ``root://`` on :attr:`port`, over the same files.

    Its host certificate comes from the test CA (``pki``, see :func:`make_test_pki`);
    clients trust it through ``X509_CERT_DIR`` = :attr:`cert_dir` (see
    :func:`webdav_server`).
    """

    dirname = "xrdhttp"
    title = "WebDAV (XrdHttp)"
    packages = "xrootd-server xrootd-server-plugins"

    def __init__(self, tmp_dir: str | os.PathLike[str], port: int | None = None,
                 http_port: int | None = None, scheme: str = "davs",
                 pki: str | os.PathLike[str] | None = None):
        self.http_port = http_port or free_port()
        self.scheme = scheme
        self._init_pki(tmp_dir, pki)
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
        cert, key = self._install_host_credential()
        lines = [line for line in super()._config_lines() if not line.startswith("xrootd.chksum")]
        return [
            *lines,
            "xrootd.chksum max 2 adler32 md5",
            f"xrd.protocol XrdHttp:{self.http_port} libXrdHttp.so",
            f"xrd.tls {cert} {key}",
            f"xrd.tlsca certdir {self.cert_dir}",
            "http.listingdeny false",
        ]

    def _ports(self) -> tuple[int, ...]:
        return (self.port, self.http_port)

    def _new_ports(self) -> None:
        self.port, self.http_port = free_port(), free_port()


#: mod_lua hooks of :class:`ApacheDAVServer`: checksums and a DELETE that is not recursive
_APACHE_LUA = r"""
-- Want-Digest (RFC 3230) answered with Digest: adler32=<hex>,md5=<base64>, as XrdHttp and
-- dCache do: gfal2 asks for it to compare checksums. Reads the whole file: tests only.
local function adler32(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local a, b = 1, 0
  while true do
    local chunk = f:read(65536)
    if not chunk then break end
    local i, n = 1, #chunk
    while i <= n do
      local j = math.min(i + 3999, n)
      local bytes = { chunk:byte(i, j) }
      for k = 1, #bytes do a = a + bytes[k]; b = b + a end
      a, b = a % 65521, b % 65521
      i = j + 1
    end
  end
  f:close()
  return string.format("%08x", (b << 16) | a)
end

local function md5_base64(r, path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local data = f:read("a")
  f:close()
  local raw = r:md5(data):gsub("..", function(h) return string.char(tonumber(h, 16)) end)
  return r:base64_encode(raw)
end

function digest(r)
  if (r.method ~= "GET" and r.method ~= "HEAD") or r.filename == nil then
    return apache2.DECLINED
  end
  local want = r.headers_in["Want-Digest"]
  local st = r:stat(r.filename)
  if not want or not st or st.filetype ~= 1 then return apache2.DECLINED end
  want = want:lower()
  local out = {}
  if want:find("adler32", 1, true) then out[#out + 1] = "adler32=" .. adler32(r.filename) end
  if want:find("md5", 1, true) then out[#out + 1] = "md5=" .. md5_base64(r, r.filename) end
  if #out > 0 then r.headers_out["Digest"] = table.concat(out, ",") end
  return apache2.DECLINED
end

-- mod_dav deletes a collection with everything in it; storage elements refuse to remove a
-- directory that is not empty (409 Conflict), and so does this server
function nonrecursive_delete(r)
  if r.method ~= "DELETE" or r.filename == nil then return apache2.DECLINED end
  local st = r:stat(r.filename)
  if st and st.filetype == 2 then
    for _, name in ipairs(r:get_direntries(r.filename) or {}) do
      if name ~= "." and name ~= ".." then return 409 end
    end
  end
  return apache2.DECLINED
end
"""

#: where Linux distributions keep Apache's modules
_APACHE_MODULE_DIRS = ("/usr/lib/apache2/modules", "/usr/lib64/httpd/modules",
                       "/usr/lib/httpd/modules")


class ApacheDAVServer(_TLSServer):
    """Apache httpd with mod_dav_fs on 127.0.0.1: a WebDAV server for ``davs://`` and
    ``https://`` on :attr:`port`, its host certificate from the test CA (``pki``), with its
    own configuration in its directory (``/etc/apache2`` is neither read nor changed).

    Unlike XrdHttp it behaves like a plain WebDAV server: an upload into a missing
    directory fails (409), MKCOL of an existing directory fails (405), and a copy between
    two URLs on it (COPY) is not the third-party copy gfal2 asks for. Two small mod_lua
    hooks add what grid storage has: checksums (``Want-Digest``) and a DELETE of a
    directory that is not empty failing (409) instead of removing the tree.
    """

    dirname = "apache"
    title = "WebDAV (Apache mod_dav)"
    packages = "apache2-bin"
    subdirs = ("run", "lock", "logs")

    def __init__(self, tmp_dir: str | os.PathLike[str], port: int | None = None,
                 pki: str | os.PathLike[str] | None = None, binary: str = "apache2"):
        super().__init__(tmp_dir, port, binary)
        self._init_pki(tmp_dir, pki)
        self.modules = next((Path(d) for d in _APACHE_MODULE_DIRS
                             if (Path(d) / "mod_dav_fs.so").exists()), None)
        if self.modules is None:
            raise ServiceError(
                "Apache's mod_dav_fs is not installed (looked in "
                f"{', '.join(_APACHE_MODULE_DIRS)}); Debian: apt-get install apache2-bin")
        self._prepare()

    @property
    def url(self) -> str:
        """The server's root URL, ``davs://127.0.0.1:PORT/``."""
        return self.url_for("davs")

    def url_for(self, scheme: str) -> str:
        """The root URL in ``scheme``: ``davs`` or ``https``."""
        return f"{scheme}://127.0.0.1:{self.port}/"

    @property
    def log(self) -> Path:
        return self.dir / "logs" / "error.log"

    def _write_config(self) -> None:
        cert, key = self._install_host_credential()
        (self.dir / "dav.lua").write_text(_APACHE_LUA)
        modules = ("mpm_event", "authz_core", "dav", "dav_fs", "lua", "ssl", "socache_shmcb")
        lines = [
            f"ServerRoot {self.dir}",
            "ServerName 127.0.0.1",
            f"PidFile {self.dir / 'run' / 'httpd.pid'}",
            f"DefaultRuntimeDir {self.dir / 'run'}",
            f"ErrorLog {self.log}",
            "LogLevel warn",
            *(f"LoadModule {m}_module {self.modules / f'mod_{m}.so'}" for m in modules),
            f"Listen 127.0.0.1:{self.port}",
            f"SSLSessionCache shmcb:{self.dir / 'run' / 'ssl_scache'}(512000)",
            f"DavLockDB {self.dir / 'lock' / 'DavLock'}",
            "LimitRequestBody 0",  # no limit on uploads (Apache's default: 1 GiB)
            "Timeout 300",
            f"LuaHookFixups {self.dir / 'dav.lua'} digest",
            f"LuaHookFixups {self.dir / 'dav.lua'} nonrecursive_delete",
            f"DocumentRoot {self.data}",
            f"<Directory {self.data}>",
            "    Dav On",
            "    Options None",
            "    AllowOverride None",
            "    Require all granted",
            "</Directory>",
            "SSLEngine on",
            f"SSLCertificateFile {cert}",
            f"SSLCertificateKeyFile {key}",
        ]
        if self.run_as:  # the workers; the parent stays root to bind and read the key
            gid = self._run_as_ids()[1]
            lines += [f"User {self.run_as}", f"Group {grp.getgrgid(gid).gr_name}"]
        (self.dir / "httpd.conf").write_text("\n".join(lines) + "\n")

    def _command(self) -> list[str]:
        return [self.binary, "-f", str(self.dir / "httpd.conf"), "-DFOREGROUND"]  # type: ignore[list-item]


class GridFTPServer(_TLSServer):
    """globus-gridftp-server on 127.0.0.1:PORT, letting clients into :attr:`data` only.

    With GSI (the default) its URLs are ``gsiftp://``: the host certificate comes from the
    test CA (``pki``), and a client authenticates with a proxy of the test user,
    :attr:`proxy` (``X509_USER_PROXY``), which a grid-mapfile maps to the server's user;
    clients trust the CA through ``X509_CERT_DIR`` = :attr:`cert_dir`. ``anonymous=True``
    serves clear-text ``ftp://`` to anyone, without certificates.

    GridFTP URLs name absolute paths on the server: :attr:`url` is
    ``gsiftp://127.0.0.1:PORT/<data>/``. As root the whole server runs as nobody (by
    default it would fork a root process per connection).
    """

    dirname = "gridftp"
    title = "GridFTP"
    packages = "globus-gridftp-server-progs globus-proxy-utils"

    def __init__(self, tmp_dir: str | os.PathLike[str], port: int | None = None,
                 anonymous: bool = False, pki: str | os.PathLike[str] | None = None,
                 binary: str = "globus-gridftp-server"):
        self.anonymous = anonymous
        if anonymous:
            self.dirname = "gridftp-anonymous"
        super().__init__(tmp_dir, port, binary)
        self.proxy: Path | None = None
        self.cert_dir: Path | None = None  # type: ignore[assignment]
        if not anonymous:
            self._init_pki(tmp_dir, pki)
            self.proxy = make_test_proxy(self.pki)
        self._prepare()

    @property
    def url(self) -> str:
        """``gsiftp://127.0.0.1:PORT/<data>/`` (``ftp://`` when anonymous)."""
        scheme = "ftp" if self.anonymous else "gsiftp"
        return f"{scheme}://127.0.0.1:{self.port}{self.data}/"

    def _user(self) -> str:
        return self.run_as or pwd.getpwuid(os.getuid()).pw_name

    def _write_config(self) -> None:
        if not self.anonymous:
            self._install_host_credential()
            # the test user's DN maps to the one account the server runs as
            (self.dir / "grid-mapfile").write_text(f'"{TEST_USER_DN}" {self._user()}\n')

    def _command(self) -> list[str]:
        args = [
            self.binary, "-c", "/dev/null",  # not /etc/gridftp.conf
            "-p", str(self.port), "-control-interface", "127.0.0.1",
            "-data-interface", "127.0.0.1", "-home-dir", str(self.data),
            "-restrict-paths", str(self.data), "-l", str(self.log), "-d", "ERROR,WARN",
            "-disable-usage-stats",
        ]
        if self.anonymous:
            args += ["-aa", "-anonymous-user", self._user()]
        return args  # type: ignore[return-value]

    def _popen_options(self) -> dict[str, Any]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.dir)}
        if not self.anonymous:
            env.update(X509_USER_CERT=str(self.dir / "hostcert.pem"),
                       X509_USER_KEY=str(self.dir / "hostkey.pem"),
                       X509_CERT_DIR=str(self.cert_dir), GRIDMAP=str(self.dir / "grid-mapfile"))
        options: dict[str, Any] = {"env": env, "cwd": str(self.dir)}
        if self.run_as:
            uid, gid = self._run_as_ids()
            options.update(user=uid, group=gid, extra_groups=[])
        return options


class ServerURL(str):
    """A service's URL (a plain ``str``) that also holds the :attr:`server` behind it,
    for tests that stop and restart it."""

    server: Any  # the LoopbackServer: XRootDServer, WebDAVServer, ApacheDAVServer, ...


@contextmanager
def xrootd_server(tmp_dir: str | os.PathLike[str], port: int | None = None
                  ) -> Iterator[ServerURL]:
    """An XRootD server on loopback during the block; yields its root URL
    (``root://127.0.0.1:PORT//``; ``.server`` is the :class:`XRootDServer`). It serves
    ``data_dir(tmp_dir)``; the directory is removed afterwards."""
    with _serving(XRootDServer(tmp_dir, port=port)) as url:
        yield url


@contextmanager
def webdav_server(tmp_dir: str | os.PathLike[str], scheme: str = "davs",
                  pki: str | os.PathLike[str] | None = None) -> Iterator[ServerURL]:
    """A WebDAV server (XRootD's XrdHttp, :class:`WebDAVServer`) on loopback during the
    block; yields its root URL in ``scheme`` (``davs://127.0.0.1:PORT/``; ``.server`` is
    the server, ``.server.cert_dir`` the directory to set as ``X509_CERT_DIR``). Its
    directory is removed afterwards."""
    with _serving(WebDAVServer(tmp_dir, scheme=scheme, pki=pki)) as url:
        yield url


@contextmanager
def apache_dav_server(tmp_dir: str | os.PathLike[str],
                      pki: str | os.PathLike[str] | None = None) -> Iterator[ServerURL]:
    """Apache's WebDAV server (:class:`ApacheDAVServer`) on loopback during the block;
    yields its root URL (``davs://127.0.0.1:PORT/``; ``.server.cert_dir`` is the directory
    to set as ``X509_CERT_DIR``). Its directory is removed afterwards."""
    with _serving(ApacheDAVServer(tmp_dir, pki=pki)) as url:
        yield url


@contextmanager
def gridftp_server(tmp_dir: str | os.PathLike[str], anonymous: bool = False,
                   pki: str | os.PathLike[str] | None = None) -> Iterator[ServerURL]:
    """A GridFTP server (:class:`GridFTPServer`) on loopback during the block; yields the
    URL of its data directory (``gsiftp://127.0.0.1:PORT/<data>/``, or ``ftp://`` when
    ``anonymous``; with GSI, clients need ``X509_CERT_DIR`` = ``.server.cert_dir`` and
    ``X509_USER_PROXY`` = ``.server.proxy``). Its directory is removed afterwards."""
    with _serving(GridFTPServer(tmp_dir, anonymous=anonymous, pki=pki)) as url:
        yield url


@contextmanager
def _serving(server: LoopbackServer) -> Iterator[ServerURL]:
    """Start ``server``, yield its root URL (carrying the server), clean it up after."""
    try:
        url = ServerURL(server.start())
        url.server = server
        yield url
    finally:
        server.cleanup()
