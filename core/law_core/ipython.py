"""IPython integration: the line magics ``%law`` and ``%ilaw``.

Load it with ``%load_ext law_core.ipython``, then::

    %law run mymodule.MyTask --n 3     # law-core in a subprocess, its output streamed here
    %ilaw run __main__.MyTask --n 3    # law-core in this kernel: finds notebook tasks

``%law`` runs ``python -m law_core ARGS`` with the kernel's interpreter, prints the exit
code when it is not 0 and returns nothing. ``%ilaw`` calls
:func:`law_core.cli.main.main` in the kernel, so tasks defined in the notebook (module
``__main__``) can be run, and returns the exit code; argparse's exits do not end the
kernel. The arguments are split like a shell would (:func:`shlex.split`), but no shell
runs them.
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


def law(line: str) -> None:
    """``%law ARGS``: run ``law-core ARGS`` in a subprocess, streaming its output."""
    args = _split(line)
    if args is None:
        return
    argv = [sys.executable, "-m", "law_core", *args]
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
            print("law-core: interrupted")
            return
    if process.returncode:
        print(f"law-core exited with code {process.returncode}")


def ilaw(line: str) -> int:
    """``%ilaw ARGS``: run ``law-core ARGS`` in this process; returns the exit code."""
    from law_core.cli.main import main

    args = _split(line)
    if args is None:
        return 2
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
