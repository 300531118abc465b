"""A throw-away NorduGrid ARC CE (A-REX 6, REST interface) for the tests of law-core-arc.

::

    with arc_ce(tmp_dir) as ce:          # fork LRMS; lrms="slurm" for a Slurm cluster
        subprocess.run(["arcsub", "-C", ce.url, "-T", "arcrest", ...], env={**os.environ,
                       **ce.env})

Everything lives in ``tmp_dir`` (a private test CA, host and user certificates, a proxy,
``arc.conf``, the control and session directories, logs). The two ``arched`` daemons of
A-REX (the grid manager and the HTTPS front end on 127.0.0.1) are started directly with a
clean environment, as their packaged start scripts would but without systemd, and stopped
when the block ends. Must run as root: A-REX maps the test user's certificate to the
unprivileged unix user :data:`JOB_USER` (jobs mapped to root never start), so ``tmp_dir``
and whatever the jobs read must be reachable by that user.

What A-REX 6.17 needs here (each found by trying, see the comments): the infoprovider
rerun every 5 s instead of 60 s (client tools read job states from it), a reaper for
cancelled fork-LRMS jobs, a "fast" copy of the LRMS scripts (fork jobs noticed as
finished within seconds), Diffie-Hellman parameters made instantly, a sticky tmpdir.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from law_core.testing.services import ServiceError, _answers, free_port

#: the unix user the test user's certificate is mapped to (jobs run as this user)
JOB_USER = "arcuser"
#: the Debian packages A-REX and the client tools come in
PACKAGES = ("nordugrid-arc-arex nordugrid-arc-client nordugrid-arc-arcctl "
            "nordugrid-arc-plugins-arcrest nordugrid-arc-plugins-needed")
_USER_CN = "law-core arc test user"
_ARC_LIB = Path("/usr/lib/arc")
_SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass
class ArcCE:
    """A running test CE."""

    #: what ``arcsub -C`` takes: ``https://localhost:PORT/arex``
    url: str
    #: X509_USER_CERT / _KEY / _PROXY and X509_CERT_DIR of the test user
    env: dict[str, str]
    base: Path
    lrms: str
    #: the queue of the LRMS (``fork``, or the Slurm partition)
    queue: str
    #: a directory the jobs' user may write in (1777)
    shared: Path
    #: a Python the jobs' user can run with the packages of the running one importable
    job_python: str
    pids: list[int] = field(default_factory=list)

    @property
    def rest_url(self) -> str:
        return f"{self.url}/rest/1.0"


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise ServiceError(f"{' '.join(map(str, args))} failed ({result.returncode}): "
                           f"{result.stderr.strip() or result.stdout.strip()}")
    return result


def _ensure_job_user() -> None:
    try:
        pwd.getpwnam(JOB_USER)
    except KeyError:
        _run(["useradd", "-m", "-s", "/bin/bash", JOB_USER])


def _certificates(base: Path) -> dict[str, str]:
    """A test CA (kept out of /etc/grid-security), a host certificate for localhost and a
    user certificate; returns the client environment (the proxy made later)."""
    certs, host, user = base / "certificates", base / "hostcert", base / "user"
    for directory in (certs, host, user):
        directory.mkdir(parents=True, exist_ok=True)
    ca = ["arcctl", "test-ca", "--ca-dir", str(certs), "--ca-id", "lawcore"]
    _run([*ca, "init", "-v", "30"])
    _run([*ca, "hostcert", "-n", "localhost", "-v", "30"], cwd=host)
    # --no-auth: no line in /etc/grid-security/testCA.allowed-subjects (arc.conf authorises)
    _run([*ca, "usercert", "-n", _USER_CN, "-v", "30", "--no-auth"], cwd=user)
    slug = _USER_CN.replace(" ", "-")
    return {"X509_USER_CERT": str(user / f"client-{slug}-cert.pem"),
            "X509_USER_KEY": str(user / f"client-{slug}-key.pem"),
            "X509_USER_PROXY": str(user / "proxy.pem"),
            "X509_CERT_DIR": str(certs)}


REAPER = """#!/bin/sh
# A-REX statecallout at FINISHING: kill what a cancelled fork-LRMS job left running. ARC
# 6.17's cancel-fork-job SIGTERMs a watcher shell whose SIGTERM is blocked, then SIGKILLs
# it: the payload would run on, orphaned.
id="$1"; [ -n "$id" ] || exit 0
for d in /proc/[0-9]*; do
  if { tr '\\0' '\\n' < "$d/environ"; } 2>/dev/null | grep -qx "GRID_GLOBAL_JOBID=$id"; then
    kill -KILL "${d#/proc/}" 2>/dev/null
  fi
