"""law-core-report on the analysis shape of issue 13: time to write the report of a
complete analysis and time for Chromium to open it.

The outputs of ``analysis_shape.CORE_MODULE`` (Select and Histogram workflows per dataset x
shift, a Merge each, one Plot) are written directly (a real run of 200k tasks would take
minutes and is measured by analysis_shape.py); then ``law-core report analysis_core.Plot``
runs in a fresh process, and headless Chromium loads the page (its scripts included) and
takes a screenshot (loaded, scripts run, laid out, painted), compared with Chromium on an
empty page; the DOM it dumps is checked for the selected task and the drawn graph. Usage::

    .venv/bin/python benchmarks/report.py --datasets 100 --shifts 10 --files 100
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from analysis_shape import CORE_MODULE  # noqa: E402


def write_outputs(data: Path, datasets: list[str], shifts: list[str], files: int) -> int:
    count = 0
    for d in datasets:
        for s in shifts:
            for family, name in (("Select", "sel"), ("Histogram", "hist")):
                directory = data / family / d / s
                directory.mkdir(parents=True, exist_ok=True)
                for i in range(files):
                    (directory / f"{name}_{i}.json").write_text('{"events": 10}')
                    count += 1
            merged = data / "Merge" / d / s
            merged.mkdir(parents=True, exist_ok=True)
            (merged / "merged.json").write_text('{"entries": 0}')
            count += 1
    (data / "Plot").mkdir(parents=True, exist_ok=True)
    (data / "Plot" / "plot.json").write_text("{}")
    return count + 1


def timed(cmd: list[str], **kwargs) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return wall, done


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", type=int, default=100)
    p.add_argument("--shifts", type=int, default=10)
    p.add_argument("--files", type=int, default=100)
    p.add_argument("--keep", type=Path, default=None, help="copy the report here")
    args = p.parse_args(argv)
    datasets = [f"d{i}" for i in range(args.datasets)]
    shifts = [f"s{i}" for i in range(args.shifts)]
    sizes = f"DATASETS = {datasets}\nSHIFTS = {shifts}\nFILES = {args.files}\n"
    chromium = shutil.which("chromium")
    with tempfile.TemporaryDirectory(prefix="law-report-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "analysis_core.py").write_text(CORE_MODULE.replace("__SIZES__", sizes))
        (tmp / "law-core.cfg").write_text(f"[target]\nstore = data\n[report]\nruns_dir = "
                                          f"{tmp / 'runs'}\n")
        start = time.perf_counter()
        tasks = write_outputs(tmp / "data", datasets, shifts, args.files)
        print(f"wrote the outputs of {tasks} tasks in {time.perf_counter() - start:.1f} s",
              flush=True)
        env = dict(os.environ, PYTHONPATH=str(tmp), LAW_CORE_CONFIG=str(tmp / "law-core.cfg"))
        exe = REPO / ".venv" / "bin" / "law-core"
        cmd = [str(exe), "report", "analysis_core.Plot", "-o", "report.html"]
        wall, done = timed(cmd, cwd=tmp, env=env)
        print(done.stdout.strip())
        size = (tmp / "report.html").stat().st_size
        result = {"tasks": tasks, "report_wall": round(wall, 2), "html_mb": round(size / 1e6, 2),
                  "command": shlex.join(cmd)}
        if chromium:
            # opened: loaded, scripts run, laid out and painted (a screenshot of the window)
            base = [chromium, "--headless", "--no-sandbox", "--disable-gpu",
                    "--window-size=1400,900"]
            (tmp / "empty.html").write_text("<!DOCTYPE html><title>empty</title>")
            empty, _ = timed([*base, f"--screenshot={tmp / 'empty.png'}",
                              (tmp / "empty.html").as_uri()])
            load, _ = timed([*base, f"--screenshot={tmp / 'report.png'}",
                             (tmp / "report.html").as_uri()], timeout=300)
            _, dom = timed([*base, "--dump-dom", (tmp / "report.html").as_uri()], timeout=300)
            # the page's script ran: it selected a task (the section's data-selected) and drew
            # the graph (on a canvas above [report] svg_max_tasks tasks); attributes with a
            # value, as the page's own script text names them too
            selected = re.search(r'<section [^>]*data-selected="\d+"', dom.stdout)
            drawn = re.search(r'<canvas class="graph-canvas"[^>]* data-states="[a-z]',
                              dom.stdout) or '<g class="node' in dom.stdout
            if not (selected and drawn):
                raise RuntimeError("the page's script did not select a task or draw the graph")
            result.update(chromium_load=round(load, 2), chromium_empty=round(empty, 2))
        if args.keep:
            shutil.copy(tmp / "report.html", args.keep)
    print(f"\n{args.datasets} datasets x {args.shifts} shifts x {args.files} files: "
          f"{result['tasks']} tasks")
    print(f"law-core report: {result['report_wall']:.2f} s wall (fresh process), "
          f"{result['html_mb']} MB of HTML")
    if "chromium_load" in result:
        print(f"chromium --headless --screenshot: {result['chromium_load']:.2f} s "
              f"(an empty page: {result['chromium_empty']:.2f} s)")
    print(f"command: .venv/bin/python benchmarks/report.py {shlex.join(sys.argv[1:])}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
