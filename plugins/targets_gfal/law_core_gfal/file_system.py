"""File systems on gfal2: any base gfal2 reaches, and the WLCG flavour with several
protocols per storage."""

from __future__ import annotations

from typing import Any, ClassVar

from law_core.plugin import OPERATIONS, RemoteFileSystem, parse_bases, scheme_of
from law_core_gfal.file_interface import GFALFileInterface


class GFALFileSystem(RemoteFileSystem):
    """Files on storage that gfal2 reaches (``root://``, ``davs://``, ``gsiftp://``,
    ``srm://``, ``file://``), with the bases, retries and cache of a remote file system
    and the ``gfal_transfer_*`` options::

        fs = GFALFileSystem("root://eos.example//store/user/me", retries=3)
        fs.target("/analysis/out.json").dump({"a": 1})
    """

    file_interface_cls = GFALFileInterface


class WLCGFileSystem(GFALFileSystem):
    """A WLCG storage element reached through several protocols.

    Give all its doors as ``base`` (``root://...``, ``davs://...``, ``gsiftp://...``);
    each kind of operation tries them in the order of :attr:`protocol_preference`
    (listings and stats through XRootD, which answers fastest; transfers through XRootD or
    WebDAV before GridFTP and SRM), keeping the configured order among bases of one
    protocol. Bases given for an operation (``base_filecopy = ...``) are used as given.
    In a config section: ``file_system = law_core_gfal:WLCGFileSystem``.
    """

    #: per operation, the schemes in the order they are tried; unknown schemes last
    protocol_preference: ClassVar[dict[str, tuple[str, ...]]] = {
        "metadata": ("root", "xroot", "davs", "https", "dav", "http", "gsiftp", "srm", "file"),
        "filecopy": ("root", "xroot", "davs", "https", "gsiftp", "dav", "http", "srm", "file"),
    }

    def __init__(self, base: str | list[str] | tuple[str, ...], name: str | None = None,
                 **options: Any):
        bases = parse_bases(base)
        for op in OPERATIONS:
            if f"base_{op}" in options:
                continue
            order = self.protocol_preference["filecopy" if op == "filecopy" else "metadata"]
            ordered = sorted(bases, key=lambda b: _rank(order, scheme_of(b)))
            if ordered != bases:
                options[f"base_{op}"] = ordered
        super().__init__(bases, name=name, **options)


def _rank(order: tuple[str, ...], scheme: str | None) -> int:
    return order.index(scheme) if scheme in order else len(order)
