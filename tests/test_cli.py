"""``law-core run`` end to end in fresh processes: running, interactive options, bad input."""

from __future__ import annotations

import json

import pytest

from law_core.testing.cli import run_cli, write_module

TASKS = """
    import luigi
    import law_core as law


    class Chars(law.LocalWorkflow):
        n = luigi.IntParameter(default=5)

        def create_branch_map(self):
            if self.n == 13:
                raise RuntimeError("no data for 13")
            return list("abcdefghijklmnopqrstuvwxyz"[: self.n])

        def output(self):
            return self.local_target(f"char_{self.branch}.json")

        def run(self):
            self.output().dump({"char": self.branch_data})


    class Word(law.Task):
        n = luigi.IntParameter(default=5)
        upper = luigi.BoolParameter()

        def requires(self):
            return Chars.req(self)

        def output(self):
            return self.local_target(f"word_{self.n}.txt")

        def run(self):
            coll = self.input()["collection"]
            word = "".join(coll[b].load()["char"] for b in sorted(coll.keys()))
            self.output().dump(word.upper() if self.upper else word)


    class Raw(law.ExternalTask):
        def output(self):
            return self.local_target("raw.txt")


    class NeedsNumpy(law.Task):
        def output(self):
            return self.local_target("array.npy")

        def run(self):
            self.output().dump([1, 2, 3])


    class Unwritable(law.Task):
        def output(self):
            return law.LocalFileTarget("blocker/sub/out.json")

        def run(self):
            self.output().dump({"x": 1})
"""


@pytest.fixture
def ana(tmp_path):
    write_module(tmp_path, "ana", TASKS)
    return tmp_path


def test_run_then_complete(ana):
    result = run_cli(["run", "ana.Word", "--n", "4", "--upper"], ana)
    assert result.returncode == 0, result.stderr
    assert (ana / "data" / "Word" / "word_4.txt").read_text() == "ABCD"
    assert json.loads((ana / "data" / "Chars" / "char_3.json").read_text()) == {"char": "d"}
    again = run_cli(["run", "ana.Word", "--n", "4", "--upper"], ana)
    assert again.returncode == 0 and "is complete; nothing to run" in again.stdout


def test_single_branch_and_branch_selection(ana):
    one = run_cli(["run", "ana.Chars", "--branch", "2"], ana)
    assert one.returncode == 0, one.stderr
    assert sorted(p.name for p in (ana / "data" / "Chars").iterdir()) == ["char_2.json"]
    some = run_cli(["run", "ana.Chars", "--branches", "0:2,4:", "--workers", "2"], ana)
    assert some.returncode == 0, some.stderr
    names = sorted(p.name for p in (ana / "data" / "Chars").iterdir())
    assert names == ["char_0.json", "char_1.json", "char_2.json", "char_4.json"]


def test_index_lets_run_find_families(ana):
    (ana / "law.cfg").write_text("[modules]\nana\n")
    indexed = run_cli(["index", "--verbose"], ana)
    assert indexed.returncode == 0, indexed.stderr
    assert "Word  (ana.Word)" in indexed.stdout
    result = run_cli(["run", "Word", "--n", "2"], ana)
    assert result.returncode == 0, result.stderr
    assert (ana / "data" / "Word" / "word_2.txt").read_text() == "ab"


def test_print_deps_status_and_output(ana):
    deps = run_cli(["run", "ana.Word", "--print-deps", "-1"], ana)
    assert deps.returncode == 0, deps.stderr
    assert "0 > Word(n=5, upper=False)" in deps.stdout
    assert "1 > Chars(branch=-1, branches=, n=5)" in deps.stdout

    run_cli(["run", "ana.Chars", "--branches", "0:3"], ana)
    status = run_cli(["run", "ana.Word", "--print-status", "1"], ana)
    assert status.returncode == 0, status.stderr
    assert "word_5.txt: absent" in status.stdout
    assert "collection of 5 targets: absent (3/5)" in status.stdout

    expanded = run_cli(["run", "ana.Word", "--print-status", "1,1"], ana).stdout
    assert "char_0.json: existent" in expanded and "char_4.json: absent" in expanded

    shallow = run_cli(["run", "ana.Word", "--print-status", "0"], ana).stdout
    assert "collection" not in shallow

    output = run_cli(["run", "ana.Word", "--print-output", "1"], ana).stdout.splitlines()
    assert output[0].endswith("data/Word/word_5.txt")
    assert len(output) == 6 and output[-1].endswith("data/Chars/char_4.json")
    assert not (ana / "data" / "Word").exists()  # nothing ran


