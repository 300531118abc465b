"""The plugin API: everything a law-core plugin imports from the core, in one module.

A plugin imports from ``law_core.plugin`` (and, in its tests, from ``law_core.testing``)
and from nowhere else in the core: what is here is kept stable for plugin authors; every
other module of the core is internal and may change. ``import law_core.plugin`` is cheap
(hookimpl, the records and the errors are loaded at once; everything else, luigi
included, on first use), so that the entry-point module of a plugin can use it too.

Every plugin
    :data:`hookimpl` marks the hook implementations of the entry-point module (the hooks
    and their contracts: :mod:`law_core.hookspecs`). The records a hook returns name a
    backend and point lazily (``"module:Class"``) at its class: :class:`FileSystemRecord`,
    :class:`FormatterRecord`, :class:`JobManagerRecord`, :class:`SandboxRecord`,
    :class:`NotifierRecord`, :class:`CliCommandRecord` (all :class:`Record`).
    :func:`get_config` reads the ``law.cfg`` in effect (a plugin's defaults come from
    ``law_core_config_defaults`` or ``JobManagerRecord.config_defaults``);
    :class:`BytesParameter`,
    :class:`DurationParameter` and :class:`OptionalBoolParameter` serve the parameters a
    job manager adds to workflows. A backend declares its options once, as a
    :class:`Settings` dataclass of :func:`option` fields: the core derives its config
    defaults, its ``--<name>-<option>`` parameters and the order in which a value is found.

Errors (raise them with a message that says what was wrong and what to do)
    :class:`LawCoreError` is the base of all; :class:`PluginError` (a backend library is
    missing or unusable), :class:`ConfigError`, :class:`ParameterError`,
    :class:`TaskError`, :class:`TargetError` and its :class:`StorageUnreachableError` (the
    storage could not be asked) and :class:`CredentialError` (its credential is missing or
    expired), :class:`FormatterError`, :class:`WorkflowError` and its
    :class:`JobSubmissionError` (the batch system refused a submission) and
    :class:`BatchToolTimeout` (a batch tool did not answer in time, raised by
    ``RemoteJobManager.run_tool``).

File formats
    subclass :class:`Formatter` (classmethods ``load(path)`` and ``dump(path, obj)`` on
    local paths).

Storage
    remote storage subclasses :class:`RemoteFileSystem` and implements a
    :class:`FileInterface` (single requests on full URIs, answering with
    :class:`StatResult`; :data:`DEFINITIVE_ERRNOS` and :func:`is_definitive` say which
    errors are the storage's answer and which mean "could not ask", the basis of
    failover; ``credential(uri)`` names the :class:`Credential` its requests present, which
    the core checks before each of them). Any other file system subclasses
    :class:`FileSystem`. Its targets are :class:`FileSystemTarget`, :class:`FileTarget`,
    :class:`DirectoryTarget` and, on remote storage, :class:`RemoteFileTarget` and
    :class:`RemoteDirectoryTarget`. URI helpers:
    :func:`scheme_of`, :func:`split_uri`, :func:`join_uri`, :func:`normalize_path`,
    :func:`redact` (secrets out of messages); bases: :func:`parse_bases`,
    :data:`OPERATIONS`; :func:`file_system` is the file system of a ``[fs.NAME]`` section.

Batch systems
    subclass :class:`RemoteJobManager` and implement ``submit(jobs)`` (a list of
    :class:`JobSubmission`, raising :class:`JobSubmissionError` when refused),
    ``query(ids)`` (a :class:`JobState` per job, whose status is :data:`PENDING`,
    :data:`RUNNING`, :data:`FINISHED` or :data:`FAILED`) and ``cancel(ids)``; set
    ``settings_cls`` (read ``self.settings``) and ``tools``, and call the batch system's
    tools with ``self.run_tool(args)`` (a clear "not a submit host" error). Without a
    shared file system, ``self.transfer_spec(job)`` gives a :class:`JobTransfer`: the
    command to run in the worker's scratch directory, the files to copy in (the job
    wrapper and :data:`JOB_FILES`) and the exit status (:func:`status_file_name`, in
    :data:`STATUS_DIR`) and logs to bring back. :func:`forwarded_variables` selects the
    variables declared by ``forward_env``, and nothing else, for a job's environment.

Notifications
    subclass :class:`Notifier` (``send(title, content, success=None)``, raising when the
    message was not delivered; ``secret(name)`` reads a credential of its settings and
    keeps it out of every warning) and declare it with a :class:`NotifierRecord`;
    ``law-core run TASK --notify NAME`` switches it on. :func:`send_notification` sends one
    message through a notifier by name (a warning, never an error, when it cannot);
    :func:`last_traceback_line` shortens an error to what a traceback ends with.

Software environments
    subclass :class:`Sandbox` (``run(command, env, mounts, cwd)``), with :class:`Mount` and
    :func:`parse_mounts`. Containers reuse the host's law-core code through
    :func:`wrap_command`, :func:`config_file_mount` and :func:`merge_mounts`, and clean up
    on SIGINT/SIGTERM with :func:`interruptible` (raising :class:`Interrupted`).
    :func:`forwarded_variables` as above.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from law_core.errors import (
    BatchToolTimeout,
    ConfigError,
    CredentialError,
    FormatterError,
    JobSubmissionError,
    LawCoreError,
    ParameterError,
    PluginError,
    StorageUnreachableError,
    TargetError,
    TaskError,
    WorkflowError,
)
from law_core.hookspecs import hookimpl
from law_core.lazy_exports import lazy_exports
from law_core.records import (
    CliCommandRecord,
    FileSystemRecord,
    FormatterRecord,
    JobManagerRecord,
    NotifierRecord,
    Record,
    SandboxRecord,
)

if TYPE_CHECKING:  # for type checkers; at run time these are imported on first use
    # tasks and their targets, for plugins that look at them (law-core-provenance)
    from law_core.arguments import BOOL_WORDS, apply_task_sections, build_task, task_arguments
    from law_core.config import get_config
    from law_core.environment import forwarded_variables
    from law_core.events import JobEvent, TaskEvent
    from law_core.formatter import Formatter
    from law_core.index import find_task_class
    from law_core.notify import (
        Notifier,
        last_traceback_line,
        send_notification,
    )
    from law_core.parameters import (
        BytesParameter,
        DurationParameter,
        OptionalBoolParameter,
        compress_ranges,
    )
    from law_core.sandbox.base import Mount, Sandbox, parse_mounts
    from law_core.sandbox.container import config_file_mount, merge_mounts, wrap_command
    from law_core.sandbox.interrupt import Interrupted, interruptible
    from law_core.settings import Settings, option
    from law_core.targets.collection import TargetCollection, leaf_targets
    from law_core.targets.factory import target
    from law_core.targets.failover import OPERATIONS, parse_bases
    from law_core.targets.file import DirectoryTarget, FileSystemTarget, FileTarget
    from law_core.targets.file_interface import (
        DEFINITIVE_ERRNOS,
        Credential,
        FileInterface,
        is_definitive,
    )
    from law_core.targets.file_system import FileSystem, StatResult
    from law_core.targets.named import file_system
    from law_core.targets.remote import RemoteDirectoryTarget, RemoteFileSystem, RemoteFileTarget
    from law_core.targets.uri import join_uri, normalize_path, redact, scheme_of, split_uri
    from law_core.task import Task, fixed_parameter_defaults, output_targets
    from law_core.workflow.base import Workflow
    from law_core.workflow.remote import (
        JOB_FILES,
        STATUS_DIR,
        JobState,
        JobSubmission,
        JobTransfer,
        RemoteJobManager,
        status_file_name,
    )
    from law_core.workflow.submission import FAILED, FINISHED, PENDING, RUNNING

#: name -> module of what is imported on first use (these modules import luigi or more)
_LAZY = {
    # every plugin
    "get_config": "law_core.config",
    "BytesParameter": "law_core.parameters", "DurationParameter": "law_core.parameters",
    "OptionalBoolParameter": "law_core.parameters",
    "forwarded_variables": "law_core.environment",
    "Settings": "law_core.settings", "option": "law_core.settings",
    # file formats
    "Formatter": "law_core.formatter",
    # storage
    "FileInterface": "law_core.targets.file_interface",
    "DEFINITIVE_ERRNOS": "law_core.targets.file_interface",
    "is_definitive": "law_core.targets.file_interface",
    "Credential": "law_core.targets.file_interface",
    "FileSystem": "law_core.targets.file_system", "StatResult": "law_core.targets.file_system",
    "RemoteFileSystem": "law_core.targets.remote",
    "RemoteFileTarget": "law_core.targets.remote",
    "RemoteDirectoryTarget": "law_core.targets.remote",
    "FileSystemTarget": "law_core.targets.file", "FileTarget": "law_core.targets.file",
    "DirectoryTarget": "law_core.targets.file",
    "scheme_of": "law_core.targets.uri", "split_uri": "law_core.targets.uri",
    "join_uri": "law_core.targets.uri", "normalize_path": "law_core.targets.uri",
    "redact": "law_core.targets.uri",
    "OPERATIONS": "law_core.targets.failover", "parse_bases": "law_core.targets.failover",
    # the file system of a [fs.NAME] section, for bridges to other libraries (law-core-fsspec)
    "file_system": "law_core.targets.named",
    # batch systems
    "RemoteJobManager": "law_core.workflow.remote", "JobSubmission": "law_core.workflow.remote",
    "JobState": "law_core.workflow.remote", "JOB_FILES": "law_core.workflow.remote",
    "STATUS_DIR": "law_core.workflow.remote", "JobTransfer": "law_core.workflow.remote",
    "status_file_name": "law_core.workflow.remote",
    "PENDING": "law_core.workflow.submission", "RUNNING": "law_core.workflow.submission",
    "FINISHED": "law_core.workflow.submission", "FAILED": "law_core.workflow.submission",
    # software environments
    "Sandbox": "law_core.sandbox.base", "Mount": "law_core.sandbox.base",
    "parse_mounts": "law_core.sandbox.base",
    "wrap_command": "law_core.sandbox.container",
    "config_file_mount": "law_core.sandbox.container",
    "merge_mounts": "law_core.sandbox.container",
    "interruptible": "law_core.sandbox.interrupt", "Interrupted": "law_core.sandbox.interrupt",
    # tasks and their targets, for plugins that look at them (law-core-provenance): a target
    # for a path or URI, the leaf targets of a structure of targets, and the arguments that
    # rebuild a task in another process
    "target": "law_core.targets.factory", "leaf_targets": "law_core.targets.collection",
    "task_arguments": "law_core.arguments",
    # reports and dashboards (law-core-report): build a task as law-core run does, walk it
    "find_task_class": "law_core.index", "compress_ranges": "law_core.parameters",
    "build_task": "law_core.arguments",
    "apply_task_sections": "law_core.arguments", "Task": "law_core.task",
    # what a boolean flag takes as its value on a command line (law-core-compat's law run)
    "BOOL_WORDS": "law_core.arguments",
    "output_targets": "law_core.task", "fixed_parameter_defaults": "law_core.task",
    "Workflow": "law_core.workflow.base", "TargetCollection": "law_core.targets.collection",
    "TaskEvent": "law_core.events", "JobEvent": "law_core.events",
    # notifications (law-core-notifiers)
    "Notifier": "law_core.notify", "last_traceback_line": "law_core.notify",
    "send_notification": "law_core.notify",
}

__all__ = [
    # every plugin
    "hookimpl", "Record", "CliCommandRecord", "get_config", "BytesParameter", "DurationParameter",
    "OptionalBoolParameter", "forwarded_variables", "Settings", "option",
    # errors
    "LawCoreError", "PluginError", "ConfigError", "ParameterError", "TaskError", "TargetError",
    "FormatterError", "WorkflowError", "JobSubmissionError", "BatchToolTimeout",
    "StorageUnreachableError", "CredentialError",
    # file formats
    "FormatterRecord", "Formatter",
    # storage
    "FileSystemRecord", "FileInterface", "DEFINITIVE_ERRNOS", "is_definitive", "Credential",
    "StatResult",
    "FileSystem", "RemoteFileSystem", "FileSystemTarget", "FileTarget", "DirectoryTarget",
    "RemoteFileTarget", "RemoteDirectoryTarget", "scheme_of", "split_uri", "join_uri",
    "normalize_path", "redact", "OPERATIONS", "parse_bases", "file_system",
    # batch systems
    "JobManagerRecord", "RemoteJobManager", "JobSubmission", "JobState", "PENDING", "RUNNING",
    "FINISHED", "FAILED", "JOB_FILES", "STATUS_DIR", "JobTransfer", "status_file_name",
    # software environments
    "SandboxRecord", "Sandbox", "Mount", "parse_mounts", "wrap_command", "config_file_mount",
    "merge_mounts", "interruptible", "Interrupted",
    # tasks and their targets (law-core-provenance)
    "target", "leaf_targets", "task_arguments",
    # reports and dashboards (law-core-report)
    "find_task_class", "compress_ranges", "build_task", "apply_task_sections", "Task",
    "output_targets",
    "fixed_parameter_defaults", "Workflow", "TargetCollection", "TaskEvent", "JobEvent",
    "BOOL_WORDS",
    # notifications (law-core-notifiers)
    "NotifierRecord", "Notifier", "last_traceback_line", "send_notification",
]


__getattr__, __dir__ = lazy_exports('law_core.plugin', _LAZY, globals())
