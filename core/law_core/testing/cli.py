"""Helpers for tests that run ``law-core`` in fresh processes and install throwaway
plugins into real virtual environments; for the core's tests and plugin authors alike."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

#: the user's directories apart from HOME: left out, so that they follow the HOME given
_USER_DIRS = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME")


def clean_env(tmp_home: Path, **extra: str) -> dict[str, str]:
    """The environment of a subprocess that sees no user config and no disabled plugins,
    and keeps what it records (caches, databases) below ``tmp_home``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("LAW_CORE") and k != "PYTHONPATH" and k not in _USER_DIRS}
    env["HOME"] = str(tmp_home)
    env.update(extra)
    return env


def run_cli(args: list[str], cwd: Path, python: str = sys.executable, input: str | None = None,
            **env: str) -> subprocess.CompletedProcess:
    """``law-core ARGS`` in a fresh process, in ``cwd`` (which is also on PYTHONPATH)."""
    return subprocess.run(
        [python, "-m", "law_core", *args], cwd=cwd, capture_output=True, text=True,
        env=clean_env(cwd, PYTHONPATH=str(cwd), **env), input=input, timeout=300,
    )


class PluginVenv:
    """A real, temporary virtual environment that sees this one's packages and into which
    throwaway plugin distributions are pip-installed (real entry points)."""

    def __init__(self, root: Path):
        self.root = root
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")],
                       check=True)
        self.python = str(root / "venv" / "bin" / "python")
        purelib = subprocess.run(
            [self.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True).stdout.strip()
        parent = sysconfig.get_paths()["purelib"]
        Path(purelib, "_law_core_parent.pth").write_text(
            f"import site; site.addsitedir({parent!r})\n")

    def install(self, dist: str, version: str, plugins: dict[str, str], modules: dict[str, str]):
        """Build and install the distribution ``dist`` with entry points ``plugins``
        (name -> module) and the given module sources (dotted name -> code)."""
        src = self.root / "src" / dist
        packages = sorted({m.split(".")[0] for m in modules})
        eps = "\n".join(f'{name} = "{module}"' for name, module in plugins.items())
        (src).mkdir(parents=True)
        (src / "pyproject.toml").write_text(textwrap.dedent(f"""\
            [build-system]
            requires = ["setuptools"]
            build-backend = "setuptools.build_meta"
            [project]
            name = "{dist}"
            version = "{version}"
            [project.entry-points."law_core.plugins"]
            """) + eps + f"\n[tool.setuptools]\npackages = {packages!r}\n")
        for module, code in modules.items():
            path = src.joinpath(*module.split(".")).with_suffix(".py")
            path.parent.mkdir(parents=True, exist_ok=True)
            (path.parent / "__init__.py").touch()
            path.write_text(textwrap.dedent(code))
        subprocess.run(
            [sys.executable, "-m", "pip", "--python", self.python, "install", "--quiet",
             "--no-deps", "--no-build-isolation", str(src)],
            check=True, capture_output=True, text=True)

    def cli(self, args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
        return run_cli(args, cwd, python=self.python, **env)

    def python_code(self, code: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run([self.python, "-c", textwrap.dedent(code)], cwd=cwd,
                              capture_output=True, text=True, env=clean_env(cwd, **env),
                              timeout=120)


def write_module(directory: Path, name: str, code: str) -> Path:
    path = directory / f"{name}.py"
    path.write_text(textwrap.dedent(code))
    return path