done
exit 0
"""


def _fast_arc_location(base: Path) -> Path:
    """/usr with a copy of share/arc whose scan-fork-job sleeps 1 s instead of 10 s: A-REX
    finds its LRMS scripts through ARC_LOCATION, and notices a finished fork job within a
    few seconds instead of 14-18 s."""
    location = base / "arcloc"
    (location / "share").mkdir(parents=True)
    shutil.copytree("/usr/share/arc", location / "share" / "arc", symlinks=True)
    for name in ("lib", "libexec", "bin", "sbin"):
        (location / name).symlink_to(f"/usr/{name}")
    scan = location / "share" / "arc" / "scan-fork-job"
    scan.write_text(scan.read_text().replace("\nsleep 10\n", "\nsleep 1\n"))
    return location


def _arc_conf(base: Path, port: int, dn: str, lrms: str, queue: str) -> str:
    if lrms == "slurm":
        # no accounting database on the test cluster
        lrms_block = f"lrms = slurm {queue}\nslurm_use_sacct = no\nslurm_wakeupperiod = 5"
        callout = ""
    else:
        lrms_block = "lrms = fork"
        callout = (f"statecallout = FINISHING timeout=10,onfailure=pass,ontimeout=pass "
                   f"{base}/bin/reap-job.sh %I")
    return f"""# A test CE of law-core ({lrms} LRMS, REST interface on loopback)
[common]
hostname = localhost
x509_host_key = {base}/hostcert/host-localhost-key.pem
x509_host_cert = {base}/hostcert/host-localhost-cert.pem
x509_cert_dir = {base}/certificates

[authgroup:testusers]
subject = {dn}

[mapping]
map_to_user = testusers {JOB_USER}:{JOB_USER}

[lrms]
{lrms_block}

[arex]
loglevel = 3
logfile = {base}/log/arex.log
joblog = {base}/log/arex-jobs.log
pidfile = {base}/run/arched-arex.pid
controldir = {base}/control
sessiondir = {base}/session
tmpdir = {base}/tmp
helperlog = {base}/log/job.helper.errors
wakeupperiod = 10
{callout}

[arex/data-staging]
maxtransfertries = 1

[arex/ws]
wsurl = https://localhost:{port}/arex
logfile = {base}/log/ws-interface.log
pidfile = {base}/run/arched-arex-ws.pid

[arex/ws/jobs]
allowaccess = testusers

[infosys]
logfile = {base}/log/infoprovider.log

[infosys/glue2]

[infosys/cluster]

[queue:{queue}]
"""


def _gm_xml(base: Path, port: int, runconfig: Path) -> str:
    # InfoproviderWakeupPeriod is in units of 100 ms in 6.17: 50 reruns it after ~5 s
    return f"""<?xml version="1.0"?>
<ArcConfig xmlns="http://www.nordugrid.org/schemas/ArcConfig/2007"
           xmlns:arex="http://www.nordugrid.org/schemas/a-rex/Config">
  <Server>
    <PidFile>{base}/run/arched-arex.pid</PidFile>
    <Logger><File>{base}/log/arex.log</File><Level>INFO</Level></Logger>
    <Watchdog>false</Watchdog>
  </Server>
  <ModuleManager><Path>{_ARC_LIB}/</Path></ModuleManager>
  <Plugins><Name>arex</Name></Plugins>
  <Chain>
    <Service name="a-rex" id="a-rex">
      <arex:endpoint>https://localhost:{port}/arex</arex:endpoint>
      <arex:gmconfig>{runconfig}</arex:gmconfig>
      <arex:InfoproviderWakeupPeriod>50</arex:InfoproviderWakeupPeriod>
    </Service>
  </Chain>
</ArcConfig>
"""


def _ws_xml(base: Path, port: int, runconfig: Path) -> str:
    plugins = "".join(f"<Plugins><Name>{name}</Name></Plugins>" for name in (
        "mcctcp", "mcctls", "mcchttp", "mccsoap", "arex", "identitymap", "arcshc",
        "arcshclegacy"))
    return f"""<?xml version="1.0"?>
