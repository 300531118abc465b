"""The hooks of law-core-dropbox: cheap to import (no dropbox SDK here), see
law_core.hookspecs."""

from __future__ import annotations

from law_core.hookspecs import hookimpl

#: the URI scheme: ``dropbox://dropbox.com/path/in/the/dropbox`` (or ``dropbox:///path``)
SCHEMES = ("dropbox",)


@hookimpl
def law_core_file_systems() -> list:
    from law_core.records import FileSystemRecord
    from law_core_dropbox.settings import DropboxSettings

    return [
        FileSystemRecord(
            "dropbox", "law_core_dropbox.file_system:DropboxFileSystem",
            "Dropbox through the official dropbox SDK (API v2)",
            schemes=SCHEMES, config_section=DropboxSettings.section,
        ),
    ]


@hookimpl
def law_core_config_defaults() -> dict[str, dict[str, str]]:
    # the [dropbox] section: process-wide defaults of every Dropbox file system
    from law_core_dropbox.settings import DropboxSettings

    return {DropboxSettings.section: DropboxSettings.config_defaults()}
