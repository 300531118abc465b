"""Behaviour of local targets beyond the conformance suite: path expansion, target types,
errors, formatter selection, collections and archive safety."""

from __future__ import annotations

import gc
import io
import os
import subprocess
import sys
import tarfile
import time
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import luigi
import pytest

import law_core as law
import law_core.registry
from law_core.errors import BackendNotFoundError, FormatterError, LawCoreError, TargetError
from law_core.formatter import resolve_formatter
from law_core.registry import Registry, get_registry
from law_core.targets import (
    LocalDirectoryTarget,
    LocalFileTarget,
    NestedSiblingFileCollection,
    SiblingFileCollection,
    TargetCollection,
    local_fs,
    target,
)
from law_core.targets.temporary import temporary_sibling_name
from law_core.testing import CountingFileSystem
from law_core.testing.file_system import ended_process


@pytest.fixture
def core_registry(monkeypatch: pytest.MonkeyPatch) -> Registry:
    """A registry with only the core's own plugin, whatever else is installed, so that
    selection rules and messages are checked against known formatters."""
    others = set(Registry().plugins) - {"core"}
    registry = Registry(disabled=others)
    monkeypatch.setattr(law_core.registry, "_REGISTRY", registry)
    assert get_registry() is registry
    return registry


@pytest.fixture
def unraisable(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Exceptions raised where nobody can catch them (``__del__``), collected."""
    seen: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    return seen


# paths


def test_home_is_expanded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert LocalFileTarget("~/out/x.json").path == str(tmp_path / "out" / "x.json")


def test_file_uri_prefix_and_normalization() -> None:
    t = LocalFileTarget("file:///data/run/../out.json")
    assert t.path == "/data/out.json"
    assert t.uri() == "file:///data/out.json"
    assert target("file:///data/out.json") == t
    assert target("/data/out.json") == t
    assert type(target("/data", type="d")) is LocalDirectoryTarget


def test_relative_paths_are_absolute(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert LocalFileTarget("rel/x.txt").path == str(tmp_path / "rel" / "x.txt")


# target types


def test_parent_sibling_child_types(tmp_path: Path) -> None:
    t = LocalFileTarget(str(tmp_path / "d" / "x.json"))
    assert (t.basename, t.dirname) == ("x.json", str(tmp_path / "d"))
    assert type(t.parent) is LocalDirectoryTarget and t.parent.path == str(tmp_path / "d")
    sibling = t.sibling("y.txt")
    assert type(sibling) is LocalFileTarget and sibling.path == str(tmp_path / "d" / "y.txt")
    assert type(t.sibling("sub", "d")) is LocalDirectoryTarget
    assert type(t.parent.child("z.json")) is LocalFileTarget
    assert type(t.parent.child("z", "d")) is LocalDirectoryTarget
    assert t.parent.child("a/b.txt").path == str(tmp_path / "d" / "a" / "b.txt")
    assert LocalDirectoryTarget("/").parent.path == "/"
    with pytest.raises(TargetError):
        t.parent.child("z", "x")


def test_equality_and_hash(tmp_path: Path) -> None:
    path = str(tmp_path / "x")
    assert LocalFileTarget(path) == LocalFileTarget(path)
    assert LocalFileTarget(path) != LocalDirectoryTarget(path)
    assert len({LocalFileTarget(path), LocalFileTarget(path + "/"), LocalFileTarget(path)}) == 1


def test_stat_of_missing_target(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="does not exist"):
        LocalFileTarget(str(tmp_path / "missing")).stat()


# errors when writing


@pytest.mark.parametrize("below", ["x.json", "sub/x.json", "sub/deeper/x.json"])
def test_dump_below_a_regular_file(tmp_path: Path, below: str, unraisable: list[Any]) -> None:
    """A directory that cannot be created is a TargetError naming the path and reason."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a regular file")
    t = LocalFileTarget(str(blocker / below))
    for write in (
        lambda: t.dump({"a": 1}),
        lambda: t.open("w"),
        lambda: t.touch(),
        lambda: t.localize("w").__enter__(),
    ):
        with pytest.raises(TargetError) as info:
            write()
        assert not isinstance(info.value, OSError)
        message = str(info.value)
        assert t.uri() in message and str(blocker) in message
        assert "a file is in the way" in message
    gc.collect()
    assert unraisable == [], "a failed open('w') raised in __del__"
    assert blocker.read_text() == "a regular file"


