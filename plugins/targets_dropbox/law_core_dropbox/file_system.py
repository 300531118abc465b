"""The Dropbox file system: a remote file system on :class:`DropboxFileInterface`."""

from __future__ import annotations

from typing import Any

from law_core.plugin import FileSystem, RemoteFileSystem
from law_core_dropbox.file_interface import DropboxFileInterface


class DropboxFileSystem(RemoteFileSystem):
    """Files in a Dropbox, with the bases, retries and cache of a remote file system::

        fs = DropboxFileSystem("dropbox://dropbox.com/analysis", app_key="...",
                               app_secret="...", refresh_token="...")
        fs.target("/plots/mass.pdf").copy_from("mass.pdf")

    Credentials not given come from the ``[dropbox]`` config section. In a config file,
    a ``[fs.NAME]`` section holds them with the base (see the README).
    """

    file_interface_cls = DropboxFileInterface

    @classmethod
    def from_options(cls, name: str, options: dict[str, Any]) -> RemoteFileSystem:
        fs = super().from_options(name, options)
        interface = _dropbox_interface(fs)
        if interface is not None:
            # messages about credentials name the section to fix
            interface.config_section = f"fs.{name}"
        return fs

    def transfer_to(self, path: str, dst_fs: FileSystem, dst_path: str) -> bool:
        """As for every remote file system, but a copy on Dropbox (``files/copy_v2``)
        only between file systems with the same credentials: with others, the
        destination may be another account, and the copy goes through this machine."""
        mine, theirs = _dropbox_interface(self), _dropbox_interface(dst_fs)
        if mine is not None and theirs is not None and mine is not theirs and \
                mine.account_key() != theirs.account_key():
            return False
        return super().transfer_to(path, dst_fs, dst_path)


def _dropbox_interface(fs: Any) -> DropboxFileInterface | None:
    """The Dropbox interface of ``fs``, also behind proxies that wrap it (``.inner``)."""
    interface = getattr(fs, "file_interface", None)
    for _ in range(5):
        if isinstance(interface, DropboxFileInterface):
            return interface
        interface = getattr(interface, "inner", None)
    return None
