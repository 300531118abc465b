"""Declarative records that plugins return from their hooks.

A record says what a backend is called and where its class lives, as a ``"module:attr"``
reference, so that discovering a plugin imports no backend library: the class is only
imported by :meth:`Record.load` when the backend is first used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def load_reference(reference: str) -> Any:
    """Import ``"package.module:attr"`` (``attr`` may be dotted) and return the object."""
    module_name, _, attr = reference.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in filter(None, attr.split(".")):
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class Record:
    """Common part of all backend records: a name and a lazy class reference."""

    name: str
    cls: str
    description: str = ""

    def load(self) -> Any:
        """Import and return the backend class (once per record: a formatter is asked for
        at every load and dump of a large workflow's outputs)."""
        loaded = self.__dict__.get("_loaded")
        if loaded is None:
            loaded = load_reference(self.cls)
            object.__setattr__(self, "_loaded", loaded)  # a cache, not a field
        return loaded


@dataclass(frozen=True)
class FileSystemRecord(Record):
    """A file system, selected by the URI schemes it serves (``root``, ``davs``, ...)."""

    schemes: tuple[str, ...] = ()
    #: name of the config section holding the backend's own options (``[gfal]``)
    config_section: str | None = None


@dataclass(frozen=True)
class FormatterRecord(Record):
    """A file format, selected by name or by file extension.

    ``extensions`` are given without the leading dot and may have several parts
    (``"tar.gz"``). When formatters of several plugins claim one extension, the
    highest ``priority`` wins, then the lexically first name.
    """

    extensions: tuple[str, ...] = ()
    priority: int = 0


@dataclass(frozen=True)
class JobManagerRecord(Record):
    """A run location, selected by ``--workflow NAME``.

    ``settings`` references the backend's :class:`~law_core.settings.Settings`
    dataclass: its options become parameters of every workflow (``--slurm-partition``)
    and defaults of the config section of the same name. (``parameters``, a mapping of
    parameter name to luigi Parameter, and ``config_defaults`` are the older spelling of
    the same, for plugins not yet on settings.)
    """

    settings: str | None = None
    parameters: str | None = None
    config_defaults: dict[str, str] = field(default_factory=dict)

    def load_settings(self) -> Any:
        """The settings class, or None when the record names none."""
        return load_reference(self.settings) if self.settings else None

    def load_parameters(self) -> dict[str, Any]:
        settings = self.load_settings()
        parameters = dict(settings.parameters()) if settings is not None else {}
        if self.parameters:
            parameters.update(load_reference(self.parameters))
        return parameters

    def load_config_defaults(self) -> dict[str, str]:
        settings = self.load_settings()
        defaults = dict(settings.config_defaults()) if settings is not None else {}
        defaults.update(self.config_defaults)
        return defaults


@dataclass(frozen=True)
class SandboxRecord(Record):
    """A software environment, selected by the type before ``::`` in ``sandbox``."""


@dataclass(frozen=True)
class NotifierRecord(Record):
    """A way to tell people that a task finished, selected by name (``slack``, ``mail``).

    ``law-core run TASK --notify NAME`` switches it on. ``settings`` references the notifier's
    :class:`~law_core.settings.Settings` dataclass (where to send, credentials marked
    secret); its options are config-only, never parameters.
    """

    settings: str | None = None

    def load_settings(self) -> Any:
        """The settings class, or None when the record names none."""
        return load_reference(self.settings) if self.settings else None


@dataclass(frozen=True)
class CliCommandRecord(Record):
    """An extra ``law-core`` subcommand.

    ``cls`` references a callable ``run(args) -> int | None``; ``configure`` (optional,
    a plain function in the light plugin module) adds its arguments to the parser.
    """

    configure: Callable[[Any], None] | None = None
