"""Hook implementations of law-core-singularity (cheap to import: no spython)."""

from __future__ import annotations

from law_core.hookspecs import hookimpl


@hookimpl
def law_core_sandboxes() -> list:
    from law_core.records import SandboxRecord

    return [
        SandboxRecord("singularity", "law_core_singularity.sandbox:SingularitySandbox",
                      "singularity exec through spython (singularity::IMAGE: .sif or "
                      "directory)"),
        SandboxRecord("apptainer", "law_core_singularity.sandbox:ApptainerSandbox",
                      "apptainer exec through spython (apptainer::IMAGE: .sif or directory)"),
    ]


@hookimpl
def law_core_config_defaults() -> dict[str, dict[str, str]]:
    # [apptainer] options fall back to these; none falls back to [sandbox] (a [sandbox]
    # python meant for bash sandboxes must not reach a container)
    return {"singularity": {"binary": "", "python": "", "clean_env": "true", "binds": "",
                            "options": ""}}
