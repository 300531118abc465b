"""How law-core reaches the inside of a container: the host's own Python code, read-only.

The interpreter running law-core here knows every directory its code comes from: the
entries of ``sys.path`` (site-packages of the venv, ``.pth`` additions, ``PYTHONPATH``) and
the package directories that editable installs map through import hooks. Those are mounted
read-only at the same paths, and the container's ``python3`` is started with a short
bootstrap (:data:`BOOTSTRAP`) that adds them as *site* directories (so ``.pth`` files and
editable installs work as they do here) ahead of the image's own site-packages, checks that
its Python has the host's minor version (compiled extension modules need it), and then runs
``law_core.sandbox`` as ``python -m law_core.sandbox`` would.

Shared by the container sandboxes (law-core-docker, law-core-singularity), which depend on
the core alone.
"""

from __future__ import annotations

import os
import sys
import sysconfig

from law_core.errors import TaskError
from law_core.sandbox.base import Mount

#: environment variables the bootstrap reads (and removes) inside
HOST_PATH_ENV = "LAW_CORE_HOST_PATH"
HOST_PYTHON_ENV = "LAW_CORE_HOST_PYTHON"

#: run inside as ``python3 -c BOOTSTRAP MODULE.CLASS PARAMS``; @SECTION@ names the config
#: section in the error message
BOOTSTRAP = """\
import os, site, sys
want = os.environ.pop("LAW_CORE_HOST_PYTHON", "")
have = "%d.%d" % sys.version_info[:2]
if want and want != have:
    sys.stderr.write(
        "law-core: error: the sandbox's %s is Python %s, but the law-core code mounted from "
        "the host is for Python %s: use an image whose python3 is %s, or an image with "
        "law-core installed and set [@SECTION@] python to its interpreter\\n"
        % (sys.executable, have, want, want))
    sys.exit(3)
before = list(sys.path)
for d in os.environ.pop("LAW_CORE_HOST_PATH", "").split(os.pathsep):
    if d:
        site.addsitedir(d)
added = [p for p in sys.path if p not in before]
at = next((i for i, p in enumerate(before) if p.endswith(("site-packages", "dist-packages"))),
          len(before))
sys.path[:] = before[:at] + added + before[at:]
import runpy
runpy.run_module("law_core.sandbox", run_name="__main__", alter_sys=True)
"""

_ENTRY_MODULE = ["-m", "law_core.sandbox"]


def _norm(path: str) -> str:
    return os.path.normpath(os.path.abspath(path))


def _under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def host_code() -> tuple[list[str], list[Mount]]:
    """The directories to add to ``sys.path`` inside, and the read-only mounts that make
    them (and the packages editable installs map elsewhere) visible there."""
    paths = sysconfig.get_paths()
    stdlib = {_norm(paths[key]) for key in ("stdlib", "platstdlib")}
    stdlib |= {os.path.join(p, "lib-dynload") for p in stdlib}

    def in_stdlib(path: str) -> bool:
        # the stdlib directory itself and its lib-dynload, but not a site-packages below it
        return any(_under(path, s) for s in stdlib) and "-packages" not in path

    # the working directory is the core's business (mounted read-write, first on
    # PYTHONPATH); as a site directory its .pth files would run inside but not here
    cwd = _norm(os.getcwd())
    site_dirs: list[str] = []
    for entry in sys.path:
        if not entry or not os.path.isdir(entry):
            continue
        entry = _norm(entry)
        if entry not in site_dirs and entry != cwd and not in_stdlib(entry):
            site_dirs.append(entry)

    extra: list[str] = []
    for name, module in list(sys.modules.items()):
        if "." in name or module is None:
            continue
        mapping = getattr(module, "MAPPING", None) if name.startswith("__editable__") else None
        if isinstance(mapping, dict):  # setuptools' editable finder: package -> directory
            candidates = [str(p) for p in mapping.values()]
        else:
            file = getattr(module, "__file__", None)
            if not isinstance(file, str):
                continue
            base = os.path.basename(file)
            candidates = [os.path.dirname(file) if base.startswith("__init__.") else file]
        for candidate in candidates:
            candidate = _norm(candidate)
            if not os.path.exists(candidate) or in_stdlib(candidate):
                continue
            if any(_under(candidate, d) for d in site_dirs + extra):
                continue
            extra.append(candidate)

    return site_dirs, [Mount(p, p, True) for p in site_dirs + extra]


def wrap_command(command: list[str], env: dict[str, str], section: str
                 ) -> tuple[list[str], dict[str, str], list[Mount]]:
    """The command, environment and extra mounts that run ``command`` (the core's
    ``PYTHON -m law_core.sandbox ...``) inside with the host's law-core code."""
    site_dirs, mounts = host_code()
    if command[1:3] == _ENTRY_MODULE:
        command = [command[0], "-c", BOOTSTRAP.replace("@SECTION@", section), *command[3:]]
    env = dict(env)
    env[HOST_PATH_ENV] = os.pathsep.join(site_dirs)
    env[HOST_PYTHON_ENV] = f"{sys.version_info[0]}.{sys.version_info[1]}"
    return command, env, mounts


def config_file_mount(env: dict[str, str]) -> list[Mount]:
    """The config file the core points ``LAW_CORE_CONFIG`` to, read-only (the core mounts
    the working directory, not a config file elsewhere)."""
    path = env.get("LAW_CORE_CONFIG")
    return [Mount(_norm(path), _norm(path), True)] if path and os.path.isfile(path) else []


def merge_mounts(*groups: list[Mount]) -> list[Mount]:
    """All mounts, the first of each target winning, without those already visible
    through an earlier mount of the same path, parents before children."""
    merged: list[Mount] = []
    for group in groups:
        for mount in group:
            # a source without a slash is a named volume (docker), not a path
            source = _norm(mount.source) if "/" in mount.source else mount.source
            target = os.path.normpath(mount.target)
            same = next((m for m in merged if m.target == target), None)
            if same is not None:
                if same.source != source:
                    raise TaskError(f"two mounts ask for the path {target} inside the sandbox:"
                                    f" {same.source} and {source}")
                continue
            if source == target and any(
                    m.source == m.target and _under(source, m.source)
                    and (mount.read_only or not m.read_only) for m in merged):
                continue  # the path is visible already through a parent mount
            merged.append(Mount(source, target, mount.read_only))
    return sorted(merged, key=lambda m: (m.target.rstrip("/").count("/"), m.target))
