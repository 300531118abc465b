"""Named file systems: ``[fs.NAME]`` config sections, and ``fs.NAME:/path`` locations.

A section names a storage once, with everything about reaching it::

    [fs.wlcg]
    base = root://door{1,2}.example.org//store/user/me
    base_filecopy = davs://webdav.example.org:2880/store/user/me
    retries = 3
    retry_delay = 5
    use_cache = true
    cache_max_size = 20GB

``file_system`` picks the plugin (a registered file system name like ``gfal``, a
``package.module:Class`` reference); by default the scheme of the first base decides.
The other options are those of :class:`~law_core.targets.remote.RemoteFileSystem` and those
the plugin's file interface declares (``gfal_transfer_timeout``, ...; see
:class:`~law_core.targets.file_interface.FileInterface`). ``law.target("fs.wlcg:/a/b.json")``
and ``[target] store = fs.wlcg:/analysis`` then refer to paths on it.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from law_core.errors import ConfigError, LawCoreError
from law_core.settings import OptionSpec
from law_core.targets.file_system import FileSystem

SECTION_PREFIX = "fs."

_NAMED = re.compile(r"^fs\.([A-Za-z0-9_.\-]+):(.*)$")

_instances: dict[str, tuple[Any, FileSystem]] = {}
_lock = threading.RLock()


def split_named(location: str) -> tuple[str, str] | None:
    """``("wlcg", "/a/b")`` for ``"fs.wlcg:/a/b"``; None for anything else."""
    match = _NAMED.match(location)
    if not match:
        return None
    return match.group(1), "/" + match.group(2).lstrip("/")


def file_system(name: str) -> FileSystem:
    """The file system configured in ``[fs.NAME]``, one instance per process.

    ``name`` may be given with or without the ``fs.`` prefix.
    """
    from law_core.config import get_config

    if name.startswith(SECTION_PREFIX):
        name = name[len(SECTION_PREFIX):]
    cfg = get_config()
    with _lock:
        cached = _instances.get(name)
        # a reloaded config (law_core.config.reset_config) means new file systems
        if cached is None or cached[0] is not cfg:
            cached = _instances[name] = (cfg, _create(name, cfg))
        return cached[1]


def reset_file_systems() -> None:
    """Forget the named file systems, so the next use reads the config again."""
    with _lock:
        _instances.clear()


def file_system_class(name: str, section: str, cfg: Any, first_base: str) -> type:
    """The class serving ``[fs.NAME]``: from its ``file_system`` option, else by scheme."""
    from law_core.records import load_reference
    from law_core.registry import get_registry
    from law_core.targets.uri import scheme_of

    choice = cfg.get(section, "file_system", default="").strip()
    registry = get_registry()
    if ":" in choice:
        try:
            return load_reference(choice)
        except (ImportError, AttributeError) as err:
            raise ConfigError(
                f"[{section}] file_system = {choice} ({cfg.origin(section, 'file_system')}) "
                f"cannot be imported: {err}"
            ) from err
    if choice:
        records = registry.file_systems()
        by_name = {r.name: r for r in records.values()}
        record = by_name.get(choice) or records.get(choice)
        if record is None:
            raise ConfigError(
                f"[{section}] file_system = {choice}: no installed plugin provides it; "
                f"installed file systems: {', '.join(sorted(by_name))} (schemes: "
                f"{', '.join(sorted(records))})"
            )
        return record.load()
    scheme = scheme_of(first_base)
    if scheme is None:
        raise ConfigError(f"[{section}] base = {first_base} is not a URI (scheme://host/path)")
    return registry.file_system(scheme).load()


def _create(name: str, cfg: Any) -> FileSystem:
    from law_core.targets.remote import RemoteFileSystem

    section = SECTION_PREFIX + name
    if section not in cfg.sections():
        configured = [s[len(SECTION_PREFIX):] for s in cfg.sections()
                      if s.startswith(SECTION_PREFIX)]
        raise ConfigError(
            f"no file system '{name}': the config has no section [{section}] "
            f"({cfg.path or 'no config file found'}); configured: "
            f"{', '.join(configured) or 'none'}"
        )
    if not cfg.has(section, "base"):
        raise ConfigError(f"[{section}] has no base; set base = SCHEME://HOST/PATH")
    first_base = cfg.get(section, "base").split(",")[0].strip()
    cls = file_system_class(name, section, cfg, first_base)
    if not (isinstance(cls, type) and issubclass(cls, RemoteFileSystem)):
        raise ConfigError(
            f"[{section}]: {getattr(cls, '__name__', cls)} is not a remote file system and "
            "cannot be configured by bases; for a local directory set [target] store to "
            "its path, or use file_system = gfal for file:// bases"
        )
    options = read_options(cfg, section, cls.option_kinds())
    try:
        return cls.from_options(name, options)
    except ConfigError:
        raise
    except LawCoreError as err:
        raise ConfigError(f"[{section}] ({cfg.path}): {err}") from err


def read_options(cfg: Any, section: str, kinds: dict[str, str | OptionSpec]
                 ) -> dict[str, Any]:
    """The options of ``section`` typed by ``kinds`` (a kind, or a declared option that
    parses its values); unknown ones are an error."""
    from law_core.parameters import BytesParameter

    options: dict[str, Any] = {}
    for option in cfg.options(section):
        if option == "file_system":
            continue
        kind = kinds.get(option)
        if kind is None:
            raise ConfigError(
                f"[{section}] {option} ({cfg.origin(section, option)}) is not an option of "
                f"this file system; known: {', '.join(sorted(kinds))}"
            )
        if isinstance(kind, OptionSpec):
            value = cfg.get(section, option)
            if not value.strip():
                continue  # not set here: the settings' own section or default decides
            try:
                options[option] = kind.parse(value)
            except ValueError:
                shown = "***" if kind.secret else repr(value)
                raise ConfigError(
                    f"[{section}] {option} = {shown} ({cfg.origin(section, option)}) is not "
                    f"{kind.describe()}"
                ) from None
        elif kind == "int":
            options[option] = cfg.get_int(section, option)
        elif kind == "float":
            options[option] = cfg.get_float(section, option)
        elif kind == "bool":
            options[option] = cfg.get_bool(section, option)
        elif kind == "size":
            value = cfg.get(section, option)
            try:
                options[option] = int(BytesParameter(unit="MB").parse(value) * 1000**2)
            except LawCoreError:
                raise ConfigError(
                    f"[{section}] {option} = {value!r} ({cfg.origin(section, option)}) is not "
                    "a size: a number of MB, or with a unit like 500MB, 20GB, 1.5GiB"
                ) from None
        elif kind == "bases":
            value = cfg.get(section, option)
            from law_core.targets.failover import parse_bases

            try:
                options[option] = parse_bases(value)
            except LawCoreError as err:
                raise ConfigError(
                    f"[{section}] {option} ({cfg.origin(section, option)}): {err}"
                ) from None
        else:
            options[option] = cfg.get(section, option)
    return options


def resolve(location: str) -> tuple[FileSystem, str] | None:
    """``(file system, path)`` for an ``fs.NAME:/path`` location, None otherwise."""
    named = split_named(location)
    if named is None:
        return None
    name, path = named
    return file_system(name), path
