"""``law-core completion bash|zsh``: print a shell completion script.

Use it with ``eval "$(law-core completion bash)"`` (or ``zsh``), e.g. in ``~/.bashrc``.
The script gives the words of the command line, up to the one being completed, to the
hidden helper ``law-core completion --complete`` on standard input, one per line (not as
arguments: argparse would take the word ``--``, typed to complete flags, for its end of
options), and offers the lines it prints: subcommands (plugin commands included), task
families from the task index, the ``--param`` flags of an indexed task and the run
options, and the ``SECTION.OPTION`` keys of the config. The helper imports no task
module, and on any error prints nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys

# Both scripts are fixed text: they print the words, quoted, to the helper's input and
# add its lines as they are, without eval or compgen -W (which would expand them).
BASH_SCRIPT = r"""
_law_core_complete() {
    local line
    COMPREPLY=()
    while IFS= read -r line; do
        COMPREPLY+=("$line")
    done < <(printf '%s\n' "${COMP_WORDS[@]:0:COMP_CWORD+1}" |
             command law-core completion --complete 2>/dev/null)
}
complete -o default -F _law_core_complete law-core
"""

ZSH_SCRIPT = r"""
_law_core_complete() {
    local -a candidates
    candidates=(${(f)"$(printf '%s\n' "${(@)words[1,CURRENT]}" |
                        command law-core completion --complete 2>/dev/null)"})
    if (( ${#candidates} )); then
        compadd -a candidates
    else
        _files
    fi
}
(( $+functions[compdef] )) || { autoload -Uz compinit && compinit; }
compdef _law_core_complete law-core
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shell", nargs="?", choices=("bash", "zsh"))
    parser.add_argument("--complete", action="store_true", help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    if args.complete:
        try:
            with contextlib.redirect_stderr(io.StringIO()):
                candidates = complete(sys.stdin.read().split("\n")[:-1])
            if candidates:
                print("\n".join(candidates))
        except BaseException:  # noqa: B036 - completion stays silent, whatever happens
            pass
        return 0
    if args.shell is None:
        print("law-core completion: give the shell: bash or zsh, as in\n"
              '  eval "$(law-core completion bash)"', file=sys.stderr)
        return 2
    print((BASH_SCRIPT if args.shell == "bash" else ZSH_SCRIPT).strip())
    return 0


def _flags(parser: argparse.ArgumentParser) -> list[str]:
    """The visible long options of ``parser``."""
    return [s for a in parser._actions if a.help != argparse.SUPPRESS
            for s in a.option_strings if s.startswith("--")]


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def complete(words: list[str]) -> list[str]:
    """Candidates for the last of ``words`` (the command line: program, arguments, and
    the word being completed, maybe empty), sorted and filtered by that word."""
    from law_core.cli.main import build_parser

    if not words:
        return []
    *before, current = words[1:] or [""]
    parser = build_parser()
    commands = _subcommands(parser)
    positional = [w for w in before if not w.startswith("-")]
    if not positional:
        found = _flags(parser) if current.startswith("-") else list(commands)
    else:
        command, rest = positional[0], before[before.index(positional[0]) + 1:]
        sub = commands.get(command)
        if sub is None:
            return []
        found = _complete_command(command, sub, rest, current)
    return sorted({c for c in found if c.startswith(current)})


def _complete_command(command: str, sub: argparse.ArgumentParser, rest: list[str],
                      current: str) -> list[str]:
    positional = [w for w in rest if not w.startswith("-")]
    if rest and not current.startswith("-"):  # the value of an option with choices
        action = sub._option_string_actions.get(rest[-1])
        if action is not None and action.choices:
            return list(action.choices)
    if command == "run":
        from law_core.index import read_index  # the index, not the task modules

        if not positional:
            return _flags(sub) if current.startswith("-") else list(read_index())
        if not current.startswith("-"):
            return []
        index = read_index()
        entry = index.get(positional[0]) or next(
            (e for e in index.values()
             if f"{e.get('module')}.{e.get('class')}" == positional[0]), {})
        params = ["--" + p.replace("_", "-") for p in entry.get("params", [])]
        return [f for f in params + _flags(sub) if f not in rest]
    if current.startswith("-"):
        return _flags(sub)
    if command == "config" and not positional:
        from law_core.config import get_config

        config = get_config()
        return [f"{s}.{o}" for s in config.sections() for o in config.options(s)]
    if command == "completion" and not positional:
        return ["bash", "zsh"]
    return []