def test_dropped_atomic_file_is_discarded(tmp_path: Path) -> None:
    t = LocalFileTarget(str(tmp_path / "out" / "x.txt"))
    f = t.open("w")
    f.write("never closed")
    del f
    gc.collect()
    assert not t.exists()
    assert os.listdir(tmp_path / "out") == []


def test_long_non_ascii_name(tmp_path: Path) -> None:
    """255 bytes in characters of two bytes: written, copied and moved like any name."""
    t = LocalFileTarget(str(tmp_path / ("ü" * 125 + ".json")))
    t.dump({"a": 1})
    copied = t.copy_to(str(tmp_path / ("ö" * 125 + ".json")))
    moved = copied.move_to(str(tmp_path / ("ä" * 125 + ".json")))
    assert t.load() == moved.load() == {"a": 1}
    assert sorted(os.listdir(tmp_path)) == sorted([t.basename, moved.basename])


def test_name_too_long(tmp_path: Path, unraisable: list[Any]) -> None:
    """A name longer than the disk allows is a TargetError naming the target, whichever
    way it is written; no temporary file is left."""
    t = LocalFileTarget(str(tmp_path / "out" / ("x" * 251 + ".json")))
    source = LocalFileTarget(str(tmp_path / "source.json"))
    source.dump({"a": 1})
    for write in (
        lambda: t.dump({"a": 1}),
        lambda: t.open("w"),
        lambda: t.touch(),
        lambda: t.localize("w").__enter__(),
        lambda: source.copy_to(t),
        lambda: source.move_to(t),
    ):
        with pytest.raises(TargetError) as info:
            write()
        message = str(info.value)
        assert t.uri() in message and "256 bytes" in message and ".tmp-" not in message
    gc.collect()
    assert unraisable == []
    assert os.listdir(tmp_path / "out") == []
    assert source.load() == {"a": 1}


class _Output(law.Task):
    path = luigi.Parameter()

    def output(self) -> LocalFileTarget:
        return LocalFileTarget(self.path)


def test_directory_in_place_of_an_output(tmp_path: Path) -> None:
    """A directory where a task's output file goes does not make the task complete."""
    (tmp_path / "out.json").mkdir()
    task = _Output(path=str(tmp_path / "out.json"))
    assert not task.complete()
    with pytest.raises(TargetError, match="is a directory.*dir=True"):
        task.output().dump({"a": 1})
    with pytest.raises(TargetError, match="is a directory"):
        task.output().remove()
    assert (tmp_path / "out.json").is_dir()


# what killed writers leave behind


