"""One JSON POST over urllib, with errors that name the service, never the URL (which
may hold a token)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from law_core.plugin import PluginError


def post_json(service: str, url: str, payload: dict[str, Any], *, timeout: float,
              headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """POST ``payload`` as JSON; the status and body of a 2xx answer, else a PluginError
    with the service's own words (the status and the start of the body)."""
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        body = err.read()[:300].decode(errors="replace")
        raise PluginError(f"{service} refused the message: HTTP {err.code} {body}") from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise PluginError(f"{service} could not be reached: {reason}") from None


def json_body(service: str, body: bytes) -> dict[str, Any]:
    try:
        answer = json.loads(body)
    except ValueError:
        raise PluginError(f"{service} answered something that is not JSON: "
                          f"{body[:100]!r}") from None
    if not isinstance(answer, dict):
        raise PluginError(f"{service} answered {answer!r}, not a JSON object")
    return answer
