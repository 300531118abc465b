"""ARC submission and polling: law-core's own time for 200 jobs on a real A-REX.

Usage (as root, with the Debian packages of A-REX and the ARC client installed, see
``law_core.testing.arc``)::

    .venv/bin/python benchmarks/arc_jobs.py [--jobs 200] [--skip-law]

It starts a throw-away A-REX (``law_core.testing.arc.arc_ce``, fork LRMS, REST interface)
and submits N single-branch jobs with ``--workflow arc --no-poll``. The jobs carry an xRSL
``starttime`` far in the future: A-REX takes them, their files are uploaded, and they wait
in ACCEPTING, so nothing runs, the machine stays quiet and a poll sees all of them active
(as the Slurm benchmark sets its partition DOWN). Measured, for the software bundle as each
job's input file and for ``[job] bundle_store`` (a directory here; the jobs never run to
fetch it):

- the wall time of the submitting command, the time spent inside ``arcsub`` (an ``arcsub``
  on PATH logs the start and end of each call and runs the real one; a test device, not a
  stand-in), and their difference: law-core's own time;
- the number of ``arcsub`` calls, and the REST requests law-core made itself (counted in
  the process by wrapping ``ArcJobManager._request``);
- one poll of the N active jobs: a resumed ``--no-poll`` run polls exactly once; its
  ``arcsub``/``arcstat`` calls and REST requests.

Then law 0.1.21's ``ARCWorkflow`` (``benchmarks/.venv-law``, ``bash
benchmarks/setup_law.sh``) submits the same N jobs to the same CE, timed the same way.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: far enough for the jobs never to start while the benchmark runs
HOLD = '(starttime="2099-01-01 00:00:00")'

LAW_CORE_TASKS = '''
import luigi
import law_core as law


class ArcBench(law.Workflow):
    n = luigi.IntParameter(default=200)

    def create_branch_map(self):
        return self.n

    def output(self):
        return self.local_target(f"out_{self.branch}.json")

    def run(self):
        self.output().dump({"branch": self.branch})
'''

LAW_TASKS = '''
import os

import luigi
import law

law.contrib.load("arc")


class ArcBench(law.arc.ARCWorkflow):
    n = luigi.IntParameter(default=200)

    def create_branch_map(self):
        return {i: i for i in range(self.n)}

    def output(self):
        return law.LocalFileTarget(os.path.join(os.environ["BENCH_OUT"], f"out_{self.branch}.json"))

    def arc_output_directory(self):
        return law.LocalDirectoryTarget(os.path.join(os.environ["BENCH_OUT"], "jobs"))

    def arc_bootstrap_file(self):
        return None

    def arc_job_config(self, config, job_num, branches):
        config.custom_content.append(("starttime", "2099-01-01 00:00:00"))
        return config

    def run(self):
        self.output().dump({"branch": self.branch})
'''

#: runs ``law_core``'s command line with the REST requests of the ARC manager counted
COUNTING = '''
import atexit, collections, json, re, runpy, sys
from law_core_arc import manager

calls = collections.Counter()
request = manager.ArcJobManager._request

def counted(self, method, base, path, *args, **kwargs):
    what = re.sub(r"/[A-Za-z0-9]{20,}", "/ID", path.split("?")[0])
    query = path.partition("?")[2].split("=")[0]
    calls[f"{method} jobs{what}" + (f"?{query}=" if query else "")] += 1
    return request(self, method, base, path, *args, **kwargs)

manager.ArcJobManager._request = counted
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write(json.dumps(calls)))
sys.argv[0] = "law_core"
runpy.run_module("law_core", run_name="__main__", alter_sys=True)
'''

#: an arcsub on PATH that logs each call's start, end and job files, then ends as the real one
TIMING_ARCSUB = """#!/bin/bash
start=$(date +%s.%N)
"{real}" "$@"
status=$?
echo "$start $(date +%s.%N) $#" >> "{log}"
exit $status
"""


def union(intervals: list[tuple[float, float]]) -> float:
    """Seconds covered by the intervals (parallel arcsub calls counted once)."""
    total, end = 0.0, float("-inf")
    for a, b in sorted(intervals):
        if b > end:
            total += b - max(a, end)
            end = b
    return total


def check(result: subprocess.CompletedProcess, what: str) -> None:
    if result.returncode != 0:
        sys.exit(f"{what} failed ({result.returncode}):\n{result.stdout[-2000:]}\n"
                 f"{result.stderr[-3000:]}")


class Rest:
    """The CE's REST job list as the test user, for counting and removing the jobs."""

    def __init__(self, ce) -> None:
        self.url = urllib.parse.urlsplit(ce.rest_url + "/jobs")
        self.context = ssl.create_default_context(capath=ce.env["X509_CERT_DIR"])
        self.context.load_cert_chain(ce.env["X509_USER_PROXY"])

    def request(self, method: str, query: str, body: dict | None = None) -> str:
        connection = http.client.HTTPSConnection(self.url.hostname, self.url.port,
                                                 context=self.context, timeout=120)
        try:
            connection.request(method, self.url.path + query,
                               body=json.dumps(body) if body is not None else None,
                               headers={"Accept": "application/json",
                                        "Content-Type": "application/json"})
            return connection.getresponse().read().decode()
        finally:
            connection.close()

    def jobs(self) -> dict[str, str]:
        states = ("ACCEPTING,ACCEPTED,PREPARING,SUBMITTING,QUEUING,RUNNING,FINISHING,FINISHED,"
                  "FAILED,KILLED,OTHER")
        text = self.request("GET", f"?state={states}")
        jobs = json.loads(text).get("job", []) if text.strip() else []
        return {j["id"]: j.get("state") for j in (jobs if isinstance(jobs, list) else [jobs])}

    def remove_all(self) -> None:
        ids = list(self.jobs())
        for action in ("kill", "clean"):
            for i in range(0, len(ids), 500):
                self.request("POST", f"?action={action}",
                             {"job": [{"id": job_id} for job_id in ids[i:i + 500]]})
        deadline = time.monotonic() + 120
        while self.jobs() and time.monotonic() < deadline:
            time.sleep(1)
            self.request("POST", "?action=clean",
                         {"job": [{"id": job_id} for job_id in self.jobs()]})


