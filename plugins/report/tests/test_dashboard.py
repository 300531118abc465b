"""``law-core dashboard``: runs appear live, side by side; loopback unless a token is set."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from law_core_report.dashboard import Dashboard
from report_dom import parse
from report_helpers import law_core, start_law_core

from law_core.plugin import ConfigError


@pytest.fixture
def board(analysis: Path) -> Iterator[Dashboard]:
    dashboard = Dashboard(analysis / "runs", host="127.0.0.1", port=0)
    thread = threading.Thread(target=dashboard.serve_forever, daemon=True)
    thread.start()
    yield dashboard
    dashboard.shutdown()
    dashboard.close()
    thread.join(10)


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _state(board: Dashboard) -> dict[str, Any]:
    code, body = _get(board.url + "api/state")
    assert code == 200
    return json.loads(body)


def _wait(what: Callable[[], Any], timeout: float, message: str) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = what()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(message)


def _node(run: dict[str, Any], family: str, params: str = "") -> dict[str, Any]:
    (node,) = [n for n in run["nodes"] if n["family"] == family and n["params"] == params]
    return node


def test_dashboard_shows_a_run_live_and_then_its_end_beside_another_run(
        analysis: Path, board: Dashboard, chromium) -> None:
    # a finished run with a failed branch
    assert law_core(["run", "analysis.Plot"], analysis).returncode == 1
    # a run seen while it runs: its first branch waits for the gate
    gate = analysis / "gate"
    running = start_law_core(["run", "analysis.Gated", "--gate", str(gate)], analysis)
    try:
        def live_run() -> Any:
            for run in _state(board)["runs"]:
                gated = [n for n in run["nodes"] if n["family"] == "Gated"]
                if run["live"] and gated and gated[0]["counts"]["running"] == 1:
                    return run
        live = _wait(live_run, 60, "the running branch of the live run did not appear")
        counts = _node(live, "Gated", f"gate={gate}")["counts"]
        assert (counts["running"], counts["missing"], counts["done"]) == (1, 2, 0)
        # both runs side by side in the browser, the finished one with its failure
        dom = parse(chromium.dom(board.url))
        chromium.screenshot(board.url, "dashboard-live.png")
        sections = dom.find_all("section", cls="report")
        assert len(sections) == 2
        states = sorted(s.attrs["data-live"] for s in sections)
        assert states == ["false", "true"]
        ended = [s for s in sections if s.attrs["data-live"] == "false"][0]
        row = [r for r in ended.find_all("tr", cls="row", data_family="Select")
               if r.find("td", cls="params").text == "dataset=data, fail=4"][0]
        assert row.find("td", cls="n-failed").text == "1"
        assert row.find("td", cls="failed-branches").text == "4"
        live_section = [s for s in sections if s.attrs["data-live"] == "true"][0]
        assert live_section.find("tr", cls="row", data_family="Gated").find(
            "td", cls="n-running").text == "1"
    finally:
        gate.write_text("open")
        out, err = running.communicate(timeout=120)
    assert running.returncode == 0, err

    def finished() -> Any:
        runs = _state(board)["runs"]
        done = [r for r in runs if not r["live"] and any(
            n["family"] == "Gated" for n in r["nodes"])]
        if done and _node(done[0], "Gated", f"gate={gate}")["counts"]["done"] == 3:
            return done[0]
    _wait(finished, 60, "the end of the run did not reach the dashboard")


def test_dashboard_needs_a_token_off_loopback_and_checks_it(analysis: Path) -> None:
    with pytest.raises(ConfigError, match="not a loopback address"):
        Dashboard(analysis / "runs", host="0.0.0.0", port=0)
    refused = law_core(["dashboard", "--host", "0.0.0.0", "--port", "0"], analysis)
    assert refused.returncode == 1 and "--token" in refused.stderr
    board = Dashboard(analysis / "runs", host="127.0.0.1", port=0, token="s3cret")
    thread = threading.Thread(target=board.serve_forever, daemon=True)
    thread.start()
    try:
        assert _get(board.url)[0] == 403
        assert _get(board.url + "api/state?token=wrong")[0] == 403
        assert _get(board.url + "?token=s3cret")[0] == 200
        assert _get(board.url + "api/state",
                    {"Authorization": "Bearer s3cret"})[0] == 200
        request = urllib.request.Request(board.url + "?token=s3cret", data=b"x", method="POST")
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(request, timeout=10)
        assert err.value.code == 405  # read-only
    finally:
        board.shutdown()
        board.close()
        thread.join(10)
