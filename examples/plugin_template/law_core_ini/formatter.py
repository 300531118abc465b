"""The INI formatter: configparser behind law-core's formatter interface."""

from __future__ import annotations

import configparser
from typing import Any

from law_core.plugin import Formatter, FormatterError


class INIFormatter(Formatter):
    """``dump({section: {option: value}})`` and ``load()`` back; values are strings."""

    name = "ini"

    @classmethod
    def load(cls, path: str, **kwargs: Any) -> dict[str, dict[str, str]]:
        parser = configparser.ConfigParser(interpolation=None, **kwargs)
        try:
            parser.read(path)
        except configparser.Error as err:
            raise FormatterError(f"{path} is not a valid INI file: {err}") from err
        return {section: dict(parser[section]) for section in parser.sections()}

    @classmethod
    def dump(cls, path: str, obj: Any, **kwargs: Any) -> None:
        if not isinstance(obj, dict) or not all(isinstance(v, dict) for v in obj.values()):
            raise FormatterError("the ini formatter writes {section: {option: value}} "
                                 f"dictionaries, not {type(obj).__name__}")
        parser = configparser.ConfigParser(interpolation=None, **kwargs)
        parser.read_dict({s: {k: str(v) for k, v in o.items()} for s, o in obj.items()})
        with open(path, "w") as f:
            parser.write(f)
