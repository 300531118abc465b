"""The hook implementations of law-core-formatters: declarations only, no library imports.

Priorities decide between formatters that claim the same extension (after the longest
extension, see ``law_core.registry.Registry.formatter_for_path``). The core's own
formatters (text, json, pickle, gzip, zip, tar) have priority 0:

- ``PRIMARY`` (10): the formatter named after a format owns it (``h5py`` for .h5/.hdf5,
  ``parquet`` for .parquet), since it reads any such file, whoever wrote it;
- 0: a formatter that is alone on its extensions (yaml, uproot, matplotlib, coffea, ...);
- ``SECONDARY`` (-10) and ``TERTIARY`` (-20): formatters that also read a format owned by
  another (pandas on .h5/.parquet/.pkl, numpy on .txt, awkward on .parquet/.json, keras on
  .h5): chosen with ``formatter="NAME"``, never by extension over the owner.
"""

from __future__ import annotations

from law_core.hookspecs import hookimpl
from law_core.records import FormatterRecord

PRIMARY = 10
SECONDARY = -10
TERTIARY = -20

_PKG = "law_core_formatters"


@hookimpl
def law_core_formatters() -> list[FormatterRecord]:
    return [
        FormatterRecord("yaml", f"{_PKG}.structured:YAMLFormatter",
                        "YAML through PyYAML (safe loader and dumper by default)",
                        extensions=("yaml", "yml")),
        FormatterRecord("numpy", f"{_PKG}.arrays:NumpyFormatter",
                        "NumPy arrays: .npy, .npz (dict of arrays), text (.txt only by name)",
                        extensions=("npy", "npz", "txt"), priority=SECONDARY),
        FormatterRecord("h5py", f"{_PKG}.arrays:H5pyFormatter",
                        "HDF5 files as nested dicts of arrays, through h5py",
                        extensions=("h5", "hdf5"), priority=PRIMARY),
        FormatterRecord("pandas", f"{_PKG}.columnar:PandasFormatter",
                        "pandas DataFrames as CSV/TSV, Parquet, Feather, HDF5 or pickle",
                        extensions=("csv", "tsv", "parquet", "feather", "h5", "hdf5", "pkl",
                                    "pickle"),
                        priority=SECONDARY),
        FormatterRecord("parquet", f"{_PKG}.columnar:ParquetFormatter",
                        "Parquet files as pyarrow Tables (writes tables, DataFrames, dicts)",
                        extensions=("parquet",), priority=PRIMARY),
        FormatterRecord("awkward", f"{_PKG}.columnar:AwkwardFormatter",
                        "awkward arrays as Parquet or JSON",
                        extensions=("parquet", "json"), priority=TERTIARY),
        FormatterRecord("uproot", f"{_PKG}.hep:UprootFormatter",
                        "ROOT files through uproot: TTrees and histograms",
                        extensions=("root",)),
        FormatterRecord("coffea", f"{_PKG}.hep:CoffeaFormatter",
                        "coffea accumulators and outputs (coffea.util.save/load)",
                        extensions=("coffea",)),
        FormatterRecord("matplotlib", f"{_PKG}.plots:MatplotlibFormatter",
                        "matplotlib figures as PDF, PNG or SVG (write only)",
                        extensions=("pdf", "png", "svg")),
        FormatterRecord("keras", f"{_PKG}.models:KerasFormatter",
                        "Keras 3 models (.keras, legacy .h5 by name)",
                        extensions=("keras", "h5"), priority=TERTIARY),
        FormatterRecord("bz2", f"{_PKG}.compression:Bz2Formatter",
                        "bzip2-compressed data (standard library)", extensions=("bz2",)),
        FormatterRecord("xz", f"{_PKG}.compression:XzFormatter",
                        "xz/LZMA-compressed data (standard library)", extensions=("xz", "lzma")),
    ]
