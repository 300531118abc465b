"""``bash::SETUP_SCRIPT``: the environment that sourcing a setup script leaves.

What the script changes is captured once and cached: the variables it sets or changes and
those it unsets, never the calling environment itself. The cache is keyed by the script
(path, size, mtime) and a digest of the calling environment, so a run from a shell with
other values (another ``MY_OUT``, a new token) sources the script again and gets its own
values; the cache files hold only the changes (mode 0600), so no calling variable, and no
secret of the calling shell, is written to disk.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

from law_core.errors import TaskError
from law_core.sandbox.base import Mount, Sandbox, base_environment

#: variables bash itself sets or that change with every command: not part of what a setup
#: script changes, nor of the calling environment's identity
TRANSIENT = frozenset({"SHLVL", "_", "PWD", "OLDPWD"})

#: printed between the environment before and after sourcing, and at the end
_SEPARATOR = "=law-core-sourced="
_END = "=law-core-end="
#: cache files of earlier law-core versions held whole environments
_LEGACY_CACHE = re.compile(r"^bash_[0-9a-f]{40}\.json$")


class EnvironmentChange(dict):
    """What a setup script changes: ``{"set": {NAME: VALUE}, "unset": [NAME, ...]}``."""

    def applied_to(self, environ: dict[str, str]) -> dict[str, str]:
        env = dict(environ)
        env.update(self["set"])
        for name in self["unset"]:
            env.pop(name, None)
        return env


def environment_digest(environ: dict[str, str]) -> str:
    """A digest of an environment, transient variables left out."""
    items = sorted((k, v) for k, v in environ.items() if k not in TRANSIENT)
    return hashlib.sha256(json.dumps(items).encode()).hexdigest()


class BashSandbox(Sandbox):
    """``bash::SETUP_SCRIPT``: the calling environment plus what sourcing the script
    changes, cached in this process and on disk (``[sandbox] cache_dir``, default
    ``~/.cache/law-core/sandboxes``), so a thousand branches source the script once."""

    type = "bash"
    _memory: ClassVar[dict[str, EnvironmentChange]] = {}

    def script(self) -> Path:
        path = Path(os.path.expandvars(os.path.expanduser(self.name))).absolute()
        if not path.is_file():
            raise TaskError(f"the setup script of the sandbox {self.key} does not exist: "
                            f"{path}")
        return path

    def validate(self) -> None:
        self.script()

    def python(self) -> str:
        """``[bash] python`` (e.g. ``python3`` to take the one the script puts on PATH),
        else the interpreter running now: the script adds to this environment."""
        return self.config("python") or sys.executable

    def environment(self) -> dict[str, str]:
        base = base_environment()
        return self.change(base).applied_to(base)

    def change(self, base: dict[str, str]) -> EnvironmentChange:
        """What sourcing the script changes in ``base``, from the cache when it is there."""
        script = self.script()
        stat = script.stat()
        key = hashlib.sha256(json.dumps(
            [str(script), stat.st_size, stat.st_mtime_ns, environment_digest(base)]
        ).encode()).hexdigest()
        if key in self._memory:
            return self._memory[key]
        directory = Path(os.path.expanduser(self.config(
            "cache_dir", "~/.cache/law-core/sandboxes")))
        cache = directory / f"bash-{key}.json"
        try:
            data = json.loads(cache.read_text())
            change = EnvironmentChange(set=dict(data["set"]), unset=list(data["unset"]))
        except (OSError, ValueError, KeyError, TypeError):
            change = self._capture(script, base)
            _write_private(cache, json.dumps(change))
        self._memory[key] = change
        return change

    def _capture(self, script: Path, base: dict[str, str]) -> EnvironmentChange:
        """Source the script in one bash process and compare the environment before and
        after."""
        result = subprocess.run(
            ["bash", "-c", f'env -0; printf "%s\\0" "{_SEPARATOR}"; source "$1" >&2 && '
             f'env -0 && printf "%s\\0" "{_END}"', "law-core-sandbox", str(script)],
            capture_output=True, cwd=script.parent, env=base)
        entries = result.stdout.decode(errors="replace").split("\0")
        if result.returncode != 0 or _SEPARATOR not in entries or _END not in entries:
            why = (f"failed with exit code {result.returncode}" if result.returncode else
                   "ended the shell (a sourced script must not call exit)")
            raise TaskError(
                f"sourcing the setup script of the sandbox {self.key} {why}: "
                f"{result.stderr.decode(errors='replace').strip()[-500:]}")
        at = entries.index(_SEPARATOR)
        before = _variables(entries[:at])
        after = _variables(entries[at + 1:entries.index(_END)])
        return EnvironmentChange(
            set={k: v for k, v in after.items() if before.get(k) != v},
            unset=sorted(k for k in before if k not in after))

    def run(self, command: list[str], env: dict[str, str], mounts: list[Mount],
            cwd: str) -> int:
        return subprocess.run(command, env=env, cwd=cwd).returncode


def _variables(entries: list[str]) -> dict[str, str]:
    env = {}
    for entry in entries:
        name, sep, value = entry.partition("=")
        if sep and name and name not in TRANSIENT and not name.startswith("BASH_FUNC_"):
            env[name] = value
    return env


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` atomically to ``path``, readable by its owner alone from the start,
    and remove what earlier versions cached there (whole environments)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    for old in path.parent.iterdir():
        if _LEGACY_CACHE.match(old.name):
            old.unlink(missing_ok=True)
