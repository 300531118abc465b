"""The law-core configuration: an INI file, environment overrides and plugin defaults.

Precedence, highest first: ``LAW_CORE__SECTION__OPTION`` environment variables, the first
config file found (``$LAW_CORE_CONFIG``, which must then exist, ``./law.cfg``,
``~/.config/law-core/law.cfg``), defaults that plugins declare through the
``law_core_config_defaults`` hook. Values may refer to environment variables
(``$HOME/data``), expanded when read. :meth:`Config.check` refuses unknown options of the
sections law-core owns.
"""

from __future__ import annotations

import configparser
import difflib
import functools
import logging
import os
import re
import secrets
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path

from law_core.errors import ConfigError

CONFIG_ENV = "LAW_CORE_CONFIG"
#: options whose values are credentials: listed masked, so a pasted listing leaks nothing,
#: and not copied from the environment into job files
SECRET_WORDS = ("token", "secret", "password", "passwd", "credential", "key")
#: a config file of values resolved on the submitting side (no credentials), which jobs and
#: sandboxes read on top of ``LAW_CORE_CONFIG``: see :meth:`Config.write_resolved`
RESOLVED_ENV = "LAW_CORE_RESOLVED_CONFIG"
OVERRIDE_PREFIX = "LAW_CORE__"

#: the options the core reads from the sections it owns, and what each must hold:
#: "path" (not empty), "int" (an integer) or "text" (anything, empty included)
CORE_OPTIONS: dict[str, dict[str, str]] = {
    "target": {"store": "path", "local_store": "path"},
    "local_workflow": {"workers": "int"},
    "core": {"index_file": "path"},
    "job": {"bootstrap_file": "text", "bootstrap_command": "text", "forward_env": "text",
            "python": "text", "submit_rate": "text", "walltime": "text",
            # jobs without a shared file system (law_core.workflow.bundle)
            "shared_fs": "text", "bundle_include": "text", "bundle_exclude": "text",
            "bundle_cache": "path", "bundle_store": "text"},
}
#: sections the core reads whose option names are the user's (modules, task families,
#: sandbox settings per family, logger names): their options are not checked
FREE_SECTIONS = ("modules", "workflow", "sandbox", "logging")
#: options the core reads from the section of every remote job manager (``[slurm]``), on top
#: of those the manager's plugin declares defaults for
REMOTE_MANAGER_OPTIONS = ("python", "submit_rate")
#: named file systems (``[fs.NAME]``) take options of their file system's choosing
FS_SECTION_PREFIX = "fs."

logger = logging.getLogger("law_core.config")

_MISSING = object()
#: $NAME, ${NAME} or $$ in config values
_VARIABLE = re.compile(r"\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\}|\$)")
_TRUE = {"1", "yes", "true", "on"}
_FALSE = {"0", "no", "false", "off"}
_SECTION_LINE = re.compile(r"^\s*\[([^\]]+)\]")
_OPTION_LINE = re.compile(r"^([^\s=:#;][^=:]*?)\s*(?:[=:]|$)")
#: how configparser recognises a section header (on the stripped line)
_SECTION_HEADER = configparser.ConfigParser.SECTCRE


def config_file_candidates() -> list[Path]:
    """Where a config file is looked for, in order; the first that exists is used."""
    candidates = []
    if os.environ.get(CONFIG_ENV):
        candidates.append(Path(os.environ[CONFIG_ENV]).expanduser())
    candidates.append(Path.cwd() / "law.cfg")
    candidates.append(Path.home() / ".config" / "law-core" / "law.cfg")
    return candidates


