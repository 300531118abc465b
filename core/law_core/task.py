"""Tasks: luigi tasks with law's conveniences (``req``, output locations, events)."""

from __future__ import annotations

import collections
import contextlib
import functools
import math
import operator
import os
import posixpath
import re
import sys
from collections.abc import Iterator
from typing import Any, ClassVar

import luigi

from law_core.config import get_config
from law_core.luigi_internals import task_id_str
from law_core.targets.collection import TargetCollection
from law_core.targets.factory import target
from law_core.targets.file import FileSystemTarget
from law_core.targets.local import LocalDirectoryTarget, LocalFileTarget
from law_core.targets.named import split_named


class _Req:
    """``req`` works both ways law users write it.

    ``OtherTask.req(self, **overrides)`` (law's form) and ``self.req(OtherTask, **overrides)``
    both build ``OtherTask`` from the parameters it shares with ``self``.
    """

    def __get__(self, instance: Task | None, owner: type[Task]) -> Any:
        if instance is None:
            return lambda source, **overrides: req(owner, source, **overrides)

        def bound(other: Any, **overrides: Any) -> Any:
            if isinstance(other, luigi.Task):  # self.req(other_instance): law's form
                return req(owner, other, **overrides)
            return req(other, instance, **overrides)

        return bound


#: while a run lasts (:func:`fixed_parameter_defaults`): per task class, the values luigi
#: gives the parameters a ``req`` leaves unset; None outside
_DEFAULTS: dict[type, dict[str, Any]] | None = None
#: while a run lasts: the workflows whose branches ``req`` built, by class and values
_WORKFLOWS: dict[Any, Any] | None = None
#: while a run lasts: the parameters ``req`` takes, per (target class, source class)
_TAKEN: dict[tuple[type, type], frozenset[str]] | None = None
#: while a run lasts: the same in the source's order, with a function picking their values
_NAMES: dict[tuple[type, type], tuple[tuple[str, ...], Any]] | None = None


@contextlib.contextmanager
def fixed_parameter_defaults() -> Iterator[None]:
    """Within this block the parameter defaults (from code and luigi's config) do not
    change, so ``req`` looks each class's up once instead of once per task: luigi reads
    every unset parameter from its config for every instance, which dominated building the
    tasks of 100000 branches that each require a branch upstream."""
    global _DEFAULTS, _WORKFLOWS, _TAKEN, _NAMES
    outer = _DEFAULTS, _WORKFLOWS, _TAKEN, _NAMES
    _DEFAULTS, _WORKFLOWS, _TAKEN, _NAMES = {}, {}, {}, {}
    try:
        yield
    finally:
        _DEFAULTS, _WORKFLOWS, _TAKEN, _NAMES = outer


def _class_defaults(cls: type[luigi.Task]) -> dict[str, Any]:
    assert _DEFAULTS is not None
    defaults = _DEFAULTS.get(cls)
    if defaults is None:
        family = cls.get_task_family()
        defaults = {}
        for name, param in cls.get_params():
            if param.has_task_value(family, name):
                defaults[name] = param.task_value(family, name)
        _DEFAULTS[cls] = defaults
    return defaults


def _taken_params(cls: type[luigi.Task], source: luigi.Task) -> frozenset[str]:
    """The parameters of ``cls`` that ``req`` takes from ``source`` (see :func:`req`);
    once per pair of classes while a run lasts."""
    key = (cls, type(source))
    if _TAKEN is not None and key in _TAKEN:
        return _TAKEN[key]
    skip = set(getattr(source, "exclude_params_req", ())) | set(
        getattr(source, "exclude_params_req_set", ())) | set(
        getattr(cls, "exclude_params_req", ())) | set(
        getattr(cls, "exclude_params_req_get", ()))
    taken = frozenset(name for name, _ in cls.get_params() if name not in skip)
    if _TAKEN is not None:
        _TAKEN[key] = taken
    return taken


