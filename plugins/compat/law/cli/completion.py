"""``law completion``: the path of the bash/zsh completion script, to be sourced
(``source "$(law completion)" ""``, as law's setup scripts do)."""

from __future__ import annotations

import argparse
import os


def setup_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Print the location of the completion script; source it with "
                          "'source \"$(law completion)\" \"\"'.")


def execute(args: argparse.Namespace) -> int:
    print(os.path.join(os.path.dirname(os.path.abspath(__file__)), "completion.sh"))
    return 0
