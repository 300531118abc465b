"""Credentials and logs of ARC jobs on the real A-REX: the X.509 proxy travels as an input
file where the store needs it, and ``--transfer-logs`` puts the jobs' logs on the store.

The store that needs the proxy is an XRootD server that admits GSI only (``sec.protbind *
only gsi``), with the test CA of the CE (``arcctl test-ca``) and its host certificate for
``localhost``: a job without the proxy cannot write its outputs there. The job runs as the
CE's unix user ``arcuser`` in its session directory, and the analysis in a directory that
user cannot enter (so nothing of the submitting host helps it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

from law_core.testing.job_manager import write_tasks
from law_core.testing.services import XRootDServer, _serving

TASKS = """
    import json
    import os
    import stat

    import luigi

    import law_core as law


    class Carried(law.Workflow):
        def create_branch_map(self):
            return 2

        def output(self):
            return self.target(f"carried_{self.branch}.json")

        def run(self):
            proxy = os.environ.get("X509_USER_PROXY")
            print(f"branch {self.branch} of Carried says hello", flush=True)
            self.output().dump({
                "branch": self.branch, "proxy": proxy, "uid": os.getuid(),
                "mode": stat.S_IMODE(os.stat(proxy).st_mode) if proxy else None,
                "owner": os.stat(proxy).st_uid if proxy else None,
                "job_home": os.environ.get("LAW_CORE_JOB_HOME"),
            })
"""


class GSIOnlyXRootD(XRootDServer):
    """An XRootD server that admits clients with a proxy of the CE's test CA only."""

    def __init__(self, tmp_dir: str, cert_dir: str, host_cert: str, host_key: str):
        self.cert_dir, self.host_cert, self.host_key = cert_dir, host_cert, host_key
        super().__init__(tmp_dir, tpc=False)

    @property
    def url(self) -> str:  # the host certificate is for localhost
        return f"root://localhost:{self.port}//"

    def _config_lines(self) -> list[str]:
        grid = self.dir / "grid"
        grid.mkdir(exist_ok=True)
        shutil.copyfile(self.host_cert, grid / "hostcert.pem")
        shutil.copyfile(self.host_key, grid / "hostkey.pem")
        os.chmod(grid / "hostkey.pem", 0o400)  # chowned to the server's user with the rest
        return [*super()._config_lines(), "xrootd.seclib libXrdSec.so",
                f"sec.protocol gsi -certdir:{self.cert_dir} -cert:{grid / 'hostcert.pem'} "
                f"-key:{grid / 'hostkey.pem'} -gmapopt:0 -crl:0",
                "sec.protbind * only gsi"]


def _needs_xrootd_and_gfal() -> None:
    if shutil.which("xrootd") is None or shutil.which("xrdfs") is None:
        pytest.skip("needs an XRootD server and client (Debian xrootd-server xrootd-client)")
    try:
        import gfal2  # noqa: F401
    except ImportError:
        pytest.skip("needs gfal2's Python bindings (Debian python3-gfal2)")


@pytest.fixture(scope="module")
def gsi_xrootd(arc_fork_ce):
    _needs_xrootd_and_gfal()
    root = tempfile.mkdtemp(prefix="law-core-arc-gsi-")
    os.chmod(root, 0o755)  # the server runs as nobody
    base = arc_fork_ce.base
    server = GSIOnlyXRootD(root, arc_fork_ce.env["X509_CERT_DIR"],
                           str(base / "hostcert" / "host-localhost-cert.pem"),
                           str(base / "hostcert" / "host-localhost-key.pem"))
    try:
        with _serving(server):
            yield server
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def open_xrootd():
    """An XRootD server that asks no credential."""
    _needs_xrootd_and_gfal()
    from law_core.testing.services import xrootd_server

    root = tempfile.mkdtemp(prefix="law-core-arc-open-")
    os.chmod(root, 0o755)
    try:
        with xrootd_server(root) as url:
            yield url.server
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def sealed():
    path = Path(tempfile.mkdtemp(prefix="law-core-arc-sealed-"))  # 0700, root's
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _run(ana: Path, ce, config: str, *args: str) -> subprocess.CompletedProcess:
    (ana / "law.cfg").write_text(config)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAW_CORE")}
    env.update(ce.env, LAW_CORE__ARC__CE=ce.url, PYTHONPATH=str(ana))
    return subprocess.run(
        [sys.executable, "-m", "law_core", "run", "carried_ana.Carried", "--workflow", "arc",
         "--poll-interval", "0.5s", "--tasks-per-job", "1", "--retries", "0", *args],
        cwd=ana, env=env, capture_output=True, text=True, timeout=300)


def _proxy_secret_lines(ce) -> list[str]:
    """The base64 lines of the proxy (its key and certificates): none may leak."""
    text = Path(ce.env["X509_USER_PROXY"]).read_text()
    return [line for line in text.splitlines() if len(line) >= 40 and "-----" not in line]


def _files_text(directory: Path) -> str:
    return "".join(path.read_text(errors="replace") for path in directory.rglob("*")
                   if path.is_file() and not path.name.endswith(".tar.gz")
                   and path.suffix != ".dat")


