"""Shared by every test of this repository (the core's and each plugin's)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="session")
def _no_records_in_the_users_directories(tmp_path_factory: pytest.TempPathFactory
                                         ) -> Iterator[None]:
    """What the tests' runs record (provenance databases, run events, failure logs) goes
    to a directory of the session, not to the user's ``~/.local/share`` and ``~/.cache``;
    subprocesses inherit it."""
    base = tmp_path_factory.mktemp("user-dirs")
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_DATA_HOME", str(base / "data"))
    patch.setenv("XDG_CACHE_HOME", str(base / "cache"))
    yield
    patch.undo()
