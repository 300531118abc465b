"""The target methods law analyses use, on law-core's own targets: ``abspath``,
``uri(scheme=False)``, ``chmod``, ``touch``, the ``*_local`` copies and moves, and
temporary local targets (``is_tmp``)."""

from __future__ import annotations

import gc
import os
import stat
import subprocess
import sys
import textwrap
import time

import pytest

import law_core as law
from law_core.errors import TargetError
from law_core.targets.file_system import FileSystem, StatResult


def test_abspath_and_uri_of_local_targets(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    f = law.LocalFileTarget("sub/a.txt")
    assert f.abspath == str(tmp_path / "sub" / "a.txt")
    assert f.uri() == "file://" + f.abspath
    assert f.uri(scheme=False) == f.abspath
    d = law.LocalDirectoryTarget("sub")
    assert d.abspath == str(tmp_path / "sub")
    assert d.child("a.txt").abspath == f.abspath


def test_chmod_sets_the_mode_and_says_when_it_cannot(tmp_path):
    f = law.LocalFileTarget(str(tmp_path / "a.sh"))
    f.dump("echo hi", formatter="text")
    assert f.chmod(0o750) is True
    assert stat.S_IMODE(os.stat(f.path).st_mode) == 0o750
    d = law.LocalDirectoryTarget(str(tmp_path / "d"))
    d.makedirs()
    d.chmod(0o700)
    assert stat.S_IMODE(os.stat(d.path).st_mode) == 0o700

    missing = law.LocalFileTarget(str(tmp_path / "missing"))
    with pytest.raises(TargetError, match="missing.*does not exist"):
        missing.chmod(0o644)
    assert missing.chmod(0o644, silent=True) is False


class _NoPermissions(FileSystem):
    """A file system without a chmod primitive, as most remote storages."""

    def stat(self, path):
        return StatResult(size=0, mtime=0.0, is_dir=False)

    listdir = mkdir = remove = rmdir = rename = put = get = None


def test_chmod_on_a_storage_without_permissions_is_ignored():
    target = law.FileTarget("/a.txt", _NoPermissions("noperm"))
    assert target.chmod(0o600) is False


def test_touch_creates_or_updates_the_modification_time(tmp_path):
    f = law.LocalFileTarget(str(tmp_path / "deep" / "t.txt"))
    f.touch()
    assert f.exists() and f.path and os.path.getsize(f.path) == 0
    f.dump("keep", formatter="text")
    old = time.time() - 3600
    os.utime(f.path, (old, old))
    f.touch()
    assert os.path.getmtime(f.path) > old + 3000
    assert f.load(formatter="text") == "keep"


def test_copy_and_move_to_and_from_local_paths(tmp_path):
    src = law.LocalFileTarget(str(tmp_path / "src.json"))
    src.dump({"a": 1})

    path = src.copy_to_local(str(tmp_path / "out" / "copy.json"))
    assert path == str(tmp_path / "out" / "copy.json")
    assert law.LocalFileTarget(path).load() == {"a": 1}

    # an existing directory is copied into
    (tmp_path / "into").mkdir()
    assert src.copy_to_local(str(tmp_path / "into")) == str(tmp_path / "into" / "src.json")

    # no destination: a new temporary file with the same extension
    tmp = src.copy_to_local()
    assert tmp.endswith(".json") and os.path.exists(tmp) and tmp != src.path

    dst = law.LocalFileTarget(str(tmp_path / "from.json"))
    assert dst.copy_from_local(src.path) == dst.abspath
    assert dst.load() == {"a": 1} and src.exists()

    moved = dst.move_to_local(str(tmp_path / "moved.json"))
    assert not dst.exists() and law.LocalFileTarget(moved).load() == {"a": 1}

    back = law.LocalFileTarget(str(tmp_path / "back.json"))
    back.move_from_local(moved)
    assert back.load() == {"a": 1} and not os.path.exists(moved)

    with pytest.raises(TargetError, match="does not exist"):
        law.LocalFileTarget(str(tmp_path / "nothing")).copy_to_local(str(tmp_path / "x"))


def test_tmp_targets_are_removed_when_collected(tmp_path):
    f = law.LocalFileTarget(is_tmp="json", tmp_dir=str(tmp_path / "tmp"))
    assert f.is_tmp == ".json"
    assert f.path.startswith(str(tmp_path / "tmp") + "/") and f.path.endswith(".json")
    assert not f.exists()
    f.dump({"x": 1})
    path = f.path
    assert os.path.exists(path)
    del f
    gc.collect()
    assert not os.path.exists(path)

    d = law.LocalDirectoryTarget(str(tmp_path / "tmpdir"), is_tmp=True)
    d.child("a.txt").touch()
    del d
    gc.collect()
    assert not (tmp_path / "tmpdir").exists()

    kept = law.LocalFileTarget(str(tmp_path / "kept.txt"))
    kept.touch()
    assert kept.is_tmp is False
    del kept
    gc.collect()
    assert (tmp_path / "kept.txt").exists()


def test_tmp_targets_need_is_tmp_without_a_path():
    with pytest.raises(TargetError, match="needs a path, or is_tmp=True"):
        law.LocalFileTarget()


def test_tmp_targets_are_removed_at_exit(tmp_path):
    script = textwrap.dedent(f"""
        import law_core as law
        t = law.LocalFileTarget(is_tmp=True, tmp_dir={str(tmp_path)!r})
        t.dump("x", formatter="text")
        print(t.path)
        KEEP = [t]   # still referenced when the interpreter ends
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out.startswith(str(tmp_path)) and not os.path.exists(out)
