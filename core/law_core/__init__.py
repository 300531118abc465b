"""law-core: large analysis workflows on luigi, with backends as plugins.

``import law_core as law`` gives the vocabulary (Task, Workflow, targets, parameters).
Names are imported on first use, so that ``law-core --help`` and plugin discovery do
not pay for importing luigi.
"""

from __future__ import annotations

from law_core.lazy_exports import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    # errors
    "LawCoreError": "law_core.errors", "PluginError": "law_core.errors",
    "BackendNotFoundError": "law_core.errors", "PluginConflictError": "law_core.errors",
    "ConfigError": "law_core.errors", "ParameterError": "law_core.errors",
    "TaskError": "law_core.errors", "TargetError": "law_core.errors",
    "FormatterError": "law_core.errors", "WorkflowError": "law_core.errors",
    "JobSubmissionError": "law_core.errors", "StorageUnreachableError": "law_core.errors",
    "CredentialError": "law_core.errors", "UnknownParameterError": "law_core.errors",
    "CompletenessCheckError": "law_core.errors",
    # tasks and workflows
    "Task": "law_core.task", "WrapperTask": "law_core.task", "ExternalTask": "law_core.task",
    "Workflow": "law_core.workflow.base", "LocalWorkflow": "law_core.workflow.base",
    "JobManager": "law_core.workflow.job_manager",
    "SandboxTask": "law_core.sandbox", "Sandbox": "law_core.sandbox",
    # parameters
    "CSVParameter": "law_core.parameters", "MultiCSVParameter": "law_core.parameters",
    "RangeParameter": "law_core.parameters", "MultiRangeParameter": "law_core.parameters",
    "DurationParameter": "law_core.parameters", "BytesParameter": "law_core.parameters",
    "TaskInstanceParameter": "law_core.parameters",
    "OptionalBoolParameter": "law_core.parameters",
    "NO_STR": "law_core.parameters", "NO_INT": "law_core.parameters",
    "NO_FLOAT": "law_core.parameters", "is_no_param": "law_core.parameters",
    # targets
    "target": "law_core.targets.factory",
    "FileSystem": "law_core.targets.file_system",
    "FileSystemTarget": "law_core.targets.file", "FileTarget": "law_core.targets.file",
    "DirectoryTarget": "law_core.targets.file",
    "LocalFileSystem": "law_core.targets.local", "LocalFileTarget": "law_core.targets.local",
    "LocalDirectoryTarget": "law_core.targets.local",
    "TargetCollection": "law_core.targets.collection",
    "SiblingFileCollection": "law_core.targets.collection",
    "NestedSiblingFileCollection": "law_core.targets.collection",
    "FileInterface": "law_core.targets.file_interface",
    "RemoteFileSystem": "law_core.targets.remote", "RemoteFileTarget": "law_core.targets.remote",
    "RemoteDirectoryTarget": "law_core.targets.remote", "RemoteCache": "law_core.targets.cache",
    "file_system": "law_core.targets.named",
    # formatters, config, plugins
    "Formatter": "law_core.formatter",
    "Config": "law_core.config", "get_config": "law_core.config",
    "get_registry": "law_core.registry",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports('law_core', _EXPORTS, globals())
