"""law:// for fsspec readers: uproot and pandas on the real XRootD test server (through
law-core-gfal, picked by the root:// scheme), and the bridge's promises on an fsspec memory
store configured as a law-core file system."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import fsspec
import numpy as np
import pytest
from law_core_fsspec.bridge import LawFileSystem, fsspec_url

import law_core as law
from law_core.errors import ConfigError, TargetError
from law_core.targets.file import is_temporary_name
from law_core.testing.remote import counting


def unique() -> str:
    return uuid.uuid4().hex[:12]


def law_fs(**options: Any) -> LawFileSystem:
    """A LawFileSystem of its own (fsspec shares instances by their options)."""
    return fsspec.filesystem("law", skip_instance_cache=True, **options)


# readers on the XRootD server


@pytest.fixture
def grid(law_core_xrootd_server: str, config: Any, tmp_path: Path) -> tuple[str, Path]:
    """``[fs.grid]`` on the XRootD server, with a cache; (the sub directory, its data
    directory on the server's disk)."""
    sub = f"bridge/{unique()}"
    config(f"""
[fs.grid]
base = {law_core_xrootd_server}{sub}
retries = 1
retry_delay = 0.1
use_cache = true
cache_root = {tmp_path}/cache
""")
    return sub, law_core_xrootd_server.server.data / sub  # type: ignore[attr-defined]


def test_uproot_reads_a_root_file_from_xrootd(grid: tuple[str, Path], tmp_path: Path) -> None:
    import uproot

    _, on_disk = grid
    local = tmp_path / "events.root"
    pt = np.linspace(0.0, 100.0, 5000)
    with uproot.recreate(local) as f:
        f["events"] = {"pt": pt, "n": np.arange(5000, dtype=np.int32)}
    with fsspec.open("law://grid/ntuples/events.root", "wb") as out:
        out.write(local.read_bytes())
    assert (on_disk / "ntuples" / "events.root").read_bytes() == local.read_bytes()

    with uproot.open("law://grid/ntuples/events.root") as f:
        tree = f["events"]
        assert tree.num_entries == 5000
        np.testing.assert_array_equal(tree["pt"].array(library="np"), pt)
        np.testing.assert_array_equal(tree["n"].array(library="np"), np.arange(5000))
    # read through the file system's cache, once
    fs = law.file_system("grid")
    assert fs.cache is not None and len(list(fs.cache.entries())) == 1


def test_pandas_through_the_bridge(grid: tuple[str, Path]) -> None:
    import pandas as pd

    _, on_disk = grid
    frame = pd.DataFrame({"mass": [91.2, 125.1, 80.4], "name": ["Z", "H", "W"]})
    frame.to_csv("law://grid/tables/bosons.csv", index=False)
    assert (on_disk / "tables" / "bosons.csv").read_text().startswith("mass,name")
    back = pd.read_csv("law://grid/tables/bosons.csv")
    pd.testing.assert_frame_equal(back, frame)
    assert fsspec.filesystem("law").ls("law://grid/tables", detail=False) == \
        ["grid/tables/bosons.csv"]


# the bridge on a memory store


@pytest.fixture
def mem(config: Any, tmp_path: Path, dead_port: int) -> Any:
    """``[fs.mem]``: fsspec's memory file system as a law-core file system (the plugin's
    other direction); ``[fs.cached]`` the same store with a cache; ``[fs.down]`` a
    storage that refuses connections (fsspec's ftp file system, a closed port)."""
    base = f"memory://bridge-{unique()}/data"
    config(f"""
[fs.mem]
base = {base}
retries = 0

[fs.cached]
base = {base}
retries = 0
use_cache = true
cache_root = {tmp_path}/cache

[fs.down]
file_system = fsspec
base = ftp://127.0.0.1:{dead_port}/x
retries = 0
""")
    return law.file_system("mem")


def test_the_law_protocol_is_found_without_importing_the_plugin() -> None:
    code = ("import sys, fsspec\n"
            "cls = fsspec.get_filesystem_class('law')\n"
            "assert cls.__module__ == 'law_core_fsspec.bridge', cls\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_metadata_and_changes(mem: Any, tmp_path: Path) -> None:
    fs = law_fs()
    mem.target("/a/one.txt").dump("one", formatter="text")
    info = fs.info("law://mem/a/one.txt")
    assert info["name"] == "mem/a/one.txt" and info["size"] == 3 and info["type"] == "file"
    assert fs.info("law://mem/a")["type"] == "directory"
    assert fs.exists("law://mem/a/one.txt") and not fs.exists("law://mem/a/two.txt")
    assert fs.isfile("law://mem/a/one.txt") and fs.isdir("law://mem/a")
    assert fs.ls("law://mem/a", detail=False) == ["mem/a/one.txt"]
    assert [e["type"] for e in fs.ls("law://mem/", detail=True)] == ["directory"]
    assert fs.cat_file("law://mem/a/one.txt") == b"one"
    assert fs.cat_file("law://mem/a/one.txt", start=1) == b"ne"
    assert fs.cat_file("law://mem/a/one.txt", start=-2, end=-1) == b"n"

    fs.makedirs("law://mem/b/c", exist_ok=True)
    assert fs.isdir("law://mem/b/c")
    with pytest.raises(FileExistsError):
        fs.makedirs("law://mem/b/c")
    fs.cp_file("law://mem/a/one.txt", "law://mem/b/copy.txt")
    assert mem.target("/b/copy.txt").load(formatter="text") == "one"
    fs.mv("law://mem/b/copy.txt", "law://mem/b/moved.txt")
    assert sorted(mem.listdir("/b")) == ["c", "moved.txt"]
    with pytest.raises(FileNotFoundError):
        fs.cp_file("law://mem/a/missing.txt", "law://mem/b/x.txt")

    (tmp_path / "up.bin").write_bytes(b"uploaded")
    fs.put_file(str(tmp_path / "up.bin"), "law://mem/b/up.bin")
    fs.get_file("law://mem/b/up.bin", str(tmp_path / "down.bin"))
    assert (tmp_path / "down.bin").read_bytes() == b"uploaded"

    fs.rm("law://mem/b/up.bin")
    with pytest.raises(OSError):
        fs.rm("law://mem/b")  # not empty, not recursive
    fs.rm("law://mem/b", recursive=True)
    assert not fs.exists("law://mem/b") and mem.listdir("/") == ["a"]
    with pytest.raises(FileNotFoundError):
        fs.rm_file("law://mem/b/up.bin")


def test_awkward_writes_and_reads_parquet(mem: Any) -> None:
    import awkward as ak

    array = ak.Array([[1.5, 2.5], [], [3.5]])
    ak.to_parquet(array, "law://mem/columns/jagged.parquet")
    assert mem.listdir("/columns") == ["jagged.parquet"]
    # what dask and awkward do with a pattern of files
    assert law_fs().glob("law://mem/columns/*.parquet") == ["mem/columns/jagged.parquet"]
    assert ak.from_parquet("law://mem/columns/jagged.parquet").tolist() == array.tolist()


def test_copy_between_two_named_file_systems(mem: Any) -> None:
    mem.target("/src.json").dump({"x": 1})
    fs = law_fs()
    fs.cp_file("law://mem/src.json", "law://cached/dst.json")
    assert law.file_system("cached").target("/dst.json").load() == {"x": 1}


def test_writes_are_atomic(mem: Any) -> None:
    fs = law_fs()
    target = mem.target("/out/result.bin")
    with fs.open("law://mem/out/result.bin", "wb") as f:
        f.write(b"first")
        assert not target.exists(), "visible before it was closed"
    assert target.exists() and fs.cat_file("law://mem/out/result.bin") == b"first"
    with pytest.raises(RuntimeError):
        with fs.open("law://mem/out/result.bin", "wb") as f:
            f.write(b"half of the second")
            raise RuntimeError("the writer failed")
    assert fs.open("law://mem/out/result.bin", "rb").read() == b"first"
    f = fs.open("law://mem/out/result.bin", "wb")
    f.write(b"never closed")
    del f
    assert fs.open("law://mem/out/result.bin", "rb").read() == b"first"
    assert mem.listdir("/out") == ["result.bin"], "temporary files were left"
    assert not [n for n in mem.listdir("/out") if is_temporary_name(n)]
    with fsspec.open("law://mem/out/text.txt", "w") as text:
        text.write("text mode\n")
    assert mem.target("/out/text.txt").load(formatter="text") == "text mode\n"


def test_range_reads_download_once(mem: Any) -> None:
    """uproot reads a file in many ranges: one download serves them."""
    data = bytes(range(256)) * 400
    mem.put(_write(data), "/big.bin")
    counter = counting(mem)
    fs = law_fs()
    for start in range(0, len(data), 1000):
        assert fs.cat_file("law://mem/big.bin", start, start + 10) == data[start:start + 10]
    assert counter.calls["download"] == 1, dict(counter.calls)
    assert counter.calls["stat"] == 1, dict(counter.calls)
    with fs.open("law://mem/big.bin", "rb") as f:  # an open checks the copy (a stat) ...
        f.seek(-5, 2)
        assert f.read() == data[-5:]
    assert counter.calls["download"] == 1 and counter.calls["stat"] == 2


def test_local_copies_are_bounded(mem: Any) -> None:
    """At most max_copies local copies stay open; the least recently used goes first."""
    for name in "abc":
        mem.put(_write(name.encode() * 10), f"/{name}.txt")
    counter = counting(mem)
    fs = law_fs(max_copies=2)
    for name in "abca":  # a is dropped for c, and fetched again
        assert fs.cat_file(f"law://mem/{name}.txt") == name.encode() * 10
    assert counter.calls["download"] == 4
    assert fs.cat_file("law://mem/c.txt") == b"c" * 10  # kept
    assert counter.calls["download"] == 4


def test_reads_see_changes(mem: Any) -> None:
    fs, eager = law_fs(), law_fs(check_interval=0)
    mem.put(_write(b"version 1"), "/v.txt")
    assert fs.cat_file("law://mem/v.txt") == b"version 1"
    assert eager.cat_file("law://mem/v.txt") == b"version 1"
    mem.put(_write(b"version 2, longer"), "/v.txt")
    with fs.open("law://mem/v.txt", "rb") as f:
        assert f.read() == b"version 2, longer"
    assert eager.cat_file("law://mem/v.txt") == b"version 2, longer"
    mem.remove("/v.txt")
    with pytest.raises(FileNotFoundError):
        fs.open("law://mem/v.txt", "rb")


def test_reads_through_the_cache(mem: Any) -> None:
    cached = law.file_system("cached")
    cached.target("/c.json").dump({"cached": True})
    counter = counting(cached)
    for reader in (law_fs(), law_fs()):  # two readers, one download into the cache
        with reader.open("law://cached/c.json", "rb") as f:
            assert f.read() == b'{"cached": true}'
    assert counter.calls["download"] == 1


def test_unreachable_is_not_absent(mem: Any) -> None:
    fs = law_fs()
    assert not fs.exists("law://mem/nothing/here")
    with pytest.raises(TargetError, match="no base answered"):
        fs.exists("law://down/anything")
    with pytest.raises(TargetError, match="no base answered"):
        fs.isfile("law://down/anything")
    with pytest.raises(ConfigError, match=r"no file system 'nosuch'"):
        fs.exists("law://nosuch/x")
    with pytest.raises(ValueError, match="law://NAME/path"):
        fs.info("law://")


def test_fsspec_url(mem: Any, tmp_path: Path) -> None:
    named = law.target("fs.mem:/dir/x.json")
    assert fsspec_url(named) == "law://mem/dir/x.json"
    named.dump({"x": 1})
    with fsspec.open(fsspec_url(named), "rb") as f:
        assert f.read() == b'{"x": 1}'
    native = law.target(f"memory://native-{unique()}/y.json")
    assert fsspec_url(native) == native.uri()
    local = law.target(str(tmp_path / "z.json"))
    assert fsspec_url(local) == str(tmp_path / "z.json")
    with pytest.raises(TargetError, match=r"\[fs.NAME\]"):
        fsspec_url(law.target("root://127.0.0.1:1//x/y.root"))  # (nothing is asked)


def test_options_of_the_bridge() -> None:
    import pickle

    fs = law_fs(check_interval=3, max_copies=2)
    again = pickle.loads(pickle.dumps(fs))  # as dask sends it to its workers
    assert isinstance(again, LawFileSystem) and again.check_interval == 3.0
    assert again.copies.max_copies == 2
    with pytest.raises(TypeError, match="check_interval and max_copies"):
        fsspec.filesystem("law", endpoint_url="https://x")
    with pytest.raises(NotImplementedError, match="transactions"):
        law_fs().open("law://mem/x", "wb", autocommit=False)


def _write(data: bytes) -> str:
    """A local file with ``data``, removed when the process ends."""
    import atexit
    import os
    import tempfile

    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(data)
    atexit.register(os.remove, f.name)
    return f.name
