"""law-core-gfal against Apache's WebDAV server (``davs://``) and GridFTP (``gsiftp://`` with
GSI, anonymous ``ftp://``), started by law-core's fixtures on loopback: the conformance
suites, and the protocol quirks the file interface evens out."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any, ClassVar

import pytest
from law_core_gfal.file_interface import GFALFileInterface
from law_core_gfal.file_system import GFALFileSystem

import law_core as law
from law_core.targets.remote import RemoteFileTarget
from law_core.testing.cli import run_cli
from law_core.testing.file_interface import FileInterfaceSuite
from law_core.testing.remote import RemoteFileSystemSuite, counting
from law_core.testing.services import ServiceError, gridftp_server, make_test_pki


def _unique() -> str:
    return uuid.uuid4().hex[:12]


class _OnServer:
    """Where the suites find the server: the conftest fixture named ``server_fixture``."""

    server_fixture: ClassVar[str]
    scheme: ClassVar[str]

    @pytest.fixture(autouse=True)
    def _server(self, request: pytest.FixtureRequest, dead_port: int) -> None:
        self.server = request.getfixturevalue(self.server_fixture)
        self.dead_port = dead_port

    # FileInterfaceSuite

    def make_interface(self, tmp_path: Path) -> tuple[GFALFileInterface, str]:
        return GFALFileInterface(), f"{self.server.url}interface/{_unique()}"

    def unreachable_uri(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.dead_port}/x"

    # RemoteFileSystemSuite

    fs_class = GFALFileSystem

    def live_base(self, tmp_path: Path) -> str:
        return f"{self.server.url}suite/{_unique()}"

    def dead_base(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.dead_port}/suite"

    def stop_storage(self) -> None:
        self.server.stop()

    def start_storage(self) -> None:
        self.server.start()


class TestGFALInterfaceOnApacheDAV(_OnServer, FileInterfaceSuite):
    server_fixture, scheme = "apache_dav", "davs"


class TestGFALOnApacheDAV(_OnServer, RemoteFileSystemSuite):
    server_fixture, scheme = "apache_dav", "davs"


class TestGFALInterfaceOnGridFTP(_OnServer, FileInterfaceSuite):
    server_fixture, scheme = "gridftp", "gsiftp"


class TestGFALOnGridFTP(_OnServer, RemoteFileSystemSuite):
    server_fixture, scheme = "gridftp", "gsiftp"


class TestGFALInterfaceOnFTP(_OnServer, FileInterfaceSuite):
    server_fixture, scheme = "ftp", "ftp"


class TestGFALOnFTP(_OnServer, RemoteFileSystemSuite):
    server_fixture, scheme = "ftp", "ftp"


# the quirks, on each server

SERVERS = ("apache_dav", "gridftp", "ftp")


@pytest.fixture(params=SERVERS)
def base(request: pytest.FixtureRequest) -> str:
    """An empty directory on each server."""
    uri = f"{request.getfixturevalue(request.param).url}quirks/{_unique()}/"
    GFALFileInterface().mkdir(uri)
    return uri


def _put(tmp_path: Path, fi: GFALFileInterface, uri: str, data: bytes = b"x") -> None:
    local = tmp_path / f"up-{_unique()}"
    local.write_bytes(data)
    fi.copy(f"file://{local}", uri)


def test_rmdir_of_a_full_directory_is_refused(base: str, tmp_path: Path) -> None:
    """GridFTP says ECOMM, Apache (with the non-recursive DELETE) EEXIST: both are the
    storage's answer "not empty", and the files stay."""
    fi = GFALFileInterface()
    _put(tmp_path, fi, f"{base}full/kept.txt")
    with pytest.raises(OSError) as info:
        fi.rmdir(f"{base}full")
    assert info.value.errno == errno.ENOTEMPTY, info.value
    assert fi.listdir(f"{base}full") == ["kept.txt"]


