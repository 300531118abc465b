"""law-core-arc's tests run against a real A-REX (ARC 6) on this machine, fork LRMS."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

from law_core.testing import unavailable


@pytest.fixture(scope="session")
def arc_fork_ce():
    """A CE whose jobs run at once on this host, as the unix user arcuser."""
    if shutil.which("arched", path="/usr/sbin:/usr/bin") is None or not shutil.which("arcsub"):
        unavailable("the ARC tests need A-REX and the ARC client (Debian packages: "
                    "nordugrid-arc-arex nordugrid-arc-client nordugrid-arc-arcctl "
                    "nordugrid-arc-plugins-arcrest nordugrid-arc-plugins-needed)")
    if os.geteuid() != 0:
        unavailable("the test ARC CE needs root (it maps jobs to another unix user)")
    from law_core.testing.arc import arc_ce

    # not under pytest's basetemp (mode 0700): the jobs' user must reach its directories
    base = tempfile.mkdtemp(prefix="law-core-arc-")
    try:
        with arc_ce(base, "fork") as ce:
            yield ce
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(autouse=True)
def _isolated(law_core_isolated):
    """Config and plugin registry as a fresh process would have them."""
