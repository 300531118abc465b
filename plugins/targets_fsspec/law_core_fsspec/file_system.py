"""The fsspec file system: a remote file system on :class:`FsspecFileInterface`."""

from __future__ import annotations

from typing import Any

from law_core.plugin import RemoteFileSystem
from law_core_fsspec.file_interface import FsspecFileInterface
from law_core_fsspec.settings import FsspecSettings, json_object


class FsspecFileSystem(RemoteFileSystem):
    """Files on any storage fsspec reaches, with the bases, failover, retries, cache and
    atomic writes of a remote file system::

        fs = FsspecFileSystem("s3://bucket/analysis", retries=3,
                              storage_options={"endpoint_url": "https://s3.example.org"},
                              key="...", secret="...")
        fs.target("/plots/mass.json").dump({"mean": 91.2})

    Options not given come from the ``[fsspec]`` config section, then from fsspec's own
    configuration (see :mod:`law_core_fsspec.settings`). In a config file, ``[fs.NAME]``
    holds them with the base (``file_system = fsspec`` for protocols this plugin does not
    claim by scheme, see the README).
    """

    file_interface_cls = FsspecFileInterface

    @classmethod
    def from_options(cls, name: str, options: dict[str, Any]) -> RemoteFileSystem:
        for option in ("storage_options", "credentials"):  # bad JSON names the section
            json_object(str(options.get(option) or ""), option, f"[fs.{name}]",
                        secret=option in FsspecSettings.secret_options())
        fs = super().from_options(name, options)
        interface = fs.file_interface
        if isinstance(interface, FsspecFileInterface):
            # messages about the options name the section to fix
            interface.config_section = f"fs.{name}"
        return fs
