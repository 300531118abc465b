"""``law.contrib.load(*names)``: law's contrib packages, mapped onto law-core's plugins.

In law, ``law.contrib.load("htcondor")`` imports a contrib package and makes it
``law.htcondor``. In law-core, what these packages did comes from installed plugins
(formatters, job managers, sandboxes, file systems), which register themselves: loading
checks that the plugin that replaces a contrib package is installed and says which
distribution to install when it is not. Where law-core-compat has a module of law's names
for the package, ``law.contrib.NAME`` (a module of this package, e.g. ``law.contrib.tasks``),
loading makes it ``law.NAME``, as in law.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import metadata

__all__ = ["load", "loaded_packages", "available_packages", "ContribError", "provider_location"]


class ContribError(ImportError):
    """A contrib package that law-core-compat cannot load; the message says why and what
    to install. An ImportError, as law raises for a contrib whose software is missing."""


@dataclass(frozen=True)
class Provider:
    """What takes the place of a contrib package in law-core."""

    #: the distribution to install ("" when law-core itself has it)
    distribution: str
    #: what the package provided, for messages
    what: str
    #: formatter names law-core's registry must know (formatter-only packages)
    formatters: tuple[str, ...] = ()


_FORMATTERS = "law-core-formatters"

#: every contrib package of law 0.1.21 that law-core replaces, and by what
PROVIDERS: dict[str, Provider] = {
    "arc": Provider("law-core-arc", "ARC job submission"),
    "glite": Provider("law-core-glite", "gLite job submission"),
    "htcondor": Provider("law-core-htcondor", "HTCondor job submission"),
    "lsf": Provider("law-core-lsf", "LSF job submission"),
    "slurm": Provider("law-core-slurm", "Slurm job submission"),
    "docker": Provider("law-core-docker", "Docker sandboxes"),
    "singularity": Provider("law-core-singularity", "Singularity/Apptainer sandboxes"),
    "dropbox": Provider("law-core-dropbox", "Dropbox targets"),
    "gfal": Provider("law-core-gfal", "gfal2 remote file systems"),
    "wlcg": Provider("law-core-gfal", "WLCG targets (through gfal2)"),
    "ipython": Provider("", "the %law IPython magics (law_core.ipython)"),
    "numpy": Provider(_FORMATTERS, "the numpy formatter", ("numpy",)),
    "pandas": Provider(_FORMATTERS, "the pandas formatter", ("pandas",)),
    "pyarrow": Provider(_FORMATTERS, "the parquet formatter", ("parquet",)),
    "hdf5": Provider(_FORMATTERS, "the HDF5 formatter (h5py)", ("h5py",)),
    "awkward": Provider(_FORMATTERS, "the awkward formatter", ("awkward",)),
    "root": Provider(_FORMATTERS, "ROOT files through uproot (not PyROOT)", ("uproot",)),
    "coffea": Provider(_FORMATTERS, "the coffea formatter", ("coffea",)),
    "matplotlib": Provider(_FORMATTERS, "the matplotlib formatter", ("matplotlib",)),
    "keras": Provider(_FORMATTERS, "the Keras model formatter", ("keras",)),
    "tensorflow": Provider(_FORMATTERS, "Keras models (TensorFlow graphs are not supported)",
                           ("keras",)),
    "slack": Provider("law-core-notifiers", "Slack notifications"),
    "telegram": Provider("law-core-notifiers", "Telegram notifications"),
    "mattermost": Provider("law-core-notifiers", "Mattermost notifications"),
}

#: contrib packages of law 0.1.21 that nothing in law-core replaces yet
UNSUPPORTED: dict[str, str] = {
    "mercurial": "mercurial repository bundling tasks",
    "profiling": "cProfile decorators",
    "rich": "rich progress output",
}

#: contrib packages that need no plugin: law-core-compat's own module is all of it
#: (``cms`` and ``git`` give law's base classes, whose Crab submission and bundling are
#: errors, so that analyses that mix them in run their other parts)
COMPAT_ONLY = ("tasks", "cms", "git")


def compat_module(name: str) -> str | None:
    """The module of law's names for the contrib package ``name`` that law-core-compat
    has (``law.contrib.NAME``), or None."""
    import importlib.util

    module = f"{__name__}.{name}"
    return module if importlib.util.find_spec(module) is not None else None

_loaded: list[str] = []


def available_packages() -> list[str]:
    """The contrib names of law 0.1.21 that can be loaded with the installed plugins."""
    names = []
    for name in [*PROVIDERS, *COMPAT_ONLY]:
        try:
            _check(name)
        except ContribError:
            continue
        names.append(name)
    return names


def loaded_packages() -> list[str]:
    return list(_loaded)


def _installed(distribution: str) -> bool:
    try:
        metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        return False
    return True


def _check(name: str) -> Provider:
    if name in COMPAT_ONLY:
        return Provider("", f"law.{name} of law-core-compat")
    if name in UNSUPPORTED:
        raise ContribError(f"law.contrib '{name}' ({UNSUPPORTED[name]}) is not yet supported "
                           "by law-core-compat, and no law-core plugin replaces it")
    provider = PROVIDERS.get(name)
    if provider is None:
        known = ", ".join(sorted([*PROVIDERS, *COMPAT_ONLY, *UNSUPPORTED]))
        raise ContribError(f"law has no contrib package '{name}'; law's contrib packages: "
                           f"{known}")
    if provider.distribution and not _installed(provider.distribution):
        raise ContribError(f"law.contrib '{name}' needs the law-core plugin "
                           f"{provider.distribution} ({provider.what}); install it with "
                           f"pip install {provider.distribution}")
    if provider.formatters:
        import law_core

        known = law_core.get_registry().formatters()
        missing = [f for f in provider.formatters if f not in known]
        if missing:
            raise ContribError(f"law.contrib '{name}': {provider.distribution} is installed "
                               f"but has no formatter {', '.join(missing)}; upgrade it")
    return provider


def load(*packages: str) -> None:
    """Load contrib packages by name, as law does: each must be replaced by an installed
    law-core plugin (see :data:`PROVIDERS`), else a :class:`ContribError` says what to
    install. Loading twice is fine."""
    for name in packages:
        _check(name)
        module = compat_module(name)
        if module is not None:
            import importlib

            import law

            setattr(law, name, importlib.import_module(module))
        if name not in _loaded:
            _loaded.append(name)


def load_all() -> None:
    """Load every contrib package the installed plugins replace."""
    load(*available_packages())


def missing_module(name: str) -> AttributeError | None:
    """The error for ``law.NAME`` when NAME is a contrib package not loaded (None
    otherwise)."""
    if compat_module(name) is not None:
        return AttributeError(f"module 'law' has no attribute {name!r}: load the contrib "
                              f"package first, law.contrib.load({name!r})")
    if name in UNSUPPORTED:
        return AttributeError(f"law.{name} is not yet supported by law-core-compat: "
                              f"{UNSUPPORTED[name]}")
    if name in PROVIDERS:
        provider = PROVIDERS[name]
        by = f"the plugin {provider.distribution}" if provider.distribution else "law-core"
        return AttributeError(f"law.{name} is not yet supported by law-core-compat: {name} "
                              f"({provider.what}) comes from {by}; use it through law-core's "
                              f"API (e.g. workflow=\"{name}\" or a target path) instead")
    return None


def provider_location(name: str) -> str:
    """Where the package that replaces the contrib package ``name`` is installed."""
    provider = _check(name)
    if name in COMPAT_ONLY:
        import importlib.util

        return str(importlib.util.find_spec(compat_module(name)).origin)
    if not provider.distribution:
        import law_core

        return os.path.dirname(os.path.abspath(law_core.__file__))
    dist = metadata.distribution(provider.distribution)
    top = (dist.read_text("top_level.txt") or "").split()
    module = top[0] if top else provider.distribution.replace("-", "_")
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ContribError(f"cannot locate the package of {provider.distribution}")
    return list(spec.submodule_search_locations)[0]
