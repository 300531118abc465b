"""``law index``: write law's task index file, which shell completion and ``law run`` read.

The file has law's format, one task per line: ``MODULE:FAMILY:param-a param-b ...``.
Indexed are the task classes of the modules in ``[modules]`` (and ``--modules``) that run
something of their own: not base classes whose ``run`` is the framework's, not names
starting with ``_``, not classes with ``exclude_index = True``.
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib
import os
import sys
import traceback
from typing import Any

import law_core

#: packages of the framework: their classes are not indexed
_FRAMEWORK_PACKAGES = ("luigi", "law", "law_core")
#: packages whose run() is a framework default, not a task's own
_DEFAULT_RUN_PACKAGES = ("luigi", "law_core")


def setup_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--modules", "-m", nargs="+", help="additional modules to traverse")
    parser.add_argument("--no-externals", "-e", action="store_true",
                        help="skip external tasks")
    parser.add_argument("--remove", "-r", action="store_true",
                        help="remove the index file and exit")
    parser.add_argument("--show", "-s", action="store_true",
                        help="print the content of the index file and exit")
    parser.add_argument("--location", "-l", action="store_true",
                        help="print the location of the index file and exit")
    parser.add_argument("--quiet", "-q", action="store_true", help="quiet mode without output")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="verbose output, disables the quiet mode when set")


def _styled(text: str, code: str) -> str:
    """ANSI style on a terminal, plain text otherwise (as law's ``colored``)."""
    return f"\033[{code}m{text}\033[0m" if sys.stdout.isatty() else text


def execute(args: argparse.Namespace) -> int:
    from law.config import Config, _brace_expand, apply_logging, law_core_config

    config = Config.instance()
    law_core_config(config)
    apply_logging(config)
    quiet = args.quiet and not args.verbose
    index_file = config.get_expanded("core", "index_file")
    if args.location:
        print(index_file)
        return 0
    if args.show:
        if not os.path.exists(index_file):
            print(f"index file {index_file} does not exist", file=sys.stderr)
            return 1
        with open(index_file) as f:
            print(f.read())
        return 0
    if args.remove:
        if os.path.exists(index_file):
            os.remove(index_file)
            print(f"removed index file {index_file}")
        return 0

    modules = [m.strip() for m in config.options("modules")] + list(args.modules or [])
    modules = [m for name in modules for m in _brace_expand(name) if m]
    if not quiet:
        print(f"indexing tasks in {len(modules)} module(s)")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    failed = 0
    for name in modules:
        if args.verbose:
            sys.stdout.write(f"loading module '{name}'")
        try:
            importlib.import_module(name)
        except Exception as err:  # the user's module: report it and go on, as law does
            failed += 1
            if args.verbose:
                print(f"\n\nerror in module '{_styled(name, '31')}':")
                traceback.print_exc()
            else:
                print(f"error in module '{_styled(name, '31')}': {err}")
            continue
        if args.verbose:
            print(f", {_styled('done', '1')}")

    classes = indexed_classes(no_externals=args.no_externals)
    by_module: dict[str, list[str]] = {}
    lines = []
    for cls in classes:
        by_module.setdefault(cls.__module__, []).append(cls.get_task_family())
        lines.append(f"{cls.__module__}:{cls.get_task_family()}:{' '.join(task_params(cls))}")
    directory = os.path.dirname(index_file)
    if directory:
        os.makedirs(directory, exist_ok=True)
    tmp = f"{index_file}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write("".join(line + "\n" for line in lines))
    os.replace(tmp, index_file)

    if args.verbose:
        for module, families in by_module.items():
            print(f"\nmodule '{_styled(module, '1')}', {len(families)} task(s):")
            for family in families:
                print(f"    - {_styled(family, '32')}")
        print("")
    if not quiet:
        print(f"written {len(classes)} task(s) to index file '{index_file}'")
    return failed


def _is_framework(cls: type) -> bool:
    return cls.__module__.split(".")[0] in _FRAMEWORK_PACKAGES


def _runs_something(cls: type) -> bool:
    """Whether ``cls`` has a ``run`` that does something: its own, a user base class's,
    or one of law's classes' (``WrapperTask``, ``law.tasks.ForestMerge``, ... have a
    concrete ``run`` in law too); luigi's and law-core's defaults do not count (law's
    ``Task.run`` is abstract)."""
    run = getattr(cls, "run", None)
    if not callable(run) or getattr(run, "__isabstractmethod__", False):
        return False
    for base in cls.__mro__:
        if "run" in vars(base):
            return base.__module__.split(".")[0] not in _DEFAULT_RUN_PACKAGES
    return False


def indexed_classes(no_externals: bool = False) -> list[type]:
    """The task classes law's index lists, breadth first from the base task as law
    walks them; families with '-' (or '_' after the namespace) are skipped with an error,
    since luigi's command line and the completion could not name them."""
    import logging

    log = logging.getLogger("law.cli.index")
    external = law_core.ExternalTask
    found: list[type] = []
    seen: dict[str, type] = {}
    todo = [law_core.Task]
    while todo:
        cls = todo.pop(0)
        todo.extend(cls.__subclasses__())
        # exclude_index holds for the class that sets it, not for its subclasses (law's rule)
        if cls.__name__.startswith("_") or cls.__module__ == "__main__" or \
                vars(cls).get("exclude_index", False) or _is_framework(cls):
            continue
        is_external = issubclass(cls, external)
        if is_external and no_externals:
            continue
        if not is_external and not _runs_something(cls):
            continue
        family = cls.get_task_family()
        if "-" in family:
            log.critical("skipping task %s: its family '%s' contains '-', which luigi's "
                         "command line reads as '_'; rename it", cls, family)
            continue
        if "_" in family.rsplit(".", 1)[-1]:
            log.error("skipping task %s: its family '%s' has '_' after the namespace, which "
                      "shell completion cannot tell from a parameter; rename it", cls, family)
            continue
        if family in seen:
            if seen[family] is not cls:
                log.error("skipping task %s: the family '%s' is already taken by %s (the "
                          "same file imported under two module names?)", cls, family,
                          seen[family])
            continue
        seen[family] = cls
        found.append(cls)
    return found


def task_params(cls: type) -> list[str]:
    """The parameter names of ``cls`` as flags without ``--``, alphabetically, less those
    matching a pattern in ``exclude_params_index``."""
    import luigi

    exclude = getattr(cls, "exclude_params_index", ()) or ()
    names = []
    for attr in dir(cls):
        try:
            member: Any = getattr(cls, attr)
        except Exception:  # a property that needs an instance
            continue
        if isinstance(member, luigi.Parameter) and \
                not any(fnmatch.fnmatch(attr, pattern) for pattern in exclude):
            names.append(attr.replace("_", "-"))
    return names
