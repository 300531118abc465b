"""Fresh law-core singletons per test, a port nothing listens on, and a small real HTTP
server (Python's http.server) whose answers the tests choose."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

# the suites' own asserts show the values they compare (before the suites are imported)
pytest.register_assert_rewrite("law_core.testing.file_interface", "law_core.testing.remote")

from law_core.testing.services import free_port  # noqa: E402


@pytest.fixture(scope="session")
def dead_port() -> int:
    """A port nothing listens on."""
    return free_port()


#: what the HTTP server answers: path -> (status, body)
ANSWERS = {
    "/ok.txt": (200, b"hello over http"),
    "/busy.txt": (503, b"try again later"),
    "/forbidden.txt": (403, b"no"),
}


class _Handler(BaseHTTPRequestHandler):
    def _answer(self, with_body: bool) -> None:
        status, body = ANSWERS.get(self.path, (404, b"not found"))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def do_HEAD(self) -> None:  # noqa: N802 (http.server's naming)
        self._answer(False)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(True)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def http_url() -> Iterator[str]:
    """``http://127.0.0.1:PORT/`` of a real HTTP server answering :data:`ANSWERS`."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``config(text)`` makes ``text`` the law-core config of the test (LAW_CORE_CONFIG)."""
    from law_core.config import reset_config

    def write(text: str) -> Path:
        path = tmp_path / f"law-{len(list(tmp_path.glob('law-*.cfg')))}.cfg"
        path.write_text(text)
        monkeypatch.setenv("LAW_CORE_CONFIG", str(path))
        reset_config()
        return path

    return write


@pytest.fixture(autouse=True)
def _fresh_singletons(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No user config, freshly discovered plugins, no remembered bad bases."""
    from law_core.config import reset_config
    from law_core.registry import reset_registry
    from law_core.targets.failover import bad_bases

    for key in list(os.environ):
        if key.startswith("LAW_CORE"):
            monkeypatch.delenv(key)
    reset_config()
    reset_registry()
    bad_bases.clear()
    yield
    reset_config()
    reset_registry()
    bad_bases.clear()
