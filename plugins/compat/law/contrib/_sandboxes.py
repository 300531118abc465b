"""law's sandbox classes: law-core's, found by the type before ``::`` in ``sandbox``.

law and law-core name sandboxes alike (``sandbox = "docker::IMAGE"``, ``"singularity::IMAGE"``,
``"bash::SETUP_SCRIPT"``, ``"venv::PATH"``), so a law task's ``sandbox`` needs no mapping:
law-core's SandboxTask picks the plugin of that type. What law's modules add are the class
names (``law.docker.DockerSandbox``, ...), which are law-core's classes.
"""

from __future__ import annotations


def sandbox_class(sandbox_type: str) -> type:
    """The class law-core runs ``sandbox_type::...`` sandboxes with (ImportError, law's
    error for missing software, naming the plugin to install when it is not installed)."""
    import law_core
    from law.contrib import ContribError

    registry = law_core.get_registry()
    if sandbox_type not in registry.sandboxes():
        raise ContribError(f"law-core has no '{sandbox_type}::' sandboxes; the plugin that "
                           f"provides them is not installed ('law-core plugins' lists them)")
    return registry.sandbox(sandbox_type).load()