def req(cls: type[luigi.Task], source: luigi.Task, **overrides: Any) -> Any:
    """An instance of ``cls`` with the parameter values it shares with ``source``.

    As in law: parameters named in ``source``'s ``exclude_params_req_set`` are not passed
    on (set on other tasks), those in ``cls``'s ``exclude_params_req_get`` are not taken
    (got from other tasks), ``exclude_params_req`` (either class) does both. ``overrides``
    always apply.
    """
    names, pick = _taken_names(cls, source)
    kwargs = source.param_kwargs
    try:
        values = dict(zip(names, pick(kwargs)))
    except KeyError:  # an instance without a value of its class's parameter: as it has
        taken = _taken_params(cls, source)
        values = {name: value for name, value in kwargs.items() if name in taken}
    values.update(overrides)
    return build_required(cls, values)


def _taken_names(cls: type[luigi.Task], source: luigi.Task) -> tuple[tuple[str, ...], Any]:
    """The names of :func:`_taken_params` in the order of ``source``'s parameters, and a
    function picking their values (as a tuple) from its ``param_kwargs`` in one call: a
    workflow's branches each build their upstream branch with ``req``."""
    key = (cls, type(source))
    cached = _NAMES.get(key) if _NAMES is not None else None
    if cached is None:
        taken = _taken_params(cls, source)
        names = tuple(name for name, _ in type(source).get_params() if name in taken)
        if len(names) > 1:
            pick = operator.itemgetter(*names)
        elif names:
            def pick(kwargs: dict[str, Any], name: str = names[0]) -> tuple[Any, ...]:
                return (kwargs[name],)
        else:
            def pick(kwargs: dict[str, Any]) -> tuple[Any, ...]:
                return ()
        cached = (names, pick)
        if _NAMES is not None:
            _NAMES[key] = cached
    return cached


def build_required(cls: type[luigi.Task], values: dict[str, Any]) -> Any:
    """``cls(**values)`` for a requirement: while a run lasts, a branch of a workflow is
    made as a cheap copy of its workflow, which is built once (see :func:`req`)."""
    if _DEFAULTS is None:
        return cls(**values)
    values = {**_class_defaults(cls), **values}
    branch = values.get("branch", -1)
    if branch == -1 or not hasattr(cls, "req_branch"):
        return cls(**values)
    # a branch of a workflow: the workflow is built by luigi once per run, its branches are
    # cheap copies sharing its branch map (luigi would build each, even from its cache)
    values["branch"] = -1
    try:
        key = (cls, frozenset(values.items()))
    except TypeError:  # a value that cannot be hashed: luigi decides
        return cls(**values).req_branch(cls.branch.normalize(branch))
    workflows = _WORKFLOWS if _WORKFLOWS is not None else {}
    workflow = workflows.get(key)
    if workflow is None:
        workflow = workflows[key] = cls(**values)
    return workflow.req_branch(cls.branch.normalize(branch))