def timed(args: list[str], cwd: Path, env: dict[str, str]
          ) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=7200)
    return time.perf_counter() - start, result


def law_core_mode(name: str, n: int, tmp: Path, ce, rest: Rest, cache: Path,
                  store: Path | None) -> dict:
    work = tmp / name
    work.mkdir()
    (work / "bench_arc.py").write_text(LAW_CORE_TASKS)
    (work / "counting.py").write_text(COUNTING)
    config = (f"[arc]\nce = {ce.url}\nextra_xrsl = {HOLD}\n\n"
              f"[job]\nbundle_cache = {cache}\n"
              + (f"bundle_store = {store}\n" if store else ""))
    (work / "law.cfg").write_text(config)
    shim, log = work / "shim", work / "arcsub_calls"
    shim.mkdir()
    (shim / "arcsub").write_text(TIMING_ARCSUB.format(real=shutil.which("arcsub"), log=log))
    (shim / "arcsub").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAW_CORE")}
    env.update(ce.env, PYTHONPATH=str(work), PATH=f"{shim}:{os.environ.get('PATH', '')}")

    def run(counts: Path) -> tuple[float, subprocess.CompletedProcess, dict, list]:
        log.unlink(missing_ok=True)
        seconds, result = timed([sys.executable, str(work / "counting.py"), str(counts), "run",
                                 "bench_arc.ArcBench", "--n", str(n), "--workflow", "arc",
                                 "--no-poll"], work, env)
        check(result, f"law-core ({name})")
        calls = [tuple(map(float, line.split()[:2])) for line in
                 log.read_text().splitlines()] if log.exists() else []
        return seconds, result, json.loads(counts.read_text()), calls

    seconds, result, requests, calls = run(work / "submit_requests.json")
    in_arcsub = union(calls)
    held = sum(1 for state in rest.jobs().values() if state in ("ACCEPTING", "ACCEPTED"))
    (job_dir,) = (work / "data" / "ArcBench" / "jobs").iterdir()
    inputs = sum(Path(p).stat().st_size for p in _inputs_of_one_job(job_dir))
    out = {"mode": name, "wall": seconds, "arcsub": in_arcsub, "own": seconds - in_arcsub,
           "arcsub_calls": len(calls), "requests": requests, "held": held,
           "built": "built the jobs' software bundle" in result.stderr,
           "bytes_per_job": inputs}
    poll_seconds, _, poll_requests, poll_calls = run(work / "poll_requests.json")
    out.update(poll_wall=poll_seconds, poll_requests=poll_requests,
               poll_arcsub_calls=len(poll_calls))
    rest.remove_all()
    return out


def _inputs_of_one_job(job_dir: Path) -> list[str]:
    """The local files the first job's xRSL names as inputs."""
    import re

    text = next(job_dir.glob("arc/batch_*.xrsl")).read_text()
    first = text.split("(&", 2)[1] if "(&" in text else text
    return [p for p in re.findall(r'\("[^"]+" "(/[^"]+)"\)', first) if Path(p).is_file()]


