"""The local scheduler hands out the tasks luigi's scheduler would, without walking every
task for each request (law_core.luigi_internals.LocalScheduler, issue 13)."""

from __future__ import annotations

import random
import time
from pathlib import Path

import luigi
import luigi.scheduler
import pytest
from luigi.task_status import DONE, FAILED, PENDING

from law_core import luigi_internals
from law_core.luigi_internals import LocalScheduler, SchedulerFactory

WORKER = "w"


class _Clock:
    """A stand-in for the ``time`` module of luigi's scheduler and law-core's whose clock
    moves only when the test says so: both schedulers see the same times."""

    def __init__(self) -> None:
        self.now = 1000.0

    def time(self) -> float:
        return self.now

    monotonic = time


def _ready_by_brute_force(scheduler):
    state = scheduler._state
    return {task.id for task in state.get_active_tasks_by_status(PENDING)
            if task.workers and scheduler._schedulable(task)}


def _random_graph(rng: random.Random, n: int):
    tasks = []
    for i in range(n):
        deps = [f"t{j}" for j in rng.sample(range(i), min(i, rng.choice([0, 1, 1, 2, 3])))]
        resources = rng.choice([{}, {}, {}, {"r": 1}, {"s": 1}, {"r": 1, "s": 1}])
        tasks.append({
            "task_id": f"t{i}", "deps": deps, "resources": resources,
            "priority": rng.choice([0, 0, 0, 1, 5]),
            "status": DONE if rng.random() < 0.1 else PENDING,
            "runnable": rng.random() > 0.05,  # an incomplete external task
        })
    rng.shuffle(tasks)
    return tasks


@pytest.mark.parametrize("seed", range(25))
@pytest.mark.parametrize("processes", [1, 2, 3])
def test_the_same_choices_as_luigis_scheduler(monkeypatch, seed, processes):
    """Fed the same calls as a luigi worker makes, LocalScheduler hands out the same task
    at each request as luigi's own Scheduler (priorities, time, deps, resources with
    luigi's reservations for higher-ranked tasks, failures and retries, a priority raised
    later)."""
    clock = _Clock()
    monkeypatch.setattr(luigi.scheduler, "time", clock)
    monkeypatch.setattr(luigi_internals, "time", clock)
    resources = {"r": 1, "s": 1}
    ours = LocalScheduler(resources=dict(resources), retry_delay=30.0)
    ours.prune_interval = float("inf")
    reference = luigi.scheduler.Scheduler(resources=dict(resources), retry_delay=30.0,
                                          prune_on_get_work=False, record_task_history=False)
    fast_path = []
    original = ours._next_ready
    monkeypatch.setattr(ours, "_next_ready", lambda w: fast_path.append(w) or original(w))
    rng = random.Random(seed)
    both = (ours, reference)
    for scheduler in both:
        scheduler.add_worker(WORKER, [("workers", processes)])
    for task in _random_graph(rng, 40):
        for scheduler in both:
            scheduler.add_task(worker=WORKER, family="T", **task)
    # distinct creation times (luigi's second sort key), in a random order: of two tasks
    # of equal rank luigi takes the one its worker's task set yields first, which is not
    # always the same in two schedulers
    order = list(ours._state._tasks)
    rng.shuffle(order)
    for i, task_id in enumerate(order):
        for scheduler in both:
            scheduler._state._tasks[task_id].time = 500.0 + i
        ours._state.refresh(ours._state._tasks[task_id])
    running: list[str] = []
    handed_out, done = [], set()
    for _step in range(400):
        clock.now += 1
        assert ours._state.ready_ids() == _ready_by_brute_force(ours)
        if len(running) < processes and (not running or rng.random() < 0.6):
            replies = [s.get_work(worker=WORKER, host="h", current_tasks=list(running))
                       for s in both]
            assert replies[0]["task_id"] == replies[1]["task_id"]
            assert replies[0]["n_pending_tasks"] == replies[1]["n_pending_tasks"]
            if replies[0]["task_id"] is None:
                if not running:
                    break
            else:
                assert replies[0]["task_id"] not in done
                running.append(replies[0]["task_id"])
                handed_out.append(replies[0]["task_id"])
        elif running:
            task_id = running.pop(rng.randrange(len(running)))
            status = FAILED if rng.random() < 0.1 else DONE
            if status == DONE:
                done.add(task_id)
            for scheduler in both:
                scheduler.add_task(worker=WORKER, task_id=task_id, status=status, runnable=None)
        if rng.random() < 0.05:  # failed tasks become pending again after retry_delay
            for scheduler in both:
                scheduler.prune()
        if rng.random() < 0.05:  # another task requires a pending one, with a higher priority
            pending = sorted(t.id for t in ours._state.get_active_tasks_by_status(PENDING))
            if pending:
                task_id, priority = rng.choice(pending), rng.choice([2, 10])
                for scheduler in both:
                    scheduler.add_task(worker=WORKER, task_id=task_id, priority=priority)
    else:
        pytest.fail("the run did not end")
    assert len(handed_out) > 5
    assert fast_path, "the comparison went through luigi's get_work, not the index"


