"""A real one-node Slurm cluster on this machine, for tests.

:func:`slurm_cluster` starts munged, slurmctld and slurmd with their own config, key,
sockets, ports and spool directories below a temporary directory, so nothing of the
machine's own Slurm or munge set-up is touched. Clients find it through ``SLURM_CONF``.
It needs the Debian packages ``slurm-wlm`` and ``munge`` and root (as CI has); a missing
binary is an error, not a skip.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from law_core.errors import LawCoreError

_BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "scontrol")


@dataclass
class SlurmCluster:
    """A running cluster: ``env`` makes Slurm's client commands talk to it."""

    root: Path
    env: dict[str, str]
    partition: str
    node: str

    def run(self, *args: str) -> subprocess.CompletedProcess:
        """A Slurm client command against this cluster."""
        return subprocess.run(list(args), env=self.env, capture_output=True, text=True,
                              timeout=60)

    def known_jobs(self) -> list[dict[str, str]]:
        """Every job slurmctld knows (pending, running and recently ended), one dict per
        job, array tasks each on their own (a pending array's ``0-2`` counts three), from
        ``scontrol -o show job``."""
        out = self.run("scontrol", "-o", "show", "job").stdout
        jobs = []
        for line in out.splitlines():
            if not line.strip() or line.startswith("No jobs"):
                continue
            fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
            for index in _array_indices(fields.get("ArrayTaskId")):
                jobs.append({**fields, "ArrayTaskId": index} if index is not None else fields)
        return jobs


def _array_indices(spec: str | None) -> list[str | None]:
    """``"0-2,5%3"`` -> ``["0", "1", "2", "5"]``; no array: ``[None]``."""
    if not spec:
        return [None]
    indices: list[str | None] = []
    for part in spec.split("%")[0].split(","):
        start, _, end = part.partition("-")
        indices += [str(i) for i in range(int(start), int(end or start) + 1)]
    return indices


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(condition, timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    tail = log.read_text()[-2000:] if log and log.exists() else ""
    raise LawCoreError(f"the test Slurm cluster did not come up: {what}\n{tail}")


@contextmanager
def slurm_cluster(root: Path, cpus: int | None = None, max_array_size: int = 10001
                  ) -> Iterator[SlurmCluster]:
    """Start a one-node cluster below ``root`` and stop it (and its jobs) afterwards.
    ``max_array_size`` is the cluster's MaxArraySize (array indices 0 to one less)."""
    missing = [b for b in _BINARIES if not shutil.which(b, path="/usr/sbin:/usr/bin:/sbin:/bin")]
    if missing:
        raise LawCoreError(f"cannot start a test Slurm cluster: {', '.join(missing)} not found;"
                           " install the Debian packages slurm-wlm and munge")
    root = Path(root)
    for sub in ("munge", "ctld", "spool", "log", "run"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    sbin = "/usr/sbin"
    key = root / "munge" / "munge.key"
    sock = root / "munge" / "munge.socket"
    subprocess.run([f"{sbin}/mungekey", "--create", "--keyfile", str(key), "--force"],
                   check=True, capture_output=True)
    key.chmod(0o600)
    os.chown(root / "munge", 0, 0)
    procs: list[subprocess.Popen] = []
    munged = subprocess.Popen(
        [f"{sbin}/munged", "--foreground", "--force", f"--socket={sock}", f"--key-file={key}",
         f"--pid-file={root / 'munge' / 'munged.pid'}", f"--log-file={root / 'log' / 'munged.log'}",
         f"--seed-file={root / 'munge' / 'seed'}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(munged)
    try:
        _wait(sock.exists, 20, "munged socket", root / "log" / "munged.log")
        host = socket.gethostname().split(".")[0]
        node = "lawcore1"
        partition = "lawtest"
        ctld_port, slurmd_port = _free_port(), _free_port()
        conf = root / "slurm.conf"
        conf.write_text("\n".join([
            "ClusterName=lawcoretest",
            f"SlurmctldHost={host}(127.0.0.1)",
            f"SlurmctldPort={ctld_port}",
            f"SlurmdPort={slurmd_port}",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={sock}",
            f"StateSaveLocation={root / 'ctld'}",
            f"SlurmdSpoolDir={root / 'spool'}",
            f"SlurmctldPidFile={root / 'run' / 'slurmctld.pid'}",
            f"SlurmdPidFile={root / 'run' / 'slurmd.pid'}",
            f"SlurmctldLogFile={root / 'log' / 'slurmctld.log'}",
            f"SlurmdLogFile={root / 'log' / 'slurmd.log'}",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SchedulerType=sched/backfill",
            "SchedulerParameters=sched_interval=2",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "ReturnToService=2",
            "JobCompType=jobcomp/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "MpiDefault=none",
            f"MaxArraySize={max_array_size}",
            "MaxJobCount=100000",
            f"NodeName={node} NodeHostname={host} NodeAddr=127.0.0.1 "
            f"CPUs={cpus or os.cpu_count() or 2} RealMemory=4000 State=UNKNOWN",
            f"PartitionName={partition} Nodes={node} Default=YES MaxTime=INFINITE State=UP "
            "OverSubscribe=FORCE:8",
            "",
        ]))
        env = {**os.environ, "SLURM_CONF": str(conf)}
        procs.append(subprocess.Popen([f"{sbin}/slurmctld", "-D", "-i", "-f", str(conf)],
                                      env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        procs.append(subprocess.Popen([f"{sbin}/slurmd", "-D", "-N", node, "-f", str(conf)],
                                      env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        cluster = SlurmCluster(root, env, partition, node)

        def node_idle() -> bool:
            out = cluster.run("sinfo", "-h", "-n", node, "-o", "%T").stdout.strip()
            return out.startswith("idle") or out.startswith("mixed")

        _wait(node_idle, 60, "node not idle", root / "log" / "slurmctld.log")
        yield cluster
    finally:
        if any(p.poll() is None for p in procs[1:]):
            subprocess.run(["scancel", "--full", "--quiet", "-p", "lawtest"],
                           env={**os.environ, "SLURM_CONF": str(root / "slurm.conf")},
                           capture_output=True, timeout=30)
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in reversed(procs):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
