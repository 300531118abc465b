"""Remote file systems in the core: the contract, bases, failover, retries, the cache,
named file systems, ``law.target`` and ``Task.target``.

``MemoryFileInterface`` below is a test double (storages held in dicts, reached as
``mem://HOST/path``; a host in ``MemoryFileInterface.down`` refuses connections). It is
not a backend the core ships: it runs the core's remote code paths, and the conformance
suites, without a server. The real backend (gfal2 on an XRootD server) is tested in
plugins/targets_gfal/tests.
"""

from __future__ import annotations

import errno
import os
import posixpath
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest

import law_core as law
import law_core.registry
from law_core.config import reset_config
from law_core.errors import ConfigError, TargetError
from law_core.records import FileSystemRecord
from law_core.targets.cache import RemoteCache
from law_core.targets.failover import Failover, bad_bases, parse_bases
from law_core.targets.file_interface import FileInterface, is_definitive
from law_core.targets.file_system import StatResult
from law_core.targets.local import LocalFileTarget
from law_core.targets.remote import RemoteFileSystem, RemoteFileTarget
from law_core.targets.uri import join_uri, normalize_base, redact, split_uri
from law_core.testing.file_interface import FileInterfaceSuite
from law_core.testing.remote import RemoteFileSystemSuite

# the test double


@dataclass
class _Storage:
    files: dict[str, tuple[bytes, float]] = field(default_factory=dict)
    dirs: set[str] = field(default_factory=lambda: {"/"})
    lock: threading.RLock = field(default_factory=threading.RLock)


class MemoryFileInterface(FileInterface):
    """Test double: storages in memory, one per host of ``mem://HOST/path``."""

    schemes: ClassVar[tuple[str, ...]] = ("mem", "file")
    config_options: ClassVar[dict[str, str]] = {"memory_flavour": "str"}
    storages: ClassVar[dict[str, _Storage]] = {}
    down: ClassVar[set[str]] = set()

    def _at(self, uri: str) -> tuple[_Storage, str]:
        match = re.match(r"^mem://([^/]*)(/.*)?$", uri.split("?")[0])
        assert match, uri
        host = match.group(1)
        if host in self.down:
            raise ConnectionRefusedError(errno.ECONNREFUSED, "connection refused", uri)
        storage = self.storages.setdefault(host, _Storage())
        return storage, posixpath.normpath("/" + (match.group(2) or "/").lstrip("/"))

    @staticmethod
    def _missing(path: str) -> FileNotFoundError:
        return FileNotFoundError(errno.ENOENT, "no such file or directory", path)

    def stat(self, uri: str) -> StatResult:
        storage, path = self._at(uri)
        if path in storage.files:
            data, mtime = storage.files[path]
            return StatResult(len(data), mtime, False)
        if path in storage.dirs:
            return StatResult(0, 1.0, True)
        raise self._missing(path)

    def listdir(self, uri: str) -> list[str]:
        storage, path = self._at(uri)
        with storage.lock:
            if path not in storage.dirs:
                raise self._missing(path)
            return [posixpath.basename(p) for p in (*storage.files, *storage.dirs)
                    if p != "/" and posixpath.dirname(p) == path]

    def mkdir(self, uri: str) -> None:
        storage, path = self._at(uri)
        with storage.lock:
            while path not in storage.dirs:
                if path in storage.files:
                    raise FileExistsError(errno.EEXIST, "a file is in the way", path)
                storage.dirs.add(path)
                path = posixpath.dirname(path)

    def remove(self, uri: str) -> None:
        storage, path = self._at(uri)
        with storage.lock:
            if path not in storage.files:
                raise self._missing(path)
            del storage.files[path]

    def rmdir(self, uri: str) -> None:
        storage, path = self._at(uri)
        with storage.lock:
            if path not in storage.dirs:
                raise self._missing(path)
            if any(posixpath.dirname(p) == path for p in (*storage.files, *storage.dirs)
                   if p != "/"):
                raise OSError(errno.ENOTEMPTY, "directory not empty", path)
            storage.dirs.discard(path)

    def rename(self, src_uri: str, dst_uri: str) -> None:
        storage, src = self._at(src_uri)
        _, dst = self._at(dst_uri)
        with storage.lock:
            if src not in storage.files:
                raise self._missing(src)
            if posixpath.dirname(dst) not in storage.dirs:
                raise self._missing(posixpath.dirname(dst))
            storage.files[dst] = storage.files.pop(src)

    def copy(self, src_uri: str, dst_uri: str) -> None:
        if src_uri.startswith("file://"):
            with open(src_uri[len("file://"):], "rb") as f:
                data = f.read()
        else:
            storage, src = self._at(src_uri)
            if src not in storage.files:
                raise self._missing(src)
            data = storage.files[src][0]
        if dst_uri.startswith("file://"):
            with open(dst_uri[len("file://"):], "wb") as f:
                f.write(data)
            return
        storage, dst = self._at(dst_uri)
        with storage.lock:
            if posixpath.dirname(dst) not in storage.dirs:
                raise self._missing(posixpath.dirname(dst))
            storage.files[dst] = (data, time.time())


