"""law.Task, WrapperTask, ExternalTask and law.parameter as law analyses use them; the same
script's output is compared with law 0.1.21's own (benchmarks/.venv-law, made by
benchmarks/setup_law.sh)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import law
import luigi
import pytest
from law_reference import LAW_VENV

LAW_PYTHON = LAW_VENV / "bin" / "python"


@pytest.fixture(autouse=True)
def _law_installed(law_bin: Path) -> None:
    """law 0.1.21 to compare with, set up once per session."""


@pytest.fixture(autouse=True)
def _fresh_instances():
    luigi.task_register.Register.clear_instance_cache()


def _run(python: Path | str, script: str, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LAW_CONFIG_FILE")}
    env["LAW_HOME"] = str(cwd / ".law")
    env["LAW_CONFIG_FILE"] = str(cwd / "law.cfg")
    (cwd / "law.cfg").write_text("")
    result = subprocess.run([str(python), "-c", textwrap.dedent(script)], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def same_as_law(script: str, tmp_path: Path) -> str:
    """The output of ``script`` with law-core-compat, asserted equal to law 0.1.21's."""
    ours = _run(sys.executable, script, tmp_path)
    theirs = _run(LAW_PYTHON, script, tmp_path)
    assert ours == theirs
    return ours


TASKS = """
import luigi, law

def P(params):
    # law's log_file is a parameter there, a class attribute here (law-core's run has
    # its own --log-file)
    return sorted((k, v) for k, v in params.items() if k != "log_file")

class Base(law.Task):
    n = luigi.IntParameter(default=3)
    s = luigi.Parameter(default="x")
    hidden = luigi.Parameter(default="h", significant=False)
    c = law.CSVParameter(default=(1, 2), cls=luigi.IntParameter)
    def output(self):
        return law.LocalFileTarget("out_%d.txt" % self.n)
    def run(self):
        pass

class Other(Base):
    exclude_params_repr = {"s"}
    t = law.DurationParameter(default=310, unit="s")
    b = law.BytesParameter(default=2048.0)

class Wrap(law.WrapperTask):
    def requires(self):
        return [Base(n=1), Base(n=2)]

class Ext(law.ExternalTask):
    def output(self):
        return law.LocalFileTarget("ext.txt")
"""


def test_repr_str_cli_args_and_parsing_match_law(tmp_path):
    out = same_as_law(TASKS + """
t = Base(n="5", c="3,4")
print(repr(t), str(t), type(t.n).__name__, t.c)
print(Other(), Wrap(), Ext())
print(t.task_family, t.task_id)
print(dict(Other().cli_args(exclude=["log_file"])))
print(dict(Other().cli_args(exclude=["log_*", "h*"], replace={"n": 9})))
print(Other().repr(all_params=True))
""", tmp_path)
    assert "Base(n=5, s=x, c=3,4)" in out
    assert "Other(n=3, c=1,2, t=05:10, b=2048MB) Wrap(wrap_once=False, wrapper) Ext(external)" \
        in out


def test_req_and_req_params_match_law(tmp_path):
    same_as_law(TASKS + """
class NoC(Base):
    exclude_params_req_get = {"c"}
class NoSetS(Base):
    exclude_params_req_set = {"s"}
class Child(NoC):
    exclude_params_req_get = {"n"}
class Back(Child):
    include_params_req_get = {"c"}
src = Base(n=7, s="y", c=(5,))
print(P(NoC.req_params(src)))
print(P(Base.req_params(NoSetS(s="z"))))
print(P(Child.req_params(src)), P(Back.req_params(src)))
print(P(Base.req_params(src, _exclude=["h*", "s"], n=1)))
print(P(NoC.req_params(src, _skip_task_excludes=True)))
print(NoC.req(src), Other.req(src, t="1h"), Base.req(Wrap()))
print(sorted(Child.exclude_params_req_get), sorted(Back.exclude_params_req_get))
""", tmp_path)


def test_walk_deps_and_wrapper_outputs_match_law(tmp_path):
    same_as_law(TASKS + """
for task, deps, depth in Wrap().walk_deps():
    print(depth, task, deps)
for item in Wrap().walk_deps(order="pre", yield_last_flag=True):
    print(item[0], item[2], item[3])
print([t.path.rsplit("/", 1)[-1] for t in Wrap().output()])  # target reprs differ
print(Wrap(wrap_once=True).output(), Wrap(wrap_once=True).complete())
""", tmp_path)


