"""Software bundles: what a job needs where the worker shares no file system with this host.

A grid worker (ARC), an HTCondor slot in file transfer mode, or any batch system with
``[job] shared_fs = false`` has neither law-core nor the analysis. The submitting side packs
them into one ``law-core-bundle-<digest>.tar.gz`` that travels with every job as an input
file; the job wrapper unpacks it in the job's scratch space and puts its ``python/``
directory first on ``PYTHONPATH``. What goes in (the rule users can predict):

1. **Software**: the distribution ``law-core``, every installed distribution that registers
   a law-core plugin (entry point group ``law_core.plugins``), the distributions named in
   ``[job] bundle_include``, and everything these require (their requirements without
   extras, as installed here, i.e. in the versions of the submitting venv). A regular
   install contributes the files of its ``RECORD`` below site-packages; an editable one
   (``pip install -e``, path entries or import hooks) contributes its top-level packages
   copied from where they are imported. Each keeps its ``.dist-info`` (metadata and entry
   points: the plugins register on the worker as here).
2. **The analysis**: the top-level package (or module) of the workflow's module and of each
   ``[modules]`` entry, and every top-level module (``*.py``) and regular package (a
   directory with ``__init__.py``) in the submitting working directory and in the
   ``PYTHONPATH`` entries inside it, with all their files (package data too). One that an
   installed distribution provides is bundled as that distribution.
3. ``[job] bundle_include`` adds distributions (by name, with their requirements),
   importable top-level modules or packages (by import name), or paths (files or
   directories, importable by their names); ``[job] bundle_exclude`` leaves out
   distributions (by name, and what only they require) or members matching a glob
   (``mypkg/data/*``, ``*/tests/*``; relative to the bundle's ``python/`` directory).
   ``__pycache__``, ``*.pyc`` and ``.git`` never go in.
4. The file of ``[job] bootstrap_file``, as ``bootstrap.sh`` beside ``python/``.

Compiled files go in as they are: a binary wheel's extension modules work where the worker
has the same platform and CPython ``major.minor`` (the wrapper checks the latter). System
packages (gfal2's bindings, ROOT, CUDA) are not bundled; the worker must provide them. The
resolved config is not part of the bundle: it is a job file of its own (``config.cfg``), so
that workflows whose configs differ share one bundle.

The digest covers every member's name and content, the Python version and the bootstrap
file: a bundle is built once per content and kept in ``[job] bundle_cache`` (default
``$XDG_CACHE_HOME/law-core/bundles``), then linked into each job directory. With ``[job]
bundle_store = URI`` it is copied there once instead, and each job's wrapper fetches it
(``gfal-copy``, else ``xrdcp`` for ``root://``, ``curl`` for ``https://``/``davs://``,
``cp`` for a path): the jobs' inputs stay small.
"""

from __future__ import annotations

import fnmatch
import gzip
import hashlib
import importlib.metadata as metadata
import importlib.util
import io
import json
import logging
import os
import re
import shutil
import sys
import tarfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from law_core.errors import ConfigError, WorkflowError

logger = logging.getLogger("law_core.workflow.bundle")

PREFIX = "law-core-bundle-"
SUFFIX = ".tar.gz"
#: the directory of the bundle that goes onto the job's PYTHONPATH
PYTHON_DIR = "python"
#: the bundle's description: Python version, what went in (for people and tests)
MANIFEST = "bundle.json"
BOOTSTRAP = "bootstrap.sh"
PLUGIN_GROUP = "law_core.plugins"
#: never bundled: byte code is rebuilt by the worker's Python, VCS data is no software
ALWAYS_EXCLUDED = ("*/__pycache__/*", "__pycache__/*", "*.pyc", "*.pyo", ".git/*", "*/.git/*")
#: bundles bigger than this are logged with their largest parts
LARGE = 100 * 1024 * 1024


@dataclass(frozen=True)
class Bundle:
    """A bundle in the cache."""

    path: Path
    digest: str
    #: ``major.minor`` of the Python it was built for (the worker's must match)
    python: str
    #: bytes of the tar.gz, and its number of files
    size: int
    files: int
    #: whether this call built it (False: found in the cache)
    built: bool
    seconds: float

    @property
    def name(self) -> str:
        return self.path.name


