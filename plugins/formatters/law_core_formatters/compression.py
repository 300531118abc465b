"""Compressed blobs the core does not have: bzip2 and xz/LZMA (the core has gzip, and
tar archives in all three compressions).

They mirror the core's ``gzip`` formatter: ``dump`` takes bytes or str, ``load`` returns
bytes (str with ``text=True``). Both modules are in the standard library; a Python built
without libbz2/liblzma lacks them, which is reported as a FormatterError.
"""

from __future__ import annotations

import importlib
from typing import Any, ClassVar

from law_core.plugin import Formatter, FormatterError


class _CompressedBlob(Formatter):
    module: ClassVar[str] = ""

    @classmethod
    def _module(cls) -> Any:
        try:
            return importlib.import_module(cls.module)
        except ImportError as err:
            raise FormatterError(
                f"the formatter '{cls.name}' needs the standard-library module "
                f"'{cls.module}', which this Python was built without ({err}); use a "
                f"Python built with it"
            ) from err

    @classmethod
    def load(cls, path: str, text: bool = False, **kwargs: Any) -> bytes | str:
        with cls._module().open(path, "rt" if text else "rb", **kwargs) as f:
            return f.read()

    @classmethod
    def dump(cls, path: str, obj: Any, **kwargs: Any) -> None:
        if not isinstance(obj, (bytes, bytearray, str)):
            raise FormatterError(
                f"the {cls.name} formatter writes bytes or str, not {type(obj).__name__}"
            )
        mode = "wt" if isinstance(obj, str) else "wb"
        with cls._module().open(path, mode, **kwargs) as f:
            f.write(obj)


class Bz2Formatter(_CompressedBlob):
    """bzip2-compressed data (``.bz2``): smaller than gzip for text, slower."""

    name = "bz2"
    module = "bz2"


class XzFormatter(_CompressedBlob):
    """xz-compressed data: the best ratio of the three. ``.xz`` files are written in the
    xz container, ``.lzma`` files in the legacy ``lzma_alone`` format that extension
    promises; reading detects either."""

    name = "xz"
    module = "lzma"

    @classmethod
    def dump(cls, path: str, obj: Any, **kwargs: Any) -> None:
        if path.lower().endswith(".lzma"):
            kwargs.setdefault("format", cls._module().FORMAT_ALONE)
        super().dump(path, obj, **kwargs)
