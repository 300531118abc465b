"""``law.matplotlib`` (after ``law.contrib.load("matplotlib")``): law's figure formatter,
named ``"mpl"`` as in law, on law-core's ``matplotlib`` formatter (law-core-formatters)."""

from __future__ import annotations

from law.contrib._formatters import law_formatter

__all__ = ["MatplotlibFormatter"]

#: write only, as in law: ``target.dump(fig, formatter="mpl")`` (law-core also writes SVG)
MatplotlibFormatter = law_formatter(__name__, "MatplotlibFormatter", "mpl", "matplotlib",
                                    (".pdf", ".png"), dump_only=True)
