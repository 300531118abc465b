"""A real Docker daemon and a locally built image for the whole test session.

The daemon is the one answering ``docker info`` if there is one, else ``dockerd`` started
here (and stopped at the end); the image is a debootstrap'ed Debian bookworm with python3
(CPython 3.11, the host's minor version), imported with ``docker import``: nothing is
pulled. See :mod:`law_core.testing.docker`.
"""

from __future__ import annotations

import pytest

from law_core.testing.docker import debian_rootfs, docker_daemon, docker_image


@pytest.fixture(scope="session")
def docker_ready(tmp_path_factory):
    with docker_daemon(tmp_path_factory.mktemp("dockerd")) as started:
        yield started


@pytest.fixture(scope="session")
def docker_client(docker_ready):
    import docker

    client = docker.from_env()
    yield client
    client.close()


@pytest.fixture(scope="session")
def docker_image_tag(docker_ready):
    return docker_image(debian_rootfs())


@pytest.fixture(autouse=True)
def _isolated(law_core_isolated):
    """Config and plugin registry as a fresh process would have them."""
