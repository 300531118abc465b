"""law.mattermost (``law.contrib.load("mattermost")``): Mattermost notifications through
law-core's ``mattermost`` notifier (law-core-notifiers), configured by law's
``[notifications]`` ``mattermost_hook_url``, ``mattermost_channel``, ``mattermost_user``,
``mattermost_mention_user``, ``mattermost_icon_url`` and ``mattermost_icon_emoji``."""

from __future__ import annotations

from typing import Any

from law.notification import send, transport_content
from law.parameter import NotifyParameter

__all__ = ["notify_mattermost", "NotifyMattermostParameter"]


def notify_mattermost(title: str, content: Any, hook_url: str | None = None,
                      channel: str | None = None, user: str | None = None,
                      mention_user: str | None = None, icon_url: str | None = None,
                      icon_emoji: str | None = None, **kwargs: Any) -> bool:
    """Post ``title`` and ``content`` (a text, or a mapping shown as ``key: value`` lines)
    to a Mattermost incoming webhook; True when it took it. Every option defaults to
    law's config."""
    return send("mattermost", title, content, mattermost_hook_url=hook_url,
                mattermost_channel=channel, mattermost_user=user,
                mattermost_mention_user=mention_user, mattermost_icon_url=icon_url,
                mattermost_icon_emoji=icon_emoji)


class NotifyMattermostParameter(NotifyParameter):
    """``--notify-mattermost``: with law.decorator.notify on run(), a Mattermost message
    when the task finishes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.description:
            self.description = "when true, and the task's run method is decorated with " \
                "law.decorator.notify, a Mattermost notification is sent once the task " \
                "finishes"

    def get_transport(self) -> dict[str, Any]:
        return {"func": self.notify, "raw": True, "colored": False}

    @classmethod
    def notify(cls, success: bool, title: str, content: Any, **kwargs: Any) -> bool:
        return send("mattermost", title, transport_content(success, content),
                    success=success)
