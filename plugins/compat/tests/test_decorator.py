"""law.decorator as analyses use it: decorators with and without a call, made by factory,
around run methods (also generators yielding requirements)."""

from __future__ import annotations

import logging
import os

import law
import luigi
import pytest
from law.decorator import factory

from .test_task import same_as_law


@pytest.fixture(autouse=True)
def _fresh_instances():
    luigi.task_register.Register.clear_instance_cache()


def test_factory_semantics_match_law(tmp_path):
    same_as_law("""
import luigi, law
from law.decorator import factory

@factory(digits=2)
def tag(fn, opts, task, *args, **kwargs):
    print("tag", opts["digits"], sorted(opts))
    return fn(task, *args, **kwargs)

@factory(accept_generator=True)
def around(fn, opts, task, *args, **kwargs):
    def before_call():
        print("before")
        return "state"
    def call(state):
        return fn(task, *args, **kwargs)
    def after_call(state):
        print("after", state)
    def on_error(error, state):
        print("error", type(error).__name__, state)
        return True
    return before_call, call, after_call, on_error

class T(law.Task):
    def run(self):
        pass
    @tag
    def plain(self, x):
        return x + 1
    @tag(digits=5)
    def called(self):
        return "called"
    @around
    def fails(self):
        raise ValueError("x")
    @around
    @tag
    def stacked(self):
        return "stacked"

t = T()
print(t.plain(1), t.called(), t.fails(), t.stacked())
print(t.plain(1, skip_decorators=True))
try:
    @tag
    def run(self):
        yield 1
except Exception as e:
    print("refused generator")
""", tmp_path)


def test_generator_run_gets_before_and_after_once():
    events = []

    @factory(accept_generator=True)
    def record(fn, opts, task, *args, **kwargs):
        return (lambda: events.append("before") or len(events)), \
            (lambda state: fn(task, *args, **kwargs)), \
            (lambda state: events.append(f"after {state}"))

    class Dyn(law.Task):
        @record
        def run(self):
            events.append("body")
            value = yield "requirement"
            events.append(f"got {value}")

    gen = Dyn().run()
    assert next(gen) == "requirement"
    assert gen.send("input") is not None  # a complete placeholder task for luigi
    assert events == ["before", "body", "got input"]
    next(gen)  # luigi resumes after the placeholder
    assert events == ["before", "body", "got input", "after 1"]
    assert list(gen) == []
    # a new run starts over with a new before_call
    gen = Dyn().run()
    next(gen)
    assert events[-2:] == ["before", "body"]


class Outputs(law.Task):
    base = luigi.Parameter()

    def output(self):
        return {"a": law.LocalFileTarget(os.path.join(self.base, "a.txt")),
                "b": law.LocalFileTarget(os.path.join(self.base, "b.txt"))}


def test_safe_output_removes_outputs_on_errors_except_skipped(tmp_path):
    class Breaks(Outputs):
        @law.decorator.safe_output
        def run(self):
            self.output()["a"].dump("half", formatter="text")
            raise RuntimeError("broke")

        @law.decorator.safe_output(skip=KeyboardInterrupt)
        def interrupted(self):
            self.output()["a"].dump("half", formatter="text")
            raise KeyboardInterrupt

    task = Breaks(base=str(tmp_path))
    with pytest.raises(RuntimeError, match="broke"):
        task.run()
    assert not (tmp_path / "a.txt").exists()
    with pytest.raises(KeyboardInterrupt):
        task.interrupted()
    assert (tmp_path / "a.txt").exists()


def test_log_writes_to_the_log_file(tmp_path, capfd):
    log_path = tmp_path / "logs" / "run.log"

    class Logged(law.Task):
        log_file = str(log_path)

        @law.decorator.log
        def run(self):
            print("into the log")
            return 3

    assert Logged().run() == 3
    assert "into the log" in log_path.read_text()


def test_log_without_a_log_file_does_nothing(capsys):
    class Unlogged(law.Task):
        @law.decorator.log()
        def run(self):
            print("plain")

    Unlogged().run()
    assert capsys.readouterr().out == "plain\n"


def test_delay_and_timeit(caplog, monkeypatch):
    slept = []
    monkeypatch.setattr("law.decorator.time.sleep", slept.append)

    class Slow(law.Task):
        @law.decorator.delay(t=2.5)
        def run(self):
            return "ran"

        @law.decorator.timeit
        def measured(self):
            return "measured"

    with caplog.at_level(logging.INFO):
        assert Slow().run() == "ran" and Slow().measured() == "measured"
    assert slept == [2.5]
    assert any("runtime: " in r.getMessage() for r in caplog.records)


def test_notify_sends_through_switched_on_transports():
    sent = []

    class Told(law.Task):
        notify_custom = law.NotifyCustomParameter(
            notify_func=lambda title, content, **opts: sent.append((title, dict(content))))
        fail = luigi.BoolParameter(default=False)

        @law.decorator.notify
        def run(self):
            self.publish_message("last words", stdout=False)
            if self.fail:
                raise ValueError("nope")

    Told().run()
    assert sent == []  # the switch is off
    Told(notify_custom=True).run()
    title, content = sent[-1]
    assert title == "Task Told succeeded!"
    assert content["Last message"] == "last words" and content["Task"].startswith("Told(")
    with pytest.raises(ValueError):
        Told(notify_custom=True, fail=True).run()
    assert sent[-1][0] == "Task Told failed!" and "ValueError: nope" in \
        sent[-1][1]["Traceback"]


def test_localize_gives_local_inputs_and_outputs(tmp_path):
    (tmp_path / "in.txt").write_text("input text")

    class Source(law.ExternalTask):
        def output(self):
            return law.LocalFileTarget(str(tmp_path / "in.txt"))

    class Local(Outputs):
        def requires(self):
            return {"src": Source()}

        @law.decorator.localize
        def run(self):
            assert self.input()["src"].load(formatter="text") == "input text"
            for name, target in self.output().items():
                assert target.path != os.path.join(self.base, f"{name}.txt")
                target.dump(name, formatter="text")
            assert self.output_unlocalized()["a"].path == os.path.join(self.base, "a.txt")

    task = Local(base=str(tmp_path / "out"))
    task.run()
    assert (tmp_path / "out" / "a.txt").read_text() == "a"
    assert task.output()["b"].path == str(tmp_path / "out" / "b.txt")  # restored
