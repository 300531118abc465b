"""The hooks of law-core-fsspec: cheap to import (no fsspec here), see law_core.hookspecs.

The fsspec protocols below are served by scheme (``law.target("s3://bucket/x")``): object
stores and remote file systems that no other law-core plugin serves. Any other protocol
fsspec knows is reached through a config section with ``file_system = fsspec``; ``http``,
``https`` and ``root`` stay with law-core-gfal, ``file`` with the core.
"""

from __future__ import annotations

from law_core.plugin import FileSystemRecord, hookimpl

SCHEMES = ("memory", "s3", "s3a", "gs", "gcs", "az", "abfs", "adl", "oci", "oss", "sftp",
           "ssh", "smb", "hdfs", "webhdfs")


@hookimpl
def law_core_file_systems() -> list:
    from law_core_fsspec.settings import FsspecSettings

    return [
        FileSystemRecord(
            "fsspec", "law_core_fsspec.file_system:FsspecFileSystem",
            "any fsspec file system (memory, S3, GCS, Azure, SFTP, HDFS, ...)",
            schemes=SCHEMES, config_section=FsspecSettings.section,
        ),
    ]


@hookimpl
def law_core_config_defaults() -> dict[str, dict[str, str]]:
    # the [fsspec] section: process-wide defaults of every fsspec file system
    from law_core_fsspec.settings import FsspecSettings

    return {FsspecSettings.section: FsspecSettings.config_defaults()}
