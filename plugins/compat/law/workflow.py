"""law's workflow vocabulary on law-core's workflows.

law-core's :class:`law_core.Workflow` already has what is useful beyond migration (branch
maps as lists, dicts or ints, classmethod branch maps, ``as_branch``/``as_workflow``,
``exclude_params_branch``/``_workflow``, ``output_collection_cls``, ``workflow_input()``,
``--pilot``, ``workflow_type``). This module adds the names and forms only law has:
``BaseWorkflow``/``LocalWorkflow`` with law's Task API, dict-likes with attribute access
(``DotDict``) for requirements and outputs, the branch map reduced to ``--branches``,
:class:`WorkflowParameter` (branches looked up by values), :func:`workflow_property` and
:func:`dynamic_workflow_condition`.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import os
import tempfile
from collections.abc import Callable
from typing import Any, ClassVar

import law_core
from law.parameter import NO_STR, CSVParameter
from law.task import Task as _Task
from law.util import DotDict, no_value

__all__ = [
    "BaseWorkflow", "Workflow", "LocalWorkflow", "WorkflowParameter", "workflow_property",
    "cached_workflow_property", "dynamic_workflow_condition", "DynamicWorkflowCondition",
]


# --- workflow parameters ---------------------------------------------------------------------


class WorkflowParameter(CSVParameter):
    """A parameter whose values select branches: ``--num 97`` runs the branches whose data
    has ``num == 97`` (one branch: that branch task; several: the workflow restricted to
    them). Unset by default, not significant; ``cls``/``inst`` parse the values, a list
    (``97,98``) selects each. Needs ``create_branch_map`` to be a classmethod taking the
    parameter values, since the lookup happens before the task exists."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.update(default=no_value, force_tuple=False, significant=False)
        super().__init__(*args, **kwargs)
        self._default = no_value

    def parse(self, x: Any) -> Any:
        if x is None or x is no_value or (isinstance(x, str) and x in ("", NO_STR)):
            return no_value
        return super().parse(x)

    def normalize(self, x: Any) -> Any:
        if x is None or x is no_value:
            return no_value
        return super().normalize(x)

    def serialize(self, x: Any) -> str:
        if x is None or x is no_value:
            return ""
        return super().serialize(x)


def _workflow_param_names(cls: type) -> list[str]:
    return [name for name, param in cls.get_params() if isinstance(param, WorkflowParameter)]


def _branch_value(branch: int, data: Any, name: str) -> Any:
    """The value of workflow parameter ``name`` in branch data (a dict item or attribute)."""
    if isinstance(data, dict):
        if name in data:
            return data[name]
    elif hasattr(data, name):
        return getattr(data, name)
    raise law_core.WorkflowError(
        f"the data of branch {branch} has no item or attribute '{name}' for the workflow "
        f"parameter of that name: {data!r}")


def _ranges(numbers: list[int]) -> tuple[tuple[int, int], ...]:
    """Sorted branch numbers as end-exclusive ranges (a ``branches`` value)."""
    ranges: list[list[int]] = []
    for n in sorted(set(numbers)):
        if ranges and ranges[-1][1] == n:
            ranges[-1][1] = n + 1
        else:
            ranges.append([n, n + 1])
    return tuple((start, end) for start, end in ranges)


def _class_branch_map(cls: type, values: dict[str, Any]) -> dict[int, Any]:
    """The branch map from the classmethod create_branch_map, kept per parameter values."""
    import inspect

    if not isinstance(inspect.getattr_static(cls, "create_branch_map", None), classmethod):
        names = ", ".join(_workflow_param_names(cls))
        raise law_core.WorkflowError(
            f"{cls.__name__} has workflow parameters ({names}), so its create_branch_map must "
            "be a classmethod taking a dict of the parameter values: branches are looked up "
            "before the task exists")
    skip = {"branch", "branches", *_workflow_param_names(cls)}
    try:
        key: Any = (cls, frozenset((k, v) for k, v in values.items() if k not in skip))
        hash(key)
    except TypeError:
        key = None
    cache = cls.__dict__.get("_law_class_branch_maps")
    if cache is None:
        cache = {}
        cls._law_class_branch_maps = cache
    if key is not None and key in cache:
        return cache[key]
    branch_map = cls._normalize_branch_map(cls.create_branch_map(dict(values)))
    if key is not None:
        cache[key] = branch_map
    return branch_map


