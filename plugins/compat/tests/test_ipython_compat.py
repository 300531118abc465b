"""law.ipython on law-core-compat: the magics ``%law`` and ``%ilaw``, ``law.ipython.Task``,
law's notebook example run unmodified against law 0.1.21, and docs/notebook-example.md.

Each scenario runs its cells in order in a real IPython ``InteractiveShell`` in a fresh
Python process (:data:`RUNNER`), as a notebook kernel runs them: nbclient and a kernel are
not installed here, and a process of its own keeps the shell's ``__main__``, the law
config and luigi's register out of the test process.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from law_reference import COMPAT_BIN, LAW_VENV, law_venv_with  # noqa: F401

REPO = Path(__file__).resolve().parents[3]

#: runs the code cells of a notebook (.ipynb, or a JSON list of sources) in order in an
#: IPython InteractiveShell and writes per cell: success, the result's repr, the output
RUNNER = textwrap.dedent('''
    import builtins, contextlib, io, json, sys
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    source, out_file = sys.argv[1], sys.argv[2]
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell.instance(config=config)
    prompts = []

    def answer(prompt=""):
        # a user at --remove-output's prompts: interactive mode, yes to everything
        reply = "i" if "mode" in prompt else "y"
        prompts.append(prompt.strip())
        print(prompt + reply)
        return reply

    builtins.input = answer
    with open(source) as f:
        data = json.load(f)
    if isinstance(data, dict):
        sources = ["".join(c["source"]) for c in data["cells"] if c["cell_type"] == "code"]
    else:
        sources = data
    cells = []
    for code in sources:
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            result = shell.run_cell(code)
        error = result.error_in_exec or result.error_before_exec
        cells.append({"source": code, "success": result.success,
                      "result": None if result.result is None else repr(result.result),
                      "error": None if error is None else f"{type(error).__name__}: {error}",
                      "output": buffer.getvalue()})
    with open(out_file, "w") as f:
        json.dump({"cells": cells, "prompts": prompts}, f, indent=1)
''')


def run_cells(workdir: Path, cells: list[str] | Path, bin_dir: Path = COMPAT_BIN,
              env: dict[str, str] | None = None) -> list[dict]:
    """Run ``cells`` (sources, or a notebook file) in a fresh shell with ``workdir`` as the
    current directory and ``$PWD``; the cells' records."""
    workdir.mkdir(parents=True, exist_ok=True)
    runner = workdir / ".runner.py"
    runner.write_text(RUNNER)
    if isinstance(cells, Path):
        source = cells
    else:
        source = workdir / ".cells.json"
        source.write_text(json.dumps(cells))
    out = workdir / ".cells-out.json"
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("LAW_", "LUIGI_", "PYTHON", "VIRTUAL_ENV", "IPYTHON"))}
    base.update({"PATH": f"{bin_dir}{os.pathsep}{base.get('PATH', '')}", "PWD": str(workdir),
                 "HOME": str(workdir), "LAW_HOME": str(workdir / ".law"),
                 "LAW_CONFIG_FILE": str(workdir / "law.cfg"),
                 "IPYTHONDIR": str(workdir / ".ipython"), "PYTHONPATH": str(workdir)})
    base.update(env or {})
    proc = subprocess.run([str(bin_dir / "python"), str(runner), str(source), str(out)],
                          cwd=workdir, env=base, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(out.read_text())["cells"]


def ok(cells: list[dict]) -> list[dict]:
    for cell in cells:
        assert cell["success"], f"{cell['source']}\n--> {cell['error']}\n{cell['output']}"
    return cells


LAW_CFG = "[luigi_core]\nlocal_scheduler: True\nno_lock: True\n"

TASK_CELL = '''
import luigi
import law

class Hello(law.ipython.Task):
    n = luigi.IntParameter(default=1)

    def output(self):
        return law.LocalFileTarget(f"$PWD/data/hello_{self.n}.txt")

    def run(self):
        self.output().dump("hello %d" % self.n, formatter="text")
'''


def test_load_registers_law_and_ilaw_and_ilaw_runs_notebook_tasks_by_family(tmp_path):
    (tmp_path / "law.cfg").write_text(LAW_CFG)
    cells = ok(run_cells(tmp_path, [
        "import law\nlaw.contrib.load('ipython')",
        "sorted(get_ipython().magics_manager.magics['line'])",
        TASK_CELL,
        "%ilaw run Hello --n 2",
        "%ilaw run Hello --n 2 --print-status 0",
        "%ilaw run Hello --n 3 --remove-output 0,a",
        "%ilaw index",
    ]))
    magics = eval(cells[1]["result"])
    assert "law" in magics and "ilaw" in magics
    assert cells[3]["result"] == "True"
    assert (tmp_path / "data" / "hello_2.txt").read_text() == "hello 2"
    assert cells[4]["result"] is None  # interactive: nothing ran, nothing returned
    assert "hello_2.txt" in cells[4]["output"] and "existent" in cells[4]["output"]
    assert cells[5]["result"] is None
    assert not (tmp_path / "data" / "hello_3.txt").exists()


def test_ilaw_reports_failures_and_rejects_unknown_programs(tmp_path):
    (tmp_path / "law.cfg").write_text(LAW_CFG)
    cells = run_cells(tmp_path, [
        "import law\nlaw.contrib.load('ipython')",
        TASK_CELL.replace('self.output().dump("hello %d" % self.n, formatter="text")',
                          'raise RuntimeError("broken on purpose")'),
        "%ilaw run Hello",
        "%ilaw nonsense",
        "%ilaw run NoSuchTask",
        "%ilaw run Hello --help",
        "1 + 1",
    ])
    assert cells[2]["success"] and cells[2]["result"] == "False"
    assert "broken on purpose" in cells[2]["output"]
    assert not cells[3]["success"] and cells[3]["error"].startswith("ValueError")
    assert "'nonsense' is not a valid law cli program" in cells[3]["error"]
    assert cells[4]["result"] == "False" and "NoSuchTask" in cells[4]["output"]
    assert cells[5]["success"]  # argparse's exit does not end the kernel
    assert cells[6]["result"] == "2"


def test_redefined_task_replaces_the_earlier_class(tmp_path):
    (tmp_path / "law.cfg").write_text(LAW_CFG)
    second = TASK_CELL.replace('"hello %d"', '"again %d"')
    cells = ok(run_cells(tmp_path, [
        "import law\nlaw.contrib.load('ipython')",
        TASK_CELL,
        second,
        "import luigi\n"
        "[c for c in luigi.task_register.Register._reg if c.get_task_family() == 'Hello']"
        " == [Hello]",
        "%ilaw run Hello --n 4",
        "Hello(n=4)._repr_html_(color=True)",
        "Hello(n='5').law_run()",
        "Hello(n=5).law_run(n=6)",
    ]))
    assert cells[3]["result"] == "True"  # only the class defined last is registered
    assert (tmp_path / "data" / "hello_4.txt").read_text() == "again 4"
    html = eval(cells[5]["result"])
    assert html == ("<span style='font-family: monospace;'><span style='color: green;'>Hello"
                    "</span>(<span style='color: blue;'>n</span>=4)</span>")
    assert cells[6]["result"] == cells[7]["result"] == "True"
    assert (tmp_path / "data" / "hello_5.txt").read_text() == "again 5"
    assert (tmp_path / "data" / "hello_6.txt").read_text() == "again 6"


def test_law_runs_the_law_command_in_a_subprocess(tmp_path):
    (tmp_path / "law.cfg").write_text(LAW_CFG + "\n[modules]\nmytasks\n")
    (tmp_path / "mytasks.py").write_text(TASK_CELL.replace("law.ipython.Task", "law.Task"))
    cells = ok(run_cells(tmp_path, [
        "import law\nlaw.contrib.load('ipython')",
        # line_cmd runs in the same bash before each %law
        "law.ipython.register_magics(line_cmd='export HELLO_N=7', log_level='DEBUG')",
        "import logging\nlogging.getLogger('law.contrib.ipython.magic').level",
        "%law index --verbose",
        "%law run Hello --n $HELLO_N",  # no shell parses the line: $HELLO_N stays
        "%law run Hello --n 8",
        "import sys\n'mytasks' in sys.modules",
        "%law run 'Hello; touch pwned'",
    ]))
    assert cells[2]["result"] == str(10)
    assert "Hello" in cells[3]["output"]
    assert "law exited with code" in cells[4]["output"]
    assert (tmp_path / "data" / "hello_8.txt").read_text() == "hello 8"
    assert cells[6]["result"] == "False"  # it ran in another process
    assert "law exited with code 1" in cells[7]["output"]
    assert not (tmp_path / "pwned").exists()


def test_register_magics_outside_ipython_says_so(tmp_path):
    script = ("import logging, law\nlogging.basicConfig()\nlaw.contrib.load('ipython')\n"
              "print(law.ipython.register_magics())")
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, env={**os.environ, "LAW_HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"
    assert "no running notebook kernel found" in proc.stderr


# --- law's examples/notebooks/example.ipynb, unmodified, against law 0.1.21 --------------


def _notebook_run(examples: Path, workdir: Path, bin_dir: Path) -> tuple[Path, list]:
    # a copy of the example alone: the notebook puts ../.. on sys.path when that is a
    # checkout of law, which would bring law's own package in
    example = workdir / "notebooks"
    shutil.copytree(examples / "notebooks", example)
    cells = run_cells(example, example / "example.ipynb", bin_dir=bin_dir)
    return example, ok(cells)


def _printed(cells: list[dict]) -> list[str]:
    """What the tasks' run() and the notebook's own code print (not the run's log)."""
    keep = re.compile(r"^(pi for order|approx\.|actual :|relative difference)")
    return [line for cell in cells for line in cell["output"].splitlines()
            if keep.match(line)]


def test_law_notebook_example_unmodified(tmp_path, law_examples, law_bin):
    law_venv_with("IPython", "ipython")
    law_dir, law_cells = _notebook_run(law_examples, tmp_path / "law", law_bin)
    compat_dir, compat_cells = _notebook_run(law_examples, tmp_path / "compat", COMPAT_BIN)
    assert len(law_cells) == len(compat_cells) == 16

    def files(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes()
                for p in sorted((root / "data").rglob("*")) if p.is_file()}

    law_files, compat_files = files(law_dir), files(compat_dir)
    assert len(law_files) == 9  # pi_2, pi_3, pi_5 and term_0 ... term_5
    assert compat_files == law_files

    # the %ilaw lines return what law's return: True after a run, None after an
    # interactive option. law 0.1.21 runs the task in cell 11, a --print-status after
    # --remove-output (the notebook's own recorded output shows the status, as here)
    results = [c["result"] for c in compat_cells[5:]]
    assert results == ["True", None, None, None, None, None, None, "True", "True", "True",
                       None]
    law_results = [c["result"] for c in law_cells[5:]]
    assert law_results[:6] == results[:6] and law_results[7:] == results[7:]

    # the same printed results (law prints order 2 one cell earlier, see above)
    assert _printed(compat_cells) == _printed(law_cells)
    assert "relative difference: 0.000000031%" in compat_cells[-1]["output"]
    # the status cells: the same outputs, existent or absent alike
    for index in (6, 7, 8):
        for name in re.findall(r"(\w+_\d\.json)", law_cells[index]["output"]):
            law_state = re.search(rf"{name}\)\s*\n\s*[│ ]*(\w+)", law_cells[index]["output"])
            compat_state = re.search(rf"{name}: (\w+)", compat_cells[index]["output"])
            assert compat_state and law_state and compat_state[1] == law_state[1], name


# --- docs/notebook-example.md, run cell by cell against the Dropbox stand-in --------------

STANDIN_DIR = REPO / "plugins" / "targets_dropbox" / "tests" / "standin"


def _blocks(markdown: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", markdown, re.S | re.M)


def test_docs_notebook_example_runs(tmp_path):
    import tempfile

    sys.path.insert(0, str(STANDIN_DIR))
    try:
        from dropbox_api_standin import DropboxStandIn, make_certificates
    finally:
        sys.path.remove(str(STANDIN_DIR))
    root = tempfile.mkdtemp(prefix="law-compat-notebook-standin-")
    ca, cert, key = make_certificates(os.path.join(root, "tls"))
    standin = DropboxStandIn(os.path.join(root, "storage"), cert, key)
    standin.start()
    try:
        # the Dropbox folder the config names, made by its owner
        standin.route("files/create_folder_v2", {"path": "/notebook-example"}, None, 0)
        doc = (REPO / "docs" / "notebook-example.md").read_text()
        (config,) = _blocks(doc, "ini")
        (tmp_path / "law.cfg").write_text(config)
        env = {**standin.sdk_environment(), "REQUESTS_CA_BUNDLE": ca,
               "DROPBOX_APP_KEY": standin.app_key, "DROPBOX_APP_SECRET": standin.app_secret,
               "DROPBOX_REFRESH_TOKEN": standin.issue_refresh_token()}
        cells = ok(run_cells(tmp_path, _blocks(doc, "python"), env=env))
    finally:
        standin.close()
        shutil.rmtree(root, ignore_errors=True)
    by_source = {c["source"].strip(): c for c in cells}
    assert by_source["%ilaw run CreateWord --CreateChars-workflow local"]["result"] == "True"
    status = by_source["%ilaw run CreateWord --print-status 1"]
    assert status["result"] is None and "word.npy: existent" in status["output"]
    assert by_source["CreateWord().law_run()"]["result"] == "True"
    assert cells[-2]["output"] == "notebook\n"
    assert cells[-1]["output"] == "(8,)\n"
    assert "magics successfully registered" in cells[0]["output"]
