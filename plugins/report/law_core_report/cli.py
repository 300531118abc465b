"""``law-core report`` and ``law-core dashboard``."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

from law_core.plugin import (
    ParameterError,
    WorkflowError,
    apply_task_sections,
    build_task,
    find_task_class,
    get_config,
)


def build(task_name: str, params: list[str]) -> Any:
    """The task of ``law-core run TASK PARAMS`` (config checked, ``[Family]`` sections
    applied), without running anything."""
    get_config().check()
    cls = find_task_class(task_name)
    apply_task_sections()
    return build_task(cls, list(params))


def report(args: argparse.Namespace) -> int:
    from law_core_report.collect import collect
    from law_core_report.job_plot import document
    from law_core_report.render import html, svg
    from law_core_report.settings import runs_dir, settings

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    if args.params and args.params[0] in ("-h", "--help"):
        raise ParameterError("law-core report TASK [PARAMS] -o FILE: PARAMS as for "
                             "law-core run TASK --help")
    # the options may also follow TASK, among the task's parameters
    options = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    for flags in (("-o", "--output"), ("--svg",), ("--jobs-svg",), ("--runs-dir",)):
        options.add_argument(*flags, default=None)
    options.add_argument("--no-events", action="store_true")
    given, params = options.parse_known_args(args.params)
    for name in ("output", "svg", "jobs_svg", "runs_dir", "no_events"):
        if getattr(given, name):
            setattr(args, name, getattr(given, name))
    jobs_svg = getattr(args, "jobs_svg", None)
    output = args.output or (None if args.svg or jobs_svg else "report.html")
    started = time.perf_counter()
    task = build(args.task, params)
    directory = None if args.no_events else runs_dir(args.runs_dir)
    data = collect(task, runs_dir=directory, keep_days=settings().keep_days)
    if output:
        Path(output).write_text(html(data), encoding="utf-8")
    if args.svg:
        Path(args.svg).write_text(svg(data), encoding="utf-8")
    if jobs_svg:
        plots = document(data)
        if plots is None:
            raise WorkflowError(f"no remote workflow in the tree of {data['title']} has jobs "
                                "with times on disk: nothing for --jobs-svg to plot (run it "
                                "with --workflow and a job manager first)")
        Path(jobs_svg).write_text(plots, encoding="utf-8")
    t = data["totals"]
    written = " and ".join(p for p in (output, args.svg, jobs_svg) if p)
    print(f"wrote {written}: {len(data['nodes'])} tasks ({data['workflows']} workflows), "
          f"{t['total']} branches and tasks: {t['done']} done, {t['running']} running, "
          f"{t['pending']} pending, {t['failed']} failed, {t['missing']} missing "
          f"({time.perf_counter() - started:.1f} s)")
    return 0


def dashboard(args: argparse.Namespace) -> int:
    import os

    from law_core_report.dashboard import Dashboard
    from law_core_report.settings import runs_dir

    token = args.token or os.environ.get("LAW_CORE_DASHBOARD_TOKEN") or None
    board = Dashboard(runs_dir(args.runs_dir), host=args.host, port=args.port, token=token,
                      max_runs=args.max_runs)
    print(f"law-core dashboard on {board.url} (runs in {board.runs_dir}); Ctrl-C stops it",
          flush=True)
    try:
        board.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        board.close()
    return 0


def collect_run_main(argv: list[str] | None = None) -> int:
    """``python -m law_core_report.cli RUN_FILE``: the report data of a recorded run, as
    JSON on stdout (the dashboard runs this in the run's directory and environment, so the
    run's task modules and config are found and never mix with another run's)."""
    import json

    from law_core_report.collect import collect
    from law_core_report.events import read_run
    from law_core_report.runs import task_command

    logging.basicConfig(level=logging.ERROR)
    run_file = Path((argv or sys.argv[1:])[0])
    header, _ = read_run(run_file)
    command = task_command((header or {}).get("argv") or [])
    if command is None:
        print(json.dumps({"error": "not a 'law-core run' command"}))
        return 0
    try:
        task = build(*command)
        data = collect(task, events=[run_file])
    except Exception as err:
        print(json.dumps({"error": f"{type(err).__name__}: {err}"}))
        return 0
    print(json.dumps(data, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(collect_run_main())
