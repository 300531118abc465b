"""The hooks of law-core-dropbox: cheap to import (no dropbox SDK here), see
law_core.hookspecs."""

from __future__ import annotations

from law_core.hookspecs import hookimpl

#: the URI scheme: ``dropbox://dropbox.com/path/in/the/dropbox`` (or ``dropbox:///path``)
SCHEMES = ("dropbox",)

#: the section of process-wide defaults for every Dropbox file system (credentials for
#: ``law.target("dropbox://...")``, and the tuning below)
CONFIG_SECTION = "dropbox"

#: defaults of the tuning options (the credentials have none)
CONFIG_DEFAULTS = {
    "dropbox_timeout": "100",               # seconds the SDK waits for one answer
    "dropbox_chunk_size": "32MiB",          # upload session chunk, and largest single upload
    "dropbox_rate_limit_retries": "10",     # 429 answers retried, each after Retry-After
    "dropbox_server_error_retries": "4",    # 5xx answers retried, with backoff
}


@hookimpl
def law_core_file_systems() -> list:
    from law_core.records import FileSystemRecord

    return [
        FileSystemRecord(
            "dropbox", "law_core_dropbox.file_system:DropboxFileSystem",
            "Dropbox through the official dropbox SDK (API v2)",
            schemes=SCHEMES, config_section=CONFIG_SECTION,
        ),
    ]


@hookimpl
def law_core_config_defaults() -> dict[str, dict[str, str]]:
    return {CONFIG_SECTION: dict(CONFIG_DEFAULTS)}
