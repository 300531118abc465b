"""E-mail over SMTP (smtplib), as law's ``notify_mail``: plain text, no login."""

from __future__ import annotations

import smtplib
from collections.abc import Mapping
from email.message import EmailMessage

from law_core.plugin import ConfigError, Notifier, PluginError
from law_core_notifiers.settings import MailSettings

DEFAULT_PORT = 25


class MailNotifier(Notifier):
    settings_cls = MailSettings

    def send(self, title: str, content: Mapping[str, str] | str,
             success: bool | None = None) -> None:
        settings = self.settings
        recipients = [r.strip() for r in settings.mail_recipient.split(",") if r.strip()]
        sender = settings.mail_sender.strip()
        if not recipients or not sender:
            raise ConfigError("set [notifications] mail_recipient and mail_sender to send "
                              "mail notifications")
        # law's rule: without a host, the domain of the sender
        host = settings.mail_smtp_host.strip() or sender.rpartition("@")[2]
        if not host:
            raise ConfigError("set [notifications] mail_smtp_host (the sender "
                              f"{sender!r} names no domain to send through)")
        port = settings.mail_smtp_port or DEFAULT_PORT
        message = EmailMessage()
        message["Subject"] = title
        message["From"] = sender
        message["To"] = ", ".join(recipients)
        # the title is the subject: the body holds the fields (or the text) alone
        body = content if isinstance(content, str) else \
            "\n".join(f"{key}: {value}" for key, value in content.items())
        message.set_content(body)
        try:
            with smtplib.SMTP(host, port, timeout=self.timeout) as smtp:
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as err:
            raise PluginError(f"the mail server {host}:{port} did not take the message: "
                              f"{err}") from None
