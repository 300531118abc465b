"""law's batch-workflow mixins on law-core's job managers.

``class MyTask(Task, law.htcondor.HTCondorWorkflow, law.LocalWorkflow)`` is a law-core
workflow whose :attr:`workflow_type` is the batch system (the first in the MRO wins), so its
branches run as jobs of the law-core plugin of that name. law's hooks are translated:

- ``<name>_output_directory()`` is the workflow's :meth:`output_directory` while it runs
  on that batch system: law-core keeps the job files under ``jobs/`` there.
- ``<name>_job_config(config, job_num, branches)`` is asked once per workflow run (law-core
  writes one set of job files per run, not one per job), with ``job_num`` the list of the
  numbers of the jobs about to be planned (unknown yet: empty) and ``branches`` the list of
  the selected branches, as law's grouped submission passes them.
  ``config.custom_content`` becomes batch-system options (the plugin's ``extra_lines``);
  ``config.input_files`` and the bootstrap file are law-core's job input files
  (``job_input_files``), rendered with ``config.render_variables`` where they ask for it:
  each job finds them in its home directory, under their base names, before the bootstrap
  file is sourced there.
- ``<name>_bootstrap_file()`` is sourced by each job, in its home, through a script of
  law-core-compat's that is law-core's ``job_bootstrap_file`` (it also sources law-core's
  ``[job] bootstrap_file``, which travels as an input file too).
- ``<name>_workflow_requires()`` adds to ``workflow_requires()`` on that batch system.

The input files travel with the jobs wherever law-core's job files do: read in place on
batch systems whose workers share this file system (Slurm, LSF, HTCondor without file
transfer), taken along as job inputs where they share none (ARC, gLite, HTCondor with file
transfer; the script goes into the software bundle). Files law uses where they are
(``forward=True``, ``copy=False``) reach only jobs on a shared file system.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import shlex
import shutil
from typing import Any, ClassVar

import luigi

import law_core
from law.job.base import JobFileFactory, JobInputFile, linearize, render_text
from law.util import DotDict, merge_dicts
from law.workflow import BaseWorkflow
from law_core.errors import WorkflowError
from law_core.plugin import JOB_FILES, STATUS_DIR

__all__ = ["BatchWorkflow"]

logger = logging.getLogger("law.job")

#: config attributes law-core-compat acts on; others set by a job_config hook are reported
_USED = {"custom_content", "render_variables", "input_files"}
#: config attributes law fills itself, set by hooks without effect here and without notice
_QUIET = {"output_files", "stdout", "stderr", "log", "custom_log_file", "postfix",
          "arguments", "executable", "absolute_paths", "dir", "mkdtemp", "cleanup",
          "manual_stagein", "manual_stageout", "file_name", "job_name", "shell", "command"}

#: the adapted job-manager classes, by (batch-system class, workflow mixin)
_ADAPTED: dict[tuple[type, type], type] = {}


def _adapted_manager(manager_cls: type, mixin: type) -> type:
    """``manager_cls`` whose settings carry the workflow's custom content as extra lines."""
    key = (manager_cls, mixin)
    if key not in _ADAPTED:
        field = mixin.law_settings_field

        class Adapted(manager_cls):  # type: ignore[valid-type, misc]
            __doc__ = (f"{manager_cls.__name__} with the batch options of the workflow's "
                       f"{mixin.law_batch_name}_job_config() custom content")

            @property
            def settings(self) -> Any:
                base = super().settings
                lines = self.workflow.law_custom_lines()
                if not lines:
                    return base
                given = getattr(base, field, "")
                return dataclasses.replace(base, **{field: "\n".join(
                    [*([given] if given.strip() else []), *lines])})

        Adapted.__name__ = Adapted.__qualname__ = f"Law{manager_cls.__name__}"
        _ADAPTED[key] = Adapted
    return _ADAPTED[key]


