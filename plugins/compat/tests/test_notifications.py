"""law's notifications (law.slack, law.telegram, law.mattermost, law.notification,
law.decorator.notify and the Notify* parameters) through law-core-notifiers, against the
local stand-ins of law_core_notifiers.standins.

- law's ``examples/notifications`` runs unchanged through its README's commands, its Slack
  and Telegram settings given as law's ``LAW__notifications__*`` variables (law 0.1.21 is
  not run on it: it needs slackclient and python-telegram-bot, whose service URLs cannot
  be pointed at a stand-in without patching them).
- Mail, which law 0.1.21 sends with the standard library alone, is sent by law 0.1.21 and
  by law-core-compat from the same task to the same SMTP stand-in, and the two mails
  compared field by field (not byte for byte: durations differ).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import textwrap
from pathlib import Path

import law
import pytest

pytest.importorskip("law_core_notifiers", reason="needs law-core-notifiers")

from law_core_notifiers.standins import (  # noqa: E402
    MattermostStandIn,
    SlackStandIn,
    SMTPStandIn,
    TelegramStandIn,
)
from law_reference import COMPAT_BIN, _env  # noqa: F401


def _law_vars(options: dict[str, str]) -> dict[str, str]:
    # law takes section and option as written: LAW__notifications__slack_token
    return {f"LAW__notifications__{k}": v for k, v in options.items()}


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=300)


def _assert_nowhere(secrets: list[str], texts: list[str], root: Path) -> None:
    for secret in secrets:
        for text in texts:
            assert secret not in text, "a token appears in the output"
        for path in root.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), f"a token is in {path}"


def test_contrib_packages_load() -> None:
    law.contrib.load("slack", "telegram", "mattermost")
    assert law.slack.NotifySlackParameter().get_transport()["raw"] is True
    assert callable(law.telegram.notify_telegram)
    assert issubclass(law.mattermost.NotifyMattermostParameter, law.NotifyParameter)
    assert law.slack.NotifySlackParameter().description.startswith("when true")


def test_example_notifications_unchanged(law_examples: Path, tmp_path: Path) -> None:
    example = tmp_path / "notifications"
    shutil.copytree(law_examples / "notifications", example)
    with SlackStandIn() as slack, TelegramStandIn() as telegram:
        env = {**_env(COMPAT_BIN, example, {}), **_law_vars(slack.options),
               **_law_vars(telegram.options)}
        index = _run(["law", "index", "--verbose"], example, env)
        assert index.returncode == 0, index.stdout + index.stderr
        assert "MyTask" in index.stdout
        ok = _run(["law", "run", "MyTask", "--notify-slack", "--notify-telegram"], example,
                  env)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        failed = _run(["law", "run", "MyTask", "--notify-slack", "--fail"], example, env)
        assert failed.returncode != 0

        assert len(slack.messages) == 2 and len(telegram.messages) == 1
        for text in (slack.messages[0], telegram.messages[0]):
            assert "Task MyTask succeeded!" in text
            assert "Status: success" in text and "Last message: running MyTask" in text
        fields = {f["title"]: f["value"] for f in slack.requests[1]["attachments"][0]["fields"]}
        assert fields["Status"] == "failure"
        assert fields["Traceback"].rstrip().endswith("Exception: this task just failed")
        assert slack.requests[1]["attachments"][0]["color"] == "danger"
        _assert_nowhere(slack.secrets + telegram.secrets,
                        [ok.stdout, ok.stderr, failed.stdout, failed.stderr], example)


MAIL_TASKS = '''
import os

import luigi
import law


class MailMe(law.Task):

    notify_mail = law.NotifyMailParameter()
    fail = luigi.BoolParameter(default=False)

    def output(self):
        return law.LocalFileTarget(os.path.abspath("out_{}.txt".format(self.fail)))

    @law.decorator.notify
    def run(self):
        self.publish_message("working on it")
        if self.fail:
            raise Exception("this task just failed")
        with open(self.output().path, "w") as f:
            f.write("done")
'''


def _mail_project(root: Path, port: int) -> Path:
    root.mkdir()
    (root / "mailtasks.py").write_text(textwrap.dedent(MAIL_TASKS))
    (root / "law.cfg").write_text(textwrap.dedent(f"""\
        [modules]
        mailtasks

        [notifications]
        mail_recipient: analyst@example.org
        mail_sender: law@example.org
        mail_smtp_host: 127.0.0.1
        mail_smtp_port: {port}

        [luigi_core]
        local_scheduler: True
        """))
    return root


def _fields(body: str) -> dict[str, str]:
    """``**Key**: value`` lines of law's mail layout (a traceback spans lines)."""
    fields: dict[str, str] = {}
    key = None
    for line in body.replace("\r\n", "\n").split("\n"):
        if line.startswith("**") and "**: " in line:
            key, _, value = line[2:].partition("**: ")
            fields[key] = value
        elif key is not None:
            fields[key] += "\n" + line
    return fields


