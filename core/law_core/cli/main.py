"""``law-core``: the entry point that dispatches to subcommands.

Building the parser imports no backend library and not luigi, so ``law-core --help`` and
``law-core plugins`` answer fast; each subcommand imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from law_core import __version__
from law_core.errors import LawCoreError

#: built-in subcommands: name -> module with ``configure(parser)`` and ``run(args)``
BUILTIN_COMMANDS = {
    "run": ("run a task, or inspect it with --print-status and friends", "law_core.cli.run"),
    "index": ("index the tasks of the modules in [modules], for 'run FAMILY'",
              "law_core.cli.index"),
    "plugins": ("list the installed plugins and what they provide", "law_core.cli.plugins"),
    "config": ("list, get or set config options", "law_core.cli.config"),
    "completion": ("print the shell completion script for bash or zsh",
                   "law_core.cli.completion"),
}


def build_parser() -> argparse.ArgumentParser:
    import importlib

    from law_core.registry import get_registry

    parser = argparse.ArgumentParser(
        prog="law-core",
        description="Large analysis workflows on luigi; backends come from plugins.",
        allow_abbrev=False,  # "--w 5" must never become "--workers 5"
    )
    parser.add_argument("--version", action="version", version=f"law-core {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, module_name) in BUILTIN_COMMANDS.items():
        module = importlib.import_module(module_name)
        sub = subparsers.add_parser(name, help=help_text, description=help_text,
                                    allow_abbrev=False)
        module.configure(sub)
        sub.set_defaults(handler=module.run)
    try:
        commands = get_registry().cli_commands()
    except LawCoreError as err:
        print(f"law-core: warning: plugin commands unavailable: {err}", file=sys.stderr)
        commands = {}
    for name, record in sorted(commands.items()):
        if name in BUILTIN_COMMANDS:
            continue
        sub = subparsers.add_parser(name, help=record.description,
                                    description=record.description, allow_abbrev=False)
        if record.configure is not None:
            record.configure(sub)
        sub.set_defaults(handler=_lazy_handler(record))
    return parser


def _lazy_handler(record):  # noqa: ANN001, ANN202 - a record's run reference, loaded late
    def handler(args: argparse.Namespace) -> int | None:
        return record.load()(args)

    return handler


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``law-core ARGS``; returns the exit code (0: success)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    try:
        return int(args.handler(args) or 0)
    except LawCoreError as err:
        print(f"law-core: error: {err}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into head and the like
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("law-core: interrupted", file=sys.stderr)
        return 130


def console_main() -> None:
    sys.exit(main())