class BatchWorkflow(BaseWorkflow):
    """The base of law's ``HTCondorWorkflow``, ``SlurmWorkflow``, ... (one per batch
    system, :attr:`law_batch_name`). A mixin: law tasks name it before ``law.LocalWorkflow``."""

    #: the job manager's name (``--workflow NAME``) and the prefix of law's hooks
    law_batch_name: ClassVar[str] = ""
    #: the field of the plugin's settings that takes more batch options, one per line
    law_settings_field: ClassVar[str] = "extra_lines"

    clear_logs = luigi.BoolParameter(
        default=False, significant=False, description="law's option, accepted without effect")
    submission_threads = luigi.IntParameter(
        default=4, significant=False, description="law's option; law-core submits and "
        "queries with --job-workers threads")

    exclude_index = True
    exclude_params_branch = {"transfer_logs", "clear_logs", "submission_threads"}
    exclude_params_req_set = {"no_poll"}
    exclude_params_remote_workflow: ClassVar[set[str]] = set()

    @classmethod
    def get_param_values(cls, params: Any, args: Any, kwargs: Any) -> Any:
        """law's one-item ranges in ``branches`` (``((3,),)``: branch 3) as law-core's
        (start, end) pairs; law's sequential examples require partial workflows so."""
        value = kwargs.get("branches")
        if isinstance(value, (tuple, list)) and any(
                isinstance(r, (tuple, list)) and len(r) == 1 for r in value):
            kwargs = {**kwargs, "branches": tuple(
                (r[0], r[0] + 1) if isinstance(r, (tuple, list)) and len(r) == 1
                and isinstance(r[0], int) else r for r in value)}
        return super().get_param_values(params, args, kwargs)

    # translation of the run location

    def law_hook(self, suffix: str) -> Any:
        """The law hook ``<name>_<suffix>`` of this workflow (None when not defined)."""
        return getattr(self, f"{self.law_batch_name}_{suffix}", None)

    def law_on_batch(self) -> bool:
        """Whether this workflow runs its branches on this mixin's batch system."""
        return self.as_workflow().job_manager_name() == self.law_batch_name

    def job_manager(self) -> Any:
        wf = self.as_workflow()
        if wf is not self:
            return wf.job_manager()
        cached = self.__dict__.get("_job_manager")
        if cached is None and self.law_on_batch():
            record = law_core.get_registry().job_manager(self.law_batch_name)
            cached = _adapted_manager(record.load(), type(self).law_mixin())(self)
            self.__dict__["_job_manager"] = cached
        return cached if cached is not None else super().job_manager()

    @classmethod
    def law_mixin(cls) -> type:
        """The batch-system class among the bases (``HTCondorWorkflow``)."""
        for klass in cls.__mro__:
            if "law_batch_name" in vars(klass) and vars(klass)["law_batch_name"]:
                return klass
        return cls

    def output_directory(self) -> Any:
        if self.law_on_batch():
            directory = self.as_workflow().law_hook("output_directory")()
            if directory is None:
                raise WorkflowError(f"{type(self).__name__}.{self.law_batch_name}_"
                                    "output_directory() returned None: return the directory "
                                    "target for the job files")
            if isinstance(directory, str):
                directory = law_core.LocalDirectoryTarget(
                    os.path.expandvars(os.path.expanduser(directory)))
            return directory
        return super().output_directory()

    def workflow_requires(self) -> Any:
        reqs = super().workflow_requires()
        if self.branch == -1 and self.law_on_batch():
            reqs.update(self.law_hook("workflow_requires")() or {})
        return reqs

    # the job config and its files

    def law_job_config(self) -> Any:
        """The config of this run: a job file factory's config, filled by
        ``<name>_job_config`` (asked once, see the module's docstring)."""
        wf = self.as_workflow()
        cached = wf.__dict__.get("_law_job_config")
        if cached is None:
            factory = wf.law_hook("create_job_file_factory")()
            config = factory.get_config()
            for attr, empty in (("input_files", {}), ("render_variables", {}),
                                ("custom_content", [])):
                if attr not in config or config[attr] is None:
                    config[attr] = type(empty)()
            before = dict(config.__dict__)
            bootstrap = wf.law_hook("bootstrap_file")()
            if bootstrap:
                config.input_files["bootstrap_file"] = bootstrap
            config = wf.law_hook("job_config")(config, [], list(wf.selected_branches()))
            if config is None:
                raise WorkflowError(f"{type(wf).__name__}.{wf.law_batch_name}_job_config() "
                                    "returned None: return the config it was given")
            ignored = sorted(key for key, value in config.__dict__.items()
                             if key not in _USED | _QUIET and before.get(key) != value)
            if ignored:
                logger.warning("%s_job_config() of %s set %s, which law-core-compat does not "
                               "use (law-core writes its own job files)", wf.law_batch_name,
                               type(wf).__name__, ", ".join(ignored))
            cached = wf.__dict__["_law_job_config"] = config
        return cached

    def law_custom_lines(self) -> list[str]:
        """``config.custom_content`` as lines of the plugin's :attr:`law_settings_field`."""
        lines = []
        for item in self.law_job_config().custom_content:
            line = self.law_custom_line(item)
            if line:
                lines.append(line)
        return lines

    @classmethod
    def law_custom_line(cls, item: Any) -> str | None:
        """One entry of ``custom_content`` (a ``(key, value)`` pair, a ``(key,)`` or a
        line) in the batch system's syntax; None drops it. Each batch system defines it."""
        raise NotImplementedError

    def job_bootstrap_file(self) -> str | None:
        if not self.law_on_batch():
            return super().job_bootstrap_file()
        return self.as_workflow().law_write_job_inputs()[0]

    def job_input_files(self) -> dict[str, str]:
        if not self.law_on_batch():
            return super().job_input_files()
        return self.as_workflow().law_write_job_inputs()[1]

    def law_write_job_inputs(self) -> tuple[str | None, dict[str, str]]:
        """law's job input files as law-core's (name in the job's home -> path here):
        those to be rendered rendered into ``law_inputs/`` of the job directory first. And
        the script each job sources in its home, where law-core copied them: it sources
        law's bootstrap file and the one of law-core's ``[job] bootstrap_file`` by their
        names there (None when there is neither). The script names no path of this host
        and stays the same from run to run: jobs carrying a software bundle take it in the
        bundle, whose digest would change with it."""
        config = self.law_job_config()
        job_dir = self.job_manager().job_directory()
        files = {key: JobInputFile(f) for key, f in config.input_files.items()}
        core_bootstrap = super().job_bootstrap_file()
        if core_bootstrap and not os.path.isfile(core_bootstrap):
            raise WorkflowError(f"[job] bootstrap_file {core_bootstrap} does not exist")
        used = set(_RESERVED)
        names: dict[str, str] = {}
        for key, f in files.items():
            if not os.path.isfile(f.path):
                raise WorkflowError(f"the job input file {key!r} of {type(self).__name__} does "
                                    f"not exist: {f.path}")
            if f.copy and not f.forward:
                names[key] = _job_name(key, f.path, used)
        if (not self.job_manager().shared_file_system()
                and (used_here := [k for k, f in files.items() if k not in names])):
            logger.warning("the job input files %s of %s are used where they are on this host "
                           "(forward=True or copy=False), which the jobs of %s do not see",
                           ", ".join(map(repr, used_here)), type(self).__name__,
                           self.law_batch_name)
        # what placeholders name: the file in the job's home, or where it is
        variables = {**{str(k): str(v) for k, v in config.render_variables.items()},
                     **{key: names.get(key, f.path) for key, f in files.items()}}
        variables["input_files"] = " ".join(variables[key] for key in files)
        variables["input_files_render"] = " ".join(variables[key] for key, f in files.items()
                                                   if f.render)
        flat = linearize(variables)
        rendered_dir = job_dir / "law_inputs"
        inputs: dict[str, str] = {}
        for key, name in names.items():
            f = files[key]
            if f.render:
                with open(f.path) as src:
                    text = render_text(src.read(), flat)
                inputs[name] = str(_write_if_changed(rendered_dir / name, text, f.path))
            else:
                inputs[name] = f.path
        if rendered_dir.is_dir():  # renderings of an earlier run's files
            for old in rendered_dir.iterdir():
                if str(old) not in inputs.values() and old.is_file():
                    old.unlink()
        sourced = [names["bootstrap_file"]] if "bootstrap_file" in names else []
        if "bootstrap_file" in files and "bootstrap_file" not in names:
            sourced.append(files["bootstrap_file"].path)  # forwarded: where it is
        if core_bootstrap:
            name = _job_name("law_core_bootstrap", core_bootstrap, used)
            inputs[name] = core_bootstrap
            sourced.append(name)
        if not sourced:
            return None, inputs
        lines = ["# written by law-core-compat: sourced by each job in its home directory,",
                 "# where law-core copied the job input files; law's bootstrap file, then",
                 "# law-core's [job] bootstrap_file"]
        lines += [f"source {shlex.quote(path if os.path.isabs(path) else './' + path)} "
                  '"$@" || return 1' for path in sourced]  # ./: not looked up in PATH
        script = _write_if_changed(job_dir / "law_bootstrap.sh", "\n".join(lines) + "\n")
        return str(script), inputs

    # law's hooks, with law's defaults

    def law_job_file_factory_defaults(self) -> dict[str, Any]:
        return getattr(self, f"{self.law_batch_name}_job_file_factory_defaults", None) or {}

    def law_create_job_file_factory(self, **kwargs: Any) -> JobFileFactory:
        return JobFileFactory(**merge_dicts({}, self.law_job_file_factory_defaults(), kwargs))


