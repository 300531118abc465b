"""Telegram: one ``sendMessage`` call of the Bot API, as plain text."""

from __future__ import annotations

from collections.abc import Mapping

from law_core.plugin import ConfigError, Notifier, PluginError
from law_core_notifiers.http import json_body, post_json
from law_core_notifiers.settings import TelegramSettings


class TelegramNotifier(Notifier):
    settings_cls = TelegramSettings

    def send(self, title: str, content: Mapping[str, str] | str,
             success: bool | None = None) -> None:
        settings = self.settings
        token = self.secret("telegram_token")
        if not token or not settings.telegram_chat:
            raise ConfigError("set [notifications] telegram_token and telegram_chat to send "
                              "Telegram notifications")
        if settings.telegram_mention_user:
            title = f"{title} (@{settings.telegram_mention_user.lstrip('@')})"
        # plain text: no parse_mode, so nothing in a traceback needs escaping
        payload = {"chat_id": settings.telegram_chat, "text": self.text(title, content)}
        # the token is part of the URL path: errors from post_json never show the URL
        url = f"{settings.telegram_base_url.rstrip('/')}/bot{token}/sendMessage"
        _, body = post_json("Telegram", url, payload, timeout=self.timeout)
        answer = json_body("Telegram", body)
        if not answer.get("ok"):
            raise PluginError(f"Telegram refused the message: "
                              f"{answer.get('description', answer)}")
