"""law's import name on top of law-core: analyses written for law 0.1.x run unchanged.

The layer is thin: each name maps onto law-core's mechanism. Names are imported on first
use, as in ``law_core``; the submodules law users reach as attributes (``law.util``,
``law.config``, ``law.decorator``, ...) are imported on first access, too.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.21"

#: name -> module that defines it under the same name
_EXPORTS: dict[str, str] = {
    # tasks
    "Task": "law.task", "WrapperTask": "law.task", "ExternalTask": "law.task",
    "Register": "law.task",
    # workflows
    "BaseWorkflow": "law.workflow", "Workflow": "law.workflow", "LocalWorkflow": "law.workflow",
    "WorkflowParameter": "law.workflow", "workflow_property": "law.workflow",
    "cached_workflow_property": "law.workflow", "dynamic_workflow_condition": "law.workflow",
    # parameters
    "NO_STR": "law.parameter", "NO_INT": "law.parameter", "NO_FLOAT": "law.parameter",
    "is_no_param": "law.parameter", "get_param": "law.parameter", "Parameter": "law.parameter",
    "TaskInstanceParameter": "law.parameter", "OptionalBoolParameter": "law.parameter",
    "DurationParameter": "law.parameter", "BytesParameter": "law.parameter",
    "CSVParameter": "law.parameter", "MultiCSVParameter": "law.parameter",
    "RangeParameter": "law.parameter", "MultiRangeParameter": "law.parameter",
    "NotifyParameter": "law.parameter", "NotifyMultiParameter": "law.parameter",
    "NotifyMailParameter": "law.parameter", "NotifyCustomParameter": "law.parameter",
    # targets: law-core's own classes
    "FileSystemTarget": "law_core", "LocalFileSystem": "law_core",
    # local targets expand $VAR in paths, as law's do
    "LocalFileTarget": "law.target.local", "LocalDirectoryTarget": "law.target.local",
    "LocalTarget": "law.target.local",
    # collections with law's API (law.target.collection), on law-core's listings
    "TargetCollection": "law.target.collection", "FileCollection": "law.target.collection",
    "SiblingFileCollection": "law.target.collection",
    "NestedSiblingFileCollection": "law.target.collection",
    # sandboxes
    "Sandbox": "law_core", "SandboxTask": "law.sandbox",
    # configuration and helpers
    "Config": "law.config",
    "no_value": "law.util",
    "notify_mail": "law.notification",
    # jobs
    "JobInputFile": "law.job", "BaseJobFileFactory": "law.job",
}

#: law's name -> (module, name there), where law-core names the same thing differently
_ALIASES: dict[str, tuple[str, str]] = {
    "FileSystemFileTarget": ("law_core", "FileTarget"),
    "FileSystemDirectoryTarget": ("law_core", "DirectoryTarget"),
    "run": ("law.util", "law_run"),
}

#: law's sandbox classes -> the type of law-core's sandbox (``bash::SCRIPT``, ``venv::PATH``)
_SANDBOXES: dict[str, str] = {"BashSandbox": "bash", "VenvSandbox": "venv"}

#: submodules that ``import law`` makes reachable as attributes
_SUBMODULES = ("util", "config", "decorator", "parameter", "task", "workflow", "contrib",
               "cli", "target", "notification", "job")

#: names of law 0.1.21 that law-core-compat does not provide yet, with what to use instead
_MISSING: dict[str, str] = {
    "MirroredTarget": "a law_core target on the remote file system",
    "MirroredFileTarget": "a law_core target on the remote file system",
    "MirroredDirectoryTarget": "a law_core target on the remote file system",
    "BaseJobManager": "law_core.plugin.RemoteJobManager",
    "JobArguments": "the job manager plugins of law-core",
    "localize_file_targets": "target.localize() of each target",
}

__all__ = sorted([*_EXPORTS, *_ALIASES, *_SANDBOXES, "luigi_version", "luigi_version_info"])


def _luigi_version() -> tuple[str, tuple[Any, ...]]:
    import re

    import luigi

    version = getattr(luigi, "__version__", "2.8.10")
    m = re.match(r"^(\d+)\.(\d+)\.(\d+)(.*)$", version)
    info = tuple(int(p) if i < 3 else p for i, p in enumerate(m.groups())) if m else ()
    return version, info


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name in _ALIASES:
        module, attr = _ALIASES[name]
        value = getattr(importlib.import_module(module), attr)
    elif name in _SANDBOXES:
        from law.contrib._sandboxes import sandbox_class

        value = sandbox_class(_SANDBOXES[name])
    elif name in _SUBMODULES:
        value = importlib.import_module(f"{__name__}.{name}")
    elif name in ("luigi_version", "luigi_version_info"):
        version, info = _luigi_version()
        globals().update(luigi_version=version, luigi_version_info=info)
        return globals()[name]
    elif name in _MISSING:
        raise AttributeError(f"law.{name} is not yet supported by law-core-compat; use "
                             f"{_MISSING[name]} instead")
    else:
        from law.contrib import missing_module

        raise missing_module(name) or AttributeError(f"module 'law' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | set(_SUBMODULES))