<ArcConfig xmlns="http://www.nordugrid.org/schemas/ArcConfig/2007"
           xmlns:tcp="http://www.nordugrid.org/schemas/ArcMCCTCP/2007"
           xmlns:arex="http://www.nordugrid.org/schemas/a-rex/Config">
  <Server>
    <PidFile>{base}/run/arched-arex-ws.pid</PidFile>
    <Logger><File>{base}/log/ws-interface.log</File><Level>INFO</Level></Logger>
    <Watchdog>false</Watchdog>
  </Server>
  <ModuleManager><Path>{_ARC_LIB}/</Path></ModuleManager>
  {plugins}
  <Chain>
    <Component name="tcp.service" id="tcp">
      <next id="tls"/>
      <tcp:Listen><tcp:Interface>127.0.0.1</tcp:Interface><tcp:Port>{port}</tcp:Port></tcp:Listen>
    </Component>
    <Component name="tls.service" id="tls">
      <next id="http"/>
      <KeyPath>{base}/hostcert/host-localhost-key.pem</KeyPath>
      <CertificatePath>{base}/hostcert/host-localhost-cert.pem</CertificatePath>
      <CACertificatesDir PolicyGlobus="true">{base}/certificates</CACertificatesDir>
      <VOMSProcessing>standard</VOMSProcessing>
      <ClientAuthn>false</ClientAuthn>
      <Ciphers>HIGH:!eNULL:!aNULL</Ciphers>
      <Protocol>TLSv1.2 TLSv1.3</Protocol>
      <Curve>secp521r1</Curve>
      <DHParamFile>{base}/control/dhparam.pem</DHParamFile>
    </Component>
    <Component name="http.service" id="http">
      <next id="soap">POST</next>
      <next id="plexer"/>
      <SecHandler name="arclegacy.handler" event="incoming">
        <ConfigFile>{runconfig}</ConfigFile>
      </SecHandler>
    </Component>
    <Component name="soap.service" id="soap">
      <next id="plexer"/>
      <ContinueNonSOAP>true</ContinueNonSOAP>
    </Component>
    <Plexer name="plexer.service" id="plexer">
      <next id="a-rex">^/arex</next>
    </Plexer>
    <Service name="a-rex" id="a-rex">
      <SecHandler name="arclegacy.map" event="incoming">
        <ConfigBlock><ConfigFile>{runconfig}</ConfigFile><BlockName>mapping</BlockName></ConfigBlock>
      </SecHandler>
      <arex:endpoint>https://localhost:{port}/arex</arex:endpoint>
      <arex:gmconfig>{runconfig}</arex:gmconfig>
      <arex:gmrun>none</arex:gmrun>
      <arex:InfosysInterfaceMaxClients>10</arex:InfosysInterfaceMaxClients>
      <arex:JobControlInterfaceMaxClients>100</arex:JobControlInterfaceMaxClients>
      <arex:DataTransferInterfaceMaxClients>100</arex:DataTransferInterfaceMaxClients>
    </Service>
  </Chain>
