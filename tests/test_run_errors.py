"""``law-core run`` on bad input and on failures: one clear line, the traceback in the run's
log file, nothing guessed (no abbreviated options, no degenerate "complete")."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from law_core.testing.cli import clean_env, run_cli, write_module

TASKS = """
    import luigi
    import law_core as law


    class P(law.Task):
        w = luigi.IntParameter(default=1)
        r = luigi.Parameter(default="x")
        note = luigi.Parameter(default="")

        def output(self):
            return self.local_target(f"p_{self.w}_{self.r}_{self.note}.txt")

        def run(self):
            self.output().dump("made")


    class Top(law.Task):
        def requires(self):
            return P.req(self)

        def output(self):
            return self.local_target("top.txt")

        def run(self):
            self.output().dump("top")


    class PathString(law.Task):
        def output(self):
            return "out.txt"

        def run(self):
            pass


    class NoReturn(law.Task):
        def output(self):
            self.local_target("x.txt")

        def run(self):
            pass


    class OutputRaises(law.Task):
        def output(self):
            raise KeyError("no such calibration")


    class NeedsPathString(law.Task):
        def requires(self):
            return PathString()

        def output(self):
            return self.local_target("needs.txt")

        def run(self):
            self.output().dump("x")


    class Explodes(law.Task):
        def output(self):
            return self.local_target("explodes.txt")

        def run(self):
            raise ValueError("calibration constant missing for run 42")


    class Pair(law.WrapperTask):
        def requires(self):
            return [Explodes(), P()]


    class Five(law.LocalWorkflow):
        def create_branch_map(self):
            return 5

        def output(self):
            return self.local_target(f"five_{self.branch}.txt")

        def run(self):
            self.output().dump(str(self.branch))


    class Lazy(law.Task):
        def output(self):
            return self.local_target("lazy.txt")

        def run(self):
            pass  # forgets its output


    class AfterLazy(law.Task):
        def requires(self):
            return Lazy()

        def output(self):
            return self.local_target("after.txt")

        def run(self):
            self.output().dump("x")


    class HasWorkers(law.Task):
        workers = luigi.IntParameter(default=1)
