"""Modification times from fsspec's ``info`` dictionaries, whose keys and types differ by
implementation (local: ``mtime`` in seconds; s3fs: ``LastModified``, a datetime; gcsfs:
``updated``, ISO text; memory: ``created``; http: ``Last-Modified`` text, when any)."""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

#: keys of a modification time, preferred first; a creation time is the last resort
KEYS = ("mtime", "modified", "LastModified", "last_modified", "Last-Modified", "updated",
        "time", "created", "timeCreated", "creation_time")


def mtime_of(info: dict[str, Any]) -> float | None:
    """Seconds since the epoch of the first time found in ``info``, None without one."""
    for key in KEYS:
        seconds = to_seconds(info.get(key))
        if seconds is not None:
            return seconds
    return None


def to_seconds(value: Any) -> float | None:
    """``value`` (seconds, milli- or nanoseconds, a datetime, ISO or HTTP date text) as
    seconds since the epoch; None when it is none of those."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:  # the stores that give naive datetimes mean UTC
            value = value.replace(tzinfo=timezone.utc)
        return value.timestamp()
    if isinstance(value, (int, float)):
        seconds = float(value)
        if seconds > 1e14:  # nanoseconds (1e14 s is millions of years away)
            return seconds / 1e9
        if seconds > 1e11:  # milliseconds
            return seconds / 1e3
        return seconds
    if isinstance(value, str):
        text = value.strip()
        try:
            return to_seconds(float(text))
        except ValueError:
            pass
        try:
            return to_seconds(datetime.fromisoformat(text.replace("Z", "+00:00")))
        except ValueError:
            pass
        try:
            return to_seconds(parsedate_to_datetime(text))
        except (TypeError, ValueError):
            return None
    return None
