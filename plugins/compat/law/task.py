"""law.Task, WrapperTask and ExternalTask: law-core's tasks with law 0.1.21's extra API.

What is useful beyond migration (publish_message, publish_progress, walk_deps, the
exclude_params_* sets adding up along the class hierarchy) lives in law-core's Task; this
module adds law's vocabulary: ``req_params`` with its options, ``modify_param_values``,
values given as strings parsed on construction, law's ``repr``, ``cli_args``, and the
class attributes law tasks set.
"""

from __future__ import annotations

import contextlib
import fnmatch
import logging
import time
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, ClassVar

import luigi

import law_core
from law.parameter import NO_STR

__all__ = ["Task", "WrapperTask", "ExternalTask", "Register"]

logger = logging.getLogger(__name__)

#: law's Register metaclass: law-core's tasks use luigi's, which keeps the register
Register = luigi.task_register.Register

#: law's interactive options; law-core's run command has them as options, not parameters
INTERACTIVE_PARAMS = ["print_deps", "print_status", "print_output", "fetch_output",
                      "remove_output"]


def _match(name: str, patterns: Any) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def _as_set(value: Any) -> set[Any]:
    if value is None:
        return set()
    if isinstance(value, (list, tuple, set, frozenset)):
        return set(value)
    return {value}


def _cli_class_args(family: str) -> set[str]:
    """The parameters of ``family`` given as ``--Family-param`` on luigi's command line."""
    parser = luigi.cmdline_parser.CmdlineParser.get_instance()
    if parser is None:
        return set()
    prefix = family + "_"
    try:
        given = vars(parser.known_args)
    except AttributeError:
        return set()
    return {key[len(prefix):] for key, value in given.items()
            if key.startswith(prefix) and value is not None}

def _adapt_sandbox_env(cls: type) -> None:
    """law calls a task's ``sandbox_env(env)`` with the environment the sandbox will get
    and adds what it returns; law-core's ``sandbox_env()`` takes no argument. A law-style
    override (one required argument) is wrapped so that it gets law-core's variables (those
    ``[sandbox] forward_env`` declares) and may add to them."""
    import inspect

    method = vars(cls).get("sandbox_env")
    if method is None or getattr(method, "_law_adapted", False):
        return
    try:
        params = list(inspect.signature(method).parameters.values())[1:]
    except (TypeError, ValueError):
        return
    if not params or params[0].default is not inspect.Parameter.empty or \
            params[0].kind not in (inspect.Parameter.POSITIONAL_ONLY,
                                   inspect.Parameter.POSITIONAL_OR_KEYWORD):
        return

    def sandbox_env(self: Any) -> dict[str, str]:
        base = getattr(super(cls, self), "sandbox_env", None)
        env = dict(base()) if base is not None else {}
        env.update(method(self, dict(env)) or {})
        return env

    sandbox_env._law_adapted = True  # type: ignore[attr-defined]
    sandbox_env.__doc__ = method.__doc__
    cls.sandbox_env = sandbox_env


class _LawReq:
    """``Cls.req(inst, **kwargs)`` (law's form) and ``self.req(OtherCls, **kwargs)``
    (law-core's) both build through :meth:`Task.req_params`, so law's options apply."""

    def __get__(self, instance: Task | None, owner: type[Task]) -> Any:
        if instance is None:
            return lambda inst, **kwargs: _req(owner, inst, **kwargs)

        def bound(other: Any, **kwargs: Any) -> Any:
            if isinstance(other, luigi.Task):
                return _req(owner, other, **kwargs)
            return _req(other, instance, **kwargs)

        return bound


def _req(cls: type, inst: Any, **kwargs: Any) -> Any:
    if not hasattr(cls, "req_params"):  # a law-core task without law's options
        return cls.req(inst, **kwargs)
    return cls.build_required(cls.req_params(inst, **kwargs))