def test_resources_wait_for_a_higher_priority_task_that_needs_them():
    """luigi keeps the resources a higher-priority task waits for from a lower-priority one:
    with ``r`` taken (by a task of lower priority), ``high`` (r and s) waits, and ``low``
    (s) may not take ``s``."""
    handed_out = []
    for scheduler in (LocalScheduler(resources={"r": 1, "s": 1}),
                      luigi.scheduler.Scheduler(resources={"r": 1, "s": 1},
                                                record_task_history=False)):
        scheduler.add_worker(WORKER, [("workers", 2)])
        scheduler.add_task(worker=WORKER, task_id="holder", resources={"r": 1}, priority=0)
        assert scheduler.get_work(worker=WORKER, current_tasks=[])["task_id"] == "holder"
        for task_id, resources, priority in [("high", {"r": 1, "s": 1}, 5),
                                             ("low", {"s": 1}, 1), ("free", {}, 0)]:
            scheduler.add_task(worker=WORKER, task_id=task_id, resources=resources,
                               priority=priority)
        handed_out.append(scheduler.get_work(worker=WORKER, current_tasks=["holder"])["task_id"])
    assert handed_out == ["free", "free"]


def test_a_request_for_work_does_not_walk_every_task(monkeypatch):
    """With thousands of pending tasks, handing one out reads neither the list of pending
    tasks nor each task's deps (what made luigi's get_work quadratic)."""
    scheduler = LocalScheduler()
    scheduler.add_worker(WORKER, [("workers", 1)])
    for i in range(3000):
        scheduler.add_task(worker=WORKER, task_id=f"a{i}", priority=i % 7)
        scheduler.add_task(worker=WORKER, task_id=f"b{i}", deps=[f"a{i}"])

    state_class = type(scheduler._state)
    walk = state_class.get_active_tasks_by_status

    def no_pending_walk(self, *statuses):
        assert PENDING not in statuses, "get_work walked every pending task"
        return walk(self, *statuses)

    def forbidden(*args, **kwargs):
        raise AssertionError("get_work looked at every task")

    monkeypatch.setattr(state_class, "get_active_tasks_by_status", no_pending_walk)
    monkeypatch.setattr(state_class, "get_active_tasks", forbidden)
    monkeypatch.setattr(luigi.scheduler.Scheduler, "_schedulable", forbidden)
    monkeypatch.setattr(luigi.scheduler.Worker, "is_trivial_worker", forbidden)
    first = scheduler.get_work(worker=WORKER, host="h", current_tasks=[])
    assert first["task_id"] == "a6"  # the highest priority, the earliest of those
    assert first["n_pending_tasks"] == 6000
    scheduler.add_task(worker=WORKER, task_id="a6", status=DONE, runnable=None)
    second = scheduler.get_work(worker=WORKER, host="h", current_tasks=[])
    assert second["task_id"] == "a13"  # b6 is ready now, with its priority 0
    assert second["n_pending_tasks"] == 5999


# -- whole runs with luigi's worker ------------------------------------------------------


class Recorded(luigi.Task):
    """Appends its name and run time to ``log`` when it runs (one line per run, from any
    process). It requires the tasks ``graph`` lists for its name; the names in ``failing``
    raise instead; ``hold`` sleeps first (seconds)."""

    priority = luigi.IntParameter(default=0, significant=False)
    name = luigi.Parameter()
    log = luigi.Parameter()
    graph = luigi.DictParameter(default={})
    failing = luigi.ListParameter(default=())
    hold = luigi.FloatParameter(default=0.0)

    def requires(self):
        return [Recorded(name=name, log=self.log, graph=self.graph, failing=self.failing)
                for name in self.graph.get(self.name, ())]

    def output(self):
        return luigi.LocalTarget(str(Path(self.log).parent / f"{self.name}.out"))

    def run(self):
        start = time.time()
        time.sleep(self.hold)
        with open(self.log, "a") as log:
            log.write(f"{self.name} {start} {time.time()}\n")
        if self.name in self.failing:
            raise RuntimeError(f"{self.name} fails on purpose")
        with self.output().open("w") as out:
            out.write("done")


