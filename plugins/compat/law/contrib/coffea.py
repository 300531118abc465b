"""``law.coffea`` (after ``law.contrib.load("coffea")``): law's coffea formatter on
law-core's ``coffea`` formatter (law-core-formatters)."""

from __future__ import annotations

from law.contrib._formatters import law_formatter

__all__ = ["CoffeaFormatter"]

#: ``.coffea`` files through ``coffea.util.save``/``load`` (law also opened ``.root`` and
#: ``.parquet`` files as NanoEvents: use ``coffea.nanoevents.NanoEventsFactory`` on
#: ``target.path`` for those)
CoffeaFormatter = law_formatter(__name__, "CoffeaFormatter", "coffea", "coffea",
                                (".coffea",))
