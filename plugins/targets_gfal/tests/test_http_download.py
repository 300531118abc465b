"""Transfers between davs:// (XRootD's XrdHttp, on loopback) and local files: downloads
through law_core_gfal.http_download and uploads, byte for byte; a missing source; a source
that changes on the server during the download."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from law_core_gfal import http_download
from law_core_gfal.context import (
    DOWNLOAD_BUFFER_SIZE,
    get_context,
    get_download_context,
    gfal2_module,
    signals_kept,
)
from law_core_gfal.file_interface import GFALFileInterface
from law_core_gfal.file_system import GFALFileSystem

import law_core as law
from law_core.plugin import is_definitive
from law_core.testing.services import WebDAVServer

MiB = 1024**2

#: a few MiB, not a multiple of the download pieces
SIZE = 5 * MiB + 12345


def _unique() -> str:
    return uuid.uuid4().hex[:12]


def _on_server(server: WebDAVServer, name: str, data: bytes) -> str:
    """Put ``data`` straight on the server's disk; its davs:// URL."""
    path = server.data / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    server.chown()
    return f"{server.url}{name}"


@pytest.fixture
def download_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The sources of the downloads that took law_core_gfal.http_download."""
    calls: list[str] = []
    real = http_download.download

    def spy(interface: Any, src_uri: str, dst_uri: str) -> None:
        calls.append(src_uri)
        real(interface, src_uri, dst_uri)

    monkeypatch.setattr(http_download, "download", spy)
    return calls


def test_only_downloads_from_http_take_the_download_context() -> None:
    """Small pieces for HTTP to a local file; every other copy (root://, gsiftp://, uploads,
    davs:// to root:// streamed through this machine) keeps gfal2's configured size."""
    # law-core's context first: it sets the XRootD client's XRD_* environment, which the
    # client reads once, when the first gfal2 context of the process loads it. A bare
    # context made before it left the client's defaults in this pytest process (a stat of a
    # dead root:// door in a later test then waited minutes instead of failing).
    requests = get_context()
    with signals_kept():
        bare = gfal2_module().creat_context()
    configured = bare.get_opt_integer("CORE", "COPY_BUFFERSIZE")
    assert requests.get_opt_integer("CORE", "COPY_BUFFERSIZE") == configured
    assert get_download_context().get_opt_integer(
        "CORE", "COPY_BUFFERSIZE") == DOWNLOAD_BUFFER_SIZE
    for src in ("davs://h:1/x", "https://h/x", "dav://h/x", "http://h/x"):
        assert http_download.is_http_download(src, "file:///tmp/x")
    for src, dst in (("root://h//x", "file:///tmp/x"), ("gsiftp://h/x", "file:///tmp/x"),
                     ("file:///tmp/x", "davs://h/x"), ("davs://h/x", "root://h//x"),
                     ("davs://h/x", "davs://g/x")):
        assert not http_download.is_http_download(src, dst), (src, dst)


def test_download_byte_for_byte(webdav: WebDAVServer, tmp_path: Path,
                                download_calls: list[str]) -> None:
    data = os.urandom(SIZE)
    url = _on_server(webdav, f"down/{_unique()}/in.bin", data)
    local = tmp_path / "got" / "copy.bin"
    law.target(url).copy_to(law.LocalFileTarget(str(local)))
    assert local.read_bytes() == data
    assert os.listdir(local.parent) == ["copy.bin"], "a temporary file was left"
    assert download_calls == [url]


def test_overwrite_option(webdav: WebDAVServer, tmp_path: Path) -> None:
    """An existing file is replaced, or with ``gfal_transfer_overwrite = false`` refused
    and left as it was."""
    data = os.urandom(SIZE)
    url = _on_server(webdav, f"down/{_unique()}/in.bin", data)
    local = tmp_path / "copy.bin"
    old = b"old and longer" * SIZE
    local.write_bytes(old)
    with pytest.raises(FileExistsError):
        GFALFileInterface(gfal_transfer_overwrite=False).copy(url, f"file://{local}")
    assert local.read_bytes() == old
    GFALFileInterface().copy(url, f"file://{local}")
    assert local.read_bytes() == data


def test_upload_byte_for_byte(webdav: WebDAVServer, tmp_path: Path) -> None:
    data = os.urandom(SIZE)
    src = tmp_path / "up.bin"
    src.write_bytes(data)
    name = f"up/{_unique()}"
    law.LocalFileTarget(str(src)).copy_to(law.target(f"{webdav.url}{name}/up.bin"))
    assert (webdav.data / name / "up.bin").read_bytes() == data
    assert os.listdir(webdav.data / name) == ["up.bin"], "a temporary file was left"


def test_missing_source(webdav: WebDAVServer, tmp_path: Path) -> None:
    """FileNotFoundError, the storage's answer (never retried as an outage), and no file."""
    local = tmp_path / "never.bin"
    missing = f"{webdav.url}missing/{_unique()}.bin"
    with pytest.raises(FileNotFoundError):
        GFALFileInterface().copy(missing, f"file://{local}")
    assert not local.exists()
    fs = GFALFileSystem(f"{webdav.url}missing", retries=0)
    with pytest.raises(FileNotFoundError):
        fs.get(f"/{_unique()}.bin", str(local))
    assert os.listdir(tmp_path) == []


def _while_downloading(local: Path, change: Callable[[], None]) -> threading.Thread:
    """Call ``change`` once ``local`` has its first MiB (in a thread)."""
    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if local.exists() and local.stat().st_size >= MiB:
                change()
                return
            time.sleep(0.0005)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def _big_file_on_server(server: WebDAVServer, mib: int) -> tuple[Path, str]:
    name = f"changing/{_unique()}.bin"
    path = server.data / name
    path.parent.mkdir(parents=True, exist_ok=True)
    block = os.urandom(MiB)
    with open(path, "wb") as f:
        for _ in range(mib):
            f.write(block)
    server.chown()
    return path, f"{server.url}{name}"


def test_source_shrinking_during_the_download(webdav: WebDAVServer, tmp_path: Path) -> None:
    """The server's file is cut while it is sent: XrdHttp cannot send the length it
    announced, davix reports the short body; a transient error (the core tries again), and
    the partial file is gone."""
    on_disk, url = _big_file_on_server(webdav, 64)
    local = tmp_path / "short.bin"
    cut = threading.Event()

    def shrink() -> None:
        os.truncate(on_disk, 2 * MiB)
        cut.set()

    watcher = _while_downloading(local, shrink)
    try:
        with pytest.raises(OSError) as info:
            GFALFileInterface().copy(url, f"file://{local}")
        watcher.join()
    finally:
        on_disk.unlink()
    assert cut.is_set(), "the download ended before the file was cut"
    assert not is_definitive(info.value), info.value
    assert not local.exists()


def test_source_growing_during_the_download(webdav: WebDAVServer, tmp_path: Path) -> None:
    """The server sends the length it announced, all of it, while the file grows: the copy
    is not the file on the storage, which the size comparison after the copy finds."""
    on_disk, url = _big_file_on_server(webdav, 16)
    local = tmp_path / "stale.bin"

    def grow() -> None:
        with open(on_disk, "ab") as f:
            f.write(b"more")

    watcher = _while_downloading(local, grow)
    try:
        with pytest.raises(OSError, match="download incomplete: 16777216 of 16777220 bytes"):
            GFALFileInterface().copy(url, f"file://{local}")
        watcher.join()
    finally:
        on_disk.unlink()
    assert not local.exists()


#: a local workflow in small: transfer, fork a worker, copy in the worker (run by a fresh
#: Python, never by forking pytest: a fork of a process that has used the XRootD client may
#: leave the client stuck in the parent, and every later root:// test with it)
_FORK_SCRIPT = """
import os
import sys
import traceback

from law_core_gfal import helper
from law_core_gfal.file_interface import GFALFileInterface

url, work = sys.argv[1], sys.argv[2]
GFALFileInterface().copy(url, f"file://{work}/parent.bin")
pid = os.fork()
if pid == 0:
    code = 3
    try:
        if not helper.needs_helper(url, transfer=True):
            print("the forked worker would copy in-process", file=sys.stderr)
        else:
            GFALFileInterface().copy(url, f"file://{work}/child.bin")
            code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stderr.flush()
        os._exit(code)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def test_download_in_a_process_forked_after_transfers(webdav: WebDAVServer,
                                                      tmp_path: Path) -> None:
    """A local-workflow worker forked after its parent transferred files downloads through
    the helper process (law_core_gfal.helper), byte for byte."""
    data = os.urandom(SIZE)
    url = _on_server(webdav, f"fork/{_unique()}/in.bin", data)
    result = subprocess.run([sys.executable, "-c", _FORK_SCRIPT, url, str(tmp_path)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "parent.bin").read_bytes() == data
    assert (tmp_path / "child.bin").read_bytes() == data
