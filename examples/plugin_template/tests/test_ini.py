"""The plugin is correct when its subclass of law-core's conformance suite passes."""

from __future__ import annotations

import configparser

from law_core.testing import FormatterSuite


class TestINIFormatter(FormatterSuite):
    formatter_name = "ini"
    extensions = ("ini", "cfg")
    library_module = None  # configparser is in the standard library

    def sample(self):
        return {"fit": {"bins": "40", "range": "0, 200"}, "data": {"year": "2018"}}

    def unserializable(self):
        return ["not", "a", "dict"]

    def read_back_natively(self, path):
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(path)
        return {section: dict(parser[section]) for section in parser.sections()}
