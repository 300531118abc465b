"""The task API beyond outputs: req's exclusion sets as law defines them, messages and
progress for the scheduler, and walking the requirement tree."""

from __future__ import annotations

import io

import luigi
import pytest

import law_core as law


@pytest.fixture(autouse=True)
def _fresh_instances():
    """luigi hands out one instance per class and values: each test gets new ones."""
    luigi.task_register.Register.clear_instance_cache()


class Source(law.Task):
    a = luigi.IntParameter(default=1)
    b = luigi.IntParameter(default=2)
    c = luigi.IntParameter(default=3)


class Target(law.Task):
    a = luigi.IntParameter(default=10)
    b = luigi.IntParameter(default=20)
    c = luigi.IntParameter(default=30)


class NotSettingB(Source):
    exclude_params_req_set = {"b"}


class NotGettingC(Target):
    exclude_params_req_get = {"c"}


def test_req_takes_shared_values():
    assert Target.req(Source(a=5)).param_kwargs == {"a": 5, "b": 2, "c": 3}


def test_req_set_excludes_on_the_source_and_get_on_the_target():
    # law's meaning: the source does not *set* b on others, the target does not *get* c
    assert Target.req(NotSettingB(a=5)).param_kwargs == {"a": 5, "b": 20, "c": 3}
    assert NotGettingC.req(Source(a=5)).param_kwargs == {"a": 5, "b": 2, "c": 30}
    # and not the other way round
    assert Target.req(NotGettingC(a=5)).param_kwargs == {"a": 5, "b": 20, "c": 30}
    assert NotSettingB.req(Source(a=5)).param_kwargs == {"a": 5, "b": 2, "c": 3}


def test_req_overrides_win_over_exclusions():
    assert NotGettingC.req(Source(), c=7).c == 7


def test_exclude_sets_add_up_along_the_hierarchy_and_include_takes_out():
    class Base(law.Task):
        exclude_params_req = {"x"}
        exclude_params_custom = {"p"}

    class Mixin:
        exclude_params_req = {"m"}

    class Child(Base, Mixin):
        exclude_params_req = {"y"}

    class GrandChild(Child):
        include_params_req = {"x"}

    class Plain(Child):
        pass

    assert Child.exclude_params_req == {"x", "y", "m"}
    assert Child.exclude_params_custom == {"p"}
    assert GrandChild.exclude_params_req == {"y", "m"}
    assert Plain.exclude_params_req == {"x", "y", "m"}
    assert Base.exclude_params_req == {"x"}  # the base's set is left alone


class Quiet(law.Task):
    def run(self):
        pass


def test_publish_message_prints_and_sets_the_status_message():
    task = Quiet()
    seen = []
    task.set_status_message = seen.append
    out = io.StringIO()
    task.publish_message("\x1b[32mgreen\x1b[0m", stdout=out)
    task.publish_message("second", stdout=out)
    assert out.getvalue() == "\x1b[32mgreen\x1b[0m\nsecond\n"
    # colors are for terminals; the scheduler gets the recent messages as plain text
    assert seen == ["green", "green\nsecond"]
    task.publish_message("fresh", stdout=False, flush_cache=True)
    assert seen[-1] == "fresh"
    assert out.getvalue().endswith("second\n")  # not printed


def test_publish_message_keeps_only_the_latest_messages():
    class Short(Quiet):
        message_cache_size = 2

    task = Short()
    seen = []
    task.set_status_message = seen.append
    for i in range(4):
        task.publish_message(str(i), stdout=False)
    assert seen[-1] == "2\n3"


def test_publish_message_without_a_scheduler_only_prints(capsys):
    Quiet().publish_message("hello")
    assert capsys.readouterr().out == "hello\n"


def test_publish_progress_rounds_down_and_sends_changes_once():
    task = Quiet()
    seen = []
    task.set_progress_percentage = seen.append
    for value in (12.7, 12.9, 13.0, 99.99, 100):
        task.publish_progress(value)
    assert seen == [12, 13, 99, 100]
    task.publish_progress(47, precision=5)
    assert seen[-1] == 45


def test_progress_callback_covers_its_reach():
    task = Quiet()
    seen = []
    task.set_progress_percentage = seen.append
    callback = task.create_progress_callback(4, reach=(50, 100))
    for i in range(4):
        callback(i)
    assert seen == [62, 75, 87, 100]
    first, second = task.create_progress_callback([2, 2])
    seen.clear()
    first(0), first(1), second(0), second(1)
    assert seen == [25, 50, 75, 100]
    assert list(task.iter_progress("ab", 2)) == ["a", "b"]


def test_messages_of_a_copy_do_not_reach_the_original():
    from law_core.luigi_internals import copy_with_params

    task = Quiet()
    task.publish_message("one", stdout=False)
    copy = copy_with_params(task)
    copy.publish_message("two", stdout=False)
    assert task._message_cache == ("one",)
    assert copy._message_cache == ("one", "two")


class Leaf(Quiet):
    name = luigi.Parameter()


class Middle(Quiet):
    def requires(self):
        return {"x": Leaf(name="x"), "y": [Leaf(name="y")]}


class Top(Quiet):
    def requires(self):
        return [Middle(), Leaf(name="z")]


def _names(walk):
    return [(getattr(item[0], "name", type(item[0]).__name__), item[2]) + tuple(item[3:])
            for item in walk]


def test_walk_deps_level_order_and_depth():
    walk = list(Top().walk_deps())
    assert _names(walk) == [("Top", 0), ("Middle", 1), ("z", 1), ("x", 2), ("y", 2)]
    assert walk[0][1] == [Middle(), Leaf(name="z")]
    assert _names(Top().walk_deps(max_depth=1)) == [("Top", 0), ("Middle", 1), ("z", 1)]


def test_walk_deps_pre_order_with_last_flags():
    walk = Top().walk_deps(order="pre", yield_last_flag=True)
    assert _names(walk) == [("Top", 0, True), ("Middle", 1, False), ("x", 2, False),
                            ("y", 2, True), ("z", 1, True)]


def test_walk_deps_rejects_unknown_orders():
    with pytest.raises(ValueError, match="use 'level' or 'pre'"):
        next(Top().walk_deps(order="post"))
    with pytest.raises(ValueError, match="needs order='pre'"):
        next(Top().walk_deps(yield_last_flag=True))


def test_build_required_builds_as_req_does():
    from law_core.task import fixed_parameter_defaults

    assert Target.build_required({"a": 4}) == Target(a=4)
    with fixed_parameter_defaults():  # as in a run: defaults looked up once per class
        assert Target.build_required({"a": 4}).param_kwargs == {"a": 4, "b": 20, "c": 30}
