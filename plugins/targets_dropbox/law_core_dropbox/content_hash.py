"""Dropbox's content hash: what the ``content_hash`` field of a file's metadata holds.

The file is split into blocks of 4 MiB (the last one may be shorter); each block is hashed
with SHA-256; the content hash is the SHA-256 of the concatenated block digests, written as
64 hexadecimal digits. An empty file hashes to the SHA-256 of nothing.

Standard library only: importing this module does not import the dropbox SDK.
"""

from __future__ import annotations

import hashlib
import os

#: the size of one hashed block
BLOCK_SIZE = 4 * 1024 * 1024


def block_digests(data: bytes | bytearray | memoryview) -> bytes:
    """The concatenated SHA-256 digests of the 4 MiB blocks of ``data``.

    For data that starts on a block boundary of a file (an upload chunk whose size is a
    multiple of :data:`BLOCK_SIZE`, or the file's last chunk), these are the digests
    the file's content hash is made of: feeding them to one running SHA-256 chunk after
    chunk gives the hash of the whole file, while ``sha256(block_digests(chunk))`` is the
    hash of the chunk alone. Every byte is hashed once for both.
    """
    view = memoryview(data)
    return b"".join(hashlib.sha256(view[i:i + BLOCK_SIZE]).digest()
                    for i in range(0, len(view), BLOCK_SIZE))


class ContentHasher:
    """A running content hash, fed with pieces of any size (``update``), read with
    ``hexdigest`` (which does not end it: more data may follow)."""

    def __init__(self) -> None:
        self._overall = hashlib.sha256()
        self._block = hashlib.sha256()
        self._block_fill = 0
        self.size = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data)
        self.size += len(view)
        while len(view):
            take = min(BLOCK_SIZE - self._block_fill, len(view))
            self._block.update(view[:take])
            self._block_fill += take
            view = view[take:]
            if self._block_fill == BLOCK_SIZE:
                self._overall.update(self._block.digest())
                self._block = hashlib.sha256()
                self._block_fill = 0

    def hexdigest(self) -> str:
        overall = self._overall.copy()
        if self._block_fill:
            overall.update(self._block.digest())
        return overall.hexdigest()


def content_hash(data: bytes | bytearray | memoryview) -> str:
    """The content hash of ``data``."""
    return hashlib.sha256(block_digests(data)).hexdigest()


def file_content_hash(path: str | os.PathLike[str]) -> str:
    """The content hash of a local file, read one block at a time."""
    overall = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(BLOCK_SIZE):
            overall.update(hashlib.sha256(block).digest())
    return overall.hexdigest()
