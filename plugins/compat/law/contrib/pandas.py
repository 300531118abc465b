"""``law.pandas`` (after ``law.contrib.load("pandas")``): law's DataFrame formatter on
law-core's ``pandas`` formatter (law-core-formatters)."""

from __future__ import annotations

from law.contrib._formatters import law_formatter

__all__ = ["DataFrameFormatter"]

#: CSV, Parquet, HDF5 and pickle files as in law (law-core writes CSV without the index
#: unless ``index=True``; law's ``.json`` is not among law-core's formats)
DataFrameFormatter = law_formatter(__name__, "DataFrameFormatter", "pandas", "pandas",
                                   (".csv", ".json", ".parquet", ".h5", ".hdf5", ".pickle",
                                    ".pkl"))
