"""The options of an fsspec file system, declared once (cheap to import: no fsspec here).

fsspec file systems take arbitrary keyword arguments (their *storage options*): s3fs an
``endpoint_url``, gcsfs a ``project``, sftp a ``username``. They come as one JSON object,
``storage_options``; credentials come apart from it, as secret options that are never
shown, logged, or written into the config that jobs read.

A file system's own options (its ``[fs.NAME]`` section, or its arguments) win; then the
``[fsspec]`` section (process-wide, for every fsspec file system, and what
``law.target("s3://...")`` uses); then the defaults below. Options set nowhere here are
left to fsspec's own configuration (``FSSPEC_<PROTOCOL>_<OPTION>`` variables,
``~/.config/fsspec/``) and the backend's (AWS credential files, ...).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

from law_core.plugin import ConfigError, Settings, option

#: the single credentials and the storage option each becomes (s3fs's names)
CREDENTIALS = ("key", "secret", "token")


@dataclass(frozen=True)
class FsspecSettings(Settings):
    """Storage options and credentials of an fsspec file system."""

    section: ClassVar[str] = "fsspec"

    storage_options: str = option(
        "", "a JSON object of keyword arguments for the fsspec file system, e.g. "
        '{"endpoint_url": "https://s3.example.org", "anon": false}', parameter=False)
    key: str = option("", "access key id (s3fs 'key')", secret=True)
    secret: str = option("", "secret access key (s3fs 'secret')", secret=True)
    token: str = option("", "session token (s3fs), token (gcsfs)", secret=True)
    credentials: str = option(
        "", "a JSON object of further secret keyword arguments, e.g. "
        '{"account_key": "..."} (adlfs) or {"password": "..."} (sftp)', secret=True)

    def kwargs(self, where: str) -> dict[str, Any]:
        """The keyword arguments for fsspec: storage options, then credentials; ``where``
        names the place of the options for messages."""
        kwargs = json_object(self.storage_options, "storage_options", where, secret=False)
        kwargs.update(json_object(self.credentials, "credentials", where, secret=True))
        kwargs.update({name: getattr(self, name) for name in CREDENTIALS if getattr(self, name)})
        return kwargs

    def secrets(self) -> list[str]:
        """The credentials' values (also those inside ``credentials``), to keep out of
        messages."""
        values = [getattr(self, name) for name in CREDENTIALS if getattr(self, name)]
        try:
            values += [str(v) for v in json_object(self.credentials, "credentials", "",
                                                     secret=True).values()]
        except ConfigError:
            pass
        return [v for v in values if v]


def json_object(text: str, name: str, where: str, secret: bool) -> dict[str, Any]:
    """The JSON object ``text`` (empty: none) of the option ``name``; a ConfigError
    naming ``where`` (and, for a ``secret`` one, not showing the value) otherwise."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError as err:
        shown = "" if secret else f": {err}"
        raise ConfigError(f"{name} in {where} is not valid JSON{shown}; write a JSON object "
                          'like {"endpoint_url": "https://..."}') from None
    if not isinstance(value, dict):
        raise ConfigError(f"{name} in {where} must be a JSON object ({{...}}), not "
                          f"{type(value).__name__}")
    return value
