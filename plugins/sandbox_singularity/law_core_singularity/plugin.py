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
    # [singularity] only: [apptainer] options not set fall back to [singularity]
    from law_core_singularity.settings import SingularitySettings

    return {SingularitySettings.section: SingularitySettings.config_defaults()}
