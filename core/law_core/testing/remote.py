"""The conformance suite of remote file systems: everything :class:`FileSystemSuite` checks,
plus what a storage reached through bases promises: failover, retries, the cache, atomic
uploads, copies on the storage, URIs that map back to targets.

A plugin's test module subclasses :class:`RemoteFileSystemSuite`::

    class TestGFALOnXRootD(RemoteFileSystemSuite):
        fs_class = GFALFileSystem

        def live_base(self, tmp_path):      # an empty directory on the real storage
            return f"{server.url}tests/{tmp_path.name}"

        def dead_base(self):                # nothing answers there
            return "root://127.0.0.1:1//"

        def stop_storage(self): server.stop()
        def start_storage(self): server.start()
"""

from __future__ import annotations

import multiprocessing
import os
import posixpath
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest

from law_core.errors import TargetError
from law_core.targets.cache import RemoteCache
from law_core.targets.collection import SiblingFileCollection
from law_core.targets.existence import ExistenceCache, bypass
from law_core.targets.failover import bad_bases
from law_core.targets.file import FileSystemTarget, is_temporary_name
from law_core.targets.file_system import FileSystem
from law_core.targets.local import LocalFileTarget
from law_core.targets.remote import RemoteDirectoryTarget, RemoteFileSystem, RemoteFileTarget
from law_core.targets.uri import normalize_base
from law_core.testing.file_interface import CountingFileInterface
from law_core.testing.file_system import FileSystemSuite


def counting(fs: RemoteFileSystem, **kwargs: Any) -> CountingFileInterface:
    """Wrap ``fs``'s file interface in a :class:`CountingFileInterface` (returned)."""
    counter = CountingFileInterface(fs.file_interface, **kwargs)
    fs.file_interface = counter
    fs.failover.is_transient = counter.is_transient
    return counter


def _load_with_fresh_cache(factory: Any, live: str, cache_root: str, log: str, path: str,
                           queue: Any) -> None:
    """A worker process: its own file system on the shared cache directory, with a slow
    download (the other workers must wait for it); reports what it read."""
    try:
        fs = factory(live, cache=RemoteCache(cache_root))
        counting(fs, log_file=log, delay=0.5)
        with fs.target(path).localize("r") as local:
            with open(local.path, "rb") as f:
                queue.put(f.read())
    except BaseException as err:  # reported to the parent, which fails the test
        queue.put(err)


def _remove_through_own_cache(factory: Any, live: str, database: str, path: str,
                              queue: Any) -> None:
    """A worker process: removes ``path`` through its own file system on the shared
    existence database."""
    try:
        fs = factory(live, exists_cache=ExistenceCache(database, 3600))
        fs.remove(path)
        queue.put(None)
    except BaseException as err:  # reported to the parent, which fails the test
        queue.put(err)


