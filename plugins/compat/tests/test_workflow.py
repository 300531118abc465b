"""law's workflow vocabulary: law.LocalWorkflow/BaseWorkflow as law analyses use them,
WorkflowParameter, workflow_property, dynamic_workflow_condition, DotDict requirements and
outputs, the branch map reduced to --branches, and classes mixing several workflows."""

from __future__ import annotations

import json
import os

import law
import luigi
import pytest

import law_core


def build(*tasks):
    result = luigi.build(list(tasks), local_scheduler=True, log_level="WARNING",
                         detailed_summary=True)
    return result.status == luigi.LuigiStatusCode.SUCCESS


class Task(law.Task):
    """The base task of law's examples, with the data path as a parameter."""

    data = luigi.Parameter()

    def store_parts(self):
        return (self.__class__.__name__,)

    def local_path(self, *path):
        return os.path.join(self.data, *self.store_parts(), *map(str, path))

    def local_target(self, *path):
        return law.LocalFileTarget(self.local_path(*path))


# examples/workflows -----------------------------------------------------------------------


class CreateChars(Task, law.LocalWorkflow):
    def create_branch_map(self):
        return {i: num for i, num in enumerate(range(97, 122 + 1))}

    def output(self):
        return self.local_target(f"output_{self.branch}.json")

    def run(self):
        num = self.branch_data
        self.output().dump({"num": num, "char": chr(num)})


class CreateAlphabet(Task):
    def requires(self):
        return CreateChars.req(self)

    def output(self):
        return self.local_target("alphabet.txt")

    def run(self):
        inputs = self.input()["collection"].targets
        alphabet = "".join(inp.load()["char"] for inp in inputs.values())
        # law's DotDict: the collection is an attribute as well
        assert self.input().collection.targets.keys() == inputs.keys()
        self.output().dump(alphabet + "\n", formatter="text")


def test_example_workflows(tmp_path):
    assert isinstance(CreateChars(data=str(tmp_path)), law_core.Workflow)
    assert build(CreateAlphabet(data=str(tmp_path)))
    assert (tmp_path / "CreateAlphabet" / "alphabet.txt").read_text() == \
        "abcdefghijklmnopqrstuvwxyz\n"


def test_law_names_of_branches_and_maps(tmp_path):
    wf = CreateChars(data=str(tmp_path), branches=((2, 5), (7, 8)))
    # law: the workflow's branch map holds only the selected branches
    assert list(wf.branch_map) == [2, 3, 4, 7] == list(wf.get_branch_map())
    assert list(wf.get_branch_tasks()) == [2, 3, 4, 7]
    assert wf.get_branch_chunks(3) == [[2, 3, 4], [7]]
    branch = wf.as_branch(3)
    assert branch.branch_map == wf.branch_map and branch.branch_data == 100
    assert len(CreateChars(data=str(tmp_path)).branch_map) == 26
    assert wf.effective_workflow == "local"
    out = wf.output()
    assert isinstance(out, law.util.DotDict) and len(out.collection) == 4


def test_workflow_requires_is_a_dotdict_that_overrides_fill(tmp_path):
    (tmp_path / "files.json").write_text('["a", "b"]')

    class Files(law.ExternalTask):
        path = luigi.Parameter()

        def output(self):
            return law.LocalFileTarget(self.path)

    class PerFile(Task, law.LocalWorkflow):
        def workflow_requires(self):
            reqs = super().workflow_requires()
            reqs.files = Files(path=str(tmp_path / "files.json"))
            return reqs

        def local_workflow_requires(self):
            reqs = super().local_workflow_requires()
            reqs["local_only"] = Files(path=str(tmp_path / "files.json"))
            return reqs

        def create_branch_map(self):
            return self.input().files.load()

        def output(self):
            return self.local_target(f"{self.branch_data}.txt")

        def run(self):
            self.output().dump(self.branch_data, formatter="text")

    wf = PerFile(data=str(tmp_path))
    reqs = wf.workflow_requires()
    assert isinstance(reqs, law.util.DotDict) and set(reqs) == {"files", "local_only"}
    assert wf.as_branch(1).workflow_requires() == reqs  # a branch asks its workflow
    assert set(PerFile(data=str(tmp_path), workflow="slurm").workflow_requires()) == {"files"}
    assert build(wf)
    assert (tmp_path / "PerFile" / "b.txt").read_text() == "b"