</ArcConfig>
"""


def job_python(base: Path) -> str:
    """A Python the jobs' user can run, with the packages of this one importable.

    The running interpreter may live where that user cannot go (a pyenv under /root): then
    a venv of the system's Python of the same version adds this interpreter's
    site-packages (the law-core checkout and its plugins, installed in development mode,
    must be readable by the user too)."""
    probe = subprocess.run(["runuser", "-u", JOB_USER, "--", sys.executable, "-c",
                            "import law_core"], capture_output=True)
    if probe.returncode == 0:
        return sys.executable
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system = shutil.which(version, path=_SYSTEM_PATH)
    if system is None:
        raise ServiceError(f"the jobs' user {JOB_USER} cannot run {sys.executable}, and "
                           f"there is no system {version} to stand in for it")
    venv = base / "job-python"
    _run([system, "-m", "venv", "--without-pip", str(venv)])
    site = _run([str(venv / "bin" / "python"), "-c",
                 "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    ours = sysconfig.get_paths()["purelib"]
    Path(site, "law_core_test_site.pth").write_text(
        f"import site; site.addsitedir({ours!r})\n")
    probe = subprocess.run(["runuser", "-u", JOB_USER, "--", str(venv / "bin" / "python"), "-c",
                            "import law_core"], capture_output=True, text=True)
    if probe.returncode != 0:
        raise ServiceError(f"the jobs' Python {venv} cannot import law_core as {JOB_USER}: "
                           f"{probe.stderr.strip()[-500:]}")
    return str(venv / "bin" / "python")


def _reap(marker: str) -> None:
    """SIGKILL every process whose environment holds ``marker`` (this CE's daemons and
    the jobs of its fork LRMS, which inherit their environment)."""
    needle = marker.encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                os.kill(int(entry.name), signal.SIGKILL)
        except (OSError, ValueError):
            continue


@contextmanager
def arc_ce(tmp_dir: Path | str, lrms: str = "fork", *, slurm_partition: str = "debug",
           slurm_env: dict[str, str] | None = None, timeout: float = 60.0) -> Iterator[ArcCE]:
    """Set up and start a CE in ``tmp_dir``; yield it; stop it and everything it started.

    ``lrms`` is ``"fork"`` (jobs run on this host at once) or ``"slurm"`` (jobs go to
    ``slurm_partition`` of the cluster that ``slurm_env``, e.g. ``SLURM_CONF``, names)."""
    if os.geteuid() != 0:
        raise ServiceError("the test ARC CE needs root (it maps jobs to another unix user)")
    if lrms not in ("fork", "slurm"):
        raise ServiceError(f"unknown LRMS {lrms!r}: 'fork' or 'slurm'")
    base = Path(tmp_dir).absolute()
    for sub in ("control", "session", "log", "run", "tmp", "bin", "shared"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(base, 0o755)
    os.chmod(base / "tmp", 0o1777)  # arc-config-check insists on a sticky tmpdir
    os.chmod(base / "shared", 0o1777)
    _ensure_job_user()
    env = _certificates(base)
    dn = _run(["openssl", "x509", "-in", env["X509_USER_CERT"], "-noout", "-subject",
               "-nameopt", "compat"]).stdout.strip().removeprefix("subject=")
    reaper = base / "bin" / "reap-job.sh"
    reaper.write_text(REAPER)
    reaper.chmod(0o755)
    location = _fast_arc_location(base)
    port = free_port()
    queue = slurm_partition if lrms == "slurm" else "fork"
    conf, runconfig = base / "arc.conf", base / "run" / "arched-arex.cfg"
    conf.write_text(_arc_conf(base, port, dn, lrms, queue))
    # the packaged start script would run `openssl dhparam 4096` (minutes on 2 cores); an
    # RFC 7919 group is instant
    _run(["openssl", "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt",
          "group:ffdhe4096", "-out", str(base / "control" / "dhparam.pem")])
    _run([str(_ARC_LIB / "arc-config-check"), "--config", str(conf), "--skip-warnings"])
    _run([str(_ARC_LIB / "arcconfig-parser"), "--config", str(conf), "--runconfig",
          str(runconfig), "--save"])
    (base / "run" / "arex-gm.xml").write_text(_gm_xml(base, port, runconfig))
    (base / "run" / "arex-ws.xml").write_text(_ws_xml(base, port, runconfig))
    # a clean environment: fork jobs inherit the daemon's (ARC_CONFIG marks them as ours)
    daemon_env = {"PATH": _SYSTEM_PATH, "LANG": "C.UTF-8", "HOME": "/root",
                  "ARC_LOCATION": str(location), "ARC_CONFIG": str(runconfig),
                  "TMPDIR": str(base / "tmp"), "HOSTNAME": "localhost",
                  "X509_USER_CERT": f"{base}/hostcert/host-localhost-cert.pem",
                  "X509_USER_KEY": f"{base}/hostcert/host-localhost-key.pem",
                  "X509_CERT_DIR": str(base / "certificates"), "MALLOC_ARENA_MAX": "2",
                  **(slurm_env or {})}
    ce = ArcCE(f"https://localhost:{port}/arex", env, base, lrms, queue, base / "shared",
               job_python(base))
    info = base / "control" / "info.xml"
    started = time.time()
    try:
        for name in ("gm", "ws"):
            with open(base / "log" / f"arched-{name}.out", "ab") as log:
                process = subprocess.Popen(
                    ["/usr/sbin/arched", "-f", "-c", str(base / "run" / f"arex-{name}.xml")],
                    env=daemon_env, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True)
            ce.pids.append(process.pid)
        # ready: the port answers and the infoprovider wrote info.xml (arcsub needs it)
        deadline = time.monotonic() + timeout
        while not (_answers(port) and info.exists() and info.stat().st_mtime >= started - 1):
            if time.monotonic() > deadline:
                raise ServiceError(f"A-REX did not become ready within {timeout:g} s; see "
                                   f"{base / 'log'}")
            time.sleep(0.2)
        _run(["arcproxy"], env={**os.environ, **env})  # a 12 h RFC proxy, for delegation
        yield ce
    finally:
        for pid in ce.pids:
            try:
                os.killpg(pid, signal.SIGKILL)  # a throw-away CE: no graceful 12 s stop
            except ProcessLookupError:
                pass
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        _reap(f"ARC_CONFIG={runconfig}")
