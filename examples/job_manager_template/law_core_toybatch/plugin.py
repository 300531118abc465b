"""Hook implementations of law-core-toybatch.

law-core imports this module for every command (``law-core --help`` included), so it
stays cheap: no subprocess, no luigi; the manager and the settings are named as
``"module:Class"`` strings and imported when a workflow runs with ``--workflow toybatch``.
"""

from __future__ import annotations

from law_core.plugin import JobManagerRecord, hookimpl


@hookimpl
def law_core_job_managers() -> list:
    return [JobManagerRecord(
        "toybatch", "law_core_toybatch.manager:ToyBatchJobManager",
        "toybatch (the template's example batch system) through toybatch-submit/-status/"
        "-cancel",
        settings="law_core_toybatch.settings:ToyBatchSettings",
    )]
