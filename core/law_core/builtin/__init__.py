"""The core's own backends, registered through the core's entry point like any plugin.

Every ``law-core`` command imports this module, so the records are imported inside the
hooks: ``law-core --help`` then pays for none of them.
"""

from __future__ import annotations

from law_core.hookspecs import hookimpl

_FORMATTERS = "law_core.builtin.formatters"


@hookimpl
def law_core_file_systems() -> list:
    from law_core.records import FileSystemRecord

    return [FileSystemRecord("local", "law_core.targets.local:LocalFileSystem",
                             "the local disk", schemes=("file",))]


@hookimpl
def law_core_formatters() -> list:
    from law_core.records import FormatterRecord

    return [
        FormatterRecord("text", f"{_FORMATTERS}:TextFormatter", "plain text",
                        extensions=("txt", "log", "text")),
        FormatterRecord("json", f"{_FORMATTERS}:JSONFormatter", "JSON", extensions=("json",)),
        FormatterRecord("pickle", f"{_FORMATTERS}:PickleFormatter", "Python pickles",
                        extensions=("pkl", "pickle")),
        FormatterRecord("gzip", f"{_FORMATTERS}:GzipFormatter", "gzip-compressed data",
                        extensions=("gz",)),
        FormatterRecord("zip", f"{_FORMATTERS}:ZipFormatter", "zip archives",
                        extensions=("zip",)),
        FormatterRecord("tar", f"{_FORMATTERS}:TarFormatter", "tar archives",
                        extensions=("tar", "tar.gz", "tgz", "tar.bz2", "tbz2", "tar.xz", "txz")),
    ]


@hookimpl
def law_core_job_managers() -> list:
    from law_core.records import JobManagerRecord

    return [JobManagerRecord("local", "law_core.workflow.local:LocalJobManager",
                             "branches on this machine, in this process or a process pool",
                             config_defaults={})]


@hookimpl
def law_core_sandboxes() -> list:
    from law_core.records import SandboxRecord

    return [
        SandboxRecord("bash", "law_core.sandbox.bash:BashSandbox",
                      "the environment a bash setup script leaves (bash::SETUP_SCRIPT)"),
        SandboxRecord("venv", "law_core.sandbox.venv:VenvSandbox",
                      "a Python virtual environment (venv::PATH)"),
    ]


@hookimpl
def law_core_config_defaults() -> dict[str, dict[str, str]]:
    return {
        "target": {"store": "data", "local_store": "data"},
        "local_workflow": {"workers": "1"},
        "core": {"index_file": ".law-core/index.json"},
    }