class Task(luigi.Task):
    """A luigi task with law's conveniences.

    - ``req``: build another task from shared parameters (see :func:`req`);
    - ``local_target(name)``: a file below the task's output directory
      (``output_store / task_family / store_parts()``); the store defaults to the config
      option ``target.store``, else ``./data``;
    - ``target(name)``: the same below a store that may also be remote (a URI or
      ``fs.NAME:/path``);
    - ``publish_message(msg)`` / ``publish_progress(percent)``: tell the user and the
      scheduler how the run goes;
    - ``walk_deps()``: the requirement tree, level by level.

    Sets named ``exclude_params_*`` add up along the class hierarchy (a subclass's set
    extends its bases'), and a subclass takes names out again with the matching
    ``include_params_*`` set, as in law.
    """

    exclude_params_req: ClassVar[set[str]] = set()
    exclude_params_req_get: ClassVar[set[str]] = set()
    exclude_params_req_set: ClassVar[set[str]] = set()

    #: the directory below which local_target() places outputs; None: from config
    output_store: ClassVar[str | None] = None

    #: how many of the latest published messages the scheduler shows; negative: all
    message_cache_size: ClassVar[int] = 10

    req = _Req()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _unite_exclude_sets(cls)

    @classmethod
    def build_required(cls, values: dict[str, Any]) -> Any:
        """``cls(**values)`` as ``req`` makes it (see :func:`build_required`): for code that
        computes a requirement's values itself, such as law's ``req_params``."""
        return build_required(cls, values)

    def publish_message(self, msg: Any, stdout: Any = True, scheduler: bool = True,
                        flush_cache: bool = False, silent: bool = False) -> None:
        """Print ``msg`` (to ``stdout``: True for the current ``sys.stdout``, a stream, or
        a false value for none) and show it as the task's status message in the scheduler,
        below the latest ``message_cache_size`` earlier ones (``flush_cache`` drops those).
        Without a scheduler (outside luigi's worker) the message is only printed;
        ``silent`` is accepted for law's signature."""
        text = str(msg)
        stream = sys.stdout if stdout is True else stdout
        if stream:
            stream.write(text + "\n")
            stream.flush()
        if not scheduler:
            return
        # a tuple, replaced on each message: branch tasks are shallow copies of their
        # workflow and must not append to its messages
        cache = () if flush_cache else self.__dict__.get("_message_cache", ())
        cache = (*cache, _uncolored(text))
        size = self.message_cache_size
        if size >= 0:
            cache = cache[-size:] if size else ()
        self.__dict__["_message_cache"] = cache
        callback = getattr(self, "set_status_message", None)
        if callable(callback):
            callback("\n".join(cache))

    def publish_progress(self, percentage: float, precision: int = 1) -> None:
        """Show ``percentage`` (0 to 100, rounded down to a multiple of ``precision``) as
        the task's progress in the scheduler; repeated values are sent once."""
        value = int(math.floor(percentage / precision) * precision)
        if value == self.__dict__.get("_last_progress_percentage"):
            return
        self.__dict__["_last_progress_percentage"] = value
        callback = getattr(self, "set_progress_percentage", None)
        if callable(callback):
            callback(value)

    def create_progress_callback(self, n_total: Any, reach: tuple[float, float] = (0, 100),
                                 precision: int = 1) -> Any:
        """A function ``callback(i)`` to call after step ``i`` (from 0) of ``n_total``: it
        publishes the progress from ``reach[0]`` to ``reach[1]`` percent. For a list or
        tuple of totals, one callback per total, splitting 0 to 100 evenly."""
        def make(n: int, start: float, end: float) -> Any:
            def callback(i: int) -> None:
                self.publish_progress(start + (i + 1) / float(n) * (end - start), precision)
            return callback

        if isinstance(n_total, (list, tuple)):
            width = 100.0 / len(n_total)
            return type(n_total)(make(n, width * i, width * (i + 1))
                                 for i, n in enumerate(n_total))
        return make(n_total, *reach)

    def iter_progress(self, iterable: Any, n_total: int, reach: tuple[float, float] = (0, 100),
                      precision: int = 1) -> Iterator[Any]:
        """The items of ``iterable``, publishing the progress after each of ``n_total``."""
        callback = self.create_progress_callback(n_total, reach=reach, precision=precision)
        for i, item in enumerate(iterable):
            yield item
            callback(i)

    def walk_deps(self, max_depth: int = -1, order: str = "level",
                  yield_last_flag: bool = False) -> Iterator[tuple[Any, ...]]:
        """``(task, its flattened requirements, depth)`` for this task and everything it
        requires, down to ``max_depth`` (-1: all), in ``order`` "level" (breadth first) or
        "pre" (depth first); with ``yield_last_flag`` ("pre" only), a fourth item tells
        whether the task is the last one at its depth before the walk goes up."""
        if order not in ("level", "pre"):
            raise ValueError(f"unknown order '{order}' of walk_deps, use 'level' or 'pre'")
        if yield_last_flag and order != "pre":
            raise ValueError("walk_deps(yield_last_flag=True) needs order='pre'")
        queue: collections.deque[tuple[Any, int]] = collections.deque([(self, 0)])
        while queue:
            task, depth = queue.popleft()
            deps = luigi.task.flatten(task.requires())
            if yield_last_flag:
                yield task, deps, depth, not queue or queue[0][1] < depth
            else:
                yield task, deps, depth
            if max_depth >= 0 and depth >= max_depth:
                continue
            children = [(dep, depth + 1) for dep in deps]
            if order == "level":
                queue.extend(children)
            else:
                queue.extendleft(reversed(children))

    @classmethod
    def get_task_family(cls) -> str:
        """luigi's (``NAMESPACE.Class``, or ``Class``), kept per class while the namespace and
        the name stay what they were: a workflow asks it several times for each branch."""
        state = (cls.task_namespace, getattr(cls, "_namespace_at_class_time", None),
                 cls.__name__)
        cached = cls.__dict__.get("_task_family_cache")
        if cached is not None and all(a is b for a, b in zip(cached[0], state)):
            return cached[1]
        family = super().get_task_family()
        cls._task_family_cache = (state, family)
        return family

    @classmethod
    def get_params(cls) -> list[tuple[str, luigi.Parameter]]:
        """luigi's, computed once per class: luigi looks through ``dir(cls)`` on every
        call, and calls it for every task it builds (a third of the time of building the
        tasks of a large analysis). Parameters are class attributes, fixed once the class
        is defined (:func:`law_core.workflow.base.add_job_manager_parameters` clears it)."""
        cached = cls.__dict__.get("_param_list")
        if cached is None:
            cached = super().get_params()
            cls._param_list = cached
        return list(cached)

    def to_str_params(self, only_significant: bool = False, only_public: bool = False
                      ) -> dict[str, str]:
        """luigi's: the parameter values as strings (``only_significant``: those that make
        the task id, ``only_public``: the public ones; private ones never). Which parameters
        that selects is worked out once per class instead of for every call: a workflow
        asks it for the task id of each branch it runs."""
        selected = _str_param_selection(type(self), only_significant, only_public)
        return {name: selected[name].serialize(value)
                for name, value in self.param_kwargs.items() if name in selected}

    # The task id is computed lazily and cached: luigi sets it in __init__; copies made
    # for workflow branches drop the cached value (law_core.luigi_internals).
    @property
    def task_id(self) -> str:
        tid = self.__dict__.get("_task_id")
        if tid is None:
            tid = task_id_str(
                self.get_task_family(), self.to_str_params(only_significant=True,
                                                           only_public=True))
            self.__dict__["_task_id"] = tid
        return tid

    @task_id.setter
    def task_id(self, value: str) -> None:
        self.__dict__["_task_id"] = value

    def __hash__(self) -> int:
        return hash(self.task_id)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.task_id == other.task_id  # type: ignore

    def complete(self) -> bool:
        """luigi's rule (complete when every output exists), with clear errors for an
        ``output()`` that raises or returns something that is not a target."""
        try:
            outputs = output_targets(self)
            if not outputs:
                return super().complete()  # luigi's rule for tasks without outputs
            return all(output.exists() for output in outputs)
        except Exception as err:
            # luigi keeps only the traceback text of a complete() that raised: the run's
            # summary learns the error here
            from law_core.run_log import record_failure

            record_failure(self, err)
            raise

    def store_parts(self) -> tuple[str, ...]:
        """Directory names below the store; override to add parameter values."""
        return (self.get_task_family(),)

    def output_directory(self) -> LocalDirectoryTarget:
        """The task's local directory: below the store when the store is local, else
        below ``[target] local_store`` (default ``data``); local outputs and remote jobs'
        files go here even when :meth:`target` puts outputs on remote storage."""
        return LocalDirectoryTarget(os.path.join(self._local_store(), *self.store_parts()))

    def _local_store(self) -> str:
        store = self.output_store
        if store is None:
            store = get_config().get("target", "store", default="data")
        if "://" in store or store.startswith("fs."):
            store = get_config().get("target", "local_store", default="data")
        return _absolute(store, os.getcwd())

    def local_target(self, *path: str, dir: bool = False) -> LocalFileTarget | LocalDirectoryTarget:
        """A local target below :meth:`output_directory`: a file, or a directory when
        ``dir`` is true."""
        if type(self).output_directory is Task.output_directory:
            # no directory target on the way: a workflow asks this once per branch output
            full = os.path.join(self._local_store(), *self.store_parts(), *path)
        else:
            full = os.path.join(self.output_directory().path, *path)
        return LocalDirectoryTarget(full) if dir else LocalFileTarget(full)

    def target(self, *path: str, dir: bool = False) -> FileSystemTarget:
        """A target below the store, wherever the store is: a file, or a directory when
        ``dir`` is true.

        The store (``output_store``, else ``[target] store``) may be a local path, a URI
        (``root://host//store/me``) or ``fs.NAME:/path`` on a file system configured in
        ``[fs.NAME]``, so outputs move to remote storage by configuration alone.
        """
        store = self.output_store
        if store is None:
            store = get_config().get("target", "store", default="data")
        if "://" not in store and not (store.startswith("fs.") and split_named(store)):
            store = _absolute(store, os.getcwd())
        location = posixpath.join(store, *self.store_parts(), *path)
        if store[:1] == "/":  # the common case, once per branch output: no lookup
            return LocalDirectoryTarget(location) if dir else LocalFileTarget(location)
        return target(location, type="d" if dir else "f")


