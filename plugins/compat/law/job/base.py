"""law's job-file vocabulary: :class:`JobInputFile`, the job config that
``<name>_job_config(config, job_num, branches)`` fills, and the rendering of ``{{variables}}``.

law-core writes its own job files (the job wrapper, ``task.json``, the batch system's
script); what a law workflow adds through these names is translated by
:mod:`law.job.workflow`: ``custom_content`` becomes batch-system options, input files are
copied (and rendered) into the job directory and from there into each job's working
directory, ``render_variables`` fill the ``{{name}}`` placeholders of rendered files.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
from typing import Any

from law_core.errors import WorkflowError

__all__ = ["JobInputFile", "BaseJobFileFactory", "JobFileFactory", "render_text"]

logger = logging.getLogger("law.job")

#: ``{{name}}`` placeholders of rendered files
RENDER_KEY = re.compile(r"\{\{(\w+)\}\}")


def _first(value: bool | None, default: bool) -> bool:
    return default if value is None else value


class JobInputFile:
    """A file a job needs, with how it travels: ``copy`` (into the job directory),
    ``share`` (one copy for all jobs), ``forward`` (used where it is, by its absolute
    path), ``postfix`` (a per-job name; law-core makes one copy per submission),
    ``render_local``/``render_job`` (``{{variables}}`` filled; law-core fills them when it
    copies the file, before any job starts), ``render`` (shorthand for ``render_local``).

    Unset flags follow from the set ones as in law: a shared, forwarded or
    not-copied file is not rendered locally unless asked; a rendered or postfixed file is
    copied."""

    def __init__(self, path: Any, copy: bool | None = None, share: bool | None = None,
                 forward: bool | None = None, increment: bool | None = None,
                 postfix: bool | None = None, render: bool | None = None,
                 render_local: bool | None = None, render_job: bool | None = None) -> None:
        if isinstance(path, JobInputFile):
            copy, share, forward = path.copy, path.share, path.forward
            increment, postfix = path.increment, path.postfix
            render_local, render_job = path.render_local, path.render_job
            path = path.path
        if render is not None and render_local is None and render_job is None:
            render_local, render_job = bool(render), False
        # what one flag implies for the unset others (law's rules)
        if copy is not None and not copy:
            share, postfix = _first(share, False), _first(postfix, False)
            render_local = _first(render_local, False)
        if share:
            copy, forward = _first(copy, True), _first(forward, False)
            render_local, postfix = _first(render_local, False), _first(postfix, False)
        if forward:
            copy, share = _first(copy, False), _first(share, False)
            render_local, postfix = _first(render_local, False), _first(postfix, False)
        if postfix:
            copy, share, forward = _first(copy, True), _first(share, False), _first(forward, False)
        if render_local:
            copy, share = _first(copy, True), _first(share, False)
            forward, render_job = _first(forward, False), _first(render_job, False)
        if render_job:
            forward, render_local = _first(forward, False), _first(render_local, False)
        text = str(getattr(path, "path", path))
        if "://" in text and not text.startswith("file://"):
            raise WorkflowError(f"JobInputFile({text!r}): law-core-compat copies job input files "
                                "from this machine only; give a local path")
        self.path = os.path.abspath(os.path.expandvars(os.path.expanduser(
            text.removeprefix("file://"))))
        self.copy = _first(copy, True)
        self.share = _first(share, False)
        self.forward = _first(forward, False)
        self.increment = _first(increment, False)
        self.postfix = _first(postfix, True)
        self.render_local = _first(render_local, True)
        self.render_job = _first(render_job, False)

    @property
    def render(self) -> bool:
        """Whether ``{{variables}}`` are filled in (locally or in the job: law-core does
        both when it copies the file)."""
        return self.render_local or self.render_job

    @property
    def is_remote(self) -> bool:
        return False

    def __str__(self) -> str:
        return self.path

    def __repr__(self) -> str:
        flags = ", ".join(f"{name}={getattr(self, name)}" for name in (
            "copy", "share", "forward", "increment", "postfix", "render_local", "render_job"))
        return f"JobInputFile({self.path!r}, {flags})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, JobInputFile):
            return self.path == other.path
        return self.path == str(other)

    def __hash__(self) -> int:
        return hash(self.path)


def linearize(variables: dict[str, Any]) -> dict[str, str]:
    """Render variables whose values name other variables (``"Hi {{name}}"``) resolved,
    plus ``render_variables``: all of them as base64-encoded JSON (as law's jobs get them)."""
    flat: dict[str, str] = {}
    for key, value in variables.items():
        if not isinstance(value, str):
            raise WorkflowError(f"render variable {key!r} must be a string, not "
                                f"{type(value).__name__} ({value!r})")
        for _ in range(100):  # variables referring to each other in a loop stop here
            match = RENDER_KEY.search(value)
            if not match:
                break
            inner = variables.get(match[1], "")
            value = value.replace(match[0], inner if isinstance(inner, str) else str(inner))
        flat[key] = value
    flat["render_variables"] = base64.b64encode(json.dumps(flat).encode()).decode()
    return flat


def render_text(text: str, variables: dict[str, str]) -> str:
    """``{{name}}`` replaced by its value; placeholders without a value become empty."""
    return RENDER_KEY.sub(lambda m: str(variables.get(m[1], "")), text)


class BaseJobFileFactory:
    """What law's job file factories give a workflow's ``<name>_job_config`` hook: a
    :class:`Config` to fill. law-core writes the job files itself, so the factory keeps
    only its defaults (``<name>_job_file_factory_defaults`` and keyword arguments) and the
    rendering helpers."""

    class Config:
        """Attributes set freely (``config.custom_content``, ``config["x"] = ...``)."""

        def __init__(self, **values: Any) -> None:
            self.__dict__.update(values)

        def __repr__(self) -> str:
            return repr(self.__dict__)

        def __getattr__(self, attr: str) -> Any:
            try:
                return self.__dict__[attr]
            except KeyError:
                raise AttributeError(attr) from None

        def __getitem__(self, attr: str) -> Any:
            return self.__dict__[attr]

        def __setitem__(self, attr: str, value: Any) -> None:
            self.__dict__[attr] = value

        def __contains__(self, attr: str) -> bool:
            return attr in self.__dict__

    render_key_cre = RENDER_KEY

    def __init__(self, **defaults: Any) -> None:
        self.defaults = dict(defaults)
        self.dir = defaults.get("dir")
        self.render_variables = dict(defaults.get("render_variables") or {})
        self.custom_log_file = defaults.get("custom_log_file")

    def get_config(self, **kwargs: Any) -> BaseJobFileFactory.Config:
        values = {**self.defaults, **kwargs}
        values["render_variables"] = {**self.render_variables,
                                      **(values.get("render_variables") or {})}
        return self.Config(**values)

    @classmethod
    def render_string(cls, s: str, key: str, value: Any) -> str:
        return s.replace("{{" + key + "}}", str(value))

    @classmethod
    def linearize_render_variables(cls, render_variables: dict[str, Any]) -> dict[str, str]:
        return linearize(render_variables)

    @classmethod
    def render_file(cls, src: str, dst: str, render_variables: dict[str, str],
                    postfix: Any = None, silent: bool = True) -> None:
        """Copy ``src`` to ``dst`` with its ``{{variables}}`` filled."""
        try:
            with open(src) as f:
                text = f.read()
        except UnicodeDecodeError:
            if silent:
                return
            raise
        with open(dst, "w") as f:
            f.write(render_text(text, render_variables))

    @classmethod
    def postfix_file(cls, path: str, postfix: str | None = None, add_hash: bool = False) -> str:
        """``/a/file.tar.gz`` with postfix ``_1`` -> ``/a/file_1.tar.gz``."""
        if not postfix:
            return str(path)
        dirname, basename = os.path.split(str(path))
        head, dot, tail = basename.partition(".")
        return os.path.join(dirname, head + postfix + dot + tail)


class JobFileFactory(BaseJobFileFactory):
    """The factory ``<name>_create_job_file_factory()`` returns in law-core-compat."""
