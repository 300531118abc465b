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
"""

import pytest

# assertion rewriting for the suites' own asserts, so failures show the values compared
pytest.register_assert_rewrite("law_core.testing.file_system", "law_core.testing.formatter",
                               "law_core.testing.job_manager", "law_core.testing.sandbox",
                               "law_core.testing.file_interface", "law_core.testing.remote")

from law_core.testing.file_interface import (  # noqa: E402
    CountingFileInterface,
    FileInterfaceSuite,
)
from law_core.testing.file_system import CountingFileSystem, FileSystemSuite  # noqa: E402
from law_core.testing.formatter import FormatterSuite  # noqa: E402
from law_core.testing.job_manager import JobManagerSuite  # noqa: E402
from law_core.testing.remote import RemoteFileSystemSuite  # noqa: E402
from law_core.testing.sandbox import SandboxSuite  # noqa: E402

__all__ = ["CountingFileInterface", "CountingFileSystem", "FileInterfaceSuite",
           "FileSystemSuite", "FormatterSuite", "JobManagerSuite", "RemoteFileSystemSuite",
           "SandboxSuite"]