"""


@pytest.fixture
def ana(tmp_path):
    write_module(tmp_path, "ana", TASKS)
    return tmp_path


def outputs(ana: Path, family: str) -> list[str]:
    directory = ana / "data" / family
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def clear_error(result: subprocess.CompletedProcess, words: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert f"law-core: error: {words}" in result.stderr, result.stderr


# options are never abbreviated, and never shadow task parameters

def test_prefix_of_a_run_option_is_the_task_parameter(ana):
    result = run_cli(["run", "ana.P", "--w", "5"], ana)
    assert result.returncode == 0, result.stderr
    assert outputs(ana, "P") == ["p_5_x_.txt"]  # w=5, not --workers 5


def test_prefix_of_remove_output_removes_nothing(ana):
    assert run_cli(["run", "ana.Top"], ana).returncode == 0
    result = run_cli(["run", "ana.Top", "--r", "1,a"], ana)
    # --r is Top's unknown parameter, never --remove-output 1,a
    clear_error(result, "unknown parameter --r of Top")
    assert outputs(ana, "P") == ["p_1_x_.txt"] and outputs(ana, "Top") == ["top.txt"]
    assert run_cli(["run", "ana.P", "--r", "1,a"], ana).returncode == 0
    assert outputs(ana, "P") == ["p_1_1,a_.txt", "p_1_x_.txt"]


def test_task_parameter_named_like_a_run_option_is_an_error(ana):
    clear_error(run_cli(["run", "ana.HasWorkers"], ana),
                "the parameter 'workers' of HasWorkers has the flag --workers, which is also "
                "an option of law-core run (--workers); rename the parameter")


def test_value_starting_with_a_dash_says_how_to_pass_it(ana):
    clear_error(run_cli(["run", "ana.P", "--note", "-x"], ana),
                "argument --note: expected one argument; a value starting with '-' must be "
                "joined to its option: --note=-x")
    assert run_cli(["run", "ana.P", "--note=-x"], ana).returncode == 0
    assert outputs(ana, "P") == ["p_1_x_-x.txt"]


# output() that is not a target

@pytest.mark.parametrize("task, words", [
    ("PathString", "output() of PathString() returned a str ('out.txt'), not a target: "
     "wrap it, e.g. self.target('out.txt')"),
    ("NoReturn", "output() of NoReturn() returned None (a missing 'return'?)"),
    ("OutputRaises", "output() of OutputRaises() raised KeyError: 'no such calibration'"),
])
def test_output_that_is_no_target_is_a_clear_error(ana, task, words):
    clear_error(run_cli(["run", f"ana.{task}"], ana), words)
    status = run_cli(["run", f"ana.{task}", "--print-status", "0"], ana)
    assert status.returncode == 1 and "Traceback" not in status.stderr, status.stderr


def test_dependency_whose_output_is_no_target_is_named(ana):
    result = run_cli(["run", "ana.NeedsPathString"], ana)
    clear_error(result, "PathString() failed: TaskError: output() of PathString() returned a "
                "str ('out.txt'), not a target")
    assert outputs(ana, "NeedsPathString") == []


# the task module itself is broken

@pytest.mark.parametrize("code, words", [
    ("def broken(:\n    pass\n", "cannot import the module 'brk': SyntaxError: "),
    ("import law_core_no_such_library\n",
     "cannot import the module 'brk': No module named 'law_core_no_such_library'"),
    ("x = 1\nraise RuntimeError('set MY_DATA first')\n",
     "cannot import the module 'brk': RuntimeError: set MY_DATA first"),
])
def test_broken_task_module_is_a_clear_error_naming_file_and_line(ana, code, words):
    (ana / "brk.py").write_text(code)
    result = run_cli(["run", "brk.Anything"], ana)
    clear_error(result, words)
    assert re.search(r"brk\.py, line [12]\)", result.stderr), result.stderr


# failures while running: one line each, the traceback in the log file

def test_failing_task_is_one_line_with_its_traceback_in_the_log_file(ana):
    result = run_cli(["run", "ana.Explodes"], ana)
    clear_error(result, "Explodes() failed: ValueError: calibration constant missing for run 42")
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 2, result.stderr
    log = Path(re.search(r"law-core: tracebacks in (\S+)", result.stderr).group(1))
    assert log.parent == ana / ".cache" / "law-core" / "logs"  # below the user's $HOME
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and 'ana.py", line' in text
    assert "ValueError: calibration constant missing for run 42" in text
    assert oct(log.stat().st_mode & 0o777) == "0o600"


def test_failures_of_parallel_workers_are_reported_and_logged_where_asked(ana):
    log = ana / "my-run.log"
    result = run_cli(["run", "ana.Pair", "--workers", "2", "--log-file", str(log)], ana)
    clear_error(result, "Explodes() failed: ValueError: calibration constant missing")
    assert f"law-core: tracebacks in {log}" in result.stderr
    assert "raise ValueError" in log.read_text()
    assert outputs(ana, "P") == ["p_1_x_.txt"]  # the other task ran


def test_each_failure_is_reported_once(ana):
    result = run_cli(["run", "ana.AfterLazy"], ana)
    clear_error(result, "AfterLazy() failed: RuntimeError: Unfulfilled dependency at run time")
    assert result.stderr.count("law-core: error:") == 1, result.stderr


def test_debug_level_shows_the_traceback(ana):
    result = run_cli(["run", "ana.Explodes", "--log-level", "DEBUG"], ana)
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "law-core: tracebacks in" not in result.stderr


def test_run_without_failures_leaves_no_log(ana):
    assert run_cli(["run", "ana.P"], ana).returncode == 0
    assert not (ana / ".cache" / "law-core" / "logs").exists()


# selections that cannot be met are errors, not "complete"

@pytest.mark.parametrize("args, words", [
    (["--branches", "100:200"], "--branches 100:200: nothing is in the branch map of Five, "
     "which has 5 branches (0..4)"),
    (["--branches", "2,7"], "--branches 2,7: branch 7 is not in the branch map of Five"),
    (["--acceptance", "50"], "--acceptance 50 cannot be met by the 5 selected branches of "
     "Five: give a fraction (<= 1) or a count of at most 5"),
    (["--tolerance=-1"], "--tolerance -1 of Five is negative"),
])
def test_selection_that_cannot_be_met_is_an_error(ana, args, words):
    clear_error(run_cli(["run", "ana.Five", *args], ana), words)
    assert outputs(ana, "Five") == []
    assert run_cli(["run", "ana.Five", "--branches", "3:"], ana).returncode == 0
    assert outputs(ana, "Five") == ["five_3.txt", "five_4.txt"]


# parameters set by config sections named after task families

@pytest.mark.parametrize("line, words", [
    ("wokers = 4", "[P] wokers = '4' (CFG:3): P has no parameter 'wokers'; its parameters: "
     "w, r, note"),
    ("nte = a", "[P] nte = 'a' (CFG:3): P has no parameter 'nte'; did you mean note? "),
    ("w = notanint", "[P] w = 'notanint' (CFG:3): not a valid value of the parameter w "
     "(a IntParameter)"),
])
def test_task_section_mistakes_name_file_line_and_value(ana, line, words):
    cfg = ana / "law.cfg"
    cfg.write_text(f"[P]\n# set by the analysis\n{line}\n")
    clear_error(run_cli(["run", "ana.P"], ana), words.replace("CFG", str(cfg)))
    assert outputs(ana, "P") == []


def test_task_section_with_valid_values_still_sets_defaults(ana):
    (ana / "law.cfg").write_text("[P]\nw = 7\n")
    assert run_cli(["run", "ana.P"], ana).returncode == 0
    assert outputs(ana, "P") == ["p_7_x_.txt"]


# a killed run takes its worker processes with it

SLEEPERS = """
    import os
    import time

    import luigi
    import law_core as law


    class Sleeper(law.Task):
        n = luigi.IntParameter()

        def output(self):
            return self.local_target(f"slept_{self.n}.txt")

        def run(self):
            with open(f"pid_{self.n}.tmp", "w") as f:
                f.write(str(os.getpid()))
            os.rename(f"pid_{self.n}.tmp", f"pid_{self.n}")
            time.sleep(300)
            self.output().dump("woke")


    class Both(law.WrapperTask):
        def requires(self):
            return [Sleeper(n=0), Sleeper(n=1)]
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")  # a zombie has ended, it only waits to be reaped


