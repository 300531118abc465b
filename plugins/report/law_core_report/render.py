"""The report as HTML and SVG, from the plain data of :func:`law_core_report.collect.collect`.

The graph is laid out here, in layers (a task above what it requires) and drawn as SVG, so
the page needs no graph library and no network: one file, inline CSS and a small inline
script for pan, zoom, selection and the branch grids (drawn on a canvas from the
run-length string, never one element per branch). Wide layers wrap into several rows, so
thousands of nodes make a roughly square picture. Above ``[report] svg_max_tasks`` tasks
the page's script draws the same picture on a canvas from the page's data instead
(``--svg`` still writes the SVG).
"""

from __future__ import annotations

import json
import math
import time
from importlib import resources
from typing import Any

import jinja2

from law_core_report import job_plot

NODE_W, NODE_H = 210, 60
GAP_X, GAP_ROW, GAP_LAYER = 24, 26, 70
MARGIN = 20
#: colours of the states, shared by the SVG, the page and the grids
COLORS = {"done": "#2e9d4a", "partial": "#9ccf6b", "running": "#2f7fd8", "pending": "#f0b429",
          "failed": "#d64545", "missing": "#a7adb5", "unknown": "#8e6bbf"}
BAR_STATES = ("done", "running", "pending", "failed", "missing", "unknown")


def layout(nodes: list[dict[str, Any]], edges: list[tuple[int, int]], root: int = 0
           ) -> tuple[float, float]:
    """Give every node ``x``, ``y`` and ``layer``; return the picture's width and height.

    A node's layer is its longest path from the root (requirements below requirers);
    within a layer nodes are ordered by the mean position of their requirers (fewer
    crossings), and a layer wider than about 1.5 sqrt(N) nodes wraps into rows."""
    n = len(nodes)
    children: list[list[int]] = [[] for _ in range(n)]
    parents: list[list[int]] = [[] for _ in range(n)]
    for a, b in edges:
        children[a].append(b)
        parents[b].append(a)
    indegree = [len(p) for p in parents]
    layer = [0] * n
    queue = [i for i in range(n) if indegree[i] == 0]
    seen = 0
    while queue:
        i = queue.pop()
        seen += 1
        for c in children[i]:
            layer[c] = max(layer[c], layer[i] + 1)
            indegree[c] -= 1
            if indegree[c] == 0:
                queue.append(c)
    if seen < n:  # a cycle: its nodes below the rest
        bottom = max(layer, default=0) + 1
        for i in range(n):
            if indegree[i] > 0:
                layer[i] = bottom
    layers: dict[int, list[int]] = {}
    for i in range(n):
        layers.setdefault(layer[i], []).append(i)
    per_row = max(8, math.ceil(1.5 * math.sqrt(n)))
    order: dict[int, float] = {}
    rows: list[list[int]] = []
    row_layer: list[int] = []
    for number in sorted(layers):
        members = layers[number]

        def barycenter(i: int) -> tuple[float, str, str]:
            ranks = [order[p] for p in parents[i] if p in order]
            mean = sum(ranks) / len(ranks) if ranks else math.inf
            return mean, nodes[i]["family"], nodes[i]["params"]

        members.sort(key=barycenter)
        for rank, i in enumerate(members):
            order[i] = rank / max(1, len(members))
        for start in range(0, len(members), per_row):
            rows.append(members[start:start + per_row])
            row_layer.append(number)
    width = max((len(r) for r in rows), default=1) * (NODE_W + GAP_X) - GAP_X + 2 * MARGIN
    y = MARGIN
    for index, row in enumerate(rows):
        if index > 0:
            y += NODE_H + (GAP_LAYER if row_layer[index] != row_layer[index - 1] else GAP_ROW)
        row_width = len(row) * (NODE_W + GAP_X) - GAP_X
        x0 = (width - row_width) / 2
        for k, i in enumerate(row):
            nodes[i].update(x=round(x0 + k * (NODE_W + GAP_X), 1), y=y, layer=row_layer[index])
    height = y + NODE_H + MARGIN
    return width, height


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def _counts_line(node: dict[str, Any]) -> str:
    c = node["counts"]
    if node["kind"] != "workflow":
        return node["state"]
    parts = [f"{c['done']}/{c['total']} done"]
    for state in ("running", "pending", "failed", "unknown"):
        if c[state]:
            parts.append(f"{c[state]} {state}")
    return ", ".join(parts)


def svg(report: dict[str, Any], standalone: bool = True) -> str:
    """The dependency graph as an SVG document (``standalone``: with its own style and
    XML declaration, for ``--svg``); nodes must have been laid out."""
    if "width" not in report:
        report["width"], report["height"] = layout(report["nodes"], report["edges"])
    return _environment().get_template("graph.svg.j2").render(
        report=report, nodes=report["nodes"], W=NODE_W, H=NODE_H, colors=COLORS,
        bar_states=BAR_STATES, short=_short, counts_line=_counts_line, standalone=standalone)


def section(report: dict[str, Any], sid: str, run: dict[str, Any] | None = None) -> str:
    """One report as an HTML section (the page holds one; the dashboard one per run)."""
    if len(report["nodes"]) <= _svg_max_nodes():
        graph = svg(report, standalone=False)
    else:  # drawn on a canvas by the page's script, from the nodes' x and y in its data
        graph = None
        if "width" not in report:
            report["width"], report["height"] = layout(report["nodes"], report["edges"])
    data = {k: v for k, v in report.items() if k not in ("width", "height")}
    data["nodes"] = job_plot.strip(report["nodes"])  # the job plots are drawn as SVG below
    job_plots, more_job_plots = job_plot.figures(report)
    return _environment().get_template("section.html.j2").render(
        report=report, sid=sid, graph=graph, node_size=(NODE_W, NODE_H), run=run,
        colors=COLORS, states=BAR_STATES,
        data=_script_json(data), when=_when, counts_line=_counts_line,
        job_plots=job_plots, more_job_plots=more_job_plots)


def _svg_max_nodes() -> int:
    """Chromium lays out every element of an SVG (about ten per task) on opening the page
    and again on every zoom: about a second for 500 tasks and seconds for 3000, where a
    canvas draws 3000 in milliseconds (benchmarks/report.py)."""
    from law_core_report.settings import settings

    return settings().svg_max_tasks


def page(sections: list[str], title: str, live: dict[str, Any] | None = None) -> str:
    """The whole HTML document: inline CSS and script, nothing fetched from anywhere."""
    files = resources.files("law_core_report") / "templates"
    return _environment().get_template("page.html.j2").render(
        sections=sections, title=title, colors=COLORS, live=_script_json(live or {}),
        css=(files / "report.css").read_text(), js=(files / "report.js").read_text(),
        generated=_when(time.time()))


def html(report: dict[str, Any]) -> str:
    """The self-contained report of one collected task."""
    return page([section(report, "r0")], f"law-core report: {report['title']}")


def _script_json(data: Any) -> str:
    """JSON that is safe inside a <script> element."""
    text = json.dumps(data, separators=(",", ":"), default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _when(stamp: float | None) -> str:
    if not stamp:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


_ENV: jinja2.Environment | None = None


def _environment() -> jinja2.Environment:
    global _ENV
    if _ENV is None:
        _ENV = jinja2.Environment(loader=jinja2.PackageLoader("law_core_report", "templates"),
                                  autoescape=True, trim_blocks=True, lstrip_blocks=True)
    return _ENV
