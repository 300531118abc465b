"""The task of a recorded run: its ``law-core run`` command line, read back."""

from __future__ import annotations

#: options of ``law-core run`` that take a value, and those that do not (not task parameters)
RUN_OPTIONS_WITH_VALUE = {"--workers", "--scheduler-host", "--scheduler-port", "--log-level",
                          "--log-file", "--print-deps", "--print-status", "--print-output",
                          "--remove-output", "--fetch-output"}
RUN_FLAGS = {"--local-scheduler", "--refresh"}


def task_command(argv: list[str]) -> tuple[str, list[str]] | None:
    """(TASK, task parameters) of ``law-core run [OPTIONS] TASK [PARAMS]``, the run's own
    options left out; None when ``argv`` is no such command."""
    try:
        start = argv.index("run", 1)
    except ValueError:
        return None
    rest = argv[start + 1:]
    task = None
    params: list[str] = []
    i = 0
    while i < len(rest):
        arg = rest[i]
        name = arg.split("=", 1)[0]
        if name in RUN_FLAGS:
            i += 1
            continue
        if name in RUN_OPTIONS_WITH_VALUE:
            i += 1 if "=" in arg else 2
            continue
        if task is None and not arg.startswith("-"):
            task = arg
        else:
            params.append(arg)
        i += 1
    return (task, params) if task else None
