"""law-core-dropbox through the official dropbox SDK against the Dropbox STAND-IN of
tests/standin/dropbox_api_standin.py (a local HTTPS server that speaks the subset of the
Dropbox API v2 the plugin uses; it is not Dropbox, which cannot be reached from here).
conftest.py starts it and points the SDK at it."""

from __future__ import annotations

import errno
import functools
import hashlib
import logging
import os
import pickle
import re
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from dropbox_api_standin import DropboxStandIn, content_hash_of_file
from law_core_dropbox.content_hash import (
    BLOCK_SIZE,
    ContentHasher,
    block_digests,
    content_hash,
    file_content_hash,
)
from law_core_dropbox.file_interface import DropboxError, DropboxFileInterface, dropbox_path
from law_core_dropbox.file_system import DropboxFileSystem

import law_core as law
from law_core.config import reset_config
from law_core.errors import ConfigError, PluginError, TargetError
from law_core.registry import get_registry
from law_core.targets.remote import RemoteFileTarget
from law_core.testing.file_interface import FileInterfaceSuite
from law_core.testing.remote import RemoteFileSystemSuite, counting

MiB = 1024 * 1024


def _base(unique: str, where: str = "tests") -> str:
    return f"dropbox://dropbox.com/{where}/{unique}"


def _secrets(standin: DropboxStandIn, credentials: dict[str, Any]) -> list[str]:
    """Every credential that must never be shown: the configured ones and every access
    token the stand-in ever issued."""
    with standin.lock:
        issued = list(standin.access_tokens)
    return [credentials["app_secret"], credentials["refresh_token"], *issued]


# the conformance suites, against the stand-in


class TestDropboxInterfaceOnStandIn(FileInterfaceSuite):
    """The file-interface primitives; the unreachable URI is below a prefix for which the
    stand-in drops the connection without an answer, as a dead door would."""

    @pytest.fixture(autouse=True)
    def _standin(self, standin: DropboxStandIn, credentials: dict[str, Any]) -> None:
        self.credentials = credentials

    def make_interface(self, tmp_path: Path) -> tuple[DropboxFileInterface, str]:
        return DropboxFileInterface(**self.credentials), _base(os.urandom(6).hex(), "interface")

    def unreachable_uri(self) -> str:
        return "dropbox://dropbox.com/unreachable/x"


class TestDropboxFileSystemOnStandIn(RemoteFileSystemSuite):
    """Everything a remote file system promises (and the file-system suite it extends).
    Dropbox has one endpoint, so a dead base is a base below the stand-in's dead prefix
    (connections dropped); the outage stops and restarts both stand-in hosts."""

    fs_class = DropboxFileSystem

    @pytest.fixture(autouse=True)
    def _standin(self, standin: DropboxStandIn, credentials: dict[str, Any]) -> None:
        self.standin, self.credentials = standin, credentials

    def remote_factory(self) -> Any:
        return functools.partial(DropboxFileSystem, **self.credentials)

    def live_base(self, tmp_path: Path) -> str:
        return _base(os.urandom(6).hex(), "suite")

    def dead_base(self) -> str:
        return "dropbox://dropbox.com/dead"

    def stop_storage(self) -> None:
        self.standin.stop()

    def start_storage(self) -> None:
        self.standin.start()


# the plugin


def test_plugin_module_does_not_import_the_sdk() -> None:
    code = (
        "import sys, law_core_dropbox.plugin, law_core_dropbox\n"
        "from law_core.registry import get_registry\n"
        "r = get_registry(); r.describe(); rec = r.file_system('dropbox')\n"
        "assert rec.name == 'dropbox', rec\n"
        "assert 'dropbox' not in sys.modules, 'the SDK was imported at discovery'\n"
        "law_core_dropbox.DropboxFileSystem, law_core_dropbox.content_hash\n"
        "assert 'dropbox' not in sys.modules, 'the SDK was imported with the classes'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_registered_by_scheme() -> None:
    registry = get_registry()
    record = registry.file_system("dropbox")
    assert record.name == "dropbox" and record.config_section == "dropbox"
    assert record.load() is DropboxFileSystem
    assert not registry.conflicts()
    info = {p.name: p for p in registry.describe()}["dropbox"]
    assert info.status == "loaded" and info.distribution == "law-core-dropbox"


def test_uris() -> None:
    assert dropbox_path("dropbox://dropbox.com/a/b/../c.txt") == "/a/c.txt"
    assert dropbox_path("dropbox:///a") == "/a"
    assert dropbox_path("dropbox://dropbox.com/") == ""
    with pytest.raises(TargetError, match="names the host 'evil.example'"):
        dropbox_path("dropbox://evil.example/a")  # a URI never sends credentials elsewhere


def test_missing_sdk_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch,
                                        credentials: dict[str, Any]) -> None:
    monkeypatch.setitem(sys.modules, "dropbox", None)
    with pytest.raises(PluginError, match="pip install dropbox"):
        DropboxFileInterface(**credentials).stat("dropbox://dropbox.com/x")


