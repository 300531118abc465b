"""law.telegram (``law.contrib.load("telegram")``): Telegram notifications through
law-core's ``telegram`` notifier (law-core-notifiers), configured by law's
``[notifications]`` ``telegram_token``, ``telegram_chat`` and ``telegram_mention_user``."""

from __future__ import annotations

from typing import Any

from law.notification import send, transport_content
from law.parameter import NotifyParameter

__all__ = ["notify_telegram", "NotifyTelegramParameter"]


def notify_telegram(title: str, content: Any, token: str | None = None,
                    chat: str | None = None, mention_user: str | None = None,
                    **kwargs: Any) -> bool:
    """Send ``title`` and ``content`` (a text, or a mapping shown as ``key: value`` lines)
    to a Telegram chat; True when Telegram took it. ``token`` (or a file holding it),
    ``chat`` and ``mention_user`` default to law's config."""
    return send("telegram", title, content, telegram_token=token, telegram_chat=chat,
                telegram_mention_user=mention_user)


class NotifyTelegramParameter(NotifyParameter):
    """``--notify-telegram``: with law.decorator.notify on run(), a Telegram message when
    the task finishes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.description:
            self.description = "when true, and the task's run method is decorated with " \
                "law.decorator.notify, a Telegram notification is sent once the task " \
                "finishes"

    def get_transport(self) -> dict[str, Any]:
        return {"func": self.notify, "raw": True, "colored": False}

    @classmethod
    def notify(cls, success: bool, title: str, content: Any, **kwargs: Any) -> bool:
        return send("telegram", title, transport_content(success, content), success=success)
