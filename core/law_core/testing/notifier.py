"""The conformance suite of notifiers (``law-core run TASK --notify NAME`` plugins).

A plugin's tests subclass :class:`NotifierSuite`, name the notifier and provide, as the
``notifier_service`` fixture, the service a message goes to: the real one where tests may
post, else a local stand-in that speaks the part of the service's API the notifier uses::

    class TestSlack(NotifierSuite):
        notifier_name = "slack"

        @pytest.fixture
        def notifier_service(self):
            with SlackStandIn() as stand_in:
                yield stand_in

The service object has ``options`` (the ``[notifications]`` options that reach it),
``broken_options`` (options with which the service refuses or cannot be reached),
``secrets`` (credentials in those options, which must appear nowhere) and ``messages``
(the text of every message it received so far, fields included).

The suite holds the promises users rely on: ``--notify NAME`` for a task sends one
message when it succeeds and one when it fails, naming the task, its status, its duration
and, on failure, the last line of the traceback; a workflow sends one for all its
branches; without the switch nothing is sent; a message that cannot be delivered is a
warning and the task still succeeds; and no credential appears in the run's output, in
any file the run leaves, or in the config that jobs read. Runs go through ``law-core run``
in fresh processes, as users start them.
"""

from __future__ import annotations

import os
import textwrap
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest

NOTIFY_TASKS = '''
import time

import luigi

import law_core as law


class NotifyMe(law.Task):
    fail = luigi.BoolParameter(default=False)

    def output(self):
        return self.local_target("done.txt")

    def run(self):
        self.publish_message("halfway there")
        time.sleep(0.2)
        if self.fail:
            raise ValueError("this task just failed")
        self.output().dump("done")


class NotifyFlow(law.Workflow):
    def create_branch_map(self):
        return 3

    def output(self):
        return self.local_target(f"branch_{self.branch}.txt")

    def run(self):
        self.output().dump(str(self.branch))
'''


def _env_options(options: dict[str, str]) -> dict[str, str]:
    return {f"LAW_CORE__NOTIFICATIONS__{k.upper()}": str(v) for k, v in options.items()}


