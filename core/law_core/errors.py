"""The one exception hierarchy of law-core.

Every error a user can meet is a :class:`LawCoreError`, so ``except law.LawCoreError``
catches all of them, and the CLI turns each into a message and a non-zero exit instead of
a traceback. Messages say what was wrong and what to do.
"""

from __future__ import annotations

from datetime import datetime


class LawCoreError(Exception):
    """Base class of every error raised by law-core and its plugins."""


class PluginError(LawCoreError):
    """A plugin could not be loaded or used."""


class BackendNotFoundError(PluginError):
    """No installed plugin provides the backend that was asked for."""

    def __init__(self, kind: str, name: str, distribution: str | None, installed: list[str]):
        self.kind = kind
        self.name = name
        self.distribution = distribution
        self.installed = installed
        msg = f"no installed plugin provides the {kind} '{name}'"
        if distribution:
            msg += f"; the distribution {distribution} provides it (pip install {distribution})"
        msg += "; installed: " + (", ".join(sorted(installed)) if installed else "none")
        super().__init__(msg)


class PluginConflictError(PluginError):
    """Two plugins claim the same backend name or scheme."""


class ConfigError(LawCoreError):
    """A config file or value is malformed."""


class ParameterError(LawCoreError, ValueError):
    """A task parameter got a value it cannot take (a ValueError too, as luigi expects)."""


class UnknownParameterError(ParameterError):
    """The command line names a parameter the task does not have."""


class TaskError(LawCoreError):
    """A task is defined or used wrongly (unknown family, bad branch, ...)."""


class CompletenessCheckError(TaskError):
    """A task's ``complete()`` raised, so nothing was run (its cause is the original
    exception)."""


class TargetError(LawCoreError):
    """A target operation failed (missing file, unwritable directory, ...)."""


class StorageUnreachableError(TargetError):
    """The storage could not be asked: no base answered, or the credential its requests
    present is missing or expired. What it holds is unknown, so an output there is never
    taken for absent (law-core would run again, or submit again, work that exists): the
    run stops with this error, and ``--print-status`` shows "unreachable: REASON".

    ``reason`` is that one line (the message may add what to do)."""

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message


class CredentialError(StorageUnreachableError):
    """The credential a storage's requests present (an X.509 proxy, a token) is missing,
    unreadable or expired; ``valid_until`` is when it ended (None when there is none)."""

    def __init__(self, message: str, *, reason: str | None = None,
                 valid_until: datetime | None = None) -> None:
        super().__init__(message, reason=reason)
        self.valid_until = valid_until


class FormatterError(LawCoreError):
    """No formatter fits, or a formatter failed to read or write."""


class WorkflowError(LawCoreError):
    """A workflow's branch map or run went wrong."""


class JobSubmissionError(WorkflowError):
    """The batch system refused a submission; the message carries its reason.

    ``at_limit=True`` says the refusal is a limit on the jobs one may have queued (Slurm's
    MaxSubmitJobs, ...): while jobs of the workflow are active, the core submits the
    rest as they end instead of failing."""

    def __init__(self, message: str, *, at_limit: bool = False) -> None:
        super().__init__(message)
        self.at_limit = at_limit


class BatchToolTimeout(WorkflowError):
    """A batch system's tool did not answer in time: what it was asked may or may not have
    happened. A status query that times out counts against ``--poll-fails``; jobs whose
    submission timed out are looked for (``recover``) before they are submitted again."""
