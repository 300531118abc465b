"""Fixtures of law-core-report's tests (run with ``--import-mode=importlib``, which does
not put test directories on sys.path: the helpers' directory is added here)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from law_core.testing import unavailable

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from report_helpers import ANALYSIS, Chromium  # noqa: E402


@pytest.fixture
def analysis(tmp_path: Path) -> Path:
    """A directory with the analysis module and its config (outputs in ./data, run events
    in ./runs)."""
    work = tmp_path / "analysis"
    work.mkdir()
    (work / "analysis.py").write_text(ANALYSIS)
    (work / "law.cfg").write_text(f"[target]\nstore = data\n\n[report]\nruns_dir = {work}/runs\n")
    return work


@pytest.fixture
def chromium(tmp_path: Path) -> Chromium:
    """Skipped where chromium is not installed, unless LAW_CORE_REQUIRE_SERVICES=1."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        unavailable("the report tests need chromium (Debian package: chromium)")
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    return Chromium(binary, artifacts)