def _str_param_selection(cls: type[Task], only_significant: bool, only_public: bool
                         ) -> dict[str, luigi.Parameter]:
    """The parameters ``to_str_params`` writes, by name, per class and choice; worked out
    anew when the class's parameters change (see :meth:`Task.get_params`)."""
    params = cls.__dict__.get("_param_list")
    if params is None:
        params = cls.get_params()
        if cls.__dict__.get("_param_list") is None:  # a get_params() of its own: uncached
            return _select_str_params(params, only_significant, only_public)
        params = cls.__dict__["_param_list"]
    cached = cls.__dict__.get("_str_param_selections")
    if cached is None or cached[0] is not params:
        cached = (params, {})
        cls._str_param_selections = cached  # type: ignore[attr-defined]
    selection = cached[1].get((only_significant, only_public))
    if selection is None:
        selection = _select_str_params(params, only_significant, only_public)
        cached[1][(only_significant, only_public)] = selection
    return selection


def _select_str_params(params: list[tuple[str, luigi.Parameter]], only_significant: bool,
                       only_public: bool) -> dict[str, luigi.Parameter]:
    private, public = luigi.parameter.ParameterVisibility.PRIVATE, \
        luigi.parameter.ParameterVisibility.PUBLIC
    return {name: param for name, param in params
            if (not only_significant or param.significant)
            and (not only_public or param.visibility == public)
            and param.visibility != private}


