"""law's notification functions, sending through law-core's notifiers.

``notify_mail`` (and ``law.slack.notify_slack``, ``law.telegram.notify_telegram``,
``law.mattermost.notify_mattermost``) keep law's signatures and read law's
``[notifications]`` section; the message itself goes through the notifier of the same
name of law-core-notifiers (``law_core.plugin.send_notification``), which delivers it
synchronously and turns any failure into a warning. Unlike law, no credential ever
appears in a warning.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping
from typing import Any

__all__ = ["notify_mail", "notify_custom"]

logger = logging.getLogger(__name__)

#: the distribution whose notifiers law's notification functions send through
NOTIFIERS_DISTRIBUTION = "law-core-notifiers"


def _config_value(option: str) -> Any:
    from law.config import Config

    value = Config.instance().get_expanded("notifications", option, default=None)
    return None if value is None or str(value).strip() == "" else value


def notifier_options(name: str, given: Mapping[str, Any]) -> dict[str, Any] | None:
    """The options of law-core's notifier ``name``: law's ``[notifications]`` values
    (law's option names are the notifier's), overridden by ``given`` ones that are set.
    None (with a warning) when law-core-notifiers is not installed."""
    import law_core
    from law_core.errors import LawCoreError

    try:
        settings_cls = law_core.get_registry().notifier(name).load_settings()
    except LawCoreError as err:
        logger.warning("cannot send %s notification: %s (pip install %s)", name, err,
                       NOTIFIERS_DISTRIBUTION)
        return None
    options: dict[str, Any] = {}
    for option in settings_cls.specs():
        value = given.get(option)
        if value is None or value == "":
            value = _config_value(option)
        if value is not None:
            options[option] = value
    return options


def send(name: str, title: str, content: Any, success: bool | None = None,
         **given: Any) -> bool:
    """Send ``title`` and ``content`` (a text, or a mapping of field to value) through
    law-core's notifier ``name``, with options from ``given`` and law's config; True when
    the message was delivered, else False after a warning."""
    from law_core.plugin import send_notification

    options = notifier_options(name, given)
    if options is None:
        return False
    if isinstance(content, Mapping):
        content = {str(k): str(v) for k, v in content.items()}
    else:
        content = str(content)
    return send_notification(name, str(title), content, success=success, options=options)


def transport_content(success: bool, content: Any) -> dict[str, str] | str:
    """The content law.decorator.notify hands a transport (raw: task, host, duration,
    last message, traceback), with the status in front, as law's transports show it."""
    if not isinstance(content, Mapping):
        return str(content)
    fields = {"Status": "success" if success else "failure"}
    fields.update((str(k), str(v)) for k, v in content.items())
    return fields


def notify_mail(title: str, message: Any, recipient: str | None = None,
                sender: str | None = None, smtp_host: str | None = None,
                smtp_port: int | str | None = None, **kwargs: Any) -> bool:
    """Mail ``title`` and ``message`` to ``recipient`` (default: ``[notifications]
    mail_recipient``) from ``sender`` (``mail_sender``) through ``smtp_host``:``smtp_port``
    (``mail_smtp_host``, else the sender's domain; ``mail_smtp_port``, else 25). False
    with a warning when recipient or sender is unknown or the mail was not taken."""
    from law.util import uncolored

    recipient = recipient or _config_value("mail_recipient")
    sender = sender or _config_value("mail_sender")
    if not recipient or not sender:
        logger.warning("cannot send mail notification, recipient (%s) or sender (%s) empty",
                       recipient, sender)
        return False
    text = uncolored(message) if isinstance(message, str) else message
    return send("mail", title, text, mail_recipient=recipient, mail_sender=sender,
                mail_smtp_host=smtp_host, mail_smtp_port=smtp_port)


def notify_custom(title: str, content: Any, notify_func: Any = None, **kwargs: Any) -> bool:
    """Call ``notify_func(title, content, **kwargs)``; without one, the function named by
    ``[notifications] custom_func`` (``"package.module.func"``). False with a warning when
    there is none, it cannot be imported or it does not take these arguments."""
    if not notify_func:
        notify_func = _config_value("custom_func")
    if not notify_func:
        logger.warning("cannot send custom notification, notify_func empty")
        return False
    if isinstance(notify_func, str):
        module_name, _, func_name = notify_func.rpartition(".")
        if not module_name:
            logger.warning("cannot send custom notification, notify_func '%s' is not of the "
                           "form 'module.func'", notify_func)
            return False
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            logger.warning("cannot send custom notification, module '%s' not found",
                           module_name)
            return False
        func = getattr(module, func_name, None)
        if func is None:
            logger.warning("cannot send custom notification, '%s' not found", notify_func)
            return False
        notify_func = func
    if not callable(notify_func):
        logger.warning("cannot send custom notification, notify_func '%s' not callable",
                       notify_func)
        return False
    try:
        notify_func(title, content, **kwargs)
    except TypeError as err:
        logger.warning("cannot send custom notification, notify_func '%s' does not take "
                       "(title, content, **kwargs): %s", notify_func, err)
        return False
    return True