def python_version() -> str:
    """``major.minor`` of this Python: the workers' must be the same."""
    return "{}.{}".format(*sys.version_info[:2])


def cache_directory() -> Path:
    """``[job] bundle_cache``, else ``$XDG_CACHE_HOME/law-core/bundles``."""
    from law_core.config import get_config

    given = get_config().get("job", "bundle_cache", default="")
    if given and given.strip():
        return Path(given.strip()).expanduser().absolute()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base, "law-core", "bundles")


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


_HEADER = re.compile(r"^(Name|Requires-Dist):[ \t]*(.*?)[ \t]*$", re.M)


def _headers(dist: metadata.Distribution) -> tuple[str, list[str]]:
    """Name and requirements of ``dist`` from its METADATA header (read as text: the
    email parser of ``dist.metadata`` takes a tenth of a second per hundred
    distributions)."""
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    header = text.split("\n\n", 1)[0]
    name, requires = "", []
    for key, value in _HEADER.findall(header):
        if key == "Name" and not name:
            name = value
        elif key == "Requires-Dist":
            requires.append(value)
    if not requires and dist.read_text("requires.txt") is not None:  # an egg-info
        requires = list(dist.requires or [])
    return name, requires


def _installed() -> dict[str, tuple[metadata.Distribution, list[str]]]:
    """Installed distributions and their requirements by normalized name (the first on
    sys.path wins, as for imports)."""
    found: dict[str, tuple[metadata.Distribution, list[str]]] = {}
    for dist in metadata.distributions():
        name, requires = _headers(dist)
        if name and _normalize(name) not in found:
            found[_normalize(name)] = (dist, requires)
    return found


def _requirements(requires: list[str]) -> Iterator[str]:
    """Names of what the requirements ask for here (markers evaluated; extras never)."""
    try:
        from packaging.requirements import InvalidRequirement, Requirement
    except ImportError:  # pragma: no cover - packaging comes with pip's environments
        Requirement = None  # type: ignore[assignment,misc]
    for text in requires:
        if Requirement is None:
            if "extra" in text.partition(";")[2]:
                continue
            yield re.split(r"[\s;<>=!~\[(]", text.strip(), maxsplit=1)[0]
            continue
        try:
            req = Requirement(text)
        except InvalidRequirement:
            continue
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        yield req.name


def distribution_closure(names: Iterable[str], excluded: Iterable[str] = (),
                         installed: dict[str, Any] | None = None
                         ) -> list[metadata.Distribution]:
    """``names`` and what they require, as installed (missing requirements are skipped: the
    worker may have them, e.g. as system packages); ``excluded`` are not descended into."""
    installed = _installed() if installed is None else installed
    skip = {_normalize(n) for n in excluded}
    todo = [_normalize(n) for n in names]
    seen: dict[str, metadata.Distribution] = {}
    while todo:
        name = todo.pop()
        if name in seen or name in skip or name not in installed:
            continue
        dist, requires = installed[name]
        seen[name] = dist
        todo.extend(_normalize(r) for r in _requirements(requires))
    return [seen[n] for n in sorted(seen)]


def plugin_distributions(installed: dict[str, Any] | None = None) -> list[str]:
    """Names of law-core and of the installed distributions that require it or register
    law-core plugins."""
    installed = _installed() if installed is None else installed
    names = {"law-core"}
    for name, (dist, requires) in installed.items():
        if any(_normalize(r) == "law-core" for r in _requirements(requires)) or \
                "[" + PLUGIN_GROUP + "]" in (dist.read_text("entry_points.txt") or ""):
            names.add(name)
    return sorted(names)


def _top_levels(installed: dict[str, Any]) -> dict[str, str]:
    """Top-level module -> distribution, by the distributions' ``top_level.txt`` (cheap;
    :func:`importlib.metadata.packages_distributions` reads every RECORD)."""
    tops: dict[str, str] = {}
    for name, (dist, _) in installed.items():
        for top in (dist.read_text("top_level.txt") or "").split():
            tops.setdefault(top, name)
    return tops


