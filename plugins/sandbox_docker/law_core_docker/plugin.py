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
    # every option has its default here, so that none falls back to [sandbox] (a
    # [sandbox] python meant for bash sandboxes must not reach a container)
    return {"docker": {"python": "", "network": "bridge", "run_as_root": "false",
                       "gpus": "", "volumes": "", "pull": "missing"}}
