"""law-core-gfal: grid storage (XRootD, WebDAV, GridFTP, SRM) through the gfal2 bindings.

Importing this package does not import gfal2; the bindings are loaded when a file system
is first used. ``law.target("root://host//path")`` picks :class:`GFALFileSystem` by scheme;
``[fs.NAME]`` config sections give it several bases, retries and a cache.
"""

from __future__ import annotations

from typing import Any

__all__ = ["GFALFileInterface", "GFALFileSystem", "WLCGFileSystem"]


def __getattr__(name: str) -> Any:
    if name == "GFALFileInterface":
        from law_core_gfal.file_interface import GFALFileInterface

        return GFALFileInterface
    if name in ("GFALFileSystem", "WLCGFileSystem"):
        from law_core_gfal import file_system

        return getattr(file_system, name)
    raise AttributeError(f"module 'law_core_gfal' has no attribute {name!r}")
