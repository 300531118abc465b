"""The notifiers' options: law's ``[notifications]`` section, option for option.

All four share the section, with law's option names (``slack_token``, ``mail_sender``,
...), so a law.cfg written for law notifies the same way under law-core. Tokens and the
Mattermost webhook URL (which is itself the credential) are secret: never a parameter,
never in a log line or a job's config. None of the options is a parameter: notifiers are
switched on with ``law-core run TASK --notify NAME``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from law_core.plugin import Settings, option

SECTION = "notifications"


@dataclass(frozen=True)
class SlackSettings(Settings):
    section: ClassVar[str] = SECTION

    slack_token: str = option("", "Slack bot token (xoxb-...), or a file holding it",
                              secret=True)
    slack_channel: str = option("", "channel ID or name to post to", parameter=False)
    slack_mention_user: str = option("", "user to @mention in the title", parameter=False)
    slack_base_url: str = option("https://slack.com/api", "base URL of Slack's Web API",
                                 parameter=False)


@dataclass(frozen=True)
class MattermostSettings(Settings):
    section: ClassVar[str] = SECTION

    mattermost_hook_url: str = option("", "incoming webhook URL (secret: it is the key)",
                                      secret=True)
    mattermost_channel: str = option("", "channel to post to instead of the webhook's",
                                     parameter=False)
    mattermost_user: str = option("", "user name to post as", parameter=False)
    mattermost_mention_user: str = option("", "user to @mention in the title",
                                          parameter=False)
    mattermost_icon_url: str = option("", "URL of the profile picture to post with",
                                      parameter=False)
    mattermost_icon_emoji: str = option("", "emoji to post with instead of a picture",
                                        parameter=False)


@dataclass(frozen=True)
class TelegramSettings(Settings):
    section: ClassVar[str] = SECTION

    telegram_token: str = option("", "Telegram bot token, or a file holding it", secret=True)
    telegram_chat: str = option("", "chat ID to send to", parameter=False)
    telegram_mention_user: str = option("", "user to @mention in the title", parameter=False)
    telegram_base_url: str = option("https://api.telegram.org", "base URL of the Bot API",
                                    parameter=False)


@dataclass(frozen=True)
class MailSettings(Settings):
    section: ClassVar[str] = SECTION

    mail_recipient: str = option("", "address to send to (several: comma-separated)",
                                 parameter=False)
    mail_sender: str = option("", "From address", parameter=False)
    mail_smtp_host: str = option("", "SMTP server (default: the domain of the sender)",
                                 parameter=False)
    mail_smtp_port: int = option(0, "SMTP port (0: 25)", parameter=False)
