"""Fixtures shared by the core's tests."""

from __future__ import annotations

import os

import pytest

from law_core.config import reset_config
from law_core.registry import reset_registry
from law_core.testing.cli import PluginVenv


@pytest.fixture(autouse=True)
def _fresh_singletons(monkeypatch):
    """Each test starts with no user config and freshly discovered plugins."""
    for key in list(os.environ):
        if key.startswith("LAW_CORE"):
            monkeypatch.delenv(key)
    reset_config()
    reset_registry()
    yield
    reset_config()
    reset_registry()


@pytest.fixture
def plugin_venv(tmp_path) -> PluginVenv:
    return PluginVenv(tmp_path / "pv")