def _unite_exclude_sets(cls: type) -> None:
    """law's rule for the ``exclude_params_*`` sets of a new class: each is the union of
    its own and its direct bases' (which hold their bases' already), less the names in
    the class's own ``include_params_*`` set of the same suffix."""
    names = {name for base in cls.__bases__ for name in dir(base)
             if name.startswith("exclude_params_")}
    names.update(name for name in vars(cls) if name.startswith("exclude_params_"))
    for name in names:
        own = vars(cls).get(name)
        if own is not None and not isinstance(own, (set, frozenset)):
            continue  # not a set of names: left as the class has it
        united = set(own or ())
        for base in cls.__bases__:
            inherited = getattr(base, name, None)
            if isinstance(inherited, (set, frozenset)):
                united |= inherited
        include = vars(cls).get("include_params_" + name[len("exclude_params_"):])
        if isinstance(include, (set, frozenset, list, tuple)):
            united -= set(include)
        setattr(cls, name, united)


_COLOR_CODES = re.compile(r"\x1b\[[0-9;]*m")


def _uncolored(text: str) -> str:
    """``text`` without terminal color codes (the scheduler shows them as garbage)."""
    return _COLOR_CODES.sub("", text)


@functools.lru_cache(maxsize=64)
def _absolute(store: str, cwd: str) -> str:
    """A local store as an absolute path (config values arrive expanded, code's never
    are); cached, since a workflow asks it once per branch output."""
    return os.path.abspath(os.path.join(cwd, os.path.expanduser(store)))


