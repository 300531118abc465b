"""law's examples/parallel_optimization, run with law 0.1.21 and with law-core-compat.

The example optimizes the Branin function with scikit-optimize: each branch of the
``Optimizer`` workflow asks the optimizer of the previous branch (a pickle) for points,
*yields* an ``Objective`` workflow (a dynamic dependency, with the points as a
ListParameter) and tells the optimizer the results; ``OptimizerPlot`` draws PDFs with
matplotlib. Both sides run the commands of its README (with fewer iterations than the
README's ``--iterations 10 --n-initial-points 10 --n-parallel 4``, which take minutes;
``LAW_COMPAT_README_SIZES=1`` runs those) and must exit alike; then the JSON outputs are
byte-identical, the pickled optimizers hold the same points and values (their bytes differ:
scipy's distributions pickle numpy's global random state, seeded anew in each process),
the convergence and evaluation plots are identical but for their creation dates, and the
objective plots (partial dependences over random points) exist on both sides.

scikit-optimize and matplotlib come from the ``test`` extra of law-core-compat in this
venv; law 0.1.21's venv gets the same versions (so both compute with the same numerics).
"""

from __future__ import annotations

import json
import os
import pickle
import re
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from law_reference import COMPAT_BIN, LAW_VENV, _run_example  # noqa: F401

#: what the example needs beyond law, and what decides its numbers: the law venv gets the
#: versions installed here
PACKAGES = ("scikit-optimize", "matplotlib", "numpy", "scipy", "scikit-learn", "joblib")

ITERATIONS, N_INITIAL, N_PARALLEL = (10, 10, 4) if os.environ.get(
    "LAW_COMPAT_README_SIZES") == "1" else (2, 2, 2)
SIZES = ["--iterations", str(ITERATIONS), "--n-initial-points", str(N_INITIAL),
         "--n-parallel", str(N_PARALLEL)]

#: a PDF's creation date, the one part of matplotlib's PDFs that differs between two runs
_CREATION_DATE = re.compile(rb"/CreationDate \(D:\d{14}Z\)")


