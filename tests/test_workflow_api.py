"""The workflow API law analyses use, on law-core's own workflows (``import law_core as
law``): law's examples/workflows and examples/workflow_parameters written in law's style,
branch and workflow views of one task, parameter exclusions, collection classes, the
workflow's own inputs, ``--pilot`` and the choice of the run location by class."""

from __future__ import annotations

import os

import luigi
import pytest

import law_core as law
from law_core.arguments import build_task
from law_core.config import get_config, reset_config


def build(*tasks):
    get_config().override("local_workflow", "workers", "1", "test")
    result = luigi.build(list(tasks), local_scheduler=True, log_level="WARNING",
                         detailed_summary=True)
    return result.status == luigi.LuigiStatusCode.SUCCESS


# law's examples/workflows, written as law's users write it --------------------------------


class ExampleTask(law.Task):
    base = luigi.Parameter()

    def store_parts(self):
        return (self.__class__.__name__,)

    def local_path(self, *path):
        return os.path.join(self.base, *self.store_parts(), *map(str, path))

    def local_target(self, *path):
        return law.LocalFileTarget(self.local_path(*path))


class CreateChars(ExampleTask, law.LocalWorkflow):
    def create_branch_map(self):
        return {i: num for i, num in enumerate(range(97, 122 + 1))}

    def output(self):
        return self.local_target(f"output_{self.branch}.json")

    def run(self):
        num = self.branch_data
        self.output().dump({"num": num, "char": chr(num)})


class CreateAlphabet(ExampleTask):
    def requires(self):
        return CreateChars.req(self)

    def output(self):
        return self.local_target("alphabet.txt")

    def run(self):
        inputs = self.input()["collection"].targets
        alphabet = "".join(inp.load()["char"] for inp in inputs.values())
        self.output().dump(alphabet + "\n", formatter="text")


def test_example_workflows_runs_as_in_law(tmp_path):
    alphabet = CreateAlphabet(base=str(tmp_path))
    assert not alphabet.complete()
    assert build(alphabet)
    assert (tmp_path / "CreateAlphabet" / "alphabet.txt").read_text() == \
        "abcdefghijklmnopqrstuvwxyz\n"
    assert len(list((tmp_path / "CreateChars").iterdir())) == 26


# branches given as ranges and tuples ------------------------------------------------------


def test_branches_from_the_command_line_and_as_tuples(tmp_path):
    wf = build_task(CreateChars, ["--base", str(tmp_path), "--branches", "0:5,7"])
    assert wf.selected_branches() == [0, 1, 2, 3, 4, 7]
    assert sorted(wf.output()["collection"].targets) == [0, 1, 2, 3, 4, 7]

    class Pick(ExampleTask):
        def requires(self):
            return CreateChars.req(self, branches=(0, 1, 2))

        def output(self):
            return self.local_target("picked.txt")

        def run(self):
            chars = [t.load()["char"] for t in self.input()["collection"].targets.values()]
            self.output().dump("".join(chars), formatter="text")

    assert build(Pick(base=str(tmp_path)))
    assert (tmp_path / "Pick" / "picked.txt").read_text() == "abc"
    assert sorted(os.listdir(tmp_path / "CreateChars")) == [f"output_{b}.json" for b in (0, 1, 2)]
    assert CreateChars(base=str(tmp_path), branches=[(0, 5), 7]).selected_branches() == \
        [0, 1, 2, 3, 4, 7]


# law's examples/workflow_parameters: a classmethod branch map gets the parameter values ----


class Letters(ExampleTask, law.LocalWorkflow):
    upper_case = luigi.BoolParameter()

    @classmethod
    def create_branch_map(cls, params):
        first = 65 if params["upper_case"] else 97
        return [{"num": n} for n in range(first, first + 3)]

    def output(self):
        return self.local_target(f"letter_{self.branch_data['num']}.json")

    def run(self):
        self.output().dump({"char": chr(self.branch_data["num"])})


