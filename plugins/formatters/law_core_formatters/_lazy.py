"""Importing a formatter's library when the formatter is first used.

The plugin module declares every formatter without importing any library, so a missing
library only matters to the formatter that needs it: that one raises a
:class:`~law_core.errors.FormatterError` naming itself and the pip extra that installs
the library, instead of an ``ImportError`` from deep inside a task.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from law_core.plugin import FormatterError

DISTRIBUTION = "law-core-formatters"


def install_hint(extra: str) -> str:
    """The pip command that installs what the formatters of ``extra`` need."""
    return f"pip install {DISTRIBUTION}[{extra}]"


def missing_library(formatter: str, extra: str, module: str, err: ImportError) -> FormatterError:
    """The error for a formatter whose library (or a part of it) cannot be imported."""
    return FormatterError(
        f"the formatter '{formatter}' needs the Python module '{module}', which cannot be "
        f"imported ({type(err).__name__}: {err}); install it with: {install_hint(extra)}"
    )


def require(module: str, formatter: str, extra: str) -> ModuleType:
    """Import ``module`` for ``formatter``, or raise a FormatterError naming ``extra``."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise missing_library(formatter, extra, module, err) from err
