"""Every sandbox a run may use, checked before anything runs (like ``--workflow``): a
mistyped type or a malformed spec must not wait until every upstream task has run."""

from __future__ import annotations

from typing import Any

from law_core.errors import ConfigError, LawCoreError, TaskError

#: options of ``[sandbox]`` that are settings; every other option names a task family
SANDBOX_OPTIONS = frozenset({"forward_env", "mounts", "stage_dir", "cache_dir", "python"})


def validate_sandboxes(task: Any = None, every_task: bool = True) -> None:
    """Check the sandbox of ``task`` (``--sandbox`` or its config entry), every
    ``[sandbox] FAMILY = TYPE::NAME`` entry of the config and the class default
    ``sandbox`` of every imported :class:`SandboxTask` subclass: the type is installed,
    the spec is ``TYPE::NAME`` and the sandbox's own cheap :meth:`Sandbox.validate` passes
    (a script or venv exists, an image name is well-formed). The dependency tree is not
    walked, so this costs the same for ten tasks and for half a million.

    ``every_task=False`` checks ``task``'s own sandbox alone: a job runs only its task,
    on a node that need not have the scripts and images of the run's other tasks."""
    from law_core.config import get_config
    from law_core.sandbox.task import SandboxTask

    checked: set[str] = set()
    if isinstance(task, SandboxTask):
        _check(task.sandbox_key(), f"the sandbox of {task!r}", TaskError, checked)
    if not every_task:
        return

    config = get_config()
    for option in config.options("sandbox"):
        if option in SANDBOX_OPTIONS:
            continue
        value = config.get("sandbox", option, default="").strip()
        if "::" in value or option[:1].isupper() or _is_family(option):
            _check(value, f"[sandbox] {option} = {value!r} ({config.origin('sandbox', option)})",
                   ConfigError, checked)

    todo = list(SandboxTask.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        default = _class_default(cls)
        if default:
            _check(default, f"the sandbox of the class {cls.__module__}.{cls.__qualname__}",
                   TaskError, checked)


def _check(key: str, where: str, error: type[LawCoreError], checked: set[str]) -> None:
    from law_core.sandbox.base import sandbox_of

    if not key or key in checked:
        return
    try:
        sandbox_of(key).validate()
    except LawCoreError as err:
        raise error(f"{where}: {err}") from None
    checked.add(key)


def _class_default(cls: type) -> str:
    """``sandbox = "TYPE::NAME"`` of the class, or its parameter's default."""
    import luigi

    value = getattr(cls, "sandbox", "")
    if isinstance(value, luigi.Parameter):
        value = getattr(value, "_default", "")
    return value if isinstance(value, str) else ""


def _is_family(name: str) -> bool:
    import luigi

    return name in luigi.task_register.Register._get_reg()
