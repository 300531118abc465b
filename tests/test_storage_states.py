"""Honest storage states: an output whose storage cannot be asked (no base answered, an
expired credential) is "unreachable", never "absent": no re-run, no job submitted.

The storage here is a stand-in (``standin_storage``, written into each test's directory so
that ``law-core`` subprocesses and jobs import it too): a remote file system whose
"server" is a local directory, reached as ``stand://``, which refuses connections while a
file ``down`` exists and whose credential, like an X.509 proxy, is a file holding its end.
It logs every request that reaches it. It is no backend: it runs the core's code paths;
the real ones (gfal2 with a proxy made by a test CA, on a real server) are tested in
plugins/targets_gfal/tests/test_credentials.py.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, ClassVar

import pytest

from law_core.config import reset_config
from law_core.errors import (
    CredentialError,
    JobSubmissionError,
    StorageUnreachableError,
    TargetError,
)
from law_core.settings import Settings, option
from law_core.targets.failover import Failover, bad_bases
from law_core.targets.file_interface import Credential, FileInterface, utc_text
from law_core.targets.file_system import StatResult
from law_core.targets.remote import RemoteFileSystem
from law_core.testing.cli import clean_env, write_module
from law_core.workflow.credentials import expected_walltime

STANDIN = '''
"""Stand-in storage for law-core's tests (see tests/test_storage_states.py): a local
directory reached as stand://, "down" while ROOT/down exists, with a credential whose end
is the number in ROOT/credential. Every request that reaches it is logged."""

import errno
import os
import shutil
from datetime import datetime, timezone

from law_core.plugin import Credential, FileInterface, RemoteFileSystem, StatResult

ROOT = {root!r}


class StandInInterface(FileInterface):
    """Stand-in file interface (not a backend)."""

    def _path(self, uri):
        with open(os.path.join(ROOT, "requests.log"), "a") as log:
            log.write(uri + "\\n")
        down = os.path.join(ROOT, "down")
        if os.path.exists(down):
            # empty: down; a number: down for that many requests of the submitting side
            # (jobs, which run with LAW_CORE_JOB set, get through)
            with open(down) as f:
                left = f.read().strip()
            if left and "LAW_CORE_JOB" not in os.environ:
                if left == "1":
                    os.remove(down)
                else:
                    with open(down, "w") as f:
                        f.write(str(int(left) - 1))
            if not left or "LAW_CORE_JOB" not in os.environ:
                raise ConnectionRefusedError(errno.ECONNREFUSED,
                                             "connection refused (stand-in)", uri)
        return os.path.join(ROOT, "data", uri.split("://", 1)[1].lstrip("/"))

    def credential(self, uri):
        path = os.path.join(ROOT, "credential")
        if not os.path.exists(path):
            return None
        with open(path) as f:
            until = datetime.fromtimestamp(float(f.read()), timezone.utc)
        return Credential("the stand-in credential", until, "renew it with standin-init")

    def stat(self, uri):
        st = os.stat(self._path(uri))
        return StatResult(st.st_size, st.st_mtime, os.path.isdir(self._path(uri)))

    def listdir(self, uri):
        return os.listdir(self._path(uri))

    def mkdir(self, uri):
        os.makedirs(self._path(uri), exist_ok=True)

    def remove(self, uri):
        os.remove(self._path(uri))

    def rmdir(self, uri):
        os.rmdir(self._path(uri))

    def rename(self, src_uri, dst_uri):
        os.replace(self._path(src_uri), self._path(dst_uri))

    def copy(self, src_uri, dst_uri):
        local = lambda uri: uri[len("file://"):] if uri.startswith("file://") else None
        shutil.copyfile(local(src_uri) or self._path(src_uri),
                        local(dst_uri) or self._path(dst_uri))


class StandInFileSystem(RemoteFileSystem):
    file_interface_cls = StandInInterface


FS = StandInFileSystem("stand://store/", name="standin", retries=1, retry_delay=0.05)
'''

TASKS = '''
import os

import law_core as law
from law_core.targets.remote import RemoteFileTarget

from standin_storage import FS, ROOT


def ran(name):
    with open(os.path.join(ROOT, "ran.log"), "a") as log:
        log.write(name + "\\n")


class Store(law.Task):
    def output(self):
        return RemoteFileTarget("/Store/out.json", fs=FS)

    def run(self):
        ran("Store")
        self.output().dump({"stored": True})


class Pair(law.Task):
    def output(self):
        return {"a": RemoteFileTarget("/Pair/a.json", fs=FS),
                "b": RemoteFileTarget("/Pair/b.json", fs=FS)}

    def run(self):
        ran("Pair")
        for target in self.output().values():
            target.dump({})


class Report(law.Task):
    def requires(self):
        return {"store": Store.req(self), "pair": Pair.req(self)}

    def output(self):
        return self.local_target("report.json")

    def run(self):
        ran("Report")
        self.output().dump({"report": True})


class Letters(law.LocalWorkflow):
    def create_branch_map(self):
        return {0: "a", 1: "b", 2: "c"}

    def output(self):
        return RemoteFileTarget(f"/Letters/{self.branch}.json", fs=FS)

    def run(self):
        ran(f"Letters {self.branch}")
        self.output().dump({"letter": self.branch_data})


class Hiccup(law.LocalWorkflow):
    """One branch, whose job makes the storage refuse the next 4 requests of the submitting
    side once its output is written: the check of it meets a storage down a while."""

    def create_branch_map(self):
        return [0]

    def output(self):
        return RemoteFileTarget(f"/Hiccup/{self.branch}.json", fs=FS)

    def run(self):
        self.output().dump({})
        with open(os.path.join(ROOT, "down"), "w") as f:
            f.write("4")


class Words(Letters):
    def requires(self):
        return Store.req(self)

    def output(self):
        return RemoteFileTarget(f"/Words/{self.branch}.json", fs=FS)
'''


class Analysis:
    """A directory with the stand-in storage and the tasks, run with ``law-core``."""

    def __init__(self, root: Path, env: dict[str, str] | None = None):
        self.root = root
        self.storage = root / "storage"
        (self.storage / "data").mkdir(parents=True)
        write_module(root, "standin_storage", STANDIN.format(root=str(self.storage)))
        write_module(root, "states", TASKS)
        self.env = dict(env or {})
        self.config("")

    def config(self, text: str) -> None:
        (self.root / "law.cfg").write_text("[modules]\nstates\n\n" + text)

    def credential(self, hours: float | None) -> datetime | None:
        """Give the credential ``hours`` of validity left (negative: ended); None: none."""
        path = self.storage / "credential"
        if hours is None:
            path.unlink(missing_ok=True)
            return None
        until = datetime.now(timezone.utc) + timedelta(hours=hours)
        path.write_text(str(until.timestamp()))
        return until

    def down(self, down: bool = True) -> None:
        flag = self.storage / "down"
        flag.touch() if down else flag.unlink(missing_ok=True)

    def requests(self) -> list[str]:
        log = self.storage / "requests.log"
        return log.read_text().splitlines() if log.exists() else []

    def ran(self) -> list[str]:
        log = self.storage / "ran.log"
        return log.read_text().splitlines() if log.exists() else []

    def run(self, *args: str) -> subprocess.CompletedProcess:
        env = clean_env(self.root, **self.env)
        env["PYTHONPATH"] = ":".join(p for p in (str(self.root), env.get("PYTHONPATH")) if p)
        return subprocess.run([sys.executable, "-m", "law_core", "run", *args], cwd=self.root,
                              env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def analysis(tmp_path: Path) -> Analysis:
    return Analysis(tmp_path)


def _ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stdout + result.stderr
    return result


# the states a user sees


def test_expired_credential_is_unreachable_in_the_status_and_asks_nothing(
        analysis: Analysis) -> None:
    analysis.credential(2)
    _ok(analysis.run("states.Report"))
    _ok(analysis.run("states.Letters"))
    assert "Store" in analysis.ran() and len(analysis.requests()) > 0

    ended = analysis.credential(-1)
    asked = len(analysis.requests())
    status = _ok(analysis.run("states.Report", "--print-status", "1"))
    expected = f"unreachable: the stand-in credential expired at {utc_text(ended)}"
    lines = status.stdout.splitlines()
    store = [line for line in lines if "stand://store/Store/out.json" in line]
    assert store and store[0].endswith(f"stand://store/Store/out.json: {expected}"), lines
    assert sum(expected in line for line in lines) == 3  # Store, and both of Pair
    assert any("report.json: existent" in line for line in lines)  # the local one answers
    letters = _ok(analysis.run("states.Letters", "--print-status", "0,1")).stdout
    assert f"collection of 3 targets: {expected}" in letters
    # a workflow requires what its missing branches do: which those are is unknown too
    words = _ok(analysis.run("states.Words", "--print-status", "1")).stdout
    assert f"collection of 3 targets: {expected}\n      requirements: {expected}" in words
    assert "absent" not in status.stdout + letters + words
    assert len(analysis.requests()) == asked, "a request was made with an ended credential"


def test_unreachable_storage_shows_why_and_is_asked_once_per_status(
        analysis: Analysis) -> None:
    analysis.down()
    result = _ok(analysis.run("states.Report", "--print-status", "1"))
    lines = [line for line in result.stdout.splitlines() if "stand://" in line]
    assert len(lines) == 3, result.stdout
    assert lines[0].endswith("stand://store/Store/out.json: unreachable: no base answered "
                             "(stand://store/): ConnectionRefusedError: [Errno 111] connection "
                             "refused (stand-in): 'stand://store/Store/out.json'"), lines
    for line in lines[1:]:
        assert line.endswith(": unreachable: standin did not answer, see above"), line
    # the first output waited for the retries; the two others on the same storage did not
    assert len(analysis.requests()) == 2  # one attempt and one retry
    assert "report.json: absent" in result.stdout  # local storage answers as ever


def test_run_stops_instead_of_redoing_work_behind_an_expired_credential(
        analysis: Analysis) -> None:
    analysis.credential(2)
    _ok(analysis.run("states.Report"))
    (analysis.root / "data" / "Report" / "report.json").unlink()
    ended = analysis.credential(-0.5)
    ran = analysis.ran()

    result = analysis.run("states.Report")
    assert result.returncode == 1
    assert f"the stand-in credential expired at {utc_text(ended)}; renew it with " \
           "standin-init" in result.stderr
    assert "Traceback" not in result.stderr
    assert analysis.ran() == ran, "nothing runs while the storage cannot be asked"
    assert not (analysis.root / "data" / "Report" / "report.json").exists()

    alone = analysis.run("states.Store")  # the task itself: the reason, not a traceback
    assert alone.returncode == 1
    assert "law-core: error: cannot tell whether Store() is complete, so nothing was run: " \
           "the stand-in credential expired at" in alone.stderr
    assert analysis.ran() == ran


def test_unreachable_storage_stops_a_workflow_before_it_runs_a_branch(
        analysis: Analysis) -> None:
    analysis.credential(None)
    _ok(analysis.run("states.Letters"))
    ran = analysis.ran()
    analysis.down()
    result = analysis.run("states.Letters")
    assert result.returncode == 1
    assert "no base answered" in result.stderr and "Traceback" not in result.stderr
    assert analysis.ran() == ran


# before jobs are submitted


@pytest.fixture
def remote_analysis(tmp_path: Path, law_core_reference_jobs: Any) -> Analysis:
    analysis = Analysis(tmp_path, env=law_core_reference_jobs.env)
    analysis.jobs = law_core_reference_jobs  # type: ignore[attr-defined]
    return analysis


def test_no_job_is_submitted_when_the_credential_ends_before_the_jobs_would(
        remote_analysis: Analysis) -> None:
    analysis = remote_analysis
    analysis.config("[job]\nwalltime = 2h\n\n[Letters]\npoll_interval = 0.2s\n")
    ends = analysis.credential(1)
    result = analysis.run("states.Letters", "--workflow", "processes")
    assert result.returncode == 1
    assert f"the stand-in credential ends at {utc_text(ends)}, before their expected wall " \
           "time of 2h ([job] walltime) is over" in result.stderr, result.stderr
    assert "renew it with standin-init for longer" in result.stderr
    assert analysis.jobs.jobs() == []  # type: ignore[attr-defined]

    analysis.credential(-1)
    ended = analysis.run("states.Letters", "--workflow", "processes")
    assert ended.returncode == 1 and "the stand-in credential expired at" in ended.stderr
    assert analysis.jobs.jobs() == []  # type: ignore[attr-defined]

    analysis.credential(3)  # renewed: the same command submits, and the jobs write
    _ok(analysis.run("states.Letters", "--workflow", "processes"))
    assert len(analysis.jobs.jobs()) == 3  # type: ignore[attr-defined]
    assert sorted(p.name for p in (analysis.storage / "data" / "store" / "Letters").iterdir()) == [
        "0.json", "1.json", "2.json"]


def test_a_storage_down_while_jobs_are_polled_counts_against_poll_fails(
        remote_analysis: Analysis) -> None:
    analysis = remote_analysis
    # the check of the finished job's output meets the storage down (2 requests per check,
    # retries = 1): two failed polls, then it answers
    analysis.config("[Hiccup]\npoll_interval = 0.2s\npoll_fails = 2\n")
    result = _ok(analysis.run("states.Hiccup", "--workflow", "processes"))
    assert "the check of finished jobs' outputs failed (1 of 2 allowed, --poll-fails)" in \
        result.stderr, result.stderr
    assert "(2 of 2 allowed" in result.stderr and "(3 of" not in result.stderr
    assert (analysis.storage / "data" / "store" / "Hiccup" / "0.json").exists()
    assert len(analysis.jobs.jobs()) == 1  # type: ignore[attr-defined]

    # allowed fewer failures than the storage is down: the run stops, saying why
    (analysis.storage / "data" / "store" / "Hiccup" / "0.json").unlink()
    analysis.config("[Hiccup]\npoll_interval = 0.2s\npoll_fails = 1\n")
    stopped = analysis.run("states.Hiccup", "--workflow", "processes")
    assert stopped.returncode == 1, stopped.stdout + stopped.stderr
    assert "failed 2 times in a row" in stopped.stderr and "no base answered" in \
        stopped.stderr, stopped.stderr
    assert "Traceback" not in stopped.stderr


# the pieces


class StandInInterface(FileInterface):
    """Stand-in interface in this process: counts the requests that reach it."""

    until: ClassVar[datetime | None] = None
    calls: ClassVar[list[str]] = []

    def credential(self, uri: str) -> Credential | None:
        if self.until is None or not uri.startswith("stand:"):
            return None
        return Credential("the stand-in credential", self.until, "renew it")

    def stat(self, uri: str) -> StatResult:
        self.calls.append(uri)
        return StatResult(1, 0.0, False)

    def listdir(self, uri: str) -> list[str]:
        self.calls.append(uri)
        return []

    def mkdir(self, uri: str) -> None:
        self.calls.append(uri)

    def remove(self, uri: str) -> None:
        self.calls.append(uri)

    def rmdir(self, uri: str) -> None:
        self.calls.append(uri)

    def rename(self, src_uri: str, dst_uri: str) -> None:
        self.calls.append(src_uri)

    def copy(self, src_uri: str, dst_uri: str) -> None:
        self.calls.append(dst_uri)


@pytest.fixture
def interface() -> Any:
    StandInInterface.calls = []
    StandInInterface.until = None
    yield StandInInterface()
    bad_bases.clear()


def test_every_request_checks_the_credential_first(interface: StandInInterface,
                                                    tmp_path: Path) -> None:
    fs = RemoteFileSystem("stand://a/", file_interface=interface, retries=0,
                          validate_copy=False)
    fs.stat("/x")
    assert fs.exists("/x") and len(interface.calls) == 2
    StandInInterface.until = datetime.now(timezone.utc) + timedelta(minutes=5)
    fs.listdir("/")
    ended = StandInInterface.until = datetime.now(timezone.utc) - timedelta(seconds=1)
    calls = len(interface.calls)
    local = tmp_path / "x"
    local.write_text("x")
    for call in (lambda: fs.stat("/x"), lambda: fs.exists("/x"), lambda: fs.listdir("/"),
                 lambda: fs.mkdir("/d"), lambda: fs.remove("/x"), lambda: fs.rmdir("/d"),
                 lambda: fs.rename("/x", "/y"), lambda: fs.put(str(local), "/x"),
                 lambda: fs.get("/x", str(tmp_path / "y"))):
        with pytest.raises(CredentialError) as info:
            call()
        assert info.value.valid_until == ended
        assert info.value.reason == f"the stand-in credential expired at {utc_text(ended)}"
    assert len(interface.calls) == calls


def test_failover_neither_retries_an_ended_credential_nor_calls_no_answer_absent(
        interface: StandInInterface) -> None:
    fs = RemoteFileSystem(["stand://a/", "stand://b/"], file_interface=interface, retries=3,
                          retry_delay=30)
    StandInInterface.until = datetime.now(timezone.utc) - timedelta(hours=1)
    started = time.monotonic()
    with pytest.raises(CredentialError):
        fs.stat("/x")
    assert time.monotonic() - started < 5 and interface.calls == []

    def refused(base: str) -> Any:
        raise ConnectionRefusedError(111, "connection refused", base)

    quick = Failover(["stand://a/", "stand://b/"], retries=1, retry_delay=0,
                     is_transient=interface.is_transient)
    with pytest.raises(StorageUnreachableError) as info:
        quick.call("stat", refused, "stat of /x")
    assert isinstance(info.value, TargetError)
    assert info.value.reason.startswith("no base answered (stand://a/, stand://b/): "
                                        "ConnectionRefusedError")


@dataclass(frozen=True)
class _TimedSettings(Settings):
    section: ClassVar[str] = "timed"
    time: float = option(0.0, "time limit per job", kind="duration", unit="m")


class _Manager:
    """Stand-in for a job manager: what expected_walltime reads of one."""

    settings_cls = _TimedSettings

    def __init__(self, minutes: float):
        self.settings = _TimedSettings(time=minutes)


def test_the_expected_wall_time_is_the_jobs_time_limit_else_job_walltime(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAW_CORE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    reset_config()
    assert expected_walltime(_Manager(0)) is None
    assert expected_walltime(_Manager(90)) == (5400.0, "timed time")
    (tmp_path / "law.cfg").write_text("[job]\nwalltime = 1.5\n")
    reset_config()
    assert expected_walltime(_Manager(0)) == (5400.0, "[job] walltime")
    assert expected_walltime(_Manager(30)) == (1800.0, "timed time")
    (tmp_path / "law.cfg").write_text("[job]\nwalltime = soon\n")
    reset_config()
    with pytest.raises(JobSubmissionError, match="walltime = 'soon'"):
        expected_walltime(_Manager(0))
    reset_config()