def test_modify_param_values_is_called_on_construction():
    calls = []

    class Derived(law.Task):
        n = luigi.IntParameter(default=1)
        twice = luigi.IntParameter(default=0)

        @classmethod
        def modify_param_values(cls, params):
            calls.append(dict(params))
            params["twice"] = 2 * params["n"]
            params["not_a_param"] = "dropped"
            return params

    task = Derived(n="4")
    assert task.n == 4 and task.twice == 8
    assert calls[-1] == {"n": 4, "twice": 0}  # strings are parsed before the hook
    assert Derived.req(task, n=5).twice == 10


def test_exclude_index_is_not_inherited():
    class Indexed(law.Task):
        pass

    class Hidden(law.Task):
        exclude_index = True

    class BelowHidden(Hidden):
        pass

    assert law.Task.exclude_index and Hidden.exclude_index
    assert not Indexed.exclude_index and not BelowHidden.exclude_index


def test_publish_message_reaches_stdout_and_the_scheduler():
    class Talk(law.Task):
        def run(self):
            pass

    task = Talk()
    seen = []
    task.set_status_message = seen.append
    out = io.StringIO()
    task.publish_message("hello", stdout=out)
    with task.publish_step("working ...", runtime=False):
        pass
    assert out.getvalue() == "hello\n"
    assert seen[-1] == "hello\nworking ...\ndone"


def test_string_values_given_in_code_are_parsed():
    class Typed(law.Task):
        n = luigi.IntParameter(default=0)
        f = luigi.FloatParameter(default=0.0)
        flag = luigi.BoolParameter(default=False)
        t = law.DurationParameter(default=0, unit="m")

    task = Typed(n="3", f="1.5", flag="true", t="90s")
    assert (task.n, task.f, task.flag, task.t) == (3, 1.5, True, 1.5)


def test_a_task_without_outputs_is_complete_as_in_law():
    class Nothing(law.Task):
        pass

    assert Nothing().complete()


def test_cached_requirements_are_not_shared_with_copies():
    class Leaf(law.Task):
        name = luigi.Parameter()

        def output(self):
            return law.LocalFileTarget(f"/nonexistent/{self.name}")

    class Cached(law.Task):
        which = luigi.Parameter(default="a")
        cache_requirements = True

        def requires(self):
            return Leaf(name=self.which)

    task = Cached()
    assert task.input().path.endswith("/a")
    # as law-core copies a workflow for its branches: the instance's attributes and all
    copy = object.__new__(Cached)
    copy.__dict__ = {**task.__dict__, "which": "b",
                     "param_kwargs": {**task.param_kwargs, "which": "b"}}
    copy.__dict__.pop("_task_id", None)
    assert copy.input().path.endswith("/b")


def test_subclass_with_its_own_local_target_still_gets_an_output_directory(tmp_path):
    class Mine(law.Task):
        def local_path(self, *path):
            return os.path.join(str(tmp_path), "mine", *path)

        def local_target(self, *path, **kwargs):
            return law.LocalFileTarget(self.local_path(*path), **kwargs)

        def output(self):
            return self.local_target("out.txt")

    task = Mine()
    assert task.output().path == str(tmp_path / "mine" / "out.txt")
    # law-core's own use of the task's directory never calls the user's local_target
    assert isinstance(task.output_directory(), law.LocalDirectoryTarget)
    assert not task.complete()


# --- parameters --------------------------------------------------------------------------

PARAMS = """
import luigi, law
from law.parameter import *
def show(p, *values):
    for v in values:
        try:
            print(repr(v), "->", repr(p.parse(v)))
        except Exception as e:
            print(repr(v), "-> error", type(e).__name__)
def ser(p, *values):
    for v in values:
        print(repr(v), "=>", repr(p.serialize(v)))
"""