def _resolve_workflow_parameters(cls: type, values: dict[str, Any]) -> dict[str, Any]:
    """Turn given workflow parameter values into ``branch`` or ``branches`` (law's rules),
    or fill them in from the branch data of a given ``branch``."""
    names = _workflow_param_names(cls)
    if not names:
        return values
    given = {n: values.get(n, no_value) for n in names}
    set_names = [n for n in names if given[n] is not no_value]
    branch = values.get("branch", -1)
    if not set_names and branch == -1:
        return values
    branch_map = _class_branch_map(cls, values)
    shown = ", ".join(f"{n}={given[n]!r}" for n in set_names)
    family = cls.__name__

    if not set_names:  # a branch: its workflow parameters come from its data
        if branch not in branch_map:
            raise law_core.WorkflowError(
                f"branch {branch} of {family} is not in its branch map ({len(branch_map)} "
                "branches)")
        data = branch_map[branch]
        params = dict(cls.get_params())
        for n in names:
            values[n] = params[n].normalize(_branch_value(branch, data, n))
        return values

    def options(name: str) -> list[Any]:
        value = given[name]
        return list(value) if isinstance(value, (tuple, list, set)) else [value]

    by_values: dict[tuple[Any, ...], list[int]] = {}
    for b, data in branch_map.items():
        key = tuple(_branch_value(b, data, n) for n in set_names)
        by_values.setdefault(key, []).append(b)
    matched: list[int] = []
    for combination in itertools.product(*map(options, set_names)):
        if combination not in by_values:
            wanted = ", ".join(f"{n}={v!r}" for n, v in zip(set_names, combination))
            raise law_core.WorkflowError(
                f"no branch of {family} has the workflow parameter values {wanted}")
        matched += by_values[combination]
    single = (len(set_names) == len(names) and len(matched) == 1
              and not any(isinstance(given[n], (tuple, list, set)) for n in names))
    if single:
        if branch not in (-1, matched[0]):
            raise law_core.WorkflowError(
                f"the workflow parameters {shown} of {family} select branch {matched[0]}, "
                f"but branch {branch} was asked for")
        values["branch"] = matched[0]
        return values
    if branch != -1:
        raise law_core.WorkflowError(
            f"the workflow parameters {shown} of {family} select {len(matched)} branches, "
            f"a workflow, but branch {branch} was asked for")
    asked = values.get("branches") or ()
    if asked:
        chosen = set(law_core.MultiRangeParameter.expand(asked, max(branch_map) + 1))
        if chosen != set(matched):
            raise law_core.WorkflowError(
                f"the workflow parameters {shown} of {family} select branches "
                f"{sorted(matched)}, which differ from --branches "
                f"{law_core.MultiRangeParameter().serialize(asked)}")
    values["branches"] = _ranges(matched)
    return values


# --- workflow properties -------------------------------------------------------------------


def workflow_property(func: Callable[[Any], Any] | None = None, attr: str | None = None,
                      setter: bool = True, cache: bool = False,
                      empty_value: Any = no_value) -> Any:
    """A property computed by and stored on the workflow, so every branch task sees the
    workflow's value. ``cache``: computed once (again while it equals ``empty_value``);
    ``attr``: the workflow attribute it is kept in; ``setter``: allow assigning it."""

    def decorator(fn: Callable[[Any], Any]) -> property:
        name = attr or f"_workflow_{'cached_' if cache else ''}{fn.__name__}"

        @functools.wraps(fn)
        def getter(self: Any) -> Any:
            wf = self.as_workflow()
            if not cache or getattr(wf, name, empty_value) == empty_value:
                setattr(wf, name, fn(wf))
            return getattr(wf, name)

        def set_value(self: Any, value: Any) -> None:
            setattr(self.as_workflow(), name, value)

        return property(getter, set_value if setter else None, doc=fn.__doc__)

    return decorator if func is None else decorator(func)


def cached_workflow_property(func: Callable[[Any], Any] | None = None, attr: str | None = None,
                             setter: bool = True, empty_value: Any = no_value) -> Any:
    """:func:`workflow_property` with ``cache=True``."""
    return workflow_property(func, attr=attr, setter=setter, cache=True,
                             empty_value=empty_value)


# --- dynamic workflow conditions -------------------------------------------------------------


class _Placeholder:
    """What the condition's decorators return in the class body: replaced when the class is
    created (:meth:`DynamicWorkflowCondition.install`)."""

    def __init__(self, condition: DynamicWorkflowCondition, kind: str):
        self.condition, self.kind = condition, kind


