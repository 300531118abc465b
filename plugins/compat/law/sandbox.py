"""law.SandboxTask: law's Task API (law.task) on law-core's sandboxed tasks.

law-core runs ``docker::``, ``singularity::``, ``bash::`` and ``venv::`` sandboxes as law
writes them; what this class adds is law's task vocabulary, including a ``sandbox_env(self,
env)`` hook in law's signature (see :func:`law.task._adapt_sandbox_env`), and law's config
sections of sandboxes, read through law-core's task hooks:

- ``[TYPE_sandbox_env]`` (``bash``, ``venv``, ``docker``, ``singularity``): variables set
  in the sandbox, ``NAME = VALUE``; a NAME without value takes the calling environment's
  value, a NAME with a glob (``MY_*``) every variable it matches. They go to law-core's
  :meth:`~law_core.SandboxTask.sandbox_env`, on top of ``[sandbox] forward_env``.
- ``[TYPE_sandbox_volumes]`` (``docker``, ``singularity``): ``HOST_DIR = CONTAINER_DIR``
  (empty: the same path; ``CONTAINER_DIR:ro`` read-only), made if missing. They go to
  law-core's :meth:`~law_core.SandboxTask.sandbox_mounts`, on top of ``[sandbox] mounts``.
- As in law, a section named after the sandbox's NAME as well (``[docker_sandbox_env_IMAGE]``,
  ``[bash_sandbox_env_SCRIPT]``) is read instead of the general one when it exists.
"""

from __future__ import annotations

import fnmatch
import os

import law_core
from law.task import Task
from law_core.errors import ConfigError
from law_core.plugin import Mount, parse_mounts

__all__ = ["SandboxTask"]

#: the sandbox types whose ``*_sandbox_volumes`` law reads (its bash and venv sandboxes run
#: on this file system and mount nothing)
VOLUME_TYPES = ("docker", "singularity")


def config_section(key: str, postfix: str) -> str | None:
    """law's section of the sandbox ``TYPE::NAME`` for ``postfix`` (``env``, ``volumes``):
    ``TYPE_sandbox_POSTFIX_NAME`` when the config has it, else ``TYPE_sandbox_POSTFIX``
    (None when neither exists)."""
    from law.config import Config

    sandbox_type, _, name = key.partition("::")
    config = Config.instance()
    section = f"{sandbox_type}_sandbox_{postfix}"
    for candidate in (f"{section}_{name}", section):
        if config.has_section(candidate):
            return candidate
    return None


def law_sandbox_env(key: str) -> dict[str, str]:
    """The variables law's ``[TYPE_sandbox_env]`` section sets in the sandbox ``key``."""
    from law.config import Config

    section = config_section(key, "env")
    if section is None:
        return {}
    env: dict[str, str] = {}
    for option, value in Config.instance().items(section):
        if any(c in option for c in "*?["):
            names = sorted(n for n in os.environ if fnmatch.fnmatchcase(n, option))
        else:
            names = [option]
        for name in names:
            env[name] = str(value) if value is not None else os.environ.get(name, "")
    return env


def law_sandbox_volumes(key: str) -> list[Mount]:
    """The mounts law's ``[TYPE_sandbox_volumes]`` section adds to the sandbox ``key``."""
    from law.config import Config

    if key.partition("::")[0] not in VOLUME_TYPES:
        return []
    section = config_section(key, "volumes")
    if section is None:
        return []
    mounts = []
    for host, inside in Config.instance().items(section):
        inside = str(inside or "").strip()
        if "{{LAW_FORWARD_" in inside:
            raise ConfigError(
                f"[{section}] {host} = {inside}: law-core forwards no bin or python directory "
                "of law into the sandbox ({{LAW_FORWARD_BIN}}, {{LAW_FORWARD_PY}}); mount the "
                "directory at a path of its own")
        if not os.path.isfile(host):
            os.makedirs(host, exist_ok=True)  # as law does: a missing directory is made
        mounts += parse_mounts([f"{host}:{inside}" if inside else host], f"[{section}]")
    return mounts


class SandboxTask(Task, law_core.SandboxTask):
    """A task whose ``run()`` runs in the sandbox its ``sandbox`` attribute names."""

    def sandbox_env(self) -> dict[str, str]:
        """law-core's forwarded variables, then those of law's ``[TYPE_sandbox_env]``."""
        env = dict(super().sandbox_env())
        key = self.sandbox_key()
        if key:
            env.update(law_sandbox_env(key))
        return env

    def sandbox_mounts(self) -> list[Mount]:
        """law-core's ``[sandbox] mounts``, then law's ``[TYPE_sandbox_volumes]``."""
        key = self.sandbox_key()
        return list(super().sandbox_mounts()) + (law_sandbox_volumes(key) if key else [])
