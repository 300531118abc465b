"""law-core-fsspec: fsspec and law-core both ways.

- Any fsspec file system as law-core storage: :class:`FsspecFileSystem` on
  :class:`FsspecFileInterface` (``law.target("s3://bucket/x")``, ``[fs.NAME]`` sections
  with ``base = memory://...``, ``s3://...``).
- law-core file systems for fsspec readers: :class:`~law_core_fsspec.bridge.LawFileSystem`,
  the ``law://`` protocol (``uproot.open("law://NAME/path/f.root")``, registered with fsspec
  through its ``fsspec.specs`` entry point); :func:`fsspec_url` gives a target's URL.

Importing this package imports neither fsspec nor the core's heavy parts.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FsspecFileInterface", "FsspecFileSystem", "LawFileSystem", "fsspec_url"]

_WHERE = {
    "FsspecFileInterface": "law_core_fsspec.file_interface",
    "FsspecFileSystem": "law_core_fsspec.file_system",
    "LawFileSystem": "law_core_fsspec.bridge",
    "fsspec_url": "law_core_fsspec.bridge",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'law_core_fsspec' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