def test_killed_writer_is_cleaned_up_by_the_next_run(tmp_path: Path) -> None:
    """A process killed while writing leaves its temporary file; the next run removes it."""
    path = tmp_path / "out" / "result.json"
    code = (
        "import os, signal, sys\n"
        "from law_core.targets import LocalFileTarget\n"
        "f = LocalFileTarget(sys.argv[1]).open('w')\n"
        "f.write('half of it'); f.flush()\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(path)])
    assert result.returncode == -9
    left = os.listdir(path.parent)
    assert len(left) == 1 and left[0].startswith(".tmp-") and left[0].endswith("result.json")
    target = LocalFileTarget(str(path))
    assert target.remove_stale_temporaries() == 1
    assert os.listdir(path.parent) == []


def test_stale_temporaries_by_age(tmp_path: Path) -> None:
    """Temporary files of writers elsewhere (or of older law-core versions) are removed
    when they were not modified for a day, or for ``max_age`` seconds."""
    target = LocalFileTarget(str(tmp_path / "out.json"))
    day = 24 * 3600
    ages = {
        temporary_sibling_name("out.json", pid=1, host="0badc0de"): day + 60,
        temporary_sibling_name("out.json", pid=2, host="0badc0de"): 120,
        ".tmp-0123abcd-out.json": day + 60,  # written before writers were recorded
        ".tmp-4567abcd-out.json": 0,
        temporary_sibling_name("other.json", pid=1, host="0badc0de"): day + 60,
    }
    now = time.time()
    for name, age in ages.items():
        (tmp_path / name).write_text("half")
        os.utime(tmp_path / name, (now - age, now - age))
    assert target.remove_stale_temporaries() == 2
    young, other = [n for n, a in ages.items() if a == 120], [n for n in ages if "other" in n]
    assert sorted(os.listdir(tmp_path)) == sorted([*young, ".tmp-4567abcd-out.json", *other])
    assert target.remove_stale_temporaries(max_age=60) == 1
    assert sorted(os.listdir(tmp_path)) == sorted([".tmp-4567abcd-out.json", *other])


def test_stale_temporaries_of_a_directory_target(tmp_path: Path) -> None:
    target = LocalDirectoryTarget(str(tmp_path / "outdir"))
    leftover = tmp_path / temporary_sibling_name("outdir", pid=ended_process())
    (leftover / "sub").mkdir(parents=True)
    (leftover / "sub" / "file.txt").write_text("half")
    assert target.remove_stale_temporaries() == 1
    assert os.listdir(tmp_path) == []


def test_stale_temporaries_list_a_large_directory_once(tmp_path: Path) -> None:
    """The branches of a workflow share a directory: cleaning up before each branch does
    not list it once per branch."""
    for i in range(1000):
        (tmp_path / f"out_{i}.json").write_text("{}")
    ended = ended_process()
    for i in range(0, 50, 10):
        (tmp_path / temporary_sibling_name(f"out_{i}.json", pid=ended)).write_text("half")
    counting = CountingFileSystem(local_fs)
    targets = [LocalFileTarget(str(tmp_path / f"out_{i}.json"), fs=counting) for i in range(50)]
    assert sum(t.remove_stale_temporaries() for t in targets) == 5
    assert counting.calls["listdir"] == 1, dict(counting.calls)
    assert len(os.listdir(tmp_path)) == 1000


def test_move_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="does not exist"):
        LocalFileTarget(str(tmp_path / "missing")).move_to(str(tmp_path / "dst"))


# formatter selection


def test_explicit_formatter_wins_over_extension(tmp_path: Path, core_registry: Registry) -> None:
    t = LocalFileTarget(str(tmp_path / "data.txt"))
    t.dump({"a": [1, 2]}, formatter="json")
    assert t.load(formatter="json") == {"a": [1, 2]}
    assert t.load() == '{"a": [1, 2]}'  # the extension picks text


@pytest.mark.parametrize(("name", "expected"), [
    ("x.tar.gz", "tar"), ("X.TAR.GZ", "tar"), ("x.tgz", "tar"), ("x.gz", "gzip"),
    ("x.json", "json"), ("/a/dir.json/x.log", "text"), ("x.pkl", "pickle"),
])
def test_longest_extension_wins(name: str, expected: str, core_registry: Registry) -> None:
    assert core_registry.formatter_for_path(name).name == expected


