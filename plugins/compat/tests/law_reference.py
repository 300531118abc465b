"""law 0.1.21 beside law-core-compat, for the tests that compare the two: law's examples and a
venv with law 0.1.21 (fixtures, shared through conftest.py), and how an example runs under
each and how their results compare.

law's examples come from law's repository at the tag of 0.1.21 (downloaded once into the
pytest cache, never copied into this repository); law 0.1.21 runs in its own venv
(``benchmarks/setup_law.sh``, ``benchmarks/.venv-law``), law-core-compat in this one. Each
example runs in a fresh copy of its directory with the environment its ``setup.sh`` sets
(without the software it clones). Both runs must exit alike and leave byte-identical output
files.

law's examples are not in its PyPI distributions. Where github.com cannot be reached they
come from ``LAW_EXAMPLES_SOURCE`` (a directory holding law's ``examples/``, a checkout of the
tag) or from a local bare git mirror of riga/law (``LAW_GIT_MIRROR``, by default where this
machine's tool library keeps one), at its newest tag of 0.1.x (these examples are the same
from 0.1.20 on). Without any of them the tests that need them are skipped, saying so: the
examples are the tests' data, not law-core's code.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

LAW_VERSION = "0.1.21"
LAW_TAG = f"v{LAW_VERSION}"
TARBALL_URL = f"https://codeload.github.com/riga/law/tar.gz/refs/tags/{LAW_TAG}"
LAW_GIT_MIRROR = os.environ.get("LAW_GIT_MIRROR", "/work/.mirror/riga+law/repo")
MIRROR_TAGS = (LAW_TAG, "v0.1.20")
REPO = Path(__file__).resolve().parents[3]
COMPAT_BIN = Path(sys.executable).parent
LAW_VENV = REPO / "benchmarks" / ".venv-law"


@pytest.fixture(scope="session")
def law_examples(request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> Path:
    """law's ``examples/`` directory at the tag of 0.1.21."""
    given = os.environ.get("LAW_EXAMPLES_SOURCE")
    if given:
        path = Path(given) / "examples"
        if not path.is_dir():
            pytest.fail(f"LAW_EXAMPLES_SOURCE={given} has no examples/ directory")
        return path
    cache_provider = getattr(request.config, "cache", None)  # absent with -p no:cacheprovider
    cache = Path(cache_provider.mkdir(f"law-{LAW_TAG}")) if cache_provider is not None \
        else tmp_path_factory.mktemp(f"law-{LAW_TAG}")
    done = cache / "complete"
    if not done.exists():
        try:
            with urllib.request.urlopen(TARBALL_URL, timeout=60) as response:
                data, origin = response.read(), TARBALL_URL
        except (urllib.error.URLError, OSError) as err:
            data, origin = _from_mirror()
            if data is None:
                pytest.skip(f"law's examples are not reachable: {TARBALL_URL}: {err}; no git "
                            f"mirror of riga/law at {LAW_GIT_MIRROR} (LAW_GIT_MIRROR); set "
                            f"LAW_EXAMPLES_SOURCE to a checkout of law's {LAW_TAG}")
        shutil.rmtree(cache / "src", ignore_errors=True)
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            members = [m for m in tar.getmembers() if "/examples/" in m.name + "/"
                       and (m.isfile() or m.isdir())]
            if hasattr(tarfile, "data_filter"):  # no links out of the directory, no devices
                tar.extractall(cache / "src", members=members, filter="data")
            else:
                tar.extractall(cache / "src", members=members)
        done.write_text(origin + "\n")
    roots = sorted((cache / "src").iterdir())
    if len(roots) != 1 or not (roots[0] / "examples").is_dir():
        pytest.fail(f"unexpected content of the law tarball in {cache}; remove it")
    return roots[0] / "examples"


def _from_mirror() -> tuple[bytes | None, str]:
    """A gzipped tarball of law's examples from the local git mirror, at the first of
    MIRROR_TAGS it has (``git archive`` prefixes the files with ``law/``)."""
    if not Path(LAW_GIT_MIRROR).is_dir():
        return None, ""
    for tag in MIRROR_TAGS:
        result = subprocess.run(
            ["git", f"--git-dir={LAW_GIT_MIRROR}", "archive", "--format=tar.gz",
             "--prefix=law/", tag, "examples"], capture_output=True)
        if result.returncode == 0:
            return result.stdout, f"{LAW_GIT_MIRROR}@{tag}"
    return None, ""


