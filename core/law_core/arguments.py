"""Task parameters as arguments and back: how a task is built from the command line and
config sections, and how it travels to another process (a job, a sandbox, a pool process).

:func:`task_arguments` and :func:`build_task` are inverses: every parameter value arrives
as the same Python value (a leading ``-``, ``None``, empty strings, newlines, dates, task
instances), or serializing fails at once with the parameter's name. The command line
never sees an abbreviated option.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from law_core.errors import LawCoreError, ParameterError, UnknownParameterError


class RaisingParser(argparse.ArgumentParser):
    """Errors as :class:`ParameterError`; abbreviations of options are never accepted."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("add_help", False)
        super().__init__(*args, **kwargs)
        self.argv: list[str] = []

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        self.argv = list(args or [])
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> Any:  # argparse would print usage and exit
        raise ParameterError(message + _dash_value_hint(message, self.argv))


def _dash_value_hint(message: str, argv: list[str]) -> str:
    """argparse takes a value starting with '-' for an option: say how to pass it."""
    if "expected one argument" not in message:
        return ""
    flag = message.split(":", 1)[0].replace("argument ", "").split("/")[0].strip()
    for i, arg in enumerate(argv[:-1]):
        if arg.replace("_", "-") == flag.replace("_", "-") and argv[i + 1].startswith("-"):
            return (f"; a value starting with '-' must be joined to its option: "
                    f"{flag}={argv[i + 1]}")
    return ""


def flag_of(name: str) -> str:
    return "--" + name.replace("_", "-")