def law_mode(n: int, tmp: Path, ce, rest: Rest, law_venv: Path) -> dict:
    law_bin = law_venv / "bin" / "law"
    if not law_bin.exists():
        return {"error": f"{law_bin} is missing: run bash benchmarks/setup_law.sh"}
    old = tmp / "law"
    (old / "home").mkdir(parents=True)
    (old / "bench_arc_law.py").write_text(LAW_TASKS)
    (old / "law.cfg").write_text("[modules]\nbench_arc_law\n")
    shim, log = old / "shim", old / "arcsub_calls"
    shim.mkdir()
    (shim / "arcsub").write_text(TIMING_ARCSUB.format(real=shutil.which("arcsub"), log=log))
    (shim / "arcsub").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAW")}
    env.update(ce.env, PYTHONPATH=str(old), LAW_HOME=str(old / "home"),
               LAW_CONFIG_FILE=str(old / "law.cfg"), BENCH_OUT=str(old / "out"),
               PATH=f"{shim}:{law_bin.parent}:{os.environ.get('PATH', '')}")
    check(subprocess.run([str(law_bin), "index"], cwd=old, env=env, capture_output=True,
                         text=True), "law index")
    seconds, result = timed([str(law_bin), "run", "ArcBench", "--n", str(n), "--workflow",
                             "arc", "--arc-ce", ce.url, "--no-poll", "--local-scheduler"],
                            old, env)
    calls = [tuple(map(float, line.split()[:2])) for line in
             log.read_text().splitlines()] if log.exists() else []
    held = sum(1 for state in rest.jobs().values() if state in ("ACCEPTING", "ACCEPTED"))
    rest.remove_all()
    if result.returncode != 0 or held < n:
        return {"error": f"law exit code {result.returncode}, {held} jobs on the CE:\n"
                         f"{result.stdout[-1500:]}\n{result.stderr[-2500:]}"}
    in_arcsub = union(calls)
    return {"mode": "law 0.1.21", "wall": seconds, "arcsub": in_arcsub,
            "own": seconds - in_arcsub, "arcsub_calls": len(calls), "held": held}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--law-venv", default=str(HERE / ".venv-law"))
    parser.add_argument("--skip-law", action="store_true", help="measure law-core only")
    parser.add_argument("--modes", default="input-file,bundle-store",
                        help="law-core modes: input-file (the bundle uploaded with each job), "
                             "bundle-store ([job] bundle_store)")
    args = parser.parse_args()

    from law_core.testing.arc import arc_ce

    now = dt.datetime.now(dt.timezone.utc)
    print(f"ARC benchmark, {args.jobs} single-branch jobs, {now:%Y-%m-%d %H:%M} UTC", flush=True)
    # not under a 0700 directory: A-REX's job user must reach the CE's directories
    tmp = Path(tempfile.mkdtemp(prefix="law-core-arc-bench-", dir="/tmp"))
    tmp.chmod(0o755)
    results = []
    try:
        with arc_ce(tmp / "ce", "fork") as ce:
            rest = Rest(ce)
            cache = tmp / "bundle-cache"
            for mode in filter(None, args.modes.split(",")):
                store = tmp / "bundle-store" if mode == "bundle-store" else None
                result = law_core_mode(mode, args.jobs, tmp, ce, rest, cache, store)
                results.append(result)
                print(f"law-core ({mode}): {result['held']} jobs held on the CE; "
                      f"{result['wall']:.2f} s wall, {result['arcsub']:.2f} s in "
                      f"{result['arcsub_calls']} arcsub calls, law-core's own time "
                      f"{result['own']:.2f} s (bundle built in this run: {result['built']}); "
                      f"{result['bytes_per_job'] / 1e6:.2f} MB of input files per job; "
                      f"REST requests {result['requests']}", flush=True)
                print(f"  one poll of {args.jobs} active jobs: {result['poll_arcsub_calls']} "
                      f"arcsub calls, REST requests {result['poll_requests']}, "
                      f"{result['poll_wall']:.2f} s for the whole command", flush=True)
            if not args.skip_law:
                result = law_mode(args.jobs, tmp, ce, rest, Path(args.law_venv))
                if "error" in result:
                    print(f"law 0.1.21: not measured: {result['error']}")
                else:
                    results.append(result)
                    print(f"law 0.1.21: {result['held']} jobs held on the CE; "
                          f"{result['wall']:.2f} s wall, {result['arcsub']:.2f} s in "
                          f"{result['arcsub_calls']} arcsub calls, its own time "
                          f"{result['own']:.2f} s", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for result in results:
        if result["mode"] != "law 0.1.21":
            listings = result["poll_requests"].get("GET jobs?state=", 0)
            met = result["own"] <= 10 and result["poll_arcsub_calls"] == 0 and listings == 1
            print(f"goal ({result['mode']}): law-core's own time <= 10 s, one status request "
                  f"per poll: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
