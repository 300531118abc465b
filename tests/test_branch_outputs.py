"""A workflow's status from the pattern of its branch outputs, and only when the pattern
is right: whatever output() does with the branch number, the collection's count is the
count of branches whose files exist."""

from __future__ import annotations

import os

import luigi
import pytest

import law_core as law

N = 40
PRESENT = {0, 3, 4, 9, 16, 17, 25, 38, 39}


class Shaped(law.LocalWorkflow):
    """Outputs named in one of several ways (``how``), below ``base``."""

    base = luigi.Parameter()
    how = luigi.Parameter()

    def create_branch_map(self):
        return [f"file{i}" for i in range(N)]

    def output(self):
        b, how = self.branch, self.how
        names = {
            "fstring": lambda: f"out_{b}.json",
            "str": lambda: "out_" + str(b) + ".json",
            "padded": lambda: f"out_{b:05d}.json",
            "twice": lambda: f"{b}/out_{b}.json",
            "per_ten": lambda: f"d{b // 10:04d}/out_{b}.json",  # files spread over dirs
            # neighbours in different directories, each directory met again later
            "alternating": lambda: f"m{b % 3}/d{(b + 1) * 2 // 10}/out_{b}.json",
            "shifted": lambda: f"out_{2 * (b - 3) % 7}_{b}.json",
            "braces": lambda: "{x}_" + f"{b // 10}/{{{b:>3}}}.json",
            "brace_fill": lambda: "d" + format(b // 10, "{>3") + "/" + format(b, "{>4") + ".json",
            # a slash as fill: the target normalizes 'd//12.json', the samples refuse the pattern
            "slash_fill": lambda: "d" + format(b, "/>4") + ".json",
            "percent": lambda: "out_%d.json" % b,  # noqa: UP031 - the case under test
            "plus_one": lambda: f"out_{b + 1}.json",
            "branch_data": lambda: f"{self.branch_data}.json",
            "first_special": lambda: "first.json" if b == 0 else f"out_{b}.json",
            # differs from the pattern at no sampled branch: only the stand-in's
            # bookkeeping of the comparison keeps it from being taken
            "one_special": lambda: "special.json" if b in (7, 9) else f"out_{b}.json",
            "task_id": lambda: f"{self.task_id}.json",
            "sliced": lambda: f"out_{'abcdefgh'[b:]}.json",
        }
        return law.LocalFileTarget(os.path.join(self.base, names[how]()))

    def run(self):
        self.output().dump({})


class TwoOutputs(law.LocalWorkflow):
    base = luigi.Parameter()

    def create_branch_map(self):
        return N

    def output(self):
        return {"a": law.LocalFileTarget(os.path.join(self.base, "a", f"{self.branch}.txt")),
                "b": law.LocalFileTarget(os.path.join(self.base, "b", f"{self.branch}.txt"))}


def workflow_with_files(tmp_path, how):
    wf = Shaped(base=str(tmp_path), how=how)
    for branch in PRESENT:  # the files of some branches, written as their tasks name them
        target = wf.req_branch(branch).output()
        target.parent.touch()
        target.touch()
    return Shaped(base=str(tmp_path), how=how, branches=())  # a fresh instance


FOLLOW_PATTERN = ["fstring", "str", "padded", "twice", "per_ten", "alternating", "shifted",
                  "plus_one", "braces", "brace_fill"]
NO_PATTERN = ["slash_fill", "percent", "branch_data", "first_special", "one_special",
              "task_id", "sliced"]


@pytest.mark.parametrize("how", FOLLOW_PATTERN + NO_PATTERN)
def test_status_counts_the_files_whatever_output_does_with_the_branch(tmp_path, how):
    wf = workflow_with_files(tmp_path, how)
    # the truth: each branch's own output asked on its own
    truth = Shaped(base=str(tmp_path), how=how)
    present = [b for b in range(N) if truth.req_branch(b).output().exists()]
    assert len(present) >= len(PRESENT)  # more where branches share a file ("sliced")
    collection = wf.output()["collection"]
    assert collection.count() == (len(present), N)
    assert sorted(collection.existing_keys()) == present
    assert wf.missing_branches() == [b for b in range(N) if b not in present]
    # the pattern is taken exactly where output() only writes the number as text
    assert (collection.targets.located_names() is not None) == (how in FOLLOW_PATTERN)


def test_pattern_with_a_branch_selection_and_several_outputs(tmp_path):
    wf = TwoOutputs(base=str(tmp_path), branches=((2, 30),))
    for branch in range(0, N, 3):  # both files of every third branch; only "a" of others
        for name in ("a", "b") if branch % 3 == 0 else ("a",):
            path = tmp_path / name / f"{branch}.txt"
            path.parent.mkdir(exist_ok=True)
            path.write_text("")
    for branch in range(1, N, 3):
        (tmp_path / "a" / f"{branch}.txt").write_text("")
    collection = wf.output()["collection"]
    assert collection.targets.located_names() is not None
    assert sorted(collection.existing_keys()) == [b for b in range(2, 30) if b % 3 == 0]
    assert collection.count() == (len(range(3, 30, 3)), 28)


def test_outputs_are_built_only_when_asked_for_and_as_output_says(tmp_path):
    wf = Shaped(base=str(tmp_path), how="padded")
    outputs = wf.output()["collection"].targets
    assert len(outputs) == N and 7 in outputs and N not in outputs
    assert outputs[7].path == os.path.join(str(tmp_path), "out_00007.json")
    with pytest.raises(KeyError):
        outputs[N]


def test_a_run_after_a_pattern_status_does_what_is_missing(tmp_path):
    wf = workflow_with_files(tmp_path, "fstring")
    assert not wf.complete()
    assert luigi.build([wf], local_scheduler=True, log_level="WARNING")
    assert sorted(os.listdir(tmp_path)) == sorted(f"out_{b}.json" for b in range(N))
    assert Shaped(base=str(tmp_path), how="fstring").complete()


def test_a_workflow_pickles_after_its_status_was_asked(tmp_path):
    import pickle

    wf = workflow_with_files(tmp_path, "per_ten")
    assert wf.output()["collection"].count() == (len(PRESENT), N)
    copy = pickle.loads(pickle.dumps(wf))
    assert copy.output()["collection"].count() == (len(PRESENT), N)
