"""``law.target(uri)``: a target for any location, its file system chosen by scheme.

Locations:

- a path (``/data/x.json``, ``~/x``, ``$STORE/x``) or ``file:///data/x.json``: local;
- ``SCHEME://HOST/PATH`` (``root://eos.example//store/x.root``, ``davs://...``): the file
  system plugin registered for the scheme, through its ``target_from_uri``;
- ``fs.NAME:/PATH``: a path on the file system configured in ``[fs.NAME]`` (bases,
  retries, cache; see :mod:`law_core.targets.named`).
"""

from __future__ import annotations

from law_core.errors import TargetError
from law_core.targets.file import FileSystemTarget


def target(uri: str, type: str = "f") -> FileSystemTarget:
    """A file (``type="f"``) or directory (``"d"``) target for ``uri``."""
    from law_core.targets.local import LocalDirectoryTarget, LocalFileTarget

    if type not in ("f", "d"):
        raise TargetError(f"target type must be 'f' (file) or 'd' (directory), not {type!r}")
    if uri.startswith("fs."):
        from law_core.targets.named import resolve

        resolved = resolve(uri)
        if resolved is not None:
            fs, path = resolved
            make = getattr(fs, "target", None)
            if make is None:
                raise TargetError(f"the file system of '{uri}' cannot make targets")
            return make(path, type)
    scheme, sep, _ = uri.partition("://")
    if not sep or scheme == "file":
        return LocalFileTarget(uri) if type == "f" else LocalDirectoryTarget(uri)
    from law_core.registry import get_registry

    fs_class = get_registry().file_system(scheme.lower()).load()
    return fs_class.target_from_uri(uri, type=type)