def test_tar_gz_is_gzip_compressed_tar(tmp_path: Path, core_registry: Registry) -> None:
    """Regression: the temporary file must keep the extension the formatter looks at."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("a")
    t = LocalFileTarget(str(tmp_path / "out.tar.gz"))
    assert resolve_formatter(t.path).name == "tar"
    t.dump(str(src))
    assert Path(t.path).read_bytes()[:2] == b"\x1f\x8b", "not gzip-compressed"
    with tarfile.open(t.path, "r:gz") as archive:
        assert archive.getnames() == ["a.txt"]
    assert t.load(dst=str(tmp_path / "dst")) == ["a.txt"]
    assert (tmp_path / "dst" / "a.txt").read_text() == "a"


def test_unknown_extension_names_installed_formatters(
    tmp_path: Path, core_registry: Registry
) -> None:
    t = LocalFileTarget(str(tmp_path / "out" / "x.unknownext"))
    with pytest.raises(FormatterError) as info:
        t.dump({"a": 1})
    message = str(info.value)
    assert "x.unknownext" in message and "formatter=NAME" in message
    for name in ("text", "json", "pickle", "gzip", "zip", "tar"):
        assert name in message
    assert ".tar.gz" in message
    assert not (tmp_path / "out").exists(), "nothing is created before the formatter is known"


def test_unknown_formatter_name_names_distribution(
    tmp_path: Path, core_registry: Registry
) -> None:
    t = LocalFileTarget(str(tmp_path / "x.npy"))
    for action in (lambda: t.dump([1, 2], formatter="numpy"), lambda: t.load(formatter="numpy")):
        with pytest.raises(BackendNotFoundError) as info:
            action()
        message = str(info.value)
        assert "numpy" in message and "pip install law-core-formatters" in message
        assert "json" in message  # the installed alternatives
        assert isinstance(info.value, LawCoreError)


# collections


def _make_files(directory: Path, n: int, present: set[int]) -> list[LocalFileTarget]:
    directory.mkdir(parents=True, exist_ok=True)
    targets = [LocalFileTarget(str(directory / f"out_{i}.json")) for i in range(n)]
    for i in present:
        targets[i].touch()
    return targets


def test_nested_sibling_collection_over_three_directories(tmp_path: Path) -> None:
    targets: dict[tuple[int, int], LocalFileTarget] = {}
    for d in range(3):
        files = _make_files(tmp_path / f"dir{d}", 5, present={i for i in range(5) if i <= d})
        targets.update({(d, i): t for i, t in enumerate(files)})
    collection = NestedSiblingFileCollection(targets)
    assert collection.count() == (1 + 2 + 3, 15)
    assert {k for k, _ in collection.iter_existing()} == {
        (0, 0), (1, 0), (1, 1), (2, 0), (2, 1), (2, 2)}
    assert len(list(collection.iter_missing())) == 9
    assert not collection.exists()
    assert NestedSiblingFileCollection(targets, threshold=6).exists()
    assert not NestedSiblingFileCollection(targets, threshold=7).exists()
    assert NestedSiblingFileCollection(targets, threshold=0.4).exists()

    counting = CountingFileSystem(local_fs)
    counted = NestedSiblingFileCollection(
        {k: LocalFileTarget(t.path, fs=counting) for k, t in targets.items()}
    )
    assert counted.count() == (6, 15)
    assert counting.calls == Counter(listdir=3)


def test_nested_collection_with_missing_directory(tmp_path: Path) -> None:
    present = _make_files(tmp_path / "here", 2, {0, 1})
    absent = [LocalFileTarget(str(tmp_path / "nowhere" / f"{i}")) for i in range(2)]
    assert NestedSiblingFileCollection(present + absent).count() == (2, 4)


def test_sibling_collection_rejects_several_directories(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="NestedSiblingFileCollection"):
        SiblingFileCollection([LocalFileTarget(str(tmp_path / d / "x")) for d in "ab"])


@pytest.mark.parametrize(("threshold", "required", "exists"), [
    (1.0, 10, False), (0.7, 7, True), (0.71, 8, False), (0.3, 3, True), (0.0, 0, True),
    (7, 7, True), (8, 8, False), (20, 10, False),
])
def test_collection_threshold(
    tmp_path: Path, threshold: float, required: int, exists: bool
) -> None:
    """Fractions (<= 1) and counts (> 1); 0.7 of 10 is 7, not 8 (floating point)."""
    targets = [LocalFileTarget(str(tmp_path / f"d{i % 3}" / f"{i}.json")) for i in range(10)]
    for t in targets[:7]:
        t.touch()
    collection = TargetCollection(targets, threshold=threshold)
    assert collection.required_count() == required
    assert collection.count() == (7, 10)
    assert collection.exists() is exists


class _FlagTarget(luigi.Target):
    """A target that is not on a file system: asked directly with exists()."""

    def __init__(self, present: bool):
        self.present = present

    def exists(self) -> bool:
        return self.present


def test_collection_of_structures_and_other_targets(tmp_path: Path) -> None:
    a, b, c = _make_files(tmp_path, 3, {0, 1})
    collection = TargetCollection({
        "both": {"x": a, "y": b},
        "half": {"x": a, "y": c},
        "flag_yes": _FlagTarget(True),
        "flag_no": _FlagTarget(False),
    })
    assert {k for k, _ in collection.iter_existing()} == {"both", "flag_yes"}
    assert collection.count() == (2, 4)
    assert TargetCollection([], threshold=1.0).exists()


# archive safety


def _tar_with(path: Path, *members: tarfile.TarInfo) -> None:
    with tarfile.open(path, "w") as archive:
        for info in members:
            archive.addfile(info, io.BytesIO(b"evil") if info.isfile() else None)


def _file_member(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = 4
    return info


@pytest.mark.parametrize("name", ["../evil", "sub/../../evil", "/tmp/law-core-evil"])
def test_tar_refuses_path_traversal(tmp_path: Path, name: str) -> None:
    archive = tmp_path / "bad.tar"
    _tar_with(archive, _file_member("fine.txt"), _file_member(name))
    dst = tmp_path / "dst" / "inner"
    with pytest.raises(FormatterError, match="outside"):
        LocalFileTarget(str(archive)).load(dst=str(dst))
    assert not (tmp_path / "dst" / "evil").exists()
    assert not os.path.exists("/tmp/law-core-evil")
    assert not (dst / "fine.txt").exists(), "nothing is extracted from a refused archive"


def test_tar_refuses_link_outside(tmp_path: Path) -> None:
    link = tarfile.TarInfo("link")
    link.type, link.linkname = tarfile.SYMTYPE, "../../outside"
    archive = tmp_path / "bad.tar"
    _tar_with(archive, link)
    with pytest.raises(FormatterError, match="refusing"):
        LocalFileTarget(str(archive)).load(dst=str(tmp_path / "dst" / "inner"))
    assert not (tmp_path / "dst" / "inner" / "link").is_symlink()


@pytest.mark.parametrize("name", ["../evil", "sub/../../evil", "/tmp/law-core-evil"])
def test_zip_refuses_path_traversal(tmp_path: Path, name: str) -> None:
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("fine.txt", b"fine")
        zf.writestr(name, b"evil")
    dst = tmp_path / "dst" / "inner"
    with pytest.raises(FormatterError, match="outside"):
        LocalFileTarget(str(archive)).load(dst=str(dst))
    assert not (tmp_path / "dst" / "evil").exists()
    assert not (dst / "fine.txt").exists()


def test_archive_listing_without_destination_extracts_nothing(tmp_path: Path) -> None:
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../evil", b"evil")
    assert LocalFileTarget(str(archive)).load() == ["../evil"]
    assert sorted(os.listdir(tmp_path)) == ["bad.zip"]


def test_paths_built_by_code_are_never_variable_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SAMPLE", "expanded")
    target = LocalFileTarget(str(tmp_path / "price_5$_$SAMPLE_${HOME}.json"))
    target.dump({"x": 1})
    assert [p.name for p in tmp_path.iterdir()] == ["price_5$_$SAMPLE_${HOME}.json"]
    assert target.load() == {"x": 1} and target.exists()
