"""law's target API on law-core-compat: local target methods (compared with law 0.1.21),
law.dropbox against the Dropbox stand-in (law's examples/dropbox_targets unmodified), and
law.wlcg against the real XRootD test server.

Each scenario runs as a script in a fresh process with its own law config, as an analysis
does: the law config and the dropbox SDK's hosts are read once per process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from law_reference import LAW_VENV  # noqa: F401

REPO = Path(__file__).resolve().parents[3]
STANDIN_DIR = REPO / "plugins" / "targets_dropbox" / "tests" / "standin"


def run_script(script: str, workdir: Path, cfg: str, python: str = sys.executable,
               env: dict[str, str] | None = None) -> str:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "law.cfg").write_text(textwrap.dedent(cfg))
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LAW_", "PYTHON"))}
    base.update({"LAW_HOME": str(workdir / ".law"), "LAW_CONFIG_FILE": str(workdir / "law.cfg"),
                 "HOME": str(workdir)})
    base.update(env or {})
    proc = subprocess.run([python, "-c", textwrap.dedent(script)], cwd=workdir, env=base,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


# --- local targets, the same as law 0.1.21 ------------------------------------------------

LOCAL = """
import gc, os, stat
import law

os.makedirs("in", exist_ok=True)
src = law.LocalFileTarget("$PWD/in/a.json")
src.dump({"a": 1})
print(src.abspath == os.path.join(os.getcwd(), "in", "a.json"))
print(src.uri() == "file://" + src.abspath)
print(src.copy_to_local("$PWD/out/b.json") == os.path.join(os.getcwd(), "out", "b.json"))
dst = law.LocalFileTarget("$PWD/c.json")
print(dst.copy_from_local(src.abspath) == dst.abspath, dst.load())
print(dst.move_to_local("$PWD/d.json") == os.path.join(os.getcwd(), "d.json"), dst.exists())
back = law.LocalFileTarget("$PWD/e.json")
print(back.move_from_local("$PWD/d.json") == back.abspath, os.path.exists("d.json"))
back.chmod(0o600)
print(oct(stat.S_IMODE(os.stat(back.abspath).st_mode)))
t = law.LocalFileTarget("$PWD/touched/t.txt")
t.touch()
print(t.exists(), os.path.getsize(t.abspath))

tmp = law.LocalFileTarget(is_tmp="json")
print(tmp.is_tmp, tmp.path.startswith(os.path.realpath("tmp") + "/"), tmp.path.endswith(".json"))
tmp.dump({"x": 1})
path = tmp.path
print(os.path.exists(path))
del tmp
gc.collect()
print(os.path.exists(path))
named = law.LocalFileTarget("$PWD/kept.txt", is_tmp=True)
named.touch()
del named
gc.collect()
print(os.path.exists("kept.txt"))
"""


def test_local_target_methods_match_law(tmp_path, law_bin):
    cfg = f"[target]\ntmp_dir: {tmp_path}/{{side}}/tmp\n"
    ours = run_script(LOCAL.replace("$PWD", str(tmp_path / "compat")), tmp_path / "compat",
                      cfg.format(side="compat"))
    law_python = law_bin / "python"
    theirs = run_script(LOCAL.replace("$PWD", str(tmp_path / "law")), tmp_path / "law",
                        cfg.format(side="law"), python=str(law_python))
    assert ours == theirs
    assert ours.splitlines()[-4:] == [".json True True", "True", "False", "False"]


# --- Dropbox, against the stand-in -------------------------------------------------------


@pytest.fixture(scope="module")
def dropbox_standin():
    """The Dropbox STAND-IN of law-core-dropbox's tests (a local HTTPS server that is not
    Dropbox), in this process; scripts reach it through the SDK's host variables."""
    sys.path.insert(0, str(STANDIN_DIR))
    try:
        from dropbox_api_standin import DropboxStandIn, make_certificates
    finally:
        sys.path.remove(str(STANDIN_DIR))
    root = tempfile.mkdtemp(prefix="law-compat-dropbox-standin-")
    ca, cert, key = make_certificates(os.path.join(root, "tls"))
    standin = DropboxStandIn(os.path.join(root, "storage"), cert, key)
    standin.start()
    standin.ca = ca
    yield standin
    standin.close()
    shutil.rmtree(root, ignore_errors=True)


