"""law.slack (``law.contrib.load("slack")``): Slack notifications through law-core's
``slack`` notifier (law-core-notifiers), configured by law's ``[notifications]``
``slack_token``, ``slack_channel`` and ``slack_mention_user``."""

from __future__ import annotations

from typing import Any

from law.notification import send, transport_content
from law.parameter import NotifyParameter

__all__ = ["notify_slack", "NotifySlackParameter"]


def notify_slack(title: str, content: Any, attachment_color: str = "#4bb543",
                 short_threshold: int = 40, token: str | None = None,
                 channel: str | None = None, mention_user: str | None = None,
                 **kwargs: Any) -> bool:
    """Post ``title`` and ``content`` (a text, or a mapping shown as fields) to Slack;
    True when Slack took it. ``token`` (or a file holding it), ``channel`` and
    ``mention_user`` default to law's config; the message is green when
    ``attachment_color`` is law's default, red otherwise."""
    success = attachment_color.lower() in ("#4bb543", "good")
    return send("slack", title, content, success=success, slack_token=token,
                slack_channel=channel, slack_mention_user=mention_user)


class NotifySlackParameter(NotifyParameter):
    """``--notify-slack``: with law.decorator.notify on run(), a Slack message when the
    task finishes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.description:
            self.description = "when true, and the task's run method is decorated with " \
                "law.decorator.notify, a Slack notification is sent once the task finishes"

    def get_transport(self) -> dict[str, Any]:
        return {"func": self.notify, "raw": True, "colored": False}

    @classmethod
    def notify(cls, success: bool, title: str, content: Any, **kwargs: Any) -> bool:
        return send("slack", title, transport_content(success, content), success=success)
