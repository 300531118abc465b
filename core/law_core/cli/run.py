"""``law-core run TASK [params]``: build a task from the command line and run or inspect it."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from dataclasses import dataclass
from typing import Any

from law_core.arguments import (
    RaisingParser,
    apply_task_sections,
    build_task,
    flag_of,
    take_family_flags,
)
from law_core.errors import ParameterError

INTERACTIVE_OPTIONS = ("print_deps", "print_status", "print_output", "remove_output",
                       "fetch_output")


def add_run_options(parser: argparse.ArgumentParser) -> set[str]:
    """Add the options of ``law-core run`` to ``parser``; return their flags."""
    group = parser.add_argument_group("run options")
    scheduler = group.add_mutually_exclusive_group()
    inspect = parser.add_argument_group(
        "interactive options (the task is not run; the command exits 0)")
    actions = [
        group.add_argument("--workers", type=int, default=None, metavar="N",
                           help="parallel luigi workers, and processes of a local workflow "
                           "(default: [local_workflow] workers, 1)"),
        scheduler.add_argument("--local-scheduler", action="store_true",
                               help="use an in-process scheduler (the default)"),
        scheduler.add_argument("--scheduler-host", metavar="HOST",
                               help="use the central luigi scheduler on HOST"),
        group.add_argument("--scheduler-port", type=int, default=8082, metavar="PORT"),
        group.add_argument("--log-level", default=None,
                           choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                           help="DEBUG also shows tracebacks and luigi's own messages "
                           "(default: INFO)"),
        group.add_argument("--refresh", action="store_true",
                           help="ask the storage whether each output exists, not the "
                           "existence cache of file systems with exists_cache_lifetime"),
        group.add_argument("--notify", metavar="NAME[,NAME]",
                           help="send a message through these notifiers (law-core plugins "
                           "lists them) when the task succeeds or fails"),
        group.add_argument("--log-file", metavar="PATH",
                           help="where the tracebacks of failures go (default: a new file "
                           "in ~/.cache/law-core/logs, made at the first failure)"),
        inspect.add_argument("--print-deps", metavar="DEPTH",
                             help="print the dependency tree to DEPTH (0: the task, -1: all)"),
        inspect.add_argument("--print-status", metavar="DEPTH[,TARGET_DEPTH]",
                             help="print the status of each task and output; TARGET_DEPTH > 0 "
                             "expands collections"),
        inspect.add_argument("--print-output", metavar="DEPTH",
                             help="print the output URIs of the tasks to DEPTH, one per line"),
        inspect.add_argument("--remove-output", metavar="DEPTH[,MODE[,RUN]]",
                             help="remove outputs to DEPTH; MODE i (ask, default), a (all), "
                             "d (dry run); RUN true runs the task afterwards"),
        inspect.add_argument("--fetch-output", metavar="DEPTH[,MODE[,DIR]]",
                             help="copy outputs to DIR (default: .); MODE i, a or d as above"),
    ]
    return {flag for action in actions for flag in action.option_strings}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("task", metavar="TASK", help="MODULE.CLASS, or a family in the index")
    parser.add_argument("params", nargs=argparse.REMAINDER, metavar="PARAMS",
                        help="task parameters (--name value) and the options below")
    add_run_options(parser)
    parser.epilog = "Parameters of a task: law-core run TASK --help"


def _join_negative_values(argv: list[str]) -> list[str]:
    """``--print-status -1,1`` -> ``--print-status=-1,1``: argparse would take a value
    starting with '-' for an option."""
    joined: list[str] = []
    values = iter(argv)
    for arg in values:
        if arg.replace("_", "-").lstrip("-") in {o.replace("_", "-") for o in INTERACTIVE_OPTIONS}:
            value = next(values, None)
            joined.append(arg if value is None else f"{arg}={value}")
        else:
            joined.append(arg)
    return joined


def validate_task(task: Any, sandboxes: bool = True) -> None:
    """Fail early on a branch out of range, a broken branch map, a branch selection or
    acceptance that cannot be met, an unknown --workflow, or (``sandboxes``) a sandbox that
    cannot work (its type, spec, script or image): before anything upstream runs."""
    from law_core.sandbox import validate_sandboxes
    from law_core.workflow.base import Workflow
    from law_core.workflow.job_worker import JOB_ENV

    if isinstance(task, Workflow):
        task.check_branch()
        if task.is_workflow():
            task.check_selection()
            from law_core.registry import get_registry

            get_registry().job_manager(task.job_manager_name())
    if sandboxes:
        validate_sandboxes(task, every_task=JOB_ENV not in os.environ)  # a job: its own task


def check_parameter_names(cls: type) -> None:
    """A task parameter whose flag is also a run option would be silently shadowed."""
    flags = add_run_options(RaisingParser(prog="law-core run"))
    for name, _ in cls.get_params():
        for flag in {flag_of(name), "--" + name}:
            if flag in flags:
                raise ParameterError(
                    f"the parameter '{name}' of {cls.get_task_family()} has the flag {flag}, "
                    f"which is also an option of law-core run ({flag}); rename the parameter")


def run(args: argparse.Namespace) -> int:
    """Run ``law-core run`` with ``args``; returns the exit code. When luigi ran the task,
    ``args.outcome`` is the run's :class:`RunOutcome` afterwards (else None), for front
    ends that tell outcomes apart (law-core-compat's ``law run`` turns it into luigi's
    retcodes)."""
    args.outcome = None
    if args.params and args.params[0] in ("-h", "--help"):
        return _print_task_help(args.task)
    options = RaisingParser(prog="law-core run")
    add_run_options(options)
    opts, rest = options.parse_known_args(_join_negative_values(args.params))
    # run options given before TASK
    for name in ("workers", "scheduler_host", "print_deps", "print_status", "print_output",
                 "remove_output", "fetch_output", "log_file", "log_level", "notify"):
        if getattr(opts, name) is None and getattr(args, name, None) is not None:
            setattr(opts, name, getattr(args, name))
    opts.log_level = opts.log_level or "INFO"
    from law_core.targets.existence import bypass

    bypass(opts.refresh or getattr(args, "refresh", False))

    logging.basicConfig(level=opts.log_level, format="%(levelname)s: %(message)s")
    # luigi's own chatter only when debugging; its tracebacks go to the run's log file
    for name in ("luigi", "luigi-interface"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO if opts.log_level == "DEBUG" else logging.WARNING)
        if opts.log_level != "DEBUG" and not any(
                isinstance(f, _NoTracebacks) for f in logger.filters):
            logger.addFilter(_NoTracebacks())
    from law_core.config import get_config
    from law_core.index import find_task_class

    apply_logging_section(get_config())
    get_config().check()  # a mistyped option fails here, before anything runs
    if opts.workers is not None:
        if opts.workers < 1:
            raise ParameterError(f"--workers must be at least 1, not {opts.workers}")
        get_config().override("local_workflow", "workers", str(opts.workers), "--workers")

    cls = find_task_class(args.task)
    check_parameter_names(cls)
    rest = take_family_flags(rest, own=cls)
    apply_task_sections()
    task = build_task(cls, rest)
    # --print-status and the like enter no sandbox: they work from a shell that has none
    validate_task(task, sandboxes=all(getattr(opts, n) is None for n in INTERACTIVE_OPTIONS))
    if opts.notify:
        from law_core.notify import notify_on

        notify_on(task, [name.strip() for name in opts.notify.split(",") if name.strip()])

    from law_core.cli import interactive
    from law_core.task import fixed_parameter_defaults

    with fixed_parameter_defaults():  # the config is set: from here on it does not change
        for name in INTERACTIVE_OPTIONS:
            spec = getattr(opts, name)
            if spec is not None:
                carry_on = getattr(interactive, name)(task, spec)
                if not carry_on:
                    return 0
        code = execute(task, opts)
        args.outcome = getattr(opts, "outcome", None)
        return code


@dataclass(frozen=True)
class RunOutcome:
    """What luigi's execution summary says of a run: the names of its categories that hold
    tasks (luigi's names: ``completed``, ``already_done``, ``failed``,
    ``scheduling_error``, ``still_pending_ext``, ``run_by_other_worker``, ``not_run``,
    ``upstream_failure``, ...), and whether the task of the command line ran or was
    complete (``root_done``; not when, say, another worker of the central scheduler runs
    it). These are what luigi's own exit codes (``luigi.retcodes``) are made of."""

    categories: frozenset[str]
    root_done: bool

    @classmethod
    def of(cls, result: Any) -> RunOutcome:
        """The outcome of ``luigi.build(..., detailed_summary=True)``'s ``result``."""
        from law_core.luigi_internals import run_summary

        return cls(*run_summary(result.worker))


