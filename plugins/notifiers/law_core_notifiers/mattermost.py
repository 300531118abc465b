"""Mattermost: one POST to an incoming webhook."""

from __future__ import annotations

from collections.abc import Mapping

from law_core.plugin import ConfigError, Notifier
from law_core_notifiers.http import post_json
from law_core_notifiers.settings import MattermostSettings


class MattermostNotifier(Notifier):
    settings_cls = MattermostSettings

    def send(self, title: str, content: Mapping[str, str] | str,
             success: bool | None = None) -> None:
        settings = self.settings
        hook_url = self.secret("mattermost_hook_url")
        if not hook_url:
            raise ConfigError("set [notifications] mattermost_hook_url to send Mattermost "
                              "notifications")
        if settings.mattermost_mention_user:
            title = f"{title} (@{settings.mattermost_mention_user.lstrip('@')})"
        if isinstance(content, str):
            text = f"{title}\n\n{content}"
        else:
            text = f"#### {title}\n\n" + "\n".join(f"**{k}**: {v}" for k, v in content.items())
        payload = {"text": text}
        for key, value in (("channel", settings.mattermost_channel),
                           ("username", settings.mattermost_user),
                           ("icon_url", settings.mattermost_icon_url),
                           ("icon_emoji", settings.mattermost_icon_emoji)):
            if value:
                payload[key] = value
        post_json("Mattermost", hook_url, payload, timeout=self.timeout)
