"""``law.config``: law's configuration file, its lookup and its API, mapped onto law-core.

law finds its file at ``$LAW_CONFIG_FILE``, else ``./law.cfg``, else ``$LAW_HOME/config``
(``LAW_HOME`` defaults to ``~/.law``). Its ``[luigi_core]``, ``[luigi_worker]``, ...
sections are luigi's ``[core]``, ``[worker]``, ...; ``[logging]`` names logger levels;
``[modules]`` the task modules of ``law index``. law-core reads a config of its own
(``LAW_CORE_CONFIG``), whose core sections refuse unknown options: :func:`law_core_config`
writes the part of law's file that law-core understands into ``$LAW_HOME/law-core.cfg``
and points ``LAW_CORE_CONFIG`` at it, so law's own options never reach law-core's check.
"""

from __future__ import annotations

import configparser
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "Config", "law_home_path", "law_core_config", "apply_logging",
    "sections", "options", "keys", "items", "update", "include", "get", "getint", "getfloat",
    "getboolean", "get_default", "get_expanded", "get_expanded_int", "get_expanded_float",
    "get_expanded_bool", "get_expanded_boolean", "is_missing_or_none", "find_option",
    "add_section", "has_section", "remove_section", "set", "has_option", "remove_option",
]

from law.util import law_home_path, no_value

logger = logging.getLogger("law.config")

_builtin_set = set


#: law 0.1.21's batch contrib packages: their [job] tools (option suffix -> command) and
#: chunk sizes; law adds their options to its defaults whether loaded or not
_BATCH_TOOLS: dict[str, dict[str, str]] = {
    "htcondor": {"q": "condor_q", "history": "condor_history", "submit": "condor_submit",
                 "rm": "condor_rm"},
    "slurm": {"sbatch": "sbatch", "scancel": "scancel", "squeue": "squeue", "sacct": "sacct"},
    "lsf": {"bsub": "bsub", "bkill": "bkill", "bjobs": "bjobs"},
    "arc": {"arcsub": "arcsub", "arckill": "arckill", "arcclean": "arcclean",
            "arcstat": "arcstat"},
    "glite": {"submit": "glite-ce-job-submit", "cancel": "glite-ce-job-cancel",
              "purge": "glite-ce-job-purge", "status": "glite-ce-job-status"},
}
_BATCH_CHUNKS: dict[str, dict[str, int]] = {
    "htcondor": {"submit": 25, "cancel": 25, "query": 25},
    "slurm": {"cancel": 25, "query": 25},
    "lsf": {"cancel": 25, "query": 25},
    "arc": {"submit": 25, "cancel": 25, "cleanup": 25, "query": 20},
    "glite": {"cancel": 25, "cleanup": 25, "query": 25},
}


def _contrib_job_defaults() -> dict[str, Any]:
    """The ``[job]`` options law's contrib packages add (``htcondor_job_file_dir``,
    ``crab_sandbox_name``, ...): law's, so they stay out of law-core's config."""
    out: dict[str, Any] = {}
    for name, tools in _BATCH_TOOLS.items():
        out.update({f"{name}_job_file_dir": None, f"{name}_job_file_dir_mkdtemp": None,
                    f"{name}_job_file_dir_cleanup": None if name in ("arc", "glite") else False,
                    f"{name}_job_query_timeout": None})
        out.update({f"{name}_chunk_size_{op}": n for op, n in _BATCH_CHUNKS[name].items()})
        out.update({f"{name}_cmd_{op}": cmd for op, cmd in tools.items()})
    out.update({"htcondor_job_grouping_submit": True, "htcondor_merge_job_files": True})
    out.update({"crab_job_file_dir": None, "crab_job_file_dir_cleanup": False,
                "crab_job_file_dir_mkdtemp": None, "crab_job_query_timeout": None,
                "crab_sandbox_name": "CMSSW_14_2_1::arch=el9_amd64_gcc12",
                "crab_password_file": None, "crab_cmd_crab": "crab"})
    return out


