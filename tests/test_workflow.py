"""Workflows: branch maps, branch tasks, selection, local execution, acceptance/tolerance."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import subprocess
import sys
from pathlib import Path

import luigi
import pytest

import law_core as law
from law_core.config import get_config
from law_core.errors import TaskError, WorkflowError


class Squares(law.LocalWorkflow):
    n = luigi.IntParameter(default=6)
    fail = law.CSVParameter(cls=luigi.IntParameter, default=())
    base = luigi.Parameter()

    def create_branch_map(self):
        return {i: i * i for i in range(self.n)}

    def output(self):
        return law.LocalFileTarget(os.path.join(self.base, f"sq_{self.branch}.json"))

    def run(self):
        with open(os.path.join(self.base, f"ran_{self.branch}_{os.getpid()}"), "w"):
            pass
        if self.branch in self.fail:
            # a partial write that must not count as an output
            with self.output().open("w") as f:
                f.write('{"half": ')
                raise RuntimeError(f"branch {self.branch} broke on purpose")
        self.output().dump({"square": self.branch_data})


class Consumer(law.Task):
    base = luigi.Parameter()

    def requires(self):
        return Squares.req(self, n=4)

    def output(self):
        return law.LocalFileTarget(os.path.join(self.base, "sum.json"))

    def run(self):
        coll = self.input()["collection"]
        self.output().dump({"sum": sum(t.load()["square"] for t in coll.targets.values())})


def runs(base):
    return sorted(int(name.split("_")[1]) for name in os.listdir(base) if name.startswith("ran_"))


def build(task, workers=1):
    get_config().override("local_workflow", "workers", str(workers), "test")
    result = luigi.build([task], local_scheduler=True, log_level="WARNING",
                         detailed_summary=True)
    return result.status == luigi.LuigiStatusCode.SUCCESS


@pytest.mark.parametrize("raw, expected", [
    (["a", "b"], {0: "a", 1: "b"}),
    (3, {0: 0, 1: 1, 2: 2}),
    ({5: "x", 7: "y"}, {5: "x", 7: "y"}),
])
def test_branch_map_forms(raw, expected):
    class W(law.Workflow):
        def create_branch_map(self):
            return raw

    assert W().branch_map == expected
    first = min(expected)
    assert W(branch=first).branch_data == expected[first]


@pytest.mark.parametrize("raw, words", [
    ({"a": 1}, "keys that are not integers >= 0"),
    ({-1: 1}, "keys that are not integers >= 0"),
    ("abc", "returned a str"),
    (-2, "returned -2 < 0"),
])
def test_bad_branch_maps_are_clear_errors(raw, words):
    class W(law.Workflow):
        def create_branch_map(self):
            return raw

    with pytest.raises(WorkflowError, match=words):
        _ = W().branch_map


def test_create_branch_map_raising_names_the_workflow():
    class Broken(law.Workflow):
        def create_branch_map(self):
            raise KeyError("dataset")

    with pytest.raises(WorkflowError, match=r"create_branch_map\(\) of Broken failed: KeyError"):
        _ = Broken().branch_map


def test_branch_out_of_range(tmp_path):
    task = Squares(base=str(tmp_path), branch=9)
    with pytest.raises(TaskError,
                       match=r"branch 9 of Squares is out of range.*6 branches \(0..5\)"):
        _ = task.branch_data


def test_branch_tasks_are_cheap_copies_sharing_the_map(tmp_path):
    wf = Squares(base=str(tmp_path), branches=((1, 3),), tolerance=0.5)
    b1 = wf.req_branch(1)
    assert b1.branch == 1 and b1.branch_data == 1
    assert b1.__dict__["_branch_map"] is wf.branch_map
    assert b1 == Squares(base=str(tmp_path), branch=1)
    assert b1.task_id == Squares(base=str(tmp_path), branch=1).task_id
    assert b1.branches == () and b1.tolerance == 0.0  # workflow-only parameters reset
    assert b1.req_workflow().branch == -1
    assert wf.selected_branches() == [1, 2]
    assert list(wf.output()["collection"].keys()) == [1, 2]


def test_req_passes_shared_parameters_both_ways(tmp_path):
    consumer = Consumer(base=str(tmp_path))
    assert Squares.req(consumer, n=2) == consumer.req(Squares, n=2)
    assert consumer.req(Squares, n=2).base == str(tmp_path)


def test_local_workflow_runs_missing_branches_only(tmp_path):
    Squares(base=str(tmp_path), n=6, branch=2).run()
    assert build(Squares(base=str(tmp_path), n=6))
    assert runs(tmp_path) == [0, 1, 2, 3, 4, 5]  # 2 ran once, by hand
    assert json.loads((tmp_path / "sq_5.json").read_text()) == {"square": 25}
    assert build(Squares(base=str(tmp_path), n=6))
    assert runs(tmp_path) == [0, 1, 2, 3, 4, 5]


def test_failing_branch_is_reported_and_others_go_on(tmp_path, caplog):
    assert not build(Squares(base=str(tmp_path), n=5, fail=(1, 3)))
    assert runs(tmp_path) == [0, 1, 2, 3, 4]
    present = sorted(p.name for p in tmp_path.glob("sq_*"))
    assert present == ["sq_0.json", "sq_2.json", "sq_4.json"]
    assert not list(tmp_path.glob(".sq_*"))  # no temporary leftovers of the failed writes
    errors = "\n".join(r.getMessage() for r in caplog.records)
    assert "branch 1 of Squares failed" in errors and "broke on purpose" in errors
    assert "Traceback" in errors


def test_tolerance_lets_the_workflow_succeed(tmp_path):
    wf = Squares(base=str(tmp_path), n=5, fail=(3,), tolerance=1, acceptance=0.8)
    assert build(wf)
    assert wf.complete()
    assert not Squares(base=str(tmp_path), n=5).complete()  # acceptance 1.0


def test_tolerance_exceeded_fails_the_workflow_after_all_ran(tmp_path):
    wf = Squares(base=str(tmp_path), n=10, fail=(0, 1, 2), tolerance=2)
    with pytest.raises(WorkflowError, match=r"3 of 10 branches of Squares failed, more than "
                       r"the tolerance allows \(2\); failed: 0, 1, 2"):
        wf.run()
    assert runs(tmp_path) == list(range(10))


def test_branches_selection(tmp_path):
    assert build(Squares(base=str(tmp_path), n=10, branches=((2, 4), (8, None))))
    assert runs(tmp_path) == [2, 3, 8, 9]


def test_process_pool_runs_branches_in_other_processes(tmp_path):
    assert build(Squares(base=str(tmp_path), n=8), workers=2)
    pids = {name.split("_")[2] for name in os.listdir(tmp_path) if name.startswith("ran_")}
    assert runs(tmp_path) == list(range(8))
    assert str(os.getpid()) not in pids and len(pids) >= 1


class ParentRecorder(Squares):
    def run(self):
        with open(os.path.join(self.base, f"parent_{self.branch}_{os.getppid()}"), "w"):
            pass
        super().run()


def parents(base):
    return {name.split("_")[2] for name in os.listdir(base) if name.startswith("parent_")}


@contextlib.contextmanager
def native_thread():
    """A thread of C code (libc's sleep), as a storage client's library runs them."""
    libc = ctypes.CDLL(None, use_errno=True)
    thread = ctypes.c_ulong()
    sleep = ctypes.cast(libc.sleep, ctypes.c_void_p)
    assert libc.pthread_create(ctypes.byref(thread), None, sleep, ctypes.c_void_p(600)) == 0
    try:
        yield
    finally:
        libc.pthread_cancel(thread)  # sleep is a cancellation point
        libc.pthread_join(thread, None)


PARALLEL_ANALYSIS = """
import os
import time
import luigi
import law_core as law

class Part(law.LocalWorkflow):
    name = luigi.Parameter()
    def create_branch_map(self): return 3
    def output(self): return self.local_target(self.name, f"{self.branch}.json")
    def run(self):
        start = time.time()
        time.sleep(0.3)  # long enough that workflows running side by side overlap
        parent = os.getppid()
        with open(f"/proc/{parent}/cmdline") as f:
            command = f.read()
        self.output().dump({"pid": os.getpid(), "parent": parent, "start": start,
                            "end": time.time(), "fork_server": "forkserver" in command})

class All(law.Task):
    def requires(self): return [Part.req(self, name=n) for n in ("a", "b", "c", "d")]
    def output(self): return self.local_target("all.json")
    def run(self): self.output().dump([t.load() for w in self.input() for t in
                                      w["collection"].targets.values()])
"""


def most_at_once(intervals):
    """The largest number of (start, end) intervals that overlap."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    count = most = 0
    for _, step in edges:
        count += step
        most = max(most, count)
    return most


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_share_one_budget_of_processes_between_workflows(tmp_path):
    """``--workers 2`` on independent workflows: luigi runs each in a process of its own, and
    a workflow's branches add only the processes idle beside luigi's other tasks. Sized 2
    each, two workflows side by side ran four branch processes on two cores (many small
    workflows ran three times slower than with one worker). Branch processes are forks of
    the workflow's process, never of a fork server (half a second each)."""
    (tmp_path / "parallel.py").write_text(PARALLEL_ANALYSIS)
    (tmp_path / "law.cfg").write_text("[target]\nstore = out\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAW_CORE")}
    env["PYTHONPATH"] = str(tmp_path)
    result = subprocess.run([sys.executable, "-m", "law_core", "run", "parallel.All",
                             "--workers", "2"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    records = [json.loads((tmp_path / "out" / "Part" / name / f"{b}.json").read_text())
               for name in "abcd" for b in range(3)]
    assert not any(r["fork_server"] for r in records)
    # two workflows side by side would each have run two branches at once: four
    assert most_at_once([(r["start"], r["end"]) for r in records]) <= 3
    assert len(json.loads((tmp_path / "out" / "All" / "all.json").read_text())) == 12


@pytest.fixture
def budget():
    from law_core.process_budget import start_budget, stop_budget

    yield start_budget(2)
    stop_budget()


def test_a_workflow_alone_runs_its_branches_on_every_idle_process(tmp_path, budget):
    budget.hold()  # the workflow's own task process
    assert build(ParentRecorder(base=str(tmp_path), n=6), workers=2)
    assert runs(tmp_path) == list(range(6))
    (parent,) = parents(tmp_path)  # a pool: forks of this process or of the fork server
    assert parent == str(os.getpid()) or "forkserver" in Path(
        f"/proc/{parent}/cmdline").read_text()
    assert budget.used == 1  # what the pool took is given back


def test_a_workflow_beside_busy_tasks_runs_its_branches_in_its_own_process(tmp_path, budget):
    budget.hold()  # the workflow's own task process
    budget.hold()  # another task luigi runs beside it
    assert build(ParentRecorder(base=str(tmp_path), n=6), workers=2)
    assert runs(tmp_path) == list(range(6))
    assert parents(tmp_path) == {str(os.getppid())}  # run here, not in a pool
    assert budget.used == 2


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pthread through libc")
def test_process_pool_uses_the_fork_server_beside_a_native_thread(tmp_path):
    """A native library's thread may hold a lock a fork would wait on forever: then the
    branches run in processes of the fork server, rebuilt from the parameters."""
    with native_thread():
        assert build(ParentRecorder(base=str(tmp_path), n=6), workers=2)
    assert runs(tmp_path) == list(range(6))
    (parent,) = parents(tmp_path)
    assert "forkserver" in Path(f"/proc/{parent}/cmdline").read_text()


def test_process_pool_failures_are_reported(tmp_path):
    assert not build(Squares(base=str(tmp_path), n=6, fail=(4,)), workers=2)
    assert sorted(p.name for p in tmp_path.glob("sq_*")) == [
        f"sq_{b}.json" for b in (0, 1, 2, 3, 5)]


def test_downstream_task_reads_the_collection(tmp_path):
    assert build(Consumer(base=str(tmp_path)))
    assert json.loads((tmp_path / "sum.json").read_text()) == {"sum": 0 + 1 + 4 + 9}


def test_workflow_requires_and_branch_requirements(tmp_path):
    class Prep(law.ExternalTask):
        name = luigi.Parameter()

        def output(self):
            return law.LocalFileTarget(os.path.join(str(tmp_path), self.name))

    class Uses(law.LocalWorkflow):
        def create_branch_map(self):
            return ["a", "b"]

        def workflow_requires(self):
            return Prep(name="global")

        def requires(self):
            return Prep(name=self.branch_data)

        def output(self):
            return law.LocalFileTarget(os.path.join(str(tmp_path), f"u_{self.branch}"))

        def run(self):
            self.output().dump(self.input().load(formatter="text"), formatter="text")

    wf = Uses()
    deps = {t.name for t in luigi.task.flatten(wf.requires())}
    assert deps == {"global", "a", "b"}
    assert not build(wf)  # the external inputs are missing
    for name in ("global", "a", "b"):
        (tmp_path / name).write_text(name.upper())
    assert build(Uses())
    assert (tmp_path / "u_1").read_text() == "B"
    # once a branch is done, its requirements are no longer the workflow's concern
    (tmp_path / "a").unlink()
    assert {t.name for t in luigi.task.flatten(Uses().requires())} == {"global"}


def test_run_location_from_config_per_family(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "law.cfg").write_text("[workflow]\ndefault = nowhere\nSquares = elsewhere\n")
    assert Squares(base=str(tmp_path)).job_manager_name() == "elsewhere"
    assert Squares(base=str(tmp_path), workflow="local").job_manager_name() == "local"

    class Other(law.LocalWorkflow):
        def create_branch_map(self):
            return 1

    assert Other().job_manager_name() == "nowhere"
    (tmp_path / "law.cfg").write_text("")
    from law_core.config import reset_config

    reset_config()
    assert Other().job_manager_name() == "local"


class Select(law.LocalWorkflow):
    base = luigi.Parameter()
    fail = law.CSVParameter(cls=luigi.IntParameter, default=())

    def create_branch_map(self):
        return 6

    def output(self):
        return law.LocalFileTarget(os.path.join(self.base, f"select_{self.branch}.json"))

    def run(self):
        if self.branch in self.fail:
            raise RuntimeError(f"select branch {self.branch} broke on purpose")
        self.output().dump({"selected": self.branch})


class Histogram(law.LocalWorkflow):
    base = luigi.Parameter()

    def create_branch_map(self):
        return 6

    def requires(self):
        return {"events": Select.req(self)}  # branch i needs Select branch i

    def output(self):
        return law.LocalFileTarget(os.path.join(self.base, f"hist_{self.branch}.json"))

    def run(self):
        self.output().dump({"filled": self.input()["events"].load()["selected"]})


def test_branches_of_an_upstream_workflow_are_required_as_that_workflow(tmp_path):
    """luigi sees one task per upstream workflow, never one per branch: the whole workflow
    when every branch of it is needed, else the workflow restricted to those branches."""
    hist = Histogram(base=str(tmp_path))
    assert hist.requires() == [{}, Select(base=str(tmp_path))]
    for b in (0, 1, 2, 4):
        (tmp_path / f"hist_{b}.json").write_text("{}")
    restricted = Histogram(base=str(tmp_path)).requires()[1]
    assert isinstance(restricted, Select) and restricted.branch == -1
    assert restricted.selected_branches() == [3, 5]
    assert law.MultiRangeParameter().serialize(restricted.branches) == "3,5"


def test_downstream_workflow_runs_after_its_upstream_workflow(tmp_path):
    assert build(Histogram(base=str(tmp_path)))
    for b in range(6):
        assert json.loads((tmp_path / f"hist_{b}.json").read_text()) == {"filled": b}
    # a re-run after one upstream and one downstream output went runs exactly those
    (tmp_path / "select_2.json").unlink()
    (tmp_path / "hist_2.json").unlink()
    assert build(Histogram(base=str(tmp_path)))
    assert (tmp_path / "select_2.json").exists() and (tmp_path / "hist_2.json").exists()


class LenientSelect(Select):
    """Done when half of its branches are: the analysis goes on without a broken file."""

    tolerance = luigi.FloatParameter(default=0.5, significant=False)
    acceptance = luigi.FloatParameter(default=0.5, significant=False)

    def run(self):
        if os.path.exists(os.path.join(self.base, f"break_{self.branch}")):
            raise RuntimeError(f"select branch {self.branch} broke on purpose")
        super().run()


class StrictHistogram(Histogram):
    def workflow_requires(self):
        reqs = super().workflow_requires()
        reqs["selection"] = LenientSelect.req(self)
        return reqs

    def requires(self):
        return {"events": LenientSelect.req(self)}


def test_branches_blocked_by_a_failed_upstream_branch_are_named_and_others_run(tmp_path):
    (tmp_path / "break_2").touch()
    assert not build(StrictHistogram(base=str(tmp_path)))
    done = sorted(p.name for p in tmp_path.glob("hist_*.json"))
    assert done == [f"hist_{b}.json" for b in (0, 1, 3, 4, 5)]  # only branch 2 could not run
    # the error the workflow raised (asked again: luigi's logging of it depends on the
    # filters earlier tests left on its logger)
    with pytest.raises(WorkflowError) as info:
        StrictHistogram(base=str(tmp_path)).run()
    assert str(info.value) == "1 of 6 branches of StrictHistogram are blocked by missing " \
        "inputs (branches 2; e.g. branch 2: its requirement LenientSelect branch 2 is not " \
        "complete), more than the tolerance allows (0)"
    # once the cause is gone, a re-run does exactly what is missing
    (tmp_path / "break_2").unlink()
    assert build(StrictHistogram(base=str(tmp_path)))
    assert (tmp_path / "select_2.json").exists() and (tmp_path / "hist_2.json").exists()


class Beyond(law.LocalWorkflow):
    base = luigi.Parameter()

    def create_branch_map(self):
        return 3

    def requires(self):
        return Select.req(self, branch=self.branch + 5)  # Select has 6 branches

    def output(self):
        return law.LocalFileTarget(os.path.join(self.base, f"beyond_{self.branch}.json"))


def test_branch_requiring_an_upstream_branch_beyond_its_map_names_both(tmp_path):
    with pytest.raises(TaskError, match=r"branch 1 of Beyond requires branch 6 of Select, "
                                        r"whose branch map has 6 branches \(0..5\)"):
        Beyond(base=str(tmp_path)).requires()


class OneBroken(law.LocalWorkflow):
    base = luigi.Parameter()
    tolerance = luigi.FloatParameter(default=0.0, significant=False)

    def create_branch_map(self):
        return 4

    def requires(self):
        if self.branch == 2:
            raise KeyError("no input file for branch 2")
        return Select.req(self)

    def output(self):
        return law.LocalFileTarget(os.path.join(self.base, f"one_{self.branch}.json"))

    def run(self):
        self.output().dump(self.input().load())


def test_branch_whose_requires_raises_fails_and_the_others_run(tmp_path, caplog):
    assert not build(OneBroken(base=str(tmp_path)))
    assert sorted(p.name for p in tmp_path.glob("one_*.json")) == \
        ["one_0.json", "one_1.json", "one_3.json"]
    assert "requires() of 1 branches of OneBroken raised, e.g. branch 2" in caplog.text
    assert "KeyError: 'no input file for branch 2'" in caplog.text
    # within the tolerance, and complete at the acceptance asked for
    assert build(OneBroken(base=str(tmp_path), tolerance=1, acceptance=0.75))


class Neighbours(law.LocalWorkflow):
    """Each branch records the output path of its neighbour's branch task."""

    base = luigi.Parameter()

    def create_branch_map(self):
        return 3

    def output(self):
        return law.LocalFileTarget(os.path.join(self.base, f"nb_{self.branch}.json"))

    def run(self):
        other = (self.branch + 1) % 3
        self.output().dump({"other": self.req_branch(other).output().path})


def test_branch_tasks_made_while_a_branch_runs_have_their_own_output(tmp_path):
    """A running branch's output() is built once; a branch task made from it (req_branch)
    still answers with its own outputs, not the running branch's."""
    assert build(Neighbours(base=str(tmp_path)))
    for b in range(3):
        record = json.loads((tmp_path / f"nb_{b}.json").read_text())
        assert record["other"] == str(tmp_path / f"nb_{(b + 1) % 3}.json"), b


def test_quick_branches_go_to_pool_processes_in_chunks_that_keep_every_process_busy():
    from law_core.workflow.local import CHUNK_SECONDS, _chunk_size

    assert _chunk_size(None, 1000, 2) == 1  # nothing timed yet
    assert _chunk_size(CHUNK_SECONDS / 50, 1000, 2) == 50  # as many as fill a chunk
    assert _chunk_size(1e-9, 1000, 2) == 250  # a quarter of what is left, with 2 processes
    assert _chunk_size(1e-9, 3, 2) == 1
    assert _chunk_size(60.0, 1000, 2) == 1  # slow branches go one at a time