# examples/workflow_parameters -------------------------------------------------------------


class WPChars(Task, law.LocalWorkflow):
    num = law.WorkflowParameter(cls=luigi.IntParameter)
    upper_case = law.WorkflowParameter(cls=luigi.BoolParameter)

    @classmethod
    def create_branch_map(cls, params):
        return [
            {"num": num, "upper_case": upper_case}
            for upper_case in [True, False]
            for num in range(97, 122 + 1)
        ]

    def output(self):
        return self.local_target("output_{}_{}.json".format(
            self.num, "uc" if self.upper_case else "lc"))

    def run(self):
        char = chr(self.num)
        if self.upper_case:
            char = char.upper()
        self.output().dump({"num": self.num, "char": char})


class WPAlphabet(Task):
    upper_case = luigi.BoolParameter(default=False)

    def requires(self):
        return WPChars.req(self)

    def output(self):
        return self.local_target("alphabet_{}.txt".format("uc" if self.upper_case else "lc"))

    def run(self):
        alphabet = "".join(
            inp.load()["char"] for inp in self.input()["collection"].targets.values())
        self.output().dump(alphabet + "\n", formatter="text")


def test_example_workflow_parameters(tmp_path):
    assert build(WPAlphabet(data=str(tmp_path)), WPAlphabet(data=str(tmp_path), upper_case=True))
    assert (tmp_path / "WPAlphabet" / "alphabet_lc.txt").read_text() == \
        "abcdefghijklmnopqrstuvwxyz\n"
    assert (tmp_path / "WPAlphabet" / "alphabet_uc.txt").read_text() == \
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ\n"
    assert json.loads((tmp_path / "WPChars" / "output_98_uc.json").read_text()) == \
        {"num": 98, "char": "B"}


def test_workflow_parameters_select_branches(tmp_path):
    data = str(tmp_path)
    # values as the command line gives them: all set -> one branch task
    one = WPChars(data=data, num="98", upper_case="False")
    assert one.branch == 27 and one.num == 98 and one.upper_case is False
    # some set -> the workflow over the matching branches
    some = WPChars(data=data, num="97")
    assert some.is_workflow() and some.selected_branches() == [0, 26]
    assert list(some.branch_map) == [0, 26]
    several = WPChars(data=data, num=(97, 99), upper_case=True)
    assert several.selected_branches() == [0, 2]
    # a branch gets its values from its data, whichever way it is made
    assert (WPChars(data=data, branch=30).num, WPChars(data=data, branch=30).upper_case) == \
        (101, False)
    branch = some.as_branch(26)
    assert (branch.num, branch.upper_case) == (97, False)
    assert branch.as_workflow() is some
    assert WPChars(data=data, branch=26).as_workflow().num is law.util.no_value
    # insignificant: one task id per branch however it was named
    assert one.task_id == WPChars(data=data, branch=27).task_id
    assert WPChars.num.serialize(law.util.no_value) == ""


@pytest.mark.parametrize("kwargs, words", [
    ({"num": 200}, "no branch of WPChars has the workflow parameter values num=200"),
    ({"num": 98, "upper_case": True, "branch": 5}, "select branch 1, but branch 5"),
    ({"num": 98, "branch": 5}, "select 2 branches, a workflow, but branch 5"),
    ({"num": 98, "branches": ((0, 3),)}, "differ from --branches 0:3"),
])
def test_workflow_parameter_errors(tmp_path, kwargs, words):
    with pytest.raises(law_core.WorkflowError, match=words):
        WPChars(data=str(tmp_path), **kwargs)


def test_workflow_parameters_need_a_classmethod_branch_map():
    class Plain(law.LocalWorkflow):
        num = law.WorkflowParameter(cls=luigi.IntParameter)

        def create_branch_map(self):
            return [{"num": 1}]

    with pytest.raises(law_core.WorkflowError, match="must be a classmethod"):
        Plain(num=1)


# workflow properties ----------------------------------------------------------------------


