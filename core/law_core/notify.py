"""Notifications: one message when a task or a workflow finishes or fails.

Notifier plugins (``law_core_notifiers``, see :mod:`law_core.hookspecs`) declare where a
message can go; ``law-core run TASK --notify NAME[,NAME]`` switches them on for the task
named on the command line (:func:`notify_on`). The core's task events drive the rest:
:func:`handle_task_event` notes when a switched-on task starts, and when it succeeds or
fails builds the message (task, status, host, duration, last published message, the last
line of the traceback) and hands it to :meth:`Notifier.send`. Sending happens in the
process that ran the task, synchronously and with a timeout, so that a message is not lost
with a worker process that ends right after the task; a notifier that cannot deliver costs
a warning, never the task.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import traceback
from collections.abc import Mapping
from typing import Any, ClassVar

logger = logging.getLogger(__name__)

#: the notifiers switched on, by the id of the task they report on
_SWITCHED_ON: dict[str, list[str]] = {}
#: start times of the switched-on tasks running in this process, by task id
_STARTED: dict[str, float] = {}


class Notifier:
    """The base of a notifier backend.

    A subclass implements :meth:`send` and names its settings (``settings_cls``, a
    :class:`~law_core.settings.Settings` dataclass whose credentials are declared
    ``secret=True``). It reads credentials with :meth:`secret`, which also registers them
    for :meth:`redact`: the core passes every error message through it before logging.
    """

    #: the notifier's options (config only); None when it has none
    settings_cls: ClassVar[Any] = None
    #: seconds to wait for the service before giving up on one message
    timeout: ClassVar[float] = 10.0

    def __init__(self, settings: Any = None):
        self._settings = settings
        self._secrets: set[str] = set()
        if settings is not None:
            self._remember_secrets(settings)

    @property
    def settings(self) -> Any:
        """The settings in effect: as given, else resolved from the config."""
        if self._settings is None and self.settings_cls is not None:
            self._settings = self.settings_cls.resolve(given_where="the config")
            self._remember_secrets(self._settings)
        return self._settings

    def _remember_secrets(self, settings: Any) -> None:
        for name in type(settings).secret_options():
            value = getattr(settings, name)
            if isinstance(value, str) and value.strip():
                self._secrets.add(value.strip())

    def secret(self, name: str) -> str:
        """The secret option ``name``; when it names an existing file (``~`` and
        ``$VAR`` expanded), the file's content, as law reads its tokens."""
        value = str(getattr(self.settings, name) or "").strip()
        path = os.path.expanduser(os.path.expandvars(value)) if value else ""
        if path and os.path.isfile(path):
            with open(path) as f:
                value = f.read().strip()
        if value:
            self._secrets.add(value)
        return value

    def redact(self, text: str) -> str:
        """``text`` with every secret this notifier has read replaced by ``***``."""
        for value in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(value, "***")
        return text

    def send(self, title: str, content: Mapping[str, str] | str,
             success: bool | None = None) -> None:
        """Deliver one message: ``title``, then ``content`` (field name -> text, in order,
        or a text). ``success`` tells a success from a failure (None: neither), for
        notifiers that colour or mark them. Raise when the message was not delivered."""
        raise NotImplementedError

    @staticmethod
    def text(title: str, content: Mapping[str, str] | str) -> str:
        """The message as plain text: the title, an empty line, ``Field: value`` lines."""
        if isinstance(content, str):
            return f"{title}\n\n{content}"
        return f"{title}\n\n" + "\n".join(f"{key}: {value}" for key, value in content.items())


