"""law.tasks (ForestMerge, TransferLocalFile) and ``law index``'s choice of tasks: a small
law-style analysis run with law 0.1.21 and with law-core-compat through the same
commands must exit alike and leave byte-identical files (the machinery of
law_reference.py)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from law_reference import _both, _files, _index_families  # noqa: F401

TASKS = '''
    import abc
    import os

    import luigi
    import law

    law.contrib.load("tasks")


    def write(target, text):
        os.makedirs(os.path.dirname(target.path), exist_ok=True)
        with target.open("w") as f:
            f.write(text)


    class AnalysisTask(law.Task):
        """A base class: shares a parameter, runs nothing (not indexed)."""

        n = luigi.IntParameter(default=11)


    class CreateNumbers(AnalysisTask, law.LocalWorkflow):
        def create_branch_map(self):
            return list(range(self.n))

        def output(self):
            return law.LocalFileTarget(f"$DATA_PATH/numbers/n_{self.branch}.txt")

        def run(self):
            write(self.output(), f"{self.branch_data ** 2}\\n")


    class MergeNumbers(AnalysisTask, law.tasks.ForestMerge):
        """One tree of merge steps of three inputs each."""

        merge_factor = 3

        def merge_workflow_requires(self):
            return CreateNumbers.req(self, _exclude={"branches"})

        def merge_requires(self, start_leaf, end_leaf):
            return [CreateNumbers.req(self, branch=i) for i in range(start_leaf, end_leaf)]

        def merge_output(self):
            return law.LocalFileTarget("$DATA_PATH/merged/numbers.txt")

        def merge(self, inputs, output):
            write(output, "".join(inp.open("r").read() for inp in inputs))


    class MergeTrees(AnalysisTask, law.tasks.ForestMerge):
        """Two trees (two outputs), merge steps of two inputs, the workflow's collection
        traced."""

        merge_factor = 2

        def merge_workflow_requires(self):
            return CreateNumbers.req(self, _exclude={"branches"})

        def merge_requires(self, start_leaf, end_leaf):
            return CreateNumbers.req(self, branch=-1, branches=((start_leaf, end_leaf),))

        def trace_merge_inputs(self, inputs):
            return [inputs["collection"][b] for b in sorted(inputs["collection"].keys())]

        def merge_output(self):
            return [law.LocalFileTarget(f"$DATA_PATH/trees/part_{i}.txt") for i in range(2)]

        def merge(self, inputs, output):
            # reversed at each step: the order shows the shape of the tree
            lines = [line for inp in inputs for line in inp.open("r").read().splitlines()]
            write(output, "".join(line + "\\n" for line in reversed(lines)))


    class Publish(AnalysisTask, law.tasks.TransferLocalFile):
        def requires(self):
            return MergeNumbers.req(self)

        def single_output(self):
            return law.LocalFileTarget("$DATA_PATH/published/numbers.txt")


    class PlotBase(AnalysisTask):
        @abc.abstractmethod
        def run(self):
            pass


    class Everything(law.WrapperTask):
        def requires(self):
            return [MergeNumbers.req(self), MergeTrees.req(self)]


    class Hidden(CreateNumbers):
        exclude_index = True
'''


@pytest.fixture
def analysis(tmp_path: Path) -> Path:
    source = tmp_path / "src" / "forest"
    source.mkdir(parents=True)
    (source / "forest_tasks.py").write_text(textwrap.dedent(TASKS))
    (source / "law.cfg").write_text(
        "[modules]\nforest_tasks\n\n[luigi_core]\nlocal_scheduler: True\n")
    return source


def test_forest_merge_as_law(tmp_path: Path, analysis: Path, law_bin: Path) -> None:
    """One tree (11 leaves, factor 3: depths 0-2) and two trees with their intermediate
    results kept (their names are law's node_format), then a transfer to 3 replicas."""
    commands = [
        ["law", "index", "--verbose"],
        ["law", "run", "MergeNumbers", "--workers", "2"],
        ["law", "run", "MergeTrees", "--keep-nodes"],
        ["law", "run", "Publish", "--replicas", "3"],
        ["law", "run", "Everything"],
    ]
    law_example, compat_example, law_results, compat_results = _both(
        tmp_path / "run", analysis, law_bin, {"DATA_PATH": "data"}, commands)
    assert [rc for _, rc, _ in compat_results] == [0, 0, 0, 0, 0]
    data = compat_example / "data"
    squares = "".join(f"{i * i}\n" for i in range(11))
    assert (data / "merged" / "numbers.txt").read_text() == squares
    # the intermediate results of MergeNumbers are gone, MergeTrees' kept
    assert sorted(p.name for p in (data / "merged").iterdir()) == ["numbers.txt"]
    trees = sorted(p.name for p in (data / "trees").iterdir())
    assert "part_0.txt" in trees and "part_0.t0.d1.b0.txt" in trees, trees
    part_0 = (data / "trees" / "part_0.txt").read_text().split()
    assert sorted(map(int, part_0)) == [i * i for i in range(6)]
    assert sorted(p.name for p in (data / "published").iterdir()) == [
        "numbers.0.txt", "numbers.1.txt", "numbers.2.txt"]
    # law index: concrete families only, as law chooses them, and the same report
    assert _index_families(compat_example) == _index_families(law_example)
    assert compat_results[0][2].replace(str(compat_example), "EX") == \
        law_results[0][2].replace(str(law_example), "EX")
    families = {family for _, family in _index_families(compat_example)}
    assert {"CreateNumbers", "MergeNumbers", "MergeTrees", "Publish", "Everything"} <= families
    assert not families & {"AnalysisTask", "PlotBase", "Hidden", "ForestMerge"}


def test_forest_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The merge forest's trees and leaf ranges, from law's rules (the answers are law
    0.1.21's): leaves split over the trees (the first ones one more), chunks of
    merge_factor up to one root."""
    monkeypatch.setenv("DATA_PATH", str(tmp_path))
    import law

    law.contrib.load("tasks")

    class Leaves(law.LocalWorkflow):
        def create_branch_map(self):
            return list(range(7))

        def output(self):
            return law.LocalFileTarget(f"$DATA_PATH/l{self.branch}")

    class Forest(law.tasks.ForestMerge):
        merge_factor = 2

        def merge_workflow_requires(self):
            return Leaves.req(self, _exclude={"branches"})

        def merge_requires(self, start, end):
            return [Leaves.req(self, branch=i) for i in range(start, end)]

        def merge_output(self):
            return [law.LocalFileTarget(f"$DATA_PATH/f{i}.txt") for i in range(2)]

        def merge(self, inputs, output):
            pass

    forest = Forest()
    assert forest.is_forest() and forest.branch == 0
    assert forest.leaves_per_tree == [4, 3]
    # nodes are the lists of chunks: 4 leaves in chunks of 2 are two leaf nodes below a root
    assert forest.merge_forest == [{0: [(0,)], 1: [(0, 0), (0, 1)]},
                                   {0: [(1,)], 1: [(1, 0), (1, 1)]}]
    leaf = Forest(tree_index=1, tree_depth=1, branch=1)
    assert leaf.is_leaf() and leaf.leaf_range == (6, 7)
    assert [t.branch for t in leaf.requires()["forest_merge"]] == [6]
    root = Forest(tree_index=0, tree_depth=0, branch=0)
    assert sorted(root.requires()["forest_merge"]) == [0, 1]
    assert Forest(tree_index=0, tree_depth=1, branch=1).output().basename == "f0.t0.d1.b1.txt"
    roots = forest.requires()["forest_merge"]
    assert [(r.tree_index, r.branch) for r in roots.values()] == [(0, -1), (1, -1)]
