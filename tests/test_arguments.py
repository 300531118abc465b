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
