"""Targets on a non-local file system: ``load`` gets a temporary local copy (the core's
``localize``), which is gone once ``load`` returns, so every formatter reads eagerly;
``dump`` writes locally and uploads.

The file system is a test double: the core's ``CountingFileSystem`` around the local
disk, declared non-local, so the core takes its remote code paths (get into a temporary
directory, put and rename) while the bytes land on the local disk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fmt_testdata import assert_hist_equal, events, histogram_1d

from law_core.targets.file import FileTarget
from law_core.targets.local import local_fs
from law_core.testing import CountingFileSystem


@pytest.fixture
def remote(tmp_path: Path) -> Any:
    fs = CountingFileSystem(local_fs)
    fs.is_local = False

    def target(name: str) -> FileTarget:
        return FileTarget(str(tmp_path / name), fs)

    target.fs = fs  # type: ignore[attr-defined]
    return target


def test_eager_loads_through_temporary_copies(remote: Any) -> None:
    import awkward as ak
    import pandas as pd

    columns = events()
    frame = pd.DataFrame({"a": [1, 2, 3]})
    cases = {
        "events.root": ({"Events": columns, "h": histogram_1d()}, None),
        "arrays.npz": ({"x": np.arange(5)}, None),
        "data.h5": ({"g": {"x": np.arange(5)}}, None),
        "table.parquet": ({"x": [1, 2]}, None),
        "frame.h5": (frame, "pandas"),
        "events.parquet": (ak.Array([{"x": [1, 2]}, {"x": []}]), "awkward"),
        "config.yaml": ({"a": 1}, None),
    }
    loaded = {}
    for name, (obj, formatter) in cases.items():
        target = remote(name)
        target.dump(obj, formatter=formatter)
        loaded[name] = target.load(formatter=formatter)
    assert remote.fs.calls["put"] == len(cases)
    assert remote.fs.calls["get"] == len(cases)
    # all used after their temporary copies were removed
    assert ak.to_list(loaded["events.root"]["Events"]["met"]) == columns["met"].tolist()
    assert_hist_equal(loaded["events.root"]["h"], histogram_1d())
    np.testing.assert_array_equal(loaded["arrays.npz"]["x"], np.arange(5))
    np.testing.assert_array_equal(loaded["data.h5"]["g"]["x"], np.arange(5))
    assert loaded["table.parquet"].column("x").to_pylist() == [1, 2]
    pd.testing.assert_frame_equal(loaded["frame.h5"], frame)
    assert ak.to_list(loaded["events.parquet"]) == [{"x": [1, 2]}, {"x": []}]
    assert loaded["config.yaml"] == {"a": 1}
