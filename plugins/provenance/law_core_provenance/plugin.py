"""The hook implementations of law-core-provenance: cheap at discovery (the recorder, the
database and the command are imported when first used)."""

from __future__ import annotations

import os
from typing import Any

from law_core.plugin import CliCommandRecord, hookimpl


def _before_fork() -> None:
    """Forks of this process (luigi's task processes, a workflow's branch processes)
    inherit the software facts, read once here; each would otherwise read the metadata
    of every installed distribution again (about 50 ms)."""
    try:
        from law_core_provenance import facts
        from law_core_provenance.recorder import get_recorder

        if get_recorder() is not None:
            facts.environment()
    except Exception:  # noqa: BLE001, S110 - a fork must happen; the fork reads them itself
        pass


os.register_at_fork(before=_before_fork)


@hookimpl
def law_core_task_event(event: Any) -> None:
    if event.kind == "start" or event.kind == "success" or event.kind == "failure":
        from law_core_provenance.recorder import handle

        handle(event)


@hookimpl
def law_core_config_defaults() -> dict[str, dict[str, str]]:
    from law_core_provenance.settings import ProvenanceSettings, default_database_path

    # the database as a path, not empty: jobs read the config as resolved here
    defaults = {**ProvenanceSettings.config_defaults(), "database": default_database_path()}
    return {ProvenanceSettings.section: defaults}


@hookimpl
def law_core_cli_commands() -> list[CliCommandRecord]:
    return [CliCommandRecord(
        "provenance", "law_core_provenance.cli:run",
        "what made this file? the task, parameters, code, software, sandbox, host/job and "
        "inputs of an output, down to the raw inputs, and the command that re-creates it; "
        "--check: outputs whose inputs or code changed since", configure=configure)]


def configure(parser: Any) -> None:
    parser.add_argument("outputs", nargs="*", metavar="OUTPUT",
                        help="a path or URI of an output (--check: any number; none: every "
                             "recorded output)")
    parser.add_argument("--check", action="store_true",
                        help="report outputs whose recorded inputs (size, mtime, checksum) "
                             "or code changed since they were made; exit code 1 when any")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--depth", type=int, default=-1,
                        help="levels of inputs to follow (default: down to the raw inputs)")
    parser.add_argument("--database", metavar="PATH",
                        help="the database to read (default: [provenance] database)")
