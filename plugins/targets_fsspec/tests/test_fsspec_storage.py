"""fsspec file systems as law-core storage: fsspec's memory file system through the
conformance suites, fsspec's real ftp and http file systems for storage that does not
answer, and the plugin's options, secrets and errors."""

from __future__ import annotations

import errno
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any, ClassVar

import pytest
from law_core_fsspec.file_interface import FsspecFileInterface
from law_core_fsspec.file_system import FsspecFileSystem

import law_core as law
from law_core.errors import ConfigError, PluginError, TargetError
from law_core.registry import get_registry
from law_core.targets.collection import SiblingFileCollection
from law_core.testing.file_interface import FileInterfaceSuite
from law_core.testing.remote import RemoteFileSystemSuite, counting


def unique() -> str:
    return uuid.uuid4().hex[:12]


# the conformance suites


class TestFsspecInterfaceOnMemory(FileInterfaceSuite):
    """The primitives on fsspec's memory file system. Nothing can fail to reach memory:
    the unreachable URI is fsspec's own http file system asking a closed port (which
    fsspec reports as FileNotFoundError *from* the connection error)."""

    @pytest.fixture(autouse=True)
    def _port(self, dead_port: int) -> None:
        self.dead_port = dead_port

    def make_interface(self, tmp_path: Path) -> tuple[FsspecFileInterface, str]:
        return FsspecFileInterface(), f"memory://interface-{unique()}/base"

    def unreachable_uri(self) -> str:
        return f"http://127.0.0.1:{self.dead_port}/x"


class TestFsspecInterfaceOnLocal(FileInterfaceSuite):
    """The primitives on fsspec's local file system (``file://`` bases, as with
    ``file_system = fsspec``): its native rename, and transfers whose both sides are
    local."""

    @pytest.fixture(autouse=True)
    def _port(self, dead_port: int) -> None:
        self.dead_port = dead_port

    def make_interface(self, tmp_path: Path) -> tuple[FsspecFileInterface, str]:
        return FsspecFileInterface(), f"file://{tmp_path}/storage"

    def unreachable_uri(self) -> str:
        return f"ftp://127.0.0.1:{self.dead_port}/x"


class StandInOutageInterface(FsspecFileInterface):
    """A stand-in for a server outage, which an in-process store cannot have: fsspec's
    memory file system behind a switch that refuses connections (ConnectionRefusedError,
    as a stopped server's port does) while ``down``."""

    down: ClassVar[bool] = False

    def filesystem(self, uri: str) -> tuple[Any, str]:
        if type(self).down:
            raise ConnectionRefusedError(errno.ECONNREFUSED, "stand-in outage: connection "
                                         "refused", uri)
        return super().filesystem(uri)


class StandInOutageFileSystem(FsspecFileSystem):
    file_interface_cls = StandInOutageInterface


class TestFsspecOnMemory(RemoteFileSystemSuite):
    """Everything a remote file system promises, on fsspec's memory file system. The dead
    base is real: fsspec's ftp file system connecting to a closed port. The outage is the
    stand-in switch above. The memory store lives in this process, so the cache's worker
    processes are forked (``storage_in_process``)."""

    fs_class = StandInOutageFileSystem
    storage_in_process = True

    @pytest.fixture(autouse=True)
    def _port(self, dead_port: int) -> Any:
        self.dead_port = dead_port
        yield
        StandInOutageInterface.down = False

    def live_base(self, tmp_path: Path) -> str:
        return f"memory://suite-{unique()}/data"

    def dead_base(self) -> str:
        return f"ftp://127.0.0.1:{self.dead_port}/suite"

    def stop_storage(self) -> None:
        StandInOutageInterface.down = True

    def start_storage(self) -> None:
        StandInOutageInterface.down = False


# the plugin