def execute(task: Any, opts: argparse.Namespace) -> int:
    """Run ``task`` with luigi; return 0 on success, 1 on failure, after a clear summary:
    one line per failure, the tracebacks in the run's log file. ``opts.outcome`` is the
    run's :class:`RunOutcome` afterwards (None when luigi did not run)."""
    import luigi

    from law_core.luigi_internals import SchedulerFactory
    from law_core.process_budget import start_budget, stop_budget
    from law_core.run_log import start_run_log, stop_run_log
    from law_core.task import find_cycle
    from law_core.workflow.base import Workflow

    opts.outcome = None
    if isinstance(task, Workflow) and task.is_workflow() and task.handle_job_actions():
        return 0
    _watch_failures()
    run_log = start_run_log(getattr(opts, "log_file", None))
    # law-core configured logging already; luigi's own set-up would duplicate every line
    luigi.configuration.get_config().set("core", "no_configure_logging", "true")
    try:
        if _is_complete(task):
            print(f"{task!r} is complete; nothing to run")
            return 0
        if (opts.workers or 1) > 1:
            start_budget(opts.workers)  # shared by luigi's task processes and branch pools
        result = luigi.build(
            [task],
            worker_scheduler_factory=SchedulerFactory(),
            local_scheduler=opts.scheduler_host is None,
            scheduler_host=opts.scheduler_host or "localhost",
            scheduler_port=opts.scheduler_port,
            workers=opts.workers or 1,
            detailed_summary=True,
        )
        failures = run_log.failures()
    finally:
        stop_budget()
        stop_run_log()
    opts.outcome = outcome = RunOutcome.of(result)
    ok = result.status in (luigi.LuigiStatusCode.SUCCESS,
                           luigi.LuigiStatusCode.SUCCESS_WITH_RETRY) and outcome.root_done
    if ok:
        pending = task.jobs_left_running() if isinstance(task, Workflow) else 0
        if pending:
            print(f"submitted the jobs of {task!r}: {pending} still pending or running; "
                  "run the same command again to poll them")
        else:
            print(f"{task!r} done")
        return 0
    for failure in failures:
        print(f"law-core: error: {failure.task} failed: {failure.error}", file=sys.stderr)
    cycle = find_cycle(task) if not failures else None
    if cycle:
        print("law-core: error: the requirements form a cycle, so none of its tasks can "
              f"run: {' -> '.join(map(repr, cycle))}", file=sys.stderr)
    elif "run_by_other_worker" in outcome.categories and not failures:
        print(f"law-core: error: {task!r} was not run: another worker of the central "
              "scheduler runs it or one of its requirements; run the command again when "
              f"that worker is done:\n{result.summary_text}", file=sys.stderr)
    elif not failures:
        print(f"law-core: error: {task!r} did not complete ({result.status.name}):\n"
              f"{result.summary_text}", file=sys.stderr)
    if run_log.has_tracebacks() and logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        print(f"law-core: tracebacks in {run_log.path}", file=sys.stderr)
    return 1


