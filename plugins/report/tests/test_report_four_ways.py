"""The report of the example analysis run four ways, each opened in a real headless Chromium.

The README's example (examples/analysis.py: a 26-branch workflow, a merge, a summary that
is a SandboxTask) runs as law-core's end-to-end test runs it, only the config changing:

1. everything local,
2. the workflow on Slurm (``[workflow] CreateChars = slurm``, 9 branches per job),
3. as 2, with every output on XRootD (``[target] store = root://...``),
4. as 3, with the summary in a Docker container (``[sandbox] Summary = docker::IMAGE``),

against the real services (law-core's fixtures: a one-node Slurm cluster, an XRootD server
on loopback, a Docker daemon with a locally built image). After each run, ``law-core report
analysis.Summary -o report.html`` is made in the analysis directory, as a user makes it,
and what the page shows is checked against the real state: the outputs in the stores, the
jobs in their job files, the run's own account of the sandbox.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from report_dom import Element, parse
from report_helpers import Chromium, law_core

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "analysis.py"
FAMILIES = ("Summary", "CreateAlphabet", "CreateChars")
#: what every way's report says of the whole analysis (26 branches, the merge, the summary)
TOTALS = "3 tasks (1 workflows), 28 branches and tasks: 28 done, 0 running, 0 pending, " \
         "0 failed, 0 missing"

SLURM = """
[workflow]
CreateChars = slurm

[CreateChars]
tasks_per_job = 9
poll_interval = 0.5s
"""
#: the branches of the three Slurm jobs (tasks_per_job = 9 of 26 branches)
JOB_BRANCHES = ["0-8", "9-17", "18-25"]

#: clicks a task's row once the page's script has filled the table, as a user would
CLICK = """<script>
(function click() {
  var row = document.querySelector('tr.row[data-family="%s"]');
  if (row) row.click(); else setTimeout(click, 20);
})();
</script>
"""


@dataclass
class Way:
    name: str
    store: str  # where the config puts every output
    config: str  # the rest of law.cfg
    slurm: bool = False
    sandbox: str | None = None


def run_and_report(way: Way, base: Path) -> Path:
    """``law-core run analysis.Summary`` and ``law-core report analysis.Summary`` in a new
    analysis directory; returns the directory."""
    directory = base / way.name
    directory.mkdir()
    shutil.copy(EXAMPLE, directory / "analysis.py")
    (directory / "law.cfg").write_text(
        f"[modules]\nanalysis\n\n[target]\nstore = {way.store}\n\n"
        f"[report]\nruns_dir = {directory / 'runs'}\n{way.config}")
    ran = law_core(["run", "analysis.Summary"], directory, timeout=900)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-5000:]
    # the run's own account of where the summary ran, which the report must show
    ran_in = f"running Summary(uppercase=False) in the sandbox {way.sandbox}"
    assert (ran_in in ran.stderr) == (way.sandbox is not None), ran.stderr[-3000:]
    made = law_core(["report", "analysis.Summary", "-o", "report.html"], directory)
    assert made.returncode == 0, made.stderr
    assert TOTALS in made.stdout, made.stdout
    return directory


def clicked(page: Path, family: str) -> Path:
    """A copy of ``page`` that clicks the table row of ``family`` after loading."""
    html = page.read_text()
    head, body_end, tail = html.rpartition("</body>")
    copy = page.with_name(f"{page.stem}-{family}.html")
    copy.write_text(head + CLICK % family + body_end + tail)
    return copy


def row(dom: Element, family: str) -> Element:
    (found,) = dom.find_all("tr", cls="row", data_family=family)
    return found


def counts(found: Element) -> dict[str, int]:
    return {s: int(found.find("td", cls=f"n-{s}").text)
            for s in ("done", "running", "pending", "failed", "missing", "total")}


def slurm_jobs(directory: Path) -> dict[int, dict]:
    """CreateChars' jobs as its Slurm job files have them, by job number."""
    (submission,) = (directory / "data" / "CreateChars" / "jobs").glob(
        "slurm_*/submission.json")
    jobs = json.loads(submission.read_text())["jobs"]
    return {int(num): jobs[num] for num in sorted(jobs, key=int)}


