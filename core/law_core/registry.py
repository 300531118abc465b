"""Plugin discovery and the one registry the rest of the core asks for backends.

Plugins are modules named by entry points in the group ``law_core.plugins``. They are
found with stevedore (which caches entry points across processes) and registered with a
pluggy ``PluginManager``. A plugin that fails to import is kept in :attr:`Registry.plugins`
with its error and affects nothing else. ``LAW_CORE_DISABLE_PLUGINS=a,b`` keeps plugins
from being imported at all.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pluggy
from stevedore.named import NamedExtensionManager

from law_core import hookspecs
from law_core.errors import BackendNotFoundError, FormatterError, PluginConflictError, PluginError

logger = logging.getLogger(__name__)

if TYPE_CHECKING:  # annotations only: discovery stays cheap
    from law_core.records import (
        CliCommandRecord,
        FileSystemRecord,
        FormatterRecord,
        JobManagerRecord,
        NotifierRecord,
        SandboxRecord,
    )

ENTRY_POINT_GROUP = "law_core.plugins"
DISABLE_ENV = "LAW_CORE_DISABLE_PLUGINS"

#: Which of the project's own distributions provides a backend, for "pip install ..." hints.
OFFICIAL_DISTRIBUTIONS: dict[tuple[str, str], str] = {
    **{("file system", s): "law-core-gfal"
       for s in ("root", "xroot", "davs", "dav", "https", "http", "gsiftp", "srm")},
    ("file system", "dropbox"): "law-core-dropbox",
    **{("file system", s): "law-core-fsspec"
       for s in ("memory", "s3", "s3a", "gs", "gcs", "az", "abfs", "adl", "oci", "oss", "sftp",
                 "ssh", "smb", "hdfs", "webhdfs")},
    ("job manager", "slurm"): "law-core-slurm",
    ("job manager", "htcondor"): "law-core-htcondor",
    ("job manager", "lsf"): "law-core-lsf",
    ("job manager", "glite"): "law-core-glite",
    ("sandbox", "docker"): "law-core-docker",
    ("sandbox", "singularity"): "law-core-singularity",
    ("sandbox", "apptainer"): "law-core-singularity",
    **{("notifier", n): "law-core-notifiers" for n in ("slack", "mattermost", "telegram", "mail")},
    **{("formatter", f): "law-core-formatters"
       for f in ("yaml", "numpy", "h5py", "pandas", "parquet", "awkward", "uproot",
                 "matplotlib", "keras", "coffea", "bz2", "xz")},
}

#: File extensions whose formatters the project's own distributions provide.
OFFICIAL_EXTENSIONS: dict[str, str] = {
    ext: "law-core-formatters"
    for ext in ("yaml", "yml", "npy", "npz", "h5", "hdf5", "csv", "tsv", "feather", "parquet",
                "root", "pdf", "png", "svg", "keras", "coffea", "bz2", "xz", "lzma")
}


@dataclass
class PluginInfo:
    """What ``law-core plugins`` shows about one plugin."""

    name: str
    module: str
    status: str  # "loaded", "failed" or "disabled"
    error: str | None = None
    distribution: str | None = None
    version: str | None = None
    provides: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Provided:
    """A record together with the plugin (and its module) that declared it."""

    record: Any
    plugin: str
    module: str

    @property
    def distribution(self) -> str | None:
        """Looked up only when a message needs it: the lookup reads every installed
        distribution's metadata, which would cost each command a good part of a second."""
        return _distribution_of(self.module)[0]


_KINDS: dict[str, tuple[str, Callable[[Any], Iterable[str]]]] = {
    # kind: (hook name, keys a record claims)
    "file system": ("law_core_file_systems", lambda r: r.schemes),
    "formatter": ("law_core_formatters", lambda r: (r.name,)),
    "job manager": ("law_core_job_managers", lambda r: (r.name,)),
    "sandbox": ("law_core_sandboxes", lambda r: (r.name,)),
    "notifier": ("law_core_notifiers", lambda r: (r.name,)),
    "command": ("law_core_cli_commands", lambda r: (r.name,)),
}


