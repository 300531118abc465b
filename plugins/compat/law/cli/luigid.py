"""``law luigid [ARGS]``: luigi's central scheduler, started after the law config has set
luigi's options (``[luigi_scheduler]`` and friends)."""

from __future__ import annotations

import argparse


def setup_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("arguments", nargs="*", help="luigid arguments")


def execute(args: argparse.Namespace, argv: list[str]) -> int:
    from luigi.cmdline import luigid

    from law.config import Config

    Config.instance()  # pushes the [luigi_*] sections into luigi's config
    luigid(argv)
    return 0
