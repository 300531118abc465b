"""What the two sides of a sandboxed run tell each other, through a directory both see.

The submitting side creates the run's directory (below ``[sandbox] stage_dir``, mode 0700,
removed afterwards) and names it in ``LAW_CORE_SANDBOX_RUN``. It holds:

- ``law.cfg``: the configuration as resolved outside (``$VARS``, ``$PWD`` and ``~``
  expanded there; credentials left out), which the inside reads through
  ``LAW_CORE_RESOLVED_CONFIG`` on top of the config file (``LAW_CORE_CONFIG``);
- ``outputs.json``: the output URIs the outside expects. Before ``run()``, the inside
  compares the URIs its own ``output()`` resolves and fails at once on a difference, so a
  task never writes its outputs somewhere else unnoticed;
- ``relay.jsonl``: what the inside reports, one JSON object a line: luigi's task callbacks
  (``set_status_message``, ``set_progress_percentage``, ``set_tracking_url``), a task's
  ``publish_message``, and the error the inside failed with. The outside follows it while
  the run lasts and hands each report to its own task;
- the staged files, if any (:mod:`law_core.sandbox.stage`).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from law_core.errors import TaskError
from law_core.sandbox.base import RUN_ENV, SANDBOX_ENV
from law_core.sandbox.stage import unstaged
from law_core.targets.collection import target_uris

logger = logging.getLogger("law_core.sandbox")

OUTPUTS_FILE = "outputs.json"
RELAY_FILE = "relay.jsonl"
CONFIG_FILE = "law.cfg"

#: luigi's task callbacks (None outside a luigi worker) and what the relay calls them
CALLBACKS = {"set_status_message": "status", "set_progress_percentage": "progress",
             "set_tracking_url": "tracking_url"}


class RunDirectory:
    """The directory of one sandboxed run, on the submitting side."""

    def __init__(self, root: str):
        os.makedirs(root, exist_ok=True)
        self.path = Path(tempfile.mkdtemp(prefix="law-core-run-", dir=root))
        self.relay_file.touch(mode=0o600)

    @property
    def relay_file(self) -> Path:
        return self.path / RELAY_FILE

    def write_config(self) -> Path:
        """The configuration as resolved here, for the inside."""
        from law_core.config import get_config

        return get_config().write_resolved(self.path / CONFIG_FILE)

    def write_expected_outputs(self, names: list[str]) -> None:
        (self.path / OUTPUTS_FILE).write_text(json.dumps(names))

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


# inside


def _run_directory() -> Path | None:
    path = os.environ.get(RUN_ENV)
    return Path(path) if path else None


def check_outputs_inside(task: Any) -> None:
    """Fail before ``run()`` when the task resolves other outputs here than the submitting
    side expects (nothing is written yet)."""
    directory = _run_directory()
    if directory is None or not (directory / OUTPUTS_FILE).exists():
        return
    expected = json.loads((directory / OUTPUTS_FILE).read_text())
    with unstaged():
        found = target_uris(task.output())
    if found == expected:
        return
    pairs = [(e, f) for e, f in zip(expected, found) if e != f]
    if pairs:
        outside, inside = pairs[0]
        more = f" (and {len(pairs) - 1} more)" if len(pairs) > 1 else ""
        what = f"{outside} where it was started, {inside} in the sandbox{more}"
    else:
        what = (f"{len(expected)} outputs where it was started, {len(found)} in the sandbox "
                f"({', '.join(expected)} / {', '.join(found)})")
    raise TaskError(
        f"{task!r} resolves other outputs in the sandbox {os.environ.get(SANDBOX_ENV)} than "
        f"where it was started: {what}; nothing was written. Likely causes: output() reads an "
        "environment variable that does not reach the sandbox (name it in [sandbox] "
        "forward_env; globs such as MY_* work), depends on the working directory, or on a "
        "config value read another way than through law-core's config; make output() depend "
        "on parameters and config values alone, or forward what it reads")


def relay(kind: str, value: Any) -> bool:
    """Report ``value`` to the submitting side; False when there is none to report to."""
    directory = _run_directory()
    if directory is None or not (directory / RELAY_FILE).exists():
        return False
    line = json.dumps({"kind": kind, "value": value}, default=str) + "\n"
    try:
        with open(directory / RELAY_FILE, "a") as f:
            f.write(line)
    except OSError as err:
        logger.warning("cannot relay the %s to the submitting side: %s", kind, err)
        return False
    return True


def install_callbacks(task: Any) -> None:
    """Give the task inside working versions of luigi's callbacks (luigi leaves them None
    outside its worker) and of its ``publish_message``: each logs and relays."""
    def callback(kind: str, what: str) -> Any:
        def report(value: Any, *args: Any, **kwargs: Any) -> None:
            relayed = relay(kind, value)
            logger.log(logging.DEBUG if relayed else logging.INFO, "%s of %r: %s", what,
                       task, value)
        return report

    task.set_status_message = callback("status", "status")
    task.set_progress_percentage = callback("progress", "progress")
    task.set_tracking_url = callback("tracking_url", "tracking url")
    if callable(getattr(task, "publish_message", None)):
        task.publish_message = callback("message", "message")


# outside


class RelayFollower:
    """Follows the relay file while the sandbox runs (in a thread) and hands each report
    to the task on this side: luigi's callback when luigi gave the task one, and the log.
    The inside's error message, if it reported one, ends up in :attr:`error`."""

    #: seconds between looks at the relay file
    interval = 0.2

    def __init__(self, path: Path, task: Any, key: str):
        self.path = path
        self.task = task
        self.key = key
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="law-core-sandbox-relay",
                                        daemon=True)

    def __enter__(self) -> RelayFollower:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    def _follow(self) -> None:
        pending = b""
        with open(self.path, "rb") as f:
            while True:
                stopping = self._stop.is_set()  # read once more after the run ended
                pending += f.read()
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    self._deliver(line)
                if stopping:
                    return
                self._stop.wait(self.interval)

    def _deliver(self, line: bytes) -> None:
        try:
            report = json.loads(line)
            kind, value = report["kind"], report["value"]
        except (ValueError, KeyError, TypeError):
            logger.warning("the sandbox %s relayed an unreadable line: %r", self.key,
                           line[:200])
            return
        if kind == "error":
            self.error = str(value)
            return
        try:
            if kind == "message":
                publish = getattr(self.task, "publish_message", None)
                if callable(publish):
                    publish(value)
                else:
                    logger.info("message of %r: %s", self.task, value)
                return
            name = next((n for n, k in CALLBACKS.items() if k == kind), None)
            if name is None:
                return
            logger.info("%s of %r: %s%s", kind.replace("_", " "), self.task, value,
                        "%" if kind == "progress" else "")
            callback = getattr(self.task, name, None)
            if callable(callback):
                callback(value)
        except Exception as err:  # a failing callback must not end the relay
            logger.warning("relaying %s of %r failed: %s", kind, self.task, err)
