"""The conformance suites run against the core's own backends: the standard-library
formatters and the local file system.

``MemoryFileSystem`` below is a test double (a dict in memory, ``is_local = False``): it
is not a backend the core ships, it makes the suite exercise the code paths of remote
file systems (localize through temporary copies, uploads renamed into place).
"""

from __future__ import annotations

import errno
import gzip
import json
import os
import pickle
import posixpath
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from law_core.targets.file import DirectoryTarget, FileSystemTarget, FileTarget
from law_core.targets.file_system import FileSystem, StatResult
from law_core.targets.local import LocalDirectoryTarget, LocalFileTarget, local_fs
from law_core.testing import FileSystemSuite, FormatterSuite

# formatters


class TestTextFormatter(FormatterSuite):
    formatter_name = "text"
    extensions = ("txt", "log", "text")
    library_module = None  # no library: plain open()

    def sample(self) -> str:
        return "first line\nsecond line, not ASCII: ü\n"

    def read_back_natively(self, path: str) -> str:
        with open(path) as f:
            return f.read()


class TestJSONFormatter(FormatterSuite):
    formatter_name = "json"
    extensions = ("json",)
    library_module = None  # json is imported by the discovery machinery (stevedore) anyway

    def sample(self) -> Any:
        return {"a": [1, 2.5, None, True], "b": {"nested": "ü"}}

    def read_back_natively(self, path: str) -> Any:
        with open(path) as f:
            return json.load(f)

    def unserializable(self) -> Any:
        return {"fine": 1, "not json": object()}


class TestPickleFormatter(FormatterSuite):
    formatter_name = "pickle"
    extensions = ("pkl", "pickle")
    library_module = "pickle"

    def sample(self) -> Any:
        return {"tuple": (1, 2), "set": {3, 4}, "bytes": b"\x00\xff", "complex": 1 + 2j}

    def read_back_natively(self, path: str) -> Any:
        with open(path, "rb") as f:
            return pickle.load(f)

    def unserializable(self) -> Any:
        return {"fine": 1, "a lambda": lambda: None}


class TestGzipFormatter(FormatterSuite):
    formatter_name = "gzip"
    extensions = ("gz",)
    library_module = "gzip"

    def sample(self) -> bytes:
        return b"compressible " * 1000

    def read_back_natively(self, path: str) -> bytes:
        with gzip.open(path, "rb") as f:
            return f.read()

    def unserializable(self) -> Any:
        return 12345  # neither bytes nor str


def _tree(root: str) -> dict[str, bytes]:
    """Relative path -> content of every file below ``root``."""
    tree = {}
    for current, _, files in os.walk(root):
        for name in files:
            full = os.path.join(current, name)
            with open(full, "rb") as f:
                tree[os.path.relpath(full, root)] = f.read()
    return tree


class _ArchiveSuite(FormatterSuite):
    """Archives dump a directory and load by extracting into a destination directory;
    equality is equality of the extracted tree."""

    _extracted: str

    def sample(self, directory: Path) -> str:
        root = directory / "tree"
        (root / "sub" / "deeper").mkdir(parents=True)
        (root / "top.txt").write_text("top")
        (root / "sub" / "data.bin").write_bytes(bytes(range(256)))
        (root / "sub" / "deeper" / "empty").write_bytes(b"")
        return str(root)

    def load_kwargs(self, directory: Path) -> dict[str, Any]:
        self._extracted = tempfile.mkdtemp(prefix="extracted-", dir=directory)
        return {"dst": self._extracted}

    def assert_equal(self, loaded: Any, original: Any) -> None:
        expected = _tree(original)
        assert sorted(loaded) == sorted(expected)
        assert _tree(self._extracted) == expected

    def unserializable(self, directory: Path) -> str:
        return str(directory / "does-not-exist")


class TestZipFormatter(_ArchiveSuite):
    formatter_name = "zip"
    extensions = ("zip",)
    library_module = None  # zipfile is imported by importlib.metadata at discovery anyway

    def read_back_natively(self, path: str) -> list[str]:
        self._extracted = tempfile.mkdtemp(prefix="native-", dir=self._dir("work"))
        with zipfile.ZipFile(path) as archive:
            archive.extractall(self._extracted)
            return archive.namelist()


class TestTarFormatter(_ArchiveSuite):
    formatter_name = "tar"
    extensions = ("tar", "tar.gz", "tgz", "tar.bz2", "tbz2", "tar.xz", "txz")
    library_module = "tarfile"

    def read_back_natively(self, path: str) -> list[str]:
        self._extracted = tempfile.mkdtemp(prefix="native-", dir=self._dir("work"))
        # the compression the extension promises, not autodetection: proves .tar.gz is gzip
        mode = next((m for suffixes, m in ((("gz", "tgz"), "r:gz"), (("bz2",), "r:bz2"),
                                            (("xz",), "r:xz")) if path.endswith(suffixes)), "r:")
        with tarfile.open(path, mode) as archive:
            archive.extractall(self._extracted, filter="data")
            return archive.getnames()

    def test_every_compression_is_real(self) -> None:
        """Each extension writes the compression it names, readable by tarfile alone."""
        src = self._sample()
        for ext in self.extensions:
            target = self._target(f"compression/archive.{ext}")
            target.dump(src)
            self.assert_equal(self.read_back_natively(target.path), src)