def _placeholder_target() -> Any:
    """An output that never exists while a workflow's branch map is not known yet."""
    path = os.path.join(tempfile.gettempdir(), "law_compat_dynamic_workflow_placeholder",
                        "DYNAMIC_WORKFLOW_PLACEHOLDER")
    return law_core.LocalFileTarget(path)


class DynamicWorkflowCondition:
    """A workflow method saying whether the branch map can be built yet (e.g. once an
    input of ``workflow_requires()`` exists). Until it returns true, the decorated
    ``create_branch_map`` gives one placeholder branch, ``output`` a target that never
    exists and ``requires`` what ``requires_eager`` gives (else nothing), and the branch map
    is not cached; once true, the real ones apply and the map is cached. Made by
    :func:`dynamic_workflow_condition`."""

    _KINDS = ("create_branch_map", "requires", "requires_eager", "output")

    def __init__(self, condition_fn: Callable[[Any], Any],
                 create_branch_map_fn: Callable[..., Any] | None = None,
                 requires_fn: Callable[..., Any] | None = None,
                 requires_eager_fn: Callable[..., Any] | None = None,
                 output_fn: Callable[..., Any] | None = None,
                 condition_as_workflow: bool = False,
                 cache_met_condition: bool | str = True):
        self.condition_fn = condition_fn
        self.fns: dict[str, Callable[..., Any] | None] = {
            "create_branch_map": create_branch_map_fn, "requires": requires_fn,
            "requires_eager": requires_eager_fn, "output": output_fn}
        self.condition_as_workflow = condition_as_workflow
        self.cache_attr = (cache_met_condition if isinstance(cache_met_condition, str) else
                           "_dynamic_workflow_condition_met" if cache_met_condition else None)

    def _register(self, kind: str, fn: Callable[..., Any]) -> _Placeholder:
        self.fns[kind] = fn
        return _Placeholder(self, kind)

    def create_branch_map(self, fn: Callable[..., Any]) -> Any:
        return self._register("create_branch_map", fn)

    def requires(self, fn: Callable[..., Any]) -> Any:
        return self._register("requires", fn)

    def requires_eager(self, fn: Callable[..., Any]) -> Any:
        return self._register("requires_eager", fn)

    def output(self, fn: Callable[..., Any]) -> Any:
        return self._register("output", fn)

    def is_met(self, inst: Any) -> bool:
        """Evaluate the condition on the workflow of ``inst`` (a met condition is kept when
        caching). law evaluates it on the calling task unless ``condition_as_workflow``;
        law-core builds a branch's outputs and requirements from its workflow, so the
        workflow always answers (a branch asking its own ``input()`` would ask the
        condition again)."""
        wf = inst.as_workflow()
        if self.cache_attr and wf.__dict__.get(self.cache_attr):
            return wf.__dict__[self.cache_attr]
        met = self.condition_fn(wf)
        if self.cache_attr and met:
            wf.__dict__[self.cache_attr] = met
        return met

    def _when_met(self, inst: Any) -> bool:
        met = self.is_met(inst)
        if met:
            inst.as_workflow().cache_branch_map = True
        return met

    def install(self, cls: type, attr: str) -> None:
        """Replace the placeholders in ``cls`` by methods that ask the condition first."""
        condition = self

        @functools.wraps(self.condition_fn)
        def condition_method(inst: Any) -> Any:
            return condition.is_met(inst)

        setattr(cls, attr, condition_method)
        wrappers = {
            "create_branch_map": lambda fn: lambda inst, *a, **kw: (
                fn(inst, *a, **kw) if condition._when_met(inst) else [None]),
            "requires": lambda fn: lambda inst, *a, **kw: (
                fn(inst, *a, **kw) if condition._when_met(inst) else
                condition.fns["requires_eager"](inst, *a, **kw)
                if condition.fns["requires_eager"] else []),
            "requires_eager": lambda fn: fn,
            "output": lambda fn: lambda inst, *a, **kw: (
                fn(inst, *a, **kw) if condition._when_met(inst) else _placeholder_target()),
        }
        for kind in self._KINDS:
            value = cls.__dict__.get(kind)
            if isinstance(value, _Placeholder) and value.condition is self:
                fn = self.fns[kind]
                setattr(cls, kind, functools.wraps(fn)(wrappers[kind](fn)))
        cls.cache_branch_map = False


