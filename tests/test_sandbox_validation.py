"""Every sandbox a run names is checked before anything runs: a mistyped type, a malformed
spec, a missing script or venv, an invalid image name must not wait until every upstream
task has run (hours in a real analysis)."""

from __future__ import annotations

import pytest

from law_core.testing.cli import run_cli, write_module

TASKS = """
    import law_core as law


    class Up(law.Task):
        def output(self):
            return self.local_target("up.txt")

        def run(self):
            open("upstream-ran", "w").close()
            self.output().dump("up", formatter="text")


    class Down(law.SandboxTask):
        def requires(self):
            return Up()

        def output(self):
            return self.local_target("down.txt")

        def run(self):
            self.output().dump("down", formatter="text")
"""

#: a task class elsewhere in the analysis, imported but not part of the run's tree
ELSEWHERE = """
    import law_core as law


    class Elsewhere(law.SandboxTask):
        sandbox = "venv::/no/such/venv"

        def output(self):
            return self.local_target("elsewhere.txt")
"""


@pytest.mark.parametrize("args, config, message", [
    (["--sandbox", "dockr::img"], "",
     "no installed plugin provides the sandbox 'dockr'"),
    ([], "[sandbox]\nUp = docker::\n",
     "law.cfg:2): a sandbox is given as TYPE::NAME"),
    (["--sandbox", "docker::UPPER CASE"], "",
     "docker::UPPER CASE is not a valid image name"),
    ([], "[sandbox]\nDown = bash:setup.sh\n", "is given as TYPE::NAME"),
    ([], "[sandbox]\nDown = bash::no-such-setup.sh\n",
     "the setup script of the sandbox bash::no-such-setup.sh does not exist"),
    (["--sandbox", "venv::no-such-venv"], "", "is not a virtual environment"),
], ids=["unknown-type", "config-empty-name", "bad-image", "one-colon", "no-script", "no-venv"])
def test_a_bad_sandbox_fails_before_any_upstream_task_runs(tmp_path, args, config, message):
    write_module(tmp_path, "updown", TASKS)
    (tmp_path / "law.cfg").write_text(config)
    result = run_cli(["run", "updown.Down", *args], tmp_path)
    assert result.returncode == 1, result.stderr[-3000:]
    assert message in result.stderr, result.stderr[-3000:]
    assert not (tmp_path / "upstream-ran").exists()


def test_the_class_default_of_an_imported_task_is_checked(tmp_path):
    write_module(tmp_path, "updown", TASKS + "\n    import elsewhere  # noqa\n")
    write_module(tmp_path, "elsewhere", ELSEWHERE)
    result = run_cli(["run", "updown.Down"], tmp_path)
    assert result.returncode == 1
    assert "the sandbox of the class elsewhere.Elsewhere: the sandbox venv::/no/such/venv " \
        "is not a virtual environment" in result.stderr
    assert not (tmp_path / "upstream-ran").exists()


def test_status_and_outputs_are_shown_without_the_sandbox(tmp_path):
    """--print-status and the like enter no sandbox: a shell without the task's script or
    image (say, a login node) still shows and removes outputs."""
    write_module(tmp_path, "updown", TASKS)
    (tmp_path / "law.cfg").write_text("[sandbox]\nDown = bash::no-such-setup.sh\n")
    status = run_cli(["run", "updown.Down", "--print-status", "0"], tmp_path)
    assert status.returncode == 0, status.stderr[-3000:]
    assert "down.txt: absent" in status.stdout
    output = run_cli(["run", "updown.Down", "--print-output", "0"], tmp_path)
    assert output.returncode == 0, output.stderr[-3000:]
    assert str(tmp_path / "data" / "Down" / "down.txt") in output.stdout
    assert not (tmp_path / "upstream-ran").exists()


def test_good_sandboxes_pass_and_the_run_goes_on(tmp_path):
    write_module(tmp_path, "updown", TASKS)
    (tmp_path / "setup.sh").write_text("true\n")
    (tmp_path / "law.cfg").write_text("[sandbox]\nforward_env = MY_*\nUp = \n"
                                      f"Down = bash::{tmp_path / 'setup.sh'}\n")
    result = run_cli(["run", "updown.Down"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "data" / "Down" / "down.txt").read_text() == "down"


def test_validate_sandboxes_checks_config_entries_without_building_the_tree(
        tmp_path, monkeypatch):
    from law_core.config import reset_config
    from law_core.errors import ConfigError
    from law_core.sandbox import validate_sandboxes

    monkeypatch.chdir(tmp_path)
    (tmp_path / "law.cfg").write_text("[sandbox]\nforward_env = X_*\nstage_dir = /tmp\n"
                                      "SomeFamily = docker::Not Valid\n")
    reset_config()
    with pytest.raises(ConfigError, match=r"\[sandbox\] SomeFamily = 'docker::Not Valid' "
                       r"\(.*law.cfg:4\): docker::Not Valid is not a valid image name"):
        validate_sandboxes()
    (tmp_path / "law.cfg").write_text("[sandbox]\nforward_env = X_*\nSomeFamily = docker::ok\n")
    reset_config()
    validate_sandboxes()