def find_config_file(*, for_writing: bool = False) -> Path | None:
    """The config file to read, or None. ``$LAW_CORE_CONFIG`` must name an existing file:
    falling back to another config would silently run with settings the user did not
    choose. ``for_writing`` (``law-core config SECTION.OPTION VALUE``) accepts a file that
    does not exist yet, which :meth:`Config.set` then creates."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        path = Path(explicit).expanduser()
        if path.is_file():
            return path
        if path.is_dir():
            raise ConfigError(f"{CONFIG_ENV}={explicit}: is a directory; unset it or point "
                              "it at a config file")
        if for_writing:
            return None
        raise ConfigError(f"{CONFIG_ENV}={explicit}: no such file; unset it or point it at "
                          "a config file")
    return next((p for p in config_file_candidates() if p.is_file()), None)


def _write_path() -> Path:
    """Where :meth:`Config.set` writes when no config file was found."""
    return Path(os.environ.get(CONFIG_ENV) or "law.cfg").expanduser()


@functools.lru_cache(maxsize=1024)
def _env_key(name: str) -> str:
    # cached: every config read asks it (100k outputs, 100k reads of [target] store)
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
        self._section_lines: dict[str, int] = {}
        if path is not None:
            self._read(path)
        self._overrides: dict[tuple[str, str], tuple[str, str]] = {}
        environ = os.environ if environ is None else environ
        if environ.get(RESOLVED_ENV):
            self._read_resolved(Path(environ[RESOLVED_ENV]))
        for key, value in environ.items():
            if not key.startswith(OVERRIDE_PREFIX):
                continue
            section, sep, option = key[len(OVERRIDE_PREFIX):].partition("__")
            if sep and section and option:
                self._overrides[(_env_key(section), option.lower())] = (value, key)

    @classmethod
    def load(cls, path: Path | str | None = None, *, for_writing: bool = False) -> Config:
        """Load the config file (found as documented when ``path`` is None) with the
        defaults of all installed plugins; ``for_writing``: see :func:`find_config_file`."""
        from law_core.registry import get_registry

        found = Path(path) if path is not None else find_config_file(for_writing=for_writing)
        if found is not None and not found.is_file():
            what = "is a directory" if found.is_dir() else "does not exist"
            raise ConfigError(f"config file {found} {what}")
        return cls(found, get_registry().config_defaults())

    def _read(self, path: Path) -> None:
        self._parser, self._lines, self._section_lines = _parse(_read_text(path), path)

    def _read_resolved(self, path: Path) -> None:
        """The submitting side's resolved values, above the config file (and below this
        process's own ``LAW_CORE__`` variables)."""
        parser = _parse(_read_text(path), path)[0]
        origin = f"{path} (as resolved where the run started)"
        for section in parser.sections():
            for option in parser.options(section):
                value = parser.get(section, option)
                self._overrides[(_env_key(section), option.lower())] = (value or "", origin)

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
        value = self._values.get((section, option), _MISSING)
        if value is not _MISSING:
            return value  # type: ignore[return-value]
        return self.defaults.get(section, {}).get(option)

    @property
    def _parser(self) -> configparser.ConfigParser:
        return self._parsed

    @_parser.setter
    def _parser(self, parser: configparser.ConfigParser) -> None:
        # reads go to a flat copy: configparser's own lookup is slow, and a large workflow
        # reads [target] store once per branch output
        self._parsed = parser
        self._values: dict[tuple[str, str], str | None] = {
            (section, option): parser.get(section, option)
            for section in parser.sections() for option in parser.options(section)}

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
        if "$" not in value and not value.startswith("~"):
            return value
        return self._expand(value, section, option)

    def _expand(self, value: str, section: str, option: str) -> str:
        """``~`` at the start and ``$VAR`` / ``${VAR}`` anywhere, resolved here and now;
        ``$PWD`` is this process's working directory (the variable may be stale or unset)
        and ``$$`` a literal ``$``. An undefined variable is an error naming where."""
        def replace(match: re.Match) -> str:
            name = match.group(1) or match.group(2)
            if name is None:
                return "$"
            if name == "PWD":
                return os.getcwd()
            if name not in os.environ:
                raise ConfigError(
                    f"config option {section}.{option} = {self._raw(section, option)!r} "
                    f"({self.origin(section, option)}) refers to the variable ${name}, which "
                    f"is not set; set it, or write $$ for a literal $")
            return os.environ[name]

        return _VARIABLE.sub(replace, os.path.expanduser(value))

    def resolved(self) -> dict[str, dict[str, str | None]]:
        """Every option with its value as this process resolves it (variables, ``$PWD``
        and ``~`` expanded), for jobs and sandboxes, which must see the values of the
        submitting side. A value naming an undefined variable stays as written (it is an
        error where it is used). Credentials are left out: the other side reads them from
        the config file itself, or from variables named in ``forward_env``."""
        from law_core.registry import get_registry

        declared_secret = get_registry().secret_options()
        values: dict[str, dict[str, str | None]] = {}
        for section in self.sections():
            for option in self.options(section):
                raw = self._raw(section, option)
                if any(word in option.lower() for word in SECRET_WORDS) or \
                        (section, option) in declared_secret:
                    continue
                if raw is not None:
                    try:
                        raw = self.get(section, option).replace("$", "$$")
                    except ConfigError:
                        pass
                values.setdefault(section, {})[option] = raw
        return values

    def write_resolved(self, path: Path) -> Path:
        """Write :meth:`resolved` as a config file (mode 0600) that another process reads
        through ``LAW_CORE_RESOLVED_CONFIG`` on top of its config file: the same values,
        wherever and in whichever directory it runs."""
        parser = _new_parser()
        for section, options in self.resolved().items():
            parser.add_section(section)
            for option, value in options.items():
                parser.set(section, option, value)
        import io

        text = io.StringIO()
        text.write("# law-core configuration as resolved on the submitting side\n")
        parser.write(text)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text.getvalue())
        os.replace(tmp, path)
        return path

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

    # checking

    def check(self) -> None:
        """Refuse options that the sections law-core owns do not have, and empty or
        malformed values of the core's options: a typo such as ``wokers`` would otherwise
        be ignored silently. Warn about an unknown section whose name is close to a known
        one; other unknown sections are the user's own. ``law-core run`` calls this at
        start; reading the config does not, so ``law-core config`` still lists and fixes
        a file with such a mistake."""
        from law_core.registry import get_registry

        registry = get_registry()
        owned = {section: set(options) for section, options in CORE_OPTIONS.items()}
        for name, record in registry.job_managers().items():
            try:
                defaults = record.load_config_defaults()
            except Exception:  # a broken plugin: its section is not checked
                continue
            if defaults:
                owned.setdefault(name, set()).update(defaults, REMOTE_MANAGER_OPTIONS)
        known = sorted(set(owned) | set(FREE_SECTIONS) | set(self.defaults)
                       | set(registry.job_managers()) | set(registry.sandboxes()))
        warned = set()
        for section, option, where in self._given():
            if section in owned:
                if option is not None and option not in owned[section]:
                    choices = sorted(owned[section])
                    close = difflib.get_close_matches(option, choices, n=1)
                    hint = f"; did you mean {close[0]}?" if close else ""
                    raise ConfigError(
                        f"{where}: unknown option {option!r} in [{section}]{hint} "
                        f"known options: {', '.join(choices)}")
            elif section not in known and section not in warned and \
                    not section.startswith((FS_SECTION_PREFIX, _env_key(FS_SECTION_PREFIX))):
                warned.add(section)
                if close := difflib.get_close_matches(section, known, n=1, cutoff=0.8):
                    logger.warning("%s: unknown section [%s]; did you mean [%s]? (law-core "
                                   "ignores it)", where, section, close[0])
        for section, options in CORE_OPTIONS.items():
            for option, kind in options.items():
                if kind == "int":
                    self.get_int(section, option, default=None)
                elif kind == "path" and self.has(section, option) and \
                        not self.get(section, option).strip():
                    default = self.defaults.get(section, {}).get(option)
                    fix = f"remove it to use the default ({default})" if default else \
                        "remove it"
                    raise ConfigError(
                        f"config option {section}.{option} ({self.origin(section, option)}) "
                        f"is empty; give it a path or {fix}")

    def _given(self) -> Iterator[tuple[str, str | None, str]]:
        """Every section and option the file and the environment set, with where:
        ``FILE, line N`` or the variable; a section comes with option None."""
        for section in self._parser.sections():
            yield section, None, f"{self.path}, line {self._section_lines.get(section, '?')}"
            for option in self._parser.options(section):
                line = self._lines.get((section, option), "?")
                yield section, option, f"{self.path}, line {line}"
        for (section, option), (_, origin) in self._overrides.items():
            if origin.startswith(OVERRIDE_PREFIX):
                yield section, option, f"environment variable {origin}"

    # writing

    def set(self, section: str, option: str, value: str, path: Path | None = None) -> Path:
        """Write ``option = value`` into ``section`` of the config file, keeping every other
        line (comments included) as it is, and the file's mode and owner; a symlinked
        config stays a symlink. Returns the file written."""
        _check_assignment(section, option, value)
        path = path or self.path or _write_path()
        if path.is_dir():
            raise ConfigError(f"cannot write config file {path}: it is a directory")
        text = _read_text(path) if path.exists() else ""
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()
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
                    # the old value's continuation lines would extend the new one
                    while i + 1 < len(lines) and lines[i + 1][:1].isspace() and \
                            lines[i + 1].strip():
                        del lines[i + 1]
                    replaced = True
                    break
                if line.strip():
                    section_end = i + 1
        if not replaced:
            if section_end is None:
                lines += ([""] if lines else []) + [f"[{section}]", f"{option} = {value}"]
            else:
                lines.insert(section_end, f"{option} = {value}")
        text = "\n".join(lines) + "\n"
        # never write a file that could not be read back
        parsed = _parse(text, path)
        _write_atomic(path, text)
        self._parser, self._lines, self._section_lines = parsed
        self.path = path
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