def dynamic_workflow_condition(condition_fn: Callable[[Any], Any] | None = None,
                               create_branch_map_fn: Callable[..., Any] | None = None,
                               requires_fn: Callable[..., Any] | None = None,
                               requires_eager_fn: Callable[..., Any] | None = None,
                               output_fn: Callable[..., Any] | None = None,
                               condition_as_workflow: bool = False,
                               cache_met_condition: bool | str = True) -> Any:
    """Decorate the workflow method that says whether the branch map can be built yet;
    the returned object's ``create_branch_map``, ``requires``, ``requires_eager`` and
    ``output`` decorate the methods that depend on it (see :class:`DynamicWorkflowCondition`)."""

    def decorator(fn: Callable[[Any], Any]) -> DynamicWorkflowCondition:
        return DynamicWorkflowCondition(fn, create_branch_map_fn, requires_fn,
                                        requires_eager_fn, output_fn, condition_as_workflow,
                                        cache_met_condition)

    return decorator if condition_fn is None else decorator(condition_fn)


# --- dynamic dependencies of branches ---------------------------------------------------------


def _build_dynamic(task: Any, requirements: Any) -> None:
    """Make the tasks that ``task``'s run() yielded complete: the incomplete ones are built
    by a luigi run of their own, here (luigi itself only resolves the yields of tasks it
    runs, and law-core runs branches without it)."""
    import luigi

    tasks = [t for t in luigi.task.flatten(requirements) if not t.complete()]
    if not tasks:
        return
    result = luigi.build(tasks, local_scheduler=True, workers=1, detailed_summary=True)
    missing = [t for t in tasks if not t.complete()]
    if missing or result.status not in (luigi.LuigiStatusCode.SUCCESS,
                                        luigi.LuigiStatusCode.SUCCESS_WITH_RETRY):
        raise law_core.TaskError(
            f"the dynamic dependencies that run() of {task!r} yielded did not complete: "
            f"{', '.join(map(repr, missing or tasks))} ({result.status.name})")


def _resolving_dynamic_deps(run: Callable[..., Any]) -> Callable[..., Any]:
    """A branch's run() that yields requirements (law's dynamic dependencies): each yield
    is built, then its outputs are sent back into run(), as luigi does for its tasks."""

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        gen = run(self, *args, **kwargs)
        if not inspect.isgenerator(gen):
            return gen
        import luigi

        try:
            requirements = next(gen)
            while True:
                _build_dynamic(self, requirements)
                requirements = gen.send(luigi.task.getpaths(requirements))
        except StopIteration:
            return None

    method = functools.wraps(run)(method)
    method._law_dynamic_deps = True  # type: ignore[attr-defined]
    return method


# --- workflows -------------------------------------------------------------------------------


