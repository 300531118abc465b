"""The ``[provenance]`` options, declared once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import ClassVar

from law_core.plugin import ConfigError, Settings, option

SIDECAR_MODES = ("remote", "all", "none")


@dataclass(frozen=True)
class ProvenanceSettings(Settings):
    section: ClassVar[str] = "provenance"

    enabled: bool = option(True, "record how each successful task made its outputs",
                           parameter=False)
    database: str = option(
        "", "the SQLite database of the records; default: "
        "$XDG_DATA_HOME/law-core/provenance.sqlite (~/.local/share/...) of the process that "
        "reads the config, so jobs and sandboxes write where the submitting side reads. Keep "
        "it on a local disk: SQLite's WAL mode needs all writers on one machine",
        parameter=False)
    sidecars: str = option(
        "none", "where a copy of the record is written beside each output as "
        "NAME.provenance.json, so that other machines can answer: remote (outputs on "
        "remote storage), all, none (the default: a sidecar per output doubles the files "
        "and uploads on the storage)", parameter=False)
    checksum_max_size: float = option(
        1.0, "local files up to this size get a SHA-256 checksum recorded (larger ones: "
        "size and mtime only); 0: never", kind="bytes", unit="MB", parameter=False)
    flush_records: int = option(
        500, "records kept in memory before they are written in one transaction",
        parameter=False)
    flush_seconds: float = option(
        2.0, "the longest a record waits in memory before it is written",
        kind="duration", unit="s", parameter=False)

    def database_path(self) -> str:
        """The database file, ``~`` and ``$VARS`` expanded."""
        if self.database.strip():
            return os.path.abspath(os.path.expanduser(os.path.expandvars(self.database)))
        return default_database_path()

    def checked(self) -> ProvenanceSettings:
        """Self, after the checks the option kinds cannot express."""
        if self.sidecars not in SIDECAR_MODES:
            raise ConfigError(f"[provenance] sidecars = {self.sidecars!r} is not one of "
                              f"{', '.join(SIDECAR_MODES)}")
        if self.flush_records < 1:
            raise ConfigError(f"[provenance] flush_records = {self.flush_records} must be at "
                              "least 1")
        return self


def default_database_path() -> str:
    """The user's database on this machine: ``$XDG_DATA_HOME/law-core/provenance.sqlite``.
    It is the config default of ``[provenance] database`` (filled in when the config is
    read), so that a job, which reads the config as the submitting side resolved it,
    records into the submitting side's database even though its own environment differs
    (Slurm's ``--export=NONE`` gives a job the user's login ``HOME`` and no
    ``XDG_DATA_HOME``)."""
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return os.path.abspath(os.path.join(data_home, "law-core", "provenance.sqlite"))
