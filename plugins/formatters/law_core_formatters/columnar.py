"""Tables and columnar data: pandas DataFrames, Parquet through pyarrow, awkward arrays.

Three formatters read Parquet; by extension ``parquet`` (pyarrow) is chosen, since a
pyarrow Table is what a Parquet file holds, whoever wrote it, and converts cheaply to
the others (``table.to_pandas()``, ``ak.from_arrow(table)``). ``formatter="pandas"`` or
``formatter="awkward"`` reads it as a DataFrame or an awkward array instead.
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping
from typing import Any

from law_core.plugin import Formatter, FormatterError
from law_core_formatters._lazy import missing_library, require


def _suffix(path: str) -> str:
    return path.rsplit("/", 1)[-1].rpartition(".")[2].lower()


def _module_of(obj: Any) -> str:
    return type(obj).__module__.split(".", 1)[0]


class PandasFormatter(Formatter):
    """pandas DataFrames; the file's extension picks the format.

    ``.csv``/``.tsv`` (without the index unless ``index=True``: a CSV has no place to
    say which column is the index), ``.parquet`` and ``.feather`` (pyarrow), ``.h5``/
    ``.hdf5`` (PyTables, under ``key="data"`` unless another is given), ``.pkl``/
    ``.pickle``. Keyword arguments go to pandas' ``read_*``/``to_*`` function. Only
    ``.csv``, ``.tsv`` and ``.feather`` select pandas by extension; the others belong to
    another formatter first (see the package README) and need ``formatter="pandas"``.
    """

    name = "pandas"

    _FORMATS = {"csv": "csv", "tsv": "csv", "parquet": "parquet", "feather": "feather",
                "h5": "hdf", "hdf5": "hdf", "pkl": "pickle", "pickle": "pickle"}

    @classmethod
    def _format(cls, path: str) -> str:
        fmt = cls._FORMATS.get(_suffix(path))
        if fmt is None:
            raise FormatterError(
                f"the pandas formatter does not know the format of {path!r}; it reads and "
                f"writes the extensions {', '.join('.' + e for e in cls._FORMATS)}"
            )
        return fmt

    #: the library pandas needs for a format, beyond itself
    _BACKENDS = {"parquet": "pyarrow", "feather": "pyarrow", "hdf": "tables"}

    @classmethod
    def _call(cls, fmt: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        # pandas imports pyarrow / PyTables only when a format needs them
        try:
            return function(*args, **kwargs)
        except ImportError as err:
            module = getattr(err, "name", None) or cls._BACKENDS.get(fmt, "?")
            raise missing_library("pandas", "pandas", module, err) from err

    @classmethod
    def load(cls, path: str, **kwargs: Any) -> Any:
        pd = require("pandas", "pandas", "pandas")
        fmt = cls._format(path)
        if _suffix(path) == "tsv":
            kwargs.setdefault("sep", "\t")
        return cls._call(fmt, getattr(pd, f"read_{fmt}"), path, **kwargs)

    @classmethod
    def dump(cls, path: str, obj: Any, **kwargs: Any) -> None:
        pd = require("pandas", "pandas", "pandas")
        fmt = cls._format(path)
        if not isinstance(obj, (pd.DataFrame, pd.Series)):
            raise FormatterError(
                f"the pandas formatter writes a DataFrame or Series, not {type(obj).__name__}"
            )
        if isinstance(obj, pd.Series) and fmt in ("parquet", "feather"):
            obj = obj.to_frame()
        if fmt == "csv":
            kwargs.setdefault("index", False)
            if _suffix(path) == "tsv":
                kwargs.setdefault("sep", "\t")
        elif fmt == "hdf":
            kwargs.setdefault("key", "data")
            kwargs.setdefault("mode", "w")
        cls._call(fmt, getattr(obj, f"to_{fmt}"), path, **kwargs)


class ParquetFormatter(Formatter):
    """Parquet files through pyarrow.

    ``load`` returns a ``pyarrow.Table`` (``columns=[...]``, ``filters=...`` go to
    ``pyarrow.parquet.read_table``). ``dump`` takes a Table or RecordBatch, a mapping of
    column name to values, a pandas DataFrame or an awkward array, and passes keyword
    arguments (``compression="zstd"``, ``row_group_size``) to ``write_table``.
    """

    name = "parquet"

    @staticmethod
    def _pq() -> Any:
        require("pyarrow", "parquet", "parquet")
        return require("pyarrow.parquet", "parquet", "parquet")

    @classmethod
    def to_table(cls, obj: Any) -> Any:
        """``obj`` as a pyarrow Table, or a FormatterError saying what is accepted."""
        pa = require("pyarrow", "parquet", "parquet")
        if isinstance(obj, pa.Table):
            return obj
        if isinstance(obj, pa.RecordBatch):
            return pa.Table.from_batches([obj])
        if isinstance(obj, Mapping):
            return pa.table(dict(obj))
        module = _module_of(obj)
        if module == "pandas" and hasattr(obj, "columns"):
            return pa.Table.from_pandas(obj)
        if module == "awkward":
            return require("awkward", "parquet", "awkward").to_arrow_table(obj)
        raise FormatterError(
            f"the parquet formatter writes a pyarrow Table or RecordBatch, a mapping of "
            f"columns, a pandas DataFrame or an awkward array, not {type(obj).__name__}"
        )

    @classmethod
    def load(cls, path: str, **kwargs: Any) -> Any:
        return cls._pq().read_table(path, **kwargs)

    @classmethod
    def dump(cls, path: str, obj: Any, **kwargs: Any) -> None:
        pq = cls._pq()
        pq.write_table(cls.to_table(obj), path, **kwargs)


class AwkwardFormatter(Formatter):
    """awkward arrays as Parquet (``ak.to_parquet``/``ak.from_parquet``, keeping the
    array's type) or JSON (``ak.to_json``/``ak.from_json``). Both extensions belong to
    other formatters first (``parquet``, the core's ``json``): use
    ``formatter="awkward"``. ``dump`` takes anything ``ak.Array`` accepts."""

    name = "awkward"

    @staticmethod
    def _ak() -> Any:
        return require("awkward", "awkward", "awkward")

    @staticmethod
    def _format(path: str) -> str:
        suffix = _suffix(path)
        if suffix not in ("parquet", "json"):
            raise FormatterError(
                f"the awkward formatter does not know the format of {path!r}; it reads and "
                f"writes .parquet and .json"
            )
        return suffix

    @classmethod
    def load(cls, path: str, **kwargs: Any) -> Any:
        ak = cls._ak()
        if cls._format(path) == "json":
            # a str would be taken for JSON text, a Path is a file
            return ak.from_json(pathlib.Path(path), **kwargs)
        try:
            return ak.from_parquet(path, **kwargs)
        except ImportError as err:
            raise missing_library("awkward", "awkward", "pyarrow", err) from err

    @classmethod
    def dump(cls, path: str, obj: Any, **kwargs: Any) -> None:
        ak = cls._ak()
        if cls._format(path) == "json":
            ak.to_json(obj, file=path, **kwargs)
            return
        try:
            ak.to_parquet(obj, path, **kwargs)
        except ImportError as err:
            raise missing_library("awkward", "awkward", "pyarrow", err) from err
