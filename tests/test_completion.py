"""Tests of ``law-core completion``: the hidden helper in real processes, and the bash and
zsh scripts in real shells."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

INDEX = {
    "Hello": {"module": "mymod", "class": "Hello", "params": ["n", "some_thing"]},
    "Other": {"module": "othermod", "class": "Other", "params": []},
    "Evil$(touch pwned)": {"module": "evil", "class": "Evil", "params": []},
}


@pytest.fixture
def project(tmp_path: Path) -> dict[str, str]:
    """A config whose index lists the tasks above; returns the environment to use, with a
    ``law-core`` command on PATH that runs this interpreter."""
    index = tmp_path / "index.json"
    index.write_text(json.dumps(INDEX))
    config = tmp_path / "law.cfg"
    config.write_text(f"[core]\nindex_file = {index}\n\n[target]\nstore = {tmp_path}/data\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "law-core"
    wrapper.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m law_core "$@"\n')
    wrapper.chmod(0o755)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("LAW_CORE") and k != "PYTHONPATH"}
    env.update(HOME=str(tmp_path), LAW_CORE_CONFIG=str(config),
               PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}")
    return env


def helper(env: dict[str, str], *words: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "law_core", "completion", "--complete"],
        input="".join(w + "\n" for w in words), env=env, cwd=env["HOME"],
        capture_output=True, text=True, timeout=60,
    )


def candidates(env: dict[str, str], *words: str) -> list[str]:
    result = helper(env, *words)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout.splitlines()


RUN_OPTIONS = {"--workers", "--local-scheduler", "--scheduler-host", "--scheduler-port",
               "--log-level", "--log-file", "--print-deps", "--print-status", "--print-output",
               "--remove-output", "--fetch-output", "--refresh", "--notify"}


def test_subcommands(project):
    from law_core.cli.main import BUILTIN_COMMANDS
    from law_core.registry import get_registry

    found = candidates(project, "law-core", "")
    assert set(BUILTIN_COMMANDS) <= set(found)
    assert set(get_registry().cli_commands()) <= set(found)
    assert candidates(project, "law-core", "co") == ["completion", "config"]
    assert candidates(project, "law-core", "--") == ["--help", "--version"]


def test_families(project):
    assert candidates(project, "law-core", "run", "") == sorted(INDEX)
    assert candidates(project, "law-core", "run", "H") == ["Hello"]
    assert candidates(project, "law-core", "run", "Nope") == []


def test_params_and_run_options(project):
    flags = set(candidates(project, "law-core", "run", "Hello", "--"))
    assert flags == {"--n", "--some-thing", "--help"} | RUN_OPTIONS
    assert candidates(project, "law-core", "run", "Hello", "--n", "3", "--so") == \
        ["--some-thing"]
    assert candidates(project, "law-core", "run", "mymod.Hello", "--s") == \
        ["--scheduler-host", "--scheduler-port", "--some-thing"]
    # a flag already given is not offered again; a task not in the index: run options
    assert "--n" not in candidates(project, "law-core", "run", "Hello", "--n", "1", "--")
    assert set(candidates(project, "law-core", "run", "x.Y", "--")) == {"--help"} | RUN_OPTIONS
    # no flags where a value goes; the choices of an option with choices
    assert candidates(project, "law-core", "run", "Hello", "--n", "") == []
    assert candidates(project, "law-core", "run", "Hello", "--log-level", "") == \
        ["DEBUG", "ERROR", "INFO", "WARNING"]


def test_config_keys_and_other_commands(project):
    keys = candidates(project, "law-core", "config", "")
    assert {"core.index_file", "target.store"} <= set(keys)
    assert candidates(project, "law-core", "config", "target.s") == ["target.store"]
    assert candidates(project, "law-core", "completion", "") == ["bash", "zsh"]
    assert "--verbose" in candidates(project, "law-core", "index", "--")


def test_errors_print_nothing(project, tmp_path):
    (tmp_path / "index.json").write_text("{broken")
    result = helper(project, "law-core", "run", "")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    (tmp_path / "law.cfg").write_text("no section header\n")
    result = helper(project, "law-core", "config", "")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert helper(project).stdout == ""
    assert helper(project, "law-core", "nosuchcommand", "").stdout == ""


def test_script_without_shell_fails(project):
    result = subprocess.run([sys.executable, "-m", "law_core", "completion"], env=project,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "bash or zsh" in result.stderr


BASH_TEST = r"""
eval "$(law-core completion bash)"
complete -p law-core
COMP_WORDS=("$@")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
_law_core_complete
printf '<%s>\n' "${COMPREPLY[@]}"
"""


def bash_complete(env: dict[str, str], *words: str) -> list[str]:
    result = subprocess.run(["bash", "-c", BASH_TEST, "bash", *words], env=env,
                            cwd=env["HOME"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "complete -o default -F _law_core_complete law-core"
    return [line[1:-1] for line in lines[1:] if line != "<>"]


def test_bash_script(project, tmp_path):
    assert "run" in bash_complete(project, "law-core", "")
    assert bash_complete(project, "law-core", "run", "H") == ["Hello"]
    assert bash_complete(project, "law-core", "run", "Hello", "--so") == ["--some-thing"]
    assert bash_complete(project, "law-core", "config", "target.st") == ["target.store"]
    # candidates and words are taken literally, never expanded or run
    assert bash_complete(project, "law-core", "run", "E") == ["Evil$(touch pwned)"]
    assert bash_complete(project, "law-core", "run", "$(touch pwned2)", "`touch x`") == []
    assert not list(tmp_path.glob("pwned*")) and not (tmp_path / "x").exists()


ZSH_TEST = r"""
compdef() { :; }
compadd() { [[ $1 == -a ]] && printf '<%s>\n' "${(@P)2}"; }
_files() { print FILES; }
eval "$(law-core completion zsh)"
words=("$@")
CURRENT=$#words
_law_core_complete
"""


def test_zsh_script(project, tmp_path):
    def zsh_complete(*words: str) -> list[str]:
        result = subprocess.run(["zsh", "-f", "-c", ZSH_TEST, "zsh", *words], env=project,
                                cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()

    assert zsh_complete("law-core", "run", "Hello", "--so") == ["<--some-thing>"]
    assert zsh_complete("law-core", "run", "") == [f"<{f}>" for f in sorted(INDEX)]
    assert zsh_complete("law-core", "run", "Hello", "--n", "") == ["FILES"]
    assert not list(tmp_path.glob("pwned*"))
