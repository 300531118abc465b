"""The law-core configuration: an INI file, environment overrides and plugin defaults.

Precedence, highest first: ``LAW_CORE__SECTION__OPTION`` environment variables, the first
config file found (``$LAW_CORE_CONFIG``, ``./law.cfg``, ``~/.config/law-core/law.cfg``),
defaults that plugins declare through the ``law_core_config_defaults`` hook. Values may
refer to environment variables (``$HOME/data``), expanded when read.
"""

from __future__ import annotations

import configparser
import os
import re
from collections.abc import Mapping
from pathlib import Path

from law_core.errors import ConfigError

CONFIG_ENV = "LAW_CORE_CONFIG"
OVERRIDE_PREFIX = "LAW_CORE__"

_MISSING = object()
_TRUE = {"1", "yes", "true", "on"}
_FALSE = {"0", "no", "false", "off"}
_SECTION_LINE = re.compile(r"^\s*\[([^\]]+)\]")
_OPTION_LINE = re.compile(r"^([^\s=:#;][^=:]*?)\s*[=:]")


def config_file_candidates() -> list[Path]:
    """Where a config file is looked for, in order; the first that exists is used."""
    candidates = []
    if os.environ.get(CONFIG_ENV):
        candidates.append(Path(os.environ[CONFIG_ENV]).expanduser())
    candidates.append(Path.cwd() / "law.cfg")
    candidates.append(Path.home() / ".config" / "law-core" / "law.cfg")
    return candidates


def find_config_file() -> Path | None:
    return next((p for p in config_file_candidates() if p.is_file()), None)


def _env_key(name: str) -> str:
    return re.sub(r"[.\-]", "_", name).lower()


