"""law-core-gfal against a real XRootD server on loopback (started by conftest.py) and
against file:// URIs, through the real gfal2 bindings."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from law_core_gfal.file_interface import GFALFileInterface
from law_core_gfal.file_system import GFALFileSystem, WLCGFileSystem

import law_core as law
from law_core.config import reset_config
from law_core.errors import PluginError
from law_core.registry import get_registry
from law_core.targets.collection import SiblingFileCollection
from law_core.targets.file_system import FileSystem
from law_core.targets.remote import RemoteDirectoryTarget, RemoteFileTarget
from law_core.testing import FileSystemSuite
from law_core.testing.cli import run_cli
from law_core.testing.file_interface import FileInterfaceSuite
from law_core.testing.remote import RemoteFileSystemSuite, counting
from law_core.testing.services import (
    ServiceError,
    WebDAVServer,
    XRootDServer,
    data_dir,
    xrootd_server,
)


def _unique() -> str:
    return uuid.uuid4().hex[:12]


# the conformance suites


class TestGFALInterfaceOnXRootD(FileInterfaceSuite):
    @pytest.fixture(autouse=True)
    def _server(self, xrootd: XRootDServer, dead_port: int) -> None:
        self.server, self.dead_port = xrootd, dead_port

    def make_interface(self, tmp_path: Path) -> tuple[GFALFileInterface, str]:
        return GFALFileInterface(), f"{self.server.url}interface/{_unique()}"

    def unreachable_uri(self) -> str:
        return f"root://127.0.0.1:{self.dead_port}//x"


class TestGFALInterfaceOnFile(FileInterfaceSuite):
    @pytest.fixture(autouse=True)
    def _ports(self, dead_port: int) -> None:
        self.dead_port = dead_port

    def make_interface(self, tmp_path: Path) -> tuple[GFALFileInterface, str]:
        return GFALFileInterface(), f"file://{tmp_path}/storage"

    def unreachable_uri(self) -> str:
        return f"root://127.0.0.1:{self.dead_port}//x"


class TestGFALOnXRootD(RemoteFileSystemSuite):
    """Everything a remote file system promises, on the real server."""

    fs_class = GFALFileSystem

    @pytest.fixture(autouse=True)
    def _server(self, xrootd: XRootDServer, dead_port: int) -> None:
        self.server, self.dead_port = xrootd, dead_port

    def live_base(self, tmp_path: Path) -> str:
        return f"{self.server.url}suite/{_unique()}"

    def dead_base(self) -> str:
        return f"root://127.0.0.1:{self.dead_port}//suite"

    def stop_storage(self) -> None:
        self.server.stop()

    def start_storage(self) -> None:
        self.server.start()


class TestGFALInterfaceOnWebDAV(FileInterfaceSuite):
    """davs:// to XRootD's HTTP plugin (XrdHttp), TLS with the fixture's test CA."""

    @pytest.fixture(autouse=True)
    def _server(self, webdav: WebDAVServer, dead_port: int) -> None:
        self.server, self.dead_port = webdav, dead_port

    def make_interface(self, tmp_path: Path) -> tuple[GFALFileInterface, str]:
        return GFALFileInterface(), f"{self.server.url}interface/{_unique()}"

    def unreachable_uri(self) -> str:
        return f"davs://127.0.0.1:{self.dead_port}/x"


class TestGFALOnWebDAV(RemoteFileSystemSuite):
    """Everything a remote file system promises, over davs:// (XrdHttp)."""

    fs_class = GFALFileSystem

    @pytest.fixture(autouse=True)
    def _server(self, webdav: WebDAVServer, dead_port: int) -> None:
        self.server, self.dead_port = webdav, dead_port

    def live_base(self, tmp_path: Path) -> str:
        return f"{self.server.url}suite/{_unique()}"

    def dead_base(self) -> str:
        return f"davs://127.0.0.1:{self.dead_port}/suite"

    def stop_storage(self) -> None:
        self.server.stop()

    def start_storage(self) -> None:
        self.server.start()


