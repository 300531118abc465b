"""Conformance suites: the pytest base classes every backend plugin's tests subclass.

A backend is correct when its subclass of the suite passes against the real backend::

    from law_core.testing import FormatterSuite

    class TestYAMLFormatter(FormatterSuite):
        formatter_name = "yaml"
        extensions = ("yaml", "yml")
        library_module = "yaml"

        def sample(self):
            return {"a": [1, 2, 3]}

The base classes are not named ``Test*``, so pytest collects only the subclasses.
:mod:`law_core.testing.reference_jobs` is a job manager that runs jobs as local processes:
the model of a job-manager plugin, and what law-core's own tests run
:class:`JobManagerSuite` against (the ``law_core_reference_jobs`` fixture).
"""

import sys

from law_core.lazy_exports import lazy_exports

# assertion rewriting for the suites' own asserts, so failures show the values compared;
# only under pytest: law_core.testing.reference_jobs is imported by `law-core` commands
# too, which must not pay for pytest and the suites
if "pytest" in sys.modules:
    sys.modules["pytest"].register_assert_rewrite(
        "law_core.testing.file_system", "law_core.testing.formatter",
        "law_core.testing.job_manager", "law_core.testing.sandbox",
        "law_core.testing.file_interface", "law_core.testing.remote",
        "law_core.testing.notifier")

#: name -> module of the suites and helpers, imported on first use
_LAZY = {
    "CountingFileInterface": "law_core.testing.file_interface",
    "FileInterfaceSuite": "law_core.testing.file_interface",
    "CountingFileSystem": "law_core.testing.file_system",
    "FileSystemSuite": "law_core.testing.file_system",
    "FormatterSuite": "law_core.testing.formatter",
    "JobFilesOnly": "law_core.testing.job_manager",
    "JobManagerSuite": "law_core.testing.job_manager",
    "NotifierSuite": "law_core.testing.notifier",
    "RemoteFileSystemSuite": "law_core.testing.remote",
    "SandboxSuite": "law_core.testing.sandbox",
    "unavailable": "law_core.testing.pytest_plugin",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_exports("law_core.testing", _LAZY, globals())
