"""Hook implementations of law-core-docker (cheap to import: no docker SDK)."""

from __future__ import annotations

from law_core.hookspecs import hookimpl


@hookimpl
def law_core_sandboxes() -> list:
    from law_core.records import SandboxRecord

    return [SandboxRecord("docker", "law_core_docker.sandbox:DockerSandbox",
                          "a Docker container through the docker SDK (docker::IMAGE)")]


@hookimpl
def law_core_config_defaults() -> dict[str, dict[str, str]]:
    from law_core_docker.settings import DockerSettings

    return {DockerSettings.section: DockerSettings.config_defaults()}
