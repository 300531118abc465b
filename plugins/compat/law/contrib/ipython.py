"""``law.ipython``: law's notebook API on law-core-compat.

``law.contrib.load("ipython")`` registers the line magics ``%law`` and ``%ilaw`` in the
running IPython kernel (as law does when the package is loaded), and gives
:class:`Task`, a task class for notebooks: a cell that defines it again replaces the
earlier class instead of making luigi's register ambiguous, and it shows as HTML.

- ``%law ARGS`` runs the ``law`` command of law-core-compat in a subprocess with the
  kernel's interpreter, its output streamed into the cell. ``line_cmd`` (a shell command
  of yours) runs before it in the same bash.
- ``%ilaw ARGS`` runs ``law ARGS`` in the kernel, so tasks defined in the notebook can be
  run by their family (``%ilaw run MyTask --n 3``), as in law. ``run`` returns whether the
  task (and what it requires) succeeded, as law's returns luigi's result; with an
  interactive option (``--print-status``, ...) it returns None.

The magics are law-core-compat's own code on the machinery of law-core's
``law_core.ipython`` (which works without compat: ``%load_ext law_core.ipython``).
"""

from __future__ import annotations

import logging
import shlex
import sys
from collections.abc import Callable, Sequence
from typing import Any

import luigi

import law
from law.task import Task as _Task
from law_core.ipython import notebook_task, stream, with_notebook_task

__all__ = ["Task", "register_magics", "create_magics"]

#: law's logger name for the magics ([logging] law.contrib.ipython.magic: INFO)
logger = logging.getLogger("law.contrib.ipython.magic")


class Task(_Task):
    """A law task for notebooks: defined again (its cell run again), it replaces the
    class of the same family; ``_repr_html_`` shows it with law's colors."""

    update_register = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # law: every subclass replaces its family in luigi's register, not only the
        # classes that set the flag themselves
        if "update_register" not in vars(cls):
            cls.update_register = True
        super().__init_subclass__(**kwargs)

    def _repr_html_(self, all_params: bool = False, color: bool | None = None) -> str:
        text = self.repr(all_params=all_params, color=color, html=True)
        return f"<span style='font-family: monospace;'>{text}</span>"

    def _repr_family(self, family: str, color: bool = False, html: bool = False,
                     **kwargs: Any) -> str:
        if html:
            style = " style='color: green;'" if color else ""
            return f"<span{style}>{family}</span>"
        return super()._repr_family(family, color=color)

    def _repr_param(self, name: str, value: Any, color: bool = False, serialize: bool = True,
                    html: bool = False, **kwargs: Any) -> str:
        if not html:
            return super()._repr_param(name, value, color=color, serialize=serialize)
        if serialize:
            param = getattr(type(self), name, None)
            if isinstance(param, luigi.Parameter):
                value = param.serialize(value)
        style = " style='color: blue;'" if color else ""
        return f"<span{style}>{name}</span>={value}"

    def _repr_flag(self, name: str, color: bool = False, html: bool = False,
                   **kwargs: Any) -> str:
        if html:
            style = " style='color: magenta;'" if color else ""
            return f"<span{style}>{name}</span>"
        return super()._repr_flag(name, color=color)

    # running from Python, as law's tasks can

    @classmethod
    def _law_run_inst(cls, inst: Task, _exclude: Any = None, _replace: Any = None,
                      _global: Any = None, _run_kwargs: Any = None) -> bool:
        args = inst.cli_args(exclude=_exclude, replace=_replace)
        argv: list[str] = []
        for key, value in args.items():
            # a value starting with "-" would be read as an option: law prefixes a space
            argv += [key, f" {value}" if value.startswith("-") else value]
        if _global:
            argv += [str(a) for a in law.util.make_list(_global)]
        return bool(_run(["run", _task_name(cls), *argv]))

    @classmethod
    def law_run_inst(cls, _exclude: Any = None, _replace: Any = None, _global: Any = None,
                     _run_kwargs: Any = None, **kwargs: Any) -> bool:
        """Make ``cls(**kwargs)`` and run it as ``law run`` would, in this process."""
        return cls._law_run_inst(cls(**kwargs), _exclude, _replace, _global, _run_kwargs)

    def law_run(self, _exclude: Any = None, _replace: Any = None, _global: Any = None,
                _run_kwargs: Any = None, **kwargs: Any) -> bool:
        """Run this task (with ``kwargs``: ``req(self, **kwargs)``) as ``law run`` would,
        in this process; True when it and its requirements succeeded."""
        inst = self.req(self, **kwargs) if kwargs else self
        return self._law_run_inst(inst, _exclude, _replace, _global, _run_kwargs)


# --- finding tasks of the notebook ------------------------------------------------------


def _task_name(cls: type) -> str:
    """What ``law run`` finds ``cls`` by: ``MODULE.NAME`` (a notebook's by its binding)."""
    if cls.__module__ == "__main__":
        found = notebook_task(cls.get_task_family())
        if found is not None:
            return found
    return f"{cls.__module__}.{cls.__name__}"


_INTERACTIVE = ("--print-status", "--print-deps", "--print-output", "--remove-output",
                "--fetch-output")


