"""Workflows: tasks with branches, run at a location chosen by ``--workflow NAME``.

A workflow class defines ``create_branch_map()`` and, for one branch, ``requires()``,
``output()`` and ``run()``. The instance with ``branch=-1`` is the workflow itself: its
output is the collection of its branches' outputs, its requirements are
``workflow_requires()`` plus what its missing branches require, and its run hands the
missing branches to the job manager named by ``--workflow``.

Branch tasks are cheap copies of the workflow that share its branch map, so a workflow
of 100000 branches builds its map once and no branch goes through luigi's constructor.
"""

from __future__ import annotations

import inspect
import logging
import os
import weakref
from collections.abc import Callable
from typing import Any, ClassVar

import luigi

from law_core.errors import TaskError, WorkflowError
from law_core.luigi_internals import copy_with_params
from law_core.parameters import DurationParameter, MultiRangeParameter, expand_ranges
from law_core.targets.collection import TargetCollection
from law_core.task import Task
from law_core.wrapping import wrap_defined

logger = logging.getLogger("law_core.workflow")

#: parameters of the workflow that mean nothing to one branch; branches get the defaults
WORKFLOW_ONLY_PARAMS = (
    "branches", "acceptance", "tolerance", "pilot", "workflow", "tasks_per_job", "parallel_jobs",
    "retries", "poll_interval", "poll_fails", "walltime", "no_poll", "ignore_submission",
    "cancel_jobs", "cleanup_jobs", "job_workers", "shuffle_jobs", "transfer_logs",
)

_BRANCH_METHODS = ("requires", "output", "run")

#: instance caches of a workflow that its branch tasks must not share (the branch map is
#: shared on purpose)
_WORKFLOW_CACHES = ("_branch_tasks", "_collection", "_resets", "_job_manager", "_workflow_task",
                    "_branch_needs",
                    # a running branch's memoized output() (law_core.workflow.local)
                    "output",
                    # luigi's callbacks of the workflow, set while luigi runs it: a branch
                    # gets its own (law_core.workflow.local.run_branch)
                    "set_status_message", "set_progress_percentage", "set_tracking_url",
                    # what publish_message/publish_progress last sent
                    "_message_cache", "_last_progress_percentage")


