"""The task index: which module defines each task family, and the task lookup by name.

``law-core index`` imports the modules listed in the config section ``[modules]`` and
writes ``{family: {"module", "class", "params"}}`` to the index file
(``[core] index_file``), so that ``law-core run Family`` finds the module without being
told, and shell completion can offer families and parameters without importing anything.
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


def tasks_of_modules(modules: list[str]) -> dict[str, type]:
    """Task classes (by family) defined in ``modules``, which are imported."""
    import luigi

    for name in modules:
        _import_module(name)
    found: dict[str, type] = {}
    todo = list(luigi.Task.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__ in modules:
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
