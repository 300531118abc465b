"""``law.docker`` (after ``law.contrib.load("docker")``): law's Docker sandbox, which is
law-core-docker's. A task's ``sandbox = "docker::IMAGE"`` selects it, as in law; its
options are law-core-docker's ``[docker]`` section (see that plugin's README)."""

from __future__ import annotations

from law.contrib._sandboxes import sandbox_class

__all__ = ["DockerSandbox"]

DockerSandbox = sandbox_class("docker")