def test_remove_output_modes(ana):
    assert run_cli(["run", "ana.Word"], ana).returncode == 0
    dry = run_cli(["run", "ana.Word", "--remove-output", "1,d"], ana)
    assert dry.stdout.count("would remove") == 6
    assert (ana / "data" / "Word" / "word_5.txt").exists()

    # interactive: no for Word, yes for Chars
    asked = run_cli(["run", "ana.Word", "--remove-output", "1"], ana, input="n\ny\n")
    assert asked.returncode == 0, asked.stderr
    assert (ana / "data" / "Word" / "word_5.txt").exists()
    assert not list((ana / "data" / "Chars").iterdir())

    rerun = run_cli(["run", "ana.Word", "--remove-output", "0,a,true"], ana)
    assert rerun.returncode == 0, rerun.stderr
    assert "removed" in rerun.stdout and "done" in rerun.stdout
    assert (ana / "data" / "Word" / "word_5.txt").read_text() == "abcde"


def test_remove_output_skips_external_tasks(ana):
    (ana / "data" / "Raw").mkdir(parents=True)
    (ana / "data" / "Raw" / "raw.txt").write_text("precious")
    result = run_cli(["run", "ana.Raw", "--remove-output", "0,a"], ana)
    assert "skipping external task" in result.stdout
    assert (ana / "data" / "Raw" / "raw.txt").read_text() == "precious"


def test_fetch_output(ana):
    run_cli(["run", "ana.Word", "--n", "3"], ana)
    result = run_cli(["run", "ana.Word", "--n", "3", "--fetch-output", "1,a,fetched"], ana)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (ana / "fetched").iterdir()) == [
        "char_0.json", "char_1.json", "char_2.json", "word_3.txt"]


@pytest.mark.parametrize("args, words", [
    (["run", "ana.Wrod"], "module 'ana' has no task class 'Wrod'; did you mean Word?"),
    (["run", "Wrod"], "unknown task 'Wrod'"),
    (["run", "nomodule.Word"], "unknown task 'nomodule.Word'"),
    (["run", "ana.Word", "--n", "five"], "bad value 'five' for --n of Word (a IntParameter)"),
    (["run", "ana.Word", "--nn", "5"], "unknown parameter --nn of Word; did you mean --n?"),
    (["run", "ana.Chars", "--branch", "7"],
     "branch 7 of Chars is out of range: the branch map has 5 branches (0..4)"),
    (["run", "ana.Chars", "--n", "13"],
     "create_branch_map() of Chars failed: RuntimeError: no data for 13"),
    (["run", "ana.Chars", "--workflow", "pbs"], "no installed plugin provides the job "
     "manager 'pbs'; installed: "),
    (["run", "ana.Word", "--print-status", "x"], "--print-status: expected an integer depth"),
    (["run", "ana.Word", "--workers", "0"], "--workers must be at least 1"),
])
def test_bad_input_is_a_clear_error(ana, args, words):
    result = run_cli(args, ana)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"law-core: error: {words}" in result.stderr


def test_job_manager_not_installed_names_its_distribution(ana):
    # as if law-core-slurm were not installed (the test set-up installs it)
    result = run_cli(["run", "ana.Chars", "--workflow", "slurm"], ana,
                     LAW_CORE_DISABLE_PLUGINS="slurm")
    assert result.returncode == 1
    assert "law-core: error: no installed plugin provides the job manager 'slurm'; the " \
           "distribution law-core-slurm provides it (pip install law-core-slurm)" in result.stderr