def _dispatching(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A wrapper of a user's branch method so the workflow instance (branch -1) does its
    own instead (applied by :func:`law_core.wrapping.wrap_defined`)."""

    def wrap(branch_method: Callable[..., Any]) -> Callable[..., Any]:
        def method(self: Workflow, *args: Any, **kwargs: Any) -> Any:
            if self.branch == -1:
                return getattr(self, "_workflow_" + name)()
            return branch_method(self, *args, **kwargs)

        return method

    return wrap


class _BranchTasks(weakref.WeakValueDictionary):
    """A workflow's branch tasks in use, by branch (see :meth:`Workflow.req_branch`); a
    cache, so a pickled workflow (sent to a worker process) carries it empty."""

    def __reduce__(self) -> tuple[type, tuple[()]]:
        return type(self), ()


def _fraction_or_count(value: float, total: int) -> float:
    """law's rule: a value <= 1 is a fraction of ``total``, > 1 an absolute count."""
    return value * total if value <= 1 else value


class Workflow(Task):
    """A task with branches."""

    branch = luigi.IntParameter(
        default=-1, description="the branch to run; -1: the whole workflow")
    branches = MultiRangeParameter(
        default=(), description="branches to run, e.g. '0:10,15,20:' (end exclusive); "
        "empty: all")
    acceptance = luigi.FloatParameter(
        default=1.0, significant=False, description="the workflow is complete when this "
        "fraction (<= 1) or number (> 1) of branches is")
    tolerance = luigi.FloatParameter(
        default=0.0, significant=False, description="the workflow fails when more than this "
        "fraction (<= 1) or number (> 1) of branches failed")
    workflow = luigi.Parameter(
        default="", significant=False, description="where branches run: a job manager "
        "name such as local, slurm or htcondor; empty: [workflow] FAMILY or default in the "
        "config, else the class's workflow_type, else [workflow] default, else local")
    pilot = luigi.BoolParameter(
        significant=False, description="a hint for workflow_requires(): leave out what the "
        "branches can resolve on their own (as in law; the workflow itself ignores it)")

    # how remote job managers (--workflow slurm, htcondor, ...) run the branches
    tasks_per_job = luigi.IntParameter(
        default=1, significant=False, description="branches per job (remote workflows)")
    parallel_jobs = luigi.IntParameter(
        default=-1, significant=False, description="most jobs active at once; -1: no cap")
    retries = luigi.IntParameter(
        default=5, significant=False, description="resubmissions of a failed job")
    poll_interval = DurationParameter(
        default=1.0, unit="m", significant=False, description="time between status polls "
        "(a number in minutes, or e.g. '30s')")
    poll_fails = luigi.IntParameter(
        default=5, significant=False, description="consecutive failed status queries allowed")
    walltime = DurationParameter(
        default=0.0, unit="h", significant=False, description="longest the polling may "
        "last (a number in hours, or e.g. '30m'); 0: no limit")
    no_poll = luigi.BoolParameter(
        significant=False, description="submit the jobs and return without polling")
    ignore_submission = luigi.BoolParameter(
        significant=False, description="forget the jobs of an earlier submission")
    cancel_jobs = luigi.BoolParameter(
        significant=False, description="cancel the jobs of the earlier submission and stop")
    cleanup_jobs = luigi.BoolParameter(
        significant=False, description="remove the job files of the earlier submission and "
        "stop")
    job_workers = luigi.IntParameter(
        default=1, significant=False, description="threads submitting and querying in parallel")
    shuffle_jobs = luigi.BoolParameter(
        significant=False, description="submit jobs in random order")
    transfer_logs = luigi.BoolParameter(
        significant=False, description="jobs on workers without a shared file system also "
        "copy their stdout and stderr to the store (logs/ in the workflow's directory)")

    #: the workflow-only parameters go neither to nor from other tasks through req()
    exclude_params_req_set = set(WORKFLOW_ONLY_PARAMS)
    exclude_params_req_get = set(WORKFLOW_ONLY_PARAMS)

    #: parameters a branch task does not take from its workflow: it gets their defaults, so
    #: that its task id does not depend on them. Sets of subclasses add to those of their
    #: bases; the workflow-only parameters above are always among them.
    exclude_params_branch: ClassVar[set[str]] = set(WORKFLOW_ONLY_PARAMS)
    #: parameters the workflow does not take from one of its branches (as_workflow(),
    #: req_workflow()): it gets their defaults. Added to over the bases as well.
    exclude_params_workflow: ClassVar[set[str]] = {"branch"}
    #: the class of the output "collection" (a TargetCollection subclass); None: TargetCollection
    output_collection_cls: ClassVar[type[TargetCollection] | None] = None
    #: the job manager of this class when neither --workflow nor the config's [workflow]
    #: FAMILY names one (before [workflow] default): a mixin of a batch system sets it, and
    #: the first such class in the MRO wins, as in law
    workflow_type: ClassVar[str | None] = None
    #: False: the branch map, branch tasks and output collection are built anew on each
    #: use (for a map that is not known yet, e.g. until an input exists); set True again
    #: on the workflow once it is
    cache_branch_map: bool = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in _BRANCH_METHODS:
            wrap_defined(cls, name, _dispatching(name), "workflow-dispatch")

    # branches

    def create_branch_map(self) -> list[Any] | dict[int, Any] | int:
        """The branches: a list (branch n is item n), a dict with int keys >= 0, or an
        int n meaning branches 0..n-1 whose data is the number itself. It may be a
        classmethod taking a dict of the parameter values (law's form)."""
        raise TaskError(f"workflow {type(self).__name__} does not define create_branch_map()")

    @property
    def branch_map(self) -> dict[int, Any]:
        """The normalized branch map, built once and shared with all branch tasks."""
        return self._ensure_branch_map()

    def _ensure_branch_map(self) -> dict[int, Any]:
        cached = self.__dict__.get("_branch_map")
        if cached is None:
            cached = self._build_branch_map()
            if self.cache_branch_map:
                self.__dict__["_branch_map"] = cached
        return cached

    def reset_branch_map(self) -> None:
        """Forget the branch map and what was built from it (branch tasks, the output
        collection): the next use builds them anew."""
        for name in ("_branch_map", "_branch_tasks", "_collection", "_branch_needs"):
            self.__dict__.pop(name, None)

    def _build_branch_map(self) -> dict[int, Any]:
        name = type(self).__name__
        try:
            if isinstance(inspect.getattr_static(type(self), "create_branch_map", None),
                          classmethod):
                # law's form for maps needed before an instance exists: the parameter values
                raw = self.create_branch_map(dict(self.param_kwargs))
            else:
                raw = self.create_branch_map()
        except Exception as err:
            raise WorkflowError(
                f"create_branch_map() of {name} failed: {type(err).__name__}: {err}") from err
        return self._normalize_branch_map(raw)

    @classmethod
    def _normalize_branch_map(cls, raw: Any) -> dict[int, Any]:
        """A list, tuple, int or dict from create_branch_map() as a dict, or a clear error."""
        name = cls.__name__
        if isinstance(raw, bool):
            raise WorkflowError(f"create_branch_map() of {name} returned a bool")
        if isinstance(raw, int):
            if raw < 0:
                raise WorkflowError(f"create_branch_map() of {name} returned {raw} < 0")
            return dict(zip(range(raw), range(raw)))
        if isinstance(raw, dict):
            if not raw or (set(map(type, raw)) == {int} and min(raw) >= 0):
                return raw  # the usual map, checked without a frame per key
            bad = [k for k in raw if isinstance(k, bool) or not isinstance(k, int) or k < 0]
            if bad:
                raise WorkflowError(
                    f"create_branch_map() of {name} returned a dict with keys that are not "
                    f"integers >= 0, e.g. {bad[0]!r}")
            return raw
        if isinstance(raw, (list, tuple)):
            return dict(enumerate(raw))
        raise WorkflowError(
            f"create_branch_map() of {name} returned a {type(raw).__name__}; expected a list, "
            "a dict with integer keys or an int")

    @property
    def branch_data(self) -> Any:
        """The branch map's value for this branch."""
        if self.branch == -1:
            raise TaskError(f"{type(self).__name__} is the workflow (branch -1): it has no "
                            "branch_data; use branch_map")
        self.check_branch()
        return self._ensure_branch_map()[self.branch]

    def check_branch(self) -> None:
        """Raise a clear error when ``branch`` is not in the branch map."""
        if self.branch != -1 and self.branch not in self._ensure_branch_map():
            keys = list(self._ensure_branch_map())
            span = f"{min(keys)}..{max(keys)}" if keys else "none"
            raise TaskError(
                f"branch {self.branch} of {type(self).__name__} is out of range: the branch "
                f"map has {len(keys)} branches ({span})")

    def check_selection(self) -> None:
        """Raise a clear error for a ``--branches`` selection that selects nothing or names
        branches the map lacks, and for an ``--acceptance`` or ``--tolerance`` that cannot
        be met: each would otherwise end in a "complete" that is not."""
        from law_core.errors import ParameterError

        name = type(self).__name__
        keys = self._ensure_branch_map()
        span = f"{min(keys)}..{max(keys)}" if keys else "none"
        if self.branches:
            given = MultiRangeParameter().serialize(self.branches)
            absent = [start for start, end in self.branches
                      if isinstance(start, int) and end == start + 1 and start not in keys]
            if absent or not self.selected_branches():
                what = ("nothing is" if not absent else f"branch {absent[0]} is not"
                        if len(absent) == 1 else f"branches {_short_list(absent)} are not")
                raise ParameterError(
                    f"--branches {given}: {what} in the branch map of {name}, which has "
                    f"{len(keys)} branches ({span})")
        total = len(self.selected_branches())
        if self.acceptance < 0 or (self.acceptance > 1 and self.acceptance > total):
            raise ParameterError(
                f"--acceptance {self.acceptance:g} cannot be met by the {total} selected "
                f"branches of {name}: give a fraction (<= 1) or a count of at most {total}")
        if self.tolerance < 0:
            raise ParameterError(
                f"--tolerance {self.tolerance:g} of {name} is negative: give a fraction "
                "(<= 1) or a count of branches that may fail")

    def to_str_params(self, only_significant: bool = False, only_public: bool = False
                      ) -> dict[str, str]:
        """As luigi's, without the backend options the user did not set: the scheduler's
        display and the visualiser show ``slurm_partition`` only where it was given."""
        params = super().to_str_params(only_significant, only_public)
        for name in JOB_MANAGER_PARAMS:
            if self.param_kwargs.get(name) is None:
                params.pop(name, None)
        return params

    def selected_branches(self) -> list[int]:
        """The branches this workflow covers: all, or those ``--branches`` selects."""
        keys = list(self._ensure_branch_map())
        if not self.branches:
            return keys
        chosen = set(expand_ranges(self.branches, max(keys) + 1 if keys else 0))
        return [k for k in keys if k in chosen]

    def req_branch(self, branch: int, **overrides: Any) -> Workflow:
        """The task of one branch of this workflow.

        The same object while it is in use; one nobody holds any more is forgotten (a
        branch task holds all of the workflow's parameters, and an analysis of 200000
        branches would otherwise keep every one for the whole run)."""
        if overrides:
            return self.req(self, branch=branch, **overrides)
        cache = self.__dict__.get("_branch_tasks")
        if cache is None:
            self._ensure_branch_map()  # built before copying, so that copies share it
            cache = _BranchTasks()
            if self.cache_branch_map:
                self.__dict__["_branch_tasks"] = cache
        task = cache.get(branch)
        if task is None:
            task = copy_with_params(self, _WORKFLOW_CACHES, branch=branch,
                                    **{**self._branch_resets(), **self.branch_parameters(branch)})
            workflow = self if self.branch == -1 else self.__dict__.get("_workflow_task")
            if workflow is not None:
                task.__dict__["_workflow_task"] = workflow
            cache[branch] = task
        return task

    def branch_parameters(self, branch: int) -> dict[str, Any]:
        """Values (normalized) of parameters that follow from the branch, which its task
        gets instead of the workflow's; default: none. law-core-compat sets law's
        WorkflowParameters from the branch data here."""
        return {}

    def _branch_resets(self) -> dict[str, Any]:
        """Parameters a branch does not take from its workflow (:attr:`exclude_params_branch`)
        whose value differs from their default: a branch gets the default, so its task id
        does not depend on how the workflow ran."""
        resets = self.__dict__.get("_resets")
        if resets is None:
            defaults = self._excluded_defaults("exclude_params_branch")
            resets = {k: v for k, v in defaults.items() if self.param_kwargs[k] != v}
            self.__dict__["_resets"] = resets
        return resets

    def req_workflow(self, **overrides: Any) -> Workflow:
        """The workflow this branch belongs to (a new instance; :meth:`as_workflow` keeps
        one). Parameters in :attr:`exclude_params_workflow` get their defaults."""
        defaults = self._excluded_defaults("exclude_params_workflow")
        resets = {k: v for k, v in defaults.items() if k != "branch" and k not in overrides}
        return self.req(self, branch=-1, **resets, **overrides)

    def is_workflow(self) -> bool:
        return self.branch == -1

    def is_branch(self) -> bool:
        return self.branch != -1

    def as_workflow(self) -> Workflow:
        """The workflow itself, or the workflow of this branch (built once, kept)."""
        if self.branch == -1:
            return self
        workflow = self.__dict__.get("_workflow_task")
        if workflow is None:
            workflow = self.__dict__["_workflow_task"] = self.req_workflow()
        return workflow

    @property
    def workflow_task(self) -> Workflow:
        """Same as :meth:`as_workflow`."""
        return self.as_workflow()

    def as_branch(self, branch: int | None = None) -> Workflow:
        """A branch task of this workflow: ``branch``, default 0 (this task when it is that
        branch already)."""
        if branch == -1:
            raise TaskError(f"as_branch() of {type(self).__name__} needs a branch number >= 0, "
                            "not -1; use as_workflow() for the workflow")
        if self.branch != -1 and branch in (None, self.branch):
            return self
        return self.as_workflow().req_branch(0 if branch is None else branch)

    @classmethod
    def _excluded_defaults(cls, attr: str) -> dict[str, Any]:
        """The defaults of the parameters named in ``attr`` on this class and its bases
        (those that have one), with the workflow-only ones for ``exclude_params_branch``."""
        key = "_defaults_cache_" + attr
        cached = cls.__dict__.get(key)
        if cached is None:
            names = set(WORKFLOW_ONLY_PARAMS) if attr == "exclude_params_branch" else set()
            for klass in cls.__mro__:
                names |= set(klass.__dict__.get(attr, ()))
            family, params = cls.get_task_family(), dict(cls.get_params())
            cached = {name: params[name].task_value(family, name) for name in sorted(names)
                      if name in params and params[name].has_task_value(family, name)}
            setattr(cls, key, cached)
        return cached

    def branch_tasks(self) -> dict[int, Workflow]:
        """The branch tasks of the selected branches."""
        return {b: self.req_branch(b) for b in self.selected_branches()}

    # what the workflow itself does

    def workflow_requires(self) -> Any:
        """What the workflow needs before any branch runs (jobs need their inputs present
        before they are submitted). Default: nothing, as an empty dict that an override
        may fill (``reqs = super().workflow_requires(); reqs["selection"] = ...``), as in
        law."""
        return {}

    def workflow_input(self) -> Any:
        """The outputs of :meth:`workflow_requires` (of the workflow, also when asked by a
        branch), in the same structure."""
        return luigi.task.getpaths(self.as_workflow().workflow_requires())

    def input(self) -> Any:
        """For a branch, the outputs of its ``requires()``; for the workflow, those of
        :meth:`workflow_requires` (what its branches need is not part of it), as in law."""
        if self.branch == -1:
            return self.workflow_input()
        return super().input()

    # hooks for remote jobs; the defaults come from the config section [job]

    def job_bootstrap_file(self) -> str | None:
        """A shell file that jobs source before running (``[job] bootstrap_file``)."""
        from law_core.config import get_config

        path = get_config().get("job", "bootstrap_file", default=None)
        return os.path.abspath(path) if path else None

    def job_bootstrap_command(self) -> str | None:
        """Shell code that jobs run before running (``[job] bootstrap_command``)."""
        from law_core.config import get_config

        return get_config().get("job", "bootstrap_command", default=None)

    def job_input_files(self) -> dict[str, str]:
        """Files each job finds in its home directory, ``$LAW_CORE_JOB_HOME``, before
        the bootstrap file is sourced there: name in it -> path on this host. Default:
        none. (The branches run there too where the jobs carry a software bundle; else in
        the submitting directory, and find the files through ``$LAW_CORE_JOB_HOME``.)

        They are copied into the job directory when the jobs are submitted (a later edit
        reaches only later submissions) and travel with the jobs where the workers share
        no file system. A name is a plain file name (letters, digits, ``._+-``) that no
        job file of law-core's takes."""
        return {}

    def job_stage_out(self) -> list[tuple[str, str]]:
        """Files to copy out of a job's home directory (``$LAW_CORE_JOB_HOME``) after its
        branches succeeded: (glob, destination directory path or URI) pairs."""
        return []

    def job_manager_name(self) -> str:
        """``--workflow``, else the config's ``[workflow] FAMILY``, else the class's
        :attr:`workflow_type`, else ``[workflow] default``, else local: the run location can
        be chosen per task class by configuration alone."""
        if self.workflow:
            return self.workflow
        from law_core.config import get_config

        config = get_config()
        chosen = config.get("workflow", self.get_task_family(), default=None)
        if chosen:
            return chosen
        if self.workflow_type:
            return self.workflow_type
        return config.get("workflow", "default", default="local")

    def job_manager(self) -> Any:
        """The job manager chosen by :meth:`job_manager_name`, set up for this workflow."""
        cached = self.__dict__.get("_job_manager")
        if cached is None:
            from law_core.registry import get_registry

            record = get_registry().job_manager(self.job_manager_name())
            cached = self.__dict__["_job_manager"] = record.load()(self)
        return cached

    def output_collection(self) -> TargetCollection:
        """The outputs of the selected branches, complete at the acceptance threshold, in an
        :attr:`output_collection_cls` (a SiblingFileCollection, for one, builds every
        output to check that they share a directory)."""
        cached = self.__dict__.get("_collection")
        if cached is None:
            # outputs are built when asked for, by branch tasks that are not kept (a
            # million would take gigabytes); their existence is known from a pattern of
            # their paths where output() follows one (law_core.workflow.branch_outputs)
            from law_core.workflow.branch_outputs import BranchOutputs

            cls = self.output_collection_cls or TargetCollection
            cached = cls(BranchOutputs(self, self.selected_branches()), threshold=self.acceptance)
            if self.cache_branch_map:
                self.__dict__["_collection"] = cached
        return cached

    def _transient_branch(self, branch: int) -> Workflow:
        """A branch task as :meth:`req_branch` makes it, but not cached."""
        self._ensure_branch_map()
        task = copy_with_params(self, _WORKFLOW_CACHES, branch=branch,
                                **{**self._branch_resets(), **self.branch_parameters(branch)})
        if self.branch == -1:
            task.__dict__["_workflow_task"] = self
        return task

    def missing_branches(self) -> list[int]:
        """Selected branches whose outputs do not all exist (one listing per directory)."""
        collection = self.output_collection()
        existing = collection.existing_keys()
        return [b for b in collection.targets if b not in existing]

    def max_failures(self) -> float:
        """How many branches may fail before the workflow fails (from ``--tolerance``)."""
        return _fraction_or_count(self.tolerance, len(self.selected_branches()))

    def _workflow_output(self) -> dict[str, Any]:
        return self.job_manager().output()

    def _workflow_requires(self) -> Any:
        return self.job_manager().requires()

    def handle_job_actions(self) -> bool:
        """Carry out ``--cancel-jobs`` or ``--cleanup-jobs`` on the earlier submission of a
        remote workflow; True when one was asked for (the workflow then does nothing else)."""
        if not (self.cancel_jobs or self.cleanup_jobs):
            return False
        manager = self.job_manager()
        if not hasattr(manager, "cancel_all"):
            raise WorkflowError(f"--cancel-jobs and --cleanup-jobs need a remote workflow, "
                                f"not '{self.job_manager_name()}'")
        if self.cancel_jobs:
            print(f"cancelled {manager.cancel_all()} jobs of {self!r}")
        if self.cleanup_jobs:
            print(f"cleaned up {manager.cleanup_all()} jobs of {self!r}")
        return True

    def jobs_left_running(self) -> int:
        """Jobs of this workflow that are still pending or running at a batch system, as
        after ``--no-poll``; 0 for job managers without jobs."""
        count = getattr(self.job_manager(), "active_job_count", None)
        return count() if count is not None else 0

    def _workflow_run(self) -> None:
        if self.handle_job_actions():
            return
        self.check_selection()
        from law_core.workflow.job_manager import blocked_branches

        manager = self.job_manager()
        missing = self.missing_branches()
        # branches whose inputs an upstream failure left missing cannot run; the others do
        blocked = blocked_branches(self, missing)
        if blocked:
            example = next(iter(blocked.values()))
            text = ("%d branch of %s is blocked, its inputs are missing (branch %s; e.g. %s); "
                    if len(blocked) == 1 else "%d branches of %s are blocked, their inputs are "
                    "missing (branches %s; e.g. %s); ") + "the other %d run"
            logger.warning(text, len(blocked), type(self).__name__, _short_list(sorted(blocked)),
                           example.removeprefix("blocked: "), len(missing) - len(blocked))
        failures = manager.run([b for b in missing if b not in blocked])
        if self.no_poll:
            return
        collection = self.output_collection()
        # existing_keys(): read alike by every collection class (law-core-compat's count()
        # answers as law's)
        existing = set(collection.existing_keys())
        done, total = len(existing), len(collection)
        # a job fails as a whole; those of its branches whose outputs are all there are done
        done_anyway = sorted(b for b in failures if b in existing)
        if done_anyway:
            text = ("%d branch of %s has all its outputs although its job failed (branch %s): "
                    "it counts as done" if len(done_anyway) == 1 else "%d branches of %s have "
                    "all their outputs although their job failed (branches %s): they count as "
                    "done")
            logger.warning(text, len(done_anyway), type(self).__name__, _short_list(done_anyway))
            failures = {b: error for b, error in failures.items() if b not in existing}
        if blocked and len(failures) + len(blocked) > self.max_failures():
            raise WorkflowError(
                f"{len(blocked)} of {total} branches of {type(self).__name__} are blocked by "
                f"missing inputs (branches {_short_list(sorted(blocked))}; e.g. branch "
                f"{min(blocked)}: {blocked[min(blocked)].removeprefix('blocked: ')})"
                + (f" and {len(failures)} failed ({_short_list(sorted(failures))})"
                   if failures else "")
                + f", more than the tolerance allows ({self.tolerance:g})")
        if failures and len(failures) > self.max_failures():
            raise WorkflowError(
                f"{len(failures)} of {total} branches of {type(self).__name__} failed, more "
                f"than the tolerance allows ({self.tolerance:g}); failed: "
                f"{_short_list(sorted(failures))}")
        if done < collection.required_count():
            raise WorkflowError(
                f"only {done} of {total} branches of {type(self).__name__} are complete, "
                f"fewer than the acceptance ({self.acceptance:g}) requires")


class LocalWorkflow(Workflow):
    """A workflow whose branches run on this machine by default (law's familiar name). It
    names no :attr:`~Workflow.workflow_type`, so that ``[workflow] default`` applies to it."""


#: names of the parameters that job-manager plugins added (not passed on to jobs)
JOB_MANAGER_PARAMS: set[str] = set()


def add_job_manager_parameters(cls: type[Workflow] = Workflow) -> None:
    """Give every workflow the parameters that installed job-manager plugins contribute
    (``--slurm-partition``, ...), so a task class never names a batch system. A plugin
    whose parameters fail to load is skipped with a warning."""
    import logging

    from law_core.errors import LawCoreError
    from law_core.registry import get_registry

    try:
        records = get_registry().job_managers()
    except LawCoreError as err:
        logging.getLogger(__name__).warning("job manager parameters unavailable: %s", err)
        return
    for name, record in records.items():
        try:
            parameters = record.load_parameters()
        except Exception as err:  # a broken plugin must not break every workflow
            logging.getLogger(__name__).warning(
                "parameters of the job manager '%s' could not be loaded: %s", name, err)
            continue
        if "_param_list" in cls.__dict__:  # get_params() anew, with these
            delattr(cls, "_param_list")
        for param_name, param in parameters.items():
            if not hasattr(cls, param_name):
                setattr(cls, param_name, param)
                # what Python calls for attributes in a class body; luigi's parameters are
                # descriptors that learn their name from it
                if hasattr(param, "__set_name__"):
                    param.__set_name__(cls, param_name)
                JOB_MANAGER_PARAMS.add(param_name)


add_job_manager_parameters()


def _short_list(items: list[int], limit: int = 10) -> str:
    text = ", ".join(map(str, items[:limit]))
    return text + (f", ... ({len(items)} in all)" if len(items) > limit else "")