class NotifierSuite:
    """Subclass with ``notifier_name`` and a ``notifier_service`` fixture (module doc)."""

    notifier_name: ClassVar[str] = ""
    #: seconds a message may take to arrive after the run ended
    timeout: ClassVar[float] = 10.0

    @pytest.fixture
    def notifier_service(self) -> Any:
        raise NotImplementedError("provide the notifier_service fixture (see the suite's doc)")

    # helpers

    @pytest.fixture
    def project(self, tmp_path: Path) -> Path:
        (tmp_path / "notify_tasks.py").write_text(textwrap.dedent(NOTIFY_TASKS))
        return tmp_path

    def run(self, project: Path, options: dict[str, str], *args: str) -> Any:
        from law_core.testing.cli import run_cli

        task, *rest = args
        return run_cli(["run", f"notify_tasks.{task}", *rest], cwd=project,
                       **_env_options(options))

    def wait_for(self, service: Any, count: int) -> list[str]:
        deadline = time.monotonic() + self.timeout
        while len(service.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(service.messages)

    def assert_no_secrets(self, service: Any, *texts: str, root: Path | None = None) -> None:
        secrets = [s for s in service.secrets if s]
        for text in texts:
            for secret in secrets:
                assert secret not in text, "a credential appears in the output"
        if root is None:
            return
        for path in root.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                for secret in secrets:
                    assert secret.encode() not in data, f"a credential appears in {path}"

    @property
    def flag(self) -> str:
        return f"--notify={self.notifier_name}"

    # the promises

    def test_declared(self, notifier_service: Any, project: Path) -> None:
        from law_core.registry import get_registry

        assert self.notifier_name in get_registry().notifiers()
        # a mistyped name: a clear error naming the installed ones, nothing run or sent
        result = self.run(project, notifier_service.options, "NotifyMe",
                          f"--notify={self.notifier_name}x")
        assert result.returncode != 0
        assert f"no notifier {self.notifier_name}x" in result.stderr, result.stderr
        assert self.notifier_name in result.stderr.rsplit("installed notifiers:", 1)[-1]
        assert "Traceback" not in result.stderr
        assert not (project / "data").exists()
        assert notifier_service.messages == []

    def test_send_delivers(self, notifier_service: Any, monkeypatch: pytest.MonkeyPatch,
                           law_core_isolated: None) -> None:
        from law_core.notify import send

        for key, value in _env_options(notifier_service.options).items():
            monkeypatch.setenv(key, value)
        before = len(notifier_service.messages)
        content = {"Task": "Demo(x=1)", "Status": "success", "Duration": "1.5 s"}
        assert send(self.notifier_name, "Task Demo succeeded!", content, success=True)
        messages = self.wait_for(notifier_service, before + 1)
        assert len(messages) == before + 1
        for text in ("Task Demo succeeded!", "Demo(x=1)", "success", "1.5 s"):
            assert text in messages[-1]

    def test_success_message(self, notifier_service: Any, project: Path) -> None:
        result = self.run(project, notifier_service.options, "NotifyMe", self.flag)
        assert result.returncode == 0, result.stderr
        messages = self.wait_for(notifier_service, 1)
        assert len(messages) == 1, messages
        text = messages[0]
        for expected in ("NotifyMe", "succeeded", "success", "halfway there", " s"):
            assert expected in text, (expected, text)
        self.assert_no_secrets(notifier_service, result.stdout, result.stderr, root=project)

    def test_failure_message(self, notifier_service: Any, project: Path) -> None:
        result = self.run(project, notifier_service.options, "NotifyMe", "--fail", self.flag)
        assert result.returncode != 0
        messages = self.wait_for(notifier_service, 1)
        assert len(messages) == 1, messages
        assert "failed" in messages[0] and "failure" in messages[0]
        assert "ValueError: this task just failed" in messages[0]
        self.assert_no_secrets(notifier_service, result.stdout, result.stderr, root=project)

    def test_workflow_sends_one_message(self, notifier_service: Any, project: Path) -> None:
        result = self.run(project, notifier_service.options, "NotifyFlow", self.flag)
        assert result.returncode == 0, result.stderr
        messages = self.wait_for(notifier_service, 1)
        time.sleep(0.3)  # a message per branch would arrive now
        assert len(notifier_service.messages) == 1, notifier_service.messages
        assert "NotifyFlow" in messages[0] and "success" in messages[0]

    def test_no_switch_no_message(self, notifier_service: Any, project: Path) -> None:
        result = self.run(project, notifier_service.options, "NotifyMe")
        assert result.returncode == 0, result.stderr
        time.sleep(0.3)
        assert notifier_service.messages == []

    def test_failure_to_send_is_a_warning(self, notifier_service: Any, project: Path) -> None:
        result = self.run(project, notifier_service.broken_options, "NotifyMe", self.flag)
        assert result.returncode == 0, result.stderr  # the task does not fail
        assert (project / "data").exists()
        output = result.stdout + result.stderr
        assert f"{self.notifier_name} notification not sent" in output, output
        assert notifier_service.messages == []
        self.assert_no_secrets(notifier_service, result.stdout, result.stderr, root=project)

    def test_failure_to_send_in_process(self, notifier_service: Any,
                                        monkeypatch: pytest.MonkeyPatch,
                                        caplog: pytest.LogCaptureFixture,
                                        law_core_isolated: None) -> None:
        from law_core.notify import send

        for key, value in _env_options(notifier_service.broken_options).items():
            monkeypatch.setenv(key, value)
        with caplog.at_level("WARNING", logger="law_core.notify"):
            assert send(self.notifier_name, "Task Demo failed!", {"Status": "failure"},
                        success=False) is False
        warnings = [r for r in caplog.records if r.levelname == "WARNING"]
        assert warnings, "a message that was not delivered must be a warning"
        self.assert_no_secrets(notifier_service, caplog.text)

    def test_secrets_stay_out_of_job_config(self, notifier_service: Any,
                                            monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                            law_core_isolated: None) -> None:
        from law_core.config import get_config

        for key, value in _env_options(notifier_service.options).items():
            monkeypatch.setenv(key, value)
        path = get_config().write_resolved(tmp_path / "resolved.cfg")
        self.assert_no_secrets(notifier_service, path.read_text())
        assert os.stat(path).st_mode & 0o077 == 0