def apply_logging_section(config: Any) -> None:
    """Set the level of each logger the config's ``[logging]`` section names (``LOGGER =
    LEVEL``, e.g. ``luigi-interface = INFO`` to see luigi's messages of the run); these
    win over the levels ``law-core run`` sets by default and ``--log-level``, which apply
    to the other loggers."""
    for name, level in config.items("logging").items():
        value = logging.getLevelName(level.strip().upper()) if level else None
        if not isinstance(value, int):
            from law_core.errors import ConfigError

            raise ConfigError(
                f"{config.origin('logging', name)}: [logging] {name} = {level!r} is not a "
                "log level; use DEBUG, INFO, WARNING, ERROR or CRITICAL")
        logging.getLogger(name).setLevel(value)


def _is_complete(task: Any) -> bool:
    """``task.complete()``, with an error from the user's code (an ``exists()`` of a
    custom target, a ``complete()`` override) as one line; law-core's tasks log its
    traceback (see ``Task.complete``)."""
    from law_core.errors import CompletenessCheckError, LawCoreError, StorageUnreachableError
    from law_core.run_log import current_run_log

    try:
        return bool(task.complete())
    except StorageUnreachableError as err:
        # never "incomplete": running it would redo work that may well exist
        raise StorageUnreachableError(
            f"cannot tell whether {task!r} is complete, so nothing was run: {err}",
            reason=err.reason) from err
    except LawCoreError:
        raise
    except Exception as err:
        run_log = current_run_log()
        logged = run_log is not None and run_log.has_tracebacks()
        where = f" (traceback in {run_log.path})" if logged else ""
        raise CompletenessCheckError(f"checking whether {task!r} is complete failed: "
                        f"{type(err).__name__}: {err}{where}") from err


