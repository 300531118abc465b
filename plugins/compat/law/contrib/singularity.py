"""``law.singularity`` (after ``law.contrib.load("singularity")``): law's Singularity
sandbox, which is law-core-singularity's. A task's ``sandbox = "singularity::IMAGE"``
selects it, as in law (``apptainer::IMAGE`` too); its options are law-core-singularity's
``[singularity]`` section (see that plugin's README)."""

from __future__ import annotations

from law.contrib._sandboxes import sandbox_class

__all__ = ["SingularitySandbox"]

SingularitySandbox = sandbox_class("singularity")
