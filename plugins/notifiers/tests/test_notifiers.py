"""The four notifiers against local stand-ins of their services (see
law_core_notifiers.standins), through law-core's NotifierSuite, plus what each API
expects of a message."""

from __future__ import annotations

import pytest
from law_core_notifiers.standins import (
    MattermostStandIn,
    SlackStandIn,
    SMTPStandIn,
    TelegramStandIn,
)

from law_core.testing import NotifierSuite


class TestSlack(NotifierSuite):
    notifier_name = "slack"

    @pytest.fixture
    def notifier_service(self):
        with SlackStandIn() as stand_in:
            yield stand_in

    def test_chat_post_message(self, notifier_service, project):
        result = self.run(project, notifier_service.options, "NotifyMe", "--fail", self.flag)
        assert result.returncode != 0
        self.wait_for(notifier_service, 1)
        payload = notifier_service.requests[0]
        assert payload["channel"] == notifier_service.channel
        assert payload["text"] == "Task NotifyMe failed!"
        attachment = payload["attachments"][0]
        assert attachment["color"] == "danger"
        fields = {f["title"]: f["value"] for f in attachment["fields"]}
        assert fields["Status"] == "failure"
        assert fields["Error"] == "ValueError: this task just failed"
        assert fields["Task"].startswith("NotifyMe(")

    def test_token_from_file(self, notifier_service, project, tmp_path):
        token_file = tmp_path / "slack.token"
        token_file.write_text(notifier_service.token + "\n")
        options = {**notifier_service.options, "slack_token": str(token_file)}
        result = self.run(project, options, "NotifyMe", self.flag)
        assert result.returncode == 0, result.stderr
        assert len(self.wait_for(notifier_service, 1)) == 1


class TestMattermost(NotifierSuite):
    notifier_name = "mattermost"

    @pytest.fixture
    def notifier_service(self):
        with MattermostStandIn() as stand_in:
            yield stand_in

    def test_webhook_payload(self, notifier_service, project):
        options = {**notifier_service.options, "mattermost_channel": "town-square",
                   "mattermost_user": "law", "mattermost_mention_user": "@alice"}
        result = self.run(project, options, "NotifyMe", self.flag)
        assert result.returncode == 0, result.stderr
        self.wait_for(notifier_service, 1)
        payload = notifier_service.requests[0]
        assert payload["channel"] == "town-square" and payload["username"] == "law"
        assert payload["text"].startswith("#### Task NotifyMe succeeded! (@alice)")
        assert "**Status**: success" in payload["text"]


class TestTelegram(NotifierSuite):
    notifier_name = "telegram"

    @pytest.fixture
    def notifier_service(self):
        with TelegramStandIn() as stand_in:
            yield stand_in

    def test_send_message_payload(self, notifier_service, project):
        result = self.run(project, notifier_service.options, "NotifyMe", self.flag)
        assert result.returncode == 0, result.stderr
        self.wait_for(notifier_service, 1)
        payload = notifier_service.requests[0]
        assert payload["chat_id"] == notifier_service.chat
        assert "parse_mode" not in payload  # plain text: a traceback needs no escaping
        assert payload["text"].startswith("Task NotifyMe succeeded!\n\nTask: NotifyMe(")


class TestMail(NotifierSuite):
    notifier_name = "mail"

    @pytest.fixture
    def notifier_service(self):
        with SMTPStandIn() as stand_in:
            yield stand_in

    def test_mail_headers(self, notifier_service, project):
        result = self.run(project, notifier_service.options, "NotifyMe", self.flag)
        assert result.returncode == 0, result.stderr
        self.wait_for(notifier_service, 1)
        received = notifier_service.mails[0]
        mail = received["mail"]
        assert mail["Subject"] == "Task NotifyMe succeeded!"
        assert mail["From"] == "law@example.org" and mail["To"] == "analyst@example.org"
        assert "<analyst@example.org>" in received["to"][0]
        assert "Status: success" in mail.get_content()
