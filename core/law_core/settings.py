"""A backend's options, declared once.

A plugin declares the options of its backend as a dataclass of :class:`Settings`, one
field per option made with :func:`option`::

    @dataclass(frozen=True)
    class SlurmSettings(Settings):
        section: ClassVar[str] = "slurm"

        partition: str = option("", "Slurm partition (sbatch --partition)")
        memory: float = option(0.0, "memory per job", kind="bytes", unit="MB")
        extra_lines: str = option("", "more #SBATCH lines", parameter=False)

From that declaration the core derives everything else: the config defaults of the
section (``[slurm] partition =``), the luigi parameters every workflow gains for a job
manager (``--slurm-partition``), and the resolution of a value: the value given (a
parameter the user set, an option of a file system), else the config's, else the
declared default. Every value is parsed by its kind, so a bad one is an error naming the
option and where it was set, whichever of the three it came from.

An option marked ``secret`` is never a parameter (parameters travel into job files) and
never written into the resolved config that jobs read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from law_core.errors import ConfigError, ParameterError

#: the kinds of option values; "duration" and "bytes" are numbers counted in a ``unit``
KINDS = ("str", "int", "float", "bool", "duration", "bytes")

_META_KEY = "law_core_option"

S = TypeVar("S", bound="Settings")


@dataclass(frozen=True)
class OptionSpec:
    """How one option is declared: what :func:`option` records on the field."""

    name: str
    kind: str
    default: Any
    help: str
    unit: str | None = None
    parameter: bool = True
    secret: bool = False

    def parse(self, value: Any) -> Any:
        """``value`` (a string from a config file or the command line, or a Python value)
        as this option's kind; ValueError when it is not one."""
        if self.kind == "duration" or self.kind == "bytes":
            from law_core.parameters import BytesParameter, DurationParameter

            cls = DurationParameter if self.kind == "duration" else BytesParameter
            try:
                return cls(unit=self.unit or ("s" if self.kind == "duration" else "MB")).parse(
                    value)
            except ParameterError as err:
                raise ValueError(str(err)) from None
        if not isinstance(value, str):
            return _check_type(self, value)
        text = value.strip()
        if self.kind == "str":
            return value
        if self.kind == "int":
            return int(text)
        if self.kind == "float":
            return float(text)
        lowered = text.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{value!r} is not a boolean (true/false)")

    def text(self, value: Any) -> str:
        """``value`` as a config file holds it (parses back with :meth:`parse`)."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value)) if self.kind in ("duration", "bytes") else str(value)
        return "" if value is None else str(value)

    def describe(self) -> str:
        """The kind in words, for error messages."""
        words = {"str": "text", "int": "an integer", "float": "a number",
                 "bool": "a boolean (true/false)",
                 "duration": f"a duration (a number in {self.unit or 's'}, or e.g. '2h')",
                 "bytes": f"a size (a number in {self.unit or 'MB'}, or e.g. '2GB')"}
        return words[self.kind]


def option(default: Any, help: str, *, kind: str | None = None, unit: str | None = None,
           parameter: bool = True, secret: bool = False) -> Any:
    """A field of a :class:`Settings` dataclass: one option of the backend.

    ``kind`` defaults to the type of ``default`` (str, int, float or bool); give
    ``"duration"`` or ``"bytes"`` with a ``unit`` for times and sizes. ``parameter=False``
    keeps the option out of the command line (config only); ``secret=True`` implies it.
    """
    if kind is None:
        kind = {bool: "bool", int: "int", float: "float", str: "str"}.get(type(default), "")
    if kind not in KINDS:
        raise TypeError(f"option kind must be one of {KINDS}, not {kind!r}: pass kind=")
    meta = {"kind": kind, "help": help, "unit": unit, "parameter": parameter and not secret,
            "secret": secret}
    # a secret stays out of the settings' repr (they end up in logs and tracebacks)
    return dataclasses.field(default=default, repr=not secret, metadata={_META_KEY: meta})


@dataclass(frozen=True)
class Settings:
    """Base of a backend's settings dataclass (see the module docstring)."""

    #: the config section of the options, also the prefix of their parameters
    section: ClassVar[str] = ""

    @classmethod
    def specs(cls) -> dict[str, OptionSpec]:
        """The declared options by name."""
        cached = cls.__dict__.get("_specs")
        if cached is None:
            cached = {}
            for f in dataclasses.fields(cls):
                meta = f.metadata.get(_META_KEY)
                if meta is None:
                    raise TypeError(f"{cls.__name__}.{f.name} is not declared with option()")
                cached[f.name] = OptionSpec(f.name, default=f.default, **meta)
            cls._specs = cached
        return cached

    @classmethod
    def config_defaults(cls) -> dict[str, str]:
        """The ``[section]`` defaults: every option with its declared default."""
        return {name: spec.text(spec.default) for name, spec in cls.specs().items()}

    @classmethod
    def secret_options(cls) -> set[str]:
        return {name for name, spec in cls.specs().items() if spec.secret}

    @classmethod
    def parameter_name(cls, name: str) -> str:
        """``partition`` -> ``slurm_partition`` (the flag ``--slurm-partition``)."""
        return f"{cls.section}_{name}"

    @classmethod
    def parameters(cls) -> dict[str, Any]:
        """A luigi parameter per option that may be given on the command line, unset by
        default (then the config or the declared default decides)."""
        from law_core.parameters import SettingParameter

        return {cls.parameter_name(name): SettingParameter(spec, cls.section)
                for name, spec in cls.specs().items() if spec.parameter}

    @classmethod
    def resolve(cls: type[S], given: Mapping[str, Any] | None = None, *,
                given_where: str = "arguments", section: str | None = None,
                fallback: str | None = None) -> S:
        """The settings in effect: ``given`` values (None or "" meaning not given), else
        the config's ``[section]`` (default: :attr:`section`), else its ``[fallback]``
        section when one is named (``[apptainer]``, then ``[singularity]``), else the
        declared default. A value that is not of its option's kind is a ConfigError
        saying where it came from (``given_where`` for given ones)."""
        from law_core.config import get_config

        sections = (section or cls.section, *((fallback,) if fallback else ()))
        config = get_config()
        values: dict[str, Any] = {}
        for name, spec in cls.specs().items():
            value = (given or {}).get(name)
            label, origin = name, f"in {given_where}"
            for where in sections:
                if _unset(value) and config.has(where, name):
                    value = config.get(where, name)
                    label, origin = f"config option {where}.{name}", \
                        f"({config.origin(where, name)})"
            if _unset(value):
                values[name] = spec.default
                continue
            try:
                values[name] = spec.parse(value)
            except ValueError:
                shown = "***" if spec.secret else repr(value)
                raise ConfigError(f"{label} = {shown} {origin} is not {spec.describe()}"
                                  ) from None
        return cls(**values)

    @classmethod
    def of_task(cls: type[S], task: Any) -> S:
        """The settings for ``task``: its parameters (those the user set, ``NO_STR`` being
        unset), else config."""
        from law_core.parameters import NO_STR

        given = {name: getattr(task, cls.parameter_name(name), None)
                 for name, spec in cls.specs().items() if spec.parameter}
        given = {name: None if value == NO_STR else value for name, value in given.items()}
        return cls.resolve(given, given_where=f"the parameters of {type(task).__name__}")


def _unset(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _check_type(spec: OptionSpec, value: Any) -> Any:
    wanted = {"str": str, "int": int, "float": (int, float), "bool": bool}[spec.kind]
    if isinstance(value, bool) and spec.kind != "bool":
        raise ValueError(f"{value!r}")
    if not isinstance(value, wanted):
        raise ValueError(f"{value!r}")
    return float(value) if spec.kind == "float" else value