class BaseWorkflow(_Task, law_core.Workflow):
    """law's workflow base: law-core's :class:`law_core.Workflow` with law's Task API and
    law's names and forms."""

    exclude_index = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        conditions = [(name, value) for name, value in cls.__dict__.items()
                      if isinstance(value, DynamicWorkflowCondition)]
        if len(conditions) > 1:
            raise law_core.WorkflowError(
                f"{cls.__name__} defines more than one dynamic workflow condition ("
                f"{', '.join(name for name, _ in conditions)}); a workflow can have one")
        for name, condition in conditions:
            condition.install(cls, name)
        # wrapped before law-core wraps it in its dispatch to the workflow's run: branches only
        run = cls.__dict__.get("run")
        if callable(run) and not getattr(run, "_law_dynamic_deps", False):
            cls.run = _resolving_dynamic_deps(run)
        # a branch's workflow parameters follow from its data, the workflow's from its
        # selection: neither passes them on to the other
        names = {name for klass in cls.__mro__ for name, value in vars(klass).items()
                 if isinstance(value, WorkflowParameter)}
        if names:
            cls.exclude_params_branch = set(cls.__dict__.get("exclude_params_branch", ())) | names
            cls.exclude_params_workflow = (set(cls.__dict__.get("exclude_params_workflow", ()))
                                           | names)
        super().__init_subclass__(**kwargs)

    @classmethod
    def modify_param_values(cls, params: Any) -> Any:
        """law's hook; workflow parameters become ``branch`` or ``branches`` here."""
        return _resolve_workflow_parameters(cls, super().modify_param_values(params))

    def branch_parameters(self, branch: int) -> dict[str, Any]:
        names = _workflow_param_names(type(self))
        if not names:
            return super().branch_parameters(branch)
        data = self._ensure_branch_map()[branch]
        params = dict(self.get_params())
        return {n: params[n].normalize(_branch_value(branch, data, n)) for n in names}

    def req_branch(self, branch: int, **overrides: Any) -> Any:
        if overrides:  # built by luigi: workflow parameters follow from the branch data
            overrides = {**dict.fromkeys(_workflow_param_names(type(self)), no_value),
                         **overrides}
        return super().req_branch(branch, **overrides)

    # law's names and forms

    @property
    def branch_map(self) -> dict[int, Any]:
        """The branch map of the workflow; of one given ``--branches``, only the selected
        branches (as in law, also when a branch of it asks)."""
        if self.branch != -1:
            return self.as_workflow().branch_map
        full = self._ensure_branch_map()
        if not self.branches:
            return full
        return {b: full[b] for b in self.selected_branches()}

    def get_branch_map(self) -> dict[int, Any]:
        return self.as_workflow().branch_map

    def get_branch_tasks(self) -> dict[int, Any]:
        """The selected branches' tasks, by branch number."""
        return self.as_workflow().branch_tasks()

    def get_branch_chunks(self, chunk_size: int) -> list[list[int]]:
        """The selected branch numbers in chunks of ``chunk_size``."""
        branches = self.as_workflow().selected_branches()
        return [branches[i:i + chunk_size] for i in range(0, len(branches), chunk_size)]

    @property
    def effective_workflow(self) -> str:
        """The job manager the workflow runs its branches with (law's parameter of that
        name, read-only here)."""
        return self.as_workflow().job_manager_name()

    def workflow_requires(self) -> Any:
        """A DotDict an override fills: ``reqs = super().workflow_requires()``."""
        if self.branch != -1:
            return self.as_workflow().workflow_requires()
        return DotDict()

    def requires_from_branch(self) -> Any:
        """The branch ``requires()`` evaluated by the workflow itself (law's method)."""
        if self.branch != -1:
            raise law_core.TaskError(f"requires_from_branch() of {type(self).__name__} is for "
                                     "the workflow, not a branch")
        method = type(self).requires
        return getattr(method, "__wrapped__", method)(self)

    #: the class of ``output()["collection"]``: one of law's collections
    #: (law.target.collection; None: law.TargetCollection), or a law-core class
    output_collection_cls: ClassVar[type | None] = None

    def output_collection(self) -> Any:
        """law-core's collection of the branch outputs, which law-core's status and run
        read (law-core's API); with one of law's classes in ``output_collection_cls`` it is
        a plain law-core collection, and ``output()["collection"]`` the law class."""
        from law.target.collection import TargetCollection as LawCollection

        cls = self.output_collection_cls
        if cls is None or not issubclass(cls, LawCollection):
            return super().output_collection()
        self.__dict__["output_collection_cls"] = law_core.TargetCollection
        try:
            return super().output_collection()
        finally:
            del self.__dict__["output_collection_cls"]

    def _law_collection(self, collection: Any) -> Any:
        """The collection of ``output()``: law's class around the same (lazy) outputs."""
        from law.target.collection import TargetCollection as LawCollection

        cls = self.output_collection_cls or LawCollection
        if not issubclass(cls, LawCollection) or isinstance(collection, LawCollection):
            return collection
        cached = self.__dict__.get("_law_collection_of")
        if cached is None or cached[0] is not collection:
            cached = (collection, cls(collection.targets, threshold=collection.threshold))
            self.__dict__["_law_collection_of"] = cached
        return cached[1]

    def _workflow_output(self) -> Any:
        # law's output of a workflow is a DotDict: self.input().collection works too
        output = DotDict(super()._workflow_output())
        if isinstance(output.get("collection"), law_core.TargetCollection):
            output["collection"] = self._law_collection(output["collection"])
        return output


#: law-core's name for the base (law has BaseWorkflow only)
Workflow = BaseWorkflow


class LocalWorkflow(BaseWorkflow, law_core.LocalWorkflow):
    """law's local workflow: branches run on this machine unless ``--workflow`` (or a
    batch-system mixin before it in the bases) says otherwise. law's
    ``local_workflow_require_branches`` has no effect: law-core runs missing branches in
    the workflow's run, whatever it is set to."""

    workflow_type: ClassVar[str | None] = "local"
    local_workflow_require_branches: ClassVar[bool] = False
    exclude_index = True

    def local_workflow_requires(self) -> Any:
        """Requirements of the workflow when it runs locally (added to workflow_requires())."""
        return DotDict()

    def workflow_requires(self) -> Any:
        reqs = super().workflow_requires()
        if self.branch == -1 and self.job_manager_name() == "local":
            reqs.update(self.local_workflow_requires() or {})
        return reqs

