"""Hook implementations of law-core-report (the entry-point module: imports nothing heavy)."""

from __future__ import annotations

from typing import Any

from law_core.plugin import CliCommandRecord, hookimpl


def _configure_report(parser: Any) -> None:
    parser.add_argument("task", metavar="TASK", help="MODULE.CLASS, or a family in the index")
    parser.add_argument("params", nargs="...", metavar="PARAMS",
                        help="task parameters (--name value), as for law-core run")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="the HTML file to write (default: report.html unless --svg)")
    parser.add_argument("--svg", metavar="FILE", help="also (or only) write the dependency "
                        "graph as an SVG picture")
    parser.add_argument("--jobs-svg", metavar="FILE", help="also (or only) write the jobs "
                        "of the remote workflows by state over time as an SVG picture")
    parser.add_argument("--runs-dir", metavar="DIR", help="recorded run events to show "
                        "(default: [report] runs_dir)")
    parser.add_argument("--no-events", action="store_true",
                        help="leave recorded run events out (only outputs and job files)")


def _configure_dashboard(parser: Any) -> None:
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1, loopback only; any "
                        "other needs --token)")
    parser.add_argument("--port", type=int, default=8765, help="port (default: 8765; 0: any "
                        "free one)")
    parser.add_argument("--token", default=None, help="a secret the browser must present "
                        "(?token=T or the header 'Authorization: Bearer T'); default: "
                        "$LAW_CORE_DASHBOARD_TOKEN")
    parser.add_argument("--runs-dir", metavar="DIR",
                        help="the runs to show (default: [report] runs_dir)")
    parser.add_argument("--max-runs", type=int, default=8,
                        help="most runs shown, newest first (default: 8)")


@hookimpl
def law_core_cli_commands() -> list[CliCommandRecord]:
    return [
        CliCommandRecord("report", "law_core_report.cli:report",
                         "write a self-contained HTML report of a task and its requirements",
                         configure=_configure_report),
        CliCommandRecord("dashboard", "law_core_report.cli:dashboard",
                         "serve the report of running and recent runs, live",
                         configure=_configure_dashboard),
    ]


@hookimpl
def law_core_config_defaults() -> dict[str, dict[str, str]]:
    from law_core_report.settings import ReportSettings

    return {"report": ReportSettings.config_defaults()}


@hookimpl
def law_core_task_event(event: Any) -> None:
    try:
        from law_core_report.events import record_task_event

        record_task_event(event)
    except Exception:  # a hook must not raise
        pass


@hookimpl
def law_core_job_event(event: Any) -> None:
    try:
        from law_core_report.events import record_job_event

        record_job_event(event)
    except Exception:
        pass