def notify_on(task: Any, names: list[str]) -> None:
    """Send a message about ``task`` through each notifier of ``names`` when it succeeds or
    fails (``--notify``). Not passed on to its requirements: one message per command. An
    unknown name is a :class:`~law_core.errors.ParameterError` naming the installed ones."""
    from law_core.errors import ParameterError
    from law_core.registry import get_registry

    installed = get_registry().notifiers()
    unknown = [name for name in names if name not in installed]
    if unknown:
        have = ", ".join(sorted(installed)) or "none (pip install law-core-notifiers)"
        raise ParameterError(f"--notify {','.join(names)}: no notifier "
                             f"{', '.join(unknown)}; installed notifiers: {have}")
    _SWITCHED_ON[task.task_id] = list(dict.fromkeys(names))


def switched_on(task: Any) -> list[str]:
    """The notifiers switched on for ``task``."""
    return _SWITCHED_ON.get(getattr(task, "task_id", None), []) if _SWITCHED_ON else []


def format_duration(seconds: float) -> str:
    """``2.0 s``, ``3 min 5 s``, ``1 h 2 min``: for people, not for parsing."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def last_traceback_line(error: BaseException | str | None) -> str:
    """``ValueError: bad input``: what a traceback ends with."""
    if error is None:
        return ""
    if isinstance(error, BaseException):
        return traceback.format_exception_only(type(error), error)[-1].strip()
    lines = [line for line in str(error).strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def task_message(task: Any, success: bool, duration: float | None,
                 error: BaseException | str | None = None) -> tuple[str, dict[str, str]]:
    """The title and fields of the message about ``task``."""
    family = task.get_task_family() if hasattr(task, "get_task_family") else str(task)
    title = f"Task {family} {'succeeded' if success else 'failed'}!"
    messages = getattr(task, "__dict__", {}).get("_message_cache", ())
    content = {
        "Task": str(task),
        "Status": "success" if success else "failure",
        "Host": socket.gethostname(),
        "Duration": format_duration(duration) if duration is not None else "unknown",
        "Last message": messages[-1] if messages else "-",
    }
    if not success:
        content["Error"] = last_traceback_line(error) or "unknown"
    return title, content


def send(name: str, title: str, content: Mapping[str, str] | str,
         success: bool | None = None, options: Mapping[str, Any] | None = None) -> bool:
    """Send one message through the notifier ``name``; True when it was delivered.
    ``options`` (of the notifier's settings; None or "" meaning unset) take precedence
    over the config. Any failure, an unknown notifier included, is a warning (secrets
    redacted), never an exception: a message must not fail what it reports on."""
    notifier = None
    try:
        from law_core.registry import get_registry

        record = get_registry().notifier(name)
        cls = record.load()
        settings = None
        if options:
            settings_cls = record.load_settings() or cls.settings_cls
            unknown = sorted(set(options) - set(settings_cls.specs()))
            if unknown:
                raise TypeError(f"the {name} notifier has no option {', '.join(unknown)}; "
                                f"its options: {', '.join(settings_cls.specs())}")
            settings = settings_cls.resolve(options, given_where=f"the {name} options given")
        notifier = cls(settings)
        notifier.send(title, content, success=success)
    except Exception as err:  # noqa: BLE001 - reported, never raised
        text = f"{type(err).__name__}: {err}"
        if notifier is not None:
            text = notifier.redact(text)
        logger.warning("%s notification not sent (%s): %s", name, title, text)
        return False
    logger.debug("%s notification sent: %s", name, title)
    return True


#: :func:`send` as the plugin API names it (``law_core.plugin.send_notification``)
send_notification = send


def handle_task_event(event: Any) -> None:
    """The core's own listener to task events (called by ``emit_task_event``)."""
    task = event.task
    if task is None or event.kind not in ("start", "success", "failure"):
        return
    names = switched_on(task)
    if not names:
        return
    if event.kind == "start":
        _STARTED[event.task_id] = event.time
        return
    started = _STARTED.pop(event.task_id, None)
    duration = (event.time if event.time else time.time()) - started \
        if started is not None else None
    success = event.kind == "success"
    error = getattr(event, "exception", None) or event.error
    title, content = task_message(task, success, duration, error)
    for name in names:
        send(name, title, content, success=success)
