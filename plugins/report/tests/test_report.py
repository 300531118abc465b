"""``law-core report`` of a real analysis, opened in a real headless Chromium."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from report_dom import Element, parse
from report_helpers import law_core


def _row(dom: Element, family: str, params: str) -> Element:
    rows = [r for r in dom.find_all("tr", cls="row", data_family=family)
            if r.find("td", cls="params").text == params]
    assert len(rows) == 1, [r.find("td", cls="params").text for r in
                            dom.find_all("tr", cls="row", data_family=family)]
    return rows[0]


def _counts(row: Element) -> dict[str, int]:
    return {s: int(row.find("td", cls=f"n-{s}").text)
            for s in ("done", "running", "pending", "failed", "missing", "total")}


def test_report_shows_the_real_state_of_a_local_analysis_with_a_failing_branch(
        analysis: Path, chromium) -> None:
    ran = law_core(["run", "analysis.Plot"], analysis)
    assert ran.returncode == 1 and "branch 4 of Select failed" in ran.stderr, ran.stderr
    made = law_core(["report", "analysis.Plot", "-o", "report.html", "--svg", "graph.svg"],
                    analysis)
    assert made.returncode == 0, made.stderr
    assert "17 done" in made.stdout and "1 failed" in made.stdout, made.stdout
    page = (analysis / "report.html").read_text()
    # self-contained: nothing is fetched from anywhere
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<script src" not in page and "<link" not in page

    url = (analysis / "report.html").as_uri()
    dom = parse(chromium.dom(url))
    chromium.screenshot(url, "report-local.png")
    # the counts of the analysis: Select(data) lost branch 4, so Histogram(data) and Plot
    # never ran; the mc chain is complete
    assert _counts(_row(dom, "Select", "dataset=data, fail=4")) == {
        "done": 5, "running": 0, "pending": 0, "failed": 1, "missing": 0, "total": 6}
    assert _row(dom, "Select", "dataset=data, fail=4").find("td", cls="failed-branches").text \
        == "4"
    assert _counts(_row(dom, "Histogram", "dataset=data, fail=4"))["missing"] == 6
    assert _counts(_row(dom, "Select", "dataset=mc"))["done"] == 6
    assert _counts(_row(dom, "Histogram", "dataset=mc"))["done"] == 6
    assert _row(dom, "Plot", "").attrs["data-state"] == "missing"
    totals = {e.attrs["data-state"]: int(e.attrs["data-count"])
              for e in dom.find_all("span", cls="total")}
    assert totals["done"] == 17 and totals["failed"] == 1 and totals["missing"] == 7
    # the graph: one node per workflow, the failed one red, edges requirer -> requirement
    nodes = dom.find_all("g", cls="node")
    assert len(nodes) == 5
    failed = [n for n in nodes if n.attrs["data-state"] == "failed"]
    assert len(failed) == 1 and failed[0].attrs["data-failed"] == "1"
    assert len(dom.find_all("path", cls="edge")) == 4
    # the script ran in the browser: the failed workflow is selected, its grid drawn from
    # the run-length string, its failed branch named with the error the run recorded
    details = dom.find("div", cls="details")
    assert "dataset=data, fail=4" in details.find("h3").text
    assert details.find("canvas").attrs["data-drawn"] == "done:5,failed:1"
    assert details.find("p", cls="failed-list").text == "failed branches: 4"
    assert "branch 4: branch 4 cannot read its input file" in details.find("pre", cls="error").text
    assert "data/Select/data" in details.find("p", cls="outputs").text

    # the graph alone, as a picture
    svg = ET.parse(analysis / "graph.svg").getroot()
    ns = "{http://www.w3.org/2000/svg}"
    groups = [g for g in svg.iter(f"{ns}g") if "node" in g.get("class", "").split()]
    assert sorted(g.get("data-state") for g in groups) == ["done", "done", "failed", "missing",
                                                           "missing"]


def test_a_large_graph_is_drawn_on_a_canvas_with_the_same_facts(analysis: Path,
                                                               chromium) -> None:
    """Above ``[report] svg_max_tasks`` the page holds no SVG of the graph: its script draws
    the graph on a canvas (Chromium takes seconds to open an SVG of thousands of tasks). Set
    to 0 here, so the five tasks of the test analysis take that path."""
    config = analysis / "law.cfg"
    config.write_text(config.read_text() + "svg_max_tasks = 0\n")
    ran = law_core(["run", "analysis.Plot"], analysis)
    assert ran.returncode == 1, ran.stderr
    made = law_core(["report", "analysis.Plot", "-o", "canvas.html"], analysis)
    assert made.returncode == 0, made.stderr
    url = (analysis / "canvas.html").as_uri()
    dom = parse(chromium.dom(url))
    chromium.screenshot(url, "report-canvas.png")
    assert not dom.find_all("g", cls="node")
    canvas = dom.find("canvas", cls="graph-canvas")
    assert canvas.attrs["data-nodes"] == "5" and canvas.attrs["data-edges"] == "4"
    assert canvas.attrs["data-states"] == "done:2,failed:1,missing:2"
    assert int(canvas.attrs["width"]) > 300
    # the rest of the page as with the SVG: the failed workflow selected, its grid drawn
    details = dom.find("div", cls="details")
    assert "dataset=data, fail=4" in details.find("h3").text
    assert details.find("canvas", cls="grid").attrs["data-drawn"] == "done:5,failed:1"
    assert len(dom.find_all("tr", cls="row")) == 5


def test_report_after_the_run_and_elsewhere_needs_only_the_outputs(analysis: Path,
                                                                  tmp_path: Path) -> None:
    """Without the recorded events (another machine), done and missing come from the
    outputs; the branch that failed is missing."""
    assert law_core(["run", "analysis.Plot"], analysis).returncode == 1
    made = law_core(["report", "analysis.Plot", "--no-events", "-o", "r.html"], analysis)
    assert made.returncode == 0, made.stderr
    assert "17 done" in made.stdout and "0 failed" in made.stdout and "8 missing" in made.stdout


def test_report_of_a_task_that_does_not_exist_is_a_clear_error(analysis: Path) -> None:
    made = law_core(["report", "analysis.Nope", "-o", "r.html"], analysis)
    assert made.returncode == 1 and "law-core: error:" in made.stderr
    assert not (analysis / "r.html").exists()
