"""law-core-gfal against Apache's WebDAV server (``davs://``) and GridFTP (``gsiftp://`` with
GSI, anonymous ``ftp://``), started by law-core's fixtures on loopback: the conformance
suites, and the protocol quirks the file interface evens out."""

from __future__ import annotations

import errno
import uuid
from pathlib import Path
from typing import Any, ClassVar

import pytest
from law_core_gfal.file_interface import GFALFileInterface
from law_core_gfal.file_system import GFALFileSystem

import law_core as law
from law_core.targets.remote import RemoteFileTarget
from law_core.testing.file_interface import FileInterfaceSuite
from law_core.testing.remote import RemoteFileSystemSuite, counting


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