class MemoryFileSystem(RemoteFileSystem):
    """Test double: a remote file system on :class:`MemoryFileInterface`."""

    file_interface_cls = MemoryFileInterface


@pytest.fixture(autouse=True)
def _clean_state() -> Any:
    MemoryFileInterface.down.clear()
    bad_bases.clear()
    yield
    MemoryFileInterface.down.clear()
    MemoryFileInterface.storages.clear()
    bad_bases.clear()


class _StubRegistry:
    """The plugin registry with the memory double registered for ``mem://``."""

    def __init__(self, real: Any):
        self.real = real
        self.record = FileSystemRecord("memory", f"{__name__}:MemoryFileSystem", schemes=("mem",))

    def file_system(self, scheme: str) -> Any:
        return self.record if scheme == "mem" else self.real.file_system(scheme)

    def file_systems(self) -> dict[str, Any]:
        return {**self.real.file_systems(), "mem": self.record}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.fixture
def mem_registry(monkeypatch: pytest.MonkeyPatch) -> _StubRegistry:
    stub = _StubRegistry(law_core.registry.get_registry())
    monkeypatch.setattr(law_core.registry, "_REGISTRY", stub)
    return stub


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Write a law.cfg and make it the process's config."""

    def write(text: str) -> Path:
        path = tmp_path / "law.cfg"
        path.write_text(text)
        monkeypatch.setenv("LAW_CORE_CONFIG", str(path))
        reset_config()
        return path

    return write


# the conformance suites on the double


class TestMemoryInterface(FileInterfaceSuite):
    def make_interface(self, tmp_path: Path) -> tuple[FileInterface, str]:
        return MemoryFileInterface(), f"mem://storage/{tmp_path.name}"

    def unreachable_uri(self) -> str:
        MemoryFileInterface.down.add("offline")
        return "mem://offline/x"


class TestMemoryRemoteFileSystem(RemoteFileSystemSuite):
    fs_class = MemoryFileSystem
    storage_in_process = True  # a stand-in whose files live in this process

    def live_base(self, tmp_path: Path) -> str:
        return f"mem://storage/{tmp_path.name}"

    def dead_base(self) -> str:
        MemoryFileInterface.down.add("dead")
        return "mem://dead/"

    def stop_storage(self) -> None:
        MemoryFileInterface.down.add("storage")

    def start_storage(self) -> None:
        MemoryFileInterface.down.discard("storage")


# URIs


def test_uri_split_and_join() -> None:
    assert split_uri("root://h:1094//store/a/../x.root") == ("root://h:1094//", "/store/x.root")
    assert split_uri("root://host/x") == ("root://host//", "/x")
    assert split_uri("davs://h:2880/dav/x") == ("davs://h:2880/", "/dav/x")
    assert split_uri("file:///tmp/x") == ("file:///", "/tmp/x")
    assert normalize_base("root://door.example//store") == "root://door.example//store/"
    assert join_uri(normalize_base("root://d//store"), "/a/b") == "root://d//store/a/b"
    assert join_uri(normalize_base("https://h/x?svcClass=t"), "/f") == "https://h/x/f?svcClass=t"
    with pytest.raises(TargetError, match="not a URI"):
        normalize_base("/just/a/path")


def test_credentials_are_redacted() -> None:
    text = redact("copy of root://alice:s3cret@h//x?authz=TOKEN&x=1 failed")
    assert "s3cret" not in text and "TOKEN" not in text and "x=1" in text


def test_bases_brace_expansion() -> None:
    assert parse_bases("root://door{1,2}.example//store, davs://w.example/store") == [
        "root://door1.example//store/", "root://door2.example//store/",
        "davs://w.example/store/",
    ]


# failover


