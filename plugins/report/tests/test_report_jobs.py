"""The jobs of a remote workflow in the report: law-core's reference job manager
(``--workflow processes``, jobs as local processes) runs the branches as jobs."""

from __future__ import annotations

from pathlib import Path

from report_dom import parse
from report_helpers import law_core


def test_report_lists_the_jobs_of_a_remote_workflow_with_states_and_exit_codes(
        analysis: Path, law_core_reference_jobs, chromium) -> None:
    env = law_core_reference_jobs.env
    ran = law_core(["run", "analysis.Select", "--dataset", "data", "--fail", "4",
                    "--workflow", "processes", "--retries", "0", "--poll-interval", "1s"],
                   analysis, env)
    assert ran.returncode == 1, ran.stderr
    made = law_core(["report", "analysis.Select", "--dataset", "data", "--fail", "4",
                     "-o", "jobs.html"], analysis, env)
    assert made.returncode == 0, made.stderr
    url = (analysis / "jobs.html").as_uri()
    dom = parse(chromium.dom(url))
    chromium.screenshot(url, "report-jobs.png")
    row = dom.find("tr", cls="row", data_family="Select")
    assert row.find("td", cls="n-done").text == "5" and row.find("td", cls="n-failed").text == "1"
    assert row.find("td", cls="failed-branches").text == "4"
    assert row.find("td", cls="jobs").text == "1 failed, 5 finished"
    # the jobs as the job files have them: one per branch, the failed one with its exit code
    jobs = dom.find("table", cls="jobs-table").find_all("tr", cls="job")
    assert len(jobs) == 6
    by_status = {}
    for job in jobs:
        by_status.setdefault(job.attrs["data-status"], []).append(job)
    assert len(by_status["finished"]) == 5
    (failed,) = by_status["failed"]
    cells = [td.text for td in failed.find_all("td")]
    assert cells[5] == "4"  # its branch
    assert failed.attrs["data-exit-code"] not in ("", "0")
    assert all(job.attrs["data-exit-code"] == "0" for job in by_status["finished"])
    assert cells[6]  # the host the job ran on
    assert "jobs (processes)" in dom.find("p", cls="jobs-head").text