def output_targets(task: luigi.Task) -> list[Any]:
    """The flattened outputs of ``task``; a :class:`~law_core.errors.TaskError` naming the
    task when ``output()`` raises or returns anything but targets (``None`` from a missing
    ``return``, a path string instead of a target)."""
    from law_core.errors import TaskError

    try:
        output = task.output()
    except Exception as err:
        raise TaskError(f"output() of {task!r} raised {type(err).__name__}: {err}") from err
    if output is None:
        raise TaskError(f"output() of {task!r} returned None (a missing 'return'?); return "
                        "a target, e.g. self.target('name.json'), or a structure of targets")
    outputs = luigi.task.flatten(output)
    for item in outputs:
        if not isinstance(item, luigi.Target) and not callable(getattr(item, "exists", None)):
            hint = f": wrap it, e.g. self.target({item!r})" if isinstance(item, str) else ""
            raise TaskError(f"output() of {task!r} returned a {type(item).__name__} "
                            f"({item!r:.80}), not a target{hint}")
    return outputs


def remove_stale_temporaries(task: luigi.Task) -> int:
    """Before ``task`` runs: remove what killed earlier runs left beside its outputs
    (temporary siblings of atomic writes), never a live writer's. Collections are left to
    their branches, which run themselves. A failure here is logged, never the task's."""
    removed = 0
    try:
        for output in luigi.task.flatten(task.output()):
            if isinstance(output, FileSystemTarget) and not isinstance(output, TargetCollection):
                # what killed earlier runs left was there before this process listed
                removed += output.remove_stale_temporaries(reuse_listing=True)
    except Exception as err:  # noqa: BLE001 - cleaning up must never fail the task
        import logging

        logging.getLogger("law_core.task").warning(
            "could not look for stale temporary files of %r: %s", task, err)
    return removed


class WrapperTask(Task, luigi.WrapperTask):
    """A task that only requires others and is complete when they are."""

    complete = luigi.WrapperTask.complete


class ExternalTask(Task, luigi.ExternalTask):
    """A task whose outputs are made outside the workflow (it has no run())."""


def find_cycle(task: luigi.Task) -> list[luigi.Task] | None:
    """A cycle among the requirements of ``task`` (``[A, B, A]``: A requires B requires
    A), or None. luigi does not detect cycles: it leaves their tasks pending, "not granted
    run permission"; this names them."""
    from luigi.task import flatten

    on_path: dict[str, int] = {}
    done: set[str] = set()
    path: list[luigi.Task] = []
    stack: list[tuple[luigi.Task, Iterator[luigi.Task] | None]] = [(task, None)]
    while stack:
        current, deps = stack[-1]
        if deps is None:  # entering
            if current.task_id in on_path:
                return path[on_path[current.task_id]:] + [current]
            if current.task_id in done:
                stack.pop()
                continue
            on_path[current.task_id] = len(path)
            path.append(current)
            deps = iter(flatten(current.requires()))
            stack[-1] = (current, deps)
        dep = next(deps, None)
        if dep is None:  # leaving
            stack.pop()
            path.pop()
            del on_path[current.task_id]
            done.add(current.task_id)
        else:
            stack.append((dep, None))
    return None