class Task(law_core.Task):
    """A law-core task with law 0.1.21's API (see the module docstring)."""

    #: law's flag for ``law index``: a class is indexed unless it sets this (law.Task does)
    exclude_index: ClassVar[bool] = True
    exclude_params_index: ClassVar[set[str]] = set()
    exclude_params_repr: ClassVar[set[str]] = set()
    exclude_params_repr_empty: ClassVar[set[str]] = set()
    #: parameters that ``req`` leaves to their ``--Family-param`` value on the command line
    prefer_params_cli: ClassVar[set[str]] = set()
    #: cache what requires() returns for input()
    cache_requirements: ClassVar[bool] = False
    interactive_params: ClassVar[list[str]] = INTERACTIVE_PARAMS
    skip_output_removal: ClassVar[bool] = False
    #: law's log file for :func:`law.decorator.log`; law-core's run writes its own log
    #: (``--log-file`` of ``law run``), so this is not a parameter here
    log_file: ClassVar[Any] = NO_STR

    req = _LawReq()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if "exclude_index" not in vars(cls):
            cls.exclude_index = False  # law: not inherited
        super().__init_subclass__(**kwargs)
        if vars(cls).get("update_register"):
            cls.deregister()
        _adapt_sandbox_env(cls)
        cls.modify_task_attributes()

    # --- class hooks, as in law ---------------------------------------------------------

    @classmethod
    def deregister(cls, task_cls: Any = None) -> bool:
        """Remove ``task_cls`` (a class, family or family pattern; default: this class)
        from luigi's register; True when something was removed."""
        if task_cls is None:
            family = cls.get_task_family()
        elif isinstance(task_cls, str):
            family = task_cls
        else:
            family = task_cls.get_task_family()
        registry = luigi.task_register.Register._reg
        keep = [c for c in registry if not fnmatch.fnmatchcase(c.get_task_family(), family)]
        removed = len(keep) != len(registry)
        registry[:] = keep
        return removed

    @classmethod
    def modify_task_attributes(cls) -> None:
        """Hook: change class attributes when the class is created."""

    @classmethod
    def modify_param_args(cls, params: Any, args: Any, kwargs: Any) -> Any:
        """Hook: change the raw arguments before values are assigned."""
        return params, args, kwargs

    @classmethod
    def modify_param_values(cls, params: OrderedDict[str, Any]) -> OrderedDict[str, Any]:
        """Hook: change the parameter values of a new instance (after parsing)."""
        return params

    @classmethod
    def get_param_values(cls, params: Any, args: Any, kwargs: Any) -> list[tuple[str, Any]]:
        """luigi's, then as in law: values given as strings are parsed by their parameter
        (``Task(n="3")`` gives ``n == 3`` for an IntParameter), then
        :meth:`modify_param_values` may change them."""
        params, args, kwargs = cls.modify_param_args(params, args, kwargs)
        values = super().get_param_values(params, args, kwargs)
        by_name = dict(params)
        parsed = OrderedDict(
            (name, by_name[name].parse(value) if isinstance(value, str) else value)
            for name, value in values)
        names = set(by_name)
        return [(name, value) for name, value in cls.modify_param_values(parsed).items()
                if name in names]

    # --- requirements -------------------------------------------------------------------

    @classmethod
    def req_params(cls, inst: Any, _exclude: Any = None, _prefer_cli: Any = None,
                   _skip_task_excludes: bool = False, _skip_task_excludes_get: Any = None,
                   _skip_task_excludes_set: Any = None, **kwargs: Any) -> dict[str, Any]:
        """The values ``cls`` takes from ``inst``: the parameters both have, less
        ``cls``'s ``exclude_params_req``/``_req_get`` and ``inst``'s
        ``exclude_params_req``/``_req_set`` (unless skipped), less ``_exclude`` (names or
        patterns), plus ``kwargs``; parameters in ``prefer_params_cli`` given on the
        command line as ``--Family-param`` are left to that value."""
        own = {name for name, _ in cls.get_params()}
        params = {name: getattr(inst, name) for name, _ in inst.get_params() if name in own}
        exclude = _as_set(_exclude) | set(getattr(inst, "interactive_params", ()))
        if _skip_task_excludes_get is None:
            _skip_task_excludes_get = _skip_task_excludes
        if not _skip_task_excludes_get:
            exclude |= set(cls.exclude_params_req) | set(cls.exclude_params_req_get)
        if _skip_task_excludes_set is None:
            _skip_task_excludes_set = _skip_task_excludes
        if not _skip_task_excludes_set:
            exclude |= set(getattr(inst, "exclude_params_req", ())) | set(
                getattr(inst, "exclude_params_req_set", ()))
        params = {name: value for name, value in params.items() if not _match(name, exclude)}
        params.update(kwargs)
        prefer = set(cls.prefer_params_cli or ()) if _prefer_cli is None else \
            _as_set(_prefer_cli)
        if prefer:
            for name in prefer & _cli_class_args(cls.get_task_family()):
                params.pop(name, None)
        return params

    def input(self) -> Any:
        if not self.cache_requirements:
            return super().input()
        cached = self.__dict__.get("_cached_requirements")
        # keyed by the task id: a branch copied from its workflow must not take its cache
        if cached is None or cached[0] != self.task_id:
            cached = self.__dict__["_cached_requirements"] = (self.task_id, self.requires())
        return luigi.task.getpaths(cached[1])

    def complete(self) -> bool:
        """law's rule: a task without outputs (and without its own complete()) counts as
        complete; otherwise complete when all outputs exist."""
        if not luigi.task.flatten(self.output()):
            logger.warning("task %r has no outputs or no custom complete() method", self)
            return True
        return super().complete()

    # --- messages -----------------------------------------------------------------------

    @property
    def default_log_file(self) -> str:
        return "-"

    @contextlib.contextmanager
    def publish_step(self, msg: Any, success_message: str = "done",
                     fail_message: str = "failed", runtime: bool = True,
                     scheduler: bool = True, flush_cache: bool = False) -> Iterator[None]:
        """Publish ``msg``, run the block, then publish how it went (and how long it took)."""
        from law.util import human_duration

        self.publish_message(msg, scheduler=scheduler, flush_cache=flush_cache)
        success = False
        start = time.perf_counter()
        try:
            yield
            success = True
        finally:
            text = success_message if success else fail_message
            if runtime:
                took = human_duration(seconds=time.perf_counter() - start)
                text = f"{text} (took {took})"
            self.publish_message(text, scheduler=scheduler, flush_cache=flush_cache)

    def iter_progress(self, iterable: Any, n_total: int, reach: tuple[float, float] = (0, 100),
                      precision: int = 1, msg: Any = None) -> Iterator[Any]:
        """law-core's, inside :meth:`publish_step` when ``msg`` is given."""
        items = super().iter_progress(iterable, n_total, reach=reach, precision=precision)
        if not msg:
            yield from items
            return
        with self.publish_step(msg):
            yield from items

    # --- command line and representation --------------------------------------------------

    def cli_args(self, exclude: Any = None, replace: dict[str, Any] | None = None,
                 skip_empty_bools: bool = True) -> OrderedDict[str, str]:
        """``{"--name": "serialized value"}`` for each parameter (law's form), less
        ``exclude`` (names or patterns); ``replace`` gives other values by name."""
        exclude = _as_set(exclude) | set(self.interactive_params)
        replace = replace or {}
        args: OrderedDict[str, str] = OrderedDict()
        for name, param in self.get_params():
            if _match(name, exclude):
                continue
            raw = replace.get(name, getattr(self, name))
            if skip_empty_bools and isinstance(param, luigi.BoolParameter) and raw is None:
                continue
            args["--" + name.replace("_", "-")] = str(param.serialize(raw))
        return args

    def __repr__(self) -> str:
        return self.repr(color=_config_bool("colored_repr", False))

    def __str__(self) -> str:
        return self.repr(color=_config_bool("colored_str", True))

    def repr(self, all_params: bool = False, color: bool | None = None, **kwargs: Any) -> str:
        """law's representation: ``Family(name=serialized, ..., flag)`` with the
        significant parameters less ``exclude_params_repr`` (all with ``all_params``)."""
        if color is None:
            color = _config_bool("colored_repr", False)
        family = self._repr_family(self.get_task_family(), color=color, **kwargs)
        parts = [self._repr_param(name, value, color=color, **kwargs)
                 for name, value in self._repr_params(all_params=all_params).items()]
        parts += [self._repr_flag(flag, color=color, **kwargs) for flag in self._repr_flags()]
        return f"{family}({', '.join(parts)})"

    def _repr_params(self, all_params: bool = False) -> OrderedDict[str, Any]:
        exclude: set[str] = set()
        if not all_params:
            exclude = set(self.exclude_params_repr) | set(self.interactive_params)
        params: OrderedDict[str, Any] = OrderedDict()
        for name, param in self.get_params():
            value = getattr(self, name)
            if not param.significant or _match(name, exclude):
                continue
            if name in self.exclude_params_repr_empty and value in (None, "NO_STR", ()):
                continue
            params[name] = value
        return params

    def _repr_flags(self) -> list[str]:
        return []

    def _repr_family(self, family: str, color: bool = False, **kwargs: Any) -> str:
        return _colored(family, "green") if color else family

    def _repr_param(self, name: str, value: Any, color: bool = False, serialize: bool = True,
                    **kwargs: Any) -> str:
        if serialize:
            param = getattr(type(self), name, None)
            if isinstance(param, luigi.Parameter):
                value = param.serialize(value)
        shown = _colored(name, "blue", style="bright") if color else name
        return f"{shown}={value}"

    def _repr_flag(self, name: str, color: bool = False, **kwargs: Any) -> str:
        return _colored(name, "magenta") if color else name

    # --- localized targets ----------------------------------------------------------------

    def localize_input(self, *args: Any, **kwargs: Any) -> Any:
        """A context giving the inputs as local copies (see :func:`localize_struct`)."""
        return localize_struct(self.input(), *args, **kwargs)

    def localize_output(self, *args: Any, **kwargs: Any) -> Any:
        """A context giving local stand-ins of the outputs, moved into place at its end."""
        return localize_struct(self.output(), *args, **kwargs)