def test_failover_orders_bad_bases_last() -> None:
    failover = Failover(["mem://a/", "mem://b/"], retries=0, bad_base_time=60)
    tried: list[str] = []

    def op(base: str) -> str:
        tried.append(base)
        if base == "mem://a/":
            raise ConnectionRefusedError("refused")
        return base

    assert failover.call("stat", op, "stat of /x") == "mem://b/"
    assert failover.call("stat", op, "stat of /x") == "mem://b/"
    assert tried == ["mem://a/", "mem://b/", "mem://b/"]


def test_bad_base_is_tried_again_after_its_time() -> None:
    failover = Failover(["mem://a/", "mem://b/"], retries=0, bad_base_time=0.05)
    tried: list[str] = []
    healthy = {"mem://b/"}

    def op(base: str) -> str:
        tried.append(base)
        if base not in healthy:
            raise TimeoutError("timed out")
        return base

    failover.call("stat", op, "x")
    time.sleep(0.1)
    healthy.add("mem://a/")
    assert failover.call("stat", op, "x") == "mem://a/"
    assert tried == ["mem://a/", "mem://b/", "mem://a/"]


def test_retries_wait_between_rounds() -> None:
    failover = Failover("mem://a/", retries=2, retry_delay=0.1)
    start = time.monotonic()
    with pytest.raises(TargetError, match=r"no base answered in 3 attempt\(s\)"):
        failover.call("stat", lambda base: (_ for _ in ()).throw(ConnectionError("down")), "x")
    assert time.monotonic() - start >= 0.2


def test_random_base_spreads_load() -> None:
    failover = Failover("mem://d{1,2,3,4}/", random_base=True)
    first = {failover.call("stat", lambda b: b, "x") for _ in range(100)}
    assert len(first) > 1


def test_unknown_operation_base() -> None:
    with pytest.raises(TargetError, match="unknown operation 'chmod'"):
        Failover("mem://a/", {"chmod": "mem://b/"})


def test_error_classification() -> None:
    assert is_definitive(FileNotFoundError(errno.ENOENT, "x"))
    assert is_definitive(OSError(errno.ENOTEMPTY, "x"))
    assert is_definitive(law.PluginError("the backend library is missing"))
    assert not is_definitive(ConnectionRefusedError(errno.ECONNREFUSED, "x"))
    assert not is_definitive(OSError(errno.EIO, "x"))
    assert not is_definitive(RuntimeError("backend hiccup"))


def test_xrootd_server_without_the_binary_is_an_error(tmp_path: Path) -> None:
    """The test service never skips: a missing server is an error saying what to install."""
    from law_core.testing.services import ServiceError, XRootDServer

    with pytest.raises(ServiceError, match="xrootd-missing binary is not installed.*apt-get"):
        XRootDServer(tmp_path, binary="xrootd-missing")


def test_the_xrootd_server_starts_every_time() -> None:
    """The test service comes up at each start, a restart in its directory included: a
    session fixture that fails once fails every test that uses it. (xrootd 5.5 died at
    start-up about one time in 150 with its default log handling.)"""
    from law_core.testing.pytest_plugin import _public_tmp, _require
    from law_core.testing.services import XRootDServer

    _require(("xrootd",), "an XRootD server", "xrootd-server")
    with _public_tmp("law-core-xrootd-starts-") as root:
        server = XRootDServer(root)
        try:
            for _ in range(300):
                server.start()
                server.stop()
        finally:
            server.cleanup()


# remote targets through law.target


def test_law_target_picks_the_plugin_by_scheme(mem_registry: Any) -> None:
    t = law.target("mem://storage//data/x.json")
    assert isinstance(t, RemoteFileTarget) and isinstance(t.fs, MemoryFileSystem)
    assert t.uri() == "mem://storage/data/x.json" and t.path == "/data/x.json"
    t.dump({"a": 1})
    again = law.target("mem://storage/data/x.json")
    assert again.fs is t.fs and again == t and again.load() == {"a": 1}
    d = law.target("mem://storage/data", type="d")
    assert d.listdir() == ["x.json"] and d.child("x.json") == t


def test_law_target_of_an_unknown_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = law_core.registry.Registry(disabled={"gfal"})
    monkeypatch.setattr(law_core.registry, "_REGISTRY", registry)
    with pytest.raises(law.BackendNotFoundError, match="law-core-gfal"):
        law.target("root://nowhere.example//x")
    with pytest.raises(law.BackendNotFoundError, match="'nosuch'"):
        law.target("nosuch://x/y")