def test_csv_parameters_match_law(tmp_path):
    same_as_law(PARAMS + r"""
show(CSVParameter(cls=luigi.IntParameter), "4,5,6,6", "", "NO_STR", "4,", [1, 2])
show(CSVParameter(), 'a,b,"c,d"', "a,b,c\\,d", "a, b")
show(CSVParameter(cls=luigi.IntParameter, unique=True, sort=True), "6,4,6,5")
show(CSVParameter(cls=luigi.IntParameter, max_len=2), "4,5,6")
show(CSVParameter(cls=luigi.IntParameter, min_len=2), "4")
show(CSVParameter(cls=luigi.IntParameter, choices=(1, 2)), "2,3", "1,2")
show(CSVParameter(cls=luigi.IntParameter, brace_expand=True), "1{2,3,4}9")
show(CSVParameter(cls=luigi.IntParameter, force_tuple=False), "1", "1,", "1,2")
ser(CSVParameter(cls=luigi.IntParameter), (7, 8, 9), (), None, "NO_STR", 5)
ser(CSVParameter(cls=luigi.IntParameter, force_tuple=False), 1, (1,), (1, 2))
show(MultiCSVParameter(cls=luigi.IntParameter), "4,5:6,6", "", "a")
show(MultiCSVParameter(), 'a,b:"c:d"', "a,b:c\\:d")
show(MultiCSVParameter(cls=luigi.IntParameter, brace_expand=True), "4,5:6,7,8{8,9}")
ser(MultiCSVParameter(cls=luigi.IntParameter), ((7, 8), (9,)), ())
""", tmp_path)


def test_range_parameters_match_law(tmp_path):
    same_as_law(PARAMS + r"""
show(RangeParameter(), "4:8", "4:", "4", ":5", "a:b", "", "1:2:3")
show(RangeParameter(require_start=False, require_end=False), "4:", ":5", ":")
show(RangeParameter(single_value=True), "4", 4)
ser(RangeParameter(), (5, 9), ())
ser(RangeParameter(require_start=False), (None, 8))
show(MultiRangeParameter(), "4:8,12:14", "", "4:8,5")
show(MultiRangeParameter(require_end=False, single_value=True), "4:8,12:,3")
ser(MultiRangeParameter(), ((5, 9), (13, 15)), ())
print(RangeParameter.expand((4, 8)), MultiRangeParameter.expand(((4, 8), (12, 14))))
""", tmp_path)


def test_duration_bytes_and_markers_match_law(tmp_path):
    same_as_law(PARAMS + r"""
for unit in ("s", "m", "h"):
    p = DurationParameter(unit=unit)
    show(p, "5", "5s", "5m", "05:10", "5 minutes, 15 seconds", "1.5h", "2d", "", "1:02:03", 7)
    ser(p, 310, 0, 5400, 90061, 0.5, 1.25)
for unit in ("MB", "GB", "kB"):
    p = BytesParameter(unit=unit)
    show(p, "5", "5 MB", "1 GB", "2GB", "1024kB", "", "3 bytes", "1 gb", "1KiB")
    ser(p, 310, 1024, 0.5, 2048.0, "2048 MB")
print([law.is_no_param(v) for v in (NO_STR, NO_INT, NO_FLOAT, law.util.no_value, 0, "", None)])
print(get_param(NO_STR, "d"), get_param(5, "d"), NO_STR, NO_INT, NO_FLOAT)
o = OptionalBoolParameter()
show(o, "yes", "No", "1", "0", "None", "maybe", True, None)
print(o.serialize(None), o.serialize(True))
""", tmp_path)


def test_task_instance_parameter_serializes_to_the_task_id():
    class Inner(law.Task):
        n = luigi.IntParameter(default=1)

    class Outer(law.Task):
        inner = law.TaskInstanceParameter()

    inner = Inner(n=2)
    assert law.TaskInstanceParameter().serialize(inner) == inner.task_id
    assert repr(Outer(inner=inner)) == f"Outer(inner={inner.task_id})"


def test_notify_parameters_are_bool_switches_with_transports():
    sent = []
    custom = law.NotifyCustomParameter(notify_func=lambda *a, **k: sent.append((a, k)))
    transport = custom.get_transport()
    transport["func"](True, "title", {"Task": "x"}, on_success=True)
    assert sent == [(("title", {"Task": "x"}), {"on_success": True})]
    multi = law.NotifyMultiParameter(parameters=[custom, law.NotifyMailParameter()])
    assert len(multi.get_transport()) == 2
    assert isinstance(law.NotifyMailParameter(), luigi.BoolParameter)
    assert law.NotifyMailParameter.format_message(False, "t", {"A": 1, "Traceback": "tb"}) == \
        ("t", "**Status**: failure\n**A**: 1\n**Traceback**: \n```\ntb\n```")
