"""``law config [SECTION[.OPTION] [VALUE]]``: law's config, printed as law prints it.

Without a name: the section names; with a section: its option names; with
``SECTION.OPTION``: the value (``--expand`` expands variables). With a value, the option
is written into the config file, keeping the file's other lines (law 0.1.21 refuses to set).
"""

from __future__ import annotations

import argparse
import sys


def setup_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="<section>[.<option>]; empty: print the "
                        "section names; a section: print its options")
    parser.add_argument("value", nargs="?", help="the value to set; empty: print the value")
    parser.add_argument("--remove", "-r", action="store_true", help="remove the option")
    parser.add_argument("--expand", "-e", action="store_true",
                        help="expand variables when getting a value")
    parser.add_argument("--location", "-l", action="store_true",
                        help="print the location of the configuration file and exit")


def execute(args: argparse.Namespace) -> int:
    from law.config import Config

    config = Config.instance()
    if args.location:
        print(config.config_file)
        return 0
    if not args.name:
        print("\n".join(config.sections()))
        return 0
    section, _, option = args.name.partition(".")
    if not option:
        print("\n".join(config.options(section)))
        return 0
    if args.remove:
        print("law: error: removing config options is not supported; edit "
              f"{config.config_file or 'the config file'}", file=sys.stderr)
        return 1
    if args.value:
        return _set(config, section, option, args.value)
    print(config.get_default(section, option, expand_vars=args.expand,
                             expand_user=args.expand))
    return 0


def _set(config, section: str, option: str, value: str) -> int:  # noqa: ANN001
    from pathlib import Path

    import law_core

    path = Path(config.config_file or "law.cfg")
    # law-core's writer keeps every other line of the file, comments included
    law_core.Config(path if path.exists() else None).set(section, option, value, path=path)
    print(f"{section}.{option} = {value}  (written to {path})")
    return 0
