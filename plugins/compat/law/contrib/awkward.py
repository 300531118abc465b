"""``law.awkward`` (after ``law.contrib.load("awkward")``): law's awkward formatter on
law-core's ``awkward`` formatter (law-core-formatters), and law's ``from_parquet``."""

from __future__ import annotations

from typing import Any

from law.contrib._formatters import law_formatter

__all__ = ["from_parquet", "AwkwardFormatter"]

#: Parquet and JSON files (law's ``.pickle`` files are the core's ``pickle`` formatter)
AwkwardFormatter = law_formatter(__name__, "AwkwardFormatter", "awkward", "awkward",
                                 (".parquet", ".parq", ".json", ".pickle", ".pkl"))


def from_parquet(*args: Any, use_threads: bool = False, **kwargs: Any) -> Any:
    """``awkward.from_parquet``. law's version also set pyarrow's ``use_threads`` of the
    read; awkward 2 reads without threads of its own, so ``use_threads`` is accepted and
    has no effect."""
    import awkward as ak

    return ak.from_parquet(*args, **kwargs)