def _config_bool(option: str, default: bool) -> bool:
    try:
        from law.config import Config

        return bool(Config.instance().get_expanded_bool("task", option, default))
    except Exception:  # noqa: BLE001 - a broken config must not break a task's repr
        return default


def _colored(text: str, color: str, **kwargs: Any) -> str:
    from law.util import colored

    return colored(text, color, **kwargs)


def _map_struct(func: Any, struct: Any) -> Any:
    if isinstance(struct, dict):
        return type(struct)((key, _map_struct(func, value)) for key, value in struct.items())
    if isinstance(struct, (list, tuple)):
        return type(struct)(_map_struct(func, value) for value in struct)
    return func(struct)


@contextlib.contextmanager
def localize_struct(struct: Any, mode: str = "r", **kwargs: Any) -> Iterator[Any]:
    """The same structure (dicts, lists, tuples) with each target that can be localized
    (law-core's ``target.localize(mode)``) replaced by its local copy for the duration of the
    block; other values stay as they are. Outputs (``mode="w"``) are moved into place when
    the block ends without an error. law's further options (``kwargs``) have no
    counterpart in law-core's localization and are ignored."""
    with contextlib.ExitStack() as stack:
        def local(target: Any) -> Any:
            localize = getattr(target, "localize", None)
            if not callable(localize):
                return target
            return stack.enter_context(localize(mode))

        yield _map_struct(local, struct)


