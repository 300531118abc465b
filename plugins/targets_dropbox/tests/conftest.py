"""The Dropbox STAND-IN (tests/standin/dropbox_api_standin.py, a local HTTPS server that is
not Dropbox) for the whole test session, and the official dropbox SDK pointed at it.

The SDK reads its hosts from ``DROPBOX_API_HOST`` and ``DROPBOX_API_CONTENT_HOST`` when
it is imported, so the stand-in's ports are taken and those variables set here, when pytest
loads this file, before anything imports the SDK. The stand-in's certificate is made now
too; the SDK trusts it through ``ca_certs`` (the plugin's ``dropbox_ca_certs`` option), so
TLS is verified as it would be against Dropbox.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# the suites' own asserts show the values they compare (before the suites are imported)
pytest.register_assert_rewrite("law_core.testing.file_interface", "law_core.testing.remote",
                               "law_core.testing.file_system")

sys.path.insert(0, str(Path(__file__).parent / "standin"))

from dropbox_api_standin import DropboxStandIn, make_certificates  # noqa: E402

_ROOT = tempfile.mkdtemp(prefix="law-core-dropbox-standin-")
atexit.register(shutil.rmtree, _ROOT, True)
CA_CERTS, _CERT, _KEY = make_certificates(os.path.join(_ROOT, "tls"))
STANDIN = DropboxStandIn(os.path.join(_ROOT, "storage"), _CERT, _KEY)
STANDIN.dead_prefixes.update({"/dead", "/unreachable"})
atexit.register(STANDIN.close)

if "dropbox" in sys.modules:  # imported before this file: it would talk to Dropbox
    import dropbox.session

    if dropbox.session.API_HOST != STANDIN.api_host:
        raise pytest.UsageError(
            "the dropbox SDK was imported before plugins/targets_dropbox/tests/conftest.py "
            "could point it at the stand-in; run these tests in a pytest process of their own"
        )
os.environ.update(STANDIN.sdk_environment())


@pytest.fixture(scope="session")
def standin() -> Iterator[DropboxStandIn]:
    """The running stand-in (both hosts)."""
    STANDIN.start()
    yield STANDIN
    STANDIN.stop()


@pytest.fixture(scope="session")
def credentials(standin: DropboxStandIn) -> dict[str, Any]:
    """Options of a Dropbox file system that reach the stand-in: the app's key and
    secret, a refresh token, and the stand-in's CA."""
    return {"app_key": standin.app_key, "app_secret": standin.app_secret,
            "refresh_token": standin.issue_refresh_token(), "dropbox_ca_certs": CA_CERTS}


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:12]


@pytest.fixture(autouse=True)
def _fresh_singletons(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory,
                      credentials: dict[str, Any]) -> Iterator[None]:
    """No user config (an empty file), the stand-in's credentials as the ``[dropbox]``
    defaults (what ``law.target("dropbox://...")`` uses), freshly discovered plugins, no
    remembered bad bases, no injected faults left over."""
    from law_core.config import reset_config
    from law_core.registry import reset_registry
    from law_core.targets.failover import bad_bases
    from law_core.targets.named import reset_file_systems

    for key in list(os.environ):
        if key.startswith("LAW_CORE"):
            monkeypatch.delenv(key)
    empty = tmp_path_factory.mktemp("config") / "law.cfg"
    empty.write_text("")
    monkeypatch.setenv("LAW_CORE_CONFIG", str(empty))
    for option, value in credentials.items():
        monkeypatch.setenv(f"LAW_CORE__DROPBOX__{option.upper()}", value)
    reset_config()
    reset_registry()
    reset_file_systems()
    bad_bases.clear()
    STANDIN.faults.clear()
    yield
    STANDIN.faults.clear()
    reset_config()
    reset_registry()
    reset_file_systems()
    bad_bases.clear()
