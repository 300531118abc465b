"""``law.target(uri)``: a target for any URI, its file system chosen by scheme."""

from __future__ import annotations

from law_core.target.file import FileSystemTarget


def target(uri: str, type: str = "f") -> FileSystemTarget:
    """A file (``type="f"``) or directory (``"d"``) target for ``uri``.

    A path without scheme, or with ``file://``, is local; any other scheme is served by
    the file-system plugin registered for it.
    """
    from law_core.target.local import LocalDirectoryTarget, LocalFileTarget

    scheme, sep, _ = uri.partition("://")
    if not sep or scheme == "file":
        return LocalFileTarget(uri) if type == "f" else LocalDirectoryTarget(uri)
    from law_core.registry import get_registry

    fs_class = get_registry().file_system(scheme).load()
    return fs_class.target_from_uri(uri, type=type)
