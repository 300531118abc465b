"""The sandbox contract: a software environment that runs a command, chosen by the TYPE of
``TYPE::NAME`` among the installed sandbox plugins."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from law_core.errors import TaskError

if TYPE_CHECKING:
    from law_core.sandbox.task import SandboxTask

#: set inside a sandbox to the sandbox's ``TYPE::NAME``
SANDBOX_ENV = "LAW_CORE_SANDBOX"
#: set inside a sandbox to the directory the two sides of the run share (see
#: :mod:`law_core.sandbox.exchange`)
RUN_ENV = "LAW_CORE_SANDBOX_RUN"
#: set inside a sandbox to the JSON file that maps staged targets' URIs to local paths
STAGE_ENV = "LAW_CORE_SANDBOX_STAGE"


@dataclass(frozen=True)
class Mount:
    """A host directory the sandbox must see: at ``target`` (the same path by default)."""

    source: str
    target: str
    read_only: bool = False


def parse_mounts(entries: list[str], option: str, named_sources: bool = False) -> list[Mount]:
    """Mounts from config entries ``SOURCE[:TARGET[:ro|rw]]`` (``option`` names where they
    came from, for the error). A source is a host path (``~`` and ``$VARS`` expanded); with
    ``named_sources``, a plain name is kept as it is (a Docker volume)."""
    from law_core.errors import ConfigError

    mounts = []
    for entry in entries:
        parts = entry.split(":")
        if len(parts) > 3 or not parts[0]:
            raise ConfigError(f"{option} entry {entry!r} is not SOURCE[:TARGET[:ro|rw]]")
        source = parts[0]
        if not named_sources or "/" in source or source.startswith(("~", "$", ".")):
            source = os.path.abspath(os.path.expanduser(os.path.expandvars(source)))
        target = parts[1] if len(parts) > 1 and parts[1] else source
        mode = parts[2] if len(parts) > 2 else "rw"
        if mode not in ("ro", "rw") or not target.startswith("/"):
            raise ConfigError(f"{option} entry {entry!r}: the target must be an absolute path "
                              "and the mode ro or rw")
        mounts.append(Mount(source, target, mode == "ro"))
    return mounts


class Sandbox(ABC):
    """A software environment. Subclasses implement :meth:`run`, and :meth:`validate` for
    what can be checked cheaply before anything runs."""

    #: the TYPE of ``TYPE::NAME``
    type: ClassVar[str] = ""
    #: whether the inside sees the host's local paths, directly or through the mounts
    #: given to :meth:`run`; when False, the core stages every file in and out
    shares_file_system: ClassVar[bool] = True

    def __init__(self, name: str, task: SandboxTask | None = None):
        self.name = name
        self.task = task

    @property
    def key(self) -> str:
        return f"{self.type}::{self.name}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.key!r})"

    def config(self, option: str, default: Any = None) -> Any:
        """An option of the sandbox type's config section (``[docker]``), else of
        ``[sandbox]``, else ``default``."""
        from law_core.config import get_config

        config = get_config()
        return config.get(self.type, option, default=config.get("sandbox", option,
                                                                 default=default))

    def validate(self) -> None:
        """Raise a :class:`~law_core.errors.LawCoreError` if NAME cannot work (a missing
        script, a malformed image name): called for every sandbox a run names before any
        task runs, so it must be cheap (no daemon, no network, no image pull). The base
        has nothing to check beyond the ``TYPE::NAME`` form."""
        return None

    def python(self) -> str:
        """The Python interpreter inside the sandbox."""
        return "python3"

    def environment(self) -> dict[str, str]:
        """Variables the environment defines (the base the task's own ones go on)."""
        return {}

    @abstractmethod
    def run(self, command: list[str], env: dict[str, str], mounts: list[Mount],
            cwd: str) -> int:
        """Execute ``command`` inside, with ``env`` set and ``mounts`` visible, in
        ``cwd``; stream its output; return its exit code. Clean up whatever was started,
        also when the task fails or the process is interrupted."""


def base_environment() -> dict[str, str]:
    """The calling environment without the variables law-core sets for a sandboxed run
    (this process may itself run inside a sandbox)."""
    own = (SANDBOX_ENV, RUN_ENV, STAGE_ENV)
    return {k: v for k, v in os.environ.items() if k not in own}


def sandbox_of(key: str, task: SandboxTask | None = None) -> Sandbox:
    """The sandbox for ``TYPE::NAME``, its plugin chosen by TYPE."""
    from law_core.registry import get_registry

    sandbox_type, sep, name = key.partition("::")
    if not sep or not sandbox_type.strip() or not name.strip():
        raise TaskError(f"a sandbox is given as TYPE::NAME (e.g. docker::image or "
                        f"bash::setup.sh), not {key!r}")
    return get_registry().sandbox(sandbox_type).load()(name, task)