def _mkdir(standin, path: str) -> None:
    # the user's Dropbox folder, made by hand before law is pointed at it
    standin.route("files/create_folder_v2", {"path": path}, None, 0)


def test_law_dropbox_example_unmodified(tmp_path, law_examples, dropbox_standin):
    s = dropbox_standin
    _mkdir(s, "/lawdev")
    example = tmp_path / "dropbox_targets"
    shutil.copytree(law_examples / "dropbox_targets", example)
    # the README's setup: the credentials in law.cfg (the stand-in's, and its CA)
    (example / "law.cfg").write_text(textwrap.dedent(f"""\
        [dropbox]

        base: dropbox://dropbox.com/lawdev
        app_key: {s.app_key}
        app_secret: {s.app_secret}
        access_token: {s.issue_access_token()}
        dropbox_ca_certs: {s.ca}
        """))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAW_", "PYTHON"))}
    env.update(s.sdk_environment(), LAW_DROPBOX_EXAMPLE=str(example),
               LAW_HOME=str(example / ".law"), LAW_CONFIG_FILE=str(example / "law.cfg"))
    proc = subprocess.run([sys.executable, "example.py"], cwd=example, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = "{'foo': 'bar', 'baz': [1, 2, 3]}"
    assert proc.stdout.splitlines() == [
        "/", "dropbox://dropbox.com/lawdev/", "True", "False", "True", "['data.json']",
        "False", data, data, data]
    assert s.names("/lawdev") == ["data.json"]
    assert s.read("/lawdev/data.json") == b'{\n    "foo": "bar",\n    "baz": [\n        1,' \
        b'\n        2,\n        3\n    ]\n}'


def test_law_dropbox_sections_of_law_0_1_21(tmp_path, dropbox_standin):
    """law 0.1.21's layout: ``[target] default_dropbox_fs``, ``dropbox_``-prefixed
    credentials, law's durations and sizes, a second Dropbox by section name, a cache."""
    s = dropbox_standin
    _mkdir(s, "/main")
    _mkdir(s, "/results")
    cfg = f"""
        [target]
        default_dropbox_fs: my_dropbox

        [my_dropbox]
        base: dropbox://dropbox.com/main
        dropbox_app_key: {s.app_key}
        dropbox_app_secret: {s.app_secret}
        dropbox_access_token: {s.issue_access_token()}
        dropbox_ca_certs: {s.ca}
        retries: 2
        retry_delay: 1s
        gfal_transfer_timeout: 3600
        has_permissions: False
        cache_root: {tmp_path}/cache
        cache_max_size: 1GB

        [dropbox_results]
        base: dropbox://dropbox.com/results
        app_key: {s.app_key}
        app_secret: {s.app_secret}
        refresh_token: {s.issue_refresh_token()}
        dropbox_ca_certs: {s.ca}
    """
    out = run_script("""
        import os
        import law
        law.contrib.load("dropbox")
        fs = law.dropbox.DropboxFileSystem.default_instance
        print(fs.config_section, fs.failover.retries, fs.cache.max_size)
        t = law.dropbox.DropboxFileTarget("/sub/x.json")
        t.dump({"x": 1})
        print(t.load(), type(t.parent).__name__, t.parent.listdir())
        local = t.copy_to_local()
        print(os.path.exists(local), local.endswith(".json"))
        other = law.dropbox.DropboxFileTarget("/y.json", fs="dropbox_results")
        other.copy_from_local(local)
        print(other.uri(), other.load())
        try:
            law.dropbox.DropboxFileTarget("/z.json", fs="no_such_section")
        except Exception as err:
            print(type(err).__name__, "[no_such_section]" in str(err))
    """, tmp_path, cfg, env=s.sdk_environment())
    assert out.splitlines() == [
        "my_dropbox 2 1073741824",  # law's sizes: 1GB = 1024**3 bytes
        "{'x': 1} DropboxDirectoryTarget ['x.json']",
        "True True",
        "dropbox://dropbox.com/results/y.json {'x': 1}",
        "TargetError True",
    ]
    assert s.read("/main/sub/x.json") == b'{"x": 1}'


# --- WLCG, against the XRootD test server --------------------------------------------------


def test_law_wlcg_targets_on_xrootd(tmp_path, law_core_xrootd_server):
    base = law_core_xrootd_server.rstrip("/") + "/compat-wlcg"
    cfg = f"""
        [wlcg_fs]
        base: {base}
        retries: 1
        retry_delay: 2s
        random_base: False
        gfal_transfer_timeout: 600
        has_permissions: False

        [wlcg_other]
        base: {base}/other
    """
    out = run_script("""
        import os
        import law
        law.contrib.load("wlcg", "gfal")
        d = law.wlcg.WLCGDirectoryTarget("/data")
        d.touch()
        f = d.child("a.json", type="f")
        print(type(f).__name__, f.exists())
        f.dump({"a": 1}, indent=2)
        print(f.exists(), f.load(), d.listdir(), f.abspath == f.uri())
        path = f.copy_to_local(os.path.join(os.getcwd(), "a.json"))
        print(open(path).read() == open(f.copy_to_local()).read())
        g = law.wlcg.WLCGFileTarget("/b.json", fs="wlcg_other")
        g.copy_from_local(path)
        print(g.load(), g.uri().endswith("/compat-wlcg/other/b.json"))
        print(f.chmod(0o644) in (True, False))
        f.remove()
        print(f.exists(), law.wlcg.WLCGFileSystem.default_instance.config_section)
        print(law.gfal.GFALFileInterface.__name__)
    """, tmp_path, cfg)
    assert out.splitlines() == [
        "WLCGFileTarget False",
        "True {'a': 1} ['a.json'] True",
        "True",
        "{'a': 1} True",
        "True",
        "False wlcg_fs",
        "GFALFileInterface",
    ]


def _proxy_file(path: Path, hours: float, rfc: bool) -> None:
    """A self-made certificate shaped like a proxy (with the proxyCertInfo extension of
    RFC 3820 when ``rfc``), valid for ``hours``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID, ObjectIdentifier

    key = ec.generate_private_key(ec.SECP256R1())
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Jane Doe")])
    subject = x509.Name([*issuer, x509.NameAttribute(NameOID.COMMON_NAME, "12345")])
    now = datetime.now(timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
               .public_key(key.public_key()).serial_number(1)
               .not_valid_before(now - timedelta(hours=abs(hours) + 1))
               .not_valid_after(now + timedelta(hours=hours)))
    if rfc:
        builder = builder.add_extension(x509.UnrecognizedExtension(
            ObjectIdentifier("1.3.6.1.5.5.7.1.14"), bytes.fromhex("300c300a06082b06010505071501")),
            critical=True)
    cert = builder.sign(key, hashes.SHA256())
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def test_vomsproxy_helpers(tmp_path):
    if shutil.which("voms-proxy-info"):
        pytest.skip("voms-proxy-info is installed: these check the fallback without it")
    _proxy_file(tmp_path / "valid.pem", 12, rfc=True)
    _proxy_file(tmp_path / "legacy.pem", 12, rfc=False)
    _proxy_file(tmp_path / "expired.pem", -2, rfc=True)
    out = run_script(f"""
        import os
        import law
        law.contrib.load("wlcg")
        w = law.wlcg
        print(w.get_vomsproxy_file())
        print(w.check_vomsproxy_validity(), w.check_vomsproxy_validity(return_rfc=True))
        print(11 * 3600 < w.get_vomsproxy_lifetime() <= 12 * 3600)
        print(w.check_vomsproxy_validity(return_rfc=True, proxy_file="{tmp_path}/legacy.pem"))
        print(w.check_vomsproxy_validity(proxy_file="{tmp_path}/expired.pem"),
              w.get_vomsproxy_lifetime(proxy_file="{tmp_path}/expired.pem"))
        print(w.check_vomsproxy_validity(proxy_file="{tmp_path}/missing.pem"),
              w.get_vomsproxy_lifetime(proxy_file="{tmp_path}/missing.pem", silent=True))
        print(w.get_vomsproxy_identity())
        try:
            w.get_vomsproxy_vo()
        except Exception as err:
            print("voms-proxy-info" in str(err))
        print(w.get_usercert() == os.path.expanduser("~/.globus/usercert.pem"))
    """, tmp_path, "", env={"X509_USER_PROXY": str(tmp_path / "valid.pem")})
    assert out.splitlines() == [
        str(tmp_path / "valid.pem"),
        "True (True, True)",
        "True",
        "(True, False)",
        "False 0",
        "False None",
        "CN = Jane Doe",
        "True",
        "True",
    ]