# file systems


class TestLocalFileSystem(FileSystemSuite):
    """The local disk with the local target classes."""

    def make_file_system(self, tmp_path: Path) -> tuple[FileSystem, str]:
        base = tmp_path / "base"
        base.mkdir()
        return local_fs, str(base)

    def make_target(self, fs: FileSystem, path: str, type: str = "f") -> FileSystemTarget:
        cls = LocalFileTarget if type == "f" else LocalDirectoryTarget
        return cls(path, fs=fs)


class TestLocalFileSystemGenericTargets(FileSystemSuite):
    """The local disk through the generic FileTarget/DirectoryTarget classes."""

    def make_file_system(self, tmp_path: Path) -> tuple[FileSystem, str]:
        base = tmp_path / "base"
        base.mkdir()
        return local_fs, str(base)


class MemoryFileSystem(FileSystem):
    """Test double: a non-local file system held in a dict, for the remote code paths."""

    is_local = False

    def __init__(self) -> None:
        super().__init__("memory")
        self.files: dict[str, bytes] = {}
        self.dirs: set[str] = {"/"}

    def uri(self, path: str) -> str:
        return "memory://" + path

    @staticmethod
    def _norm(path: str) -> str:
        return posixpath.normpath("/" + path.lstrip("/"))

    def _missing(self, path: str) -> FileNotFoundError:
        return FileNotFoundError(errno.ENOENT, "no such file or directory", path)

    def _check_parent(self, path: str) -> None:
        if posixpath.dirname(path) not in self.dirs:
            raise self._missing(posixpath.dirname(path))

    def stat(self, path: str) -> StatResult:
        path = self._norm(path)
        if path in self.files:
            return StatResult(size=len(self.files[path]), mtime=1.0, is_dir=False)
        if path in self.dirs:
            return StatResult(size=0, mtime=1.0, is_dir=True)
        raise self._missing(path)

    def listdir(self, path: str) -> list[str]:
        path = self._norm(path)
        if path not in self.dirs:
            raise self._missing(path)
        return [posixpath.basename(p) for p in (*self.files, *self.dirs)
                if p != "/" and posixpath.dirname(p) == path]

    def mkdir(self, path: str) -> None:
        path = self._norm(path)
        if path in self.files:
            raise FileExistsError(errno.EEXIST, "is a file", path)
        if path not in self.dirs:
            self.mkdir(posixpath.dirname(path))
            self.dirs.add(path)

    def remove(self, path: str) -> None:
        path = self._norm(path)
        if path not in self.files:
            raise self._missing(path)
        del self.files[path]

    def rmdir(self, path: str, recursive: bool = False) -> None:
        path = self._norm(path)
        if path not in self.dirs:
            raise self._missing(path)
        below = [p for p in (*self.files, *self.dirs) if p.startswith(path + "/")]
        if below and not recursive:
            raise OSError(errno.ENOTEMPTY, "directory not empty", path)
        for p in below:
            self.files.pop(p, None)
            self.dirs.discard(p)
        self.dirs.discard(path)

    def rename(self, src: str, dst: str) -> None:
        src, dst = self._norm(src), self._norm(dst)
        self._check_parent(dst)
        if src in self.files:
            self.files[dst] = self.files.pop(src)
        elif src in self.dirs:
            for p in [p for p in self.files if p.startswith(src + "/")]:
                self.files[dst + p[len(src):]] = self.files.pop(p)
            for p in [p for p in self.dirs if p == src or p.startswith(src + "/")]:
                self.dirs.discard(p)
                self.dirs.add(dst + p[len(src):])
        else:
            raise self._missing(src)

    def put(self, local_path: str, path: str) -> None:
        path = self._norm(path)
        self._check_parent(path)
        with open(local_path, "rb") as f:
            self.files[path] = f.read()

    def get(self, path: str, local_path: str) -> None:
        path = self._norm(path)
        if path not in self.files:
            raise self._missing(path)
        with open(local_path, "wb") as f:
            f.write(self.files[path])


class TestMemoryFileSystem(FileSystemSuite):
    """The suite against the in-memory test double (remote code paths)."""

    def make_file_system(self, tmp_path: Path) -> tuple[FileSystem, str]:
        fs = MemoryFileSystem()
        fs.mkdir("/base")
        return fs, "/base"


def test_memory_targets_are_generic() -> None:
    """The double really goes through the generic, non-local target code."""
    fs = MemoryFileSystem()
    assert not fs.is_local
    assert type(FileTarget("/x", fs).parent) is DirectoryTarget