@pytest.fixture(scope="module")
def skopt_in_both(law_bin: Path) -> Path:
    """scikit-optimize and matplotlib in both venvs, at this venv's versions in law's."""
    pytest.importorskip("skopt", reason="scikit-optimize is missing here: pip install -e "
                        "'plugins/compat[test]'")
    pins = []
    for name in PACKAGES:
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            pytest.fail(f"{name} is not installed here; pip install -e 'plugins/compat[test]'")
    python = str(LAW_VENV / "bin" / "python")
    check = ("import sys\nfrom importlib.metadata import version\n"
             "sys.exit(any(version(n) != v for n, v in (p.split('==') for p in sys.argv[1:])))")
    if subprocess.run([python, "-c", check, *pins], capture_output=True).returncode:
        result = subprocess.run([python, "-m", "pip", "install", "--quiet",
                                 "--disable-pip-version-check", *pins],
                                capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            pytest.fail(f"cannot install {' '.join(pins)} into {LAW_VENV}:\n{result.stderr}")
    return law_bin


def _import_luigi_util(example: Path) -> None:
    """The example uses ``luigi.util.inherits`` after ``import luigi`` alone, which luigi 2
    allowed and luigi 3 does not (``luigi.util`` is no longer imported with ``luigi``):
    import it, the same in both copies."""
    tasks = example / "tasks.py"
    source = tasks.read_text()
    assert "\nimport luigi\n" in source, "the parallel_optimization example's imports changed"
    tasks.write_text(source.replace("\nimport luigi\n", "\nimport luigi\nimport luigi.util\n", 1))


def _both(tmp_path: Path, source: Path, law_bin: Path, commands: list[list[str]],
          prepare: object = None) -> tuple[Path, Path, list, list]:
    data_vars = {"ANALYSIS_DATA_PATH": "data"}
    law_results, law_example = _run_example(source, tmp_path / "law", law_bin, data_vars,
                                            commands, prepare)
    compat_results, compat_example = _run_example(source, tmp_path / "compat", COMPAT_BIN,
                                                  data_vars, commands, prepare)
    for (command, law_rc, law_out), (_, compat_rc, compat_out) in zip(law_results,
                                                                      compat_results):
        assert compat_rc == law_rc, (
            f"{' '.join(command)}: law exits {law_rc}, law-core-compat {compat_rc}\n"
            f"--- law:\n{law_out}\n--- law-core-compat:\n{compat_out}")
    return law_example, compat_example, law_results, compat_results


def _files(root: Path) -> dict[str, Path]:
    return {str(p.relative_to(root)): p for p in sorted(root.rglob("*")) if p.is_file()}


def test_unmodified_example_fails_alike(tmp_path: Path, law_examples: Path,
                                        skopt_in_both: Path) -> None:
    """As published, with luigi 3, the example's module does not import in either: law
    index exits 1 and names ``luigi.util``, and nothing runs."""
    commands = [["law", "index", "--verbose"],
                ["law", "run", "OptimizerPlot", "--print-status", "-1"]]
    _, compat_example, law_results, compat_results = _both(
        tmp_path, law_examples / "parallel_optimization", skopt_in_both, commands)
    for results in (law_results, compat_results):
        assert [rc for _, rc, _ in results] == [1, 1]
        assert "has no attribute 'util'" in results[0][2]
    assert not (compat_example / "data").exists()


def test_parallel_optimization_example(tmp_path: Path, law_examples: Path,
                                       skopt_in_both: Path) -> None:
    """The README's steps: index, status, the optimization (dynamic dependencies of every
    Optimizer branch), status again; the same points, values and plots on both sides."""
    commands = [
        ["law", "index", "--verbose"],
        ["law", "run", "OptimizerPlot", "--print-status", "-1", *SIZES],
        ["law", "run", "OptimizerPlot", *SIZES],
        ["law", "run", "OptimizerPlot", "--print-status", "-1", *SIZES],
    ]
    law_example, compat_example, law_results, compat_results = _both(
        tmp_path, law_examples / "parallel_optimization", skopt_in_both, commands,
        prepare=_import_luigi_util)
    assert [rc for _, rc, _ in compat_results] == [0, 0, 0, 0], compat_results[2][2]
    for results in (law_results, compat_results):
        index = results[0][2]
        assert "module 'tasks', 3 task(s):" in index
        assert all(f"    - {name}\n" in index
                   for name in ("Optimizer", "OptimizerPlot", "Objective"))
        # the optimization was shown, branch by branch
        assert f"minimum after {ITERATIONS} iterations: " in results[2][2]
    # status before and after: nothing, then every plot of the workflow
    assert f"absent (0/{ITERATIONS})" in law_results[1][2]
    assert f"absent (0/{ITERATIONS})" in compat_results[1][2]
    assert f"existent ({ITERATIONS}/{ITERATIONS})" in law_results[3][2]
    assert f"existent ({ITERATIONS}/{ITERATIONS})" in compat_results[3][2]

    law_files = _files(law_example / "data")
    compat_files = _files(compat_example / "data")
    assert sorted(compat_files) == sorted(law_files)
    objectives = sorted(n for n in law_files if n.startswith("Objective/"))
    optimizers = sorted(n for n in law_files if n.startswith("Optimizer/"))
    plots = sorted(n for n in law_files if n.startswith("OptimizerPlot/"))
    assert len(objectives) == ITERATIONS * N_PARALLEL
    assert optimizers == sorted(f"Optimizer/optimizer_{b}.pkl" for b in range(ITERATIONS))
    fitted = [b for b in range(ITERATIONS) if (b + 1) * N_PARALLEL >= N_INITIAL]
    assert plots == sorted([f"OptimizerPlot/{kind}_{b}.pdf" for b in range(ITERATIONS)
                            for kind in ("convergence", "evaluations")]
                           + [f"OptimizerPlot/objective_{b}.pdf" for b in fitted])

    # the evaluations: byte-identical JSON
    for name in objectives:
        assert compat_files[name].read_bytes() == law_files[name].read_bytes(), name
    evaluated = [json.loads(law_files[n].read_text()) for n in objectives]
    assert all(set(e) == {"x", "y"} and len(e["x"]) == 2 for e in evaluated)

    # the optimizers: the same points asked and values told, branch by branch
    from skopt.benchmarks import branin

    for branch, name in enumerate(f"Optimizer/optimizer_{b}.pkl" for b in range(ITERATIONS)):
        with open(law_files[name], "rb") as f:
            law_opt = pickle.load(f)
        with open(compat_files[name], "rb") as f:
            compat_opt = pickle.load(f)
        assert len(law_opt.Xi) == (branch + 1) * N_PARALLEL
        assert compat_opt.Xi == law_opt.Xi, name
        assert compat_opt.yi == law_opt.yi, name
        assert compat_opt.yi == [branin(x) for x in compat_opt.Xi]
    assert min(compat_opt.yi) == min(e["y"] for e in evaluated)

    # the plots: PDFs, identical but for the creation date; the partial dependence of the
    # objective is averaged over random points (skopt draws them from numpy's global
    # random state), so those differ from run to run, also between two runs of law
    for name in plots:
        law_pdf, compat_pdf = law_files[name].read_bytes(), compat_files[name].read_bytes()
        assert compat_pdf.startswith(b"%PDF-") and _CREATION_DATE.search(compat_pdf), name
        assert compat_pdf.rstrip().endswith(b"%%EOF"), name
        if not name.startswith("OptimizerPlot/objective_"):
            assert _CREATION_DATE.sub(b"", compat_pdf) == _CREATION_DATE.sub(b"", law_pdf), name


def _break_one_objective(example: Path) -> None:
    """luigi.util imported (see above), and the second point of the second iteration
    raises in ``Objective.run``: a dynamic dependency fails."""
    _import_luigi_util(example)
    tasks = example / "tasks.py"
    source = tasks.read_text()
    anchor = "        from skopt.benchmarks import branin\n"
    assert anchor in source, "the parallel_optimization example's Objective changed"
    tasks.write_text(source.replace(anchor, anchor + (
        "        if self.iteration == 1 and self.branch == 1:\n"
        "            raise RuntimeError('objective broken')\n"), 1))


def test_failing_dynamic_dependency(tmp_path: Path, law_examples: Path,
                                    skopt_in_both: Path) -> None:
    """A failing branch of the yielded Objective fails the run alike (law's code 40) and
    leaves the same evaluations and optimizers. (law also plots branch 0, whose optimizer
    exists: law's workflow requires its branches one by one, law-core's the whole Optimizer
    workflow, so compat plots nothing.)"""
    sizes = ["--iterations", "2", "--n-initial-points", "2", "--n-parallel", "2"]
    commands = [["law", "index", "--quiet"], ["law", "run", "OptimizerPlot", *sizes]]
    law_example, compat_example, law_results, compat_results = _both(
        tmp_path, law_examples / "parallel_optimization", skopt_in_both, commands,
        prepare=_break_one_objective)
    assert compat_results[1][1] == law_results[1][1] == 40
    assert "objective broken" in compat_results[1][2]
    assert "dynamic dependencies that run() of Optimizer(branch=1" in compat_results[1][2]
    law_files = _files(law_example / "data")
    compat_files = _files(compat_example / "data")
    kept = sorted(n for n in law_files if not n.startswith("OptimizerPlot/"))
    assert kept == ["Objective/x_0_0.json", "Objective/x_0_1.json", "Objective/x_1_0.json",
                    "Optimizer/optimizer_0.pkl"]
    assert sorted(n for n in compat_files if not n.startswith("OptimizerPlot/")) == kept
    assert set(compat_files) <= set(law_files)
    for name in kept[:3]:
        assert compat_files[name].read_bytes() == law_files[name].read_bytes(), name
