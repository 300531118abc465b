"""The task index: which module defines each task family, and the task lookup by name.

``law-core index`` imports the modules listed in the config section ``[modules]`` and
writes ``{family: {"module", "class", "params"}}`` to the index file
(``[core] index_file``), so that ``law-core run Family`` finds the module without being
told, and shell completion can offer families and parameters without importing anything.

Only task classes one can run are recorded (:func:`is_indexed`), as law records them:
base classes that share parameters or methods but have no ``run`` of their own would
otherwise fill the completion with families that do nothing. ``law-core run module.Class``
still finds any class.
"""

from __future__ import annotations

import difflib
import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from law_core.errors import TaskError


def index_path() -> Path:
    from law_core.config import get_config

    return Path(get_config().get("core", "index_file", default=".law-core/index.json"))


def configured_modules() -> list[str]:
    from law_core.config import get_config

    return get_config().options("modules")


def read_index(path: Path | None = None) -> dict[str, dict[str, Any]]:
    path = path or index_path()
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as err:
        raise TaskError(f"cannot read the task index {path}: {err}; rebuild it with "
                        "'law-core index'") from err


class _ModuleNotFound(TaskError):
    """The module itself does not exist (as opposed to failing while it is imported)."""


def _import_module(name: str) -> Any:
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name and name.startswith(err.name):
            raise _ModuleNotFound(f"cannot import the module '{name}': it was not found "
                              f"(is it on PYTHONPATH or in the current directory?)") from err
        raise TaskError(f"cannot import the module '{name}': {err}{_where(err)}") from err
    except SyntaxError as err:
        raise TaskError(f"cannot import the module '{name}': {type(err).__name__}: {err.msg} "
                        f"({err.filename}, line {err.lineno})") from err
    except TaskError:
        raise
    except Exception as err:
        raise TaskError(f"cannot import the module '{name}': {type(err).__name__}: "
                        f"{err}{_where(err)}") from err


def _where(err: BaseException) -> str:
    """Where in the user's code an import failed: the innermost frame outside the
    import machinery."""
    import traceback

    frames = [f for f in traceback.extract_tb(err.__traceback__)
              if "importlib" not in f.filename and not f.filename.startswith("<frozen")]
    return f" ({frames[-1].filename}, line {frames[-1].lineno})" if frames else ""


#: packages whose ``run`` is a framework default (luigi's does nothing), not a task's own
FRAMEWORK_PACKAGES = ("luigi", "law_core")


def is_indexed(cls: type, framework: tuple[str, ...] = FRAMEWORK_PACKAGES) -> bool:
    """Whether the index records ``cls``: law's rule. Not when the class itself sets
    ``exclude_index = True`` (subclasses are recorded again), nor when its name starts with
    ``_``, nor when it is abstract (an ``abc.abstractmethod`` left, ``run`` included), nor
    when its ``run`` comes from ``framework`` only (a base class). External tasks, which
    have nothing to run, and wrapper tasks, complete when their requirements are, count
    as concrete."""
    import inspect

    import luigi

    if vars(cls).get("exclude_index", False) or cls.__name__.startswith("_"):
        return False
    run = getattr(cls, "run", None)
    if inspect.isabstract(cls) or getattr(run, "__isabstractmethod__", False):
        return False
    if issubclass(cls, (luigi.ExternalTask, luigi.WrapperTask)):
        return True
    if not callable(run):
        return False
    owner = next((base for base in cls.__mro__ if "run" in vars(base)), None)
    return owner is not None and owner.__module__.split(".")[0] not in framework


def tasks_of_modules(modules: list[str]) -> dict[str, type]:
    """Task classes (by family) defined in ``modules``, which are imported, that the
    index records (:func:`is_indexed`)."""
    import luigi

    for name in modules:
        _import_module(name)
    found: dict[str, type] = {}
    todo = list(luigi.Task.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__ in modules and is_indexed(cls):
            found[cls.get_task_family()] = cls
    return found


def build_index(modules: list[str], path: Path | None = None) -> dict[str, dict[str, Any]]:
    """Index the tasks of ``modules`` and write the index file atomically."""
    path = path or index_path()
    index = {
        family: {
            "module": cls.__module__,
            "class": cls.__name__,
            "params": sorted(name for name, _ in cls.get_params()),
        }
        for family, cls in sorted(tasks_of_modules(modules).items())
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(index, indent=1, sort_keys=True))
    os.replace(tmp, path)
    return index


def find_task_class(name: str) -> type:
    """The task class for ``module.Class`` or for a family in the index."""
    import luigi

    index = read_index()
    if name in index:
        entry = index[name]
        module = _import_module(entry["module"])
        return getattr(module, entry["class"])
    module_name, dot, class_name = name.rpartition(".")
    if dot:
        try:
            module = _import_module(module_name)
        except _ModuleNotFound:
            module = None
        if module is not None:
            cls = getattr(module, class_name, None)
            if isinstance(cls, type) and issubclass(cls, luigi.Task):
                return cls
            raise TaskError(f"module '{module_name}' has no task class '{class_name}'"
                            + _suggest(class_name, _task_names(module)))
    candidates = list(index) + [f"{e['module']}.{e['class']}" for e in index.values()]
    hint = "" if index else (
        "; no task index exists: list your modules under [modules] in law.cfg and run "
        "'law-core index', or give MODULE.CLASS")
    raise TaskError(f"unknown task '{name}'" + _suggest(name, candidates) + hint)


def _task_names(module: Any) -> list[str]:
    import luigi

    return [n for n, v in vars(module).items()
            if isinstance(v, type) and issubclass(v, luigi.Task)]


def _suggest(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(close)}?" if close else ""