def test_bad_ca_bundle_is_a_clear_error(credentials: dict[str, Any]) -> None:
    fi = DropboxFileInterface(**{**credentials, "dropbox_ca_certs": "/nowhere/ca.pem"})
    with pytest.raises(TargetError, match="dropbox_ca_certs = /nowhere/ca.pem .* not a file"):
        fi.stat("dropbox://dropbox.com/x")


# the content hash


def test_content_hash_is_dropboxs() -> None:
    """Against the SDK's reference hasher, at and around the 4 MiB block boundaries."""
    from dropbox.content_hash import DropboxContentHasher

    assert content_hash(b"") == hashlib.sha256(b"").hexdigest()
    data = os.urandom(2 * BLOCK_SIZE + 12345)
    for size in (0, 1, BLOCK_SIZE - 1, BLOCK_SIZE, BLOCK_SIZE + 1, 2 * BLOCK_SIZE + 12345):
        reference = DropboxContentHasher()
        reference.update(data[:size])
        expected = reference.hexdigest()
        assert content_hash(data[:size]) == expected, size
        hasher = ContentHasher()
        for i in range(0, size, 1_000_003):  # pieces that straddle the blocks
            hasher.update(data[i:min(i + 1_000_003, size)])
        assert hasher.hexdigest() == expected and hasher.size == size
        # chunks of whole blocks: their block digests make the file's hash
        digests = b"".join(block_digests(data[i:min(i + 2 * BLOCK_SIZE, size)])
                           for i in range(0, size, 2 * BLOCK_SIZE))
        assert hashlib.sha256(digests).hexdigest() == expected


def test_file_content_hash(tmp_path: Path) -> None:
    data = os.urandom(BLOCK_SIZE + 7)
    (tmp_path / "f").write_bytes(data)
    assert file_content_hash(tmp_path / "f") == content_hash(data)


# uploads and downloads


