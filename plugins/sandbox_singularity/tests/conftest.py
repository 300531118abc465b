"""A STAND-IN ``apptainer`` and a directory image for the tests.

Neither Apptainer nor Singularity can be installed on the machines the tests run on:
``tests/standin/apptainer`` is a stand-in (not Apptainer) that runs ``exec`` in a directory
image with the binds asked for (see its docstring). It is put first on the PATH of the
law-core processes the tests start, and the plugin's real code path finds it there:
spython runs ``singularity exec ...``, which the plugin points at the chosen binary. The
image is the debootstrap'ed Debian bookworm with python3 that the Docker tests import
(:func:`law_core.testing.docker.debian_rootfs`, cached between runs).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from law_core.testing.docker import debian_rootfs

STANDIN = Path(__file__).resolve().parent / "standin"


@pytest.fixture(scope="session")
def rootfs() -> Path:
    return debian_rootfs()


@pytest.fixture
def standin_env(tmp_path) -> dict[str, str]:
    """PATH with the stand-in first, and the file where it logs its calls."""
    return {"PATH": f"{STANDIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "LAW_CORE_STANDIN_LOG": str(tmp_path / "standin-calls.jsonl")}


@pytest.fixture(autouse=True)
def _isolated(law_core_isolated):
    """Config and plugin registry as a fresh process would have them."""
