"""A real one-node Slurm cluster for the whole test session."""

from __future__ import annotations

import os

import pytest

from law_core.testing.slurm import slurm_cluster


@pytest.fixture(scope="session")
def slurm(tmp_path_factory):
    with slurm_cluster(tmp_path_factory.mktemp("slurm")) as cluster:
        old = os.environ.get("SLURM_CONF")
        os.environ["SLURM_CONF"] = cluster.env["SLURM_CONF"]
        try:
            yield cluster
        finally:
            if old is None:
                os.environ.pop("SLURM_CONF", None)
            else:
                os.environ["SLURM_CONF"] = old


@pytest.fixture(autouse=True)
def _fresh_singletons():
    """Config and plugin registry as a fresh process would have them."""
    from law_core.config import reset_config
    from law_core.registry import reset_registry

    reset_config()
    reset_registry()
    yield
    reset_config()
    reset_registry()
