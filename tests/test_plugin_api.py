"""The plugin API: in-repo plugins use the core only through ``law_core.plugin``.

Everything else of the core is internal and may change (DESIGN.md, "One plugin-facing
import"); this test keeps our own plugins, the models for third-party ones, honest.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: what the entry-point module may import besides law_core.plugin: it is imported at
#: discovery and keeps the cheap imports it has always had (hookimpl and the records)
ENTRY_POINT_ALLOWED = {"law_core.plugin", "law_core.hookspecs", "law_core.records"}
#: law-core-compat's package ``law`` is a user-facing layer, like an analysis: it uses the
#: user API (``law_core``, its errors, the IPython magics users load), the plugin API, and
#: the one entry into the CLI that ``law run`` wraps
COMPAT_ALLOWED = {"law_core", "law_core.errors", "law_core.ipython", "law_core.plugin",
                  "law_core.cli.run"}


def _plugin_dirs() -> list[Path]:
    dirs = [d for d in sorted((REPO / "plugins").iterdir()) if (d / "pyproject.toml").exists()]
    return [*dirs, *(REPO / "examples" / name
                     for name in ("plugin_template", "job_manager_template"))]


def _entry_point_modules(plugin_dir: Path) -> set[str]:
    """The modules named in ``[project.entry-points."law_core.plugins"]`` (read by hand:
    tomllib is not in Python 3.10)."""
    modules, inside = set(), False
    for line in (plugin_dir / "pyproject.toml").read_text().splitlines():
        line = line.strip()
        if line.startswith("["):
            inside = line == '[project.entry-points."law_core.plugins"]'
        elif inside and "=" in line:
            modules.add(line.split("=", 1)[1].strip().strip("\"'"))
    return modules


def _package_modules(plugin_dir: Path) -> list[tuple[str, Path]]:
    """(dotted module name, path) of every module of the plugin's packages."""
    modules = []
    packages = ["law"] if plugin_dir.name == "compat" else ["law_core_*"]
    for package in sorted(p for name in packages for p in plugin_dir.glob(f"{name}/__init__.py")):
        for path in sorted(package.parent.rglob("*.py")):
            rel = path.relative_to(plugin_dir).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            modules.append((".".join(parts), path))
    return modules


def _core_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of a core module (``law_core`` or ``law_core.*``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [(node.lineno, n) for n in names if n == "law_core" or n.startswith("law_core.")]
    return found


PLUGINS = _plugin_dirs()


@pytest.mark.parametrize("plugin_dir", PLUGINS, ids=lambda d: d.name)
def test_plugin_imports_the_core_only_through_law_core_plugin(plugin_dir: Path) -> None:
    entry_points = _entry_point_modules(plugin_dir)
    modules = _package_modules(plugin_dir)
    assert modules, f"no law_core_* package found in {plugin_dir}"
    wrong = []
    for module, path in modules:
        allowed = ENTRY_POINT_ALLOWED if module in entry_points else {"law_core.plugin"}
        if plugin_dir.name == "compat":
            allowed = COMPAT_ALLOWED
        wrong += [f"{path.relative_to(REPO)}:{line}: {name}"
                  for line, name in _core_imports(path) if name not in allowed]
    assert not wrong, "import these from law_core.plugin instead:\n" + "\n".join(wrong)


def test_every_exported_name_exists() -> None:
    import law_core.plugin as api

    missing = [name for name in api.__all__ if not hasattr(api, name)]
    assert not missing
    assert len(set(api.__all__)) == len(api.__all__)


def test_job_submission_error_is_a_workflow_error_at_both_paths() -> None:
    from law_core.errors import JobSubmissionError, WorkflowError
    from law_core.plugin import JobSubmissionError as from_api
    from law_core.workflow.remote import JobSubmissionError as from_remote

    assert from_api is from_remote is JobSubmissionError
    assert issubclass(JobSubmissionError, WorkflowError)


def test_importing_the_plugin_api_is_cheap() -> None:
    """Entry-point modules may use it at discovery: no luigi until a backend is used."""
    code = ("import sys, law_core.plugin\n"
            "print(sorted(m for m in ('luigi', 'law_core.task', 'law_core.workflow.remote')"
            " if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"
