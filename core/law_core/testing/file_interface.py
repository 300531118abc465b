"""The conformance suite of file interfaces: the URI-level primitives of a storage plugin.

A plugin's test module subclasses :class:`FileInterfaceSuite` and says how to reach the
real storage::

    class TestGFALInterface(FileInterfaceSuite):
        def make_interface(self, tmp_path):
            return GFALFileInterface(), "root://127.0.0.1:1094//tests/" + tmp_path.name + "/"

        def unreachable_uri(self):
            return "root://127.0.0.1:1//nothing/listens/here"

The primitives' semantics, and above all their errors (definitive answers versus "could
not ask", see :mod:`law_core.targets.file_interface`), are what the core's failover relies
on. :class:`CountingFileInterface` records the requests an interface receives, to prove
cost and failover promises.
"""

from __future__ import annotations

import errno
import os
import threading
from collections import Counter
from pathlib import Path

import pytest

from law_core.targets.file_interface import Credential, FileInterface, is_definitive
from law_core.targets.file_system import StatResult
from law_core.targets.uri import join_uri, normalize_base


class CountingFileInterface(FileInterface):
    """A proxy that forwards to another interface and records every request.

    ``calls`` counts requests per operation, ``log`` keeps ``(operation, uri)`` in order;
    with ``log_file``, each request is also appended to that file as one line, so that
    requests from forked worker processes can be counted too. ``delay`` (seconds) slows
    every copy, to widen race windows in tests.
    """

    def __init__(self, inner: FileInterface, log_file: str | os.PathLike[str] | None = None,
                 delay: float = 0.0):
        super().__init__()
        self.inner = inner
        self.schemes = inner.schemes
        self.log_file = str(log_file) if log_file else None
        self.delay = delay
        self.calls: Counter[str] = Counter()
        self.log: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def record(self, op: str, uri: str) -> None:
        with self._lock:
            self.calls[op] += 1
            self.log.append((op, uri))
        if self.log_file:
            fd = os.open(self.log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, f"{os.getpid()} {op} {uri}\n".encode())
            finally:
                os.close(fd)

    def count(self, op: str | None = None, prefix: str = "") -> int:
        """Requests (of ``op``) whose URI starts with ``prefix``."""
        return sum(1 for o, u in self.log if (op is None or o == op) and u.startswith(prefix))

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.log.clear()

    def is_transient(self, err: BaseException) -> bool:
        return self.inner.is_transient(err)

    def credential(self, uri: str) -> Credential | None:
        return self.inner.credential(uri)

    def stat(self, uri: str) -> StatResult:
        self.record("stat", uri)
        return self.inner.stat(uri)

    def exists(self, uri: str) -> bool:
        self.record("stat", uri)
        return self.inner.exists(uri)

    def listdir(self, uri: str) -> list[str]:
        self.record("listdir", uri)
        return self.inner.listdir(uri)

    def mkdir(self, uri: str) -> None:
        self.record("mkdir", uri)
        self.inner.mkdir(uri)

    def remove(self, uri: str) -> None:
        self.record("remove", uri)
        self.inner.remove(uri)

    def rmdir(self, uri: str) -> None:
        self.record("rmdir", uri)
        self.inner.rmdir(uri)

    def rename(self, src_uri: str, dst_uri: str) -> None:
        self.record("rename", src_uri)
        self.inner.rename(src_uri, dst_uri)

    def copy(self, src_uri: str, dst_uri: str) -> None:
        kind = "download" if dst_uri.startswith("file://") else (
            "upload" if src_uri.startswith("file://") else "copy")
        self.record(kind, dst_uri if kind == "upload" else src_uri)
        if self.delay:
            import time

            time.sleep(self.delay)
        self.inner.copy(src_uri, dst_uri)


