"""The entry-point module: declares the notifiers, imports none of them."""

from __future__ import annotations

from law_core.plugin import NotifierRecord, hookimpl

_PKG = "law_core_notifiers"


@hookimpl
def law_core_notifiers() -> list[NotifierRecord]:
    return [
        NotifierRecord("slack", f"{_PKG}.slack:SlackNotifier", "Slack, chat.postMessage",
                       settings=f"{_PKG}.settings:SlackSettings"),
        NotifierRecord("mattermost", f"{_PKG}.mattermost:MattermostNotifier",
                       "Mattermost, incoming webhook",
                       settings=f"{_PKG}.settings:MattermostSettings"),
        NotifierRecord("telegram", f"{_PKG}.telegram:TelegramNotifier",
                       "Telegram, bot sendMessage", settings=f"{_PKG}.settings:TelegramSettings"),
        NotifierRecord("mail", f"{_PKG}.mail:MailNotifier", "e-mail over SMTP",
                       settings=f"{_PKG}.settings:MailSettings"),
    ]
