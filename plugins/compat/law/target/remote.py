"""``law.target.remote``: law's config sections of remote file systems, read for
law-core's remote file systems.

law configures a remote file system in a section of its own (``[wlcg_fs]``,
``[dropbox_fs]``, or any name passed as ``fs=``): ``base`` and ``base_<op>``, retries, the
cache and options of the backend. :func:`section_options` turns such a section into the
keyword arguments of a law-core file system class; options only law's gfal2 layer or its
permission handling knew are left out (logged at debug level).
"""

from __future__ import annotations

import logging
from typing import Any

import law_core
from law_core.errors import TargetError

__all__ = ["section_options", "remote_fs_arguments"]

logger = logging.getLogger(__name__)

#: law-core's options of every remote file system, with the kind of their values
REMOTE_OPTIONS = {"retries": "int", "retry_delay": "duration", "random_base": "bool",
                  "validate_copy": "bool", "bad_base_time": "duration",
                  "max_requests_per_second": "float", "use_cache": "bool",
                  "cache_root": "str", "cache_max_size": "bytes",
                  "cache_mtime_patience": "float"}

#: law's options that have no counterpart (law-core's targets keep no permissions, and
#: make parent directories as needed)
IGNORED = {"has_permissions", "default_file_perm", "default_dir_perm", "create_file_dir",
           "cache_cleanup", "cache_file_perm", "cache_dir_perm", "cache_wait_delay",
           "cache_max_waits", "cache_global_lock", "base_exists", "base_chmod"}


def _law_config() -> Any:
    from law.config import Config

    return Config.instance()


def convert(value: Any, kind: str, where: str) -> Any:
    """``value`` of law's config as law-core takes it: durations (``5s``) in seconds,
    sizes (``5GB``) in bytes, booleans from law's words."""
    from law.util import parse_bytes, parse_duration

    if not isinstance(value, str):
        return value
    try:
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "bool":
            return value.strip().lower() in ("1", "true", "yes", "on")
        if kind == "duration":
            return parse_duration(value, input_unit="s", unit="s")
        if kind == "bytes":
            return int(parse_bytes(value, input_unit="MB", unit="bytes"))
    except (TypeError, ValueError) as err:
        raise TargetError(f"{where} = {value!r} is not a valid {kind}: {err}") from None
    return value


def section_options(section: str, backend_options: dict[str, str],
                    aliases: dict[str, tuple[str, ...]] | None = None) -> dict[str, Any]:
    """The options of law's config section ``section`` for a law-core file system:
    ``base``/``base_<op>``, :data:`REMOTE_OPTIONS`, and ``backend_options`` (name ->
    kind) of the backend; ``aliases`` maps a backend option to the names law's config may
    use for it, the first found wins."""
    cfg = _law_config()
    if not cfg.has_section(section):
        raise TargetError(f"the law config has no section [{section}] to read the file "
                          "system's options from; add it (with base = ...) or pass fs=")
    given = {}
    for option in cfg.options(section):
        value = cfg.get_expanded(section, option, default=None)
        if value not in (None, "", "None"):
            given[option] = value
    options: dict[str, Any] = {}
    for option, names in (aliases or {}).items():
        for name in names:
            if name in given:
                options[option] = given.pop(name)
                for other in names:
                    given.pop(other, None)
                break
    for option, value in given.items():
        where = f"[{section}] {option}"
        if option in IGNORED:
            logger.debug("%s is an option of law's that law-core does without", where)
        elif option == "base" or option.startswith("base_"):
            options[option] = value
        elif option in REMOTE_OPTIONS:
            options[option] = convert(value, REMOTE_OPTIONS[option], where)
        elif option in backend_options:
            options[option] = convert(value, backend_options[option], where)
        else:
            logger.debug("%s is not an option of the law-core file system; not used", where)
    return options


def remote_fs_arguments(options: dict[str, Any], section: str) -> tuple[Any, dict[str, Any]]:
    """(base, keyword arguments) of a law-core remote file system from ``options``; a
    cache when ``cache_root`` is set (law's rule), unless ``use_cache`` is false."""
    options = dict(options)
    base = options.pop("base", None)
    if not base:
        raise TargetError(f"the file system of [{section}] has no base: set base = ... in "
                          f"[{section}] of the law config, or pass base=")
    use_cache = options.pop("use_cache", None)
    cache_root = options.pop("cache_root", None)
    size = options.pop("cache_max_size", None)
    patience = options.pop("cache_mtime_patience", None)
    if cache_root and use_cache is not False and "cache" not in options:
        options["cache"] = law_core.RemoteCache(cache_root, size or 0, patience or 0.0)
    options.setdefault("name", section)
    return base, options


def backend_kinds(fs_cls: type) -> dict[str, str]:
    """The options of ``fs_cls``'s file interface, each with the kind of its value."""
    interface = getattr(fs_cls, "file_interface_cls", None)
    if interface is None:
        return {}
    kinds = {}
    for name, spec in interface.option_kinds().items():
        if isinstance(spec, str):
            kinds[name] = {"size": "bytes"}.get(spec, spec)
        else:
            default = getattr(spec, "default", "")
            kinds[name] = ("bool" if isinstance(default, bool) else
                           "int" if isinstance(default, int) else
                           "float" if isinstance(default, float) else "str")
    return kinds
