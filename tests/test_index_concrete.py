"""``law-core index`` records the task families one can run, not the base classes they
share code through (law's rule): completion and ``law-core run FAMILY`` offer only those."""

from __future__ import annotations

import json

import pytest

from law_core.testing.cli import run_cli, write_module

TASKS = """
    import abc

    import luigi
    import law_core as law


    class AnalysisTask(law.Task):
        version = luigi.Parameter(default="v1")


    class Selection(AnalysisTask):
        def output(self):
            return self.local_target("sel.txt")

        def run(self):
            self.output().dump("sel")


    class PlotBase(AnalysisTask):
        @abc.abstractmethod
        def plot(self):
            ...

        def run(self):
            self.plot()


    class Plot(PlotBase):
        def output(self):
            return self.local_target("plot.txt")

        def plot(self):
            self.output().dump("plot")


    class Hidden(Selection):
        exclude_index = True


    class ShownAgain(Hidden):
        pass


    class _Private(Selection):
        pass


    class Raw(law.ExternalTask):
        def output(self):
            return self.local_target("raw.txt")


    class All(law.WrapperTask):
        def requires(self):
            return [Selection.req(self), Plot.req(self)]


    class BranchBase(law.LocalWorkflow):
        def create_branch_map(self):
            return [1, 2]


    class Branches(BranchBase):
        def output(self):
            return self.local_target(f"b{self.branch}.txt")

        def run(self):
            self.output().dump(str(self.branch_data))
"""


@pytest.fixture
def ana(tmp_path):
    write_module(tmp_path, "ana", TASKS)
    (tmp_path / "law.cfg").write_text("[modules]\nana\n[core]\nindex_file = index.json\n")
    return tmp_path


def test_index_records_concrete_families_only(ana):
    result = run_cli(["index"], ana)
    assert result.returncode == 0, result.stderr
    index = json.loads((ana / "index.json").read_text())
    assert sorted(index) == ["All", "Branches", "Plot", "Raw", "Selection", "ShownAgain"]
    assert "version" in index["Selection"]["params"]
    assert "indexed 6 tasks" in result.stdout


def test_a_base_class_not_indexed_still_runs_by_module_and_class(ana):
    assert run_cli(["index"], ana).returncode == 0
    unknown = run_cli(["run", "AnalysisTask"], ana)
    assert unknown.returncode != 0 and "unknown task 'AnalysisTask'" in unknown.stderr
    hidden = run_cli(["run", "ana.Hidden"], ana)
    assert hidden.returncode == 0, hidden.stderr
    assert (ana / "data" / "Hidden" / "sel.txt").read_text() == "sel"


def test_is_indexed_rule():
    import abc

    import luigi

    import law_core
    from law_core.index import is_indexed

    class Base(law_core.Task):
        pass

    class Abstract(law_core.Task):
        @abc.abstractmethod
        def run(self):
            ...

    class Concrete(Abstract):
        def run(self):
            pass

    class Plain(luigi.Task):
        def run(self):
            pass

    assert not is_indexed(Base)
    assert not is_indexed(Abstract)
    assert is_indexed(Concrete)
    assert is_indexed(Plain)
    # a package whose run methods are framework defaults is named by the caller
    assert not is_indexed(Concrete, framework=("luigi", "law_core", __name__.split(".")[0]))