def test_plugin_module_does_not_import_fsspec() -> None:
    code = (
        "import sys, law_core_fsspec.plugin, law_core_fsspec\n"
        "from law_core.registry import get_registry\n"
        "r = get_registry(); r.describe()\n"
        "assert r.file_system('s3').name == 'fsspec'\n"
        "assert 'fsspec' not in sys.modules, 'fsspec imported at discovery'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_schemes_leave_the_others_alone() -> None:
    registry = get_registry()
    for scheme in ("memory", "s3", "gs", "az", "sftp"):
        assert registry.file_system(scheme).name == "fsspec"
    assert registry.file_system("file").name == "local"
    assert registry.file_system("https").name == "gfal"
    assert not registry.conflicts()
    info = {p.name: p for p in registry.describe()}["fsspec"]
    assert info.status == "loaded" and info.distribution == "law-core-fsspec"


def test_law_target_on_memory_uris() -> None:
    uri = f"memory://targets-{unique()}/out/result.json"
    target = law.target(uri)
    assert isinstance(target.fs, FsspecFileSystem) and target.uri() == uri
    target.dump({"a": [1, 2]})
    assert law.target(uri).load() == {"a": [1, 2]}
    import fsspec

    # the bytes are in fsspec's own memory store, where any fsspec user sees them
    with fsspec.open(uri, "rb") as f:
        assert f.read() == b'{"a": [1, 2]}'
    assert law.target(uri.rsplit("/", 1)[0], type="d").listdir() == ["result.json"]


def test_named_file_system_with_storage_options_and_secrets(config: Any) -> None:
    bucket = f"named-{unique()}"
    config(f"""
[target]
store = fs.scratch:/analysis

[fs.scratch]
file_system = fsspec
base = memory://{bucket}/store
retries = 0
storage_options = {{"skip_instance_cache": false}}
key = AKIA-SECRET-KEY
secret = very-secret-value
credentials = {{"password": "hunter2-password"}}
""")
    fs = law.file_system("scratch")
    assert isinstance(fs, FsspecFileSystem)
    interface = fs.file_interface
    assert isinstance(interface, FsspecFileInterface)
    settings = interface.settings()
    kwargs = settings.kwargs("[fs.scratch]")
    assert kwargs == {"skip_instance_cache": False, "password": "hunter2-password",
                      "key": "AKIA-SECRET-KEY", "secret": "very-secret-value"}

    class Produce(law.Task):
        def output(self) -> Any:
            return self.target("result.json")

        def run(self) -> None:
            self.output().dump({"where": "memory"})

    task = Produce()
    assert not task.complete()
    task.run()
    assert task.complete() and task.output().load() == {"where": "memory"}
    assert task.output().uri() == f"memory://{bucket}/store/analysis/Produce/result.json"

    # the credentials show nowhere
    shown = " ".join([repr(fs), repr(interface), str(interface.options), repr(settings)])
    for secret in ("AKIA-SECRET-KEY", "very-secret-value", "hunter2-password"):
        assert secret not in shown


def test_options_given_in_python() -> None:
    fs = FsspecFileSystem(f"memory://python-{unique()}/", retries=0,
                          storage_options={"skip_instance_cache": False},
                          credentials={"password": "pw-in-python"}, token="tok-in-python")
    fs.target("/x.json").dump([1])
    assert fs.target("/x.json").load() == [1]
    assert fs.file_interface.settings().kwargs("arguments") == {
        "skip_instance_cache": False, "password": "pw-in-python", "token": "tok-in-python"}
    shown = repr(fs.file_interface) + str(fs.file_interface.options)
    assert "pw-in-python" not in shown and "tok-in-python" not in shown
    with pytest.raises(TargetError, match="unknown options"):
        FsspecFileSystem("memory://x/", endpoint_url="https://s3.example.org")


def test_secrets_are_masked_in_errors(config: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A backend whose error repeats a credential (a stand-in: fsspec's memory file
    system made to fail that way) does not bring it into law-core's messages."""
    config(f"""
[fs.leaky]
base = memory://leaky-{unique()}/
retries = 0
credentials = {{"token": "tok-123-secret"}}
""")
    fs = law.file_system("leaky")
    memory, _ = fs.file_interface.filesystem(fs.uri("/"))

    def leaky_info(path: str, **kwargs: Any) -> Any:
        raise OSError(errno.EIO, "backend failed for token tok-123-secret")

    monkeypatch.setattr(memory, "info", leaky_info)
    with pytest.raises(TargetError) as info:
        fs.stat("/x")
    assert "tok-123-secret" not in str(info.value) and "***" in str(info.value)


def test_bad_storage_options_name_the_section(config: Any) -> None:
    config(f"""
[fs.bad]
base = memory://bad-{unique()}/
storage_options = {{"endpoint_url": }}
""")
    with pytest.raises(ConfigError, match=r"storage_options in \[fs.bad\] is not valid JSON"):
        law.target("fs.bad:/x.json").exists()


def test_credentials_that_are_not_json_stay_secret(config: Any) -> None:
    config(f"""
[fs.bad]
base = memory://bad-{unique()}/
credentials = not-json-with-a-secret
""")
    with pytest.raises(ConfigError, match=r"credentials in \[fs.bad\] is not valid JSON") \
            as info:
        law.target("fs.bad:/x.json").exists()
    assert "not-json-with-a-secret" not in str(info.value)


def test_missing_protocol_package_names_it() -> None:
    """gcsfs (not a dependency) is not installed here: using gs:// says what to install."""
    import importlib.util

    if importlib.util.find_spec("gcsfs") is not None:
        pytest.skip("gcsfs is installed here")
    with pytest.raises(PluginError, match="gcsfs"):
        law.target("gs://bucket/x.json").exists()


def test_unknown_protocol_is_a_clear_error(config: Any) -> None:
    config("[fs.odd]\nfile_system = fsspec\nbase = nosuchproto://host/x\n")
    with pytest.raises(PluginError, match="fsspec knows no protocol 'nosuchproto'"):
        law.target("fs.odd:/x.json").exists()


# storage that does not answer is never "absent"


def test_http_answers_and_failures(http_url: str, dead_port: int, tmp_path: Path) -> None:
    """fsspec's http file system against a real HTTP server: 404 is absent, 403 refused,
    503 and a closed port are "could not ask", never absent."""
    fs = FsspecFileSystem(http_url, retries=0)
    assert fs.exists("/ok.txt") and fs.stat("/ok.txt").size == len(b"hello over http")
    assert fs.target("/ok.txt").load(formatter="text") == "hello over http"
    assert not fs.exists("/missing.txt")
    with pytest.raises(PermissionError):
        fs.stat("/forbidden.txt")
    with pytest.raises(TargetError, match="no base answered"):
        fs.exists("/busy.txt")
    dead = FsspecFileSystem(f"http://127.0.0.1:{dead_port}/", retries=1, retry_delay=0.01)
    with pytest.raises(TargetError, match="no base answered in 2 attempt"):
        dead.exists("/ok.txt")
    assert not law.target(f"memory://x-{unique()}/missing").exists()


def test_a_dead_ftp_server_is_transient(dead_port: int) -> None:
    interface = FsspecFileInterface()
    with pytest.raises(ConnectionRefusedError) as info:
        interface.stat(f"ftp://127.0.0.1:{dead_port}/x")
    assert interface.is_transient(info.value)


def test_listing_of_10000_files_is_one_request() -> None:
    fs = FsspecFileSystem(f"memory://many-{unique()}/", retries=0)
    import fsspec

    memory = fsspec.filesystem("memory")
    root = fs.file_interface.filesystem(fs.uri("/dir"))[1]
    for i in range(0, 10000, 2):
        memory.pipe_file(f"{root}/out_{i}.json", b"{}")
    counter = counting(fs)
    targets = {i: fs.target(f"/dir/out_{i}.json") for i in range(10000)}
    collection = SiblingFileCollection(targets)
    assert collection.count() == (5000, 10000)
    assert dict(counter.calls) == {"listdir": 1}


def test_listing_a_file_is_not_a_directory() -> None:
    fs = FsspecFileSystem(f"memory://ls-{unique()}/", retries=0)
    fs.target("/a.txt").dump("a", formatter="text")
    with pytest.raises(NotADirectoryError):
        fs.listdir("/a.txt")
