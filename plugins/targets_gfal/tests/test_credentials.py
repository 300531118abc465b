"""The X.509 proxy and unreachable storage against real servers: an output behind an expired
proxy or a dead door is "unreachable", never "absent" (law issue #60).

Proxies are made here from the servers' test CA (``ca.key`` beside its trust
directory, law_core.testing.services.make_test_pki): a user certificate signed by the CA
and an RFC 3820 proxy signed by the user, valid until a chosen time, in one PEM file as
voms-proxy-init writes it (proxy, its key, the user certificate).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID, ObjectIdentifier
from law_core_gfal import credentials
from law_core_gfal.context import reset_context
from law_core_gfal.file_system import GFALFileSystem

from law_core.errors import ConfigError, CredentialError, StorageUnreachableError
from law_core.targets.file_interface import utc_text
from law_core.testing.cli import clean_env, run_cli, write_module
from law_core.testing.services import WebDAVServer

#: RFC 3820 proxyCertInfo with the policy id-ppl-inheritAll (DER)
_PROXY_CERT_INFO = (ObjectIdentifier("1.3.6.1.5.5.7.1.14"),
                    bytes.fromhex("300c300a06082b06010505071501"))


def _unique() -> str:
    return uuid.uuid4().hex[:12]


def make_proxy(pki: Path, path: Path, valid_until: datetime) -> Path:
    """A proxy of a fresh test user of the CA in ``pki``, ending at ``valid_until``."""
    ca_cert = x509.load_pem_x509_certificate((pki / "ca.pem").read_bytes())
    ca_key = serialization.load_pem_private_key((pki / "ca.key").read_bytes(), None)
    now = datetime.now(timezone.utc)
    usage = x509.KeyUsage(True, False, True, False, False, False, False, False, False)

    def certificate(subject: x509.Name, issuer: x509.Name, key: Any, signer: Any,
                    start: datetime, end: datetime, *extensions: Any) -> x509.Certificate:
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(start).not_valid_after(end)
                   .add_extension(usage, critical=True))
        for extension in extensions:
            builder = builder.add_extension(extension, critical=True)
        return builder.sign(signer, hashes.SHA256())

    user_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    user_name = x509.Name([x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "test"),
                           x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "law-core"),
                           x509.NameAttribute(NameOID.COMMON_NAME, "proxy test user")])
    user = certificate(user_name, ca_cert.subject, user_key, ca_key, now - timedelta(days=2),
                       now + timedelta(days=20),
                       x509.BasicConstraints(ca=False, path_length=None))
    proxy_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    proxy_name = x509.Name([*user_name, x509.NameAttribute(NameOID.COMMON_NAME, "1234567")])
    proxy = certificate(proxy_name, user_name, proxy_key, user_key,
                        min(now, valid_until) - timedelta(hours=12), valid_until,
                        x509.UnrecognizedExtension(*_PROXY_CERT_INFO))
    pem = serialization.Encoding.PEM
    path.write_bytes(proxy.public_bytes(pem) + proxy_key.private_bytes(
        pem, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())
        + user.public_bytes(pem))
    path.chmod(0o600)
    return path


@pytest.fixture
def pki(webdav: WebDAVServer) -> Path:
    """The directory of the test CA the WebDAV server's certificate comes from."""
    return Path(webdav.cert_dir).parent


