"""``law.dropbox``: law's Dropbox targets on law-core-dropbox.

The file system reads law's configuration: a section named by the ``fs`` argument
(``DropboxFileTarget("/a.npy", fs="dropbox_results")``), else the one of ``[target]
default_dropbox_fs`` (law 0.1.21's default: ``dropbox_fs``), else ``[dropbox]`` (the section
law's example and older law versions use). Its options:

- ``base`` (``dropbox://dropbox.com/DIR``), and ``base_stat``, ``base_listdir``, ... per
  operation;
- the credentials ``app_key``, ``app_secret``, ``access_token`` (law 0.1.21 writes them
  ``dropbox_app_key``, ``dropbox_app_secret``, ``dropbox_access_token``; both are read), and
  ``refresh_token``, which law-core prefers (an access token expires after four hours);
- ``retries``, ``retry_delay`` (law's durations, ``5s``), ``random_base``,
  ``validate_copy``, ``cache_root`` (a cache is used when it is set, unless ``use_cache`` is
  false), ``cache_max_size`` (``5GB``), ``cache_mtime_patience``;
- law-core-dropbox's own options (``dropbox_ca_certs``, ``dropbox_timeout``, ...).

law's gfal2-specific options (``gfal_*``) and permissions (``has_permissions``,
``default_file_perm``, ...: Dropbox keeps none) do not apply and are ignored. Everything
else is law-core's: atomic uploads, retries, the cache, collections from one listing.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from law_core_dropbox import DropboxFileSystem as _CoreDropboxFileSystem

import law_core

__all__ = ["DropboxFileSystem", "DropboxTarget", "DropboxFileTarget", "DropboxDirectoryTarget"]

logger = logging.getLogger(__name__)

#: law-core-dropbox's credentials <- the names law's config uses for them
_CREDENTIALS = {
    "app_key": ("dropbox_app_key", "app_key"),
    "app_secret": ("dropbox_app_secret", "app_secret"),
    "access_token": ("dropbox_access_token", "access_token"),
    "refresh_token": ("dropbox_refresh_token", "refresh_token"),
}


def default_section() -> str:
    """The section of the default Dropbox file system, as law chooses it."""
    from law.config import Config

    cfg = Config.instance()
    name = cfg.get_expanded("target", "default_dropbox_fs", default=None) or "dropbox_fs"
    return name if cfg.has_section(name) else "dropbox"


class DropboxFileSystem(_CoreDropboxFileSystem):
    """law's Dropbox file system: ``DropboxFileSystem(section=None, app_key=None,
    app_secret=None, access_token=None, **kwargs)``, options from law's config section
    (see the module), which arguments override; a law-core-dropbox file system."""

    #: law's ``DropboxFileSystem.default_instance``: the file system of the default
    #: section (``[target] default_dropbox_fs``, else ``[dropbox]``), made on first use
    #: (law makes it on import)
    default_instance: ClassVar[DropboxFileSystem]

    def __init__(self, section: str | None = None, app_key: str | None = None,
                 app_secret: str | None = None, access_token: str | None = None,
                 **kwargs: Any):
        from law.config import Config
        from law.target.remote import backend_kinds, remote_fs_arguments, section_options

        section = section or default_section()
        options: dict[str, Any] = {}
        # a section is needed unless everything is given as arguments
        if "base" not in kwargs or Config.instance().has_section(section):
            options = section_options(section, backend_kinds(_CoreDropboxFileSystem),
                                      _CREDENTIALS)
        for option, value in (("app_key", app_key), ("app_secret", app_secret),
                              ("access_token", access_token)):
            if value:
                options[option] = value
        options.update(kwargs)
        self.config_section = section
        base, arguments = remote_fs_arguments(options, section)
        super().__init__(base, **arguments)


class _DefaultInstance:
    """``DropboxFileSystem.default_instance``, made when first read."""

    instance: DropboxFileSystem | None = None

    def __get__(self, obj: Any, owner: type) -> DropboxFileSystem:
        if self.instance is None:
            self.instance = DropboxFileSystem()
        return self.instance


DropboxFileSystem.default_instance = _DefaultInstance()  # type: ignore[assignment]


def _resolve(fs: Any) -> Any:
    if fs is None:
        return DropboxFileSystem.default_instance
    if isinstance(fs, str):
        return DropboxFileSystem(fs)
    return fs


class DropboxTarget:
    """What law's Dropbox targets share: ``fs`` is a file system, the name of a law config
    section, or None for the default one; children are Dropbox targets too."""

    def _file_type(self) -> type:
        return DropboxFileTarget

    def _directory_type(self) -> type:
        return DropboxDirectoryTarget


class DropboxFileTarget(DropboxTarget, law_core.RemoteFileTarget):
    """A file in a Dropbox (law's ``law.dropbox.DropboxFileTarget``)."""

    def __init__(self, path: str, fs: Any = None, **kwargs: Any):
        super().__init__(path, _resolve(fs))


class DropboxDirectoryTarget(DropboxTarget, law_core.RemoteDirectoryTarget):
    """A directory in a Dropbox (law's ``law.dropbox.DropboxDirectoryTarget``)."""

    def __init__(self, path: str, fs: Any = None, **kwargs: Any):
        super().__init__(path, _resolve(fs))