def _distribution_of(module: str) -> tuple[str | None, str | None]:
    top = module.split(".", 1)[0]
    names = _packages_distributions().get(top) or []
    if not names:
        return None, None
    name = names[0]
    try:
        return name, importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return name, None


_PACKAGES_DISTRIBUTIONS: dict[str, list[str]] | None = None


def _packages_distributions() -> dict[str, list[str]]:
    global _PACKAGES_DISTRIBUTIONS
    if _PACKAGES_DISTRIBUTIONS is None:
        _PACKAGES_DISTRIBUTIONS = importlib.metadata.packages_distributions()
    return _PACKAGES_DISTRIBUTIONS


def disabled_plugins_from_env() -> set[str]:
    return {n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip()}


class Registry:
    """The installed plugins and the backends they provide."""

    def __init__(self, disabled: Iterable[str] | None = None):
        self.disabled = set(disabled_plugins_from_env() if disabled is None else disabled)
        self.manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.manager.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self._duplicates: list[tuple[str, str, str]] = []  # (name, module, other module)
        self._provided: dict[str, dict[str, Provided]] = {}
        self._formatter_by_suffixes: dict[str, FormatterRecord] = {}
        self._discover()

    # discovery

    def _discover(self) -> None:
        lister = NamedExtensionManager(
            ENTRY_POINT_GROUP, names=[], on_missing_entrypoints_callback=None
        )
        entry_points = lister.list_entry_points()
        enabled = []
        for ep in entry_points:
            if ep.name in self.plugins:
                self._duplicates.append((ep.name, self.plugins[ep.name].module, ep.module))
                continue
            status = "disabled" if ep.name in self.disabled else "pending"
            self.plugins[ep.name] = PluginInfo(ep.name, ep.module, status)
            if status == "pending":
                enabled.append(ep.name)

        # import each plugin module here first: stevedore isolates a plugin that raises an
        # Exception, not one that calls sys.exit() at import, which would end every command
        for name in list(enabled):
            info = self.plugins[name]
            try:
                importlib.import_module(info.module)
            except KeyboardInterrupt:
                raise
            except BaseException as err:  # noqa: BLE001 - SystemExit included, on purpose
                info.status, info.error = "failed", f"{type(err).__name__}: {err}"
                enabled.remove(name)

        def on_failure(_manager: Any, ep: importlib.metadata.EntryPoint, err: BaseException):
            info = self.plugins[ep.name]
            if info.module == ep.module:
                info.status, info.error = "failed", f"{type(err).__name__}: {err}"

        loader = NamedExtensionManager(
            ENTRY_POINT_GROUP,
            names=enabled,
            on_load_failure_callback=on_failure,
            on_missing_entrypoints_callback=None,
        )
        for ext in loader.extensions:
            info = self.plugins[ext.name]
            if info.module != ext.entry_point.module or info.status != "pending":
                continue  # a duplicate name, reported as a conflict
            try:
                self.manager.register(ext.plugin, name=ext.name)
                self.manager.check_pending()
            except Exception as err:  # pluggy validation: a hook with a wrong signature
                self.manager.unregister(name=ext.name)
                info.status, info.error = "failed", f"{type(err).__name__}: {err}"
            else:
                info.status = "loaded"
        for info in self.plugins.values():
            if info.status == "pending":  # stevedore skipped it without calling back
                info.status, info.error = "failed", "entry point could not be loaded"

    def _check_duplicate_names(self) -> None:
        if not self._duplicates:
            return
        name, module, other = self._duplicates[0]
        raise PluginConflictError(
            f"two plugins are both named '{name}': module {module} (distribution "
            f"{_distribution_of(module)[0]}) and module {other} (distribution "
            f"{_distribution_of(other)[0]}); uninstall one of the two distributions"
        )

    def describe(self) -> list[PluginInfo]:
        """All discovered plugins, with distribution, version and what they provide."""
        for info in self.plugins.values():
            info.distribution, info.version = _distribution_of(info.module)
            info.provides = []
            if info.status != "loaded":
                continue
            plugin = self.manager.get_plugin(info.name)
            for kind, (hook_name, keys) in _KINDS.items():
                impl = getattr(plugin, hook_name, None)
                if impl is None:
                    continue
                try:
                    names = sorted(k for record in impl() or [] for k in keys(record))
                except Exception as err:
                    info.status, info.error = "failed", f"{hook_name}: {type(err).__name__}: {err}"
                    break
                if names:
                    info.provides.append(f"{kind}: {', '.join(names)}")
        return list(self.plugins.values())

    def conflicts(self) -> list[str]:
        """Messages for every name or scheme claimed twice, empty when all is well."""
        messages = []
        try:
            self._check_duplicate_names()
        except PluginConflictError as err:
            messages.append(str(err))
        for kind in _KINDS:
            try:
                self._provided_for(kind)
            except PluginConflictError as err:
                messages.append(str(err))
            except PluginError:
                pass  # reported as the plugin's own failure
        return messages

    # collection of records

    def _provided_for(self, kind: str) -> dict[str, Provided]:
        if kind in self._provided:
            return self._provided[kind]
        self._check_duplicate_names()
        hook_name, keys = _KINDS[kind]
        provided: dict[str, Provided] = {}
        for impl in getattr(self.manager.hook, hook_name).get_hookimpls():
            try:
                records = impl.function() or []
            except Exception as err:
                raise PluginError(
                    f"plugin '{impl.plugin_name}' failed to declare its {kind} backends: "
                    f"{type(err).__name__}: {err}; disable it with "
                    f"{DISABLE_ENV}={impl.plugin_name}"
                ) from err
            for record in records:
                for key in keys(record):
                    if key in provided:
                        other = provided[key]
                        dist = _distribution_of(self.plugins[impl.plugin_name].module)[0]
                        raise PluginConflictError(
                            f"the {kind} '{key}' is claimed by two plugins: '{other.plugin}' "
                            f"(distribution {other.distribution}) and '{impl.plugin_name}' "
                            f"(distribution {dist}); uninstall one, or disable one with "
                            f"{DISABLE_ENV}=NAME"
                        )
                    provided[key] = Provided(record, impl.plugin_name,
                                             self.plugins[impl.plugin_name].module)
        self._provided[kind] = provided
        return provided

    def _get(self, kind: str, name: str) -> Any:
        provided = self._provided_for(kind)
        if name not in provided:
            raise BackendNotFoundError(
                kind, name, OFFICIAL_DISTRIBUTIONS.get((kind, name)), list(provided)
            )
        return provided[name].record

    def file_system(self, scheme: str) -> FileSystemRecord:
        """The file system serving URIs of ``scheme`` (``file``, ``root``, ...)."""
        return self._get("file system", scheme)

    def file_systems(self) -> dict[str, FileSystemRecord]:
        return {k: p.record for k, p in self._provided_for("file system").items()}

    def formatter(self, name: str) -> FormatterRecord:
        """The formatter named ``name`` (``json``, ``numpy``, ...)."""
        return self._get("formatter", name)

    def formatters(self) -> dict[str, FormatterRecord]:
        return {k: p.record for k, p in self._provided_for("formatter").items()}

    def formatter_for_path(self, path: str) -> FormatterRecord:
        """The formatter for a file name, by extension.

        The rule: the longest extension that matches the end of the file name wins
        (``x.tar.gz``: ``tar.gz`` before ``gz``); among formatters with that extension,
        the highest priority, then the lexically first name. Matching ignores case.
        """
        basename = path.rstrip("/").rsplit("/", 1)[-1].lower()
        # only the suffixes after the first dot decide, so the answer is cached by them
        suffixes = basename.partition(".")[2]
        cached = self._formatter_by_suffixes.get(suffixes)
        if cached is not None:
            return cached
        best: tuple[int, int, str] | None = None
        chosen: FormatterRecord | None = None
        for record in self.formatters().values():
            for ext in record.extensions:
                if not basename.endswith("." + ext.lower()):
                    continue
                rank = (len(ext), record.priority, _negated(record.name))
                if best is None or rank > best:
                    best, chosen = rank, record
        if chosen is None:
            installed = ", ".join(
                f"{r.name} ({', '.join('.' + e for e in r.extensions) or 'no extension'})"
                for r in sorted(self.formatters().values(), key=lambda r: r.name)
            )
            hint = next((f"; formatters for .{ext} files come with {dist} (pip install {dist})"
                         for ext, dist in OFFICIAL_EXTENSIONS.items()
                         if basename.endswith("." + ext)), "")
            raise FormatterError(
                f"no installed formatter reads or writes '{basename}' by its extension{hint}; "
                f"or pass formatter=NAME explicitly; installed: {installed}"
            )
        self._formatter_by_suffixes[suffixes] = chosen
        return chosen

    def job_manager(self, name: str) -> JobManagerRecord:
        """The job manager selected by ``--workflow name``."""
        return self._get("job manager", name)

    def job_managers(self) -> dict[str, JobManagerRecord]:
        return {k: p.record for k, p in self._provided_for("job manager").items()}

    def sandbox(self, sandbox_type: str) -> SandboxRecord:
        """The sandbox for ``TYPE`` in ``sandbox = "TYPE::NAME"``."""
        return self._get("sandbox", sandbox_type)

    def sandboxes(self) -> dict[str, SandboxRecord]:
        return {k: p.record for k, p in self._provided_for("sandbox").items()}

    def notifier(self, name: str) -> NotifierRecord:
        """The notifier ``NAME`` of ``--notify NAME``."""
        return self._get("notifier", name)

    def notifiers(self) -> dict[str, NotifierRecord]:
        return {k: p.record for k, p in self._provided_for("notifier").items()}

    def cli_commands(self) -> dict[str, CliCommandRecord]:
        return {k: p.record for k, p in self._provided_for("command").items()}

    def config_defaults(self) -> dict[str, dict[str, str]]:
        """Config defaults of all plugins, merged; the same option from two is an error."""
        merged: dict[str, dict[str, str]] = {}
        owner: dict[tuple[str, str], str] = {}

        def add(plugin: str, defaults: dict[str, dict[str, Any]]) -> None:
            for section, options in defaults.items():
                for option, value in options.items():
                    key = (section, option)
                    if key in owner and owner[key] != plugin:
                        raise PluginConflictError(
                            f"the config default {section}.{option} is set by two plugins: "
                            f"'{owner[key]}' and '{plugin}'"
                        )
                    owner[key] = plugin
                    merged.setdefault(section, {})[option] = str(value)

        for impl in self.manager.hook.law_core_config_defaults.get_hookimpls():
            add(impl.plugin_name, impl.function() or {})
        for name, provided in self._provided_for("job manager").items():
            try:
                defaults = provided.record.load_config_defaults()
            except Exception as err:  # a broken plugin must not break the config
                logger.warning("config defaults of the job manager '%s' could not be "
                               "loaded: %s", name, err)
                continue
            if defaults:
                add(provided.plugin, {name: defaults})
        for name, provided in self._provided_for("notifier").items():
            try:
                settings = provided.record.load_settings()
            except Exception as err:  # a broken plugin must not break the config
                logger.warning("settings of the notifier '%s' could not be loaded: %s",
                               name, err)
                continue
            if settings is not None:
                add(provided.plugin, {settings.section: settings.config_defaults()})
        return merged

    def secret_options(self) -> set[tuple[str, str]]:
        """(section, option) of every option a job manager's or notifier's settings
        declare secret: never written where jobs read it."""
        secrets: set[tuple[str, str]] = set()
        for name, provided in self._provided_for("job manager").items():
            with contextlib.suppress(Exception):
                settings = provided.record.load_settings()
                if settings is not None:
                    secrets.update((name, option) for option in settings.secret_options())
        for provided in self._provided_for("notifier").values():
            with contextlib.suppress(Exception):
                settings = provided.record.load_settings()
                if settings is not None:
                    secrets.update((settings.section, option)
                                   for option in settings.secret_options())
        return secrets

    @property
    def hook(self) -> Any:
        """The pluggy hook relay, for emitting events."""
        return self.manager.hook


def _negated(name: str) -> tuple[int, ...]:
    # ranks a lexically smaller name higher in a max() comparison
    return (*(-ord(c) for c in name), 1)


_REGISTRY: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, discovered on first use."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = Registry()
    return _REGISTRY


def reset_registry() -> None:
    """Forget the registry so the next :func:`get_registry` discovers plugins anew."""
    global _REGISTRY
    _REGISTRY = None
