"""law's own examples, run unchanged with law 0.1.21 and with law-core-compat, through the
commands of their READMEs (the machinery: law_reference.py)."""

from __future__ import annotations

from pathlib import Path

from law_reference import _both, _files, _index_families


def test_workflows_example(tmp_path: Path, law_examples: Path, law_bin: Path) -> None:
    """examples/workflows through its README: index, status, run, status, output list."""
    commands = [
        ["law", "index", "--verbose"],
        ["law", "run", "CreateAlphabet", "--print-status", "-1"],
        ["law", "run", "CreateAlphabet"],
        ["law", "run", "CreateAlphabet", "--print-status", "1"],
        ["law", "run", "CreateAlphabet", "--print-output", "1"],
    ]
    law_example, compat_example, law_results, compat_results = _both(
        tmp_path, law_examples / "workflows", law_bin,
        {"WORKFLOWEXAMPLE_DATA_PATH": "data"}, commands)
    # the alphabet was really built, not two equally empty directories compared
    assert (compat_example / "data" / "CreateAlphabet" / "alphabet.txt").read_text() == \
        "abcdefghijklmnopqrstuvwxyz\n"
    # law index: the same tasks of the same modules, and the same report around them
    assert _index_families(compat_example) == _index_families(law_example) == \
        [("tasks", "CreateChars"), ("tasks", "CreateAlphabet")]
    law_index, compat_index = law_results[0][2], compat_results[0][2]
    assert compat_index.replace(str(compat_example), "EX") == \
        law_index.replace(str(law_example), "EX")
    # --print-output: law's header line, then the same URIs
    law_uris = law_results[4][2].replace(str(law_example), "EX").splitlines()
    compat_uris = compat_results[4][2].replace(str(compat_example), "EX").splitlines()
    assert compat_uris == law_uris


def test_workflows_example_remove_output(tmp_path: Path, law_examples: Path,
                                         law_bin: Path) -> None:
    """README step 5: the outputs removed (mode a, no questions) in both."""
    commands = [
        ["law", "index", "--quiet"],
        ["law", "run", "CreateAlphabet", "--CreateChars-slow", "False"],
        ["law", "run", "CreateAlphabet", "--remove-output", "1,a"],
    ]
    _, compat_example, _, _ = _both(tmp_path, law_examples / "workflows", law_bin,
                                    {"WORKFLOWEXAMPLE_DATA_PATH": "data"}, commands)
    assert not _files(compat_example / "data")


def test_workflows_example_central_scheduler(tmp_path: Path, law_examples: Path,
                                            law_bin: Path) -> None:
    """README step 3: ``--local-scheduler False`` asks luigi's central scheduler, here at a
    port where none listens (set through law's LAW__SECTION__OPTION variables): both fail
    alike (law's code 60) and write nothing."""
    unreachable = {"LAW__luigi_core__default_scheduler_port": "1",
                   "LAW__luigi_core__rpc_retry_attempts": "1",
                   "LAW__luigi_core__rpc_retry_wait": "0"}
    commands = [["law", "index", "--quiet"],
                ["law", "run", "CreateAlphabet", "--local-scheduler", "False"]]
    _, _, law_results, compat_results = _both(
        tmp_path, law_examples / "workflows", law_bin, {"WORKFLOWEXAMPLE_DATA_PATH": "data"},
        commands, extra_env=unreachable)
    assert law_results[1][1] == compat_results[1][1] == 60
    assert "remote scheduler 'http://localhost:1'" in compat_results[1][2]
    assert "or run with --local-scheduler" in compat_results[1][2]


def test_workflow_parameters_example(tmp_path: Path, law_examples: Path,
                                     law_bin: Path) -> None:
    """examples/workflow_parameters: a workflow whose branch map comes from its
    parameters, required lower and upper case."""
    commands = [
        ["law", "index", "--verbose"],
        ["law", "run", "CreateAlphabet"],
        ["law", "run", "CreateAlphabet", "--upper-case"],
    ]
    _, compat_example, _, _ = _both(tmp_path, law_examples / "workflow_parameters", law_bin,
                                    {"WORKFLOWEXAMPLE_DATA_PATH": "data/store"}, commands)
    store = compat_example / "data" / "store" / "CreateAlphabet"
    assert (store / "alphabet_uc.txt").read_text() == "ABCDEFGHIJKLMNOPQRSTUVWXYZ\n"


#: text for the loremipsum example's six downloads, served from local files
_WORDS = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
          "incididunt ut labore et dolore magna aliqua quick brown fox jumps over the lazy "
          "dog").split()


def _local_lorem_ipsum(example: Path) -> None:
    """Point the example's download URL at six local text files; and name the var_type of
    its ChoiceParameter, which the example passes positionally, as luigi 2.8 (which its
    setup.sh clones) took it and luigi 3 refuses. The same in both copies."""
    texts = example / "texts"
    texts.mkdir()
    for i in range(1, 7):
        words = [_WORDS[(i * k * 7 + k) % len(_WORDS)] for k in range(200 + 37 * i)]
        (texts / f"version{i}.txt").write_text(" ".join(words).capitalize() + ".\n")
    tasks = example / "tasks.py"
    source = tasks.read_text()
    url = 'URL = "http://www.loremipsum.de/downloads/version{}.txt"'
    assert url in source, "the loremipsum example's URL line changed"
    choice = "luigi.ChoiceParameter(\n        int,"
    assert choice in source, "the loremipsum example's ChoiceParameter changed"
    source = source.replace(choice, "luigi.ChoiceParameter(\n        var_type=int,")
    tasks.write_text(source.replace(url, f'URL = "{texts.as_uri()}/version{{}}.txt"'))


def test_loremipsum_example(tmp_path: Path, law_examples: Path, law_bin: Path) -> None:
    """examples/loremipsum: downloads (here: local files), counts, a merge, and a
    RunOnceTask (law.contrib.load("tasks")) that prints the frequencies."""
    commands = [
        ["law", "index", "--verbose"],
        ["law", "run", "ShowFrequencies", "--print-status", "-1"],
        ["law", "run", "ShowFrequencies"],
        ["law", "run", "MergeCounts", "--print-status", "0"],
    ]
    _, compat_example, _, compat_results = _both(
        tmp_path, law_examples / "loremipsum", law_bin, {"DATA_PATH": "data"}, commands,
        prepare=_local_lorem_ipsum)
    assert (compat_example / "data" / "chars_merged.json").exists()
    assert "o: " in compat_results[2][2]  # the frequencies were shown