def test_listdir_has_no_dot_entries(base: str, tmp_path: Path) -> None:
    fi = GFALFileInterface()
    fi.mkdir(f"{base}empty")
    assert fi.listdir(f"{base}empty") == []
    _put(tmp_path, fi, f"{base}a.txt")
    assert sorted(fi.listdir(base)) == ["a.txt", "empty"]


def test_mkdir_of_an_existing_directory(base: str) -> None:
    fi = GFALFileInterface()
    fi.mkdir(f"{base}d")
    fi.mkdir(f"{base}d")  # Apache and GridFTP answer EEXIST: fine by the contract
    assert fi.stat(f"{base}d").is_dir


def test_upload_into_a_missing_directory(base: str, tmp_path: Path) -> None:
    """Without create_parent, Apache answers 409, which gfal2 reports as EISDIR: it is a
    missing directory."""
    fi = GFALFileInterface(gfal_transfer_create_parent=False)
    with pytest.raises(FileNotFoundError):
        _put(tmp_path, fi, f"{base}missing/dir/x.txt")
    GFALFileInterface().mkdir(f"{base}missing/dir")
    _put(tmp_path, fi, f"{base}missing/dir/x.txt", b"here")
    assert fi.stat(f"{base}missing/dir/x.txt").size == 4


def test_missing_source_of_a_copy_on_the_storage(base: str) -> None:
    """A missing file stays missing, also where the server has no third-party copy."""
    with pytest.raises(FileNotFoundError):
        GFALFileInterface().copy(f"{base}nothing.txt", f"{base}copy.txt")


def test_copy_between_two_directories_on_apache(apache_dav: Any, tmp_path: Path) -> None:
    """gfal2's third-party COPY gets 404 from mod_dav (no fallback in gfal2): law-core
    streams the file through this machine instead, once it knows."""
    one = GFALFileSystem(f"{apache_dav.url}tpc/{_unique()}")
    other = GFALFileSystem(f"{apache_dav.url}tpc/{_unique()}")
    src = one.target("/src.json")
    src.dump({"x": 1})
    counter, _ = counting(one), counting(other)  # the same interface type on both sides
    for i in range(2):
        copied = src.copy_to(other.target(f"/dst/{i}.json"))
        assert copied.load() == {"x": 1}
    assert counter.calls["copy"] == 1, "the refused direct copy must be asked once only"
    assert counter.calls["download"] == 2


def test_third_party_copy_on_gridftp(gridftp: Any) -> None:
    """gsiftp:// to gsiftp:// goes server to server."""
    one = GFALFileSystem(f"{gridftp.url}tpc/{_unique()}")
    other = GFALFileSystem(f"{gridftp.url}tpc/{_unique()}")
    src = one.target("/src.json")
    src.dump({"gsiftp": True})
    counter, dst_counter = counting(one), counting(other)
    copied = src.copy_to(other.target("/dst/src.json"))
    assert copied.load() == {"gsiftp": True}
    assert counter.calls["download"] == 0, "the copy went through this machine"
    assert counter.calls["copy"] == 1 and dst_counter.calls["upload"] == 0


def test_checksum_checked_copies(base: str, tmp_path: Path) -> None:
    """Uploads and downloads with the checksum compared: Apache answers Want-Digest
    through the fixture's mod_lua hook, GridFTP computes it (CKSM)."""
    fs = GFALFileSystem(base, gfal_transfer_checksum_check=True)
    (tmp_path / "in.bin").write_bytes(b"checksum me" * 1000)
    fs.put(str(tmp_path / "in.bin"), "/c/in.bin")
    fs.get("/c/in.bin", str(tmp_path / "back.bin"))
    assert (tmp_path / "back.bin").read_bytes() == b"checksum me" * 1000


