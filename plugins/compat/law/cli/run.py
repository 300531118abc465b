"""``law run TASK [params]``: law's and luigi's command line, run by ``law-core run``.

What law users write that ``law-core run`` does not take is translated first
(``--Family-param VALUE``, a parameter of another task class, ``law-core run`` takes as it
is):

- ``--local-scheduler [BOOL]`` and ``[luigi_core] local_scheduler``: luigi's choice between
  the in-process scheduler and the central one at ``[luigi_core] default-scheduler-host`` /
  ``-port`` (luigi's default is the central scheduler, as in law);
- ``--log-level`` with luigi's levels (NOTSET, CRITICAL map to DEBUG, ERROR);
- luigi's process lock (``--no-lock``, ``--take-lock``, ``--lock-size``,
  ``--lock-pid-dir`` and their ``[luigi_core]`` options), which ``law run`` takes before
  it runs the task, as luigi's command line does (:func:`_acquire_lock`);
- ``--module MODULE``, imported before the task is looked up.

The exit codes are law's, which are luigi's retcodes as law sets them (see :func:`outcome`):
0; 1 when the task is not found; 2 for an unknown parameter (luigi's argument parser); 10
when the same command runs already (luigi's process lock) or another worker of the central
scheduler runs a task of the run (``already_running``); 20 when an external requirement is
missing (``missing_data``); 30 when a task was left pending for no other reason, such as
the scheduler never granting the resources it asks for, or the task of the command line
neither ran nor was complete (``not_run``); 40 when a task failed (``task_failed``); 50
when a ``requires()`` or ``complete()`` raised while the run was planned
(``scheduling_error``); 60 when the task cannot be built from its parameters and for any
other exception outside the tasks, such as an unreachable central scheduler
(``unhandled_exception``). Where several apply, the highest wins, as in luigi. The
outcomes of the run come from ``law-core run``'s :class:`law_core.cli.run.RunOutcome`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import TYPE_CHECKING, Any

from law_core.errors import (
    CompletenessCheckError,
    LawCoreError,
    ParameterError,
    TaskError,
    UnknownParameterError,
)
from law_core.plugin import BOOL_WORDS

if TYPE_CHECKING:
    from law_core.cli.run import RunOutcome

#: luigi's retcodes as law configures them (law's ``[luigi_retcode]`` defaults)
ALREADY_RUNNING = 10
MISSING_DATA = 20
NOT_RUN = 30
TASK_FAILED = 40
SCHEDULING_ERROR = 50
UNHANDLED_EXCEPTION = 60
#: what argparse exits with for an unknown option, as luigi's parser does for an unknown
#: parameter
USAGE_ERROR = 2
#: luigi's options without value that law-core does without
_DROPPED_FLAGS = ("--assistant", "--parallel-scheduling")
#: luigi's options with a value that law-core does without
_DROPPED_OPTIONS = ("--parallel-scheduling-processes", "--worker-timeout",
                    "--logging-conf-file")
_LOG_LEVELS = {"NOTSET": "DEBUG", "DEBUG": "DEBUG", "INFO": "INFO", "WARNING": "WARNING",
               "ERROR": "ERROR", "CRITICAL": "ERROR"}


def setup_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("task_family", help="a task family in the index file, or "
                        "MODULE.CLASS")
    parser.add_argument("parameter", nargs="*", help="task parameters")


def execute(args: argparse.Namespace, argv: list[str]) -> int:
    from law.config import Config, apply_logging, law_core_config
    from law_core.cli.run import run as core_run

    config = Config.instance()
    law_core_config(config)
    apply_logging(config)
    argv, modules = _take_modules(argv)
    for module in modules:
        importlib.import_module(module)
    name = task_name(args.task_family, config)
    argv, local = _take_local_scheduler(argv)
    argv, lock = _take_lock_options(argv)
    argv = translate(argv, name)
    argv, show_schemes = _take_print_output(argv)
    if not local:
        host, port = central_scheduler()
        argv += ["--scheduler-host", host, "--scheduler-port", str(port)]
    namespace = argparse.Namespace(task=name, params=argv)
    if not _acquire_lock(lock):
        return ALREADY_RUNNING
    try:
        if show_schemes is False:
            code = _without_schemes(core_run, namespace)
        else:
            code = core_run(namespace)
    except LawCoreError as err:
        print(f"law: error: {err}", file=sys.stderr)
        return error_code(err)
    except Exception as err:  # luigi's own errors (an unreachable scheduler): law's code 60
        from luigi.rpc import RPCError

        if isinstance(err, RPCError):
            print(f"law: error: {err}: {err.sub_exception}; start luigi's central scheduler "
                  "('luigid'), or run with --local-scheduler (or local_scheduler = True in "
                  "[luigi_core] of law.cfg)", file=sys.stderr)
        else:
            import traceback

            traceback.print_exc()
        return UNHANDLED_EXCEPTION
    return outcome(code, getattr(namespace, "outcome", None))


def outcome(code: int, run: RunOutcome | None) -> int:
    """law's exit code of a run that ``law-core run`` ended with ``code``, as luigi's
    ``run_with_retcodes`` makes it from the run's execution summary (``run``): the highest
    code of the categories that hold tasks, else 30 when the task neither ran nor was
    complete."""
    if run is None:  # luigi did not run: an interactive option, or nothing to do
        return code if code != 1 else TASK_FAILED
    codes = {"still_pending_ext": MISSING_DATA, "failed": TASK_FAILED,
             "run_by_other_worker": ALREADY_RUNNING, "scheduling_error": SCHEDULING_ERROR,
             "not_run": NOT_RUN}
    code = max((codes[c] for c in run.categories if c in codes), default=0)
    return NOT_RUN if code == 0 and not run.root_done else code


def error_code(err: Exception) -> int:
    """law's exit code for an error ``law-core run`` raised before luigi ran: the root
    task's ``complete()`` raising is a scheduling error (50, luigi checks it while
    planning), an unknown parameter is a usage error (2, luigi's argparse), anything else
    (a missing or bad parameter value, a task whose constructor raises) an unhandled
    exception (60), as luigi raises it while building the task."""
    if isinstance(err, CompletenessCheckError):
        return SCHEDULING_ERROR
    if isinstance(err, UnknownParameterError):
        return USAGE_ERROR
    return UNHANDLED_EXCEPTION


def _take_lock_options(argv: list[str]) -> tuple[list[str], dict[str, Any]]:
    """Remove luigi's lock options from ``argv``: ``--no-lock``, ``--take-lock`` (each
    with an optional BOOL), ``--lock-size N``, ``--lock-pid-dir DIR``; returns the rest
    and what was given, by luigi's ``[core]`` option names."""
    flags = {"--no-lock": "no_lock", "--take-lock": "take_lock"}
    options = {"--lock-size": "lock_size", "--lock-pid-dir": "lock_pid_dir"}
    rest: list[str] = []
    given: dict[str, Any] = {}
    i = 0
    while i < len(argv):
        flag, eq, value = argv[i].partition("=")
        flag = flag.replace("_", "-")
        if flag in flags:
            if not eq and i + 1 < len(argv) and argv[i + 1].lower() in BOOL_WORDS:
                value, i = argv[i + 1], i + 1
            given[flags[flag]] = _parse_bool(value, flag) if (eq or value) else True
        elif flag in options:
            if not eq:
                if i + 1 >= len(argv):
                    raise ParameterError(f"{flag} needs a value")
                value, i = argv[i + 1], i + 1
            given[options[flag]] = value
        else:
            rest.append(argv[i])
        i += 1
    return rest, given