@pytest.fixture
def proxy(pki: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``proxy(hours)``: a proxy with ``hours`` left (negative: ended), as
    ``X509_USER_PROXY``; returns its path and end."""

    def make(hours: float) -> tuple[Path, datetime]:
        until = (datetime.now(timezone.utc) + timedelta(hours=hours)).replace(microsecond=0)
        path = make_proxy(pki, tmp_path / f"x509up_{_unique()}", until)
        monkeypatch.setenv("X509_USER_PROXY", str(path))
        reset_context()  # davix takes the proxy when a context is made
        return path, until

    yield make
    monkeypatch.undo()
    reset_context()


def _expired(path: Path, until: datetime) -> str:
    return f"the X.509 proxy {path} expired at {utc_text(until)}"


# the file system


def test_expired_proxy_makes_webdav_unreachable_never_absent(webdav: WebDAVServer,
                                                             proxy: Any) -> None:
    fs = GFALFileSystem(f"{webdav.url}proxy/{_unique()}", retries=0)
    proxy(2)
    fs.target("/here.json").dump({"here": True})
    assert fs.exists("/here.json")

    path, until = proxy(-1)
    for question in (lambda: fs.exists("/here.json"), lambda: fs.exists("/missing.json"),
                     lambda: fs.listdir("/")):
        with pytest.raises(CredentialError) as info:
            question()
        assert str(info.value) == f"{_expired(path, until)}; renew it with voms-proxy-init " \
                                  "(or grid-proxy-init)"
        assert info.value.valid_until == until


def test_without_law_cores_check_the_server_refuses_the_ended_proxy(
        webdav: WebDAVServer, proxy: Any) -> None:
    """What davix does with an ended proxy (x509_proxy = no): it presents it anyway, and
    XrdHttp, though it takes anonymous clients, refuses the TLS handshake ("certificate
    expired", or a reset connection on a reused one). Failover finds no base answering:
    unreachable as well, after the retries and with a less clear reason."""
    fs = GFALFileSystem(f"{webdav.url}proxy/{_unique()}", retries=0, x509_proxy="no")
    proxy(2)
    fs.target("/here.json").dump({"here": True})
    proxy(-1)
    with pytest.raises(StorageUnreachableError) as info:
        fs.exists("/here.json")
    assert not isinstance(info.value, CredentialError)
    assert info.value.reason.startswith(f"no base answered ({fs.base[0]}): OSError: "
                                        "[Errno 112] stat failed:"), info.value.reason


def test_proxy_modes(webdav: WebDAVServer, tmp_path: Path,
                     monkeypatch: pytest.MonkeyPatch) -> None:
    base = f"{webdav.url}proxy/{_unique()}"
    monkeypatch.delenv("X509_USER_PROXY", raising=False)
    reset_context()
    default, named = credentials.proxy_path()
    assert default == f"/tmp/x509up_u{os.getuid()}" and not named
    if Path(default).exists():
        pytest.skip(f"{default} exists here: 'no proxy in use' cannot be tried")
    # auto: no proxy in use, nothing is checked (anonymous access works)
    fs = GFALFileSystem(base, retries=0)
    fs.target("/anonymous.json").dump({})
    assert fs.exists("/anonymous.json")
    # required: a missing proxy is an error naming where it was looked for
    strict = GFALFileSystem(base, retries=0, x509_proxy="required")
    with pytest.raises(CredentialError, match=f"no X.509 proxy: x509_proxy = required, but "
                       f"X509_USER_PROXY is not set and {default} does not exist; create one "
                       "with voms-proxy-init"):
        strict.exists("/anonymous.json")
    # a proxy named that is not there, or is no proxy
    monkeypatch.setenv("X509_USER_PROXY", str(tmp_path / "gone"))
    with pytest.raises(CredentialError, match="X509_USER_PROXY names .*gone, which does not"):
        fs.exists("/anonymous.json")
    (tmp_path / "garbage").write_text("not a proxy\n")
    monkeypatch.setenv("X509_USER_PROXY", str(tmp_path / "garbage"))
    with pytest.raises(CredentialError, match="garbage cannot be read .no PEM certificate"):
        fs.exists("/anonymous.json")
    # no: never checked; file:// URIs never are
    assert GFALFileSystem(base, retries=0, x509_proxy="no").exists("/anonymous.json")
    assert GFALFileSystem(f"file://{tmp_path}", retries=0).exists("/garbage")
    with pytest.raises(ConfigError, match="x509_proxy of the file system = 'sometimes'"):
        GFALFileSystem(base, retries=0, x509_proxy="sometimes").exists("/anonymous.json")


# what a user sees

_TASKS = """
import law_core as law


class Stored(law.Task):
    def output(self):
        return self.target("stored.json")

    def run(self):
        with open("ran.log", "a") as log:
            log.write("Stored\\n")
        self.output().dump({"stored": True})


class Letters(law.LocalWorkflow):
    def create_branch_map(self):
        return {0: "a", 1: "b"}

    def output(self):
        return self.target(f"letter_{self.branch}.json")

    def run(self):
        self.output().dump({"letter": self.branch_data})
"""


def _analysis(directory: Path, store: str, extra: str = "") -> Path:
    directory.mkdir(exist_ok=True)
    write_module(directory, "proxied", _TASKS)
    (directory / "law.cfg").write_text(f"[modules]\nproxied\n\n[target]\nstore = {store}\n"
                                       + extra)
    return directory


def test_status_and_run_behind_an_expired_proxy(webdav: WebDAVServer, proxy: Any,
                                                tmp_path: Path) -> None:
    sub = f"proxy/{_unique()}"
    ana = _analysis(tmp_path / "ana", f"{webdav.url}{sub}")
    path, _ = proxy(2)
    cli = {"X509_USER_PROXY": str(path)}
    assert run_cli(["run", "proxied.Stored"], ana, **cli).returncode == 0
    assert run_cli(["run", "proxied.Letters"], ana, **cli).returncode == 0
    (webdav.data / sub / "Stored" / "stored.json").unlink()  # gone, or is it?

    path, until = proxy(-1)
    cli = {"X509_USER_PROXY": str(path)}
    status = run_cli(["run", "proxied.Stored", "--print-status", "0"], ana, **cli)
    assert status.returncode == 0, status.stderr
    assert f"{webdav.url}{sub}/Stored/stored.json: unreachable: {_expired(path, until)}" \
        in status.stdout
    letters = run_cli(["run", "proxied.Letters", "--print-status", "0"], ana, **cli)
    assert f"collection of 2 targets: unreachable: {_expired(path, until)}" in letters.stdout
    assert "absent" not in status.stdout + letters.stdout

    run = run_cli(["run", "proxied.Stored"], ana, **cli)
    assert run.returncode == 1
    assert f"cannot tell whether Stored() is complete, so nothing was run: " \
           f"{_expired(path, until)}; renew it with voms-proxy-init" in run.stderr
    assert (ana / "ran.log").read_text() == "Stored\n", "it ran again"


def test_status_of_a_dead_door_is_unreachable(dead_port: int, tmp_path: Path) -> None:
    ana = _analysis(tmp_path / "ana", f"root://127.0.0.1:{dead_port}//store")
    status = run_cli(["run", "proxied.Letters", "--print-status", "0"], ana)
    assert status.returncode == 0, status.stderr
    assert f"collection of 2 targets: unreachable: no base answered (root://127.0.0.1:" \
           f"{dead_port}//): ConnectionRefusedError" in status.stdout
    assert "absent" not in status.stdout


def test_no_job_is_submitted_with_a_proxy_shorter_than_the_jobs(
        webdav: WebDAVServer, proxy: Any, tmp_path: Path, law_core_reference_jobs: Any) -> None:
    ana = _analysis(tmp_path / "ana", f"{webdav.url}proxy/{_unique()}",
                    "\n[job]\nwalltime = 3h\n")
    path, until = proxy(1)
    env = dict(law_core_reference_jobs.env)
    env["PYTHONPATH"] = f"{ana}:{env['PYTHONPATH']}"
    result = subprocess.run(
        [sys.executable, "-m", "law_core", "run", "proxied.Letters",
         "--workflow", "processes"], cwd=ana, capture_output=True, text=True, timeout=300,
        env=clean_env(ana, X509_USER_PROXY=str(path), **env))
    assert result.returncode == 1
    assert f"the jobs of Letters were not submitted: the X.509 proxy {path} ends at " \
           f"{utc_text(until)}, before their expected wall time of 3h ([job] walltime) is " \
           "over" in result.stderr, result.stderr
    assert law_core_reference_jobs.jobs() == []


def test_gsiftp_behind_an_expired_proxy(gridftp: Any, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """GridFTP with GSI needs the proxy: law-core's check stops the request; without it
    (x509_proxy = no) the server refuses the handshake, "certificate has expired", which
    gfal2 reports as EACCES: the status says "no access", not "absent"."""
    sub = f"creds/{_unique()}"
    fs = GFALFileSystem(f"{gridftp.url}{sub}", retries=0)
    fs.target("/Stored/stored.json").dump({"stored": True})  # the session's valid proxy
    until = (datetime.now(timezone.utc) - timedelta(hours=1)).replace(microsecond=0)
    path = make_proxy(Path(gridftp.pki), tmp_path / "x509up_ended", until)
    monkeypatch.setenv("X509_USER_PROXY", str(path))
    reset_context()
    try:
        with pytest.raises(CredentialError, match=_expired(path, until)):
            fs.exists("/Stored/stored.json")
        unchecked = GFALFileSystem(f"{gridftp.url}{sub}", retries=0, x509_proxy="no")
        with pytest.raises(PermissionError, match="The certificate has expired"):
            unchecked.exists("/Stored/stored.json")

        ana = _analysis(tmp_path / "ana", f"{gridftp.url}{sub}", "\n[gfal]\nx509_proxy = no\n")
        status = run_cli(["run", "proxied.Stored", "--print-status", "0"], ana,
                         X509_USER_PROXY=str(path))
        assert status.returncode == 0, status.stderr
        line = next(line for line in status.stdout.splitlines() if "stored.json" in line)
        assert "/Stored/stored.json: no access: [Errno 13] stat failed: " in line, line
        assert "The certificate has expired" in line and "absent" not in status.stdout
    finally:
        monkeypatch.undo()
        reset_context()
