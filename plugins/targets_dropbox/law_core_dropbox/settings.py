"""The options of a Dropbox file system, declared once (cheap to import: no SDK here).

A file system's own options (its ``[fs.NAME]`` section, or its arguments) win; the
``[dropbox]`` section holds the process-wide ones, used by ``law.target("dropbox://...")``
and by every file system that does not set an option itself; then the defaults below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from law_core.plugin import Settings, option

MiB = 1024 * 1024

#: the options of a token: they come as a pair from one place, never mixed
TOKENS = ("refresh_token", "access_token")


@dataclass(frozen=True)
class DropboxSettings(Settings):
    """Credentials and tuning of the Dropbox client (option names as in the config)."""

    section: ClassVar[str] = "dropbox"

    app_key: str = option("", "the app's key (App Console, Settings tab)", secret=True)
    app_secret: str = option("", "the app's secret (App Console, Settings tab)", secret=True)
    refresh_token: str = option(
        "", "a long-lived token of the app; the SDK gets access tokens with it", secret=True)
    access_token: str = option(
        "", "a short-lived access token, instead of a refresh token", secret=True)
    dropbox_ca_certs: str = option(
        "", "a PEM bundle of the CAs to trust (wins over REQUESTS_CA_BUNDLE)")
    dropbox_timeout: float = option(100.0, "seconds to wait for any answer from Dropbox")
    dropbox_chunk_size: float = option(
        32 * MiB, "data per upload request, and the largest single upload (32MiB; "
        "multiples of 4MiB, at most 148MiB)", kind="bytes", unit="B")
    dropbox_rate_limit_retries: int = option(
        10, "rate-limited requests (HTTP 429) sent again, each after Retry-After")
    dropbox_server_error_retries: int = option(
        4, "requests answered with HTTP 5xx sent again, with backoff")

    def secrets(self) -> list[str]:
        """The credentials' values, to keep out of messages."""
        return [v for v in (self.app_key, self.app_secret, self.refresh_token,
                            self.access_token) if v]
