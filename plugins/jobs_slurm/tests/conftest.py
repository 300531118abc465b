"""law-core-slurm's tests run against the real one-node cluster of law-core's pytest plugin."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def slurm(law_core_slurm_cluster):
    return law_core_slurm_cluster


@pytest.fixture(autouse=True)
def _isolated(law_core_isolated):
    """Config and plugin registry as a fresh process would have them."""