@pytest.mark.parametrize("server", ["gridftp", "ftp"])
def test_law_target_on_gridftp_uris(server: str, request: pytest.FixtureRequest) -> None:
    """``law.target`` picks the gfal file system by the scheme (gsiftp://, ftp://); the file
    lands on the server's disk at the URL's absolute path."""
    gridftp = request.getfixturevalue(server)
    uri = f"{gridftp.url}targets/{_unique()}/out.json"
    target = law.target(uri)
    assert isinstance(target, RemoteFileTarget) and isinstance(target.fs, GFALFileSystem)
    target.dump({"grid": "ftp"})
    assert target.load() == {"grid": "ftp"}
    local = gridftp.data / uri.split(str(gridftp.data), 1)[1].lstrip("/")
    assert local.read_text() == '{"grid": "ftp"}'


# processes forked after the parent used gfal2 (law_core_gfal.helper)

#: run by a fresh Python: the parent asks the server, forks, and the child uses every
#: primitive; Globus hangs in such a child unless its requests go to the helper process
_FORK_SCRIPT = """
import os
import sys
import traceback

from law_core_gfal import helper
from law_core_gfal.file_interface import GFALFileInterface

base, work = sys.argv[1], sys.argv[2]
interface = GFALFileInterface()
interface.mkdir(base)
interface.listdir(base)  # the parent asked the server before forking, as scheduling does
pid = os.fork()
if pid == 0:
    code = 3
    try:
        assert helper.needs_helper(base), "the forked child would ask in-process"
        with open(f"{work}/up.txt", "w") as f:
            f.write("from the child")
        interface.mkdir(f"{base}/sub")
        interface.copy(f"file://{work}/up.txt", f"{base}/sub/a.txt")
        interface.rename(f"{base}/sub/a.txt", f"{base}/sub/b.txt")
        assert interface.listdir(f"{base}/sub") == ["b.txt"]
        assert interface.stat(f"{base}/sub/b.txt").size == 14
        assert not interface.exists(f"{base}/sub/a.txt")
        interface.copy(f"{base}/sub/b.txt", f"file://{work}/down.txt")
        try:
            interface.rmdir(f"{base}/sub")
        except OSError as err:  # the storage's answer comes back with its errno
            assert err.errno == 39, err
        else:
            raise AssertionError("a full directory was removed")
        interface.remove(f"{base}/sub/b.txt")
        interface.rmdir(f"{base}/sub")
        code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stderr.flush()
        os._exit(code)
_, status = os.waitpid(pid, 0)
assert interface.listdir(base) == [], "the parent asks in-process after the fork"
sys.exit(os.waitstatus_to_exitcode(status))
"""