def _run(argv: list[str]) -> bool | int | None:
    """``law ARGV`` in this process, with law's results: ``run`` gives whether it
    succeeded (None for an interactive option), other commands None or their error
    code. argparse's exits (``--help``, a usage error) do not end the kernel."""
    from law.cli import main

    argv = with_notebook_task(argv)
    if argv and argv[0] == "run" and "--no-lock" not in argv:
        # in-process runs without luigi's process lock, as law's: the kernel's second run
        # would find the first one's pid (its own) running the same command
        argv = [*argv, "--no-lock"]
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) or exit_.code is None else 1
        code = code or 0
    if argv and argv[0] == "run":
        if any(a.replace("_", "-").split("=")[0] in _INTERACTIVE for a in argv[2:]):
            return None if code == 0 else False
        return code == 0
    return code or None


# --- the magics -------------------------------------------------------------------------


def _shell_command(cmd: str | Sequence[str]) -> str:
    return cmd.strip() if isinstance(cmd, str) else shlex.join(str(c) for c in cmd)


class _CellHandler(logging.StreamHandler):
    """Writes to the ``sys.stdout`` of the moment: the cell that is running."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(levelname)s: %(name)s - %(message)s"))

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def _show_messages() -> None:
    """The magics' messages appear in the cell, at INFO unless a level was set, as
    law's do, when nothing else handles them."""
    if not logger.hasHandlers():
        logger.addHandler(_CellHandler())
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)


def create_magics(init_cmd: str | Sequence[str] | None = None,
                  init_fn: Callable[[], Any] | None = None,
                  line_cmd: str | Sequence[str] | None = None,
                  line_fn: Callable[[str], Any] | None = None,
                  log_level: int | str | None = None) -> type:
    """The IPython Magics class with ``%law`` and ``%ilaw`` (see :func:`register_magics`)."""
    from IPython.core.magic import Magics, line_magic, magics_class

    init = _shell_command(init_cmd) if init_cmd else None
    before = _shell_command(line_cmd) if line_cmd else None
    if isinstance(log_level, str):
        log_level = getattr(logging, log_level.upper(), None)
    if isinstance(log_level, (int, float)):
        logger.setLevel(int(log_level))

    @magics_class
    class LawMagics(Magics):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if init:
                logger.info("running initialization command '%s'", init)
                stream(["bash", "-c", init], "law")
            if callable(init_fn):
                logger.info("calling initialization function '%s'",
                            getattr(init_fn, "__name__", init_fn))
                init_fn()

        @line_magic
        def law(self, line: str) -> None:
            """``%law ARGS``: the ``law`` command in a subprocess (after ``line_cmd`` in
            the same bash, when set), its output in the cell."""
            args = shlex.split(line)
            if not args:
                logger.error("the command passed to %%law must not be empty")
                return
            command = [sys.executable, "-m", "law", *args]
            if before:
                # the user's shell command, then law with arguments that no shell parses
                command = ["bash", "-c", f'{before} && exec "$@"', "bash", *command]
            logger.debug("running law command %s", shlex.join(command))
            code = stream(command, "law")
            if code:
                print(f"law exited with code {code}")

        @line_magic
        def ilaw(self, line: str) -> Any:
            """``%ilaw ARGS``: ``law ARGS`` in this kernel, so that tasks of the notebook
            can be run (by family); ``line_fn(line)`` is called first, when set."""
            args = shlex.split(line)
            if not args:
                logger.error("the command passed to %%ilaw must not be empty")
                return None
            from law.cli import COMMANDS

            if args[0] not in COMMANDS:
                raise ValueError(f"'{args[0]}' is not a valid law cli program; one of "
                                 f"{', '.join(COMMANDS)}")
            if callable(line_fn):
                logger.info("calling line function '%s'", getattr(line_fn, "__name__", line_fn))
                line_fn(line)
            return _run(args)

    return LawMagics


def register_magics(init_cmd: str | Sequence[str] | None = None,
                    init_fn: Callable[[], Any] | None = None,
                    line_cmd: str | Sequence[str] | None = None,
                    line_fn: Callable[[str], Any] | None = None,
                    log_level: int | str | None = None) -> bool:
    """Register ``%law`` and ``%ilaw`` in the running IPython shell; returns whether it
    did (False, with an error logged, outside IPython).

    ``init_cmd`` (a shell command) and ``init_fn`` (a callable) run once, now.
    ``line_cmd`` runs before each ``%law`` in its bash; ``line_fn(line)`` is called before
    each ``%ilaw``. ``log_level`` (a number or a name, ``"DEBUG"``) sets the level of the
    magics' logger, ``law.contrib.ipython.magic``.
    """
    _show_messages()
    shell = _running_shell()
    if shell is None:
        logger.error("no running notebook kernel found; no magics registered")
        return False
    magics = create_magics(init_cmd=init_cmd, init_fn=init_fn, line_cmd=line_cmd,
                           line_fn=line_fn, log_level=log_level)
    shell.register_magics(magics)
    names = [*magics.magics["cell"], *magics.magics["line"]]
    logger.info("magics successfully registered: %s", ", ".join(f"%{n}" for n in names))
    return True


def _running_shell() -> Any:
    if "IPython" not in sys.modules:  # no shell can run without IPython imported
        return None
    from IPython import get_ipython

    return get_ipython()


def _auto_load() -> None:
    """What loading the contrib package does in law: register the magics without
    options, when a shell runs (a script that loads it gets no error)."""
    if _running_shell() is not None:
        register_magics()


_auto_load()