def _defaults() -> dict[str, dict[str, Any]]:
    """law 0.1.21's built-in defaults (those of its core; contrib packages add their own
    sections, which law-core's plugins replace)."""
    tmp = tempfile.gettempdir()
    return {
        "core": {
            "law_home": law_home_path(),
            "index_file": os.getenv("LAW_INDEX_FILE") or law_home_path("index"),
            "software_dir": os.getenv("LAW_SOFTWARE_DIR") or law_home_path("software"),
            "inherit": None, "extend": None, "sync_env": True, "sync_luigi_config": True,
        },
        "logging": {"law": os.getenv("LAW_LOG_LEVEL") or "WARNING"},
        "modules": {},
        "task": {
            "colored_repr": False, "colored_str": True, "interactive_format": "fancy",
            "interactive_line_breaks": True, "interactive_line_width": 0,
            "interactive_status_skip_seen": False,
        },
        "target": {
            "colored_repr": False, "colored_str": True, "expand_path_repr": False,
            "filesize_repr": False, "tmp_dir": os.getenv("LAW_TARGET_TMP_DIR") or tmp,
            "tmp_dir_perm": 0o0770, "default_local_fs": "local_fs",
            "collection_remove_threads": 0, "interactive_removal_local_sync": True,
            "default_wlcg_fs": "wlcg_fs", "default_dropbox_fs": "dropbox_fs",
        },
        "local_fs": {
            "base": "/", "has_permissions": True, "default_file_perm": None,
            "default_dir_perm": None, "create_file_dir": True, "local_root_depth": 1,
        },
        "job": {
            "job_file_dir": os.getenv("LAW_JOB_FILE_DIR") or tmp, "job_file_dir_mkdtemp": True,
            "job_file_dir_cleanup": False, "job_query_timeout": None,
            **_contrib_job_defaults(),
        },
        "notifications": {
            "mail_recipient": None, "mail_sender": None, "mail_smtp_host": None,
            "mail_smtp_port": None,
        },
        "bash_sandbox": {
            "stagein_dir_name": "stagein", "stageout_dir_name": "stageout",
            "law_executable": "law", "login": False,
        },
        "bash_sandbox_env": {},
        "venv_sandbox": {
            "stagein_dir_name": "stagein", "stageout_dir_name": "stageout",
            "law_executable": "law",
        },
        "venv_sandbox_env": {},
    }


#: sections that are law's own: never handed to law-core as they are
LAW_SECTIONS = ("core", "logging", "modules", "task", "target", "local_fs", "job",
                "notifications", "bash_sandbox", "bash_sandbox_env", "venv_sandbox",
                "venv_sandbox_env")
LUIGI_PREFIX = "luigi_"
#: law's sandbox sections (``[docker_sandbox_env]``, ``[bash_sandbox_env_SCRIPT]``, ...),
#: which law.SandboxTask reads itself (see law/sandbox.py): never handed to law-core
SANDBOX_SECTION_PREFIXES = tuple(f"{t}_sandbox" for t in ("bash", "venv", "docker",
                                                           "singularity"))
#: sections both law and law-core have: options law does not know pass on to law-core,
#: whose check then judges them
SHARED_SECTIONS = ("core", "target", "job")
#: law's sections that mean the same to law-core: handed on as they are
HANDED_ON_SECTIONS = ("modules", "logging")

_REFERENCE = re.compile(r"^&(?:::(?P<section>[^:]+))?::(?P<option>.+)$")
_ENV_OPTION = re.compile(r"^LAW__([a-zA-Z0-9_]+)__([a-zA-Z0-9_]+)$")
_TRUE = {"1", "yes", "true", "on"}
_FALSE = {"0", "no", "false", "off"}


def _expand(value: str, expand_vars: bool = True, expand_user: bool = True) -> str:
    """``~`` and ``$VAR`` expansion as law does it; ``\\~`` and ``\\$`` stay literal."""
    if expand_user:
        value = os.path.expanduser(value.replace(r"\~", "\0tilde\0")).replace("\0tilde\0", "~")
    if expand_vars:
        value = os.path.expandvars(value.replace(r"\$", "\0dollar\0")).replace("\0dollar\0", "$")
    return value


