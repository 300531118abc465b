"""Sandboxes: the software environment a task's ``run()`` executes in.

A :class:`SandboxTask` names its environment as ``sandbox = "TYPE::NAME"`` (or
``--sandbox TYPE::NAME``, or ``[sandbox] FAMILY = TYPE::NAME``); the sandbox plugin is
chosen by TYPE. Dependencies are resolved outside as usual; only ``run()`` is re-executed
inside, as ``python -m law_core.sandbox MODULE.CLASS PARAMS``, with ``LAW_CORE_SANDBOX``
set so that the task knows it arrived. The core ships ``bash::SETUP_SCRIPT`` and
``venv::PATH``; Docker and Apptainer come as plugins, which build on
:mod:`law_core.sandbox.container` and :mod:`law_core.sandbox.interrupt`. A sandbox
implementation's conformance suite is :class:`law_core.testing.SandboxSuite`.

- :mod:`~law_core.sandbox.base`: the contract (:class:`Sandbox`, :class:`Mount`,
  :func:`sandbox_of`);
- :mod:`~law_core.sandbox.bash`, :mod:`~law_core.sandbox.venv`: the built-in sandboxes;
- :mod:`~law_core.sandbox.task`: :class:`SandboxTask`, the submitting side of a run;
- :mod:`~law_core.sandbox.exchange`: what the two sides tell each other (the expected
  outputs, the resolved config, luigi's callbacks);
- :mod:`~law_core.sandbox.stage`: stage-in and stage-out;
- :mod:`~law_core.sandbox.validation`: :func:`validate_sandboxes`, before anything runs;
- ``__main__``: the inside's entry point.
"""

from law_core.sandbox.base import SANDBOX_ENV, Mount, Sandbox, parse_mounts, sandbox_of
from law_core.sandbox.bash import BashSandbox
from law_core.sandbox.task import SandboxTask
from law_core.sandbox.validation import validate_sandboxes
from law_core.sandbox.venv import VenvSandbox

__all__ = ["SANDBOX_ENV", "BashSandbox", "Mount", "Sandbox", "SandboxTask", "VenvSandbox",
           "parse_mounts", "sandbox_of", "validate_sandboxes"]
