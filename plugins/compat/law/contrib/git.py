"""``law.git`` (after ``law.contrib.load("git")``): ``BundleGitRepository`` with law's
parameters, so that analyses whose remote workflows bundle their repository import and
run their local parts. Bundling itself (law's shell script: the checkout with its
uncommitted changes and submodules) is not supported yet: running the task, or asking
for its checksum, says so."""

from __future__ import annotations

from typing import Any

import luigi

from law.parameter import NO_STR, CSVParameter
from law.task import Task
from law_core.errors import TaskError

__all__ = ["BundleGitRepository"]


def _unsupported(task: Any, what: str) -> TaskError:
    return TaskError(f"{type(task).__name__}: {what} of law.git.BundleGitRepository (bundling "
                     "a git checkout) is not supported by law-core-compat; bundle the "
                     "repository in a task of your own (e.g. git archive) and require that "
                     "instead")


class BundleGitRepository(Task):
    """law's task that bundles a git repository into a tarball. A base class only (see
    the module's docstring)."""

    task_namespace = "law.git"
    exclude_index = True

    exclude_files = CSVParameter(default=(), description="patterns of files to exclude, "
                                 "accepted as in law")
    include_files = CSVParameter(default=(), description="patterns of files to include, "
                                 "accepted as in law")
    custom_checksum = luigi.Parameter(default=NO_STR, description="a custom checksum to use")

    def get_repo_path(self) -> str:
        raise NotImplementedError(f"{type(self).__name__} must define get_repo_path()")

    @property
    def checksum(self) -> str:
        if self.custom_checksum not in (NO_STR, "", None):
            return str(self.custom_checksum)
        raise _unsupported(self, "the checksum")

    def bundle(self, dst_path: Any) -> None:
        raise _unsupported(self, "bundle()")

    def run(self) -> None:
        raise _unsupported(self, "running")
