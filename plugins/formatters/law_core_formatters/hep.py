"""High-energy-physics formats: ROOT files through uproot, coffea outputs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from law_core.plugin import Formatter, FormatterError
from law_core_formatters._lazy import require

_TREE_CLASSES = ("TTree", "TNtuple", "TNtupleD", "ROOT::RNTuple")
_HISTOGRAM_PREFIXES = ("TH1", "TH2", "TH3", "TProfile")


def _is_table(obj: Any) -> bool:
    """Whether ``obj`` holds columns (a tree) rather than one object (a histogram)."""
    if isinstance(obj, Mapping):
        return True
    module = type(obj).__module__.split(".", 1)[0]
    if module == "pandas":
        return hasattr(obj, "columns")
    if module == "awkward":
        return bool(getattr(obj, "fields", None))
    return False


class UprootFormatter(Formatter):
    """ROOT files through uproot (no ROOT installation needed).

    ``dump`` takes a mapping of object name (``"dir/name"`` for a subdirectory) to:

    - a mapping of branch name to array, a pandas DataFrame (its index becomes a branch
      ``index``) or an awkward record array: written as a TTree, which every ROOT
      version reads (uproot's own default for assignment became the newer RNTuple;
      ``tree_format="rntuple"`` asks for that). A jagged branch gets its counter branch
      (``njet_pt`` for ``jet_pt``);
    - anything else uproot writes: a ``hist``/boost-histogram, a ``(counts, edges)``
      tuple, a string, an uproot model.

    ``load`` reads everything eagerly (the file may be a temporary local copy of a remote
    one) into a dict of object name to: trees as arrays of ``library`` (``"ak"``, ``"np"``
    or ``"pd"``; further keyword arguments go to ``arrays()``), histograms as
    ``hist.Hist`` (``histograms="numpy"`` for ``to_numpy()`` tuples, ``"uproot"`` for
    uproot's objects), directories flattened into ``"dir/name"`` keys. ``keys`` limits
    what is read.
    """

    name = "uproot"

    @staticmethod
    def _uproot() -> Any:
        return require("uproot", "uproot", "root")

    @classmethod
    def load(cls, path: str, keys: Iterable[str] | None = None, library: str = "ak",
             histograms: str = "hist", **kwargs: Any) -> dict[str, Any]:
        uproot = cls._uproot()
        if histograms not in ("hist", "numpy", "uproot"):
            raise FormatterError(
                f"histograms must be 'hist', 'numpy' or 'uproot', not {histograms!r}"
            )
        wanted = None if keys is None else set(keys)
        out: dict[str, Any] = {}
        with uproot.open(path) as f:
            for key, classname in f.classnames(recursive=True, cycle=False).items():
                if classname == "TDirectory" or (wanted is not None and key not in wanted):
                    continue
                obj = f[key]
                if classname in _TREE_CLASSES:
                    out[key] = obj.arrays(library=library, **kwargs)
                elif classname.startswith(_HISTOGRAM_PREFIXES) and histograms == "hist":
                    require("hist", "uproot", "root")
                    out[key] = obj.to_hist()
                elif classname.startswith(_HISTOGRAM_PREFIXES) and histograms == "numpy":
                    out[key] = obj.to_numpy()
                else:
                    out[key] = obj
        if wanted is not None and wanted - set(out):
            raise FormatterError(
                f"{path} has no object(s) {', '.join(sorted(wanted - set(out)))}"
            )
        return out

    @classmethod
    def dump(cls, path: str, obj: Any, tree_format: str = "ttree", **kwargs: Any) -> None:
        uproot = cls._uproot()
        if not isinstance(obj, Mapping):
            raise FormatterError(
                f"the uproot formatter writes a mapping of object names to trees (mappings "
                f"of arrays, DataFrames, awkward record arrays) and histograms, not "
                f"{type(obj).__name__}"
            )
        if tree_format not in ("ttree", "rntuple"):
            raise FormatterError(f"tree_format must be 'ttree' or 'rntuple', not {tree_format!r}")
        with uproot.recreate(path, **kwargs) as f:
            for name, value in obj.items():
                if _is_table(value) and tree_format == "ttree":
                    f.mktree(str(name), value)
                else:
                    f[str(name)] = value


class CoffeaFormatter(Formatter):
    """coffea outputs: accumulators (``coffea.processor.dict_accumulator``, ...), dicts
    of ``hist`` histograms, anything ``coffea.util.save`` writes (cloudpickle, LZ4).

    Files are those of ``coffea.util.save``/``coffea.util.load``, so they are exchanged
    with plain coffea code. Loading unpickles: only load files you trust.
    """

    name = "coffea"

    @staticmethod
    def _util() -> Any:
        require("coffea", "coffea", "coffea")
        return require("coffea.util", "coffea", "coffea")

    @classmethod
    def load(cls, path: str, **kwargs: Any) -> Any:
        return cls._util().load(path, **kwargs)

    @classmethod
    def dump(cls, path: str, obj: Any, **kwargs: Any) -> None:
        cls._util().save(obj, path, **kwargs)
