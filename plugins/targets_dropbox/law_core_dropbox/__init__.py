"""law-core-dropbox: ``dropbox://`` targets through the official dropbox SDK.

Importing this package does not import the SDK; it is loaded when a Dropbox file system is
first used. ``law.target("dropbox://dropbox.com/path")`` picks :class:`DropboxFileSystem` by
scheme (credentials from the ``[dropbox]`` config section); ``[fs.NAME]`` sections give a
file system its own credentials, base directory, retries and cache.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DropboxFileInterface", "DropboxFileSystem", "content_hash"]


def __getattr__(name: str) -> Any:
    if name == "DropboxFileInterface":
        from law_core_dropbox.file_interface import DropboxFileInterface

        return DropboxFileInterface
    if name == "DropboxFileSystem":
        from law_core_dropbox.file_system import DropboxFileSystem

        return DropboxFileSystem
    if name == "content_hash":
        from law_core_dropbox.content_hash import content_hash

        return content_hash
    raise AttributeError(f"module 'law_core_dropbox' has no attribute {name!r}")
