"""The conformance suite of file systems (``law_core_file_systems`` hook).

A plugin's test module subclasses :class:`FileSystemSuite` and says how to reach the real
backend::

    class TestXRootDFileSystem(FileSystemSuite):
        def make_file_system(self, tmp_path):
            fs = XRootDFileSystem(base="root://localhost:1094/")
            base = f"/tmp/law-core-tests/{tmp_path.name}"
            fs.mkdir(base)
            return fs, base

Everything the targets promise (atomic writes, copies between file systems, collections
answered from one listing per directory) is checked on top of the backend's primitives.
"""

from __future__ import annotations

import json
import posixpath
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from law_core.errors import TargetError
from law_core.targets.collection import NestedSiblingFileCollection, SiblingFileCollection
from law_core.targets.file import (
    DirectoryTarget,
    FileSystemTarget,
    FileTarget,
    is_temporary_name,
)
from law_core.targets.file_system import FileSystem, StatResult
from law_core.targets.local import LocalDirectoryTarget, LocalFileTarget
from law_core.targets.temporary import temporary_sibling_name


def ended_process() -> int:
    """The PID of a process of this machine that has ended (a killed writer's)."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


class CountingFileSystem(FileSystem):
    """A proxy that forwards to another file system and counts the calls it receives.

    Used to prove cost promises, e.g. that a collection's ``count()`` lists each
    directory once instead of asking about every file.
    """

    def __init__(self, inner: FileSystem):
        super().__init__(f"counting({inner.name})")
        self.inner = inner
        self.is_local = inner.is_local
        self.calls: Counter[str] = Counter()

    def _forward(self, method: str, *args: Any, **kwargs: Any) -> Any:
        self.calls[method] += 1
        return getattr(self.inner, method)(*args, **kwargs)

    def uri(self, path: str) -> str:
        return self.inner.uri(path)

    def stat(self, path: str) -> StatResult:
        return self._forward("stat", path)

    def exists(self, path: str) -> bool:
        return self._forward("exists", path)

    def isdir(self, path: str) -> bool:
        return self._forward("isdir", path)

    def isfile(self, path: str) -> bool:
        return self._forward("isfile", path)

    def listdir(self, path: str) -> list[str]:
        return self._forward("listdir", path)

    def mkdir(self, path: str) -> None:
        return self._forward("mkdir", path)

    def remove(self, path: str) -> None:
        return self._forward("remove", path)

    def rmdir(self, path: str, recursive: bool = False) -> None:
        return self._forward("rmdir", path, recursive=recursive)

    def rename(self, src: str, dst: str) -> None:
        return self._forward("rename", src, dst)

    def put(self, local_path: str, path: str) -> None:
        return self._forward("put", local_path, path)

    def get(self, path: str, local_path: str) -> None:
        return self._forward("get", path, local_path)

    def copy(self, src: str, dst: str) -> None:
        return self._forward("copy", src, dst)


class FileSystemSuite:
    """Base class of a file system's conformance tests; not collected itself.

    A subclass defines:

    - ``make_file_system(tmp_path) -> (fs, base_path)`` (required): a FileSystem
      instance and an existing, empty directory on it, as a path within the file system
      (no scheme); ``tmp_path`` is pytest's per-test local directory;
    - ``close_file_system(fs, base_path)`` (optional): cleanup after each test;
    - ``make_target(fs, path, type)``: a target on ``fs`` (``type`` "f" or "d"); the
      default builds the generic FileTarget/DirectoryTarget, a subclass may return its
      own target classes.

    Paths on the local side of copies live in a separate temporary directory.
    """

    def make_file_system(self, tmp_path: Path) -> tuple[FileSystem, str]:
        """The file system under test and an existing empty directory on it."""
        raise NotImplementedError(f"{type(self).__name__} must define make_file_system()")

    def close_file_system(self, fs: FileSystem, base_path: str) -> None:
        """Clean up after a test; nothing by default."""

    def make_target(self, fs: FileSystem, path: str, type: str = "f") -> FileSystemTarget:
        """A file (``type="f"``) or directory (``"d"``) target on ``fs``."""
        return FileTarget(path, fs) if type == "f" else DirectoryTarget(path, fs)

    # fixtures and helpers

    @pytest.fixture
    def fs_base(self, tmp_path: Path) -> Iterator[tuple[FileSystem, str]]:
        """(file system, base directory) for one test."""
        fs, base = self.make_file_system(tmp_path)
        assert fs.isdir(base), f"make_file_system returned {base}, which is not a directory"
        assert fs.listdir(base) == [], f"make_file_system returned {base}, which is not empty"
        yield fs, base
        self.close_file_system(fs, base)

    @pytest.fixture
    def fs(self, fs_base: tuple[FileSystem, str]) -> FileSystem:
        return fs_base[0]

    @pytest.fixture
    def base(self, fs_base: tuple[FileSystem, str]) -> str:
        return fs_base[1]

    @pytest.fixture
    def local_dir(self, tmp_path_factory: pytest.TempPathFactory) -> Path:
        """A local directory apart from the file system's base, for the local side."""
        return tmp_path_factory.mktemp("law-core-local-side")

    @pytest.fixture
    def running_process(self) -> Iterator[int]:
        """The PID of another process of this machine that runs during the test (a live
        writer's)."""
        process = subprocess.Popen(["sleep", "600"])
        yield process.pid
        process.kill()
        process.wait()

    @staticmethod
    def _write(fs: FileSystem, path: str, data: bytes, local_dir: Path) -> None:
        """Create ``path`` with ``data`` through the ``put`` primitive."""
        local = local_dir / f"upload-{abs(hash(path))}"
        local.write_bytes(data)
        fs.put(str(local), path)
        local.unlink()

    @staticmethod
    def _read(fs: FileSystem, path: str, local_dir: Path) -> bytes:
        """The content of ``path`` through the ``get`` primitive."""
        local = local_dir / f"download-{abs(hash(path))}"
        fs.get(path, str(local))
        data = local.read_bytes()
        local.unlink()
        return data

    @staticmethod
    def _assert_nothing_written(fs: FileSystem, directory: str, name: str) -> None:
        path = posixpath.join(directory, name)
        assert not fs.exists(path), f"a failed write left {path}"
        names = fs.listdir(directory) if fs.isdir(directory) else []
        temporary = [n for n in names if is_temporary_name(n)]
        assert temporary == [], f"a failed write left temporary files: {temporary}"
        assert names == [], f"a failed write left {names} in {directory}"

    # primitives

    def test_stat(self, fs: FileSystem, base: str, local_dir: Path) -> None:
        path = posixpath.join(base, "file.bin")
        self._write(fs, path, b"x" * 123, local_dir)
        st = fs.stat(path)
        assert isinstance(st, StatResult)
        assert st.size == 123
        assert not st.is_dir
        assert st.mtime > 0
        assert fs.stat(base).is_dir
        with pytest.raises(FileNotFoundError):
            fs.stat(posixpath.join(base, "missing"))

    def test_exists_isdir(self, fs: FileSystem, base: str, local_dir: Path) -> None:
        path = posixpath.join(base, "file.txt")
        self._write(fs, path, b"", local_dir)
        assert fs.exists(path) and not fs.isdir(path)
        assert fs.exists(base) and fs.isdir(base)
        missing = posixpath.join(base, "missing")
        assert not fs.exists(missing) and not fs.isdir(missing)

    def test_listdir(self, fs: FileSystem, base: str, local_dir: Path) -> None:
        for name in ("a.txt", "b.txt", ".hidden"):
            self._write(fs, posixpath.join(base, name), b"1", local_dir)
        fs.mkdir(posixpath.join(base, "sub"))
        self._write(fs, posixpath.join(base, "sub", "nested.txt"), b"1", local_dir)
        names = fs.listdir(base)
        assert sorted(names) == [".hidden", "a.txt", "b.txt", "sub"], "names only, one level"
        with pytest.raises(FileNotFoundError):
            fs.listdir(posixpath.join(base, "missing"))

    def test_mkdir_recursive_and_idempotent(self, fs: FileSystem, base: str) -> None:
        deep = posixpath.join(base, "a", "b", "c")
        fs.mkdir(deep)
        assert fs.isdir(deep) and fs.isdir(posixpath.join(base, "a", "b"))
        fs.mkdir(deep)
        fs.mkdir(posixpath.join(base, "a"))
        assert fs.isdir(deep)

    def test_remove(self, fs: FileSystem, base: str, local_dir: Path) -> None:
        path = posixpath.join(base, "file.txt")
        self._write(fs, path, b"1", local_dir)
        fs.remove(path)
        assert not fs.exists(path)
        with pytest.raises(FileNotFoundError):
            fs.remove(path)

    def test_rmdir(self, fs: FileSystem, base: str, local_dir: Path) -> None:
        empty = posixpath.join(base, "empty")
        fs.mkdir(empty)
        fs.rmdir(empty)
        assert not fs.exists(empty)

        full = posixpath.join(base, "full")
        fs.mkdir(posixpath.join(full, "sub"))
        self._write(fs, posixpath.join(full, "sub", "file.txt"), b"1", local_dir)
        self._write(fs, posixpath.join(full, "top.txt"), b"1", local_dir)
        with pytest.raises(OSError):
            fs.rmdir(full)
        assert fs.exists(posixpath.join(full, "top.txt")), "a failed rmdir deleted files"
        fs.rmdir(full, recursive=True)
        assert not fs.exists(full)
        with pytest.raises(FileNotFoundError):
            fs.rmdir(full)

    def test_rename_replaces_destination(self, fs: FileSystem, base: str, local_dir: Path) -> None:
        src, dst = posixpath.join(base, "src.txt"), posixpath.join(base, "dst.txt")
        self._write(fs, src, b"new", local_dir)
        fs.rename(src, posixpath.join(base, "moved.txt"))
        assert not fs.exists(src)
        assert self._read(fs, posixpath.join(base, "moved.txt"), local_dir) == b"new"
        self._write(fs, dst, b"old content", local_dir)
        fs.rename(posixpath.join(base, "moved.txt"), dst)
        assert self._read(fs, dst, local_dir) == b"new"
        assert sorted(fs.listdir(base)) == ["dst.txt"]

    def test_put_get_round_trip(self, fs: FileSystem, base: str, local_dir: Path) -> None:
        data = bytes(range(256)) * 1000
        local = local_dir / "original.bin"
        local.write_bytes(data)
        path = posixpath.join(base, "data.bin")
        fs.put(str(local), path)
        assert fs.stat(path).size == len(data)
        fs.get(path, str(local_dir / "back.bin"))
        assert (local_dir / "back.bin").read_bytes() == data

    def test_copy(self, fs: FileSystem, base: str, local_dir: Path) -> None:
        src, dst = posixpath.join(base, "src.bin"), posixpath.join(base, "dst.bin")
        self._write(fs, src, b"payload", local_dir)
        fs.copy(src, dst)
        assert self._read(fs, dst, local_dir) == b"payload"
        assert self._read(fs, src, local_dir) == b"payload"

    # the target API

    def test_touch(self, fs: FileSystem, base: str) -> None:
        target = self.make_target(fs, posixpath.join(base, "new", "dir", "empty.txt"))
        assert not target.exists()
        target.touch()
        assert target.exists() and target.stat().size == 0
        with target.open("w") as f:
            f.write("kept")
        target.touch()
        assert target.stat().size == 4, "touch must not truncate an existing file"

    def test_dump_load_json(self, fs: FileSystem, base: str) -> None:
        target = self.make_target(fs, posixpath.join(base, "out", "data.json"))
        obj = {"a": [1, 2, 3], "b": {"c": None, "d": "ü"}}
        target.dump(obj)
        assert target.exists()
        assert target.load() == obj
        assert target.load(formatter="json") == obj

    def test_open_write_read(self, fs: FileSystem, base: str) -> None:
        target = self.make_target(fs, posixpath.join(base, "text.txt"))
        with target.open("w") as f:
            f.write("line 1\n")
            f.write("line 2\n")
        with target.open("r") as f:
            assert f.read() == "line 1\nline 2\n"
        binary = self.make_target(fs, posixpath.join(base, "data.bin"))
        with binary.open("wb") as f:
            f.write(b"\x00\x01\xff")
        with binary.open("rb") as f:
            assert f.read() == b"\x00\x01\xff"
        with pytest.raises(TargetError):
            self.make_target(fs, posixpath.join(base, "missing.txt")).open("r")

    def test_open_write_is_atomic(self, fs: FileSystem, base: str) -> None:
        directory = posixpath.join(base, "atomic-open")
        target = self.make_target(fs, posixpath.join(directory, "out.txt"))
        with pytest.raises(RuntimeError, match="inside the block"):
            with target.open("w") as f:
                f.write("half of it")
                assert not target.exists(), "content visible before the file was closed"
                raise RuntimeError("inside the block")
        self._assert_nothing_written(fs, directory, "out.txt")

    def test_localize_write_is_atomic(self, fs: FileSystem, base: str) -> None:
        directory = posixpath.join(base, "atomic-localize")
        target = self.make_target(fs, posixpath.join(directory, "out.txt"))
        with pytest.raises(RuntimeError, match="inside the block"):
            with target.localize("w") as local:
                with open(local.path, "w") as f:
                    f.write("half of it")
                raise RuntimeError("inside the block")
        self._assert_nothing_written(fs, directory, "out.txt")

    def test_localize_write_commits(self, fs: FileSystem, base: str) -> None:
        target = self.make_target(fs, posixpath.join(base, "localized", "out.tar.gz"))
        with target.localize("w") as local:
            assert local.basename.endswith("out.tar.gz"), \
                "the local file's name ends with the target's, so its extensions are kept"
            with open(local.path, "w") as f:
                f.write("content")
            assert not target.exists()
        with target.open("r") as f:
            assert f.read() == "content"
        assert fs.listdir(target.dirname) == ["out.tar.gz"]

    def test_failing_dump_is_atomic(self, fs: FileSystem, base: str) -> None:
        directory = posixpath.join(base, "atomic-dump")
        target = self.make_target(fs, posixpath.join(directory, "out.json"))
        with pytest.raises(TypeError):
            target.dump({"first": 1, "second": object()})  # json writes "first", then fails
        self._assert_nothing_written(fs, directory, "out.json")

    def test_localize_read(self, fs: FileSystem, base: str) -> None:
        target = self.make_target(fs, posixpath.join(base, "read.txt"))
        target.dump("some text", formatter="text")
        with target.localize("r") as local:
            assert isinstance(local, FileTarget) and local.fs.is_local
            with open(local.path) as f:
                assert f.read() == "some text"
        with pytest.raises(TargetError):
            with self.make_target(fs, posixpath.join(base, "missing")).localize("r"):
                pass

    def test_copy_and_move_between_file_systems(
        self, fs: FileSystem, base: str, local_dir: Path
    ) -> None:
        remote = self.make_target(fs, posixpath.join(base, "copies", "a.json"))
        remote.dump({"x": 1})

        local = LocalFileTarget(str(local_dir / "down" / "a.json"))
        assert remote.copy_to(local) == local
        assert local.load() == {"x": 1} and remote.exists()

        into_dir = remote.copy_to(LocalDirectoryTarget(str(local_dir / "into")))
        assert into_dir.path == str(local_dir / "into" / "a.json") and into_dir.exists()

        back = self.make_target(fs, posixpath.join(base, "copies", "b.json"))
        back.copy_from(local)
        assert back.load() == {"x": 1}

        moved_local = LocalFileTarget(str(local_dir / "moved.json"))
        back.move_to(moved_local)
        assert not back.exists() and moved_local.load() == {"x": 1}

        moved_remote = self.make_target(fs, posixpath.join(base, "copies", "sub", "c.json"))
        moved_local.move_to(moved_remote)
        assert not moved_local.exists() and moved_remote.load() == {"x": 1}

        same_fs = self.make_target(fs, posixpath.join(base, "copies", "d.json"))
        remote.copy_to(same_fs)
        assert same_fs.load() == {"x": 1}
        assert sorted(fs.listdir(posixpath.join(base, "copies"))) == [
            "a.json", "d.json", "sub",
        ], "copies left temporary files behind"
        with pytest.raises(TargetError):
            self.make_target(fs, posixpath.join(base, "missing.json")).copy_to(local)

    def test_directory_target(self, fs: FileSystem, base: str) -> None:
        root = self.make_target(fs, posixpath.join(base, "tree"), "d")
        assert isinstance(root, DirectoryTarget)
        assert not root.exists()
        root.touch()
        assert root.exists()
        assert isinstance(root.child("x.json"), FileTarget)
        assert isinstance(root.child("sub", "d"), DirectoryTarget)
        with pytest.raises(TargetError):
            root.child("x", "link")
        for rel in ("a/out_1.json", "a/out_2.json", "a/other.txt", "b/out_3.json", "top.json"):
            root.child(rel).touch()
        assert root.listdir() == ["a", "b", "top.json"]
        assert root.listdir(pattern="*.json") == ["top.json"]
        assert root.listdir(type="d") == ["a", "b"]
        assert root.listdir(type="f") == ["top.json"]
        assert root.glob("*/out_*.json") == ["a/out_1.json", "a/out_2.json", "b/out_3.json"]
        walked = [(posixpath.relpath(d, root.path), dirs, files) for d, dirs, files in root.walk()]
        assert walked == [
            (".", ["a", "b"], ["top.json"]),
            ("a", [], ["other.txt", "out_1.json", "out_2.json"]),
            ("b", [], ["out_3.json"]),
        ]
        assert [w[0] for w in root.walk(max_depth=0)] == [root.path]
        with pytest.raises(TargetError):
            self.make_target(fs, posixpath.join(base, "missing"), "d").listdir()

    def test_directory_copy_to_local(self, fs: FileSystem, base: str, local_dir: Path) -> None:
        root = self.make_target(fs, posixpath.join(base, "tree"), "d")
        root.child("a/one.txt").dump("1", formatter="text")
        root.child("two.txt").dump("2", formatter="text")
        copied = root.copy_to(LocalDirectoryTarget(str(local_dir / "copy")))
        assert (Path(copied.path) / "a" / "one.txt").read_text() == "1"
        assert (Path(copied.path) / "two.txt").read_text() == "2"
        assert root.remove() and not root.exists()

    def test_file_target_remove(self, fs: FileSystem, base: str) -> None:
        target = self.make_target(fs, posixpath.join(base, "gone.txt"))
        target.touch()
        assert target.remove() is True and not target.exists()
        assert target.remove() is False
        with pytest.raises(TargetError):
            target.remove(silent=False)

    # names as long as file systems allow

    @pytest.mark.parametrize("stem", ["n" * 237, "n" * 250], ids=["242-bytes", "255-bytes"])
    def test_long_names(self, fs: FileSystem, base: str, stem: str) -> None:
        """A name as long as file systems allow (255 bytes) is written, read, copied and
        moved like any other: its temporary sibling never needs a longer one."""
        directory = posixpath.join(base, "long")
        first = self.make_target(fs, posixpath.join(directory, stem + ".json"))
        assert isinstance(first, FileTarget)
        first.dump({"a": 1})
        assert first.exists() and first.load() == {"a": 1}
        with first.open("w") as f:
            f.write('{"a": 2}')
        second = self.make_target(fs, posixpath.join(directory, stem[:-1] + "2.json"))
        first.copy_to(second)
        assert second.load() == {"a": 2}
        with second.localize("w") as local:
            assert local.basename.endswith(".json")
            with open(local.path, "w") as f:
                f.write('{"a": 3}')
        third = self.make_target(fs, posixpath.join(directory, stem[:-1] + "3.json"))
        second.move_to(third)
        assert third.load() == {"a": 3} and first.exists() and not second.exists()
        names = fs.listdir(directory)
        # (compared by count: gfal2 lists names of 255 bytes cut to 254)
        assert len(names) == 2 and not [n for n in names if is_temporary_name(n)], names

    def test_name_too_long_is_a_target_error(self, fs: FileSystem, base: str) -> None:
        """A name longer than the file system allows is a TargetError naming the target,
        not an OSError about a temporary path, and nothing is left behind."""
        directory = posixpath.join(base, "too-long")
        target = self.make_target(fs, posixpath.join(directory, "x" * 300 + ".json"))
        try:
            target.dump({"a": 1})
        except TargetError as err:
            assert target.uri() in str(err) and "too long" in str(err)
            assert fs.listdir(directory) == []
        else:  # a file system without the common limit of 255 bytes
            assert target.load() == {"a": 1}
            assert fs.listdir(directory) == [target.basename]

    # a directory where a file goes, and the reverse

    def test_directory_in_place_of_a_file(
        self, fs: FileSystem, base: str, local_dir: Path
    ) -> None:
        """A directory at a file target's path does not make the file exist, and writing
        the file is a TargetError saying so; the directory stays as it was."""
        path = posixpath.join(base, "out.json")
        fs.mkdir(path)
        self._write(fs, posixpath.join(path, "kept.txt"), b"kept", local_dir)
        target = self.make_target(fs, path)
        source = self.make_target(fs, posixpath.join(base, "source.json"))
        source.dump({"a": 1})
        assert not target.exists()
        for write in (lambda: target.dump({"a": 1}), target.touch, lambda: target.open("w"),
                      lambda: source.copy_to(target)):
            with pytest.raises(TargetError, match="is a directory") as info:
                write()
            assert target.uri() in str(info.value) and "dir=True" in str(info.value)
        with pytest.raises(TargetError, match="is a directory"):
            target.load()
        assert fs.isdir(path)
        assert self._read(fs, posixpath.join(path, "kept.txt"), local_dir) == b"kept"
        assert sorted(fs.listdir(base)) == ["out.json", "source.json"]

    def test_file_in_place_of_a_directory(
        self, fs: FileSystem, base: str, local_dir: Path
    ) -> None:
        """A file at a directory target's path does not make the directory exist, and
        creating it is a TargetError saying so; the file stays as it was."""
        path = posixpath.join(base, "outdir")
        self._write(fs, path, b"a file", local_dir)
        target = self.make_target(fs, path, "d")
        assert not target.exists()
        for create in (target.makedirs, target.touch):
            with pytest.raises(TargetError, match="is a file") as info:
                create()
            assert target.uri() in str(info.value)
        assert self._read(fs, path, local_dir) == b"a file"

    # what killed writers leave behind

    def test_remove_stale_temporaries(
        self, fs: FileSystem, base: str, local_dir: Path, running_process: int
    ) -> None:
        """Temporary siblings of ended writers of this machine are removed; those of
        running writers, of writers elsewhere and of other targets stay (judged by the
        writer alone here: no age limit)."""
        directory = posixpath.join(base, "stale")
        target = self.make_target(fs, posixpath.join(directory, "out.json"))
        long_target = self.make_target(fs, posixpath.join(directory, "l" * 245 + ".json"))
        target.dump({"v": 1})
        ended = ended_process()
        stale = [temporary_sibling_name("out.json", pid=ended),
                 temporary_sibling_name(long_target.basename, pid=ended)]
        kept = [
            temporary_sibling_name("out.json", pid=running_process),
            temporary_sibling_name("out.json", pid=ended, host="0badc0de"),  # elsewhere
            temporary_sibling_name("other.json", pid=ended),
        ]
        for name in stale + kept:
            self._write(fs, posixpath.join(directory, name), b"half", local_dir)
        no_limit = float("inf")
        assert target.remove_stale_temporaries(max_age=no_limit) == 1
        assert long_target.remove_stale_temporaries(max_age=no_limit) == 1
        assert sorted(fs.listdir(directory)) == sorted(["out.json", *kept])
        assert target.load() == {"v": 1}
        assert target.remove_stale_temporaries(max_age=no_limit) == 0
        missing = self.make_target(fs, posixpath.join(base, "nowhere", "out.json"))
        assert missing.remove_stale_temporaries() == 0

    def test_recent_temporaries_stay(
        self, fs: FileSystem, base: str, local_dir: Path, running_process: int
    ) -> None:
        """With the default age limit (a day), the recent temporary siblings of running
        writers and of writers elsewhere stay."""
        directory = posixpath.join(base, "recent")
        target = self.make_target(fs, posixpath.join(directory, "out.json"))
        fs.mkdir(directory)
        kept = [temporary_sibling_name("out.json", pid=running_process),
                temporary_sibling_name("out.json", pid=ended_process(), host="0badc0de")]
        for name in kept:
            self._write(fs, posixpath.join(directory, name), b"half", local_dir)
        if time.time() - fs.stat(posixpath.join(directory, kept[0])).mtime > 3600:
            pytest.skip(f"{fs!r} does not report when a file was modified")
        assert target.remove_stale_temporaries() == 0
        assert sorted(fs.listdir(directory)) == sorted(kept)

    def test_remove_stale_temporaries_spares_this_process_writing(
        self, fs: FileSystem, base: str
    ) -> None:
        """The temporary sibling of a write still going on in this process is no leftover."""
        target = self.make_target(fs, posixpath.join(base, "busy", "out.txt"))
        with target.open("w") as f:
            f.write("busy")
            assert target.remove_stale_temporaries() == 0
        assert target.load(formatter="text") == "busy"

    # collections

    def _half_present(self, fs: FileSystem, directory: str, n: int, local_dir: Path
                      ) -> dict[int, str]:
        """Paths of ``n`` files in ``directory``, of which the even-numbered ones exist."""
        fs.mkdir(directory)
        empty = local_dir / "empty"
        empty.write_bytes(b"")
        targets = {}
        for i in range(n):
            path = posixpath.join(directory, f"out_{i}.json")
            if i % 2 == 0:
                fs.put(str(empty), path)
            targets[i] = path
        return targets

    def test_sibling_collection(self, fs: FileSystem, base: str, local_dir: Path) -> None:
        directory = posixpath.join(base, "outputs")
        paths = self._half_present(fs, directory, 200, local_dir)
        targets = {i: self.make_target(fs, p) for i, p in paths.items()}
        collection = SiblingFileCollection(targets)
        assert collection.count() == (100, 200)
        assert [k for k, _ in collection.iter_missing()] == list(range(1, 200, 2))
        assert [k for k, _ in collection.iter_existing()] == list(range(0, 200, 2))
        assert not collection.exists()
        for threshold, expected in ((0.5, True), (0.51, False), (100, True), (101, False)):
            assert SiblingFileCollection(targets, threshold).exists() is expected, threshold

        missing_dir = SiblingFileCollection(
            [self.make_target(fs, posixpath.join(base, "nowhere", f"{i}.json")) for i in range(3)]
        )
        assert missing_dir.count() == (0, 3)

    def test_collection_lists_each_directory_once(
        self, fs: FileSystem, base: str, local_dir: Path
    ) -> None:
        counting = CountingFileSystem(fs)
        paths = self._half_present(fs, posixpath.join(base, "outputs"), 200, local_dir)
        collection = SiblingFileCollection(
            {i: self.make_target(counting, p) for i, p in paths.items()}
        )
        counting.calls.clear()
        assert collection.count() == (100, 200)
        assert counting.calls == Counter(listdir=1), (
            f"count() of 200 files in one directory made these calls: {dict(counting.calls)}"
        )

        nested = {}
        for d in range(3):
            sub = self._half_present(fs, posixpath.join(base, f"dir{d}"), 10, local_dir)
            nested.update({(d, i): self.make_target(counting, p) for i, p in sub.items()})
        counting.calls.clear()
        assert NestedSiblingFileCollection(nested).count() == (15, 30)
        assert counting.calls == Counter(listdir=3), dict(counting.calls)

    def test_collection_of_json_results(self, fs: FileSystem, base: str) -> None:
        """Collections see files written through the target API, never temporary ones."""
        targets = [self.make_target(fs, posixpath.join(base, "res", f"{i}.json")) for i in range(4)]
        for t in targets[:3]:
            t.dump({"ok": True})
        with pytest.raises(RuntimeError):
            with targets[3].open("w") as f:
                f.write(json.dumps({"ok": False}))
                assert SiblingFileCollection(targets).count() == (3, 4)
                raise RuntimeError("failed task")
        assert SiblingFileCollection(targets).count() == (3, 4)
        assert sorted(fs.listdir(posixpath.join(base, "res"))) == ["0.json", "1.json", "2.json"]