def _site_directories() -> list[str]:
    import site
    import sysconfig

    dirs = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    with_site = getattr(site, "getsitepackages", lambda: [])()
    return sorted({os.path.realpath(d) for d in (*dirs, *with_site)})


def _provider_of(top: str, tops: dict[str, str]) -> str | None:
    """The installed distribution that provides the top-level module ``top``, if any."""
    if top in tops:
        return tops[top]
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    where = spec and (spec.origin or next(iter(spec.submodule_search_locations or []), None))
    if not where or not any(os.path.realpath(where).startswith(d + os.sep)
                            for d in _site_directories()):
        return None
    found = metadata.packages_distributions().get(top)  # slow, but rarely needed
    return found[0] if found else None


def _is_editable(dist: metadata.Distribution) -> bool:
    try:
        info = json.loads(dist.read_text("direct_url.json") or "{}")
    except ValueError:
        info = {}
    if info.get("dir_info", {}).get("editable"):
        return True
    return any("__editable__" in str(f) for f in dist.files or [])


def _top_level_names(dist: metadata.Distribution) -> list[str]:
    text = dist.read_text("top_level.txt")
    if text:
        return [n.strip() for n in text.split() if n.strip()]
    names = {str(f).split("/", 1)[0].removesuffix(".py") for f in dist.files or []
             if not str(f).startswith("..") and ".dist-info" not in str(f).split("/")[0]
             and "__editable__" not in str(f) and not str(f).endswith(".pth")}
    return sorted(n for n in names if n.isidentifier())