def check_page(way: Way, directory: Path, chromium: Chromium) -> None:
    from law_core.plugin import target

    page = directory / "report.html"
    dom = parse(chromium.dom(page.as_uri()))
    chromium.screenshot(page.as_uri(), f"report-{way.name}.png")
    # the store as the page names it: a URI, file:// for the local disk
    store = way.store.rstrip("/")
    if "://" not in store:
        store = Path(store).as_uri()

    # everything done, nothing failed or missing
    totals = {e.attrs["data-state"]: int(e.attrs["data-count"])
              for e in dom.find_all("span", cls="total")}
    assert totals == {"done": 28, "running": 0, "pending": 0, "failed": 0, "missing": 0,
                      "unknown": 0}
    assert counts(row(dom, "CreateChars")) == {"done": 26, "running": 0, "pending": 0,
                                               "failed": 0, "missing": 0, "total": 26}
    for family in ("CreateAlphabet", "Summary"):
        assert row(dom, family).attrs["data-state"] == "done"
        assert counts(row(dom, family))["done"] == counts(row(dom, family))["total"] == 1
    nodes = dom.find_all("g", cls="node")
    assert sorted(n.attrs["data-state"] for n in nodes) == ["done"] * 3
    assert len(dom.find_all("path", cls="edge")) == 2

    # where the outputs live: the store of the config (root:// or the local disk), and the
    # files named there exist
    for family in FAMILIES:
        assert row(dom, family).find("td", cls="outputs").text == f"{store}/{family}"
    details = dom.find("div", cls="details")  # the summary's, selected at first
    assert "Summary" in details.find("h3").text
    assert details.find("p", cls="outputs").text == f"1 outputs in {store}/Summary"
    assert details.find("pre", cls="examples").text == f"{store}/Summary/summary.json"
    assert target(f"{store}/Summary/summary.json").exists()

    # the sandbox the summary ran in, and none for the other tasks
    shown = {f: row(dom, f).find("td", cls="sandbox").text for f in FAMILIES}
    assert shown == {"Summary": way.sandbox or "", "CreateAlphabet": "", "CreateChars": ""}
    sandbox_lines = details.find_all("p", cls="sandbox")
    assert [p.text for p in sandbox_lines] == \
        ([f"runs in the sandbox {way.sandbox}"] if way.sandbox else [])
    summary_node = dom.find("g", cls="node", data_id=row(dom, "Summary").attrs["data-id"])
    assert summary_node.attrs.get("data-sandbox", "") == (way.sandbox or "")

    # the workflow, as a user sees it after clicking it: its branches and its jobs
    chars_page = clicked(page, "CreateChars")
    chars = parse(chromium.dom(chars_page.as_uri())).find("div", cls="details")
    chromium.screenshot(chars_page.as_uri(), f"report-{way.name}-CreateChars.png")
    assert "CreateChars" in chars.find("h3").text
    assert chars.find("canvas").attrs["data-drawn"] == "done:26"
    assert chars.find("p", cls="outputs").text == f"26 outputs in {store}/CreateChars"
    examples = chars.find("pre", cls="examples").text.split("\n")
    assert examples[0] == f"{store}/CreateChars/output_0.json"
    assert all(target(uri).exists() for uri in examples)
    jobs_cell = row(dom, "CreateChars").find("td", cls="jobs").text
    if not way.slurm:
        assert jobs_cell == "" and not chars.find_all("table", cls="jobs-table")
        assert not (directory / "data" / "CreateChars" / "jobs").exists()
        return
    real = slurm_jobs(directory)
    assert [j["branches"] for j in real.values()] == [list(range(0, 9)), list(range(9, 18)),
                                                      list(range(18, 26))]
    assert all(j["status"] == "finished" and j["exit_code"] == 0 and j["job_id"]
               and j["extra"]["host"] for j in real.values())
    assert jobs_cell == "3 finished"
    assert chars.find("p", cls="jobs-head").text.startswith("jobs (slurm): 3 finished;")
    listed = chars.find("table", cls="jobs-table").find_all("tr", cls="job")
    cells = [[td.text for td in job.find_all("td")] for job in listed]
    # job, id, status, attempt, exit code, branches, host, run time, memory, error
    assert [c[:7] for c in cells] == [
        [str(num), str(j["job_id"]), "finished", str(j["attempt"]), "0", branches,
         j["extra"]["host"]] for (num, j), branches in zip(real.items(), JOB_BRANCHES)]
    assert all(c[7].endswith(" s") and c[9] == "" for c in cells)  # a run time, no error


def test_the_report_shows_the_example_analysis_run_four_ways(
        law_core_slurm_cluster, law_core_xrootd_server, law_core_docker_image,
        law_core_isolated, chromium: Chromium, tmp_path: Path) -> None:
    image = f"docker::{law_core_docker_image}"
    remote = law_core_xrootd_server.rstrip("/") + "//report-four-ways"
    ways = [
        Way("local", str(tmp_path / "local" / "data"), ""),
        Way("slurm", str(tmp_path / "slurm" / "data"), SLURM, slurm=True),
        Way("xrootd", f"{remote}/xrootd", SLURM, slurm=True),
        Way("docker", f"{remote}/docker", f"{SLURM}\n[sandbox]\nSummary = {image}\n"
            f"stage_dir = {tmp_path / 'stage'}\n", slurm=True, sandbox=image),
    ]
    for way in ways:
        check_page(way, run_and_report(way, tmp_path), chromium)