@pytest.fixture(scope="session")
def law_bin() -> Path:
    """The bin directory of a venv with law 0.1.21 (created by benchmarks/setup_law.sh)."""
    result = subprocess.run(["bash", str(REPO / "benchmarks" / "setup_law.sh"),
                             str(LAW_VENV)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"benchmarks/setup_law.sh failed:\n{result.stdout}\n{result.stderr}")
    return LAW_VENV / "bin"


def law_venv_with(module: str, requirement: str) -> None:
    """Make ``module`` importable in law 0.1.21's venv (some examples need more than law),
    installing ``requirement`` with pip when it is not."""
    python = str(LAW_VENV / "bin" / "python")
    if subprocess.run([python, "-c", f"import {module}"], capture_output=True).returncode:
        result = subprocess.run([python, "-m", "pip", "install", "--quiet",
                                 "--disable-pip-version-check", requirement],
                                capture_output=True, text=True)
        if result.returncode != 0:
            pytest.fail(f"cannot install {requirement} into {LAW_VENV}:\n{result.stderr}")


def _env(bin_dir: Path, example: Path, data_vars: dict[str, str]) -> dict[str, str]:
    """The environment of the example's setup.sh, with ``bin_dir`` first on PATH; nothing of
    this test's own environment says where law comes from."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LAW_", "LUIGI_", "PYTHON", "VIRTUAL_ENV"))}
    env.update({
        "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        "PYTHONPATH": str(example),
        "LAW_HOME": str(example / ".law"),
        "LAW_CONFIG_FILE": str(example / "law.cfg"),
    })
    env.update({name: str(example / rel) for name, rel in data_vars.items()})
    return env


def _run_example(source: Path, workdir: Path, bin_dir: Path, data_vars: dict[str, str],
                 commands: list[list[str]], prepare: Callable[[Path], None] | None = None,
                 extra_env: dict[str, str] | None = None,
                 ) -> tuple[list[tuple[list[str], int, str]], Path]:
    example = workdir / source.name
    shutil.copytree(source, example)
    if prepare is not None:
        prepare(example)
    env = {**_env(bin_dir, example, data_vars), **(extra_env or {})}
    # each side sees its own law only: law 0.1.21 without law-core, or law-core-compat
    which = subprocess.run(
        ["python", "-c", "import law, importlib.util as u; "
         "print(law.__file__, u.find_spec('law_core') is not None)"],
        env=env, cwd=example, capture_output=True, text=True, check=True).stdout.split()
    is_reference = bin_dir.parent == LAW_VENV
    assert which[0].startswith(str(LAW_VENV)) == is_reference, f"law from {which[0]}"
    assert which[1] == str(not is_reference), f"law_core importable: {which[1]}"
    results = []
    for command in commands:
        proc = subprocess.run(command, env=env, cwd=example, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=300)
        results.append((command, proc.returncode, proc.stdout + proc.stderr))
    return results, example


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _compare(law_example: Path, compat_example: Path, data_dir: str,
             law_results: list, compat_results: list) -> None:
    for (command, law_rc, law_out), (_, compat_rc, compat_out) in zip(law_results,
                                                                      compat_results):
        assert compat_rc == law_rc, (
            f"{' '.join(command)}: law exits {law_rc}, law-core-compat {compat_rc}\n"
            f"--- law:\n{law_out}\n--- law-core-compat:\n{compat_out}")
    law_files = _files(law_example / data_dir)
    compat_files = _files(compat_example / data_dir)
    assert sorted(compat_files) == sorted(law_files)
    for name, content in law_files.items():
        assert compat_files[name] == content, f"{data_dir}/{name} differs"


def _index_families(example: Path) -> list[tuple[str, str]]:
    lines = (example / ".law" / "index").read_text().splitlines()
    return [tuple(line.split(":", 2)[:2]) for line in lines]


def _both(tmp_path: Path, source: Path, law_bin: Path, data_vars: dict[str, str],
          commands: list[list[str]], data_dir: str = "data",
          prepare: Callable[[Path], None] | None = None,
          extra_env: dict[str, str] | None = None) -> tuple[Path, Path, list, list]:
    law_results, law_example = _run_example(source, tmp_path / "law", law_bin, data_vars,
                                            commands, prepare, extra_env)
    compat_results, compat_example = _run_example(source, tmp_path / "compat", COMPAT_BIN,
                                                  data_vars, commands, prepare, extra_env)
    _compare(law_example, compat_example, data_dir, law_results, compat_results)
    return law_example, compat_example, law_results, compat_results
