"""How many jobs of a remote workflow were pending, running, finished and failed over time:
the data (:func:`timeline`, part of what :mod:`law_core_report.collect` collects) and its
picture, an SVG drawn here (:func:`svg`), so that it shows offline, in a mail or as a file,
without a script or a plotting library.

The times come from what is on disk, so the plot can be made after the run and on another
machine:

- the recorded job events (``law_core_job_event``, :mod:`law_core_report.events`): when
  each attempt of a job was submitted, and when the submitting side saw it run and end (at
  its polls);
- the jobs' exit status files (``status/job_NUM_ATTEMPT.json``, written by the job as it
  ends): when an attempt ended (the file's modification time) and how long its worker ran
  (``duration``), hence when it started; exact, not rounded to a poll. (A job directory
  copied elsewhere needs its modification times kept: ``cp -p``, ``rsync -a``.)

An attempt runs from when a poll saw it running or its worker started, whichever came
first (the job's set-up and bootstrap come before the worker), until its status file was
written (without one: until a poll saw it end). Without events (``--no-events``, another
machine, ``record_events = false``) only each attempt's start and end are known, not how
long it waited in the queue; the caption says so. A job that waits to be submitted again
after a failed attempt counts as pending.
"""

from __future__ import annotations

import json
import math
import os
import textwrap
import time
from html import escape
from pathlib import Path
from typing import Any

#: the plotted states, stacked from the bottom
PLOT_STATES = ("finished", "failed", "running", "pending")
#: a job's bookkeeping status -> its plotted state
_PLOT_STATE = {"unsubmitted": "pending", "submitting": "pending", "pending": "pending",
               "retry": "pending", "running": "running", "finished": "finished",
               "failed": "failed"}
#: most steps kept per workflow (more are sampled at as many evenly spaced times)
MAX_STEPS = 400
#: most plots on a page (``--jobs-svg`` writes all)
MAX_PLOTS = 50
#: nice spacings of the time axis's ticks, in seconds
_TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
               43200, 86400, 172800, 604800)
WIDTH, HEIGHT = 720, 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 46, 14, 30, 30


# the data

