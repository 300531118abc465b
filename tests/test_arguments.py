"""Parameters travel exactly: every value a task holds arrives as the same Python value in
another process (pool processes of --workers N, sandboxes, jobs), whatever it looks like."""

from __future__ import annotations

import datetime
import enum
import json
from pathlib import Path

import luigi
import pytest

import law_core as law
from law_core.arguments import build_task, task_arguments
from law_core.errors import ParameterError
from law_core.testing.cli import run_cli, write_module


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


# through real processes: a pool of --workers 2, and a bash sandbox

TRAVELLERS = """
    import datetime
    import json
    import os

    import luigi
    import law_core as law


    def describe(task):
        return json.dumps({"note": task.note, "date": str(task.day), "empty": task.empty,
                           "maybe": task.maybe, "items": list(task.items), "pid": os.getpid()})


    class Notes(law.LocalWorkflow):
        note = luigi.Parameter()
        day = luigi.DateParameter(default=None)
        empty = luigi.Parameter(default="x")
        maybe = law.OptionalBoolParameter()
        items = luigi.ListParameter(default=[])

        def create_branch_map(self):
            return 4

        def output(self):
            return self.local_target(f"notes_{self.branch}.json")

        def run(self):
            self.output().dump(describe(self), formatter="text")


    class SandboxedNotes(law.SandboxTask):
        note = luigi.Parameter()
        day = luigi.DateParameter(default=None)
        empty = luigi.Parameter(default="x")
        maybe = law.OptionalBoolParameter()
        items = luigi.ListParameter(default=[])

        def output(self):
            return self.local_target("sandboxed.json")

        def run(self):
            assert os.environ.get("IN_SETUP") == "yes"  # really inside the sandbox
            self.output().dump(describe(self), formatter="text")
"""

ARGS = ["--note=-x --y\nünï", "--empty=", "--maybe=false", '--items=[1, "-a", null]']
EXPECTED = {"note": "-x --y\nünï", "date": "None", "empty": "", "maybe": False,
            "items": [1, "-a", None]}


def _described(path: Path) -> dict:
    described = json.loads(path.read_text())
    described.pop("pid")
    return described


@pytest.fixture
def travellers(tmp_path):
    write_module(tmp_path, "travellers", TRAVELLERS)
    return tmp_path


def test_parameters_reach_pool_processes_exactly(travellers):
    result = run_cli(["run", "travellers.Notes", *ARGS, "--workers", "2"], travellers)
    assert result.returncode == 0, result.stderr
    outputs = sorted((travellers / "data" / "Notes").glob("notes_*.json"))
    assert len(outputs) == 4
    assert all(_described(p) == EXPECTED for p in outputs)


def test_parameters_reach_a_bash_sandbox_exactly(travellers):
    setup = travellers / "setup.sh"
    setup.write_text("export IN_SETUP=yes\n")
    result = run_cli(["run", "travellers.SandboxedNotes", *ARGS, "--sandbox",
                      f"bash::{setup}"], travellers)
    assert result.returncode == 0, result.stderr
    assert _described(travellers / "data" / "SandboxedNotes" / "sandboxed.json") == EXPECTED