def _acquire_lock(given: dict[str, Any]) -> bool:
    """luigi's process lock, which ``law run`` takes as luigi's command line does: the
    same command (the same process command line) runs at most ``lock_size`` times at
    once, else this one exits with 10 (``already_running``); ``--take-lock`` tells the
    running ones to stop taking new tasks (SIGUSR1) and runs anyway. ``--no-lock`` and
    ``[luigi_core] no_lock`` turn it off; the pid files are in ``lock_pid_dir`` (luigi's
    default: ``luigi`` in the temporary directory)."""
    import signal
    import tempfile

    import luigi.lock

    def option(name: str) -> str | None:
        return str(given[name]) if name in given else _luigi_option("core", name)

    if _parse_bool(option("no_lock") or "false", "no_lock"):
        return True
    size = option("lock_size") or "1"
    try:
        lock_size = int(size)
    except ValueError:
        raise ParameterError(f"--lock-size {size!r}: expected a number") from None
    pid_dir = option("lock_pid_dir") or os.path.join(tempfile.gettempdir(), "luigi")
    take = _parse_bool(option("take_lock") or "false", "take_lock")
    return luigi.lock.acquire_for(pid_dir, lock_size, signal.SIGUSR1 if take else None)


def _take_print_output(argv: list[str]) -> tuple[list[str], bool | None]:
    """law's ``--print-output DEPTH[,SCHEME]``: print law's header line (scripts that read
    the URIs skip it) and hand the depth on; returns whether schemes are shown (None when
    the option is not given)."""
    out: list[str] = []
    show: bool | None = None
    i = 0
    while i < len(argv):
        flag, eq, value = argv[i].partition("=")
        if flag.replace("_", "-") != "--print-output":
            out.append(argv[i])
            i += 1
            continue
        if not eq:
            if i + 1 >= len(argv):
                raise ParameterError("--print-output needs a depth")
            value, i = argv[i + 1], i + 1
        depth, _, scheme = value.partition(",")
        show = _parse_bool(scheme, "--print-output") if scheme.strip() else True
        print(f"print task output with max_depth {depth.strip()}, "
              f"{'showing' if show else 'hiding'} schemes\n")
        out.append(f"--print-output={depth.strip()}")
        i += 1
    return out, show


