"""law-core notifiers: Slack, Mattermost, Telegram and e-mail messages about tasks."""