def _brace_expand(text: str) -> list[str]:
    """``a{b,c}d`` -> ``[abd, acd]``; the first group is expanded, then the rest."""
    m = re.search(r"\{([^{}]*,[^{}]*)\}", text)
    if not m:
        return [text]
    head, tail = text[:m.start()], text[m.end():]
    return [out for part in m.group(1).split(",") for out in _brace_expand(head + part + tail)]


def _split_csv(value: str) -> list[str]:
    """Comma-separated values, commas inside braces kept, each then brace-expanded."""
    parts, depth, current = [], 0, ""
    for char in value:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [v for part in parts for v in _brace_expand(part.strip())]


def _to_bool(value: Any) -> bool:
    if not isinstance(value, str):
        return bool(value)
    if value.strip().lower() in _TRUE:
        return True
    if value.strip().lower() in _FALSE:
        return False
    raise ValueError(f"not a boolean: {value!r}")


_CONVERTERS = {
    "str": str, "s": str, str: str,
    "int": lambda v: int(v, 0) if isinstance(v, str) else int(v), "i": None, int: None,
    "float": float, "f": float, float: float,
    "bool": _to_bool, "boolean": _to_bool, "b": _to_bool, bool: _to_bool,
}
_CONVERTERS["i"] = _CONVERTERS[int] = _CONVERTERS["int"]


