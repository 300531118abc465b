"""Formatters: how a target's content is read and written.

A formatter works on local paths (a remote target is localized first), so libraries
that insist on a real file, like ROOT or HDF5, work unchanged on any storage.

Selection: ``formatter="name"`` always wins; otherwise the file's extension decides, by
the rule of :meth:`law_core.registry.Registry.formatter_for_path` (longest extension,
then priority, then name).
"""

from __future__ import annotations

from typing import Any, ClassVar


class Formatter:
    """Reads and writes one file format. Subclasses implement ``load`` and/or ``dump``,
    importing their library inside them so that discovery stays cheap."""

    name: ClassVar[str] = ""

    @classmethod
    def load(cls, path: str, **kwargs: Any) -> Any:
        from law_core.errors import FormatterError

        raise FormatterError(f"the formatter '{cls.name}' can only write, not read")

    @classmethod
    def dump(cls, path: str, obj: Any, **kwargs: Any) -> None:
        from law_core.errors import FormatterError

        raise FormatterError(f"the formatter '{cls.name}' can only read, not write")


def resolve_formatter(path: str, name: str | None = None) -> type[Formatter]:
    """The formatter class for ``path``: the one named, else the one its extension picks."""
    from law_core.registry import get_registry

    registry = get_registry()
    record = registry.formatter(name) if name else registry.formatter_for_path(path)
    return record.load()