def law_hooks(name: str) -> dict[str, Any]:
    """law's ``<name>_*`` hooks with their defaults, for the class body of a batch mixin."""

    def output_directory(self: Any) -> Any:
        raise WorkflowError(f"{type(self).__name__} runs on {name} but does not define "
                            f"{name}_output_directory(): return the directory target for "
                            "the job files")

    def none(self: Any, *args: Any, **kwargs: Any) -> Any:
        return None

    def empty_dict(self: Any, *args: Any, **kwargs: Any) -> Any:
        return {}

    def job_config(self: Any, config: Any, job_num: Any, branches: Any) -> Any:
        return config

    def create_job_file_factory(self: Any, **kwargs: Any) -> Any:
        return self.law_create_job_file_factory(**kwargs)

    hooks: dict[str, Any] = {
        "output_directory": output_directory,
        "log_directory": none,
        "workflow_requires": lambda self: DotDict(),
        "job_resources": empty_dict,
        "bootstrap_file": none,
        "wrapper_file": none,
        "job_file": none,
        "stageout_file": none,
        "output_postfix": lambda self: "",
        "job_config": job_config,
        "create_job_file_factory": create_job_file_factory,
        "cmdline_args": empty_dict,
        "destination_info": lambda self, info: info,
        "use_local_scheduler": lambda self: False,
        "check_job_completeness": lambda self: False,
        "check_job_completeness_delay": lambda self: 0.0,
        "dump_intermediate_job_data": lambda self: True,
        "post_submit_delay": lambda self: self.poll_interval * 60,
        "poll_callback": none,
        "post_poll_callback": none,
    }
    body = {f"{name}_{suffix}": fn for suffix, fn in hooks.items()}
    body.update({f"{name}_workflow_run_decorators": None,
                 f"{name}_job_manager_defaults": None,
                 f"{name}_job_file_factory_defaults": None,
                 f"exclude_params_{name}_workflow": set()})
    return body