class Config(configparser.ConfigParser):
    """law's configuration: defaults, the config file (with ``[core] inherit`` and
    ``extend``), ``LAW__SECTION__OPTION`` variables, and luigi's sections in sync."""

    _instance: Config | None = None

    #: where the config file is looked for, in order (law's list)
    _config_files = ("$LAW_CONFIG_FILE", "law.cfg", "@LAW_HOME/config", "etc/law/config")

    @classmethod
    def instance(cls, *args: Any, **kwargs: Any) -> Config:
        """The process-wide config, created on first use."""
        if cls._instance is None:
            cls._instance = cls(*args, **kwargs)
        return cls._instance

    def __init__(self, config_file: str = "", skip_defaults: bool = False,
                 skip_fallbacks: bool = False, skip_includes: bool = False,
                 skip_env_sync: bool = False, skip_luigi_sync: bool = False,
                 skip_resolve_deferred: bool = False) -> None:
        super().__init__(allow_no_value=True)
        self.config_file = self.find_file(config_file, skip_fallbacks)
        if not skip_defaults:
            self.update(_defaults())
        if not skip_includes and self.config_file:
            own = type(self)(self.config_file, skip_defaults=True, skip_fallbacks=True,
                             skip_includes=True, skip_env_sync=True, skip_luigi_sync=True)
            self._include_all(own.get_expanded("core", "inherit", None))
        if self.config_file:
            self.read(self.config_file)
        if not skip_includes:
            self._include_all(self.get_expanded("core", "extend", None))
        if not skip_env_sync and self.get_expanded_bool("core", "sync_env", True):
            self.sync_env()
        if not skip_luigi_sync and self.get_expanded_bool("core", "sync_luigi_config", True):
            self.sync_luigi_config()

    @classmethod
    def find_file(cls, config_file: str = "", skip_fallbacks: bool = False) -> str | None:
        """The first existing file of ``config_file`` and law's locations, absolute."""
        candidates = [config_file] if config_file else []
        if not skip_fallbacks:
            candidates += list(cls._config_files)
        for candidate in candidates:
            if candidate == "@LAW_HOME/config":
                candidate = law_home_path("config")
            path = os.path.expandvars(os.path.expanduser(str(candidate)))
            if "$" in path:  # an unset variable: this location does not apply
                continue
            path = os.path.normpath(os.path.abspath(path))
            if os.path.isfile(path):
                return path
        return None

    def _include_all(self, names: str | Iterable[str] | None) -> None:
        if isinstance(names, str):
            names = _split_csv(names.strip())
        for name in names or ():
            if not name:
                continue
            if self.config_file:
                name = os.path.normpath(os.path.join(os.path.dirname(self.config_file), name))
            self.include(name)

    def optionxform(self, optionstr: str) -> str:
        return optionstr  # option names keep their case (module names, task parameters)

    # reading

    def options(self, section: str, prefix: str | None = None, expand_vars: bool = True,
                expand_user: bool = True) -> list[str]:
        """The option names of ``section`` (those starting with ``prefix``), expanded."""
        return [_expand(o, expand_vars, expand_user) for o in super().options(section)
                if not prefix or o.startswith(prefix)]

    def keys(self, *args: Any, **kwargs: Any) -> list[str]:
        """Deprecated in law: :meth:`options`."""
        logger.warning("Config.keys() is deprecated, use Config.options()")
        return self.options(*args, **kwargs)

    def items(self, section: Any = no_value, prefix: str | None = None,  # type: ignore[override]
              expand_vars: bool = True, expand_user: bool = True, **kwargs: Any) -> Any:
        """``(option, value)`` pairs of ``section``, values as :meth:`get_expanded` gives."""
        if section is no_value:  # configparser's own form, used by configparser itself
            return super().items()
        return [(o, self.get_expanded(section, o, expand_vars=expand_vars,
                                      expand_user=expand_user, **kwargs))
                for o in self.options(section, prefix=prefix, expand_vars=expand_vars,
                                      expand_user=expand_user)]

    def get_default(self, section: str, option: str, default: Any = no_value, type: Any = None,
                    force_type: bool = True, expand_vars: bool = False,
                    expand_user: bool = False, split_csv: bool = False,
                    dereference: bool = True, default_when_none: bool = True,
                    _seen: list | None = None) -> Any:
        """The value of ``section.option``, or ``default`` when it is not set (or None /
        "None", with ``default_when_none``). ``&::option`` and ``&::section::option``
        refer to other options; ``type`` ("str", "int", "float", "bool") converts."""
        has_default = default is not no_value
        if has_default and not (self.has_section(section) and self.has_option(section, option)):
            return default
        value = self.get(section, option)
        if isinstance(value, str):
            value = _expand(value, expand_vars, expand_user)
            m = _REFERENCE.match(value) if dereference else None
            if m:
                ref = (m.group("section") or section, m.group("option"))
                seen = _seen if _seen is not None else []
                if ref in seen:
                    return default
                seen.append(ref)
                return self.get_default(*ref, default=default, type=type,
                                        force_type=force_type, expand_vars=expand_vars,
                                        expand_user=expand_user, split_csv=split_csv,
                                        dereference=dereference,
                                        default_when_none=default_when_none, _seen=seen)
        if default_when_none and has_default and (
                value is None or isinstance(value, str) and value.lower() == "none"):
            return default

        def convert(v: Any) -> Any:
            if not type:
                return v
            if type not in _CONVERTERS:
                raise ValueError(f"unknown type {type!r}; use 'str', 'int', 'float' or 'bool'")
            try:
                return _CONVERTERS[type](v)
            except ValueError:
                if force_type:
                    raise
                return v

        if split_csv:
            return [convert(v) for v in _split_csv(value or "")]
        return convert(value)

    def get_expanded(self, *args: Any, **kwargs: Any) -> Any:
        """:meth:`get_default` with ``~`` and ``$VAR`` expanded."""
        kwargs.setdefault("expand_vars", True)
        kwargs.setdefault("expand_user", True)
        return self.get_default(*args, **kwargs)

    def get_expanded_int(self, *args: Any, **kwargs: Any) -> Any:
        return self.get_expanded(*args, **{**kwargs, "type": int})

    def get_expanded_float(self, *args: Any, **kwargs: Any) -> Any:
        return self.get_expanded(*args, **{**kwargs, "type": float})

    def get_expanded_bool(self, *args: Any, **kwargs: Any) -> Any:
        return self.get_expanded(*args, **{**kwargs, "type": bool})

    get_expanded_boolean = get_expanded_bool

    def is_missing_or_none(self, section: str, option: str) -> bool:
        """True when the option is unset, has no value, is "None" or an unresolvable
        reference."""
        value = self.get_expanded(section, option, default=no_value)
        return value is no_value or value is None or \
            isinstance(value, str) and value.lower() == "none"

    def find_option(self, section: str, *options: str) -> str | None:
        """The first of ``options`` that :meth:`is_missing_or_none` calls set; else the
        last one if it exists at all, else None."""
        for option in options:
            if not self.is_missing_or_none(section, option):
                return option
        last = options[-1] if options else None
        return last if last and self.has_option(section, last) else None

    # writing

    def set(self, section: str, option: str, value: Any = None) -> None:
        """Set an option of an existing section; sequences are joined with commas."""
        if value is not None and not isinstance(value, str):
            if isinstance(value, (list, tuple, _builtin_set)):
                value = ",".join(map(str, value))
            else:
                value = str(value)
        super().set(section, option, value)

    def update(self, data: Mapping[str, Mapping[str, Any]], overwrite: bool = True,  # type: ignore[override]
               overwrite_sections: bool | None = None,
               overwrite_options: bool | None = None) -> None:
        """Merge ``{section: {option: value}}``; ``overwrite_sections`` False skips
        sections that exist, ``overwrite_options`` False keeps options that exist."""
        sections_too = overwrite if overwrite_sections is None else overwrite_sections
        options_too = overwrite if overwrite_options is None else overwrite_options
        for section, values in data.items():
            if not self.has_section(section):
                self.add_section(section)
            elif not sections_too:
                continue
            for option, value in values.items():
                if options_too or not self.has_option(section, option):
                    self.set(section, option, value)

    def include(self, filename: str, *args: Any, **kwargs: Any) -> None:
        """Merge the config file ``filename`` into this one (see :meth:`update`)."""
        other = type(self)(filename, skip_defaults=True, skip_fallbacks=True,
                           skip_env_sync=True, skip_luigi_sync=True)
        self.update({s: dict(other._sections[s]) for s in other._sections},  # type: ignore[attr-defined]
                    *args, **kwargs)

    # synchronisation

    def sync_env(self) -> None:
        """Take ``LAW__SECTION__OPTION=value`` variables into the config."""
        for name, value in os.environ.items():
            m = _ENV_OPTION.match(name)
            if m:
                section, option = m.groups()
                if not self.has_section(section):
                    self.add_section(section)
                self.set(section, option, value)

    def sync_luigi_config(self, push: bool = True, pull: bool = True) -> None:
        """``[luigi_X]`` options become luigi's ``[X]`` options where luigi has none of its
        own (push); then luigi's values, which win, come back into ``[luigi_X]`` (pull)."""
        import luigi.configuration

        luigi_config = luigi.configuration.get_config()
        if push:
            for section in self.sections():
                if not section.startswith(LUIGI_PREFIX):
                    continue
                target = section[len(LUIGI_PREFIX):]
                if not luigi_config.has_section(target):
                    luigi_config.add_section(target)
                for option in self.options(section):
                    if not luigi_config.has_option(target, option):
                        value = self.get_expanded(section, option)
                        luigi_config.set(target, option, "" if value is None else str(value))
        if pull:
            for target in luigi_config.sections():
                section = LUIGI_PREFIX + target
                if not self.has_section(section):
                    self.add_section(section)
                for option, value in luigi_config.items(target):
                    self.set(section, option, value)

    def resolve_deferred_defaults(self) -> None:
        """law resolves callables among its defaults; law-core-compat's defaults have none."""


