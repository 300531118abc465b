"""IPython integration: the line magics ``%law`` and ``%ilaw``.

Load it with ``%load_ext law_core.ipython``, then::

    %law run mymodule.MyTask --n 3     # law-core in a subprocess, its output streamed here
    %ilaw run MyTask --n 3             # law-core in this kernel: finds notebook tasks

``%law`` runs ``python -m law_core ARGS`` with the kernel's interpreter, prints the exit
code when it is not 0 and returns nothing. ``%ilaw`` calls
:func:`law_core.cli.main.main` in the kernel, so tasks defined in the notebook (module
``__main__``) can be run, and returns the exit code; argparse's exits do not end the
kernel. A task of the notebook is named by its family (``MyTask``, or
``__main__.MyTask``): a family defined in the notebook wins over one of the index, since
it is what the notebook just defined (a cell run again redefines it). The arguments are
split like a shell would (:func:`shlex.split`), but no shell runs them.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from typing import Any


def _split(line: str) -> list[str] | None:
    try:
        return shlex.split(line)
    except ValueError as err:  # an unclosed quote
        print(f"law-core: error: cannot split the arguments: {err}", file=sys.stderr)
        return None


def stream(argv: list[str], name: str = "law-core") -> int | None:
    """Run ``argv``, its output streamed into the cell as it comes; its exit code, None
    when the user interrupted it (``name`` says who was)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          bufsize=1, env=env) as process:
        try:
            for output in process.stdout:  # type: ignore[union-attr]
                sys.stdout.write(output)
                sys.stdout.flush()
        except KeyboardInterrupt:
            process.terminate()
            process.wait()
            print(f"{name}: interrupted")
            return None
    return process.returncode


def law(line: str) -> None:
    """``%law ARGS``: run ``law-core ARGS`` in a subprocess, streaming its output."""
    args = _split(line)
    if args is None:
        return
    code = stream([sys.executable, "-m", "law_core", *args])
    if code:
        print(f"law-core exited with code {code}")


def notebook_task(name: str) -> str | None:
    """``__main__.NAME`` for the task class of family ``name`` defined in the notebook
    (the module ``__main__`` of the kernel), None when the notebook defines none. The
    class bound in the notebook's namespace now is the one found, so a class defined
    again by running its cell replaces the earlier one."""
    import luigi

    main = sys.modules.get("__main__")
    if main is None or name.startswith("__main__."):
        return None
    for attr, value in list(vars(main).items()):
        if isinstance(value, type) and issubclass(value, luigi.Task) and \
                value.__module__ == "__main__" and value.get_task_family() == name:
            return f"__main__.{attr}"
    return None


def with_notebook_task(args: list[str]) -> list[str]:
    """``args`` of ``run TASK ...`` with TASK made ``__main__.NAME`` when it is a family
    the notebook defines; anything else as it is."""
    if len(args) >= 2 and args[0] == "run" and not args[1].startswith("-"):
        found = notebook_task(args[1])
        if found is not None:
            return [args[0], found, *args[2:]]
    return args


def ilaw(line: str) -> int:
    """``%ilaw ARGS``: run ``law-core ARGS`` in this process; returns the exit code."""
    from law_core.cli.main import main

    args = _split(line)
    if args is None:
        return 2
    args = with_notebook_task(args)
    try:
        return main(args)
    except SystemExit as exit_:  # argparse: --help, --version, a usage error
        code = exit_.code
        if code is None or isinstance(code, int):
            return code or 0
        print(code, file=sys.stderr)
        return 1


def load_ipython_extension(ipython: Any) -> None:
    ipython.register_magic_function(law, "line", "law")
    ipython.register_magic_function(ilaw, "line", "ilaw")
