"""law.SandboxTask: law's Task API (law.task) on law-core's sandboxed tasks.

law-core runs ``docker::``, ``singularity::``, ``bash::`` and ``venv::`` sandboxes as law
writes them; what this class adds is law's task vocabulary, including a ``sandbox_env(self,
env)`` hook in law's signature (see :func:`law.task._adapt_sandbox_env`).
"""

from __future__ import annotations

import law_core
from law.task import Task

__all__ = ["SandboxTask"]


class SandboxTask(Task, law_core.SandboxTask):
    """A task whose ``run()`` runs in the sandbox its ``sandbox`` attribute names."""
