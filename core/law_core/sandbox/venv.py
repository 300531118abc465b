"""``venv::PATH``: a Python virtual environment (with law-core installed in it)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from law_core.errors import TaskError
from law_core.sandbox.base import Mount, Sandbox, base_environment


class VenvSandbox(Sandbox):
    """``venv::PATH``: the calling environment with the venv activated."""

    type = "venv"

    def path(self) -> Path:
        path = Path(os.path.expandvars(os.path.expanduser(self.name))).absolute()
        if not (path / "bin" / "python").exists():
            raise TaskError(f"the sandbox {self.key} is not a virtual environment: "
                            f"{path / 'bin' / 'python'} does not exist")
        return path

    def validate(self) -> None:
        self.path()

    def python(self) -> str:
        return str(self.path() / "bin" / "python")

    def environment(self) -> dict[str, str]:
        path = self.path()
        env = base_environment()
        env.pop("PYTHONHOME", None)
        env["VIRTUAL_ENV"] = str(path)
        env["PATH"] = f"{path / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        return env

    def run(self, command: list[str], env: dict[str, str], mounts: list[Mount],
            cwd: str) -> int:
        return subprocess.run(command, env=env, cwd=cwd).returncode
