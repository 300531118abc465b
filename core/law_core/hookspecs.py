"""The hook specifications: the contract a law-core plugin codes against.

A plugin is a module named by an entry point in the group ``law_core.plugins``
(``slurm = "law_core_slurm.plugin"``). The core imports it at discovery, so it must be
cheap: no backend library (gfal2, docker, numpy, ...) at module level. It implements any
of the hooks below with :data:`hookimpl`::

    from law_core.hookspecs import hookimpl
    from law_core.records import FormatterRecord

    @hookimpl
    def law_core_formatters():
        return [FormatterRecord("yaml", "law_core_yaml.formatter:YAMLFormatter",
                                extensions=("yaml", "yml"))]

Backend hooks *declare*, they do not act: each returns records naming the backend and
pointing lazily at its class. The core combines the records of all plugins; two plugins
declaring the same name (or scheme) is an error naming both distributions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:  # only for annotations: discovery stays cheap
    from law_core.events import JobEvent, TaskEvent
    from law_core.records import (
        CliCommandRecord,
        FileSystemRecord,
        FormatterRecord,
        JobManagerRecord,
        SandboxRecord,
    )

PROJECT_NAME = "law_core"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def law_core_file_systems() -> list[FileSystemRecord]:
    """Declare file systems, each serving one or more URI schemes.

    The class referenced by a record subclasses :class:`law_core.target.FileSystem` and
    implements its primitives; ``law.target("SCHEME://...")`` picks it by scheme. Its
    correctness is checked by subclassing :class:`law_core.testing.FileSystemSuite`.
    """


@hookspec
def law_core_formatters() -> list[FormatterRecord]:
    """Declare file formats, each with a unique name and the extensions it reads.

    The class referenced subclasses :class:`law_core.formatter.Formatter`; it imports
    its library inside ``load``/``dump``, not at module level. Checked by subclassing
    :class:`law_core.testing.FormatterSuite`.
    """


@hookspec
def law_core_job_managers() -> list[JobManagerRecord]:
    """Declare run locations, each selected by ``--workflow NAME``.

    The class referenced implements the job-manager contract of the core's workflow
    machinery; the record also names the parameters the backend adds to every workflow.
    """


@hookspec
def law_core_sandboxes() -> list[SandboxRecord]:
    """Declare software environments, each selected by the ``TYPE`` of ``TYPE::NAME``."""


@hookspec
def law_core_config_defaults() -> dict[str, dict[str, str]]:
    """Return config defaults as ``{section: {option: value}}``.

    They sit below every config file and environment override. Two plugins setting the
    same option is an error naming both.
    """


@hookspec
def law_core_cli_commands() -> list[CliCommandRecord]:
    """Declare extra ``law-core`` subcommands (``law-core NAME ...``)."""


@hookspec
def law_core_task_event(event: TaskEvent) -> None:
    """Called when a task starts, succeeds or fails. Must return quickly and not raise."""


@hookspec
def law_core_job_event(event: JobEvent) -> None:
    """Called when a job of a remote workflow is submitted, changes status, finishes or
    fails. Must return quickly and not raise."""
