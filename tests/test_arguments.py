"""Parameters travel exactly: every value a task holds arrives as the same Python value in
another process (pool processes of --workers N, sandboxes, jobs), whatever it looks like."""

from __future__ import annotations

import datetime
import enum
import json

import luigi
import pytest

import law_core as law
from law_core.arguments import build_task, task_arguments
from law_core.errors import ParameterError
from law_core.testing.cli import run_cli
from law_core.testing.job_manager import SUITE_TASKS
from law_core.testing.sandbox import TRICKY_ARGS, TRICKY_VALUES


class Colour(enum.Enum):
    red = 1
    blue = 2


class Inner(law.Task):
    label = luigi.Parameter(default="")
    n = luigi.IntParameter(default=0)


#: (parameter, values it must carry exactly)
CASES = {
    "text": (luigi.Parameter(default=""), ["-x", "--flag-like", "", "a b\nc", "ünï ☃", "None",
                                            "a=b", "'quoted' \"twice\"", "$HOME `id`"]),
    "optional": (luigi.OptionalParameter(default=None), [None, "-", "None"]),
    "integer": (luigi.IntParameter(default=0), [-5, 0, 2**62]),
    "floating": (luigi.FloatParameter(default=0.0), [-1e-30, 0.1, 1e300, -0.0]),
    "flag": (luigi.BoolParameter(), [True, False]),
    "date": (luigi.DateParameter(default=None), [None, datetime.date(2024, 2, 29)]),
    "hour": (luigi.DateHourParameter(default=None), [datetime.datetime(2024, 1, 1, 13)]),
    "delta": (luigi.TimeDeltaParameter(default=datetime.timedelta(0)),
              [datetime.timedelta(days=1, seconds=5)]),
    "items": (luigi.ListParameter(default=[]), [(), (1, "-a", None, 2.5), ((1, 2), ("x",))]),
    "mapping": (luigi.DictParameter(default={}), [{"-k": [1, 2], "n": None}]),
    "choice": (luigi.ChoiceParameter(choices=["-a", "b"], default="b"), ["-a"]),
    "colour": (luigi.EnumParameter(enum=Colour, default=Colour.red), [Colour.blue]),
    "csv": (law.CSVParameter(default=()), [(), ("a", "-b", "c d")]),
    "multi_csv": (law.MultiCSVParameter(default=()), [(("a", "b"), ("-c",))]),
    "ranges": (law.MultiRangeParameter(default=()), [(), ((0, 10), (15, 16))]),
    "duration": (law.DurationParameter(default=1.0, unit="m"), [0.5, 90.0]),
    "size": (law.BytesParameter(default=0.0, unit="MB"), [2048.0]),
    "maybe": (law.OptionalBoolParameter(), [None, True, False]),
    "upstream": (law.TaskInstanceParameter(default=None),
                 [None, Inner(label="-x\nwith newline", n=-3)]),
}

Carrier = type("Carrier", (law.Task,), {name: param for name, (param, _) in CASES.items()})


@pytest.mark.parametrize("name, value", [
    (name, value) for name, (_, values) in CASES.items() for value in values])
def test_every_parameter_type_round_trips(name, value):
    task = Carrier(**{name: value})
    rebuilt = build_task(Carrier, task_arguments(task))
    assert rebuilt.param_kwargs[name] == task.param_kwargs[name]
    assert type(rebuilt.param_kwargs[name]) is type(task.param_kwargs[name])
    assert rebuilt.task_id == task.task_id


def test_a_parameter_whose_serialization_loses_the_value_is_refused():
    class Lossy(luigi.Parameter):
        def serialize(self, x):
            return str(x).lower()

    class HasLossy(law.Task):
        code = Lossy(default="a")

    with pytest.raises(ParameterError, match="the value 'ABC' of --code of HasLossy.* does "
                       "not survive the way to another process: it is written as 'abc'"):
        task_arguments(HasLossy(code="ABC"))


# through real processes: a pool of --workers 2 (jobs and sandboxes: the suites of every
# job manager and sandbox, law_core.testing)


def test_parameters_reach_pool_processes_exactly(tmp_path):
    (tmp_path / "suite_tasks.py").write_text(SUITE_TASKS)
    result = run_cli(["run", "suite_tasks.SuiteTravels", *TRICKY_ARGS, "--workflow", "local",
                      "--workers", "2"], tmp_path)
    assert result.returncode == 0, result.stderr
    outputs = sorted((tmp_path / "data" / "SuiteTravels").glob("travelled_*.json"))
    assert len(outputs) == 2
    for path in outputs:
        facts = json.loads(path.read_text())
        facts.pop("pid")
        assert facts == TRICKY_VALUES


FAMILY_ANALYSIS = '''
import luigi
import law_core as law


class Up(law.LocalWorkflow):
    scale = luigi.IntParameter(default=1)

    def create_branch_map(self):
        return 4

    def output(self):
        return self.local_target(f"up_{self.branch}_x{self.scale}.json")

    def run(self):
        self.output().dump(self.branch * self.scale)


class Down(law.SandboxTask):
    def requires(self):
        return Up.req(self)

    def output(self):
        return self.local_target("down.json")

    def run(self):
        coll = self.input()["collection"]
        self.output().dump(sum(t.load() for t in coll.targets.values()))
'''


def test_family_flags_set_an_upstream_parameter_in_every_process(tmp_path):
    """luigi's ``--Up-scale 3``: a parameter of another task class, as law users give it;
    the upstream workflow runs with it, in branch processes, and the sandboxed task inside
    its sandbox finds its inputs where that workflow wrote them."""
    (tmp_path / "fam.py").write_text(FAMILY_ANALYSIS)
    (tmp_path / "setup.sh").write_text("export IN_SANDBOX=1\n")
    # law-core's own sections, whose names are also task families' in lower case
    (tmp_path / "law.cfg").write_text("[workflow]\nUp = local\n[sandbox]\nforward_env = X\n")
    result = run_cli(["run", "fam.Down", "--Up-scale", "3", "--workers", "2",
                      "--sandbox", f"bash::{tmp_path / 'setup.sh'}"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in (tmp_path / "data" / "Up").iterdir()) == [
        f"up_{b}_x3.json" for b in range(4)]
    assert json.loads((tmp_path / "data" / "Down" / "down.json").read_text()) == 18
    status = run_cli(["run", "fam.Down", "--Up-scale=3", "--print-status", "1"], tmp_path)
    assert status.returncode == 0 and "absent" not in status.stdout, status.stdout


@pytest.mark.parametrize("args, words", [
    (["--Up-scale", "three"], "bad value 'three' for --Up-scale, the parameter scale of Up"),
    (["--Up-scale"], "--Up-scale needs a value"),
    (["--Up-scales", "3"], "unknown parameter --Up-scales of Down"),
])
def test_bad_family_flags_are_clear_errors(tmp_path, args, words):
    (tmp_path / "fam.py").write_text(FAMILY_ANALYSIS)
    result = run_cli(["run", "fam.Down", *args], tmp_path)
    assert result.returncode != 0 and words in result.stderr, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()