def test_mail_as_law_sends_it(law_bin: Path, tmp_path: Path) -> None:
    with SMTPStandIn() as smtp:
        mails = {}
        for side, bin_dir in (("law", law_bin), ("compat", COMPAT_BIN)):
            project = _mail_project(tmp_path / side, smtp.port)
            env = _env(bin_dir, project, {})
            before = len(smtp.mails)
            index = _run(["law", "index"], project, env)
            assert index.returncode == 0, (side, index.stdout + index.stderr)
            ok = _run(["law", "run", "MailMe", "--notify-mail"], project, env)
            failed = _run(["law", "run", "MailMe", "--notify-mail", "--fail"], project, env)
            assert ok.returncode == 0, (side, ok.stdout + ok.stderr)
            assert failed.returncode != 0, side
            mails[side] = smtp.mails[before:]
            assert len(mails[side]) == 2, (side, ok.stderr, failed.stderr)

    for ours, theirs in zip(mails["compat"], mails["law"]):
        assert ours["to"] == theirs["to"] and ours["from"] == theirs["from"]
        for header in ("Subject", "From", "To"):
            assert ours["mail"][header] == theirs["mail"][header], header
        mine, law_fields = _fields(ours["mail"].get_content()), \
            _fields(theirs["mail"].get_content())
        assert list(mine) == list(law_fields)
        for key in ("Status", "Task", "Host", "Last message"):
            assert mine[key] == law_fields[key], key
    assert mails["law"][1]["mail"]["Subject"] == "Task MailMe failed!"
    failure = _fields(mails["compat"][1]["mail"].get_content())
    assert failure["Status"] == "failure"
    assert "Exception: this task just failed" in failure["Traceback"]


def test_notify_mail_without_recipient_warns(caplog: pytest.LogCaptureFixture) -> None:
    from law.notification import notify_mail

    with caplog.at_level(logging.WARNING):
        assert notify_mail("t", "m", recipient="", sender="") is False
    assert "recipient" in caplog.text


def test_mattermost_function_and_refusal_warns(caplog: pytest.LogCaptureFixture) -> None:
    law.contrib.load("mattermost")
    with MattermostStandIn() as hook:
        assert law.mattermost.notify_mattermost(
            "Title", {"Status": "success"}, hook_url=hook.hook_url, user="law") is True
        assert hook.requests[0]["username"] == "law"
        assert "**Status**: success" in hook.requests[0]["text"]
        wrong = hook.broken_options["mattermost_hook_url"]
        with caplog.at_level(logging.WARNING):
            assert law.mattermost.notify_mattermost("Title", "text", hook_url=wrong) is False
    assert "mattermost notification not sent" in caplog.text
    assert hook.key not in caplog.text and wrong.rsplit("/", 1)[1] not in caplog.text


def test_custom_function_from_config_name(caplog: pytest.LogCaptureFixture) -> None:
    from law.notification import notify_custom

    assert notify_custom("t", "c", notify_func="os.path.join") is True
    with caplog.at_level(logging.WARNING):
        assert notify_custom("t", "c", notify_func="no_such_module_x.f") is False
    assert "not found" in caplog.text