def test_classmethod_branch_map_receives_the_parameter_values(tmp_path):
    lower, upper = Letters(base=str(tmp_path)), Letters(base=str(tmp_path), upper_case=True)
    assert [d["num"] for d in lower.branch_map.values()] == [97, 98, 99]
    assert [d["num"] for d in upper.branch_map.values()] == [65, 66, 67]
    assert upper.as_branch(2).branch_data == {"num": 67}
    assert build(upper)
    assert sorted(os.listdir(tmp_path / "Letters")) == [f"letter_{n}.json" for n in (65, 66, 67)]


# one task, seen as branch or as workflow --------------------------------------------------


def test_branch_and_workflow_views(tmp_path):
    wf = CreateChars(base=str(tmp_path), branches=((3, 6),))
    assert wf.is_workflow() and not wf.is_branch()
    assert wf.as_workflow() is wf and wf.workflow_task is wf
    branch = wf.as_branch(4)
    assert branch.is_branch() and branch.branch == 4 and branch.branch_data == 101
    # a branch made by its workflow knows it; branch tasks do not carry the selection
    assert branch.as_workflow() is wf and branch.workflow_task is wf
    assert branch.branches == () and branch.as_branch() is branch
    assert wf.as_branch().branch == 0
    assert list(wf.branch_tasks()) == [3, 4, 5]
    # a branch built on its own builds its workflow once, with every shared value
    alone = CreateChars(base=str(tmp_path), branch=2)
    assert alone.as_workflow() is alone.as_workflow()
    assert alone.as_workflow() == CreateChars(base=str(tmp_path))
    with pytest.raises(law.TaskError, match="not -1"):
        wf.as_branch(-1)


def test_exclude_params_branch_and_workflow(tmp_path):
    class Tuned(law.LocalWorkflow):
        base = luigi.Parameter()
        merge_step = luigi.IntParameter(default=1)  # a workflow setting
        debug = luigi.BoolParameter()  # a branch setting
        exclude_params_branch = {"merge_step"}
        exclude_params_workflow = {"debug"}

        def create_branch_map(self):
            return 3

        def output(self):
            return law.LocalFileTarget(os.path.join(self.base, f"t_{self.branch}"))

    wf = Tuned(base=str(tmp_path), merge_step=4, tolerance=0.5, pilot=True)
    branch = wf.as_branch(1)
    assert branch.merge_step == 1 and branch.tolerance == 0.0 and not branch.pilot
    assert branch.task_id == Tuned(base=str(tmp_path), branch=1).task_id
    # the workflow-only parameters stay excluded when a class names its own
    assert "tolerance" in Tuned._excluded_defaults("exclude_params_branch")
    debug_branch = Tuned(base=str(tmp_path), branch=2, debug=True)
    assert debug_branch.as_workflow() == Tuned(base=str(tmp_path))
    assert not debug_branch.req_workflow().debug
    assert debug_branch.req_workflow(debug=True).debug


# outputs and inputs of the workflow -------------------------------------------------------


def test_output_collection_cls(tmp_path):
    class Siblings(CreateChars):
        output_collection_cls = law.SiblingFileCollection

    wf = Siblings(base=str(tmp_path), acceptance=0.5)
    collection = wf.output()["collection"]
    assert type(collection) is law.SiblingFileCollection and len(collection) == 26
    for b in range(13):
        wf.as_branch(b).output().dump({"b": b})
    assert Siblings(base=str(tmp_path), acceptance=0.5).complete()
    assert not Siblings(base=str(tmp_path)).complete()


class Listing(law.ExternalTask):
    path = luigi.Parameter()

    def output(self):
        return law.LocalFileTarget(self.path)


