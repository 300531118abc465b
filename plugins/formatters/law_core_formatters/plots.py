"""Plots: matplotlib figures written as PDF, PNG or SVG."""

from __future__ import annotations

import sys
from typing import Any

from law_core.plugin import Formatter, FormatterError
from law_core_formatters._lazy import require


class MatplotlibFormatter(Formatter):
    """matplotlib figures, written with ``savefig`` in the format of the extension.

    ``dump`` takes a Figure (or an Axes or any artist, whose figure is saved); keyword
    arguments go to ``savefig`` (``dpi``, ``bbox_inches``, ...); ``close=True`` closes the
    figure afterwards with pyplot, freeing its memory in long loops. Write only: an image
    is not a figure again (read a PNG with ``matplotlib.image.imread`` if needed).
    """

    name = "matplotlib"

    @classmethod
    def load(cls, path: str, **kwargs: Any) -> Any:
        raise FormatterError(
            f"the formatter 'matplotlib' only writes figures, it cannot read {path}; read "
            f"a PNG as an array with matplotlib.image.imread"
        )

    @classmethod
    def dump(cls, path: str, obj: Any, close: bool = False, **kwargs: Any) -> None:
        require("matplotlib", "matplotlib", "matplotlib")
        figure_module = require("matplotlib.figure", "matplotlib", "matplotlib")
        fig = obj
        if not isinstance(fig, figure_module.Figure) and hasattr(fig, "get_figure"):
            fig = fig.get_figure()
        if not isinstance(fig, figure_module.FigureBase):
            raise FormatterError(
                f"the matplotlib formatter writes a Figure (or an Axes or artist of one), "
                f"not {type(obj).__name__}"
            )
        fig.savefig(path, **kwargs)
        # only pyplot keeps figures alive; do not import it (and pick a backend) otherwise
        if close and "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close(fig)