def test_law_target_is_callable_in_any_import_order() -> None:
    import importlib

    importlib.import_module("law_core.targets.remote")  # binds law_core.targets to the package
    assert isinstance(law.target("/tmp/x.json"), law.LocalFileTarget)


def test_rmdir_not_empty_and_recursive(tmp_path: Path) -> None:
    fs = MemoryFileSystem("mem://s/")
    fs.target("/d/sub/a.txt").dump("a", formatter="text")
    with pytest.raises(OSError) as info:
        fs.rmdir("/d")
    assert info.value.errno == errno.ENOTEMPTY
    fs.rmdir("/d", recursive=True)
    assert not fs.exists("/d")


def test_validate_copy_catches_short_uploads(tmp_path: Path) -> None:
    fs = MemoryFileSystem("mem://s/", retries=0)
    real_copy = fs.file_interface.copy

    def truncating(src: str, dst: str) -> None:
        real_copy(src, dst)
        storage, path = fs.file_interface._at(dst)
        storage.files[path] = (storage.files[path][0][:3], time.time())

    fs.file_interface.copy = truncating  # type: ignore[method-assign]
    target = fs.target("/short.txt")
    with pytest.raises(TargetError, match="incomplete: 3 of 10 bytes"):
        target.dump("0123456789", formatter="text")
    assert not target.exists() and fs.listdir("/") == []


def test_unknown_interface_option() -> None:
    with pytest.raises(TargetError, match="unknown options"):
        MemoryFileSystem("mem://s/", no_such_option=1)


def test_cache_over_limit_file_is_not_cached(tmp_path: Path) -> None:
    cache = RemoteCache(str(tmp_path / "cache"), max_size=10)
    fs = MemoryFileSystem("mem://s/", cache=cache)
    fs.target("/big.txt").dump("x" * 100, formatter="text")
    assert fs.target("/big.txt").load(formatter="text") == "x" * 100
    assert cache.entries() == []


def test_cached_copy_is_read_only_and_keeps_the_name(tmp_path: Path) -> None:
    fs = MemoryFileSystem("mem://s/", cache=str(tmp_path / "cache"))
    fs.target("/out.tar.gz.json").dump([1])
    with fs.target("/out.tar.gz.json").localize() as local:
        assert local.path.endswith("-out.tar.gz.json")
        assert not os.stat(local.path).st_mode & 0o222


@pytest.mark.parametrize("cache", [False, True], ids=["no-cache", "cache"])
def test_names_longer_than_the_local_disk_allows(tmp_path: Path, cache: bool) -> None:
    """A storage may allow names the local disk does not (here 300 bytes, or 255 bytes of
    three-byte characters, too long for the cache's name with its digest): the local
    copies of uploads, downloads and the cache get shorter names with the extension."""
    fs = MemoryFileSystem("mem://s/", cache=str(tmp_path / "cache") if cache else None)
    for name in ("x" * 295 + ".json", "日" * 83 + ".json"):
        target = fs.target("/long/" + name)
        target.dump({"name": name})
        with target.localize("r") as local:
            assert local.path.endswith(".json")
        assert target.load() == {"name": name}
        assert target.copy_to(fs.target("/copies/" + name)).load() == {"name": name}
    assert sorted(fs.listdir("/long")) == sorted(["x" * 295 + ".json", "日" * 83 + ".json"])


# named file systems and Task.target


def test_named_file_system_from_config(config_file: Any, tmp_path: Path) -> None:
    config_file(f"""
[fs.store]
file_system = {__name__}:MemoryFileSystem
base = mem://door{{1,2}}//store
base_filecopy = mem://bulk//store
retries = 3
retry_delay = 0.5
random_base = false
bad_base_time = 30
use_cache = true
cache_root = {tmp_path}/cache
cache_max_size = 2GB
exists_cache_lifetime = 2h
max_requests_per_second = 50
memory_flavour = plain
""")
    fs = law.file_system("store")
    assert isinstance(fs, MemoryFileSystem) and fs.name == "store"
    assert fs.base == ["mem://door1/store/", "mem://door2/store/"]
    assert fs.failover.bases_for("filecopy") == ["mem://bulk/store/"]
    assert fs.failover.retries == 3 and fs.failover.retry_delay == 0.5
    assert fs.failover.bad_base_time == 30
    assert fs.cache is not None and fs.cache.max_size == 2 * 1000**3
    assert fs.cache.root == str(tmp_path / "cache")
    assert fs.file_interface.options == {"memory_flavour": "plain"}
    assert fs.exists_cache is not None and fs.exists_cache.lifetime == 7200
    assert fs.exists_cache.path == str(tmp_path / "cache" / "existence.sqlite")
    assert fs.pacer.rate == 50
    assert law.file_system("fs.store") is fs
    t = law.target("fs.store:/a/b.json")
    assert t.fs is fs and t.path == "/a/b.json" and t.uri() == "mem://door1/store/a/b.json"
    reset_config()
    assert law.file_system("store") is not fs, "a new config must give new file systems"