@pytest.mark.parametrize("server", ["gridftp", "ftp"])
def test_gridftp_requests_in_a_process_forked_after_gfal2_use(
        server: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Every request of a child forked after its parent used gfal2 answers (Globus in the
    child waited forever, a stat too): it goes to the helper process."""
    base = f"{request.getfixturevalue(server).url}forked/{_unique()}"
    result = subprocess.run([sys.executable, "-c", _FORK_SCRIPT, base, str(tmp_path)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "down.txt").read_text() == "from the child"


_ANALYSIS = """
import os

import law_core as law


class Part(law.LocalWorkflow):
    def create_branch_map(self):
        return {i: f"part{i}" for i in range(6)}

    def output(self):
        return self.target(f"parts/{self.branch_data}.json")

    def run(self):
        self.output().dump({"part": self.branch, "pid": os.getpid()})


class Merge(law.Task):
    def requires(self):
        return Part()

    def output(self):
        return self.target("merged.json")

    def run(self):
        parts = [t.load() for _, t in self.input()["collection"].iter_existing()]
        self.output().dump({"parts": sorted(p["part"] for p in parts),
                            "pid": os.getpid()})
"""


def test_run_with_two_workers_on_gridftp_outputs(gridftp: Any, tmp_path: Path) -> None:
    """``law-core run --workers 2``: luigi forks the task processes after the scheduling
    process listed the outputs over GridFTP; the run hung forever there."""
    sub = f"workers/{_unique()}"
    (tmp_path / "analysis.py").write_text(_ANALYSIS)
    (tmp_path / "law.cfg").write_text(
        f"[modules]\nanalysis\n\n[target]\nstore = {gridftp.url}{sub}\n")
    result = run_cli(["run", "analysis.Merge", "--workers", "2"], tmp_path)
    assert result.returncode == 0, result.stderr
    on_disk = gridftp.data / sub
    merged = json.loads((on_disk / "Merge" / "merged.json").read_text())
    assert merged["parts"] == list(range(6))
    assert sorted(os.listdir(on_disk / "Part" / "parts")) == [
        f"part{i}.json" for i in range(6)]
    status = run_cli(["run", "analysis.Merge", "--print-status", "1"], tmp_path)
    assert status.returncode == 0, status.stderr
    assert "absent" not in status.stdout and "existent (6/6)" in status.stdout, status.stdout


#: sixteen GridFTP sessions at once, all still cached in the context when the process ends
_SESSIONS_AT_EXIT_SCRIPT = """
import sys
import threading

from law_core_gfal.file_interface import GFALFileInterface

interface = GFALFileInterface()
threads = [threading.Thread(target=interface.listdir, args=(sys.argv[1],)) for _ in range(16)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
"""


def test_a_process_that_used_gridftp_ends_with_its_exit_code(gridftp: Any) -> None:
    """A process whose gfal2 context still held GridFTP sessions when it ended died of
    SIGSEGV after its work (``--print-status`` about one run in ten, this script four in
    ten): Globus freed a session's credentials in its thread while ``exit()`` had torn
    down OpenSSL. A batch job would have been reported failed with its outputs written."""
    for attempt in range(8):
        result = subprocess.run([sys.executable, "-c", _SESSIONS_AT_EXIT_SCRIPT, gridftp.url],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, (attempt, result.returncode, result.stderr)


#: the child's request goes to a door that takes the connection and never answers
_SILENT_DOOR_SCRIPT = """
import os
import socket
import sys
import time

from law_core_gfal import helper
from law_core_gfal.context import get_context
from law_core_gfal.file_interface import GFALFileInterface

live = sys.argv[1]
helper.REQUEST_TIMEOUT, helper.TIMEOUT_MARGIN = 3, 0
door = socket.socket()
door.bind(("127.0.0.1", 0))
door.listen(8)
get_context()
pid = os.fork()
if pid == 0:
    code = 3
    try:
        silent = f"gsiftp://127.0.0.1:{door.getsockname()[1]}/x"
        start = time.monotonic()
        try:
            GFALFileInterface().stat(silent)
        except TimeoutError as err:
            assert "stat got no answer from the storage within 3 s" in str(err), err
            assert err.filename == silent, err.filename
            assert time.monotonic() - start < 30
        else:
            raise AssertionError("the silent door answered")
        # a new helper answers the next request
        assert GFALFileInterface().stat(live).is_dir
        code = 0
    finally:
        sys.stderr.flush()
        os._exit(code)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def test_a_request_in_the_helper_has_a_time_bound(ftp: Any, tmp_path: Path) -> None:
    """A helper whose request gets no answer is stopped at the bound: the request raises
    TimeoutError naming the URI (transient: retries and failover apply), never hangs."""
    result = subprocess.run([sys.executable, "-c", _SILENT_DOOR_SCRIPT, ftp.url],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_the_trust_directory_given_as_the_pki_is_refused(tmp_path: Path) -> None:
    """``pki=`` takes the directory given to make_test_pki; its returned trust directory
    silently made a second CA inside it, which no client trusted."""
    certs = make_test_pki(tmp_path / "pki")
    with pytest.raises(ServiceError, match=r"pass the directory that was given to it "
                                           rf"\({tmp_path / 'pki'}\)"):
        with gridftp_server(tmp_path / "ftp", pki=certs):
            pass
    assert not (certs / "ca.pem").exists()