class TestGFALOnFileScheme(FileSystemSuite):
    """The file-system suite through gfal2's file plugin (``file://`` bases)."""

    def make_file_system(self, tmp_path: Path) -> tuple[FileSystem, str]:
        fs = GFALFileSystem(f"file://{tmp_path}/storage", retries=0)
        fs.mkdir("/")
        return fs, "/"

    def make_target(self, fs: FileSystem, path: str, type: str = "f") -> Any:
        cls = RemoteFileTarget if type == "f" else RemoteDirectoryTarget
        return cls(path, fs=fs)  # type: ignore[arg-type]


# the plugin


def test_plugin_module_does_not_import_gfal2() -> None:
    code = (
        "import sys, law_core_gfal.plugin, law_core_gfal\n"
        "from law_core.registry import get_registry\n"
        "r = get_registry(); r.describe(); rec = r.file_system('root')\n"
        "assert rec.name == 'gfal', rec\n"
        "assert 'gfal2' not in sys.modules, 'gfal2 imported at discovery'\n"
        "law_core_gfal.GFALFileSystem\n"
        "assert 'gfal2' not in sys.modules, 'gfal2 imported with the classes'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_schemes_and_file_stays_with_the_core() -> None:
    registry = get_registry()
    for scheme in ("root", "xroot", "davs", "https", "http", "gsiftp", "srm"):
        assert registry.file_system(scheme).name == "gfal"
    assert registry.file_system("file").name == "local"
    assert not registry.conflicts()
    info = {p.name: p for p in registry.describe()}["gfal"]
    assert info.status == "loaded" and info.distribution == "law-core-gfal"


def test_missing_bindings_say_how_to_get_them(monkeypatch: pytest.MonkeyPatch) -> None:
    import law_core_gfal.context as context

    monkeypatch.setitem(sys.modules, "gfal2", None)
    monkeypatch.setattr(context, "_contexts", {})
    with pytest.raises(PluginError, match="python3-gfal2.*conda-forge python-gfal2"):
        GFALFileInterface().stat("root://127.0.0.1:1//x")


#: run by a fresh Python: forking pytest itself, after the suites used the XRootD client,
#: may leave the client stuck in pytest and every later root:// test with it
_CONTEXT_FORK_SCRIPT = """
import os
import sys

from law_core_gfal.context import get_context

ctx = get_context()
assert get_context() is ctx
pid = os.fork()
if pid == 0:
    code = 3
    try:
        child = get_context()
        if child is not ctx and get_context() is child and child.stat("file:///").st_size >= 0:
            code = 0
    finally:
        os._exit(code)
_, status = os.waitpid(pid, 0)
assert get_context() is ctx, "the parent's context was replaced"
sys.exit(os.waitstatus_to_exitcode(status))
"""


def test_one_context_per_process_recreated_after_fork(tmp_path: Path) -> None:
    """A forked child makes a context of its own, which works; the parent keeps its own."""
    result = subprocess.run([sys.executable, "-c", _CONTEXT_FORK_SCRIPT], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_xrootd_client_fails_fast_on_a_dead_door(dead_port: int) -> None:
    start = time.monotonic()
    with pytest.raises(ConnectionRefusedError):
        GFALFileInterface().stat(f"root://127.0.0.1:{dead_port}//x")
    assert time.monotonic() - start < 5
    assert os.environ["XRD_CONNECTIONRETRY"] == "1"


# targets on the server


def test_law_target_on_root_uris(xrootd: XRootDServer, tmp_path: Path) -> None:
    uri = f"{xrootd.url}targets/{_unique()}/out.json"
    target = law.target(uri)
    assert isinstance(target, RemoteFileTarget) and isinstance(target.fs, GFALFileSystem)
    assert target.uri() == uri
    target.dump({"a": [1, 2]})
    assert law.target(uri).load() == {"a": [1, 2]}
    # the file really is on the server's disk
    local = xrootd.data / target.path.lstrip("/")
    assert local.read_text() == '{"a": [1, 2]}'
    with target.open("r") as f:
        assert f.read() == '{"a": [1, 2]}'
    with target.localize("w") as tmp:
        Path(tmp.path).write_text("replaced")
    assert local.read_text() == "replaced"
    copied = target.copy_to(str(tmp_path / "copy.txt"))
    assert Path(copied.path).read_text() == "replaced"


def test_signals_still_reach_the_process_after_xrootd_calls(xrootd: XRootDServer) -> None:
    """The XRootD client blocks all signals in the thread that first uses it; law-core
    keeps the caller's mask, so Ctrl-C and SIGTERM still work, in this process and in every
    process it starts afterwards (a sandboxed run, a job)."""
    import signal
    import subprocess
    import sys

    before = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    target = law.target(f"{xrootd.url}signals/{_unique()}/x.txt")
    target.dump("x", formatter="text")
    assert target.load(formatter="text") == "x"
    target.fs.listdir(target.dirname)
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == before
    child = subprocess.run([sys.executable, "-c", "import signal; print(sorted(int(s) for s in "
                            "signal.pthread_sigmask(signal.SIG_BLOCK, [])))"],
                           capture_output=True, text=True)
    assert child.stdout.strip() == str(sorted(int(s) for s in before))


def test_sibling_collection_of_10000_files_with_one_listing(xrootd: XRootDServer) -> None:
    name = f"many-{_unique()}"
    directory = xrootd.data / name
    directory.mkdir()
    for i in range(0, 10000, 2):  # the even ones exist, written straight to the server's disk
        (directory / f"out_{i}.json").write_text("{}")
    (directory / ".tmp-0000-out_1.json").write_text("{}")  # an unfinished write: not output
    xrootd.chown()
    fs = GFALFileSystem(xrootd.url)
    counter = counting(fs)
    targets = {i: fs.target(f"/{name}/out_{i}.json") for i in range(10000)}
    start = time.monotonic()
    collection = SiblingFileCollection(targets)
    assert collection.count() == (5000, 10000)
    elapsed = time.monotonic() - start
    assert dict(counter.calls) == {"listdir": 1}
    assert not collection.exists() and SiblingFileCollection(targets, 0.5).exists()
    assert elapsed < 2.0, f"{elapsed:.2f} s for one listing of 10000 files"


def test_transfer_options(xrootd: XRootDServer, tmp_path: Path) -> None:
    base = f"{xrootd.url}options/{_unique()}"
    fs = GFALFileSystem(base, gfal_transfer_checksum_check=True,
                        gfal_transfer_checksum_type="adler32", gfal_transfer_timeout=30,
                        gfal_transfer_nbstreams=2, gfal_transfer_create_parent=True)
    params = fs.file_interface.transfer_parameters()
    assert (params.timeout, params.nbstreams, params.create_parent) == (30, 2, True)
    data = os.urandom(300_000)
    (tmp_path / "in.bin").write_bytes(data)
    fs.put(str(tmp_path / "in.bin"), "/deep/new/dir/in.bin")  # create_parent makes the dirs
    fs.get("/deep/new/dir/in.bin", str(tmp_path / "back.bin"))
    assert (tmp_path / "back.bin").read_bytes() == data

    strict = GFALFileSystem(base, gfal_transfer_overwrite=False, retries=0)
    with pytest.raises(FileExistsError):
        strict.put(str(tmp_path / "in.bin"), "/deep/new/dir/in.bin")


def test_third_party_copy_between_servers(xrootd: XRootDServer, public_tmp: Path) -> None:
    """root:// to root:// goes server to server (XRootD TPC), not through this process."""
    with xrootd_server(public_tmp) as other_url:
        src_fs = GFALFileSystem(f"{xrootd.url}tpc/{_unique()}")
        dst_fs = GFALFileSystem(f"{other_url}tpc")
        src = src_fs.target("/x.json")
        src.dump({"tpc": True})
        counter, dst_counter = counting(src_fs), counting(dst_fs)
        dst = src.copy_to(dst_fs.target("/copied/x.json"))
        assert counter.calls["download"] == 0, "the copy went through this machine"
        assert counter.calls["copy"] == 1 and dst_counter.calls["upload"] == 0
        assert dst.load() == {"tpc": True}
        assert (data_dir(public_tmp) / "tpc" / "copied" / "x.json").exists()
    assert not data_dir(public_tmp).exists(), "the server's files are cleaned up"


def test_server_error_is_clear(tmp_path: Path) -> None:
    """A server directory nobody may enter is an error that says so (as root)."""
    if os.geteuid() != 0:
        return  # the server runs as the calling user, who can enter it
    with pytest.raises(ServiceError, match="cannot enter .*mode 0o700"):
        with xrootd_server(tmp_path):
            pass


def test_wlcg_file_system_with_several_protocols(xrootd: XRootDServer) -> None:
    """One storage through two protocols: file:// (its disk) and root:// (its door)."""
    sub = f"wlcg/{_unique()}"
    fs = WLCGFileSystem([f"file://{xrootd.data}/{sub}", f"{xrootd.url}{sub}"])
    root_base, file_base = f"{xrootd.url}{sub}/", f"file://{xrootd.data}/{sub}/"
    assert fs.base == [file_base, root_base], "the configured order is kept"
    assert fs.failover.bases_for("stat") == [root_base, file_base]
    assert fs.failover.bases_for("filecopy") == [root_base, file_base]
    counter = counting(fs)
    fs.mkdir("/")
    fs.target("/a.json").dump({"wlcg": 1})
    assert fs.target("/a.json").load() == {"wlcg": 1}
    assert all(uri.startswith(root_base) for _, uri in counter.log)


def test_named_wlcg_file_system_from_config(xrootd: XRootDServer, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch,
                                           dead_port: int) -> None:
    sub = f"named/{_unique()}"
    cfg = tmp_path / "law.cfg"
    cfg.write_text(f"""
[target]
store = fs.grid:/analysis

[fs.grid]
file_system = law_core_gfal:WLCGFileSystem
base = root://127.0.0.1:{{{dead_port},{xrootd.port}}}//{sub}
retries = 2
retry_delay = 0.1
use_cache = true
cache_root = {tmp_path}/cache
cache_max_size = 100MB
gfal_transfer_timeout = 120
gfal_transfer_checksum_check = true
""")
    monkeypatch.setenv("LAW_CORE_CONFIG", str(cfg))
    reset_config()
    fs = law.file_system("grid")
    assert isinstance(fs, WLCGFileSystem) and len(fs.base) == 2
    assert fs.file_interface.transfer["gfal_transfer_timeout"] == 120

    class Produce(law.Task):
        def output(self) -> Any:
            return self.target("result.json")

        def run(self) -> None:
            self.output().dump({"where": "xrootd"})

    task = Produce()
    assert not task.complete()
    task.run()
    assert task.complete()
    assert task.output().uri().endswith(f"{sub}/analysis/Produce/result.json")
    assert (xrootd.data / sub / "analysis" / "Produce" / "result.json").exists()
    assert task.output().load() == {"where": "xrootd"}


def test_rename_replaces_on_file_scheme(tmp_path: Path) -> None:
    fi = GFALFileInterface()
    (tmp_path / "a").write_text("a")
    (tmp_path / "b").write_text("old")
    fi.rename(f"file://{tmp_path}/a", f"file://{tmp_path}/b")
    assert (tmp_path / "b").read_text() == "a"
    with pytest.raises(OSError) as info:
        fi.rmdir(f"file://{tmp_path}")
    assert info.value.errno == errno.ENOTEMPTY


class _Letters(law.LocalWorkflow):
    """A workflow whose outputs go wherever [target] store says."""

    def create_branch_map(self) -> dict[int, str]:
        return {i: chr(97 + i) for i in range(6)}

    def output(self) -> Any:
        return self.target(f"letter_{self.branch}.json")

    def run(self) -> None:
        self.output().dump({"letter": self.branch_data, "pid": os.getpid()})


def test_workflow_outputs_on_xrootd_by_config_alone(
    xrootd: XRootDServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forked local-workflow workers write to the server; the parent transferred files
    before forking, which is what breaks in-process XRootD transfers in the children."""
    import luigi

    from law_core.config import get_config

    sub = f"workflow/{_unique()}"
    cfg = tmp_path / "law.cfg"
    cfg.write_text(f"[target]\nstore = {xrootd.url}{sub}\n")
    monkeypatch.setenv("LAW_CORE_CONFIG", str(cfg))
    reset_config()
    law.target(f"{xrootd.url}{sub}/before.json").dump({"parent": "transferred first"})
    get_config().override("local_workflow", "workers", "2", "test")
    workflow = _Letters()
    assert luigi.build([workflow], local_scheduler=True, log_level="WARNING")
    collection = workflow.output()["collection"]
    assert collection.count() == (6, 6)
    loaded = [collection[i].load() for i in range(6)]
    assert [x["letter"] for x in loaded] == list("abcdef")
    assert os.getpid() not in {x["pid"] for x in loaded}, "the branches ran in workers"
    assert sorted(os.listdir(xrootd.data / sub / "_Letters")) == [
        f"letter_{i}.json" for i in range(6)]


# backend logging

_STORE_TASK = """
import law_core as law


class Store(law.Task):
    def output(self):
        return self.target("stored.json")

    def run(self):
        self.output().dump({"stored": True})
        assert self.output().load() == {"stored": True}
"""


def _run_store(tmp_path: Path, store: str, *args: str) -> Any:
    (tmp_path / "stored_task.py").write_text(_STORE_TASK)
    (tmp_path / "law.cfg").write_text(
        f"[modules]\nstored_task\n\n[target]\nstore = {store}\n")
    result = run_cli(["run", "stored_task.Store", *args], tmp_path)
    assert result.returncode == 0, result.stderr
    return result


def test_backends_quiet_at_the_default_log_level(webdav: WebDAVServer, tmp_path: Path) -> None:
    """davix printed every HTTP header at INFO (thousands of lines per run): at the default
    level only law-core's own lines show; --log-level DEBUG brings the backends back."""
    base = f"{webdav.url}quiet/{_unique()}"
    (tmp_path / "quiet").mkdir()
    quiet = _run_store(tmp_path / "quiet", base)
    lines = quiet.stderr.splitlines()
    assert not [line for line in lines if "Davix" in line or "gfal2" in line.lower()
                or "XrdCl" in line], quiet.stderr
    assert len(lines) < 30, quiet.stderr
    assert (webdav.data / base.split("/", 3)[3] / "Store" / "stored.json").exists()

    (tmp_path / "debug").mkdir()
    debug = _run_store(tmp_path / "debug", f"{base}-debug", "--log-level", "DEBUG")
    assert "Davix: " in debug.stderr


def test_backend_verbosity_follows_the_law_core_logger(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    import law_core_gfal.context as context

    levels: list[Any] = []
    gfal2 = context.gfal2_module()
    monkeypatch.setattr(gfal2, "set_verbose", levels.append)
    monkeypatch.setenv("XRD_LOGLEVEL", "")  # so that the value set below is undone too
    monkeypatch.delenv("XRD_LOGLEVEL")
    logger = logging.getLogger("law_core")
    old = logger.level
    try:
        logger.setLevel(logging.INFO)
        context._set_backend_verbosity(gfal2)
        assert levels == [gfal2.verbose_level.normal] and "XRD_LOGLEVEL" not in os.environ
        logger.setLevel(logging.DEBUG)
        context._set_backend_verbosity(gfal2)
        assert levels[-1] == gfal2.verbose_level.verbose
        assert os.environ["XRD_LOGLEVEL"] == "Info"
    finally:
        logger.setLevel(old)


def test_bearer_tokens_only_when_asked_for() -> None:
    """gfal2's HTTP plugin asks for a token before every request unless told not to: off by
    default ([gfal] http_bearer_token), on for third-party copies that need one."""
    from law_core_gfal.context import get_context, reset_context

    from law_core.config import get_config

    reset_context()
    try:
        assert get_context().get_opt_boolean("HTTP PLUGIN", "RETRIEVE_BEARER_TOKEN") is False
        get_config().override("gfal", "http_bearer_token", "true", "test")
        reset_context()
        assert get_context().get_opt_boolean("HTTP PLUGIN", "RETRIEVE_BEARER_TOKEN") is True
    finally:
        reset_context()
