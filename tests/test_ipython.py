"""Tests of the IPython extension: ``%ilaw`` in a real InteractiveShell's process and
``%law`` through a subprocess."""

from __future__ import annotations

import os
import sys
import textwrap

import pytest

from law_core.config import reset_config  # noqa: E402
from law_core.registry import reset_registry  # noqa: E402

TASKS = textwrap.dedent("""
    import law_core as law

    class {name}(law.Task):
        def output(self):
            return self.local_target("hello.txt")

        def run(self):
            self.output().dump("hello")
""")


@pytest.fixture(scope="module")
def shell(tmp_path_factory):
    """A real IPython shell with the extension loaded; it takes over ``__main__`` as in a
    notebook, which is given back afterwards."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    main_module = sys.modules["__main__"]
    ipython_dir = os.environ.get("IPYTHONDIR")
    os.environ["IPYTHONDIR"] = str(tmp_path_factory.mktemp("ipython"))
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    ip = InteractiveShell.instance(config=config)
    ip.run_line_magic("load_ext", "law_core.ipython")
    yield ip
    InteractiveShell.clear_instance()
    sys.modules["__main__"] = main_module
    if ipython_dir is None:
        os.environ.pop("IPYTHONDIR", None)
    else:
        os.environ["IPYTHONDIR"] = ipython_dir


@pytest.fixture
def project(tmp_path, monkeypatch):
    """tmp_path as the current directory (outputs go to tmp_path/data), on sys.path and
    PYTHONPATH, with no user config."""
    for key in list(os.environ):
        if key.startswith("LAW_CORE"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    reset_config()
    reset_registry()
    yield tmp_path
    reset_config()
    reset_registry()


def outputs(path):
    return sorted(p.relative_to(path).as_posix() for p in (path / "data").rglob("*.txt"))


def test_ilaw_runs_a_module_task_in_process(shell, project, capsys):
    (project / "ilaw_tasks.py").write_text(TASKS.format(name="IlawHello"))
    assert shell.run_line_magic("ilaw", "run ilaw_tasks.IlawHello") == 0
    assert outputs(project) == ["data/IlawHello/hello.txt"]
    assert "IlawHello() done" in capsys.readouterr().out
    assert "ilaw_tasks" in sys.modules  # imported here, not in another process


def test_ilaw_runs_a_task_defined_in_the_notebook(shell, project):
    result = shell.run_cell(TASKS.format(name="NotebookHello"))
    assert result.success
    assert shell.user_ns["NotebookHello"].__module__ == "__main__"
    assert shell.run_line_magic("ilaw", "run __main__.NotebookHello") == 0
    assert outputs(project) == ["data/NotebookHello/hello.txt"]


def test_ilaw_returns_exit_codes_and_survives_argparse(shell, project, capsys):
    assert shell.run_line_magic("ilaw", "--version") == 0
    assert "law-core" in capsys.readouterr().out
    assert shell.run_line_magic("ilaw", "run") == 2  # argparse: TASK missing
    assert shell.run_line_magic("ilaw", "run nosuch.Task") == 1  # a law-core error
    assert shell.run_line_magic("ilaw", "run 'unclosed") == 2
    assert "cannot split" in capsys.readouterr().err
    assert shell.run_cell("1 + 1").result == 2  # the shell goes on


def test_law_runs_a_subprocess(shell, project, capsys):
    (project / "law_tasks.py").write_text(TASKS.format(name="Hello"))
    assert shell.run_line_magic("law", "run law_tasks.Hello") is None
    assert outputs(project) == ["data/Hello/hello.txt"]
    out = capsys.readouterr().out
    assert "Hello() done" in out
    assert "exited" not in out
    assert "law_tasks" not in sys.modules  # ran in another process

    assert shell.run_line_magic("law", "run law_tasks.Hello --print-status 0") is None
    assert "existent" in capsys.readouterr().out


def test_law_reports_a_failure_and_runs_no_shell(shell, project, capsys):
    assert shell.run_line_magic("law", "run 'nosuch.Task; touch pwned'") is None
    out = capsys.readouterr().out
    assert "unknown task 'nosuch.Task; touch pwned'" in out
    assert "law-core exited with code 1" in out
    assert not (project / "pwned").exists()


def test_ilaw_finds_notebook_tasks_by_family(shell, project):
    assert shell.run_cell(TASKS.format(name="ByFamily")).success
    assert shell.run_line_magic("ilaw", "run ByFamily") == 0
    assert outputs(project) == ["data/ByFamily/hello.txt"]

    # the cell run again with another output: the class defined last is the one run
    redefined = TASKS.format(name="ByFamily").replace('"hello.txt"', '"again.txt"')
    assert shell.run_cell(redefined).success
    assert shell.run_line_magic("ilaw", "run ByFamily") == 0
    assert outputs(project) == ["data/ByFamily/again.txt", "data/ByFamily/hello.txt"]


def test_ilaw_names_an_unknown_family(shell, project, capsys):
    assert shell.run_line_magic("ilaw", "run NoSuchFamily") == 1
    assert "unknown task 'NoSuchFamily'" in capsys.readouterr().err
