"""Slack: one ``chat.postMessage`` call of the Web API with a bot token."""

from __future__ import annotations

from collections.abc import Mapping

from law_core.plugin import ConfigError, Notifier, PluginError
from law_core_notifiers.http import json_body, post_json
from law_core_notifiers.settings import SlackSettings

#: fields up to this length sit side by side in the message
SHORT_FIELD = 40


class SlackNotifier(Notifier):
    settings_cls = SlackSettings

    def send(self, title: str, content: Mapping[str, str] | str,
             success: bool | None = None) -> None:
        settings = self.settings
        token = self.secret("slack_token")
        if not token or not settings.slack_channel:
            raise ConfigError("set [notifications] slack_token and slack_channel to send "
                              "Slack notifications")
        if settings.slack_mention_user:
            title = f"{title} (@{settings.slack_mention_user.lstrip('@')})"
        payload: dict = {"channel": settings.slack_channel, "text": title}
        if isinstance(content, str):
            payload["text"] = f"{title}\n\n{content}"
        else:
            attachment: dict = {
                "fallback": self.text(title, content),
                "fields": [{"title": k, "value": v, "short": len(v) <= SHORT_FIELD}
                           for k, v in content.items()],
            }
            if success is not None:
                attachment["color"] = "good" if success else "danger"
            payload["attachments"] = [attachment]
        url = settings.slack_base_url.rstrip("/") + "/chat.postMessage"
        _, body = post_json("Slack", url, payload, timeout=self.timeout,
                            headers={"Authorization": f"Bearer {token}"})
        answer = json_body("Slack", body)
        if not answer.get("ok"):
            raise PluginError(f"Slack refused the message: {answer.get('error', answer)}")
