"""law.decorator: decorators for task methods (mostly ``run``), with law 0.1.21's semantics.

Each decorator works with and without a call (``@log`` and ``@log()``); options are keyword
arguments. :func:`factory` makes such decorators. Decorators that accept generator
functions (``run`` methods yielding dynamic requirements) are idempotent across luigi's
restarts of the generator, as law's.
"""

from __future__ import annotations

import functools
import inspect
import logging
import random
import socket
import sys
import time
import traceback
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import luigi

from law.parameter import NotifyParameter, get_param

__all__ = ["factory", "log", "safe_output", "delay", "notify", "timeit", "localize"]

logger = logging.getLogger(__name__)

_ORIGINAL = "__law_decorator_original_fn"
_UNSET = object()


class _CompleteTask(luigi.Task):
    """Yielded between the stages of a decorated generator: luigi resumes at once."""

    def complete(self) -> bool:
        return True

    def output(self) -> Any:
        return None


def _chain(*generators: Iterator[Any], on_error: Callable[[BaseException], Any]) -> Iterator[Any]:
    """The items of ``generators`` in turn, passing what luigi sends back; an error in one
    goes to ``on_error`` and is raised unless that returns true."""
    try:
        for gen in generators:
            sent = None
            while True:
                try:
                    item = gen.send(sent)
                except StopIteration:
                    break
                sent = yield item
    except (Exception, KeyboardInterrupt) as err:
        if not on_error(err):
            raise