class WrapperTask(Task, law_core.WrapperTask):
    """A task that only requires others: complete when they all are; its outputs are their
    outputs. With ``--wrap-once`` it runs once and has no outputs (law's option)."""

    wrap_once = luigi.BoolParameter(
        default=False, description="when set, the wrapper task does not define upstream "
        "outputs as its own outputs and simply runs once; default: False")

    exclude_index = True
    exclude_params_req_set = {"wrap_once"}

    def _repr_flags(self) -> list[str]:
        return [*super()._repr_flags(), "wrapper"]

    def complete(self) -> bool:
        if self.wrap_once:
            return bool(self.__dict__.get("_wrapper_has_run", False))
        reqs = self.requires()
        if self.cache_requirements:
            cached = self.__dict__.get("_cached_requirements")
            if cached is None or cached[0] != self.task_id:
                cached = self.__dict__["_cached_requirements"] = (self.task_id, reqs)
            reqs = cached[1]
        return all(task.complete() for task in luigi.task.flatten(reqs))

    def output(self) -> Any:
        if self.wrap_once:
            return []
        return self.input()

    def run(self) -> None:
        if self.wrap_once:
            self.__dict__["_wrapper_has_run"] = True


class ExternalTask(Task, law_core.ExternalTask):
    """A task whose outputs are made outside the workflow (it has no run())."""

    exclude_index = True
    run = None  # type: ignore[assignment]

    def _repr_flags(self) -> list[str]:
        return [*super()._repr_flags(), "external"]
