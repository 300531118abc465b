"""``law-core dashboard``: the report of recent and running runs, served live.

Read-only and on loopback by default; any other address needs a token, which every
request presents (``?token=T`` or ``Authorization: Bearer T``). A background thread
collects each run again whenever its event file changed (and while it is live, at least
every :data:`REFRESH_SECONDS`), in a process of its own started in the run's directory
and environment (``python -m law_core_report.cli RUN_FILE``): runs of different analyses,
with different configs, never mix. The page asks for ``/api/state`` every two seconds
and replaces the sections that changed.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from law_core.plugin import ConfigError
from law_core_report.events import is_alive, read_run, run_files
from law_core_report.render import page, section

REFRESH_SECONDS = 2.0
COLLECT_TIMEOUT = 300.0


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Dashboard:
    """The server, and the state of every run it shows."""

    def __init__(self, runs_dir: Path, host: str = "127.0.0.1", port: int = 8765,
                 token: str | None = None, max_runs: int = 8) -> None:
        if not is_loopback(host) and not token:
            raise ConfigError(
                f"the dashboard would listen on {host}, which is not a loopback address, "
                "without a token: anyone who reaches the port would see the analysis. Give "
                "--token SECRET (or $LAW_CORE_DASHBOARD_TOKEN), or listen on 127.0.0.1 and "
                "reach it through an SSH tunnel")
        self.runs_dir = runs_dir
        self.token = token
        self.max_runs = max_runs
        self.runs: dict[str, dict[str, Any]] = {}  # file name -> state
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        handler = type("Handler", (_Handler,), {"dashboard": self})
        try:
            self.server = ThreadingHTTPServer((host, port), handler)
        except OSError as err:
            raise ConfigError(f"the dashboard cannot listen on {host}:{port}: {err}") from None
        self.server.daemon_threads = True
        self.host, self.port = host, self.server.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self.port}/"
        self.refresher = threading.Thread(target=self._refresh_loop, daemon=True)
        self.refresher.start()

    def serve_forever(self) -> None:
        self.server.serve_forever(poll_interval=0.25)

    def shutdown(self) -> None:
        """Stop :meth:`serve_forever` running in another thread."""
        self.server.shutdown()

    def close(self) -> None:
        self.stopping.set()
        self.server.server_close()

    # state

    def _refresh_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                self.refresh()
            except Exception as err:  # keep serving what is known
                sys.stderr.write(f"law-core dashboard: refresh failed: {err}\n")
            self.stopping.wait(0.5)

    def refresh(self) -> None:
        """Collect again the runs whose event files changed."""
        files = run_files(self.runs_dir)[:self.max_runs]
        with self.lock:
            for name in set(self.runs) - {p.name for p in files}:
                del self.runs[name]
        for path in files:
            try:
                stat = path.stat()
            except OSError:
                continue
            with self.lock:
                state = self.runs.setdefault(path.name, {"path": path, "stamp": None,
                                                        "collected": 0.0})
            header, events = read_run(path)
            ended = any(e.get("type") == "end" for e in events)
            live = not ended and is_alive(header)
            stamp = (stat.st_mtime, stat.st_size, live)
            due = stamp != state["stamp"] or (
                live and time.time() - state["collected"] > REFRESH_SECONDS)
            if not due:
                continue
            data = self._collect(path, header)
            run = {"run": (header or {}).get("run") or path.stem, "live": live,
                   "argv": (header or {}).get("argv"), "cwd": (header or {}).get("cwd"),
                   "host": (header or {}).get("host"), "start": (header or {}).get("time"),
                   "end": max((e.get("time", 0) for e in events), default=None)}
            if "error" in data:
                data = _empty_report(run, events, data["error"])
            html = section(data, "run-" + hashlib.sha1(run["run"].encode()).hexdigest()[:8], run)
            version = hashlib.sha1(html.encode()).hexdigest()[:12]
            with self.lock:
                state.update(stamp=stamp, collected=time.time(), run=run, data=data,
                             html=html, version=version)

    def _collect(self, path: Path, header: dict[str, Any] | None) -> dict[str, Any]:
        header = header or {}
        env = dict(os.environ)
        env.update(header.get("env") or {})
        env.pop("LAW_CORE_REPORT_RUN", None)
        cwd = header.get("cwd") or os.getcwd()
        try:
            done = subprocess.run([sys.executable, "-m", "law_core_report.cli", str(path)],
                                  cwd=cwd, env=env, capture_output=True, text=True,
                                  timeout=COLLECT_TIMEOUT)
            return json.loads(done.stdout.strip().splitlines()[-1])
        except (OSError, subprocess.TimeoutExpired, ValueError, IndexError) as err:
            return {"error": f"collecting the run failed: {err}"}

    def state(self) -> dict[str, Any]:
        with self.lock:
            runs = [s for s in self.runs.values() if "html" in s]
        runs.sort(key=lambda s: s["run"].get("start") or 0, reverse=True)
        return {"runs": [{"run": s["run"]["run"], "live": s["run"]["live"],
                          "version": s["version"], "html": s["html"],
                          "totals": s["data"].get("totals"),
                          "nodes": [{"family": n["family"], "params": n["params"],
                                     "state": n["state"], "counts": n["counts"]}
                                    for n in s["data"].get("nodes", [])][:5000]}
                         for s in runs]}

    def page(self) -> str:
        state = self.state()
        sections = [r["html"].replace("<section ", f'<section data-version="{r["version"]}" ', 1)
                    for r in state["runs"]]
        live = {"url": "/api/state" + (f"?token={self.token}" if self.token else ""),
                "interval": 2000}
        return page(sections, f"law-core dashboard: {socket.gethostname()}", live)


def _empty_report(run: dict[str, Any], events: list[dict[str, Any]], error: str
                  ) -> dict[str, Any]:
    """A run whose task could not be rebuilt: what its events say."""
    counts = {s: 0 for s in ("done", "running", "pending", "failed", "missing", "unknown")}
    for e in events:
        if e.get("type") == "task":
            key = {"success": "done", "failure": "failed"}.get(e.get("kind"))
            if key:
                counts[key] += 1
    counts["total"] = sum(counts.values())
    return {"title": " ".join(run.get("argv") or []) or run["run"], "root": 0,
            "generated": time.time(), "nodes": [], "edges": [], "totals": counts,
            "workflows": 0, "runs": [], "collect_seconds": 0, "error": error}


class _Handler(BaseHTTPRequestHandler):
    dashboard: Dashboard
    server_version = "law-core-dashboard"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _allowed(self, query: dict[str, list[str]]) -> bool:
        token = self.dashboard.token
        if not token:
            return True
        given = (query.get("token") or [""])[0]
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            given = given or auth[len("Bearer "):]
        return hmac.compare_digest(given.encode(), token.encode())

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urlparse(self.path)
        if not self._allowed(parse_qs(url.query)):
            return self._send(403, "text/plain", b"a token is needed: ?token=T or the "
                              b"header 'Authorization: Bearer T'\n")
        if url.path == "/":
            return self._send(200, "text/html; charset=utf-8",
                              self.dashboard.page().encode())
        if url.path == "/api/state":
            return self._send(200, "application/json",
                              json.dumps(self.dashboard.state(), default=str).encode())
        return self._send(404, "text/plain", b"not found\n")

    def do_POST(self) -> None:  # noqa: N802 - read-only
        self._send(405, "text/plain", b"the dashboard is read-only\n")

    do_PUT = do_DELETE = do_POST  # noqa: N815

    def _send(self, code: int, kind: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(body)
