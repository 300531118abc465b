"""The jobs of a remote workflow by state over time, in the report and as ``--jobs-svg``:
law-core's reference job manager (``--workflow processes``, jobs as local processes) runs
the branches as jobs, one of which fails twice (``--retries 1``)."""

from __future__ import annotations

import json
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from report_dom import parse
from report_helpers import law_core

SVG = "{http://www.w3.org/2000/svg}"
RUN = ["run", "analysis.Select", "--dataset", "data", "--fail", "4", "--workflow", "processes",
       "--retries", "1", "--poll-interval", "1s"]


def _final(counts: str) -> dict[str, int]:
    return {k: int(v) for k, v in (part.split(":") for part in counts.split(","))}


def _job_files(analysis: Path) -> tuple[dict, dict[str, tuple[float, dict]]]:
    """The bookkeeping and the exit status files (modification time, content) of the run."""
    (job_dir,) = (analysis / "data" / "Select" / "jobs").iterdir()
    submission = json.loads((job_dir / "submission.json").read_text())
    statuses = {p.name: (p.stat().st_mtime, json.loads(p.read_text()))
                for p in (job_dir / "status").glob("job_*.json")}
    return submission, statuses


def test_job_plot_shows_the_jobs_states_over_the_real_run(
        analysis: Path, law_core_reference_jobs, chromium) -> None:
    env = law_core_reference_jobs.env
    before = time.time()
    ran = law_core(RUN, analysis, env)
    after = time.time()
    assert ran.returncode == 1, ran.stderr
    submission, statuses = _job_files(analysis)
    real: dict[str, int] = {}
    for job in submission["jobs"].values():
        real[job["status"]] = real.get(job["status"], 0) + 1
    assert real == {"finished": 5, "failed": 1}
    assert submission["jobs"]["5"]["attempt"] == 2  # branch 4's job ran twice

    made = law_core(["report", "analysis.Select", "--dataset", "data", "--fail", "4",
                     "-o", "jobs.html", "--jobs-svg", "jobs.svg"], analysis, env)
    assert made.returncode == 0, made.stderr
    assert "jobs.html and jobs.svg" in made.stdout
    url = (analysis / "jobs.html").as_uri()
    dom = parse(chromium.dom(url))
    chromium.screenshot(url, "report-job-plot.png")
    chromium.screenshot((analysis / "jobs.svg").as_uri(), "jobs-svg.png")

    # the plot of the remote workflow, drawn as SVG in the page
    figure = dom.find("figure", cls="job-plot", data_family="Select")
    plot = figure.find("svg", cls="job-plot")
    # at the end: the real job states
    assert _final(plot.attrs["data-final"]) == {"finished": 5, "failed": 1, "running": 0,
                                                 "pending": 0}
    legend = {g.attrs["data-state"]: g.text for g in plot.find_all("g", cls="legend")}
    assert legend == {"pending": "pending 0", "running": "running 0",
                      "finished": "finished 5", "failed": "failed 1"}
    assert plot.attrs["data-jobs"] == "6"
    # its time axis spans the real run: from the first submission to the last job's end
    start, end = float(plot.attrs["data-start"]), float(plot.attrs["data-end"])
    assert before < start < end < after
    last_end = max(mtime for mtime, _ in statuses.values())
    assert abs(end - last_end) < 0.01  # the last job's exit status, written as it ended
    assert end - start > sum(s["duration"] for _, s in statuses.values()
                             if s["job_num"] == 5)  # two attempts one after the other
    ticks = plot.find_all("text", cls="time-tick")
    assert len(ticks) >= 3
    for tick in ticks:
        assert re.fullmatch(r"\d\d:\d\d:\d\d", tick.text)
        assert start <= float(tick.attrs["data-time"]) <= end + (end - start) * 0.05
    assert tick.text == time.strftime("%H:%M:%S", time.localtime(float(tick.attrs["data-time"])))
    drawn = {p.attrs["data-state"] for p in plot.find_all("path", cls="area")}
    assert {"pending", "running", "finished", "failed"} <= drawn
    caption = figure.find("figcaption").text
    assert "recorded job events" in caption and "6 jobs (processes) by state" in caption
    assert "waiting to be submitted again counts as pending" in caption
    # next to the jobs table of the workflow, which the page shows for the failed workflow
    assert dom.find("div", cls="details").find("table", cls="jobs-table")
    # drawn once, as SVG: the page's data does not carry the timeline again
    assert '"timeline"' not in dom.find("script", cls="report-data").text

    # --jobs-svg: the plot alone, a valid SVG document with the same counts and times
    root = ET.parse(analysis / "jobs.svg").getroot()
    assert root.tag == f"{SVG}svg"
    (panel,) = root.findall(f"{SVG}svg")
    assert _final(panel.get("data-final")) == _final(plot.attrs["data-final"])
    assert float(panel.get("data-start")) == start and float(panel.get("data-end")) == end
    texts = " ".join(t.text or "" for t in panel.iter(f"{SVG}text"))
    assert "Select(dataset=data, fail=4)" in texts and "finished 5" in texts