class Config:
    """Read access to the merged configuration, and writing of single options."""

    def __init__(
        self,
        path: Path | None = None,
        defaults: Mapping[str, Mapping[str, str]] | None = None,
        environ: Mapping[str, str] | None = None,
    ):
        self.path = path
        self.defaults = {s: dict(o) for s, o in (defaults or {}).items()}
        self._parser = _new_parser()
        self._lines: dict[tuple[str, str], int] = {}
        if path is not None:
            self._read(path)
        self._overrides: dict[tuple[str, str], tuple[str, str]] = {}
        for key, value in (os.environ if environ is None else environ).items():
            if not key.startswith(OVERRIDE_PREFIX):
                continue
            section, sep, option = key[len(OVERRIDE_PREFIX):].partition("__")
            if sep and section and option:
                self._overrides[(_env_key(section), option.lower())] = (value, key)

    @classmethod
    def load(cls, path: Path | str | None = None) -> Config:
        """Load the config file (found as documented when ``path`` is None) with the
        defaults of all installed plugins."""
        from law_core.registry import get_registry

        found = Path(path) if path is not None else find_config_file()
        if found is not None and not found.is_file():
            raise ConfigError(f"config file {found} does not exist")
        return cls(found, get_registry().config_defaults())

    def _read(self, path: Path) -> None:
        try:
            text = path.read_text()
        except OSError as err:
            raise ConfigError(f"cannot read config file {path}: {err.strerror}") from err
        try:
            self._parser.read_string(text, source=str(path))
        except configparser.MissingSectionHeaderError as err:
            raise ConfigError(
                f"{path}, line {err.lineno}: option outside of a section: {err.line.strip()!r};"
                " put a [section] header above it"
            ) from err
        except configparser.ParsingError as err:
            lineno, line = err.errors[0]
            raise ConfigError(
                f"{path}, line {lineno}: cannot parse {line.strip()!r}; expected "
                "'option = value' below a [section] header"
            ) from err
        except (configparser.DuplicateOptionError, configparser.DuplicateSectionError) as err:
            raise ConfigError(f"{path}, line {err.lineno}: {err.message.split(': ', 1)[-1]}") \
                from err
        section = None
        for lineno, line in enumerate(text.splitlines(), 1):
            if m := _SECTION_LINE.match(line):
                section = m.group(1).strip()
            elif section and (m := _OPTION_LINE.match(line)):
                self._lines[(section, m.group(1).strip())] = lineno

    # reading

    def override(self, section: str, option: str, value: str, origin: str) -> None:
        """Set a value for this process only, above everything else (command-line
        options such as ``--workers`` use it); ``origin`` says where it came from."""
        self._overrides[(_env_key(section), option.lower())] = (str(value), origin)

    def overrides(self) -> dict[tuple[str, str], tuple[str, str]]:
        """The environment and in-process overrides, to hand to another process."""
        return dict(self._overrides)

    def _override(self, section: str, option: str) -> tuple[str, str] | None:
        return self._overrides.get((_env_key(section), option.lower()))

    def sections(self) -> list[str]:
        names = set(self.defaults) | set(self._parser.sections())
        known = {_env_key(n): n for n in names}
        names |= {known.get(s, s) for s, _ in self._overrides}
        return sorted(names)

    def options(self, section: str) -> list[str]:
        names = set(self.defaults.get(section, {}))
        if self._parser.has_section(section):
            names |= set(self._parser.options(section))
        names |= {o for s, o in self._overrides if s == _env_key(section)}
        return sorted(names)

    def has(self, section: str, option: str) -> bool:
        return self._raw(section, option) is not None

    def _raw(self, section: str, option: str) -> str | None:
        override = self._override(section, option)
        if override is not None:
            return override[0]
        if self._parser.has_option(section, option):
            return self._parser.get(section, option)
        return self.defaults.get(section, {}).get(option)

    def origin(self, section: str, option: str) -> str:
        """Where a value comes from: an environment variable, ``file:line``, or default."""
        override = self._override(section, option)
        if override is not None:
            origin = override[1]
            return f"environment variable {origin}" if origin.startswith(OVERRIDE_PREFIX) \
                else origin
        if self._parser.has_option(section, option):
            return f"{self.path}:{self._lines.get((section, option), '?')}"
        if option in self.defaults.get(section, {}):
            return "default"
        return "unset"

    def get(self, section: str, option: str, default: object = _MISSING) -> str:
        value = self._raw(section, option)
        if value is None:
            if default is _MISSING:
                raise ConfigError(
                    f"config option {section}.{option} is not set; set it in "
                    f"{self.path or 'law.cfg'} or with {OVERRIDE_PREFIX}"
                    f"{_env_key(section).upper()}__{option.upper()}"
                )
            return default  # type: ignore[return-value]
        return os.path.expandvars(os.path.expanduser(value)) if "$" in value or \
            value.startswith("~") else value

    def _typed(self, section: str, option: str, default: object, kind: str, convert):
        if default is not _MISSING and not self.has(section, option):
            return default
        value = self.get(section, option)
        try:
            return convert(value.strip())
        except ValueError:
            raise ConfigError(
                f"config option {section}.{option} = {value!r} ({self.origin(section, option)})"
                f" is not {kind}"
            ) from None

    def get_int(self, section: str, option: str, default: object = _MISSING) -> int:
        return self._typed(section, option, default, "an integer", int)

    def get_float(self, section: str, option: str, default: object = _MISSING) -> float:
        return self._typed(section, option, default, "a number", float)

    def get_bool(self, section: str, option: str, default: object = _MISSING) -> bool:
        def convert(value: str) -> bool:
            if value.lower() in _TRUE:
                return True
            if value.lower() in _FALSE:
                return False
            raise ValueError(value)

        return self._typed(section, option, default, "a boolean (true/false)", convert)

    def get_list(self, section: str, option: str, default: object = _MISSING) -> list[str]:
        """A comma- or newline-separated list."""
        if default is not _MISSING and not self.has(section, option):
            return default  # type: ignore[return-value]
        return [v.strip() for v in re.split(r"[,\n]", self.get(section, option)) if v.strip()]

    def items(self, section: str) -> dict[str, str]:
        return {option: self.get(section, option) for option in self.options(section)}

    # writing

    def set(self, section: str, option: str, value: str, path: Path | None = None) -> Path:
        """Write ``option = value`` into ``section`` of the config file, keeping every other
        line (comments included) as it is. Returns the file written."""
        path = path or self.path or Path(os.environ.get(CONFIG_ENV) or "law.cfg")
        lines = path.read_text().splitlines() if path.is_file() else []
        current, section_end, replaced = None, None, False
        for i, line in enumerate(lines):
            if m := _SECTION_LINE.match(line):
                current = m.group(1).strip()
                if current == section:
                    section_end = i + 1
            elif current == section:
                m = _OPTION_LINE.match(line)
                if m and m.group(1).strip() == option:
                    lines[i] = f"{option} = {value}"
                    replaced = True
                    break
                if line.strip():
                    section_end = i + 1
        if not replaced:
            if section_end is None:
                lines += ([""] if lines else []) + [f"[{section}]", f"{option} = {value}"]
            else:
                lines.insert(section_end, f"{option} = {value}")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        tmp.write_text("\n".join(lines) + "\n")
        os.replace(tmp, path)
        self._parser = _new_parser()
        self._lines = {}
        self.path = path
        self._read(path)
        return path


_CONFIG: Config | None = None


def get_config() -> Config:
    """The process-wide config, loaded on first use."""
    global _CONFIG
    if _CONFIG is None:
        _CONFIG = Config.load()
    return _CONFIG


def reset_config() -> None:
    global _CONFIG
    _CONFIG = None


def _new_parser() -> configparser.ConfigParser:
    # allow_no_value: law's [modules] section lists module names without values;
    # option names keep their case, since module names have one
    parser = configparser.ConfigParser(interpolation=None, strict=True, allow_no_value=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    return parser