def factory(**default_opts: Any) -> Callable[..., Any]:
    """Make a decorator from ``decorator(fn, opts, task, *args, **kwargs)``.

    ``default_opts`` are the options' defaults; ``accept_generator=True`` declares that the
    decorator returns the callbacks ``before_call()``, ``call(state)``,
    ``after_call(state)`` and optionally ``on_error(error, state)`` (true: swallow the error)
    instead of calling ``fn`` itself, so it can wrap generator functions. A decorated method
    called with ``skip_decorators=True`` runs without the decorators.
    """
    def make(decorator: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(decorator)
        def configure(fn: Any = None, **opts: Any) -> Any:
            options = {**default_opts, **opts}

            def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
                accept_generator = options.setdefault("accept_generator", False)
                decorate_run = options.setdefault("decorate_run", None)
                original = getattr(fn, _ORIGINAL, fn)
                is_gen = inspect.isgeneratorfunction(original)
                if is_gen and not accept_generator:
                    raise TypeError(f"decorator {decorator.__name__} cannot decorate the "
                                    f"generator function {original.__qualname__}")
                if decorate_run is None:
                    decorate_run = original.__name__ == "run"
                state_attr = f"_law_decorator_{decorator.__name__}_{uuid.uuid4().hex}"

                @functools.wraps(fn)
                def wrapper(*args: Any, **kwargs: Any) -> Any:
                    if kwargs.pop("skip_decorators", False):
                        return fn(*args, **kwargs)
                    if not accept_generator:
                        return decorator(fn, options, *args, **kwargs)
                    callbacks = tuple(decorator(fn, options, *args, **kwargs))
                    if len(callbacks) not in (3, 4):
                        raise TypeError(f"decorator {decorator.__name__} accepting generator "
                                        f"functions must return 3 or 4 callbacks, got "
                                        f"{len(callbacks)}")
                    before_call, call, after_call = callbacks[:3]
                    on_error = callbacks[3] if len(callbacks) == 4 else \
                        (lambda error, state: False)
                    if not is_gen:
                        state = before_call()
                        try:
                            result = call(state)
                        except (Exception, KeyboardInterrupt) as err:
                            if not on_error(err, state):
                                raise
                            result = None
                        after_call(state)
                        return result
                    # luigi restarts a run() generator after each new requirement:
                    # before_call() runs once, its state kept on the wrapper until the end
                    state = getattr(wrapper, state_attr, _UNSET)
                    if state is _UNSET:
                        state = before_call()
                        setattr(wrapper, state_attr, state)

                    def finish() -> Iterator[Any]:
                        yield _CompleteTask() if decorate_run else None
                        after_call(state)

                    def reset() -> Iterator[Any]:
                        yield _CompleteTask() if decorate_run else None
                        if hasattr(wrapper, state_attr):
                            delattr(wrapper, state_attr)

                    return _chain(call(state), finish(), reset(),
                                  on_error=lambda err: on_error(err, state))

                setattr(wrapper, _ORIGINAL, original)
                return wrapper

            return wrap if fn is None else wrap(fn)

        return configure

    return make


def _task(task: Any) -> Any:
    """The task behind a proxy (law's sandbox and workflow proxies have ``.task``)."""
    return getattr(task, "task", task) if not isinstance(task, luigi.Task) else task


class _Tee:
    def __init__(self, *streams: Any) -> None:
        self.streams = streams

    def write(self, text: str) -> None:
        for stream in self.streams:
            stream.write(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()


@factory(accept_generator=False)
def log(fn: Any, opts: dict[str, Any], task: Any, *args: Any, **kwargs: Any) -> Any:
    """Send stdout and stderr of the method to the task's ``log_file`` (else its
    ``default_log_file``) as well as the terminal; ``"-"`` or none: no redirection."""
    from law_core import LocalFileTarget

    real = _task(task)
    path = get_param(getattr(real, "log_file", None), getattr(real, "default_log_file", None))
    if isinstance(path, LocalFileTarget):
        path = path.path
    if not path or str(path) == "-":
        return fn(task, *args, **kwargs)
    path = str(path)
    LocalFileTarget(path).parent.touch()
    with open(path, "a", 1) as f:
        tee = _Tee(f, sys.__stdout__)
        stdout, stderr = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = tee  # type: ignore[assignment]
        try:
            return fn(task, *args, **kwargs)
        except BaseException:
            traceback.print_exc(file=tee)  # type: ignore[arg-type]
            raise
        finally:
            sys.stdout, sys.stderr = stdout, stderr
            tee.flush()


@factory(skip=None, optional=True, accept_generator=True)
def safe_output(fn: Any, opts: dict[str, Any], task: Any, *args: Any, **kwargs: Any) -> Any:
    """On an error (not an instance of ``skip``), remove the task's outputs before it is
    raised; with ``optional=False`` optional outputs stay."""
    def on_error(error: BaseException, state: Any) -> bool:
        if opts["skip"] is None or not isinstance(error, opts["skip"]):
            for output in luigi.task.flatten(task.output()):
                if not opts["optional"] and getattr(output, "optional", False):
                    continue
                output.remove()
        return False

    return (lambda: None), (lambda state: fn(task, *args, **kwargs)), \
        (lambda state: None), on_error


@factory(t=5.0, stddev=0.0, pdf="gauss", accept_generator=True)
def delay(fn: Any, opts: dict[str, Any], task: Any, *args: Any, **kwargs: Any) -> Any:
    """Wait ``t`` seconds before the method runs; with ``stddev`` > 0 a random time, from a
    gaussian around ``t`` (``pdf="gauss"``) or uniform between ``t`` and ``stddev``
    (``pdf="uniform"``, law's reading)."""
    def call(state: Any) -> Any:
        if opts["stddev"] <= 0:
            wait = opts["t"]
        elif opts["pdf"] == "gauss":
            wait = random.gauss(opts["t"], opts["stddev"])
        elif opts["pdf"] == "uniform":
            wait = random.uniform(opts["t"], opts["stddev"])
        else:
            raise ValueError(f"unknown pdf '{opts['pdf']}' of the delay decorator, use "
                             "'gauss' or 'uniform'")
        time.sleep(max(wait, 0))
        return fn(task, *args, **kwargs)

    return (lambda: None), call, (lambda state: None)


@factory(on_success=True, on_failure=True, accept_generator=True)
def notify(fn: Any, opts: dict[str, Any], task: Any, *args: Any, **kwargs: Any) -> Any:
    """After the method, send a notification through the transports of the task's
    :class:`law.parameter.NotifyParameter` parameters that are switched on. The message
    (task, host, duration, last published message, traceback on failure) is law's. Mail,
    Slack, Telegram and Mattermost transports send through law-core's notifiers
    (law-core-notifiers); a transport that fails costs a warning, never the task.
    (law-core's own ``law-core run TASK --notify NAME`` needs no decorator.)"""
    from law.util import human_duration, uncolored

    real = _task(task)

    def before_call() -> tuple[list[Any], float]:
        transports: list[Any] = []
        for name, param in real.get_params():
            if isinstance(param, NotifyParameter) and getattr(real, name):
                try:
                    transport = param.get_transport()
                except Exception as err:  # noqa: BLE001 - a transport must not fail the task
                    logger.warning("get_transport() of parameter '%s' failed: %s", name, err)
                    continue
                if transport:
                    transports.extend(transport if isinstance(transport, list) else
                                      [transport])
        return transports, time.perf_counter()

    def send(error: BaseException | None, transports: list[Any], start: float) -> bool:
        success = error is None
        if not transports or isinstance(error, KeyboardInterrupt) or \
                (success and not opts["on_success"]) or (not success and not opts["on_failure"]):
            return False
        title = f"Task {real.get_task_family()} {'succeeded' if success else 'failed'}!"
        messages = real.__dict__.get("_message_cache", ())
        parts = OrderedDict([
            ("Task", str(real)),
            ("Host", socket.gethostname()),
            ("Duration", human_duration(seconds=round(time.perf_counter() - start, 1))),
            ("Last message", messages[-1] if messages else "-"),
        ])
        if not success:
            parts["Traceback"] = "".join(traceback.format_exception(error))
        for transport in transports:
            if not transport:
                continue
            raw = transport.get("raw", False)
            if transport.get("colored", False):
                content: Any = OrderedDict(parts) if raw else \
                    "\n".join(f"{k}: {v}" for k, v in parts.items())
                shown = title
            else:
                plain = OrderedDict((k, uncolored(v) if isinstance(v, str) else v)
                                    for k, v in parts.items())
                content = plain if raw else "\n".join(f"{k}: {v}" for k, v in plain.items())
                shown = uncolored(title)
            try:
                transport["func"](success, shown, content, **opts)
            except Exception as err:  # noqa: BLE001 - a transport must not fail the task
                logger.warning("notification via %r failed: %s", transport["func"], err)
        return False

    return before_call, (lambda state: fn(task, *args, **kwargs)), \
        (lambda state: send(None, *state)), (lambda error, state: send(error, *state))


@factory(accept_generator=True)
def timeit(fn: Any, opts: dict[str, Any], task: Any, *args: Any, **kwargs: Any) -> Any:
    """Log how long the method took (``runtime: ...``, at INFO level, on the task's logger
    when it has one, else this module's), also when it fails."""
    from law.util import human_duration

    def log_duration(start: float) -> bool:
        task_logger = getattr(task, "logger", None)
        if not isinstance(task_logger, logging.Logger):
            task_logger = logger
        duration = human_duration(seconds=round(time.perf_counter() - start, 1))
        task_logger.info("runtime: %s", duration)
        return False

    return time.perf_counter, (lambda start: fn(task, *args, **kwargs)), log_duration, \
        (lambda error, start: log_duration(start))


@factory(input=True, output=True, input_kwargs=None, output_kwargs=None,
         accept_generator=False)
def localize(fn: Any, opts: dict[str, Any], task: Any, *args: Any, **kwargs: Any) -> Any:
    """While the method runs, ``task.input()`` and ``task.output()`` return local copies
    of the targets (law-core's ``target.localize``): inputs are fetched before, outputs
    moved into place after a successful run. ``input_kwargs``/``output_kwargs`` go to the
    localization. The originals stay reachable as ``input_unlocalized`` and
    ``output_unlocalized``."""
    import contextlib

    from law.task import localize_struct

    patched: list[str] = []
    with contextlib.ExitStack() as stack:
        for kind, mode in (("input", "r"), ("output", "w")):
            if not opts[kind]:
                continue
            options = dict(opts[f"{kind}_kwargs"] or {})
            options.setdefault("mode", mode)
            original = getattr(task, kind)
            localized = stack.enter_context(localize_struct(original(), **options))
            setattr(task, kind, lambda localized=localized: localized)
            setattr(task, f"{kind}_unlocalized", original)
            patched.append(kind)
        try:
            return fn(task, *args, **kwargs)
        finally:
            for kind in patched:
                task.__dict__.pop(kind, None)
                task.__dict__.pop(f"{kind}_unlocalized", None)