class Limited(Recorded):
    resources = {"gpu": 1}


def _build(tasks, workers=1):
    return luigi.build(tasks, worker_scheduler_factory=SchedulerFactory(),
                       local_scheduler=True, workers=workers, detailed_summary=True,
                       log_level="WARNING")


def _runs(log: Path) -> list[tuple[str, float, float]]:
    if not log.exists():
        return []
    return [(name, float(start), float(end))
            for name, start, end in (line.split() for line in log.read_text().splitlines())]


def test_higher_priority_first_then_requirements(tmp_path):
    log = str(tmp_path / "log")
    graph = {"top": ["low"]}
    tasks = [Recorded(name=f"p{p}", log=log, graph=graph, priority=p) for p in (1, 9, 5, 0)]
    tasks.append(Recorded(name="low", log=log, graph=graph, priority=3))
    tasks.append(Recorded(name="top", log=log, graph=graph))
    assert _build(tasks).status == luigi.LuigiStatusCode.SUCCESS
    order = [name for name, _, _ in _runs(Path(log))]
    assert order == ["p9", "p5", "low", "p1", "p0", "top"]


def test_dependencies_run_before_their_dependents(tmp_path):
    log = str(tmp_path / "log")
    graph = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"], "e": ["d", "a"]}
    result = _build([Recorded(name="e", log=log, graph=graph)], workers=2)
    assert result.status == luigi.LuigiStatusCode.SUCCESS
    runs = {name: (start, end) for name, start, end in _runs(Path(log))}
    assert sorted(runs) == sorted(graph)
    for name, needs in graph.items():
        for dep in needs:
            assert runs[dep][1] <= runs[name][0], f"{name} started before {dep} ended"


def test_resources_limit_concurrency_with_two_workers(tmp_path):
    log = str(tmp_path / "log")
    config = luigi.configuration.get_config()
    if not config.has_section("resources"):
        config.add_section("resources")
    config.set("resources", "gpu", "1")  # luigi's [resources]: at most one gpu task at a time
    try:
        tasks = [Limited(name=f"g{i}", log=log, hold=0.3) for i in range(4)]
        assert _build(tasks, workers=2).status == luigi.LuigiStatusCode.SUCCESS
    finally:
        config.remove_option("resources", "gpu")
    runs = sorted(_runs(Path(log)), key=lambda run: run[1])
    assert len(runs) == 4
    for (_, _, end), (name, start, _) in zip(runs, runs[1:]):
        assert end <= start, f"{name} started while another task held the gpu"


def test_a_failed_task_blocks_its_dependents_and_the_rest_goes_on(tmp_path):
    log = str(tmp_path / "log")
    blocked = Recorded(name="blocked", log=log, graph={"blocked": ["bad"]}, failing=["bad"])
    others = [Recorded(name=f"ok{i}", log=log) for i in range(3)]
    result = _build([blocked, *others], workers=2)
    assert result.status == luigi.LuigiStatusCode.FAILED
    names = [name for name, _, _ in _runs(Path(log))]
    assert sorted(names) == ["bad", "ok0", "ok1", "ok2"]  # bad ran once, blocked never


def test_each_task_runs_once_with_several_workers(tmp_path):
    log = str(tmp_path / "log")
    leaves = [f"leaf{i}" for i in range(12)]
    mids = [f"mid{i}" for i in range(4)]
    graph = {name: leaves[i::4] for i, name in enumerate(mids)}
    graph["top"] = mids + leaves[:3]
    result = _build([Recorded(name="top", log=log, graph=graph)], workers=3)
    assert result.status == luigi.LuigiStatusCode.SUCCESS
    names = [name for name, _, _ in _runs(Path(log))]
    assert sorted(names) == sorted(leaves + mids + ["top"])


@pytest.mark.parametrize("params", [
    {}, {"a": "1"}, {"branch": "-1", "dataset": "ttbar", "shift": "nominal"},
    {"name": "ü \" quotes 'and' / slashes", "x" * 80: "y" * 200, "n": "3"},
    {f"p{i}": str(i) * i for i in range(12)},
])
def test_task_ids_are_luigis(params):
    """law-core's task ids are luigi's: the central scheduler and luigi's own tools name
    the same tasks by them."""
    from luigi.task import task_id_str as luigis

    from law_core.luigi_internals import task_id_str

    assert task_id_str("ana.Select", params) == luigis("ana.Select", params)