class FileInterfaceSuite:
    """Base class of a file interface's conformance tests; not collected itself.

    A subclass defines ``make_interface(tmp_path) -> (interface, base_uri)`` (an existing,
    empty directory on the real storage; the suite creates it when it is missing) and
    ``unreachable_uri()`` (a URI on a storage that does not answer, e.g. a closed port).
    """

    def make_interface(self, tmp_path: Path) -> tuple[FileInterface, str]:
        raise NotImplementedError(f"{type(self).__name__} must define make_interface()")

    def unreachable_uri(self) -> str:
        raise NotImplementedError(
            f"{type(self).__name__} must define unreachable_uri(): a URI of a storage that "
            "does not answer, to check that failing to reach it is a transient error"
        )

    @pytest.fixture
    def fi_base(self, tmp_path: Path) -> tuple[FileInterface, str]:
        fi, base = self.make_interface(tmp_path)
        base = normalize_base(base)
        fi.mkdir(base)
        assert fi.listdir(base) == [], f"make_interface returned {base}, which is not empty"
        return fi, base

    @staticmethod
    def _local(tmp_path: Path, name: str, data: bytes | None = None) -> tuple[Path, str]:
        path = tmp_path / "local-side" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if data is not None:
            path.write_bytes(data)
        return path, "file://" + str(path)

    def _upload(self, fi: FileInterface, tmp_path: Path, uri: str, data: bytes) -> None:
        _, local = self._local(tmp_path, f"up-{abs(hash(uri))}", data)
        fi.copy(local, uri)

    # tests

    def test_stat(self, fi_base: tuple[FileInterface, str], tmp_path: Path) -> None:
        fi, base = fi_base
        uri = join_uri(base, "/file.bin")
        self._upload(fi, tmp_path, uri, b"x" * 321)
        st = fi.stat(uri)
        assert isinstance(st, StatResult) and st.size == 321 and not st.is_dir and st.mtime > 0
        assert fi.stat(base).is_dir
        assert fi.exists(uri) and not fi.exists(join_uri(base, "/missing"))
        with pytest.raises(FileNotFoundError) as info:
            fi.stat(join_uri(base, "/missing"))
        assert is_definitive(info.value) and not fi.is_transient(info.value)

    def test_listdir(self, fi_base: tuple[FileInterface, str], tmp_path: Path) -> None:
        fi, base = fi_base
        for name in ("a.txt", "b.txt"):
            self._upload(fi, tmp_path, join_uri(base, name), b"1")
        fi.mkdir(join_uri(base, "/sub/deeper"))
        assert sorted(fi.listdir(base)) == ["a.txt", "b.txt", "sub"]
        with pytest.raises(FileNotFoundError):
            fi.listdir(join_uri(base, "/missing"))

    def test_mkdir_recursive_idempotent(self, fi_base: tuple[FileInterface, str]) -> None:
        fi, base = fi_base
        deep = join_uri(base, "/a/b/c")
        fi.mkdir(deep)
        fi.mkdir(deep)
        assert fi.stat(deep).is_dir and fi.stat(join_uri(base, "/a/b")).is_dir

    def test_remove_and_rmdir(self, fi_base: tuple[FileInterface, str], tmp_path: Path) -> None:
        fi, base = fi_base
        uri = join_uri(base, "/gone.txt")
        self._upload(fi, tmp_path, uri, b"1")
        fi.remove(uri)
        assert not fi.exists(uri)
        with pytest.raises(FileNotFoundError):
            fi.remove(uri)
        empty = join_uri(base, "/empty")
        fi.mkdir(empty)
        fi.rmdir(empty)
        assert not fi.exists(empty)

    def test_rename_replaces(self, fi_base: tuple[FileInterface, str], tmp_path: Path) -> None:
        fi, base = fi_base
        src, dst = join_uri(base, "/src.txt"), join_uri(base, "/dst.txt")
        self._upload(fi, tmp_path, src, b"new")
        self._upload(fi, tmp_path, dst, b"old content")
        fi.rename(src, dst)
        assert not fi.exists(src) and fi.stat(dst).size == 3
        assert fi.listdir(base) == ["dst.txt"]

    def test_copy_up_and_down(self, fi_base: tuple[FileInterface, str], tmp_path: Path) -> None:
        fi, base = fi_base
        data = os.urandom(100_000)
        uri = join_uri(base, "/data.bin")
        self._upload(fi, tmp_path, uri, data)
        down, down_uri = self._local(tmp_path, "down.bin")
        fi.copy(uri, down_uri)
        assert down.read_bytes() == data
        with pytest.raises(FileNotFoundError):
            fi.copy(join_uri(base, "/missing.bin"), self._local(tmp_path, "m.bin")[1])

    def test_copy_on_storage(self, fi_base: tuple[FileInterface, str], tmp_path: Path) -> None:
        """A copy between two storage URIs works, or says ENOTSUP (then the core streams)."""
        fi, base = fi_base
        src, dst = join_uri(base, "/a.bin"), join_uri(base, "/b.bin")
        self._upload(fi, tmp_path, src, b"payload")
        try:
            fi.copy(src, dst)
        except OSError as err:
            assert err.errno == errno.ENOTSUP, f"a failed direct copy must say ENOTSUP: {err!r}"
            assert is_definitive(err)
        else:
            assert fi.stat(dst).size == 7

    def test_unreachable_is_transient(self) -> None:
        fi, _ = self.make_interface(Path("/nonexistent"))
        uri = self.unreachable_uri()
        with pytest.raises(Exception) as info:
            fi.stat(uri)
        assert fi.is_transient(info.value), (
            f"failing to reach {uri} raised {info.value!r}, which the failover would take for "
            "the storage's answer; raise ConnectionError/TimeoutError (or an OSError with a "
            "network errno) instead"
        )