def timeline(jobs: list[tuple[dict[str, Any], int, dict[str, Any]]],
             events: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The jobs' counts by state over time.

    ``jobs``: (job directory as :func:`law_core_report.collect._job_dirs` lists it, job
    number, the job as its bookkeeping has it with exit statuses read since applied);
    ``events``: the recorded job events by workflow id. Returns ``steps`` (``[time,
    *counts in PLOT_STATES order]`` after every change), ``start``, ``end``, ``final`` (the
    counts at the end) and what the times come from."""
    listings: dict[str, dict[str, float]] = {}
    by_job: dict[tuple[str, int], list[dict[str, Any]]] = {}
    indexed: set[str] = set()
    points: list[list[tuple[float, str]]] = []
    untimed: dict[str, int] = {}
    sources = {"events": 0, "files": 0, "end_only": 0}
    retried = False
    for d, num, job in jobs:
        job_dir = d["dir"]
        if job_dir not in listings:
            listings[job_dir] = _status_times(Path(job_dir, "status"))
        workflow_id = d["submission"].get("workflow_id")
        if workflow_id not in indexed:
            indexed.add(workflow_id)
            for e in events.get(workflow_id, ()):
                by_job.setdefault((workflow_id, e.get("job")), []).append(e)
        found, source = _job_points(job_dir, listings[job_dir], num, job,
                                    by_job.get((workflow_id, num), []))
        retried = retried or (job.get("attempt") or 0) > 1
        if found:
            points.append(found)
            sources[source] += 1
        else:
            state = _PLOT_STATE.get(job.get("status"), "pending")
            untimed[state] = untimed.get(state, 0) + 1
    steps = _steps(points)
    resampled = len(steps) > MAX_STEPS
    if resampled:
        steps = _sample(steps, MAX_STEPS)
    final = dict(zip(PLOT_STATES, steps[-1][1:])) if steps else dict.fromkeys(PLOT_STATES, 0)
    return {"steps": steps, "states": list(PLOT_STATES),
            "start": steps[0][0] if steps else None, "end": steps[-1][0] if steps else None,
            "final": final, "jobs": len(points), "untimed": untimed, "sources": sources,
            "retried": retried, "resampled": resampled}


def _status_times(directory: Path) -> dict[str, float]:
    """The modification time of every exit status file: when its attempt ended."""
    times = {}
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.name.endswith(".json"):
                    try:
                        times[entry.name] = entry.stat().st_mtime
                    except OSError:
                        pass
    except OSError:
        pass
    return times


def _job_points(job_dir: str, ended: dict[str, float], num: int, job: dict[str, Any],
                events: list[dict[str, Any]]) -> tuple[list[tuple[float, str]], str]:
    """(time, state) of one job's changes, oldest first, and what they come from."""
    last = job.get("attempt") or 0
    final = _PLOT_STATE.get(job.get("status"), "pending")
    attempts: list[list[tuple[float, str]]] = []
    bound = math.inf  # attempt a was submitted before attempt a + 1
    used_events = used_duration = False
    for a in range(last, 0, -1):
        mine = [e for e in events if e.get("attempt") == a]
        submitted = [e for e in mine if e.get("kind") == "submitted" and e.get("time", 0) <= bound]
        if a == last and job.get("job_id"):  # an earlier run's job of the same number aside
            submitted = [e for e in submitted if e.get("job_id") == job["job_id"]] or submitted
        since = max((e.get("time", 0) for e in submitted), default=None)
        window = sorted((e for e in mine
                         if since is not None and since <= e.get("time", 0) < bound),
                        key=lambda e: e.get("time", 0))
        end = ended.get(f"job_{num}_{a}.json")
        duration = _duration(job_dir, num, a, job, last) if end is not None else None
        # the state after this attempt: a failed one before the last waits for its retry
        after = final if a == last else "pending"
        found: list[tuple[float, str]] = []
        if since is not None:
            found.append((since, "pending"))
            used_events = True
        # it ran from when a poll saw it running or its worker started, whichever is first
        # (the wrapper's set-up and bootstrap come before the worker)
        started = [e["time"] for e in window if e.get("status") == "running"][:1]
        if end is not None and duration is not None:
            started.append(end - duration)
            used_duration = True
        if started:
            found.append((min(started), "running"))
        if end is not None:
            found.append((end, after))
        else:
            over = [e for e in window if e.get("status") in ("finished", "failed", "retry")]
            if over:
                found.append((over[-1]["time"], after))
            elif window:  # still active: as the submitting side saw it last
                found.append((window[-1]["time"], _PLOT_STATE.get(window[-1].get("status"),
                                                                   "pending")))
        attempts.append(found)
        if since is not None:
            bound = since
    changes: list[tuple[float, str]] = []
    for found in reversed(attempts):
        for t, state in found:
            t = max(t, changes[-1][0]) if changes else t  # clocks of other hosts
            changes.append((t, state))
    if changes and changes[-1][1] != final:  # as the jobs table has it
        changes.append((changes[-1][0], final))
    source = "events" if used_events else "files" if used_duration else "end_only"
    return changes, source


def _duration(job_dir: str, num: int, attempt: int, job: dict[str, Any], last: int
              ) -> float | None:
    """How long the job worker of an attempt that ended ran: from the bookkeeping for a
    job's only attempt (it has that attempt's), else from its exit status file (an attempt
    that failed before the worker ran has no run time)."""
    extra = job.get("extra") or {}
    if attempt == last == 1 and extra.get("duration") is not None:
        return extra["duration"]
    try:
        status = json.loads(Path(job_dir, "status", f"job_{num}_{attempt}.json").read_text())
    except (OSError, ValueError):
        return None
    duration = status.get("duration")
    return duration if isinstance(duration, (int, float)) else None


def _steps(points: list[list[tuple[float, str]]]) -> list[list[float]]:
    changes = sorted(((t, k, s) for k, found in enumerate(points) for t, s in found),
                     key=lambda c: c[0])  # stable: a job's own changes keep their order
    counts = dict.fromkeys(PLOT_STATES, 0)
    current: dict[int, str] = {}
    steps: list[list[float]] = []
    for t, k, state in changes:
        old = current.get(k)
        if old is not None:
            counts[old] -= 1
        counts[state] += 1
        current[k] = state
        row = [round(t, 3), *(counts[s] for s in PLOT_STATES)]
        if steps and steps[-1][0] == row[0]:
            steps[-1] = row
        else:
            steps.append(row)
    return steps


def _sample(steps: list[list[float]], n: int) -> list[list[float]]:
    """The counts at ``n`` evenly spaced times (the last at the end)."""
    start, end = steps[0][0], steps[-1][0]
    sampled, i = [], 0
    for k in range(n):
        t = start + (end - start) * k / (n - 1)
        while i + 1 < len(steps) and steps[i + 1][0] <= t:
            i += 1
        sampled.append([round(t, 3), *steps[i][1:]])
    sampled[-1] = [end, *steps[-1][1:]]
    return sampled


# the pictures

def figures(report: dict[str, Any], limit: int | None = MAX_PLOTS
            ) -> tuple[list[dict[str, Any]], int]:
    """The plot of every workflow with timed jobs (at most ``limit``): id, family, title,
    svg and caption; and how many more were left out."""
    shown: list[dict[str, Any]] = []
    more = 0
    for node in report["nodes"]:
        line = (node.get("jobs") or {}).get("timeline")
        if not line or not line["steps"]:
            continue
        if limit is not None and len(shown) >= limit:
            more += 1
            continue
        title = f"{node['family']}({node['params']})" if node.get("params") else node["family"]
        shown.append({"id": node["id"], "family": node["family"], "title": title,
                      "timeline": line, "caption": caption(line, node["jobs"]),
                      "svg": svg(line, title)})
    return shown, more


def document(report: dict[str, Any]) -> str | None:
    """All plots of ``report`` stacked in one standalone SVG document (``--jobs-svg``);
    None when no workflow has timed jobs."""
    shown, _ = figures(report, limit=None)
    if not shown:
        return None
    panels, y = [], 0
    for figure in shown:
        notes = textwrap.wrap(figure["caption"], 118)
        height = HEIGHT + 20 + 14 * len(notes) + 10
        panels.append(svg(figure["timeline"], figure["title"], notes=notes, y=y,
                          height=height))
        y += height
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{y}" '
            f'viewBox="0 0 {WIDTH} {y}" font-family="sans-serif" font-size="11">\n'
            '<rect width="100%" height="100%" fill="#ffffff"/>\n'
            + "\n".join(panels) + "\n</svg>\n")


