"""``law.root`` (after ``law.contrib.load("root")``): law's ROOT formatters. ROOT files go
through uproot (law-core's ``uproot`` formatter, law-core-formatters); law-core has no
PyROOT mechanism, so law's PyROOT-based names are errors that say what to use."""

from __future__ import annotations

from law.contrib._formatters import law_formatter, unsupported_formatter, unsupported_function

__all__ = ["import_ROOT", "hadd_task", "ROOTFormatter", "ROOTNumpyFormatter",
           "ROOTPandasFormatter", "UprootFormatter", "GuardedTFile"]

#: law-core's ``uproot``: ``load`` returns ``{"name": tree arrays or histogram}`` read
#: completely and ``dump`` takes such a mapping (law: ``uproot.open()``'s file, and a
#: context manager around a writable file)
UprootFormatter = law_formatter(__name__, "UprootFormatter", "uproot", "uproot", (".root",))

_PYROOT = ("law-core reads and writes ROOT files through uproot, not PyROOT: use "
           "formatter='uproot' (dump a mapping of trees and histograms; load returns them)")
ROOTFormatter = unsupported_formatter(__name__, "ROOTFormatter", "root", _PYROOT)
ROOTNumpyFormatter = unsupported_formatter(
    __name__, "ROOTNumpyFormatter", "root_numpy",
    _PYROOT + "; target.load(formatter='uproot', library='np') gives NumPy arrays")
ROOTPandasFormatter = unsupported_formatter(
    __name__, "ROOTPandasFormatter", "root_pandas",
    _PYROOT + "; target.load(formatter='uproot', library='pd') gives DataFrames")
GuardedTFile = unsupported_function(__name__, "GuardedTFile", _PYROOT)
import_ROOT = unsupported_function(__name__, "import_ROOT", _PYROOT + "; import ROOT yourself")
hadd_task = unsupported_function(
    __name__, "hadd_task", "law-core does not run ROOT's hadd; run it yourself with "
    "subprocess.run(['hadd', '-f', output.path, *input_paths]) or merge with uproot")
