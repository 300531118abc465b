"""``law run``'s exit codes, compared with law 0.1.21 (the machinery of law_reference.py).

law sets luigi's retcodes (its ``[luigi_retcode]`` defaults): 10 when the same command
runs already (luigi's process lock) or another worker of the central scheduler runs a task
of the run, 20 when an external requirement is missing, 30 when a task is never granted
run permission (here: more of a resource than the scheduler has), 40 when a task failed,
50 for a scheduling error (``requires()`` or ``complete()`` raising while luigi plans the
run), 60 for an unhandled exception (the task cannot be built from its parameters, the
central scheduler cannot be reached); luigi's argument parser exits 2 for an unknown
parameter. Scripts and CI pipelines around law analyses branch on these codes, so one tiny
analysis runs each case under both.
"""

from __future__ import annotations

import socket
import subprocess
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from law_reference import COMPAT_BIN, _compare, _env, _run_example

TASKS = '''
    import os
    import time

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


    class Greedy(law.Task):
        # more of a resource than luigi's scheduler has (1 of each unless [resources]
        # says otherwise): it is never granted run permission
        resources = {"slots": 2}

        def output(self):
            return law.LocalFileTarget("$ANA/data/greedy.txt")

        def run(self):
            self.output().dump("never", formatter="text")


    class NeedsGreedy(law.Task):
        def requires(self):
            return Greedy()

        def output(self):
            return law.LocalFileTarget("$ANA/data/needs_greedy.txt")

        def run(self):
            self.output().dump("never", formatter="text")


    class MissingAndGreedy(law.WrapperTask):
        def requires(self):
            return [NeedsData(), Greedy()]


    class Slow(law.Task):
        """Runs until the test writes data/release."""

        def output(self):
            return law.LocalFileTarget("$ANA/data/slow.txt")

        def run(self):
            data = os.path.expandvars("$ANA/data")
            open(os.path.join(data, "slow_started"), "w").close()
            deadline = time.monotonic() + 120
            while not os.path.exists(os.path.join(data, "release")):
                if time.monotonic() > deadline:
                    raise RuntimeError("never released")
                time.sleep(0.1)
            self.output().dump("slow", formatter="text")


    class NeedsSlow(law.Task):
        def requires(self):
            return Slow()

        def output(self):
            return law.LocalFileTarget("$ANA/data/needs_slow.txt")

        def run(self):
            self.output().dump("after slow", formatter="text")


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
    (["tasks.Greedy"], 30),  # luigi's scheduler never grants it the resources
    (["tasks.NeedsGreedy"], 30),
    (["tasks.MissingAndGreedy"], 30),  # 20 for the missing data, 30 for Greedy
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
    # a central scheduler nobody listens on, given up on quickly; luigi's pid files of
    # the process lock in this test's directory
    (source / "law.cfg").write_text(textwrap.dedent(f"""\
        [modules]
        tasks

        [luigi_core]
        default-scheduler-host = 127.0.0.1
        default-scheduler-port = {_free_port()}
        rpc-retry-attempts = 1
        rpc-retry-wait = 0
        lock-pid-dir = {tmp_path / "locks"}
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


DATA_VARS = {"ANA": "."}


def _while_slow_runs(analysis: Path, workdir: Path, bin_dir: Path, first: list[str],
                     others: list[list[str]], port: int | None = None,
                     ) -> tuple[int, list[tuple[list[str], int, str]]]:
    """Start ``first`` (which runs tasks.Slow), run ``others`` one after the other while
    Slow runs, then let it finish; returns the exit code of ``first`` and the results of
    ``others``. ``port``: the central scheduler's, written into the copy's law.cfg."""
    def prepare(example: Path) -> None:
        if port is not None:
            cfg = example / "law.cfg"
            lines = [f"default-scheduler-port = {port}"
                     if line.startswith("default-scheduler-port") else line
                     for line in cfg.read_text().splitlines()]
            cfg.write_text("\n".join(lines) + "\n")

    _, example = _run_example(analysis, workdir, bin_dir, DATA_VARS, [], prepare)
    env = _env(bin_dir, example, DATA_VARS)
    (example / "data").mkdir(exist_ok=True)
    started = example / "data" / "slow_started"
    proc = subprocess.Popen(first, env=env, cwd=example, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
    results = []
    try:
        deadline = time.monotonic() + 120
        while not started.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"{' '.join(first)} did not start Slow:\n{proc.communicate()[0]}")
            time.sleep(0.1)
        for command in others:
            other = subprocess.run(command, env=env, cwd=example, capture_output=True,
                                   text=True, stdin=subprocess.DEVNULL, timeout=300)
            results.append((command, other.returncode, other.stdout + other.stderr))
    finally:
        (example / "data" / "release").touch()
        output = proc.communicate(timeout=300)[0]
    assert proc.returncode == 0, output
    assert (example / "data" / "slow.txt").read_text() == "slow"
    return proc.returncode, results


def test_same_command_twice_exits_10(analysis: Path, law_bin: Path, tmp_path: Path) -> None:
    """luigi's process lock: ``law run`` of a command that runs already exits 10 at once;
    ``--no-lock`` would run it again, another command is not locked."""
    first = ["law", "run", "tasks.Slow", "--local-scheduler"]
    others = [first, ["law", "run", "tasks.Fine", "--local-scheduler"]]
    for name, bin_dir in (("law", law_bin), ("compat", COMPAT_BIN)):
        _, results = _while_slow_runs(analysis, tmp_path / name, bin_dir, first, others)
        assert [rc for _, rc, _ in results] == [10, 0], (name, results)
        assert "already running" in results[0][2]


@pytest.fixture
def start_luigid(tmp_path: Path) -> Iterator[Callable[[Path, str], int]]:
    """Start luigi's central scheduler (``luigid`` of a venv) on a free port; stopped at the
    end of the test."""
    started: list[subprocess.Popen] = []

    def start(bin_dir: Path, name: str) -> int:
        port = _free_port()
        state = tmp_path / f"luigid-{name}"
        state.mkdir()
        proc = subprocess.Popen(
            [str(bin_dir / "luigid"), "--address", "127.0.0.1", "--port", str(port),
             "--state-path", str(state / "state.pickle"), "--logdir", str(state)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        started.append(proc)
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return port
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"luigid of {bin_dir} did not start")
            time.sleep(0.2)

    yield start
    for proc in started:
        proc.terminate()
        proc.wait(timeout=30)


def test_task_run_by_another_worker_exits_10(analysis: Path, law_bin: Path,
                                             tmp_path: Path,
                                             start_luigid: Callable[[Path, str], int]) -> None:
    """With the central scheduler, a run whose task (or a requirement) another worker is
    running exits 10 without running anything; law-core's run says so instead of "done"."""
    first = ["law", "run", "tasks.Slow"]
    others = [["law", "run", "tasks.Slow", "--no-lock"], ["law", "run", "tasks.NeedsSlow"]]
    for name, bin_dir in (("law", law_bin), ("compat", COMPAT_BIN)):
        port = start_luigid(bin_dir, name)
        _, results = _while_slow_runs(analysis, tmp_path / name, bin_dir, first, others,
                                      port=port)
        assert [rc for _, rc, _ in results] == [10, 10], (name, results)
        assert not (tmp_path / name / "exit_codes" / "data" / "needs_slow.txt").exists()
        if name == "compat":
            assert "another worker" in results[1][2]