def strip(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``nodes`` without their timelines (the page shows them as SVG, its data need not
    carry them again)."""
    return [n if not (n.get("jobs") or {}).get("timeline") else
            dict(n, jobs={k: v for k, v in n["jobs"].items() if k != "timeline"})
            for n in nodes]


def caption(line: dict[str, Any], jobs: dict[str, Any]) -> str:
    """What the plot shows and what its times come from, in words."""
    managers = ", ".join(jobs.get("managers") or []) or "unknown job manager"
    start, end = line["start"], line["end"]
    text = [f"{line['jobs']} jobs ({managers}) by state, {_when(start, '%Y-%m-%d %H:%M:%S')} "
            f"to {_when(end, '%H:%M:%S' if end - start < 86400 else '%Y-%m-%d %H:%M:%S')} "
            f"({_span(end - start)}, local time)."]
    sources, n = line["sources"], line["jobs"]
    if sources["events"]:
        text.append("When each attempt was submitted and seen running: from the recorded "
                    "job events; when its job worker ran and ended: from the jobs' exit "
                    "status files.")
    if sources["files"] or sources["end_only"]:
        which = "For all jobs" if sources["events"] == 0 else \
            f"For {sources['files'] + sources['end_only']} of {n} jobs"
        text.append(f"{which} only start and end are known (when the job worker ran, from "
                    "their exit status files; no job events were recorded): the time they "
                    "waited in the queue and their set-up are not shown.")
    if sources["end_only"]:
        text.append(f"{sources['end_only']} of them ended before their job worker ran (no "
                    "run time): drawn from their end.")
    if line["untimed"]:
        counts = ", ".join(f"{v} {k}" for k, v in sorted(line["untimed"].items()))
        n_untimed = sum(line["untimed"].values())
        text.append(f"Not drawn: {n_untimed} job{'s' if n_untimed > 1 else ''} without times "
                    f"on disk ({counts}).")
    if line["retried"]:
        text.append("A job waiting to be submitted again counts as pending.")
    if line["resampled"]:
        text.append(f"Counts sampled at {MAX_STEPS} times.")
    return " ".join(text)


def svg(line: dict[str, Any], title: str, notes: list[str] | None = None, y: float = 0,
        height: int = HEIGHT) -> str:
    """The stacked areas of the jobs' states over time, as one ``<svg>`` element: for a
    page (it shrinks with the page), or with ``notes`` for a standalone file (a title
    above the plot and these lines below it)."""
    from law_core_report.render import COLORS

    colors = {**{s: COLORS[s] for s in ("running", "pending", "failed")},
              "finished": COLORS["done"]}
    steps = line["steps"]
    top = _TOP + (20 if notes is not None else 0)
    left, right, bottom = _LEFT, WIDTH - _RIGHT, top + HEIGHT - _TOP - _BOTTOM
    start, last = steps[0][0], steps[-1][0]
    span = max(last - start, 1.0)
    end = last + span * 0.04  # the final counts as a band of their own
    highest = max(1, max(sum(row[1:]) for row in steps))

    def x(t: float) -> float:
        return round(left + (t - start) / (end - start) * (right - left), 1)

    def yv(v: float) -> float:
        return round(bottom - v / highest * (bottom - top), 1)

    final = line["final"]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="job-plot" y="{y}" '
           f'width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
           f'font-family="sans-serif" font-size="11" data-start="{start}" data-end="{last}" '
           + ('style="max-width:100%;height:auto" ' if notes is None else "")
           + f'data-jobs="{line["jobs"]}" data-final="'
           + ",".join(f"{s}:{final[s]}" for s in PLOT_STATES) + '">',
           f"<title>{escape(title)}: jobs by state over time</title>"]
    if notes is not None:
        out.append(f'<text x="{left}" y="16" font-weight="bold" font-size="12">'
                   f"{escape(title)}</text>")
    # the legend, with the counts at the end
    lx = left
    ly = top - 12
    out.append(f'<text class="legend-head" x="{lx}" y="{ly + 4}" fill="#52606d">at the end:'
               "</text>")
    lx += 66
    for s in ("pending", "running", "finished", "failed"):
        out.append(f'<g class="legend legend-{s}" data-state="{s}" data-count="{final[s]}">'
                   f'<rect x="{lx}" y="{ly - 5}" width="10" height="10" rx="2" '
                   f'fill="{colors[s]}"/><text x="{lx + 14}" y="{ly + 4}">{s} {final[s]}'
                   "</text></g>")
        lx += 28 + 7 * len(f"{s} {final[s]}")
    # grid and axes
    out.append(f'<g class="axes" stroke="#d9e2ec" shape-rendering="crispEdges">'
               f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" '
               'fill="#fbfcfd"/>')
    for v in _count_ticks(highest):
        out.append(f'<line x1="{left}" x2="{right}" y1="{yv(v)}" y2="{yv(v)}"/>')
    out.append("</g>")
    # the areas: each state's cumulative count from the bottom, the highest first
    cumulative = [[sum(row[1:k + 2]) for row in steps] for k in range(len(PLOT_STATES))]
    for k in reversed(range(len(PLOT_STATES))):
        state = PLOT_STATES[k]
        if not any(row[k + 1] for row in steps):
            continue
        values = cumulative[k]
        d = [f"M{x(steps[0][0])},{bottom}"]
        for i, v in enumerate(values):
            nxt = steps[i + 1][0] if i + 1 < len(steps) else end
            d.append(f"V{yv(v)}H{x(nxt)}")
        d.append(f"V{bottom}Z")
        out.append(f'<path class="area area-{state}" data-state="{state}" '
                   f'fill="{colors[state]}" shape-rendering="crispEdges" d="{"".join(d)}"/>')
    # tick labels
    out.append('<g class="ticks" fill="#52606d">')
    for v in _count_ticks(highest):
        out.append(f'<text x="{left - 6}" y="{yv(v) + 4}" text-anchor="end">{v}</text>')
    out.append(f'<text x="{left - 6}" y="{top - 12 + 4}" text-anchor="end">jobs</text>')
    for t, label in _time_ticks(start, end):
        out.append(f'<line x1="{x(t)}" x2="{x(t)}" y1="{bottom}" y2="{bottom + 4}" '
                   'stroke="#7b8794"/>'
                   f'<text class="time-tick" x="{x(t)}" y="{bottom + 16}" text-anchor="middle" '
                   f'data-time="{t}">{label}</text>')
    out.append("</g>")
    out.append(f'<line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}" stroke="#7b8794"/>')
    for k, note in enumerate(notes or []):
        out.append(f'<text class="note" x="{left}" y="{bottom + 36 + 14 * k}" '
                   f'fill="#52606d">{escape(note)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _count_ticks(highest: int) -> list[int]:
    """0 and multiples of 1, 2 or 5 times a power of ten, at most six ticks."""
    step = next(m * 10 ** e for e in range(12) for m in (1, 2, 5) if highest / (m * 10 ** e) <= 5)
    return list(range(0, highest + 1, step))


def _time_ticks(start: float, end: float) -> list[tuple[float, str]]:
    """Ticks at round local times (every 2 s, 5 min, 6 h, ...): three to eight (spacings
    grow at most 2.5 times from one to the next)."""
    span = end - start
    step = next((s for s in _TIME_STEPS if span / s <= 8), _TIME_STEPS[-1])
    offset = time.localtime(start).tm_gmtoff
    first = math.ceil((start + offset) / step) * step - offset
    if step < 60:
        fmt = "%H:%M:%S"
    elif step < 86400:
        fmt = "%H:%M" if span < 86400 else "%d %b %H:%M"
    else:
        fmt = "%d %b"
    ticks = []
    t = first
    while t <= end:
        ticks.append((t, time.strftime(fmt, time.localtime(t))))
        t += step
    return ticks or [(start, time.strftime("%H:%M:%S", time.localtime(start)))]


def _when(stamp: float, fmt: str) -> str:
    return time.strftime(fmt, time.localtime(stamp))


def _span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"