def test_formatter_not_installed_is_a_clear_failure(ana):
    # as if law-core-formatters were not installed (the test set-up installs it)
    result = run_cli(["run", "ana.NeedsNumpy"], ana, LAW_CORE_DISABLE_PLUGINS="formatters")
    assert result.returncode == 1
    assert "law-core: error: NeedsNumpy() failed:" in result.stderr
    assert "array.npy" in result.stderr and "law-core-formatters" in result.stderr
    assert not list((ana / "data" / "NeedsNumpy").glob("*")) if \
        (ana / "data" / "NeedsNumpy").exists() else True


def test_unwritable_output_directory_is_a_clear_failure(ana):
    (ana / "blocker").write_text("a file where a directory should be")
    result = run_cli(["run", "ana.Unwritable"], ana)
    assert result.returncode == 1
    assert "law-core: error: Unwritable() failed: TargetError: cannot create the directory" \
        in result.stderr
    assert (ana / "blocker").read_text() == "a file where a directory should be"


def test_failing_branches_give_non_zero_exit(ana):
    write_module(ana, "flaky", """
        import law_core as law

        class Flaky(law.LocalWorkflow):
            def create_branch_map(self):
                return 4

            def output(self):
                return self.local_target(f"f_{self.branch}.txt")

            def run(self):
                if self.branch == 2:
                    raise ValueError("bad calibration in branch 2")
                self.output().dump("ok")
    """)
    result = run_cli(["run", "flaky.Flaky"], ana)
    assert result.returncode == 1
    assert "bad calibration in branch 2" in result.stderr
    assert "1 of 4 branches of Flaky failed" in result.stderr
    assert sorted(p.name for p in (ana / "data" / "Flaky").iterdir()) == [
        "f_0.txt", "f_1.txt", "f_3.txt"]


def test_central_scheduler(ana):
    import shutil
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    luigid = shutil.which("luigid") or str(__import__("pathlib").Path(sys.executable).parent
                                           / "luigid")
    server = subprocess.Popen([luigid, "--port", str(port), "--address", "127.0.0.1"],
                              cwd=ana, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        result = run_cli(["run", "ana.Word", "--n", "3", "--scheduler-host", "127.0.0.1",
                          "--scheduler-port", str(port)], ana)
        assert result.returncode == 0, result.stderr
        assert (ana / "data" / "Word" / "word_3.txt").read_text() == "abc"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_config_sections_named_after_tasks_set_parameter_defaults(ana):
    (ana / "law.cfg").write_text("[Chars]\nn = 3\n")
    result = run_cli(["run", "ana.Chars"], ana)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (ana / "data" / "Chars").iterdir()) == [
        "char_0.json", "char_1.json", "char_2.json"]
    explicit = run_cli(["run", "ana.Chars", "--n", "4"], ana)  # the command line wins
    assert explicit.returncode == 0, explicit.stderr
    assert (ana / "data" / "Chars" / "char_3.json").exists()


def test_logging_section_sets_logger_levels(ana):
    """``[logging] LOGGER = LEVEL`` wins over the run's default levels: luigi's own
    messages come back with ``luigi-interface = INFO``, hidden otherwise."""
    quiet = run_cli(["run", "ana.Word", "--n", "2"], ana)
    assert quiet.returncode == 0, quiet.stderr
    assert "Informed scheduler that task" not in quiet.stderr
    (ana / "law.cfg").write_text("[logging]\nluigi-interface = INFO\n")
    chatty = run_cli(["run", "ana.Word", "--n", "3"], ana)
    assert chatty.returncode == 0, chatty.stderr
    assert "INFO: Informed scheduler that task" in chatty.stderr
    assert "Asking scheduler for work" not in chatty.stderr  # luigi's DEBUG lines
    (ana / "law.cfg").write_text("[logging]\nluigi-interface = LOUD\n")
    bad = run_cli(["run", "ana.Word", "--n", "4"], ana)
    assert bad.returncode == 1
    assert "law.cfg:2: [logging] luigi-interface = 'LOUD' is not a log level" in bad.stderr
    assert not (ana / "data" / "Word" / "word_4.txt").exists()