def test_proxy_travels_to_a_store_that_needs_it_and_logs_go_there_too(
        arc_fork_ce, gsi_xrootd, sealed):
    """Outputs on a GSI-only XRootD server: each job gets the proxy as an input file,
    sees X509_USER_PROXY in its session directory with mode 0600 and writes its outputs
    with it; with --transfer-logs its stdout and stderr are on the store as well. The
    proxy's text is in no job file, no xRSL and no log."""
    import pwd

    from law_core.testing.arc import JOB_USER

    ana = sealed / "analysis"
    ana.mkdir()
    write_tasks(ana, "carried_ana", TASKS)
    unique = uuid.uuid4().hex[:8]
    store = f"{gsi_xrootd.url}carried/{unique}"
    # X509_CERT_DIR: the job's client checks the server's certificate against the test CA
    result = _run(ana, arc_fork_ce,
                  f"[target]\nstore = {store}\n[gfal]\nx509_proxy = required\n"
                  f"[job]\nbundle_cache = {sealed / 'cache'}\nbundle_include = cryptography\n"
                  "forward_env = X509_CERT_DIR\n", "--transfer-logs")
    assert result.returncode == 0, result.stderr[-4000:]
    proxy = Path(arc_fork_ce.env["X509_USER_PROXY"])
    assert f"the jobs take the X.509 proxy {proxy} with them" in result.stderr
    data = gsi_xrootd.data / "carried" / unique / "Carried"
    outputs = sorted(data.glob("carried_*.json"))
    assert [p.name for p in outputs] == ["carried_0.json", "carried_1.json"]
    session = arc_fork_ce.base / "session"
    job_uid = pwd.getpwnam(JOB_USER).pw_uid
    for path in outputs:
        seen = json.loads(path.read_text())
        assert seen["uid"] == job_uid
        assert seen["proxy"].startswith(str(session) + "/")
        assert Path(seen["proxy"]).name == proxy.name
        assert seen["mode"] == 0o600 and seen["owner"] == job_uid
    (job_dir,) = (ana / "data" / "Carried" / "jobs").iterdir()
    # the xRSL names the proxy's path; its text is in no file of the job directory
    (xrsl,) = (job_dir / "arc").glob("batch_*.xrsl")
    assert f'("{proxy.name}" "{proxy}")' in xrsl.read_text()
    secret = _proxy_secret_lines(arc_fork_ce)
    assert secret
    text = _files_text(job_dir)
    assert not [line for line in secret if line in text]
    assert "LAW_CORE_JOB_CREDENTIALS=X509_USER_PROXY=" in (job_dir / "job_env.sh").read_text()
    # the logs on the store, as the CE returned them into the job directory
    logs = data / "logs" / job_dir.name
    assert sorted(p.name for p in logs.iterdir()) == [
        "job_1_1.err", "job_1_1.out", "job_2_1.err", "job_2_1.out"]
    for num, branch in ((1, 0), (2, 1)):
        out = (logs / f"job_{num}_1.out").read_text()
        assert f"branch {branch} of Carried says hello" in out
        assert (job_dir / "logs" / f"job_{num}_1.out").read_text().startswith(out)
        err = (logs / f"job_{num}_1.err").read_text()
        assert not [line for line in secret if line in out + err]


def test_a_store_that_needs_no_credential_gets_none_and_no_logs(
        arc_fork_ce, open_xrootd, sealed):
    """``[gfal] x509_proxy = no`` (the store is reached without X.509): no proxy travels,
    though X509_USER_PROXY is set here for the CE; without --transfer-logs no log is
    written to the store."""
    ana = sealed / "analysis"
    ana.mkdir()
    write_tasks(ana, "carried_ana", TASKS)
    unique = uuid.uuid4().hex[:8]
    result = _run(ana, arc_fork_ce,
                  f"[target]\nstore = {open_xrootd.url}open/{unique}\n[gfal]\nx509_proxy = no\n"
                  f"[job]\nbundle_cache = {sealed / 'cache'}\nbundle_include = cryptography\n")
    assert result.returncode == 0, result.stderr[-4000:]
    assert "the jobs take" not in result.stderr
    data = open_xrootd.data / "open" / unique / "Carried"
    outputs = sorted(data.glob("carried_*.json"))
    assert len(outputs) == 2
    session = str(arc_fork_ce.base / "session") + "/"
    for path in outputs:
        # A-REX's fork LRMS points X509_USER_PROXY at its own delegated copy in the control
        # directory (not on a worker of a real batch system); law-core sent none
        seen = json.loads(path.read_text())["proxy"]
        assert seen is None or not seen.startswith(session), seen
    assert not (data / "logs").exists()
    (job_dir,) = (ana / "data" / "Carried" / "jobs").iterdir()
    (xrsl,) = (job_dir / "arc").glob("batch_*.xrsl")
    assert Path(arc_fork_ce.env["X509_USER_PROXY"]).name not in xrsl.read_text()
    assert "LAW_CORE_JOB_CREDENTIALS" not in (job_dir / "job_env.sh").read_text()