def test_job_plot_from_the_job_files_alone_says_only_start_and_end_are_known(
        analysis: Path, law_core_reference_jobs) -> None:
    """Without recorded events (another machine, --no-events) the exit status files still
    tell when each attempt ran."""
    env = law_core_reference_jobs.env
    ran = law_core(RUN, analysis, env)
    assert ran.returncode == 1, ran.stderr
    made = law_core(["report", "analysis.Select", "--dataset", "data", "--fail", "4",
                     "--no-events", "--jobs-svg", "alone.svg"], analysis, env)
    assert made.returncode == 0, made.stderr
    assert not (analysis / "report.html").exists()  # --jobs-svg alone writes no page
    _, statuses = _job_files(analysis)
    root = ET.parse(analysis / "alone.svg").getroot()
    (panel,) = root.findall(f"{SVG}svg")
    assert _final(panel.get("data-final")) == {"finished": 5, "failed": 1, "running": 0,
                                               "pending": 0}
    # from the first job's start (its end less its run time) to the last job's end
    starts = [mtime - s["duration"] for mtime, s in statuses.values()]
    assert abs(float(panel.get("data-start")) - min(starts)) < 0.01
    assert abs(float(panel.get("data-end")) - max(m for m, _ in statuses.values())) < 0.01
    notes = " ".join(t.text or "" for t in panel.iter(f"{SVG}text")
                     if t.get("class") == "note")
    assert "only start and end are known" in notes and "recorded job events" not in notes


def test_jobs_svg_without_remote_jobs_says_there_is_nothing_to_plot(analysis: Path) -> None:
    made = law_core(["report", "analysis.Select", "--dataset", "data", "--jobs-svg", "x.svg"],
                    analysis)
    assert made.returncode != 0
    assert "nothing for --jobs-svg to plot" in made.stderr
    assert not (analysis / "x.svg").exists()


def test_timeline_leaves_out_an_earlier_job_directorys_events_and_names_untimed_jobs(
        tmp_path: Path) -> None:
    """Job 1 ran in a job directory that was removed since (its events are still recorded,
    with the same workflow id and job number); job 2 still runs; job 3 was never
    submitted."""
    import os

    from law_core_report.job_plot import caption, svg, timeline

    t0 = 1_800_000_000.0
    job_dir = tmp_path / "jobs" / "processes_0123456789"
    (job_dir / "status").mkdir(parents=True)
    status = job_dir / "status" / "job_1_1.json"
    status.write_text(json.dumps({"exit_code": 0, "duration": 10.0, "job_num": 1,
                                  "attempt": 1}))
    os.utime(status, (t0 + 30, t0 + 30))  # it ended at t0 + 30, its worker ran 10 s

    def event(kind: str, num: int, job_id: str, status: str, when: float) -> dict:
        return {"type": "job", "kind": kind, "workflow_id": "W", "job": num,
                "job_id": job_id, "status": status, "attempt": 1, "time": when}

    events = {"W": [
        # the earlier directory's job 1
        event("submitted", 1, "1", "pending", t0 - 1000),
        event("status_changed", 1, "1", "running", t0 - 990),
        event("finished", 1, "1", "finished", t0 - 980),
        # this one's
        event("submitted", 1, "11", "pending", t0),
        event("submitted", 2, "12", "pending", t0 + 1),
        event("status_changed", 2, "12", "running", t0 + 5),
        event("status_changed", 1, "11", "running", t0 + 15),  # the poll saw it first
        event("finished", 1, "11", "finished", t0 + 31),
    ]}
    d = {"dir": str(job_dir), "submission": {"workflow_id": "W"}}
    jobs = [
        (d, 1, {"status": "finished", "attempt": 1, "job_id": "11", "exit_code": 0,
                "extra": {"duration": 10.0}}),
        (d, 2, {"status": "running", "attempt": 1, "job_id": "12", "extra": {}}),
        (d, 3, {"status": "unsubmitted", "attempt": 0, "extra": {}}),
    ]
    line = timeline(jobs, events)
    # columns: time, finished, failed, running, pending
    assert line["steps"] == [[t0, 0, 0, 0, 1], [t0 + 1, 0, 0, 0, 2], [t0 + 5, 0, 0, 1, 1],
                             [t0 + 15, 0, 0, 2, 0], [t0 + 30, 1, 0, 1, 0]]
    assert line["start"] == t0 and line["end"] == t0 + 30
    assert line["final"] == {"finished": 1, "failed": 0, "running": 1, "pending": 0}
    assert line["untimed"] == {"pending": 1}
    text = caption(line, {"managers": ["processes"]})
    assert text.startswith("2 jobs (processes) by state")
    assert "Not drawn: 1 job without times on disk (1 pending)" in text
    picture = ET.fromstring(svg(line, "W"))
    assert _final(picture.get("data-final"))["running"] == 1