def _without_schemes(run: Any, namespace: argparse.Namespace) -> int:
    """Run ``run(namespace)`` and print its output lines with ``scheme://`` cut off."""
    import contextlib
    import io
    import re

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = run(namespace)
    for line in buffer.getvalue().splitlines():
        print(re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", "", line))
    return code


def task_name(family: str, config: Any) -> str:
    """What ``law-core run`` looks up for ``family``: ``MODULE.CLASS`` from law's index
    file when the family is in it, else ``family`` as given (``MODULE.CLASS``, or a
    family law-core's own index knows)."""
    index_file = config.get_expanded("core", "index_file")
    if "." in family and _importable_class(family):
        return family
    if not os.path.exists(index_file):
        return family
    entry = read_task_from_index(family, index_file)
    if entry is None:
        raise TaskError(f"task family '{family}' not found in index {index_file}; run "
                        "'law index' after adding its module to [modules]")
    module_name = entry[0]
    module = importlib.import_module(module_name)
    for value in vars(module).values():
        if isinstance(value, type) and getattr(value, "get_task_family", None) and \
                value.get_task_family() == family and value.__module__ == module_name:
            return f"{module_name}.{value.__name__}"
    raise TaskError(f"the index {index_file} names module '{module_name}' for task family "
                    f"'{family}', which it does not define; run 'law index' again")


def _importable_class(name: str) -> bool:
    module_name, _, attr = name.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return False
    return isinstance(getattr(module, attr, None), type)


def read_task_from_index(family: str, index_file: str) -> tuple[str, str, str] | None:
    """(module, family, params) of ``family`` in law's index file, or None."""
    with open(index_file) as f:
        for line in f:
            parts = line.strip().split(":", 2)
            if len(parts) == 3 and parts[1] == family:
                return parts[0], parts[1], parts[2]
    return None


def _take_modules(argv: list[str]) -> tuple[list[str], list[str]]:
    rest, modules = [], []
    values = iter(argv)
    for arg in values:
        if arg == "--module":
            module = next(values, None)
            if module is None:
                raise ParameterError("--module needs a module name")
            modules.append(module)
        elif arg.startswith("--module="):
            modules.append(arg.split("=", 1)[1])
        else:
            rest.append(arg)
    return rest, modules


def _take_local_scheduler(argv: list[str]) -> tuple[list[str], bool]:
    """Remove ``--local-scheduler [BOOL]``; return whether the local scheduler is used."""
    rest: list[str] = []
    local: bool | None = None
    i = 0
    while i < len(argv):
        arg = argv[i]
        flag, eq, value = arg.partition("=")
        if flag.replace("_", "-") == "--local-scheduler":
            if not eq and i + 1 < len(argv) and argv[i + 1].lower() in BOOL_WORDS:
                value, i = argv[i + 1], i + 1
            local = _parse_bool(value, flag) if (eq or value) else True
        else:
            rest.append(arg)
        i += 1
    if local is None:
        local = _luigi_bool("core", "local_scheduler", default=False)
    return rest, local


def _parse_bool(value: str, what: str) -> bool:
    word = value.strip().lower()
    if word in ("true", "1", "yes", "on"):
        return True
    if word in ("false", "0", "no", "off"):
        return False
    raise ParameterError(f"{what}: expected True or False, not {value!r}")


def _luigi_option(section: str, option: str) -> str | None:
    import luigi.configuration

    config = luigi.configuration.get_config()
    for name in (option, option.replace("_", "-"), option.replace("-", "_")):
        if config.has_option(section, name):
            return config.get(section, name)
    return None


def _luigi_bool(section: str, option: str, default: bool) -> bool:
    value = _luigi_option(section, option)
    return default if value is None else _parse_bool(value, f"[{section}] {option}")


def central_scheduler() -> tuple[str, int]:
    """Host and port of luigi's central scheduler, as luigi reads them from its config."""
    host = _luigi_option("core", "default-scheduler-host") or \
        _luigi_option("core", "scheduler_host") or "localhost"
    port = _luigi_option("core", "default-scheduler-port") or \
        _luigi_option("core", "scheduler_port") or "8082"
    try:
        return host, int(port)
    except ValueError:
        raise ParameterError(f"luigi's scheduler port {port!r} is not a number") from None


def translate(argv: list[str], task: str) -> list[str]:
    """law's and luigi's options in ``argv`` turned into what ``law-core run`` takes (see
    the module docstring); the task's own parameters pass unchanged."""
    from law_core.plugin import find_task_class

    find_task_class(task)  # a task that is not found fails here, with law's exit code
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        flag, eq, value = arg.partition("=")
        if flag in _DROPPED_FLAGS:
            if not eq and i + 1 < len(argv) and argv[i + 1].lower() in BOOL_WORDS:
                i += 1
        elif flag in _DROPPED_OPTIONS:
            i += 0 if eq else 1
        elif flag == "--log-level":
            if not eq:
                if i + 1 >= len(argv):
                    raise ParameterError("--log-level needs a level")
                value, i = argv[i + 1], i + 1
            level = _LOG_LEVELS.get(value.upper())
            if level is None:
                raise ParameterError(f"--log-level {value}: expected one of "
                                     f"{', '.join(_LOG_LEVELS)}")
            out += ["--log-level", level]
        else:
            out.append(arg)
        i += 1
    return out


