"""The ``law`` command of law-core-compat: law's subcommands on top of law-core.

``law run`` hands the task to ``law-core run`` after translating law's and luigi's options;
``law index``, ``law config``, ``law location``, ``law completion`` and ``law luigid``
print what law prints where scripts and users read it.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: law's subcommands: name -> (module below law.cli, or None when not provided, help)
COMMANDS: dict[str, tuple[str | None, str]] = {
    "run": ("run", "run a task with its parameters (law-core run underneath)"),
    "index": ("index", "write the task index file that shell completion reads"),
    "config": ("config", "print sections, options or values of the law config"),
    "software": (None, "law's software cache (not needed: law-core is installed with pip)"),
    "completion": ("completion", "print the path of the shell completion script"),
    "location": ("location", "print where the law package is installed"),
    "quickstart": (None, "create an example analysis layout"),
    "luigid": ("luigid", "start luigi's central scheduler with the law config"),
}


def build_parser() -> argparse.ArgumentParser:
    from law import __version__

    parser = argparse.ArgumentParser(prog="law", description="The law command line tool "
                                     "(law-core-compat, on top of law-core).")
    parser.add_argument("--version", "-V", action="version", version=__version__)
    subparsers = parser.add_subparsers(dest="command", help="subcommands")
    for name, (module, help_text) in COMMANDS.items():
        sub = subparsers.add_parser(name, prog=f"law {name}", help=help_text,
                                    description=help_text, add_help=name not in ("luigid",))
        if module is not None:
            importlib.import_module(f"law.cli.{module}").setup_parser(sub)
        else:
            sub.add_argument("arguments", nargs="*")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``law ARGS``; returns the exit code."""
    from law_core.errors import LawCoreError

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    command = argv[0] if argv else None
    # run and luigid forward everything after the subcommand (and TASK) untouched
    if command == "run":
        args = parser.parse_args(argv[:2])
        rest = argv[2:]
    elif command == "luigid":
        args = parser.parse_args(argv[:1])
        rest = argv[1:]
    else:
        args = parser.parse_args(argv)
        rest = []
    if not args.command:
        parser.print_help()
        return 0
    module = COMMANDS[args.command][0]
    if module is None:
        print(f"law: error: 'law {args.command}' is not yet supported by law-core-compat",
              file=sys.stderr)
        return 1
    handler = importlib.import_module(f"law.cli.{module}")
    try:
        if args.command in ("run", "luigid"):
            return int(handler.execute(args, rest) or 0)
        return int(handler.execute(args) or 0)
    except LawCoreError as err:
        print(f"law: error: {err}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("law: interrupted", file=sys.stderr)
        return 130