class RemoteFileSystemSuite(FileSystemSuite):
    """Base class of a remote file system's conformance tests; not collected itself.

    A subclass sets ``fs_class`` and defines ``live_base(tmp_path)`` (a base URI of an
    empty or missing directory on the real storage, unique for the test),
    ``dead_base()`` (a base where nothing answers), and ``stop_storage()`` /
    ``start_storage()`` (take the storage away and bring it back, same address and
    files). ``make_remote(bases, **options)`` builds the file system through
    ``remote_factory()`` (``fs_class`` by default): override that one when the class needs
    more arguments (credentials), with something picklable, since some tests build the file
    system in fresh worker processes.
    """

    fs_class: ClassVar[type[RemoteFileSystem] | None] = None
    #: whether the storage keeps its files in this process (a test double): then data
    #: written in a child process would not be seen here
    storage_in_process: ClassVar[bool] = False

    def live_base(self, tmp_path: Path) -> str:
        raise NotImplementedError(f"{type(self).__name__} must define live_base()")

    def dead_base(self) -> str:
        raise NotImplementedError(f"{type(self).__name__} must define dead_base()")

    def stop_storage(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define stop_storage()")

    def start_storage(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define start_storage()")

    def make_remote(self, bases: str | list[str], **options: Any) -> RemoteFileSystem:
        return self.remote_factory()(bases, **options)

    def remote_factory(self) -> Callable[..., RemoteFileSystem]:
        """What :meth:`make_remote` calls, picklable (worker processes are started fresh
        and build their own file system): ``fs_class`` by default; override it (e.g. a
        ``functools.partial`` with credentials) rather than ``make_remote``."""
        if self.fs_class is None:
            raise NotImplementedError(f"{type(self).__name__} must set fs_class")
        return self.fs_class

    # FileSystemSuite's hooks

    def make_file_system(self, tmp_path: Path) -> tuple[FileSystem, str]:
        fs = self.make_remote(self.live_base(tmp_path), retries=0)
        fs.mkdir("/")
        return fs, "/"

    def make_target(self, fs: FileSystem, path: str, type: str = "f") -> FileSystemTarget:
        cls = RemoteFileTarget if type == "f" else RemoteDirectoryTarget
        return cls(path, fs=fs)  # type: ignore[arg-type]

    # helpers

    @pytest.fixture
    def live(self, tmp_path: Path) -> str:
        base = normalize_base(self.live_base(tmp_path))
        self.make_remote(base, retries=0).mkdir("/")
        return base

    @pytest.fixture
    def dead(self) -> Any:
        base = normalize_base(self.dead_base())
        bad_bases.clear(base)
        yield base
        bad_bases.clear(base)

    @staticmethod
    def _cache(tmp_path: Path, **kwargs: Any) -> RemoteCache:
        return RemoteCache(str(tmp_path / "cache"), **kwargs)

    # URIs

    def test_uri_maps_back_to_the_file(self, live: str) -> None:
        fs = self.make_remote(live)
        target = fs.target("/dir/x.json")
        target.dump({"a": 1})
        again = type(fs).target_from_uri(target.uri())
        assert again.uri() == target.uri()
        assert again.load() == {"a": 1}
        assert type(fs).target_from_uri(fs.uri("/dir"), type="d").listdir() == ["x.json"]

    # failover and retries

    def test_failover_skips_a_dead_base(self, live: str, dead: str) -> None:
        fs = self.make_remote([dead, live], retries=0, bad_base_time=60)
        counter = counting(fs)
        target = fs.target("/failover/out.json")
        target.dump({"ok": True})
        for _ in range(10):
            assert target.exists()
            assert target.load() == {"ok": True}
            assert target.parent.listdir() == ["out.json"]
        assert counter.count(prefix=dead.split("?")[0]) == 1, (
            "the dead base was asked more than once; it must be remembered as bad: "
            f"{[c for c in counter.log if c[1].startswith(dead)]}"
        )
        assert counter.count(prefix=live) > 30

    def test_per_operation_bases(self, live: str, dead: str) -> None:
        fs = self.make_remote(live, base_listdir=[dead, live], base_stat=live, retries=0)
        counter = counting(fs)
        fs.target("/ops/a.txt").dump("a", formatter="text")
        assert fs.listdir("/ops") == ["a.txt"]
        assert counter.count("listdir", dead) == 1 and counter.count("stat", dead) == 0

    def test_no_base_answers(self, live: str, dead: str) -> None:
        fs = self.make_remote([dead], retries=2, retry_delay=0.01)
        counter = counting(fs)
        with pytest.raises(TargetError, match="no base answered in 3 attempt") as info:
            fs.exists("/anything")
        assert "stat of /anything" in str(info.value)
        assert counter.count("stat") == 3

    def test_definitive_answers_are_not_retried(self, live: str) -> None:
        fs = self.make_remote(live, retries=3, retry_delay=5)
        counter = counting(fs)
        start = time.monotonic()
        with pytest.raises(FileNotFoundError):
            fs.stat("/missing")
        assert counter.count("stat") == 1 and time.monotonic() - start < 2

    def test_retry_after_outage(self, live: str) -> None:
        """The storage goes away and comes back while an upload waits for it."""
        fs = self.make_remote(live, retries=20, retry_delay=0.25, bad_base_time=0.1)
        counter = counting(fs)
        target = fs.target("/outage/out.json")
        target.parent.makedirs()
        self.stop_storage()
        restarter = threading.Timer(1.0, self.start_storage)
        restarter.start()
        try:
            target.dump({"survived": True})
        finally:
            restarter.join()
            self.start_storage()
        assert target.load() == {"survived": True}
        assert counter.count("mkdir") >= 2, "the outage should have failed a request"

    # atomic uploads

    def test_failed_upload_leaves_nothing(self, live: str) -> None:
        fs = self.make_remote(live, retries=0)
        counter = counting(fs)
        target = fs.target("/atomic/out.json")
        target.dump({"v": 1})
        real_copy = counter.inner.copy

        def broken_copy(src: str, dst: str) -> None:
            real_copy(src, dst)  # the bytes arrive under the temporary name ...
            raise ConnectionResetError("connection lost at the end of the transfer")

        counter.inner.copy = broken_copy  # type: ignore[method-assign]
        try:
            with pytest.raises(TargetError, match="connection lost"):
                target.dump({"v": 2})
        finally:
            del counter.inner.copy
        assert target.load() == {"v": 1}, "a failed upload changed the destination"
        assert fs.listdir("/atomic") == ["out.json"], "a failed upload left temporary files"

    def test_failed_upload_is_cleaned_up_by_the_next_run(self, live: str) -> None:
        """An upload that failed when even removing its temporary file failed (the
        storage went away) leaves that file; the next run's cleanup removes it."""
        fs = self.make_remote(live, retries=0)
        counter = counting(fs)
        target = fs.target("/leftover/out.json")
        target.dump({"v": 1})
        real_copy = counter.inner.copy

        def broken_copy(src: str, dst: str) -> None:
            real_copy(src, dst)
            raise ConnectionResetError("connection lost at the end of the transfer")

        def broken_remove(uri: str) -> None:
            raise ConnectionResetError("connection lost")

        counter.inner.copy = broken_copy  # type: ignore[method-assign]
        counter.inner.remove = broken_remove  # type: ignore[method-assign]
        try:
            with pytest.raises(TargetError, match="connection lost"):
                target.dump({"v": 2})
        finally:
            del counter.inner.copy, counter.inner.remove
        left = [n for n in fs.listdir("/leftover") if is_temporary_name(n)]
        assert len(left) == 1, fs.listdir("/leftover")
        assert target.remove_stale_temporaries() == 1
        assert fs.listdir("/leftover") == ["out.json"]
        assert target.load() == {"v": 1}

    def test_failed_dump_to_new_file(self, live: str) -> None:
        fs = self.make_remote(live, retries=0)
        target = fs.target("/atomic-new/out.json")
        with pytest.raises(TypeError):
            target.dump({"a": object()})
        assert not target.exists()
        assert not [n for n in fs.listdir("/atomic-new") if not is_temporary_name(n)]
        assert fs.listdir("/atomic-new") == []

    # copies

    def test_copy_between_file_systems_on_the_storage(self, live: str, tmp_path: Path) -> None:
        one = self.make_remote(live)
        other = self.make_remote(live.rstrip("/") + "/other/")
        other.mkdir("/")
        src = one.target("/src/data.json")
        src.dump({"x": [1, 2]})
        copied = src.copy_to(other.target("/dst/data.json"))
        assert copied.fs is other and copied.load() == {"x": [1, 2]}
        assert other.listdir("/dst") == ["data.json"]
        local = src.copy_to(LocalFileTarget(str(tmp_path / "down" / "data.json")))
        assert local.load() == {"x": [1, 2]}
        assert sorted(os.listdir(tmp_path / "down")) == ["data.json"]

    def test_refuses_to_remove_its_root(self, live: str) -> None:
        fs = self.make_remote(live)
        with pytest.raises(TargetError, match="refusing"):
            fs.rmdir("/", recursive=True)

    # the cache

    def test_cache_second_load_does_no_transfer(self, live: str, tmp_path: Path) -> None:
        fs = self.make_remote(live, cache=self._cache(tmp_path))
        counter = counting(fs)
        target = fs.target("/cached/data.json")
        target.dump({"n": 1})
        counter.reset()
        assert target.load() == {"n": 1}
        assert counter.calls["download"] == 1
        for _ in range(3):
            assert target.load() == {"n": 1}
            with target.open("r") as f:
                assert f.read() == '{"n": 1}'
        assert counter.calls["download"] == 1, dict(counter.calls)

    def test_cache_sees_remote_changes(self, live: str, tmp_path: Path) -> None:
        reader = self.make_remote(live, cache=self._cache(tmp_path))
        writer = self.make_remote(live)  # another process, no cache
        writer.target("/changing/data.json").dump({"version": 1})
        assert reader.target("/changing/data.json").load() == {"version": 1}
        time.sleep(1.1)  # storage mtimes may have a resolution of one second
        writer.target("/changing/data.json").dump({"version": 2, "more": "x"})
        assert reader.target("/changing/data.json").load() == {"version": 2, "more": "x"}
        writer.target("/changing/data.json").remove()
        with pytest.raises(TargetError):
            reader.target("/changing/data.json").load()

    def test_cache_size_limit_evicts_least_recently_used(
        self, live: str, tmp_path: Path
    ) -> None:
        cache = self._cache(tmp_path, max_size=2500)
        fs = self.make_remote(live, cache=cache)
        counter = counting(fs)
        for name in ("a", "b", "c"):
            fs.target(f"/lru/{name}.txt").dump(name * 1000, formatter="text")
        counter.reset()
        fs.target("/lru/a.txt").load(formatter="text")
        time.sleep(0.01)
        fs.target("/lru/b.txt").load(formatter="text")
        time.sleep(0.01)
        fs.target("/lru/a.txt").load(formatter="text")  # a is used again: b is the oldest
        time.sleep(0.01)
        fs.target("/lru/c.txt").load(formatter="text")  # evicts b
        assert counter.calls["download"] == 3
        assert cache.size() <= 2500
        cached = sorted(p.rsplit("-", 1)[-1] for p, _ in cache.entries())
        assert cached == ["a.txt", "c.txt"]
        fs.target("/lru/a.txt").load(formatter="text")
        assert counter.calls["download"] == 3
        fs.target("/lru/b.txt").load(formatter="text")
        assert counter.calls["download"] == 4

    def test_cache_parallel_workers_download_once(self, live: str, tmp_path: Path) -> None:
        data = os.urandom(2_000_000)
        local = tmp_path / "payload.bin"
        local.write_bytes(data)
        writer = self.make_remote(live)
        writer.mkdir("/shared")
        writer.put(str(local), "/shared/payload.bin")
        log = tmp_path / "requests.log"
        cache_root = str(tmp_path / "cache")
        args = (self.remote_factory(), live, cache_root, str(log), "/shared/payload.bin")
        if self.storage_in_process:  # a stand-in: its files live here, the workers fork
            context = multiprocessing.get_context("fork")
        else:
            # fresh processes: a fork of this one could wait forever on a lock that one of
            # its storage client's threads (started by earlier tests) held at the fork
            context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        workers = [context.Process(target=_load_with_fresh_cache, args=(*args, queue))
                   for _ in range(4)]
        for w in workers:
            w.start()
        results = [queue.get(timeout=120) for _ in workers]
        for w in workers:
            w.join(timeout=30)
        errors = [r for r in results if isinstance(r, BaseException)]
        assert not errors, errors
        assert all(r == data for r in results), "a worker read an incomplete copy"
        downloads = [line for line in log.read_text().splitlines() if " download " in line]
        assert len(downloads) == 1, downloads

    def test_cache_of_a_long_name(self, live: str, tmp_path: Path) -> None:
        """A file with a name as long as the storage allows (255 bytes) is cached under a
        name the local disk accepts, with its extension."""
        fs = self.make_remote(live, cache=self._cache(tmp_path))
        target = fs.target("/long/" + "c" * 250 + ".json")
        target.dump({"long": True})
        assert target.load() == {"long": True}
        with fs.cached(target.path) as cached:
            assert cached.endswith(".json") and len(os.path.basename(cached).encode()) <= 255

    def test_cached_localize_is_reentrant(self, live: str, tmp_path: Path) -> None:
        fs = self.make_remote(live, cache=self._cache(tmp_path))
        target = fs.target("/nested/x.json")
        target.dump([1])
        with target.localize("r") as outer:
            assert target.load() == [1]  # the same entry again, in the same process
            with target.localize("r") as inner:
                assert inner.path == outer.path
        assert posixpath.basename(outer.path).endswith("x.json")

    # the existence cache

    @staticmethod
    def _existence(tmp_path: Path, lifetime: float = 3600.0) -> ExistenceCache:
        return ExistenceCache(str(tmp_path / "existence.sqlite"), lifetime)

    def _outputs(self, fs: RemoteFileSystem, n: int) -> SiblingFileCollection:
        return SiblingFileCollection([fs.target(f"/outputs/out_{i}.json") for i in range(n)])

    def test_exists_cache_answers_a_later_run_without_requests(
            self, live: str, tmp_path: Path) -> None:
        first = self.make_remote(live, exists_cache=self._existence(tmp_path))
        for i in range(5):
            first.target(f"/outputs/out_{i}.json").dump({"i": i})
        assert self._outputs(first, 5).count() == (5, 5)
        # a later run: another file system on the same database
        later = self.make_remote(live, exists_cache=self._existence(tmp_path))
        counter = counting(later)
        assert self._outputs(later, 5).count() == (5, 5)
        assert later.target("/outputs/out_3.json").exists()
        assert sum(counter.calls.values()) == 0, dict(counter.calls)
        # without the cache, the same question costs requests
        bypass(True)
        try:
            assert self._outputs(later, 5).count() == (5, 5)
        finally:
            bypass(False)
        assert counter.calls["listdir"] == 1, dict(counter.calls)

    def test_exists_cache_never_remembers_absence(self, live: str, tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
        cached = self.make_remote(live, exists_cache=self._existence(tmp_path))
        cached.mkdir("/outputs")
        assert cached.listdir("/outputs") == []  # an empty listing is remembered too
        assert "not updated" not in caplog.text, caplog.text
        assert self._outputs(cached, 3).count() == (0, 3)
        assert not cached.target("/outputs/out_0.json").exists()
        # written elsewhere (a job on another machine): seen at once
        self.make_remote(live).target("/outputs/out_0.json").dump({"i": 0})
        assert self._outputs(cached, 3).count() == (1, 3)
        assert cached.target("/outputs/out_0.json").exists()

    def test_exists_cache_forgets_what_law_core_removes(self, live: str, tmp_path: Path) -> None:
        reader = self.make_remote(live, exists_cache=self._existence(tmp_path))
        for i in range(3):
            reader.target(f"/outputs/out_{i}.json").dump({"i": i})
        assert self._outputs(reader, 3).count() == (3, 3)
        # removed by another process on the same database
        remover = self.make_remote(live, exists_cache=self._existence(tmp_path))
        remover.target("/outputs/out_1.json").remove()
        assert self._outputs(reader, 3).count() == (2, 3)
        assert not reader.target("/outputs/out_1.json").exists()
        # a directory removed recursively
        remover.target("/outputs", "d").remove()
        assert self._outputs(reader, 3).count() == (0, 3)
        assert not reader.target("/outputs/out_0.json").exists()

    def test_exists_cache_forgets_a_removal_in_a_worker_process(
            self, live: str, tmp_path: Path) -> None:
        reader = self.make_remote(live, exists_cache=self._existence(tmp_path))
        reader.target("/outputs/out_0.json").dump({"i": 0})
        assert reader.target("/outputs/out_0.json").exists()
        context = multiprocessing.get_context("fork" if self.storage_in_process else "spawn")
        queue = context.Queue()
        worker = context.Process(target=_remove_through_own_cache, args=(
            self.remote_factory(), live, str(tmp_path / "existence.sqlite"),
            "/outputs/out_0.json", queue))
        worker.start()
        result = queue.get(timeout=120)
        worker.join(timeout=30)
        assert result is None, result
        assert reader.exists_cache is not None
        assert not reader.exists_cache.exists(reader.cache_key, "/outputs/out_0.json")
        if not self.storage_in_process:  # a stand-in's child removed its own copy only
            assert not reader.target("/outputs/out_0.json").exists()

    def test_exists_cache_lifetime_ends(self, live: str, tmp_path: Path) -> None:
        fs = self.make_remote(live, exists_cache=self._existence(tmp_path, lifetime=0.2))
        fs.target("/outputs/out_0.json").dump({"i": 0})
        assert self._outputs(fs, 1).count() == (1, 1)
        # removed behind law-core's back: trusted for the lifetime, asked again after it
        self.make_remote(live).remove("/outputs/out_0.json")
        time.sleep(0.3)
        assert self._outputs(fs, 1).count() == (0, 1)
        assert not fs.target("/outputs/out_0.json").exists()

    def test_request_pacing(self, live: str) -> None:
        fs = self.make_remote(live, max_requests_per_second=20)
        counter = counting(fs)
        start = time.monotonic()
        for i in range(6):
            fs.exists(f"/missing_{i}.json")
        # six requests, evenly spaced 50 ms apart: at least 5 intervals
        assert time.monotonic() - start >= 0.25
        assert counter.calls["stat"] == 6
