"""Which formatter an extension selects where several claim it, that ``formatter=``
always wins, and that the README's table says what the records declare."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from law_core.records import FormatterRecord
from law_core.registry import OFFICIAL_DISTRIBUTIONS, OFFICIAL_EXTENSIONS, get_registry

ROOT = Path(__file__).resolve().parents[1]

#: file name -> the formatter its extension selects, and all that claim it
COLLISIONS = {
    "data.h5": ("h5py", {"h5py", "pandas", "keras"}),
    "data.hdf5": ("h5py", {"h5py", "pandas"}),
    "table.parquet": ("parquet", {"parquet", "pandas", "awkward"}),
    "summary.json": ("json", {"json", "awkward"}),
    "notes.txt": ("text", {"text", "numpy"}),
    "frame.pkl": ("pickle", {"pickle", "pandas"}),
    "frame.pickle": ("pickle", {"pickle", "pandas"}),
    "archive.tar.bz2": ("tar", {"tar", "bz2"}),
    "archive.tar.xz": ("tar", {"tar", "xz"}),
}

UNIQUE = {
    "config.yaml": "yaml", "config.yml": "yaml", "array.npy": "numpy", "arrays.npz": "numpy",
    "frame.csv": "pandas", "frame.tsv": "pandas", "frame.feather": "pandas",
    "events.root": "uproot", "output.coffea": "coffea", "plot.pdf": "matplotlib",
    "plot.png": "matplotlib", "plot.svg": "matplotlib", "model.keras": "keras",
    "blob.bz2": "bz2", "blob.xz": "xz", "blob.lzma": "xz",
}


def _ours() -> dict[str, FormatterRecord]:
    registry = get_registry()
    provided = registry._provided_for("formatter")
    return {name: p.record for name, p in provided.items() if p.plugin == "formatters"}


@pytest.mark.parametrize("filename", sorted(COLLISIONS))
def test_collisions_are_decided_by_priority(filename: str) -> None:
    chosen, claimants = COLLISIONS[filename]
    registry = get_registry()
    ext = filename.partition(".")[2]
    claiming = {r.name for r in registry.formatters().values()
                if any(filename.endswith("." + e) for e in r.extensions)}
    assert claimants <= claiming
    assert registry.formatter_for_path(f"/store/{filename}").name == chosen
    assert registry.formatter_for_path(f"/store/{filename.upper()}").name == chosen
    # decided by extension length, then priority; never by the name tie-break
    longest = [r for r in registry.formatters().values() if ext in r.extensions]
    if len(longest) > 1:
        priorities = sorted((r.priority for r in longest), reverse=True)
        assert priorities[0] > priorities[1], f"{filename}: a tie between {longest}"


@pytest.mark.parametrize("filename", sorted(UNIQUE))
def test_unique_extensions(filename: str) -> None:
    assert get_registry().formatter_for_path(filename).name == UNIQUE[filename]


def test_explicit_formatter_wins(tmp_path: Path) -> None:
    """Every formatter that loses its extension still reads and writes it by name."""
    import numpy as np
    import pandas as pd

    from law_core.targets.local import LocalFileTarget

    frame = pd.DataFrame({"a": [1, 2]})
    for name in ("frame.h5", "frame.parquet", "frame.pkl"):
        target = LocalFileTarget(str(tmp_path / name))
        target.dump(frame, formatter="pandas")
        pd.testing.assert_frame_equal(target.load(formatter="pandas"), frame)
    target = LocalFileTarget(str(tmp_path / "array.txt"))
    target.dump(np.arange(3.0), formatter="numpy")
    np.testing.assert_array_equal(target.load(formatter="numpy"), np.arange(3.0))
    assert isinstance(target.load(), str)


def _readme_table() -> dict[str, tuple[set[str], int, str]]:
    """formatter -> (extensions, priority, extra) from the README's table."""
    rows = {}
    lines = (ROOT / "README.md").read_text().splitlines()
    start = lines.index("## Formatters")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("#"))
    for line in lines[start + 1:end]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 5 or not cells[0].startswith("`"):
            continue
        name = cells[0].strip("`")
        extensions = set(re.findall(r"`\.([\w.]+)`", cells[1]))
        extra = re.search(r"`\[?(\w+)\]?`", cells[3])
        rows[name] = (extensions, int(cells[2].replace("−", "-")),
                      extra.group(1) if extra else "")
    return rows


def test_readme_table_matches_the_records() -> None:
    table = _readme_table()
    ours = _ours()
    assert sorted(table) == sorted(ours)
    for name, record in ours.items():
        extensions, priority, _ = table[name]
        assert extensions == set(record.extensions), name
        assert priority == record.priority, name


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib")
def test_extras_exist_for_every_formatter() -> None:
    import tomllib

    with open(ROOT / "pyproject.toml", "rb") as f:
        extras = tomllib.load(f)["project"]["optional-dependencies"]
    for name, (_, _, extra) in _readme_table().items():
        if extra:
            assert extra in extras, f"{name}: the README names the extra [{extra}]"
    assert {"all", "test"} <= set(extras)
    listed = re.search(r"\[(.*)\]", extras["all"][0]).group(1).split(",")
    assert sorted(listed) == sorted(set(extras) - {"all", "test"})
    assert "law-core-formatters[all]" in extras["test"]


def test_core_hints_point_here() -> None:
    """The core's "pip install ..." hints know every formatter and extension of ours."""
    for name, record in _ours().items():
        assert OFFICIAL_DISTRIBUTIONS.get(("formatter", name)) == "law-core-formatters", name
        for ext in record.extensions:
            if ext not in ("txt", "json", "pkl", "pickle"):  # the core's own
                assert OFFICIAL_EXTENSIONS.get(ext) == "law-core-formatters", ext