def apply_logging(config: Config | None = None) -> None:
    """Set the level of each logger named in ``[logging]`` (``law: INFO``)."""
    config = config or Config.instance()
    if not config.has_section("logging"):
        return
    for name in config.options("logging"):
        level = config.get_expanded("logging", name, default=None)
        if not level:
            continue
        value = logging.getLevelName(str(level).upper())
        if isinstance(value, int):
            logging.getLogger(name).setLevel(value)
        else:
            logger.warning("[logging] %s = %s is not a log level", name, level)


def law_core_config(config: Config | None = None, path: str | None = None) -> str | None:
    """Write what law-core reads of law's config into ``path`` (default
    ``$LAW_HOME/law-core.cfg``) and point ``LAW_CORE_CONFIG`` at it, unless the user set
    ``LAW_CORE_CONFIG`` already (then nothing changes and None is returned).

    Handed on: ``[modules]``, ``[logging]`` (law-core's run sets the same loggers' levels),
    the user's sections (task families, ``[fs.NAME]``, a job
    manager's), and the options law does not know of the sections both share (``[target]
    store``). Kept back: law's own sections and options and the ``[luigi_*]`` sections, which
    go to luigi instead (:meth:`Config.sync_luigi_config`).
    """
    if os.environ.get("LAW_CORE_CONFIG"):
        return None
    config = config or Config.instance()
    defaults = _defaults()
    out = configparser.ConfigParser(interpolation=None, allow_no_value=True)
    out.optionxform = str  # type: ignore[assignment,method-assign]
    for section in config.sections():
        if section.startswith((LUIGI_PREFIX, *SANDBOX_SECTION_PREFIXES)):
            continue
        if section in LAW_SECTIONS and section not in SHARED_SECTIONS and \
                section not in HANDED_ON_SECTIONS:
            continue
        options = config.options(section, expand_vars=False, expand_user=False)
        if section in SHARED_SECTIONS:
            options = [o for o in options if o not in defaults[section] and
                       o not in ("inherit_configs", "extend_configs")]
        if section == "modules":
            options = [m for o in options for m in _brace_expand(o.strip()) if m]
        if not options and section != "modules":
            continue
        out.add_section(section)
        for option in options:
            if section == "modules":
                out.set(section, option, None)
                continue
            value = config.get_expanded(section, option)
            # law-core expands $VAR itself: the value law resolved stays literal
            out.set(section, option, None if value is None else str(value).replace("$", "$$"))
    import io

    text = io.StringIO()
    source = config.config_file or "no law config file"
    text.write(f"# written by law-core-compat from {source}; edit that file instead\n")
    out.write(text)
    content = text.getvalue()
    target = Path(path or law_home_path("law-core.cfg"))
    try:
        _write_if_changed(target, content)
    except OSError as err:
        if path is not None:
            raise
        # LAW_HOME is not writable here: a private file in the temporary directory
        import hashlib

        digest = hashlib.sha1(content.encode()).hexdigest()[:12]
        target = Path(tempfile.gettempdir()) / f"law-core-compat-{os.getuid()}-{digest}.cfg"
        logger.debug("cannot write %s (%s); using %s", law_home_path("law-core.cfg"), err,
                     target)
        _write_if_changed(target, content)
    os.environ["LAW_CORE_CONFIG"] = str(target)
    return str(target)