def build_task(cls: type, argv: list[str]) -> Any:
    """An instance of ``cls`` from ``--param value`` arguments, with clear errors for
    unknown parameters, bad values and missing required ones."""
    import difflib

    from luigi.parameter import MissingParameterException

    family = cls.get_task_family()
    params = dict(cls.get_params())
    parser = RaisingParser(prog=f"law-core run {family}")
    for name, param in params.items():
        flags = [flag_of(name)] + (["--" + name] if "_" in name else [])
        # a bare --flag means true (also for a backend's bool option, --htcondor-file-transfer)
        is_bool = _is_bool(param)
        parser.add_argument(*flags, dest=name, default=argparse.SUPPRESS,
                            nargs="?" if is_bool else None, const="true" if is_bool else None)
    given, unknown = parser.parse_known_args(argv)
    if unknown:
        flag = next((u for u in unknown if u.startswith("-")), unknown[0])
        known = [flag_of(n) for n in params]
        close = difflib.get_close_matches(flag.split("=")[0], known, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise UnknownParameterError(
            f"unknown parameter {flag} of {family}{hint} (its parameters: {', '.join(known)})")
    values = {}
    for name, raw in vars(given).items():
        try:
            values[name] = params[name].parse(raw)
        except Exception as err:
            expected = type(params[name]).__name__
            raise ParameterError(
                f"bad value {raw!r} for {flag_of(name)} of {family} (a {expected}): {err}"
            ) from None
    try:
        return cls(**values)
    except MissingParameterException as err:
        raise ParameterError(f"{family} needs a value for a parameter without default: {err}")\
            from None
    except LawCoreError:
        raise
    except (ValueError, TypeError) as err:
        raise ParameterError(f"cannot build {family} from the given parameters: {err}") \
            from None


def apply_task_sections() -> None:
    """Hand config sections named after task families (``[CreateChars] poll_interval =
    30s``) to luigi, whose parameters read their defaults from them: parameter values
    per task class by configuration alone. An option that is no parameter of the task, or
    a value the parameter cannot parse, is an error naming the file and line."""
    import difflib

    import luigi

    from law_core.config import CORE_OPTIONS, FREE_SECTIONS, get_config
    from law_core.errors import ConfigError
    from law_core.task import Task

    config = get_config()
    classes = task_classes()
    # a section that only command-line flags or environment variables name comes lowercase
    by_key = {family.lower(): cls for family, cls in classes.items()}
    own = {*CORE_OPTIONS, *FREE_SECTIONS, *config.defaults}  # law-core's ([workflow], ...)
    luigi_config = luigi.configuration.get_config()
    for section in config.sections():
        if section in own:
            continue
        cls = classes.get(section) or by_key.get(section.lower())
        if cls is None:
            continue
        params = dict(cls.get_params())
        for option in config.options(section):
            value = config.get(section, option)
            if issubclass(cls, Task):
                where = f"[{section}] {option} = {value!r} ({config.origin(section, option)})"
                if option not in params:
                    close = difflib.get_close_matches(option, list(params), n=1)
                    hint = f"did you mean {close[0]}? " if close else ""
                    raise ConfigError(f"{where}: {section} has no parameter '{option}'; "
                                      f"{hint}its parameters: {', '.join(params)}")
                try:
                    params[option].parse(value)
                except Exception as err:
                    raise ConfigError(f"{where}: not a valid value of the parameter {option} "
                                      f"(a {type(params[option]).__name__}): {err}") from None
            luigi_config.set(cls.get_task_family(), option, value)


#: the words a boolean flag's value may be (the next argument is the flag's value then)
BOOL_WORDS = frozenset(("true", "false", "1", "0", "yes", "no", "on", "off"))


def take_family_flags(argv: list[str], own: Any = None) -> list[str]:
    """luigi's ``--Family-param VALUE`` flags taken out of ``argv``: a parameter of another
    task class (an upstream workflow's ``--Select-tolerance 0.1``), whose value becomes that
    class's default in this run and in the processes it starts, as ``[Family] param`` in
    the config makes it. ``own``: the task class of the command line, whose parameters
    win over a family of the same spelling. Call :func:`apply_task_sections` after."""
    from law_core.config import get_config

    own_flags = {flag_of(n) for n, _ in own.get_params()} if own is not None else set()
    families = sorted(task_classes().items(), key=lambda item: -len(item[0]))
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        flag, eq, value = arg.partition("=")
        found = None
        if flag.startswith("--") and flag not in own_flags:
            found = _family_param(flag[2:], families)
        if found is None:
            out.append(arg)
            i += 1
            continue
        family, name, param = found
        if not eq:
            following = argv[i + 1] if i + 1 < len(argv) else None
            if _is_bool(param) and (following is None or following.lower() not in BOOL_WORDS):
                value = "true"
            elif following is None:
                raise ParameterError(f"{flag} needs a value")
            else:
                value, i = following, i + 1
        try:
            param.parse(value)
        except Exception as err:
            raise ParameterError(f"bad value {value!r} for {flag}, the parameter {name} of "
                                 f"{family} (a {type(param).__name__}): {err}") from None
        get_config().override(family, name, value, flag)
        i += 1
    return out


def task_classes() -> dict[str, type]:
    """Every luigi task class imported so far, by task family (the first of a name)."""
    import luigi

    classes: dict[str, type] = {}
    todo = list(luigi.Task.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        classes.setdefault(cls.get_task_family(), cls)
    return classes


def _family_param(name: str, families: list[tuple[str, type]]) -> tuple[str, str, Any] | None:
    """(family, parameter name, parameter) of luigi's flag ``Family-param-name``."""
    for family, cls in families:
        if name.startswith(family + "-"):
            param_name = name[len(family) + 1:].replace("-", "_")
            params = dict(cls.get_params())
            if param_name in params:
                return family, param_name, params[param_name]
    return None


def _is_bool(param: Any) -> bool:
    import luigi

    return isinstance(param, (luigi.BoolParameter, luigi.OptionalBoolParameter)) or \
        type(param).__name__ == "OptionalBoolParameter" or \
        getattr(getattr(param, "spec", None), "kind", None) == "bool"


def task_arguments(task: Any, keep: tuple[str, ...] = ()) -> list[str]:
    """The command-line arguments that rebuild ``task`` with :func:`build_task` in another
    process (a job, a sandbox, a pool process): all of its parameters but ``branch`` and the
    workflow-only and job-manager ones (unless named in ``keep``), each as ``--name=value``
    (a value may start with ``-``) and checked to parse back to the same value."""
    from law_core.workflow.base import JOB_MANAGER_PARAMS, WORKFLOW_ONLY_PARAMS

    return _arguments(task, {"branch", *WORKFLOW_ONLY_PARAMS, *JOB_MANAGER_PARAMS} - set(keep))


#: how a task instance (a TaskInstanceParameter's value) is written as an argument
TASK_VALUE_PREFIX = "law-core-task:"


def task_value(task: Any) -> str:
    """A task instance as one string that :func:`task_from_value` rebuilds exactly."""
    cls = type(task)
    if cls.__module__ == "__main__":
        raise ParameterError(f"{task!r} is defined in __main__, which another process cannot "
                             "import; move its class into a module")
    spec = {"task": f"{cls.__module__}.{cls.__qualname__}", "params": _arguments(task, set())}
    return TASK_VALUE_PREFIX + json.dumps(spec, sort_keys=True)


def task_from_value(text: str) -> Any:
    from law_core.index import find_task_class

    spec = json.loads(text[len(TASK_VALUE_PREFIX):])
    return build_task(find_task_class(spec["task"]), spec["params"])


def _arguments(task: Any, skip: set[str]) -> list[str]:
    family = task.get_task_family()
    args: list[str] = []
    for name, param in task.get_params():
        if name in skip:
            continue
        value = task.param_kwargs[name]
        if value is None and param.task_value(family, name) is None:
            continue  # the other side gets the same None as its default
        text = _exact_text(param, value, lambda name=name: f"{flag_of(name)} of {task!r}")
        args.append(f"{flag_of(name)}={text}")
    return args


def _exact_text(param: Any, value: Any, where: Callable[[], str]) -> str:
    """``param.serialize(value)``, checked to parse back to ``value``; ``where`` names the
    value in errors (made only then: a task's repr is not cheap)."""
    from law_core.parameters import TaskInstanceParameter

    if isinstance(param, TaskInstanceParameter) and value is not None:
        return task_value(value)
    try:
        text = param.serialize(value)
        back = param.normalize(param.parse(text))
    except Exception as err:
        raise ParameterError(f"the value {value!r} of {where()} cannot be passed to another "
                             f"process: {type(err).__name__}: {err}") from None
    if back != value and back == back:  # (NaN is the one value unequal to itself)
        raise ParameterError(
            f"the value {value!r} of {where()} does not survive the way to another process: "
            f"it is written as {text!r}, which reads back as {back!r}; give the parameter "
            "a type whose serialize() and parse() are inverses")
    return text