def _module_files(name: str) -> Iterator[tuple[str, Path]]:
    """(member relative to python/, file) of the top-level module or package ``name``,
    from where it is imported."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        raise WorkflowError(f"the module {name!r} is not importable here, so it cannot be "
                            "put into the jobs' software bundle")
    if spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            yield from _tree(Path(location), name)
    elif spec.origin and os.path.isfile(spec.origin):
        origin = Path(spec.origin)
        yield origin.name if origin.suffix != ".py" else f"{name}.py", origin


def _tree(root: Path, member: str) -> Iterator[tuple[str, Path]]:
    """The files below ``root`` as members below ``member`` (symlinks followed)."""
    if root.is_file():
        yield member, root
        return
    seen: set[str] = set()
    for directory, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(directory)
        if real in seen:  # a symlink loop, or a directory linked twice
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if d not in ("__pycache__", ".git"))
        rel = os.path.relpath(directory, root)
        for file in sorted(files):
            yield (member if rel == "." else f"{member}/{rel}") + f"/{file}", \
                Path(directory, file)


def _dist_files(dist: metadata.Distribution) -> Iterator[tuple[str, Path]]:
    """The files a distribution contributes: its dist-info (without RECORD and the
    editable install's direct_url.json), and its modules, by RECORD or, for an editable
    install, from where they are imported."""
    editable = _is_editable(dist)
    for entry in dist.files or []:
        text = str(entry).replace(os.sep, "/")
        if text.startswith(("..", "/")) or text.endswith(".pth"):
            continue  # scripts, data outside site-packages; path hooks do not apply
        first = text.split("/", 1)[0]
        if first.endswith(".dist-info"):
            if text.rsplit("/", 1)[-1] in ("RECORD", "direct_url.json", "INSTALLER",
                                            "REQUESTED"):
                continue
        elif editable or first.startswith("__editable__"):
            continue
        path = Path(dist.locate_file(entry))
        if path.is_file():
            yield text, path
    if editable:
        for name in _top_level_names(dist):
            yield from _module_files(name)


def _analysis_tops(workflow: Any) -> list[str]:
    """The top-level module names of the workflow's module and of ``[modules]``."""
    from law_core.config import get_config

    names = [type(workflow).__module__, *get_config().options("modules")]
    return list(dict.fromkeys(n.split(".", 1)[0] for n in names if n))


def _working_directory_entries(cwd: Path) -> list[Path]:
    """Top-level modules and regular packages in the working directory and in the
    PYTHONPATH entries inside it."""
    roots = [cwd]
    for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        if entry:
            path = Path(entry).absolute()
            if path != cwd and path.is_relative_to(cwd) and path.is_dir():
                roots.append(path)
    found = []
    for root in roots:
        try:
            children = sorted(root.iterdir())
        except OSError:
            continue
        for child in children:
            if child.is_file() and child.suffix == ".py" and child.stem.isidentifier():
                found.append(child)
            elif child.is_dir() and child.name.isidentifier() and \
                    (child / "__init__.py").is_file():
                found.append(child)
    return found


@dataclass
class Selection:
    """What goes into a bundle: member (relative to the bundle root) -> file."""

    members: dict[str, Path]
    distributions: list[str]
    modules: list[str]
    bootstrap: Path | None


def select(workflow: Any, cwd: Path | None = None) -> Selection:
    """The members of the bundle of ``workflow``'s jobs, by the rule of this module."""
    from law_core.config import get_config

    config = get_config()
    cwd = (cwd or Path.cwd()).absolute()
    include = config.get_list("job", "bundle_include", default=[])
    exclude = config.get_list("job", "bundle_exclude", default=[])
    installed = _installed()
    tops = _top_levels(installed)
    excluded_dists = {_normalize(e) for e in exclude if _normalize(e) in installed}
    patterns = [e for e in exclude if _normalize(e) not in excluded_dists]
    dist_names, module_names, paths = plugin_distributions(installed), [], []
    for item in include:
        if _normalize(item) in installed:
            dist_names.append(item)
        elif "/" in item or item.startswith(("~", ".")):
            path = Path(item).expanduser()
            path = path if path.is_absolute() else cwd / path
            if not path.exists():
                raise ConfigError(f"[job] bundle_include names {item!r}, but {path} does "
                                  "not exist")
            paths.append(path)
        elif item.isidentifier():
            module_names.append(item)
        else:
            raise ConfigError(f"[job] bundle_include: {item!r} is neither an installed "
                              "distribution, nor a module name, nor a path")
    for top in _analysis_tops(workflow):
        provider = _provider_of(top, tops)
        if provider and _normalize(provider) in installed:
            dist_names.append(provider)
        elif top not in sys.stdlib_module_names:
            module_names.append(top)
    for path in _working_directory_entries(cwd):
        top = path.stem if path.is_file() else path.name
        if top not in module_names and top not in tops:
            paths.append(path)
    dists = distribution_closure(dist_names, excluded_dists, installed)
    members: dict[str, Path] = {}

    def add(items: Iterable[tuple[str, Path]]) -> None:
        for member, path in items:
            if any(fnmatch.fnmatchcase(member, p) for p in (*ALWAYS_EXCLUDED, *patterns)):
                continue
            members.setdefault(f"{PYTHON_DIR}/{member}", path)

    for dist in dists:
        add(_dist_files(dist))
    for name in module_names:
        add(_module_files(name))
    for path in paths:
        add(_tree(path.absolute(), path.name))
    bootstrap = workflow.job_bootstrap_file() if hasattr(workflow, "job_bootstrap_file") \
        else None
    if bootstrap:
        if not os.path.isfile(bootstrap):
            raise ConfigError(f"[job] bootstrap_file {bootstrap} does not exist")
        members[BOOTSTRAP] = Path(bootstrap)
    names = [f"{_headers(d)[0]}=={d.version}" for d in dists]
    return Selection(members, names, sorted({*module_names, *(p.name for p in paths)}),
                     Path(bootstrap) if bootstrap else None)


def digest(selection: Selection) -> str:
    """A digest of every member's name and content and of the Python version."""
    h = hashlib.sha256(f"law-core bundle 1\0python {python_version()}\0".encode())
    for member in sorted(selection.members):
        path = selection.members[member]
        h.update(member.encode() + b"\0")
        h.update(b"x" if os.access(path, os.X_OK) else b"-")
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        h.update(b"\0")
    return h.hexdigest()[:20]


def build(workflow: Any, cwd: Path | None = None, cache: Path | None = None) -> Bundle:
    """The bundle of ``workflow``'s jobs: found in the cache by its digest, else built
    there (atomically: concurrent builders of the same content do not disturb each
    other)."""
    started = time.monotonic()
    selection = select(workflow, cwd)
    key = digest(selection)
    cache = cache or cache_directory()
    path = cache / f"{PREFIX}{key}{SUFFIX}"
    if path.is_file():
        return Bundle(path, key, python_version(), path.stat().st_size,
                      len(selection.members), False, time.monotonic() - started)
    cache.mkdir(parents=True, exist_ok=True)
    manifest = {"python": python_version(), "digest": key,
                "distributions": selection.distributions, "modules": selection.modules,
                "files": len(selection.members)}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        # readable by the user alone, as the job files: the analysis's code and data
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw, \
                gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as gz, \
                tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            data = json.dumps(manifest, indent=1).encode()
            _add_bytes(tar, MANIFEST, data)
            for member in sorted(selection.members):
                _add_file(tar, member, selection.members[member])
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    bundle = Bundle(path, key, python_version(), path.stat().st_size,
                    len(selection.members), True, time.monotonic() - started)
    logger.info("built the jobs' software bundle %s: %d files, %.1f MB, %.1f s", path,
                bundle.files, bundle.size / 1e6, bundle.seconds)
    if bundle.size > LARGE:
        logger.warning("the jobs' software bundle is %.0f MB; its largest parts: %s (leave "
                       "out what the jobs do not need with [job] bundle_exclude)",
                       bundle.size / 1e6, ", ".join(_largest(selection)))
    return bundle


def _largest(selection: Selection) -> list[str]:
    sizes: dict[str, int] = {}
    for member, path in selection.members.items():
        top = "/".join(member.split("/")[:2])
        sizes[top] = sizes.get(top, 0) + path.stat().st_size
    return [f"{name} ({size / 1e6:.0f} MB)" for name, size in
            sorted(sizes.items(), key=lambda kv: -kv[1])[:5]]


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    tar.addfile(info, io.BytesIO(data))


def _add_file(tar: tarfile.TarFile, name: str, path: Path) -> None:
    """A regular file with neutral owner and time (no name of this host's users)."""
    info = tarfile.TarInfo(name)
    stat = path.stat()
    info.size = stat.st_size
    info.mode = 0o755 if stat.st_mode & 0o111 else 0o644
    with open(path, "rb") as f:
        tar.addfile(info, f)


def link_into(bundle: Bundle, job_dir: Path) -> Path:
    """The bundle in the job directory (a hard link where possible), where the batch system
    picks it up with the other job files; bundles of earlier runs there are removed."""
    target = job_dir / bundle.name
    for old in job_dir.glob(f"{PREFIX}*{SUFFIX}"):
        if old.name != bundle.name:
            old.unlink(missing_ok=True)
    if not target.exists():
        tmp = job_dir / f".{bundle.name}.{os.getpid()}.tmp"
        tmp.unlink(missing_ok=True)
        try:
            os.link(bundle.path, tmp)
        except OSError:
            shutil.copyfile(bundle.path, tmp)
        os.replace(tmp, target)
    return target


def store_directory() -> str | None:
    """``[job] bundle_store``: a directory (URI or path) the workers fetch bundles from,
    instead of each job carrying its own copy; None when not set."""
    from law_core.config import get_config

    value = (get_config().get("job", "bundle_store", default="") or "").strip()
    return value.rstrip("/") or None


def publish(bundle: Bundle, store: str) -> str:
    """Copy ``bundle`` into the directory ``store`` once (its name holds its digest: one
    that is there is the same); its URI."""
    from law_core.targets.factory import target

    remote = target(store, type="d").child(bundle.name, "f")
    if not remote.exists():
        target(str(bundle.path)).copy_to(remote)
        logger.info("copied the jobs' software bundle to %s", remote.uri())
    return str(remote.uri())


def remove_from(job_dir: Path) -> None:
    """No bundle travels with the jobs of ``job_dir``."""
    for old in bundles_in(job_dir):
        old.unlink(missing_ok=True)


def bundles_in(job_dir: Path) -> list[Path]:
    """The bundle files of a job directory (one after :func:`link_into`)."""
    return sorted(job_dir.glob(f"{PREFIX}*{SUFFIX}"))
