"""Structured text: YAML (configs, cut flows, small summaries an analyst reads)."""

from __future__ import annotations

from typing import Any

from law_core.plugin import Formatter
from law_core_formatters._lazy import require


def _yaml() -> Any:
    return require("yaml", "yaml", "yaml")


class YAMLFormatter(Formatter):
    """YAML through PyYAML.

    Safe by default: ``load`` uses the safe loader (no arbitrary Python objects from a
    file) and ``dump`` the safe dumper, keeping the key order of the object. Pass
    ``Loader=``/``Dumper=`` for PyYAML's full (unsafe) machinery, ``all_documents=True``
    for a file of several documents (a list of them).
    """

    name = "yaml"

    @classmethod
    def load(cls, path: str, all_documents: bool = False, **kwargs: Any) -> Any:
        yaml = _yaml()
        kwargs.setdefault("Loader", getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        with open(path, encoding="utf-8") as f:
            if all_documents:
                return list(yaml.load_all(f, **kwargs))
            return yaml.load(f, **kwargs)

    @classmethod
    def dump(cls, path: str, obj: Any, all_documents: bool = False, **kwargs: Any) -> None:
        yaml = _yaml()
        kwargs.setdefault("Dumper", getattr(yaml, "CSafeDumper", yaml.SafeDumper))
        kwargs.setdefault("sort_keys", False)
        kwargs.setdefault("allow_unicode", True)
        with open(path, "w", encoding="utf-8") as f:
            if all_documents:
                yaml.dump_all(obj, f, **kwargs)
            else:
                yaml.dump(obj, f, **kwargs)
