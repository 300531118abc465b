"""The formatters the core ships, on the standard library alone."""

from __future__ import annotations

import gzip
import json
import os
import pickle
import tarfile
import zipfile
from typing import Any

from law_core.errors import FormatterError
from law_core.formatter import Formatter


class TextFormatter(Formatter):
    """Plain text: ``dump`` writes ``str(obj)``, ``load`` returns the whole text."""

    name = "text"

    @classmethod
    def load(cls, path: str, **kwargs: Any) -> str:
        with open(path, **kwargs) as f:
            return f.read()

    @classmethod
    def dump(cls, path: str, obj: Any, **kwargs: Any) -> None:
        with open(path, "w", **kwargs) as f:
            f.write(str(obj))


class JSONFormatter(Formatter):
    """JSON through the standard library; keyword arguments go to json.load/json.dump."""

    name = "json"

    @classmethod
    def load(cls, path: str, **kwargs: Any) -> Any:
        with open(path) as f:
            return json.load(f, **kwargs)

    @classmethod
    def dump(cls, path: str, obj: Any, **kwargs: Any) -> None:
        text = json.dumps(obj, **kwargs)  # encoded in one piece: json.dump writes each token
        with open(path, "w") as f:
            f.write(text)


class PickleFormatter(Formatter):
    """Python pickles: only load files you wrote yourself, unpickling runs code."""

    name = "pickle"

    @classmethod
    def load(cls, path: str, **kwargs: Any) -> Any:
        with open(path, "rb") as f:
            return pickle.load(f, **kwargs)

    @classmethod
    def dump(cls, path: str, obj: Any, **kwargs: Any) -> None:
        with open(path, "wb") as f:
            pickle.dump(obj, f, **kwargs)


class GzipFormatter(Formatter):
    """A gzip-compressed blob: ``dump`` takes bytes or str, ``load`` returns bytes
    (str with ``text=True``)."""

    name = "gzip"

    @classmethod
    def load(cls, path: str, text: bool = False, **kwargs: Any) -> bytes | str:
        with gzip.open(path, "rt" if text else "rb", **kwargs) as f:
            return f.read()

    @classmethod
    def dump(cls, path: str, obj: Any, **kwargs: Any) -> None:
        if not isinstance(obj, (bytes, str)):
            raise FormatterError(
                f"the gzip formatter writes bytes or str, not {type(obj).__name__}"
            )
        with gzip.open(path, "wt" if isinstance(obj, str) else "wb", **kwargs) as f:
            f.write(obj)


def _archive_members(src: str) -> list[tuple[str, str]]:
    """(path on disk, name in the archive) for a file or everything below a directory."""
    src = os.path.abspath(src)
    if not os.path.exists(src):
        raise FormatterError(f"cannot archive {src}: it does not exist")
    if os.path.isfile(src):
        return [(src, os.path.basename(src))]
    members = []
    for current, dirs, files in os.walk(src):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(current, name)
            members.append((full, os.path.relpath(full, src)))
    return members


def _check_member(name: str, dst: str) -> None:
    target = os.path.abspath(os.path.join(dst, name))
    if not (target == os.path.abspath(dst) or target.startswith(os.path.abspath(dst) + os.sep)):
        raise FormatterError(f"refusing to extract {name!r}: it would land outside {dst}")


class ZipFormatter(Formatter):
    """Zip archives: ``dump(src)`` archives a file or directory, ``load(dst)`` extracts
    into ``dst`` and returns the member names."""

    name = "zip"

    @classmethod
    def load(cls, path: str, dst: str | None = None, **kwargs: Any) -> list[str]:
        with zipfile.ZipFile(path, **kwargs) as archive:
            names = archive.namelist()
            if dst is not None:
                for name in names:
                    _check_member(name, dst)
                archive.extractall(dst)
            return names

    @classmethod
    def dump(cls, path: str, obj: Any, **kwargs: Any) -> None:
        kwargs.setdefault("compression", zipfile.ZIP_DEFLATED)
        with zipfile.ZipFile(path, "w", **kwargs) as archive:
            for full, name in _archive_members(str(obj)):
                archive.write(full, name)


class TarFormatter(Formatter):
    """Tar archives, compressed by extension (.tar.gz, .tgz, .tar.bz2, .tar.xz):
    ``dump(src)`` archives a file or directory, ``load(dst)`` extracts into ``dst``."""

    name = "tar"

    @staticmethod
    def _compression(path: str) -> str:
        for suffixes, mode in ((".tar.gz", ".tgz"), "gz"), ((".tar.bz2", ".tbz2"), "bz2"), \
                ((".tar.xz", ".txz"), "xz"):
            if path.endswith(suffixes):
                return mode
        return ""

    @classmethod
    def load(cls, path: str, dst: str | None = None, **kwargs: Any) -> list[str]:
        # "r:*" detects the compression from the content: the file name may not tell
        with tarfile.open(path, "r:*", **kwargs) as archive:
            names = archive.getnames()
            if dst is not None:
                for name in names:
                    _check_member(name, dst)
                try:
                    archive.extractall(dst, filter="data")
                except tarfile.FilterError as err:  # links pointing outside, devices, ...
                    raise FormatterError(f"refusing to extract {path}: {err}") from err
            return names

    @classmethod
    def dump(cls, path: str, obj: Any, **kwargs: Any) -> None:
        with tarfile.open(path, "w:" + cls._compression(path), **kwargs) as archive:
            for full, name in _archive_members(str(obj)):
                archive.add(full, name)