@pytest.mark.parametrize("text, message", [
    ("[fs.x]\nretries = 1\n", r"\[fs.x\] has no base"),
    ("[fs.x]\nbase = mem://a/\nfile_system = {mod}:MemoryFileSystem\nretrys = 1\n",
     r"\[fs.x\] retrys .* is not an option of this file system; known: .*retries"),
    ("[fs.x]\nbase = mem://a/\nfile_system = {mod}:MemoryFileSystem\nretries = many\n",
     r"fs.x.retries = 'many' .* is not an integer"),
    ("[fs.x]\nbase = mem://a/\nfile_system = {mod}:MemoryFileSystem\ncache_max_size = big\n",
     r"cache_max_size = 'big' .* is not a size"),
    ("[fs.x]\nbase = mem://a/\nfile_system = {mod}:MemoryFileSystem\n"
     "exists_cache_lifetime = soon\n", r"exists_cache_lifetime = 'soon' .* is not a duration"),
    ("[fs.x]\nbase = mem://a{{1,2/\nfile_system = {mod}:MemoryFileSystem\n",
     r"\[fs.x\] base .*unbalanced braces"),
    ("[fs.x]\nbase = mem://a/\nfile_system = nosuch\n", r"file_system = nosuch: no installed"),
    ("[fs.x]\nbase = /local/path\n", r"base = /local/path is not a URI"),
])
def test_named_file_system_errors(config_file: Any, text: str, message: str) -> None:
    config_file(text.format(mod=__name__))
    with pytest.raises(ConfigError, match=message):
        law.file_system("x")


def test_missing_named_file_system(config_file: Any) -> None:
    config_file("[fs.other]\nbase = mem://a/\n")
    with pytest.raises(ConfigError, match=r"no file system 'wlcg'.*configured: other"):
        law.target("fs.wlcg:/x.json")


class _Out(law.Task):
    def output(self) -> Any:
        return self.target("out.json")


def test_task_target_follows_the_store(config_file: Any, tmp_path: Path,
                                       mem_registry: Any) -> None:
    config_file(f"[target]\nstore = {tmp_path}/data\n")
    local = _Out().output()
    assert isinstance(local, LocalFileTarget)
    assert local.path == f"{tmp_path}/data/_Out/out.json"

    config_file("[target]\nstore = mem://storage//analysis\n")
    remote = _Out().output()
    assert isinstance(remote, RemoteFileTarget)
    assert remote.uri() == "mem://storage/analysis/_Out/out.json"
    assert isinstance(_Out().target(dir=True), law.DirectoryTarget)

    config_file(f"[target]\nstore = fs.grid:/analysis\n\n[fs.grid]\nbase = mem://door//store\n"
                f"file_system = {__name__}:MemoryFileSystem\n")
    named = _Out().output()
    assert named.fs is law.file_system("grid") and named.path == "/analysis/_Out/out.json"
    named.dump({"done": True})
    assert _Out().complete()
    assert isinstance(_Out().local_target("x"), LocalFileTarget), "local_target stays local"


def test_existence_cache_and_pacing_go_to_worker_processes(tmp_path: Path) -> None:
    """A file system is pickled to pool workers: its existence cache and request pacing go
    along (a new database connection and lock on the other side)."""
    import pickle

    from law_core.targets.existence import ExistenceCache
    from law_core.targets.pacing import RequestPacer

    cache = ExistenceCache(str(tmp_path / "existence.sqlite"), 3600)
    cache.seen("fs", "/a/x.json")
    again = pickle.loads(pickle.dumps(cache))
    assert (again.path, again.lifetime) == (cache.path, 3600)
    assert again.exists("fs", "/a/x.json")
    pacer = pickle.loads(pickle.dumps(RequestPacer(20)))
    assert pacer.rate == 20
    pacer.wait()