def _read_text(path: Path) -> str:
    """The text of a config file; a file that is not UTF-8 text is an error naming it."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"cannot read config file {path}: {err.strerror}") from err
    try:
        text = data.decode("utf-8-sig")  # an editor's byte order mark is fine
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"{path} is not a text config file (byte 0x{data[err.start]:02x} at offset "
            f"{err.start} is not UTF-8); save it as UTF-8 text") from None
    if "\0" in text:
        raise ConfigError(f"{path} is not a text config file (it contains NUL bytes, as a "
                          "binary or UTF-16 file does); save it as UTF-8 text")
    return text


def _parse(text: str, path: Path) -> tuple[configparser.ConfigParser, dict[tuple[str, str], int],
                                           dict[str, int]]:
    """Parse ``text`` and map options and sections to their line numbers; a malformed
    file is a :class:`ConfigError` naming file, line and the fix."""
    parser = _new_parser()
    lines: dict[tuple[str, str], int] = {}
    section_lines: dict[str, int] = {}
    # mistakes configparser misreports (or fails on): the first, with its line
    bad_header: ConfigError | None = None
    bad_header_line = 0
    section, indent, option, has_value = None, None, "", True
    for lineno, raw in enumerate(text.split("\n"), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        level = len(raw) - len(raw.lstrip())
        if section is not None and indent is not None and level > indent:
            # a continuation line of a multi-line value
            if not has_value and bad_header is None:
                bad_header_line = lineno
                bad_header = ConfigError(
                    f"{path}, line {lineno}: the indented line {line!r} continues {option!r}, "
                    "which has no '='; remove the indentation to make it an entry of its own")
            continue
        indent = None
        if m := _SECTION_HEADER.match(line):
            section = m.group("header")
            section_lines.setdefault(section, lineno)
        elif line.startswith("["):
            # configparser would take it for an option without a value, or complain
            # about a missing section header: both hide the real mistake
            if bad_header is None:
                bad_header_line = lineno
                bad_header = ConfigError(
                    f"{path}, line {lineno}: the section header {line!r} has no name; "
                    "write [SECTION]") if line.startswith("[]") else ConfigError(
                    f"{path}, line {lineno}: the section header {line!r} is missing its "
                    f"closing ']'; write [{line[1:].strip() or 'SECTION'}]")
        elif section is not None:
            # split as configparser does: at the first delimiter, if there is one
            cut = min((i for i in (line.find("="), line.find(":")) if i >= 0), default=-1)
            option, has_value = (line[:cut] if cut >= 0 else line).strip(), cut >= 0
            lines[(section, option)] = lineno
            indent = level
    try:
        parser.read_string(text, source=str(path))
    except configparser.MissingSectionHeaderError as err:
        if bad_header is not None and bad_header_line <= err.lineno:
            raise bad_header from None
        raise ConfigError(
            f"{path}, line {err.lineno}: option outside of a section: {err.line.strip()!r};"
            " put a [section] header above it"
        ) from err
    except configparser.ParsingError as err:
        lineno, line = err.errors[0]
        if bad_header is not None and bad_header_line <= lineno:
            raise bad_header from None
        raise ConfigError(
            f"{path}, line {lineno}: cannot parse {line.strip()!r}; expected "
            "'option = value' below a [section] header"
        ) from err
    except (configparser.DuplicateOptionError, configparser.DuplicateSectionError) as err:
        if bad_header is not None and bad_header_line <= (err.lineno or 0):
            raise bad_header from None
        raise ConfigError(f"{path}, line {err.lineno}: {err.message.split(': ', 1)[-1]}") \
            from err
    except AttributeError:  # continuing an option without a value, in Python < 3.13
        raise bad_header or ConfigError(f"{path}: cannot parse it") from None
    if bad_header is not None:
        raise bad_header
    return parser, lines, section_lines


def _check_assignment(section: str, option: str, value: str) -> None:
    """Refuse what would not come back as written: a line break in a value would start
    new lines, even new sections, in the file."""
    for what, text in (("section", section), ("option", option), ("value", value)):
        if "\n" in text or "\r" in text:
            raise ConfigError(f"the {what} {text!r} contains a line break, which would start "
                              "a new line of the config file; separate list items with commas")
        if any(ord(c) < 32 and c != "\t" or ord(c) == 127 for c in text):
            raise ConfigError(f"the {what} {text!r} contains a control character")
    if not section.strip() or "]" in section or section.strip() != section:
        raise ConfigError(f"{section!r} is not a section name; it must not be empty, hold "
                          "']' or start or end with spaces")
    if not option.strip() or option.strip() != option or option[0] in "#;[" or \
            any(c in option for c in "=:"):
        raise ConfigError(f"{option!r} is not an option name; it must not be empty, hold '=' "
                          "or ':', start with '#', ';' or '[', or start or end with spaces")


def _write_atomic(path: Path, text: str) -> None:
    """Replace the file behind ``path`` (through symlinks) with ``text``, so that readers
    see the old or the new file, keeping its mode and owner (a private config stays
    private); a new file gets the mode the umask allows."""
    real = Path(os.path.realpath(path))
    data = text.encode()
    try:
        st: os.stat_result | None = os.stat(real)
    except FileNotFoundError:
        st = None
    tmp = real.with_name(f".{real.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        real.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if st else 0o666)
    except OSError as err:
        if st is None:
            raise ConfigError(f"cannot write config file {real}: {err.strerror}") from err
        _write_in_place(real, data)  # the file is writable, its directory is not
        return
    try:
        with os.fdopen(fd, "wb") as f:
            if st is not None:
                if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
                    os.fchown(f.fileno(), st.st_uid, st.st_gid)
                os.fchmod(f.fileno(), stat.S_IMODE(st.st_mode))
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, real)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        if isinstance(err, PermissionError) and st is not None:
            # another user's file, writable to us: only writing in place keeps its owner
            _write_in_place(real, data)
            return
        raise ConfigError(f"cannot write config file {real}: {err.strerror}") from err


def _write_in_place(path: Path, data: bytes) -> None:
    try:
        with open(path, "r+b") as f:
            f.write(data)
            f.truncate()
            f.flush()
            os.fsync(f.fileno())
    except OSError as err:
        raise ConfigError(f"cannot write config file {path}: {err.strerror}") from err
