"""The hook implementations: what this plugin provides, declared, not imported.

law-core imports this module whenever it discovers plugins (every ``law-core`` command),
so it imports nothing heavy: the formatter class is named as a string and loaded only
when an ``.ini`` file is first read or written.
"""

from __future__ import annotations

from law_core.hookspecs import hookimpl


@hookimpl
def law_core_formatters() -> list:
    from law_core.records import FormatterRecord

    return [FormatterRecord("ini", "law_core_ini.formatter:INIFormatter",
                            "INI files as {section: {option: value}}",
                            extensions=("ini", "cfg"))]
