"""``law location [CONTRIB]``: where the law package (law-core-compat) is installed, or
the package that provides a contrib name."""

from __future__ import annotations

import argparse
import os
import sys


def setup_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("contrib", nargs="?", help="a contrib package whose location is "
                        "printed")


def execute(args: argparse.Namespace) -> int:
    import law

    path = os.path.dirname(os.path.abspath(law.__file__))
    if args.contrib:
        from law.contrib import ContribError, provider_location

        try:
            path = provider_location(args.contrib)
        except ContribError as err:
            print(f"law: error: {err}", file=sys.stderr)
            return 1
    print(path)
    return 0