def _wait_for(condition, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigkill_of_the_run_ends_its_luigi_workers(tmp_path):
    write_module(tmp_path, "sleepers", SLEEPERS)
    run = subprocess.Popen(
        [sys.executable, "-m", "law_core", "run", "sleepers.Both", "--workers", "2"],
        cwd=tmp_path, env=clean_env(tmp_path, PYTHONPATH=str(tmp_path)),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait_for(lambda: (tmp_path / "pid_0").exists() and (tmp_path / "pid_1").exists())
        workers = [int((tmp_path / f"pid_{n}").read_text()) for n in (0, 1)]
        assert run.pid not in workers and all(_alive(pid) for pid in workers)
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        assert _wait_for(lambda: not any(_alive(pid) for pid in workers)), \
            "luigi's worker processes outlived the killed law-core run"
    finally:
        if run.poll() is None:
            run.kill()
        for n in (0, 1):
            pid_file = tmp_path / f"pid_{n}"
            if pid_file.exists() and _alive(int(pid_file.read_text())):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
    assert not list((tmp_path / "data").glob("**/slept_*"))


HALF_WRITERS = """
    import os
    import time

    import luigi
    import law_core as law


    class HalfWriter(law.Task):
        hang = luigi.BoolParameter()

        def output(self):
            return self.local_target("result.txt")

        def run(self):
            with self.output().open("w") as f:
                f.write("partial")
                f.flush()
                if self.hang:
                    open("writing", "w").close()
                    time.sleep(300)


    class HalfBranches(law.LocalWorkflow):
        hang = luigi.BoolParameter()

        def create_branch_map(self):
            return 2

        def output(self):
            return self.local_target(f"branch_{self.branch}.txt")

        def run(self):
            with self.output().open("w") as f:
                f.write("partial")
                f.flush()
                if self.hang and self.branch == 1:
                    open("writing", "w").close()
                    time.sleep(300)
"""


@pytest.mark.parametrize("task, output", [("HalfWriter", "result.txt"),
                                          ("HalfBranches", "branch_1.txt")])
def test_temporaries_of_a_killed_run_are_removed_by_the_next_run(tmp_path, task, output):
    write_module(tmp_path, "half", HALF_WRITERS)
    run = subprocess.Popen(
        [sys.executable, "-m", "law_core", "run", f"half.{task}", "--hang"], cwd=tmp_path,
        env=clean_env(tmp_path, PYTHONPATH=str(tmp_path)),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait_for(lambda: (tmp_path / "writing").exists())
    finally:
        run.kill()
        run.wait()
    directory = tmp_path / "data" / task
    left = [p.name for p in directory.iterdir() if p.name.startswith(".")]
    assert len(left) == 1 and not (directory / output).exists()  # nothing counts as done

    result = run_cli(["run", f"half.{task}"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert (directory / output).read_text() == "partial"
    assert [p.name for p in directory.iterdir() if p.name.startswith(".")] == []


CALLING_BACK = """
    import law_core as law


    class Reporting(law.LocalWorkflow):
        def create_branch_map(self):
            return 3

        def output(self):
            return self.local_target(f"r_{self.branch}.txt")

        def run(self):
            self.set_status_message(f"calibrating {self.branch}")
            self.set_progress_percentage(50)
            self.set_tracking_url("http://localhost/x")
            self.output().dump("x")
"""


@pytest.mark.parametrize("workers", ["1", "2"])
def test_branches_can_call_luigis_task_callbacks(tmp_path, workers):
    write_module(tmp_path, "calling", CALLING_BACK)
    result = run_cli(["run", "calling.Reporting", "--workers", workers], tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "data" / "Reporting").glob("r_*.txt"))) == 3
    if workers == "1":  # (pool processes log elsewhere)
        assert "status message of branch 2 of Reporting: calibrating 2" in result.stderr


def test_law_core_config_sections_give_no_luigi_warning(ana):
    (ana / "law.cfg").write_text("[modules]\nana\n[core]\nindex_file = .law-core/idx.json\n"
                                 "[target]\nstore = $PWD/data\n[local_workflow]\nworkers = 1\n")
    result = run_cli(["run", "ana.P"], ana)
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr and "warn" not in result.stderr.lower(), result.stderr


CYCLE = """
    import law_core as law


    class A(law.LocalWorkflow):
        def create_branch_map(self):
            return 3

        def requires(self):
            return B.req(self)  # branch i of A needs branch i of B ...

        def output(self):
            return self.local_target(f"a_{self.branch}.json")


    class B(law.LocalWorkflow):
        def create_branch_map(self):
            return 3

        def requires(self):
            return A.req(self)  # ... which needs branch i of A

        def output(self):
            return self.local_target(f"b_{self.branch}.json")
"""


def test_cycle_through_branch_requirements_is_named(tmp_path):
    write_module(tmp_path, "cyc", CYCLE)
    result = run_cli(["run", "cyc.A"], tmp_path)
    assert result.returncode == 1
    assert "law-core: error: the requirements form a cycle, so none of its tasks can run: " \
        "A(branch=-1, branches=) -> B(branch=-1, branches=) -> A(branch=-1, branches=)" in \
        result.stderr
