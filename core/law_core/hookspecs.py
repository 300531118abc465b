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
        NotifierRecord,
        SandboxRecord,
    )

PROJECT_NAME = "law_core"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def law_core_file_systems() -> list[FileSystemRecord]:
    """Declare file systems, each serving one or more URI schemes.

    The class referenced by a record subclasses :class:`law_core.targets.FileSystem`;
    ``law.target("SCHEME://...")`` picks it by scheme and calls its classmethod
    ``target_from_uri(uri, type="f")``. Two plugins claiming one scheme is an error
    (``file`` belongs to the core's local file system).

    Storage reached over a network subclasses :class:`law_core.targets.RemoteFileSystem`
    and only implements a :class:`law_core.targets.FileInterface` (``file_interface_cls``):
    single requests on full URIs,

    - ``stat(uri) -> StatResult`` (size, mtime, is_dir); ``FileNotFoundError`` if missing;
    - ``listdir(uri) -> list[str]``: names, one request per directory however large;
    - ``mkdir(uri)``: with parents, no error when it exists;
    - ``remove(uri)``: a file; ``rmdir(uri)``: an empty directory;
    - ``rename(src_uri, dst_uri)``: on one storage, replacing ``dst_uri``;
    - ``copy(src_uri, dst_uri)``: one file, ``file://`` on either side (upload, download)
      or both on storage (third-party); ``OSError(ENOTSUP)`` when no direct copy exists.

    Errors decide failover: a definitive answer (``FileNotFoundError``,
    ``FileExistsError``, ``PermissionError``, ``OSError`` with ENOTEMPTY, ...) is raised to
    the caller; anything else means "could not ask" and makes the file system try the
    next base, then retry after a delay. The core adds bases (``base``, ``base_stat``,
    ``base_filecopy``, ...), failover that remembers bad bases, retries, the local cache,
    atomic uploads (temporary name, then rename), recursive removal and collections.
    The interface declares the backend's own options once, as a
    :class:`~law_core.settings.Settings` dataclass (``settings_cls``): ``[fs.NAME]``
    sections and the file system's arguments set them, the settings' own section
    (``FileSystemRecord.config_section``) holds process-wide ones.

    Checked against the real backend by subclassing
    :class:`law_core.testing.file_interface.FileInterfaceSuite` and
    :class:`law_core.testing.remote.RemoteFileSystemSuite` (remote storage), or
    :class:`law_core.testing.FileSystemSuite` (any file system).
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

    The class referenced subclasses :class:`law_core.workflow.remote.RemoteJobManager`
    (the primitives ``submit``, ``query``, ``cancel``; optionally ``cleanup``,
    ``recover``); ``JobManagerRecord.settings`` names the backend's options, declared once
    as a :class:`~law_core.settings.Settings` dataclass, from which every workflow gains
    its ``--NAME-OPTION`` parameters and the ``[NAME]`` config section its defaults.
    Checked by subclassing :class:`law_core.testing.JobManagerSuite`.
    """


@hookspec
def law_core_sandboxes() -> list[SandboxRecord]:
    """Declare software environments, each selected by the ``TYPE`` of ``TYPE::NAME``."""


@hookspec
def law_core_notifiers() -> list[NotifierRecord]:
    """Declare notifiers, switched on with ``law-core run TASK --notify NAME[,NAME]``.

    The core then sends one message when that task, or that whole workflow, succeeds or
    fails: title, task, status, host,
    duration, the last published message and, on failure, the last line of the
    traceback. Branches of a workflow send none; their workflow does.

    The class referenced subclasses :class:`law_core.notify.Notifier` and implements the
    primitive ``send(title, content, success=None)`` (``content``: an ordered mapping of
    field name to text); it raises when the message could not be delivered. The core
    catches that and logs a warning: a notification never fails a task.
    ``NotifierRecord.settings`` names the notifier's options, declared once as a
    :class:`~law_core.settings.Settings` dataclass (config only; tokens and webhook URLs
    marked ``secret``, so they appear in no log, message or job file). Checked by
    subclassing :class:`law_core.testing.NotifierSuite` against a stand-in of the service.
    """


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