def _write_if_changed(target: Path, content: str) -> None:
    """Write ``content`` to ``target`` atomically, unless it holds that already."""
    if target.is_file() and target.read_text() == content:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(content)
    os.replace(tmp, target)


def _module_function(name: str):  # noqa: ANN202 - a forwarding shorthand
    def forward(*args: Any, **kwargs: Any) -> Any:
        return getattr(Config.instance(), name)(*args, **kwargs)

    forward.__name__ = name
    forward.__doc__ = f"``Config.instance().{name}(...)``"
    return forward


sections = _module_function("sections")
options = _module_function("options")
keys = _module_function("keys")
items = _module_function("items")
update = _module_function("update")
include = _module_function("include")
get = _module_function("get")
getint = _module_function("getint")
getfloat = _module_function("getfloat")
getboolean = _module_function("getboolean")
get_default = _module_function("get_default")
get_expanded = _module_function("get_expanded")
get_expanded_int = _module_function("get_expanded_int")
get_expanded_float = _module_function("get_expanded_float")
get_expanded_bool = _module_function("get_expanded_bool")
get_expanded_boolean = _module_function("get_expanded_boolean")
is_missing_or_none = _module_function("is_missing_or_none")
find_option = _module_function("find_option")
add_section = _module_function("add_section")
has_section = _module_function("has_section")
remove_section = _module_function("remove_section")
set = _module_function("set")  # noqa: A001 - law's name
has_option = _module_function("has_option")
remove_option = _module_function("remove_option")
sync = _module_function("sync_luigi_config")