class _NoTracebacks(logging.Filter):
    """Keeps luigi's tracebacks of failing tasks off the terminal: law-core reports each
    failure in one line and writes the traceback to the run's log file."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info:
            return False
        return "Traceback (most recent call last)" not in record.getMessage()


_WATCHING = False


def _watch_failures() -> None:
    """Record failures through luigi's public event API (handlers cannot be removed,
    so one module-level handler is registered once). luigi reports a task's failure in the
    process that ran it, a fork with --workers N: the record goes to the run's log file."""
    global _WATCHING
    if _WATCHING:
        return
    import luigi

    from law_core.events import TaskEvent, emit_task_event
    from law_core.process import die_with_parent
    from law_core.process_budget import hold_process, release_held_process
    from law_core.run_log import record_failure as record
    from law_core.task import remove_stale_temporaries
    from law_core.workflow.base import Workflow

    main_pid = os.getpid()

    @luigi.Task.event_handler(luigi.Event.FAILURE)
    def on_failure(task: Any, exception: BaseException) -> None:
        release_held_process()
        record(task, exception)
        emit_task_event(TaskEvent("failure", task.task_id, task.get_task_family(),
                                  str(exception), task=task, exception=exception))

    @luigi.Task.event_handler(luigi.Event.BROKEN_TASK)
    def on_broken(task: Any, exception: BaseException) -> None:
        # complete(), output() or requires() raised while luigi planned the run
        record(task, exception)

    @luigi.Task.event_handler(luigi.Event.PROCESS_FAILURE)
    def on_process_failure(task: Any, message: str) -> None:
        record(task, message)

    @luigi.Task.event_handler(luigi.Event.START)
    def on_start(task: Any) -> None:
        if os.getpid() != main_pid:  # luigi's forked worker: it must not outlive us
            die_with_parent(main_pid)
            if not _only_polls(task):
                hold_process()  # of --workers: the workflows' branch pools take the rest
        if not (isinstance(task, Workflow) and task.is_workflow()):
            remove_stale_temporaries(task)  # what a killed earlier run left
        emit_task_event(TaskEvent("start", task.task_id, task.get_task_family(), task=task))

    @luigi.Task.event_handler(luigi.Event.SUCCESS)
    def on_success(task: Any) -> None:
        release_held_process()
        emit_task_event(TaskEvent("success", task.task_id, task.get_task_family(),
                                  task=task))

    _WATCHING = True


def _only_polls(task: Any) -> bool:
    """A workflow whose branches run on a batch system: its process submits and waits."""
    from law_core.workflow.base import Workflow
    from law_core.workflow.remote import RemoteJobManager

    return (isinstance(task, Workflow) and task.is_workflow()
            and isinstance(task.job_manager(), RemoteJobManager))


def _print_task_help(name: str) -> int:
    from law_core.index import find_task_class

    cls = find_task_class(name)
    print(f"law-core run {cls.get_task_family()} [PARAMS] [OPTIONS]\n")
    print((cls.__doc__ or "").strip() + "\n")
    print("parameters:")
    family = cls.get_task_family()
    for pname, param in cls.get_params():
        if param.has_task_value(family, pname):
            value = param.task_value(family, pname)
            default = f"default: {param.serialize(value) if value is not None else None}"
        else:
            default = "required"
        desc = f" {param.description}" if param.description else ""
        print(f"  {flag_of(pname)}{desc} ({default})")
    options = argparse.ArgumentParser(prog="", add_help=False, usage=argparse.SUPPRESS)
    add_run_options(options)
    print(options.format_help().strip())
    return 0
