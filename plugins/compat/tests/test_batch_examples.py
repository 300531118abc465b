"""law's batch-system examples, run unchanged with law 0.1.21 and with law-core-compat.

Each example defines its workflow with law's batch mixin (``law.htcondor.HTCondorWorkflow``,
``law.slurm.SlurmWorkflow``, ``law.lsf.LSFWorkflow``) after ``law.contrib.load``, with its
``<name>_output_directory``, ``<name>_bootstrap_file`` (a ``law.JobInputFile``) and
``<name>_job_config`` hooks. No batch system runs here, so the examples run through their
READMEs' commands with the README's ``--<Family>-workflow local``; the status before, the
run and the status after must exit alike in both, and the output files be byte-identical
(the machinery of law_reference.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from law_reference import COMPAT_BIN, _both, _run_example  # noqa: F401

#: example -> the variables of its setup.sh naming the data directory
EXAMPLES = {
    "htcondor_at_cern": {"ANALYSIS_PATH": "", "DATA_PATH": "data"},
    "htcondor_at_naf": {"ANALYSIS_PATH": "", "DATA_PATH": "data"},
    # its framework.py reads $DATA_PATH, its setup.sh exports ANALYSIS_DATA_PATH only (law
    # then writes below "/$DATA_PATH"): both are set
    "htcondor_at_vispa": {"ANALYSIS_PATH": "", "ANALYSIS_DATA_PATH": "data", "DATA_PATH": "data"},
    "lsf_at_cern": {"ANALYSIS_PATH": "", "ANALYSIS_DATA_PATH": "data"},
    "slurm_at_maxwell": {"ANALYSIS_PATH": "", "DATA_PATH": "data"},
}

ALPHABET = "abcdefghijklmnopqrstuvwxyz\n"


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_batch_example_run_locally(name: str, tmp_path: Path, law_examples: Path,
                                   law_bin: Path) -> None:
    """README steps 2 to 5, the run with ``--CreateChars-workflow local``."""
    commands = [
        ["law", "index", "--verbose"],
        ["law", "run", "CreateAlphabet", "--version", "v1", "--print-status", "-1"],
        ["law", "run", "CreateAlphabet", "--version", "v1", "--CreateChars-transfer-logs",
         "--CreateChars-poll-interval", "30sec", "--CreateChars-workflow", "local"],
        ["law", "run", "CreateAlphabet", "--version", "v1", "--print-status", "-1"],
    ]
    _, compat_example, _, compat_results = _both(
        tmp_path, law_examples / name, law_bin, EXAMPLES[name], commands)
    assert [rc for _, rc, _ in compat_results] == [0, 0, 0, 0], compat_results
    alphabet = compat_example / "data" / "CreateAlphabet" / "v1" / "alphabet.txt"
    assert alphabet.read_text() == ALPHABET
    assert "built alphabet" in compat_results[2][2]
    # nothing was submitted: no job directory below the batch output directory
    assert not (compat_example / "data" / "CreateChars" / "v1" / "jobs").exists()


def test_batch_example_default_is_the_batch_system(tmp_path: Path, law_examples: Path,
                                                   law_bin: Path) -> None:
    """Without ``--CreateChars-workflow local`` the mixin first in the bases decides: the
    run goes to HTCondor, which is not installed here, and fails in both alike, with
    law-core-compat naming the missing tool; the job files were prepared: the bootstrap
    file (a ``law.JobInputFile`` with ``render_job=True``) rendered with the
    ``render_variables`` of ``htcondor_job_config``, no alphabet written."""
    if shutil.which("condor_submit"):
        pytest.skip("HTCondor is installed here: this test needs a host without it")
    commands = [["law", "index", "--quiet"],
                ["law", "run", "CreateAlphabet", "--version", "v1", "--CreateChars-retries",
                 "0", "--CreateChars-poll-interval", "1sec"]]
    source, data_vars = law_examples / "htcondor_at_naf", EXAMPLES["htcondor_at_naf"]
    law_results, _ = _run_example(source, tmp_path / "law", law_bin, data_vars,
                                             commands)
    results, example = _run_example(source, tmp_path / "compat",
                                               COMPAT_BIN, data_vars, commands)
    assert results[1][1] == law_results[1][1] != 0, (law_results[1], results[1])
    assert "condor_submit" in results[1][2]
    assert not (example / "data" / "CreateAlphabet").exists()
    [job_dir] = (example / "data" / "CreateChars" / "v1" / "jobs").iterdir()
    rendered = (job_dir / "law_inputs" / "bootstrap.sh").read_text()
    assert f'source "{example}/setup.sh"' in rendered
    assert "{{" not in rendered
    # a job input file of law-core's: each job finds it in its working directory and
    # sources it there, as law's do; the script names no path of this host
    assert (job_dir / "inputs" / "bootstrap.sh").read_text() == rendered
    assert "LAW_CORE_JOB_INPUTS=bootstrap.sh\n" in (job_dir / "job_env.sh").read_text()
    script = (job_dir / "law_bootstrap.sh").read_text()
    assert 'source ./bootstrap.sh "$@" || return 1' in script.splitlines()
    assert str(example) not in script


def test_sequential_htcondor_example_run_locally(tmp_path: Path, law_examples: Path,
                                                 law_bin: Path) -> None:
    """sequential_htcondor_at_cern: two HTCondor workflows, the second's branches each
    requiring a partial workflow of the first; both run locally here, with six workers."""
    commands = [
        ["law", "index", "--verbose"],
        ["law", "run", "CreatePartialAlphabet", "--version", "v1", "--branch", "0",
         "--print-status", "-1"],
        ["law", "run", "CreateFullAlphabet", "--version", "v1", "--print-status", "1"],
        ["law", "run", "CreateFullAlphabet", "--version", "v1", "--workers", "6",
         "--CreatePartialAlphabet-workflow", "local", "--CreateChars-workflow", "local"],
    ]
    _, compat_example, _, compat_results = _both(
        tmp_path, law_examples / "sequential_htcondor_at_cern", law_bin,
        {"ANALYSIS_PATH": "", "ANALYSIS_DATA_PATH": "data"}, commands)
    assert [rc for _, rc, _ in compat_results] == [0, 0, 0, 0], compat_results
    full = compat_example / "data" / "CreateFullAlphabet" / "v1" / "full_alphabet.txt"
    assert full.read_text() == "abcde-fghij-klmno-pqrst-uvwxy-z\n"
