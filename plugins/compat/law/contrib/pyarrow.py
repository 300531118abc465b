"""``law.pyarrow`` (after ``law.contrib.load("pyarrow")``): law's Parquet formatters on
law-core's ``parquet`` formatter (law-core-formatters)."""

from __future__ import annotations

from law.contrib._formatters import law_formatter, unsupported_function

__all__ = ["merge_parquet_files", "merge_parquet_task", "ParquetFormatter",
           "ParquetTableFormatter"]

#: law's "parquet": law-core's ``load`` returns a ``pyarrow.Table`` (law: a
#: ``pyarrow.parquet.ParquetFile``, whose ``read()`` gives that table), and it also writes
ParquetFormatter = law_formatter(__name__, "ParquetFormatter", "parquet", "parquet",
                                 (".parquet", ".parq"))
#: law's "parquet_table": ``pyarrow.parquet.read_table`` / ``write_table``, as law-core's
ParquetTableFormatter = law_formatter(__name__, "ParquetTableFormatter", "parquet_table",
                                      "parquet", (".parquet", ".parq"))

_MERGE = ("law-core has no Parquet merging; read the inputs with "
          "target.load(formatter='parquet'), join them with pyarrow.concat_tables() and "
          "write the result with output.dump(table, formatter='parquet')")
merge_parquet_files = unsupported_function(__name__, "merge_parquet_files", _MERGE)
merge_parquet_task = unsupported_function(__name__, "merge_parquet_task", _MERGE)