def test_workflow_property_lives_on_the_workflow(tmp_path):
    calls = []

    class Props(Task, law.LocalWorkflow):
        def create_branch_map(self):
            return 3

        @law.workflow_property
        def stamp(self):
            calls.append(self.branch)
            return len(calls)

        @law.cached_workflow_property
        def expensive(self):
            calls.append("expensive")
            return {"shared": True}

        @law.workflow_property(setter=False, cache=True, attr="_mine")
        def fixed(self):
            return "fixed"

    wf = Props(data=str(tmp_path))
    b1, b2 = wf.as_branch(1), wf.as_branch(2)
    assert b1.expensive is b2.expensive is wf.expensive
    assert calls == ["expensive"]
    assert b1.stamp == 2 and b2.stamp == 3 and calls[1:] == [-1, -1]  # computed by the workflow
    b1.stamp = 10
    assert wf.__dict__["_workflow_stamp"] == 10
    assert b2.fixed == "fixed" and wf._mine == "fixed"
    with pytest.raises(AttributeError):
        b2.fixed = "other"


# dynamic workflow conditions --------------------------------------------------------------


class MakeList(Task):
    """Writes the list that the dynamic workflow below iterates over."""

    def output(self):
        return self.local_target("items.json")

    def run(self):
        self.output().dump(["x", "y", "z"])


class Dynamic(Task, law.LocalWorkflow):
    def workflow_requires(self):
        reqs = super().workflow_requires()
        reqs["files"] = MakeList.req(self)
        return reqs

    @law.dynamic_workflow_condition
    def workflow_condition(self):
        return self.input()["files"].exists()

    @workflow_condition.create_branch_map
    def create_branch_map(self):
        return self.input()["files"].load()

    @workflow_condition.requires
    def requires(self):
        return MakeList.req(self)

    @workflow_condition.output
    def output(self):
        return self.local_target(f"file_{self.branch_data}.txt")

    def run(self):
        self.output().dump(self.branch_data.upper(), formatter="text")


def test_dynamic_workflow_condition(tmp_path):
    wf = Dynamic(data=str(tmp_path))
    # not met: one placeholder branch, an output that never exists, no cached map
    assert wf.workflow_condition() is False
    assert wf.branch_map == {0: None}
    assert not wf.complete()
    assert "_branch_map" not in wf.__dict__
    assert build(wf)
    assert sorted(os.listdir(tmp_path / "Dynamic")) == ["file_x.txt", "file_y.txt", "file_z.txt"]
    assert wf.workflow_condition() and wf.complete()
    assert Dynamic(data=str(tmp_path)).complete()


def test_one_dynamic_condition_per_workflow():
    with pytest.raises(law_core.WorkflowError, match="more than one dynamic workflow condition"):
        class Twice(law.LocalWorkflow):
            @law.dynamic_workflow_condition
            def first(self):
                return True

            @law.dynamic_workflow_condition
            def second(self):
                return True


# classes mixing several workflows ---------------------------------------------------------


class HTCondorWorkflow(law.BaseWorkflow):
    """A stand-in for law.htcondor.HTCondorWorkflow: only its name for the job manager."""

    workflow_type = "htcondor"


class Mixed(Task, law.LocalWorkflow, HTCondorWorkflow):
    def create_branch_map(self):
        return [97, 98]

    def output(self):
        return self.local_target(f"m_{self.branch}.json")

    def run(self):
        self.output().dump({"char": chr(self.branch_data)})


class CondorFirst(Task, HTCondorWorkflow, law.LocalWorkflow):
    def create_branch_map(self):
        return [99]

    def output(self):
        return self.local_target(f"c_{self.branch}.json")

    def run(self):
        self.output().dump({"char": chr(self.branch_data)})


def test_first_workflow_class_is_the_default_and_workflow_local_selects(tmp_path):
    assert Mixed(data=str(tmp_path)).job_manager_name() == "local"
    assert CondorFirst(data=str(tmp_path)).job_manager_name() == "htcondor"
    wf = CondorFirst(data=str(tmp_path), workflow="local")
    assert wf.job_manager_name() == "local" == wf.effective_workflow
    assert build(Mixed(data=str(tmp_path)), wf)
    assert sorted(os.listdir(tmp_path / "Mixed")) == ["m_0.json", "m_1.json"]
    assert os.listdir(tmp_path / "CondorFirst") == ["c_0.json"]
