"""The sandbox package: its public names, the inside's entry point as every sandbox starts
it, and the one helper that wraps a task's methods for workflows and sandboxes."""

from __future__ import annotations

import os
import subprocess
import sys

import law_core as law
from law_core.wrapping import wrapped_by


def test_public_names_and_modules():
    from law_core.sandbox import (  # noqa: F401
        SANDBOX_ENV,
        BashSandbox,
        Mount,
        Sandbox,
        SandboxTask,
        VenvSandbox,
        parse_mounts,
        sandbox_of,
        validate_sandboxes,
    )
    from law_core.sandbox.container import BOOTSTRAP, wrap_command  # noqa: F401
    from law_core.sandbox.interrupt import Interrupted, interruptible  # noqa: F401

    assert law.SandboxTask is SandboxTask and law.Sandbox is Sandbox
    from law_core.registry import get_registry

    assert get_registry().sandbox("bash").load() is BashSandbox
    assert get_registry().sandbox("venv").load() is VenvSandbox


def test_the_entry_point_runs_as_a_module_and_through_the_container_bootstrap():
    module = subprocess.run([sys.executable, "-m", "law_core.sandbox"], capture_output=True,
                            text=True)
    assert module.returncode == 2 and "usage: python -m law_core.sandbox" in module.stderr
    from law_core.sandbox.container import BOOTSTRAP

    env = dict(os.environ, LAW_CORE_HOST_PYTHON="{}.{}".format(*sys.version_info[:2]),
               LAW_CORE_HOST_PATH="")
    booted = subprocess.run([sys.executable, "-c", BOOTSTRAP.replace("@SECTION@", "docker"),
                             "no_such_module.Task"], env=env, capture_output=True, text=True)
    assert booted.returncode == 1, booted.stderr
    assert "law-core: error:" in booted.stderr and "no_such_module" in booted.stderr


class SandboxedWorkflow(law.SandboxTask, law.LocalWorkflow):
    def create_branch_map(self):
        return [1, 2]

    def output(self):
        return self.local_target(f"{self.branch}.txt")

    def run(self):
        """Writes the branch's file."""


class Inherits(SandboxedWorkflow):
    pass


class Reassigns(SandboxedWorkflow):
    run = SandboxedWorkflow.run


def test_workflow_and_sandbox_wrappers_stack_once_and_keep_the_users_method():
    run = SandboxedWorkflow.__dict__["run"]
    assert wrapped_by(run) == {"workflow-dispatch", "sandbox-run"}
    assert wrapped_by(SandboxedWorkflow.__dict__["output"]) == {"workflow-dispatch",
                                                                "sandbox-output"}
    assert "requires" not in SandboxedWorkflow.__dict__  # not defined here: not wrapped
    assert run.__name__ == "run" and run.__doc__ == "Writes the branch's file."
    assert run.__qualname__ == "SandboxedWorkflow.run"
    assert "run" not in Inherits.__dict__
    assert Reassigns.__dict__["run"] is run  # already wrapped: not wrapped again
