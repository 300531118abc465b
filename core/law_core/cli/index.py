"""``law-core index``: record which module defines each task family."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("modules", nargs="*", metavar="MODULE",
                        help="modules to index in addition to those in [modules] of law.cfg")
    parser.add_argument("--verbose", "-v", action="store_true", help="list the indexed tasks")


def run(args: argparse.Namespace) -> int:
    from law_core.errors import TaskError
    from law_core.index import build_index, configured_modules, index_path

    modules = list(dict.fromkeys(configured_modules() + args.modules))
    if not modules:
        raise TaskError("no modules to index: list them under [modules] in law.cfg (one "
                        "module name per line) or pass them as arguments")
    index = build_index(modules)
    if args.verbose:
        for family, entry in index.items():
            print(f"{family}  ({entry['module']}.{entry['class']})")
    print(f"indexed {len(index)} tasks from {len(modules)} module(s) into {index_path()}")
    return 0