def test_upload_session_of_200_mb(standin: DropboxStandIn, credentials: dict[str, Any],
                                  tmp_path: Path, unique: str) -> None:
    """A 200 MB file goes through an upload session (start, append_v2 ..., finish) in
    chunks read one at a time from the file; the content hash Dropbox reports is checked,
    and it is the file's."""
    size = 200 * 1000 * 1000
    local = tmp_path / "big.bin"
    seed = os.urandom(MiB)
    with open(local, "wb") as f:
        for i in range(size // MiB):
            f.write(i.to_bytes(8, "little") + seed[8:])
        f.write(seed[: size % MiB])
    from dropbox.content_hash import DropboxContentHasher  # the SDK's, as a reference

    reference = DropboxContentHasher()
    with open(local, "rb") as f:
        while piece := f.read(MiB):
            reference.update(piece)
    expected = reference.hexdigest()

    fs = DropboxFileSystem(_base(unique), **credentials)
    fs.mkdir("/")
    chunk = fs.file_interface.chunk_size
    assert chunk == 32 * MiB
    before = len(standin.log)
    tracemalloc.start()
    try:
        fs.put(str(local), "/results/big.bin")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    uploads = [r for r in standin.log[before:] if r.route.startswith("files/upload")]
    routes = [r.route for r in uploads]
    n_chunks = -(-size // chunk)
    assert routes == (["files/upload_session/start"] +
                      ["files/upload_session/append_v2"] * (n_chunks - 2) +
                      ["files/upload_session/finish"]), routes
    assert all(r.status == 200 for r in uploads)
    assert [r.data_size for r in uploads] == [chunk] * (n_chunks - 1) + [size % chunk]
    assert len({r.arg["cursor"]["session_id"] for r in uploads[1:]}) == 1
    assert [r.arg["cursor"]["offset"] for r in uploads[1:]] == [
        i * chunk for i in range(1, n_chunks)]
    assert all(r.arg.get("content_hash") for r in uploads), "each call's data is checked"
    assert uploads[-1].arg["commit"]["path"] == f"/tests/{unique}/results/big.bin"

    entry = standin.entry(f"/tests/{unique}/results/big.bin")
    assert entry is not None and entry.size == size
    assert entry.content_hash == expected == content_hash_of_file(entry.blob)
    assert fs.stat("/results/big.bin").size == size
    assert peak < 3 * chunk, f"{peak / MiB:.0f} MiB in memory for a 200 MB upload"
    fs.remove("/results/big.bin")  # 200 MB less on disk, here and in the stand-in
    local.unlink()


def test_small_files_go_in_one_request(standin: DropboxStandIn, credentials: dict[str, Any],
                                       tmp_path: Path, unique: str) -> None:
    fs = DropboxFileSystem(_base(unique), **credentials, dropbox_chunk_size=4 * MiB)
    data = os.urandom(4 * MiB)  # exactly one chunk
    (tmp_path / "one.bin").write_bytes(data)
    before = len(standin.log)
    fs.put(str(tmp_path / "one.bin"), "/one.bin")
    assert [r.route for r in standin.log[before:] if "upload" in r.route] == ["files/upload"]
    (tmp_path / "two.bin").write_bytes(data + b"x")  # one byte more: a session of two
    before = len(standin.log)
    fs.put(str(tmp_path / "two.bin"), "/two.bin")
    assert [r.route for r in standin.log[before:] if "upload" in r.route] == [
        "files/upload_session/start", "files/upload_session/finish"]
    fs.get("/two.bin", str(tmp_path / "back.bin"))
    assert (tmp_path / "back.bin").read_bytes() == data + b"x"
    assert standin.entry(f"/tests/{unique}/two.bin").content_hash == content_hash(data + b"x")


def test_corrupted_download_is_an_error(standin: DropboxStandIn, credentials: dict[str, Any],
                                        tmp_path: Path, unique: str) -> None:
    """A download whose bytes do not have the content hash of the metadata fails (and
    leaves no file), transient: asking again may give the right bytes."""
    fs = DropboxFileSystem(_base(unique), **credentials, retries=0)
    fs.target("/x.txt").dump("original", formatter="text")
    entry = standin.entry(f"/tests/{unique}/x.txt")
    Path(entry.blob).write_bytes(b"tampered")  # same size, other content
    with pytest.raises(TargetError, match="content hash") as info:
        fs.get("/x.txt", str(tmp_path / "x.txt"))
    assert isinstance(info.value.__cause__, DropboxError) and info.value.__cause__.transient
    assert not (tmp_path / "x.txt").exists()


def test_rename_replaces_a_file_but_never_a_folder(credentials: dict[str, Any],
                                                    unique: str) -> None:
    fs = DropboxFileSystem(_base(unique), **credentials)
    fs.target("/a.txt").dump("a", formatter="text")
    fs.target("/b.txt").dump("bb", formatter="text")
    fs.rename("/a.txt", "/b.txt")  # move_v2 refuses (to/conflict/file): delete, move
    assert fs.listdir("/") == ["b.txt"] and fs.target("/b.txt").load(formatter="text") == "a"
    fs.rename("/b.txt", "/B.txt")  # a case-only rename, which move_v2 refuses
    assert fs.listdir("/") == ["B.txt"]
    fs.mkdir("/folder/inside")
    with pytest.raises(IsADirectoryError):
        fs.rename("/B.txt", "/folder")
    assert fs.isdir("/folder/inside") and fs.exists("/B.txt")
    with pytest.raises(FileNotFoundError):
        fs.rename("/missing.txt", "/other.txt")


def test_errors_map_to_the_contract(credentials: dict[str, Any], tmp_path: Path,
                                    unique: str) -> None:
    fi = DropboxFileInterface(**credentials)
    base = _base(unique)
    fi.mkdir(base)
    (tmp_path / "f").write_text("1")
    fi.copy(f"file://{tmp_path}/f", f"{base}/file.txt")
    with pytest.raises(NotADirectoryError):
        fi.listdir(f"{base}/file.txt")  # path/not_folder
    with pytest.raises(IsADirectoryError):
        fi.copy(base, f"file://{tmp_path}/g")  # path/not_file
    with pytest.raises(IsADirectoryError):
        fi.remove(base)  # delete_v2 would remove it with its contents
    with pytest.raises(FileExistsError):
        fi.mkdir(f"{base}/file.txt")  # path/conflict/file
    with pytest.raises(NotADirectoryError):
        fi.mkdir(f"{base}/file.txt/sub")  # path/conflict/file_ancestor
    with pytest.raises(OSError) as info:
        fi.rmdir(base)
    assert info.value.errno == errno.ENOTEMPTY
    with pytest.raises(OSError) as info:
        fi.copy(f"file://{tmp_path}/f", "file:///tmp/elsewhere")
    assert info.value.errno == errno.ENOTSUP


# rate limits, server errors, outages


def test_rate_limit_waits_for_retry_after(standin: DropboxStandIn, credentials: dict[str, Any],
                                          unique: str) -> None:
    """The stand-in answers 429 with Retry-After: 2 once; the request is sent again no
    sooner than 2 s later and the operation succeeds."""
    fs = DropboxFileSystem(_base(unique), **credentials, retries=0)
    fs.target("/x.json").dump({"a": 1})
    standin.inject("files/get_metadata", 429, retry_after=2)
    before = len(standin.log)
    start = time.monotonic()
    assert fs.stat("/x.json").size == 8
    elapsed = time.monotonic() - start
    stats = [r for r in standin.log[before:] if r.route == "files/get_metadata"]
    assert [r.status for r in stats] == [429, 200]
    waited = stats[1].time - stats[0].answered
    assert waited >= 1.95, f"sent again after {waited:.2f} s, Retry-After said 2"
    assert elapsed < 6


def test_rate_limit_beyond_the_sdk_retries_is_transient(
        standin: DropboxStandIn, credentials: dict[str, Any], unique: str) -> None:
    fs = DropboxFileSystem(_base(unique), **credentials, dropbox_rate_limit_retries=0,
                           retries=1, retry_delay=0.1)
    fs.mkdir("/")
    standin.inject("files/list_folder", 429, retry_after=1)
    assert fs.listdir("/") == []  # the core's retry after the SDK gave up
    standin.inject("files/list_folder", 429, times=2, retry_after=1)
    with pytest.raises(TargetError, match="no base answered in 2 attempt.*limits the request"):
        fs.listdir("/")


def test_server_errors_are_retried(standin: DropboxStandIn, credentials: dict[str, Any],
                                   unique: str) -> None:
    fs = DropboxFileSystem(_base(unique), **credentials, retries=0)
    fs.mkdir("/")
    standin.inject("files/list_folder", 503)
    before = len(standin.log)
    assert fs.listdir("/") == []
    assert [r.status for r in standin.log[before:] if r.route == "files/list_folder"] == [
        503, 200]


def test_listing_pages_with_cursors(standin: DropboxStandIn, credentials: dict[str, Any],
                                    tmp_path: Path, unique: str) -> None:
    fs = DropboxFileSystem(_base(unique), **credentials)
    counter = counting(fs)
    (tmp_path / "e").write_bytes(b"")
    for i in range(60):
        fs.put(str(tmp_path / "e"), f"/many/f{i:02d}.txt")
    counter.reset()
    before = len(standin.log)
    assert sorted(fs.listdir("/many")) == [f"f{i:02d}.txt" for i in range(60)]
    routes = [r.route for r in standin.log[before:]]
    assert routes == ["files/list_folder"] + ["files/list_folder/continue"] * 2  # 25 a page
    assert counter.calls == {"listdir": 1}


# credentials


def _config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> Path:
    cfg = tmp_path / "law.cfg"
    cfg.write_text(textwrap.dedent(text))
    monkeypatch.setenv("LAW_CORE_CONFIG", str(cfg))
    for key in list(os.environ):
        if key.startswith("LAW_CORE__"):
            monkeypatch.delenv(key)
    reset_config()
    return cfg


def test_expired_access_token_is_a_clear_error(
        standin: DropboxStandIn, credentials: dict[str, Any], tmp_path: Path, unique: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    token = standin.issue_access_token()
    cfg = _config(tmp_path, monkeypatch, f"""
        [fs.box]
        base = {_base(unique)}
        access_token = {token}
        dropbox_ca_certs = {credentials['dropbox_ca_certs']}
        """)
    target = law.target("fs.box:/a.json")
    target.dump({"a": 1})
    standin.expire_access_tokens()
    with pytest.raises(TargetError) as info:
        target.exists()
    message = str(info.value)
    assert "access token of [fs.box]" in message and "has expired" in message
    assert f"{cfg}:4" in message, "the message says where the token is set"
    assert "refresh_token" in message
    assert token not in message and token not in repr(info.value)
    assert standin.requests("files/get_metadata")[-1].status == 401


def test_refresh_token_survives_expired_access_tokens(
        standin: DropboxStandIn, credentials: dict[str, Any], unique: str) -> None:
    fs = DropboxFileSystem(_base(unique), **credentials)
    fs.target("/a.json").dump({"a": 1})
    refreshes = len(standin.requests("oauth2/token"))
    standin.expire_access_tokens()
    assert fs.target("/a.json").load() == {"a": 1}  # 401 expired: refreshed, sent again
    assert len(standin.requests("oauth2/token")) == refreshes + 1
    assert any(r.status == 401 for r in standin.requests("files/get_metadata"))


def test_revoked_refresh_token_names_the_section(
        standin: DropboxStandIn, credentials: dict[str, Any], tmp_path: Path, unique: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    revoked = "standin-refresh-revoked"
    _config(tmp_path, monkeypatch, f"""
        [fs.box]
        base = {_base(unique)}
        app_key = {credentials['app_key']}
        app_secret = {credentials['app_secret']}
        refresh_token = {revoked}
        dropbox_ca_certs = {credentials['dropbox_ca_certs']}
        """)
    with pytest.raises(TargetError) as info:
        law.target("fs.box:/a.json").exists()
    message = str(info.value)
    assert "refused the refresh token of [fs.box]" in message
    assert revoked not in message and credentials["app_secret"] not in message
    assert "README" in message


def test_wrong_app_secret_names_the_section(
        credentials: dict[str, Any], unique: str) -> None:
    fs = DropboxFileSystem(_base(unique), **{**credentials, "app_secret": "wrong-secret"})
    with pytest.raises(TargetError, match="refused the app key or app secret of the file "
                                          "system's app_secret argument") as info:
        fs.exists("/x")
    assert "wrong-secret" not in str(info.value)


def test_no_credentials(monkeypatch: pytest.MonkeyPatch, unique: str) -> None:
    for key in list(os.environ):
        if key.startswith("LAW_CORE__DROPBOX__"):
            monkeypatch.delenv(key)
    reset_config()
    with pytest.raises(TargetError, match=r"no Dropbox credentials.*\[dropbox\]"):
        law.target(f"{_base(unique)}/x.json").exists()


# configuration


def test_named_file_system_and_task_outputs(
        standin: DropboxStandIn, credentials: dict[str, Any], tmp_path: Path, unique: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A [fs.NAME] section with the credentials and the base; Task.target() through
    [target] store = fs.NAME:/path; law.target() of dropbox:// URIs with [dropbox]."""
    _config(tmp_path, monkeypatch, f"""
        [target]
        store = fs.box:/analysis

        [fs.box]
        base = dropbox://dropbox.com/law-core/{unique}
        app_key = {credentials['app_key']}
        app_secret = {credentials['app_secret']}
        refresh_token = {credentials['refresh_token']}
        dropbox_ca_certs = {credentials['dropbox_ca_certs']}
        dropbox_chunk_size = 8MiB
        retries = 2
        retry_delay = 0.1
        use_cache = true
        cache_root = {tmp_path}/cache

        [dropbox]
        app_key = {credentials['app_key']}
        app_secret = {credentials['app_secret']}
        refresh_token = {credentials['refresh_token']}
        dropbox_ca_certs = {credentials['dropbox_ca_certs']}
        """)
    fs = law.file_system("box")
    assert isinstance(fs, DropboxFileSystem) and fs.failover.retries == 2
    assert fs.file_interface.chunk_size == 8 * MiB and fs.cache is not None
    assert fs.file_interface.config_section == "fs.box"

    law.target("fs.box:/plots/a.json").dump({"plot": 1})
    assert standin.read(f"/law-core/{unique}/plots/a.json") == b'{"plot": 1}'

    class Produce(law.Task):
        def output(self) -> Any:
            return self.target("result.json")

        def run(self) -> None:
            self.output().dump({"where": "dropbox"})

    task = Produce()
    assert not task.complete()
    task.run()
    assert task.complete()
    path = f"/law-core/{unique}/analysis/Produce/result.json"
    assert task.output().uri() == f"dropbox://dropbox.com{path}"
    assert standin.read(path) == b'{"where": "dropbox"}'

    # the same file through its URI (credentials of [dropbox])
    by_uri = law.target(task.output().uri())
    assert isinstance(by_uri, RemoteFileTarget) and by_uri.load() == {"where": "dropbox"}


def test_bad_option_values_name_where_to_fix_them(
        credentials: dict[str, Any], tmp_path: Path, unique: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Whether an option comes from [fs.NAME], [dropbox] or the arguments, a bad value is
    an error naming that place."""
    cfg = _config(tmp_path, monkeypatch, f"""
        [fs.box]
        base = {_base(unique)}
        dropbox_timeout = soon
        """)
    with pytest.raises(ConfigError, match=re.escape(
            f"[fs.box] dropbox_timeout = 'soon' ({cfg}:4) is not a number")):
        law.file_system("box")

    _config(tmp_path, monkeypatch, f"""
        [fs.box]
        base = {_base(unique)}
        dropbox_chunk_size = 1MiB
        dropbox_ca_certs = {credentials['dropbox_ca_certs']}
        """)
    with pytest.raises(TargetError, match=re.escape(
            f"dropbox_chunk_size = 1048576 bytes ([fs.box] ({tmp_path}/law.cfg:4)) is below")):
        law.file_system("box").exists("/x")

    monkeypatch.setenv("LAW_CORE__DROPBOX__DROPBOX_RATE_LIMIT_RETRIES", "many")
    reset_config()
    with pytest.raises(ConfigError, match=re.escape(
            "config option dropbox.dropbox_rate_limit_retries = 'many' (environment variable "
            "LAW_CORE__DROPBOX__DROPBOX_RATE_LIMIT_RETRIES) is not an integer")):
        DropboxFileSystem(_base(unique), **credentials).exists("/x")
    monkeypatch.delenv("LAW_CORE__DROPBOX__DROPBOX_RATE_LIMIT_RETRIES")
    reset_config()
    with pytest.raises(ConfigError, match=re.escape(
            "dropbox_server_error_retries = 'few' in the file system's arguments is not an "
            "integer")):
        DropboxFileSystem(_base(unique), **credentials,
                          dropbox_server_error_retries="few").exists("/x")


def test_copies_between_accounts_go_through_this_machine(
        standin: DropboxStandIn, credentials: dict[str, Any], unique: str) -> None:
    """files/copy_v2 only between file systems with the same credentials: others may be
    another account."""
    one = DropboxFileSystem(_base(unique), **credentials)
    same = DropboxFileSystem(_base(unique) + "/same", **credentials)
    other = DropboxFileSystem(_base(unique) + "/other", **{
        **credentials, "refresh_token": standin.issue_refresh_token()})
    src = one.target("/src.json")
    src.dump({"x": 1})
    before = len(standin.log)
    src.copy_to(same.target("/a.json"))
    assert "files/copy_v2" in [r.route for r in standin.log[before:]]
    before = len(standin.log)
    src.copy_to(other.target("/b.json"))
    routes = [r.route for r in standin.log[before:]]
    assert "files/copy_v2" not in routes and "files/download" in routes
    assert other.target("/b.json").load() == {"x": 1}


# secrets


def test_credentials_never_shown(standin: DropboxStandIn, credentials: dict[str, Any],
                                 tmp_path: Path, unique: str,
                                 caplog: pytest.LogCaptureFixture) -> None:
    """Not in logs at DEBUG (law-core, the SDK, urllib3), not in reprs, options, pickles
    or error messages."""
    caplog.set_level(logging.DEBUG)
    fs = DropboxFileSystem(_base(unique), **credentials, dropbox_chunk_size=4 * MiB,
                           retries=0)
    (tmp_path / "big").write_bytes(os.urandom(9 * MiB))
    fs.put(str(tmp_path / "big"), "/big")  # an upload session
    fs.target("/x.json").dump({"a": 1})
    assert fs.target("/x.json").load() == {"a": 1}
    standin.expire_access_tokens()  # a refresh
    assert fs.listdir("/") == ["big", "x.json"]
    errors = []
    for call in (lambda: fs.stat("/missing"),
                 lambda: DropboxFileSystem(_base(unique), **{
                     **credentials, "refresh_token": "bad"}).stat("/"),
                 lambda: DropboxFileSystem(_base(unique), access_token="expired-one",
                                           dropbox_ca_certs=credentials["dropbox_ca_certs"]
                                           ).stat("/")):
        with pytest.raises(Exception) as info:
            call()
        errors.append(f"{info.value!s} {info.value!r}")
    shown = [caplog.text, repr(fs), str(fs), repr(fs.file_interface),
             repr(fs.file_interface.options), repr(vars(fs.file_interface)), *errors]
    assert "files/upload_session/finish" in caplog.text and "oauth2/token" in caplog.text
    for secret in _secrets(standin, credentials):
        for text in shown:
            assert secret not in text
    # a pickled file system (to another process) keeps the credentials, not the client
    again = pickle.loads(pickle.dumps(fs))
    assert again.target("/x.json").load() == {"a": 1}


def test_credentials_not_in_job_files_or_run_output(
        standin: DropboxStandIn, credentials: dict[str, Any], tmp_path: Path, unique: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``law-core run`` at DEBUG prints no credential, and the job files of a workflow
    storing its outputs on Dropbox hold none (jobs read the config file themselves)."""
    cfg = _config(tmp_path, monkeypatch, f"""
        [target]
        store = fs.box:/analysis

        [fs.box]
        base = dropbox://dropbox.com/law-core/{unique}
        app_key = {credentials['app_key']}
        app_secret = {credentials['app_secret']}
        refresh_token = {credentials['refresh_token']}
        dropbox_ca_certs = {credentials['dropbox_ca_certs']}
        """)
    module = tmp_path / "dropbox_secret_tasks.py"
    module.write_text(textwrap.dedent("""
        import law_core as law


        class Letters(law.LocalWorkflow):
            def create_branch_map(self):
                return {i: chr(97 + i) for i in range(3)}

            def output(self):
                return self.target(f"letter_{self.branch}.json")

            def run(self):
                self.output().dump({"letter": self.branch_data})
        """))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAW_CORE__")}
    env.update(LAW_CORE_CONFIG=str(cfg), PYTHONPATH=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-m", "law_core", "run", "dropbox_secret_tasks.Letters",
         "--log-level", "DEBUG"], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert standin.names(f"/law-core/{unique}/analysis/Letters") == [
        f"letter_{i}.json" for i in range(3)]

    # the job files a remote job manager writes for such a workflow
    from law_core.workflow.remote import RemoteJobManager

    class Manager(RemoteJobManager):
        name = "standin_jobs"

        def submit(self, jobs: list[Any]) -> list[str]:
            return []

        def query(self, job_ids: list[str]) -> dict[str, Any]:
            return {}

        def cancel(self, job_ids: list[str]) -> None:
            pass

    sys.path.insert(0, str(tmp_path))
    try:
        import dropbox_secret_tasks

        job_dir = tmp_path / "jobs"
        Manager(dropbox_secret_tasks.Letters())._write_job_files(job_dir)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("dropbox_secret_tasks", None)
    written = {p.name: p.read_text() for p in job_dir.iterdir() if p.is_file()}
    assert {"job_env.sh", "task.json"} <= set(written)
    shown = [result.stdout, result.stderr, *written.values()]
    for secret in [credentials["app_key"], *_secrets(standin, credentials)]:
        for text in shown:
            assert secret not in text
    assert str(cfg) in written["job_env.sh"]
