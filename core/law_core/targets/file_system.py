"""The file-system contract that storage plugins implement.

A file system serves paths of one or more URI schemes. Implementations override the few
primitives marked abstract; everything targets do (existence of collections, atomic
writes, copies between file systems, localize) is built on them. Paths given to the
primitives are absolute paths within the file system, without scheme or base.
"""

from __future__ import annotations

import fnmatch
import posixpath
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StatResult:
    """What :meth:`FileSystem.stat` returns, the same for every backend."""

    size: int
    mtime: float
    is_dir: bool


class FileSystem(ABC):
    """A place where files live: the local disk, an XRootD server, Dropbox, ...

    Subclasses implement the primitives ``stat``, ``listdir``, ``mkdir``, ``remove``,
    ``rmdir``, ``rename``, ``put`` and ``get``; the others have generic implementations
    that a backend may replace with faster native ones (``copy``, ``exists``, ``isdir``,
    ``isfile``).
    """

    #: True when paths of this file system can be opened directly by local tools
    is_local: bool = False

    def __init__(self, name: str | None = None):
        self.name = name or type(self).__name__

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    # primitives

    @abstractmethod
    def stat(self, path: str) -> StatResult:
        """Size, mtime and kind of ``path``; raises FileNotFoundError when it is missing."""

    @abstractmethod
    def listdir(self, path: str) -> list[str]:
        """Names in the directory ``path`` (not full paths); FileNotFoundError if missing.

        Collections rely on this being one request per directory, however many files.
        """

    @abstractmethod
    def mkdir(self, path: str) -> None:
        """Create the directory ``path`` and its missing parents; no error if it exists."""

    @abstractmethod
    def remove(self, path: str) -> None:
        """Remove the file ``path``; FileNotFoundError if it is missing."""

    @abstractmethod
    def rmdir(self, path: str, recursive: bool = False) -> None:
        """Remove the directory ``path`` (with its contents when ``recursive``).

        FileNotFoundError when it is missing; an OSError when it is not empty and not
        ``recursive``, so that nothing is deleted by accident.
        """

    @abstractmethod
    def rename(self, src: str, dst: str) -> None:
        """Move ``src`` to ``dst`` within this file system, replacing ``dst``.

        Atomic writes depend on it: a file is written under a temporary name and renamed.
        """

    @abstractmethod
    def put(self, local_path: str, path: str) -> None:
        """Copy the local file ``local_path`` to ``path``."""

    @abstractmethod
    def get(self, path: str, local_path: str) -> None:
        """Copy ``path`` to the local file ``local_path``."""

    # derived operations

    def uri(self, path: str) -> str:
        """The URI of ``path`` that :func:`law_core.targets.target` maps back to it."""
        return path

    @classmethod
    def target_from_uri(cls, uri: str, type: str = "f") -> Any:
        """The target for a full URI of a scheme this file system serves; what
        ``law.target(uri)`` returns. Backends that register schemes implement it."""
        from law_core.errors import TargetError

        raise TargetError(
            f"{cls.__name__} does not map URIs to targets, so '{uri}' cannot be opened "
            "with law.target(); its plugin must implement target_from_uri()"
        )

    def transfer_to(self, path: str, dst_fs: FileSystem, dst_path: str) -> bool:
        """Copy ``path`` straight to ``dst_path`` on another file system when this backend
        can (a download, a third-party copy) and return True; False makes the caller go
        through a local temporary copy. ``dst_path``'s directory exists."""
        return False

    def exists(self, path: str) -> bool:
        try:
            self.stat(path)
        except FileNotFoundError:
            return False
        return True

    def existing_names(self, directory: str, names: Iterable[str]) -> set[str]:
        """Which of ``names`` exist in ``directory``, from one listing: what collections
        ask once per directory. A missing directory has none."""
        try:
            listed = set(self.listdir(directory))
        except (FileNotFoundError, NotADirectoryError):
            return set()
        return listed.intersection(names)

    def isdir(self, path: str) -> bool:
        try:
            return self.stat(path).is_dir
        except FileNotFoundError:
            return False

    def isfile(self, path: str) -> bool:
        """Whether ``path`` exists and is no directory: what a file target's ``exists()``
        asks, so a directory in a file's place never makes a task complete."""
        try:
            return not self.stat(path).is_dir
        except FileNotFoundError:
            return False

    def copy(self, src: str, dst: str) -> None:
        """Copy a file within this file system (through a local temporary file unless the
        backend has a native copy)."""
        import tempfile

        from law_core.targets.temporary import shorten_name

        with tempfile.TemporaryDirectory(prefix="law-core-copy-") as tmp:
            local = posixpath.join(tmp, shorten_name(posixpath.basename(src) or "file"))
            self.get(src, local)
            self.put(local, dst)

    def walk(self, path: str, max_depth: int = -1) -> Iterator[tuple[str, list[str], list[str]]]:
        """Like os.walk: (directory, subdirectory names, file names), top-down."""
        todo = [(path, 0)]
        while todo:
            current, depth = todo.pop(0)
            dirs, files = [], []
            for name in sorted(self.listdir(current)):
                (dirs if self.isdir(posixpath.join(current, name)) else files).append(name)
            yield current, dirs, files
            if max_depth < 0 or depth < max_depth:
                todo.extend((posixpath.join(current, d), depth + 1) for d in dirs)

    def glob(self, pattern: str) -> list[str]:
        """Paths matching a shell pattern whose wildcards may be in any path component."""
        parts = pattern.strip("/").split("/")
        matches = ["/"] if pattern.startswith("/") else [""]
        for part in parts:
            expanded = []
            for base in matches:
                if not any(c in part for c in "*?["):
                    candidate = posixpath.join(base, part)
                    if self.exists(candidate):
                        expanded.append(candidate)
                    continue
                try:
                    names = self.listdir(base or ".")
                except (FileNotFoundError, NotADirectoryError):
                    continue
                matched = sorted(fnmatch.filter(names, part))
                expanded.extend(posixpath.join(base, n) for n in matched)
            matches = expanded
        return matches