#: names law-core's job files take in the job directory (and in a transferred job's
#: scratch directory), which law's input files get a prefix to avoid
_RESERVED = {*JOB_FILES, STATUS_DIR, "logs", "inputs"}


def _job_name(key: str, path: str, used: set[str]) -> str:
    """The name of law's input file ``key`` in the job's home: its base name as in law's
    jobs, with characters other than letters, digits and ``._+-`` as ``_``; ``key_NAME``
    where that is taken (law does the same for two files of one name)."""
    name = re.sub(r"[^A-Za-z0-9._+-]", "_", os.path.basename(path)).lstrip("-") or key
    if name in used or name in (".", ".."):
        name = re.sub(r"[^A-Za-z0-9._+-]", "_", f"{key}_{name}")
    base, number = name, 1
    while name in used:
        number += 1
        name = f"{number}_{base}"
    used.add(name)
    return name


def _write_if_changed(path: Any, text: str, mode_of: str | None = None) -> Any:
    """Write ``text`` to ``path`` (with the mode of the file ``mode_of``) unless it holds it
    already: an unchanged file keeps its time stamp, so law-core need not copy it again."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        same = path.read_text() == text
    except (FileNotFoundError, UnicodeDecodeError):
        same = False
    if same:
        if mode_of is not None:
            shutil.copymode(mode_of, path)
        return path
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.unlink(missing_ok=True)
    # private until it has the mode of its source, which may be the user's alone
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
        f.write(text)
    if mode_of is not None:
        shutil.copymode(mode_of, tmp)
    else:
        tmp.chmod(0o644)
    os.replace(tmp, path)
    return path


def pairs(item: Any) -> tuple[str, Any] | tuple[str] | str:
    """A custom_content entry as a (key, value), (key,) or a plain line."""
    if isinstance(item, (list, tuple)):
        if len(item) not in (1, 2):
            raise WorkflowError(f"custom_content entries are (key, value), (key,) or a line, "
                                f"not {item!r}")
        return tuple(str(v).strip() for v in item)  # type: ignore[return-value]
    return str(item).strip()