def test_workflow_input_is_what_workflow_requires_gives(tmp_path):
    """A workflow's self.input() holds the outputs of workflow_requires() (as in law),
    so its own methods can read them; its requires() also has the branches' needs."""
    listing = str(tmp_path / "files.json")

    class PerFile(law.LocalWorkflow):
        base = luigi.Parameter()

        def workflow_requires(self):
            reqs = super().workflow_requires()
            if not self.pilot:
                reqs["files"] = Listing(path=listing)
            return reqs

        def create_branch_map(self):
            return self.input()["files"].load() if self.input() else []

        def requires(self):
            return Listing(path=os.path.join(self.base, f"in_{self.branch_data}"))

        def output(self):
            return law.LocalFileTarget(os.path.join(self.base, f"out_{self.branch_data}"))

        def run(self):
            self.output().dump(self.input().load(formatter="text"), formatter="text")

    (tmp_path / "files.json").write_text('["x", "y"]')
    wf = PerFile(base=str(tmp_path))
    assert wf.input()["files"].path == listing
    assert wf.workflow_input()["files"].path == listing
    assert wf.as_branch(1).workflow_input()["files"].path == listing
    assert wf.as_branch(1).input().path == str(tmp_path / "in_y")
    needs = {getattr(t, "path", None) for t in luigi.task.flatten(wf.requires())}
    assert needs == {listing, str(tmp_path / "in_x"), str(tmp_path / "in_y")}
    for name in ("x", "y"):
        (tmp_path / f"in_{name}").write_text(name.upper())
    assert build(wf)
    assert (tmp_path / "out_y").read_text() == "Y"
    # --pilot: a hint the workflow_requires() above reads; it is not significant
    pilot = PerFile(base=str(tmp_path), pilot=True)
    assert pilot.task_id == wf.task_id and pilot.workflow_input() == {}


# the map built only once it is known ------------------------------------------------------


def test_cache_branch_map_false_builds_the_map_on_each_use(tmp_path):
    sizes = [1]

    class Growing(law.LocalWorkflow):
        cache_branch_map = False

        def create_branch_map(self):
            return sizes[0]

        def output(self):
            return law.LocalFileTarget(str(tmp_path / f"g_{self.branch}"))

    wf = Growing()
    assert len(wf.output()["collection"]) == 1
    sizes[0] = 3
    assert len(wf.output()["collection"]) == 3 and len(wf.branch_tasks()) == 3
    wf.cache_branch_map = True
    wf.branch_map  # noqa: B018 - kept from now on
    sizes[0] = 5
    assert len(wf.branch_map) == 3
    wf.reset_branch_map()
    assert len(wf.branch_map) == 5


# where the branches run: --workflow, config, the class --------------------------------------


class BatchMixin(law.Workflow):
    """A stand-in for a batch system's workflow mixin: it only names its job manager."""

    workflow_type = "slurm"


class Mixed(law.LocalWorkflow, BatchMixin):
    def create_branch_map(self):
        return 1


class Mixed2(ExampleTask, BatchMixin, law.LocalWorkflow):
    def create_branch_map(self):
        return [97, 98]

    def output(self):
        return self.local_target(f"m_{self.branch}.json")

    def run(self):
        self.output().dump({"char": chr(self.branch_data)})


def test_run_location_order(tmp_path, monkeypatch):
    assert Mixed().job_manager_name() == "slurm"  # law-core's LocalWorkflow names none
    assert Mixed(workflow="local").job_manager_name() == "local"
    assert CreateChars(base="x").job_manager_name() == "local"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "law.cfg").write_text("[workflow]\ndefault = htcondor\nMixed = lsf\n")
    reset_config()
    assert Mixed().job_manager_name() == "lsf"  # [workflow] FAMILY beats the class
    assert Mixed2(base="x").job_manager_name() == "slurm"  # the class beats [workflow] default
    assert CreateChars(base="x").job_manager_name() == "htcondor"


def test_workflow_local_runs_a_batch_class_here(tmp_path):
    wf = build_task(Mixed2, ["--base", str(tmp_path), "--workflow", "local"])
    assert wf.job_manager_name() == "local"
    assert build(wf)
    assert sorted(os.listdir(tmp_path / "Mixed2")) == ["m_0.json", "m_1.json"]
