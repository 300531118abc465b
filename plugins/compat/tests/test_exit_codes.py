"""``law run``'s exit codes, compared with law 0.1.21 (the machinery of law_reference.py).

law sets luigi's retcodes (its ``[luigi_retcode]`` defaults): 20 when an external
requirement is missing, 40 when a task failed, 50 for a scheduling error (``requires()`` or
``complete()`` raising while luigi plans the run), 60 for an unhandled exception (the task
cannot be built from its parameters, the central scheduler cannot be reached); luigi's
argument parser exits 2 for an unknown parameter. Scripts and CI pipelines around law
analyses branch on these codes, so one tiny analysis runs each case under both.
"""

from __future__ import annotations

import socket
import textwrap
from pathlib import Path

import pytest
from law_reference import COMPAT_BIN, _compare, _run_example

TASKS = '''
    import luigi
    import law


    class Data(law.ExternalTask):
        def output(self):
            return law.LocalFileTarget("$ANA/data/external.txt")


    class NeedsData(law.Task):
        def requires(self):
            return Data()

        def output(self):
            return law.LocalFileTarget("$ANA/data/needs_data.txt")

        def run(self):
            self.output().dump("never", formatter="text")


    class Fine(law.Task):
        def output(self):
            return law.LocalFileTarget("$ANA/data/fine.txt")

        def run(self):
            self.output().dump("fine", formatter="text")


    class Fails(law.Task):
        def requires(self):
            return Fine()

        def output(self):
            return law.LocalFileTarget("$ANA/data/fails.txt")

        def run(self):
            raise RuntimeError("fails on purpose")


    class FailsAndNeedsData(law.WrapperTask):
        def requires(self):
            return [Fails(), NeedsData()]


    class BadRequires(law.Task):
        def requires(self):
            raise ValueError("requires() broken on purpose")

        def output(self):
            return law.LocalFileTarget("$ANA/data/bad_requires.txt")

        def run(self):
            self.output().dump("never", formatter="text")


    class BadComplete(law.Task):
        def complete(self):
            raise ValueError("complete() broken on purpose")

        def run(self):
            pass


    class BadInit(law.Task):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            raise ValueError("constructor broken on purpose")

        def output(self):
            return law.LocalFileTarget("$ANA/data/bad_init.txt")

        def run(self):
            self.output().dump("never", formatter="text")


    class NeedsValue(law.Task):
        n = luigi.IntParameter()

        def output(self):
            return law.LocalFileTarget("$ANA/data/value_{}.txt".format(self.n))

        def run(self):
            self.output().dump(str(self.n), formatter="text")
'''

#: (arguments of ``law run``, law 0.1.21's exit code); every command runs with the local
#: scheduler except the last, which finds no central scheduler
CASES: list[tuple[list[str], int]] = [
    (["tasks.Fine"], 0),
    (["tasks.NeedsValue", "--n", "3"], 0),
    (["tasks.NeedsData"], 20),
    (["tasks.NeedsData", "--workers", "2"], 20),
    (["tasks.Fails"], 40),
    (["tasks.Fails", "--workers", "2"], 40),
    (["tasks.FailsAndNeedsData"], 40),  # the highest code wins, as in luigi
    (["tasks.FailsAndNeedsData", "--workers", "2"], 40),
    (["tasks.BadRequires"], 50),
    (["tasks.BadComplete"], 50),
    (["tasks.BadInit"], 60),
    (["tasks.NeedsValue"], 60),
    (["tasks.NeedsValue", "--n", "three"], 60),
    (["tasks.Fine", "--no-such-parameter", "1"], 2),
    (["tasks.Nope"], 1),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def analysis(tmp_path: Path) -> Path:
    source = tmp_path / "source" / "exit_codes"
    source.mkdir(parents=True)
    (source / "tasks.py").write_text(textwrap.dedent(TASKS))
    # a central scheduler nobody listens on, given up on quickly
    (source / "law.cfg").write_text(textwrap.dedent(f"""\
        [modules]
        tasks

        [luigi_core]
        default-scheduler-host = 127.0.0.1
        default-scheduler-port = {_free_port()}
        rpc-retry-attempts = 1
        rpc-retry-wait = 0
        """))
    return source


def test_law_run_exits_with_law_codes(analysis: Path, law_bin: Path, tmp_path: Path) -> None:
    commands = [["law", "run", *args, "--local-scheduler"] for args, _ in CASES]
    # the central scheduler is unreachable (a task not complete yet: law-core-compat does not
    # ask a scheduler about a complete one, law does)
    commands.append(["law", "run", "tasks.NeedsValue", "--n", "4"])
    expected = [code for _, code in CASES] + [60]
    data_vars = {"ANA": "."}
    law_results, law_example = _run_example(analysis, tmp_path / "law", law_bin, data_vars,
                                            commands)
    compat_results, compat_example = _run_example(analysis, tmp_path / "compat", COMPAT_BIN,
                                                  data_vars, commands)
    # law 0.1.21's codes are what this test says they are ...
    assert [rc for _, rc, _ in law_results] == expected, \
        "\n".join(f"{' '.join(c)}: {rc}" for c, rc, _ in law_results)
    # ... and law-core-compat's are the same, leaving the same files
    _compare(law_example, compat_example, "data", law_results, compat_results)
    outputs = {" ".join(command[2:]): out for command, _, out in compat_results}
    assert "fails on purpose" in outputs["tasks.Fails --local-scheduler"]
    assert "requires() broken on purpose" in outputs["tasks.BadRequires --local-scheduler"]
    assert "constructor broken on purpose" in outputs["tasks.BadInit --local-scheduler"]
    assert (compat_example / "data" / "fine.txt").read_text() == "fine"
