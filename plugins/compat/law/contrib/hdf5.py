"""``law.hdf5`` (after ``law.contrib.load("hdf5")``): law's h5py formatter on law-core's
``h5py`` formatter (law-core-formatters)."""

from __future__ import annotations

from law.contrib._formatters import law_formatter

__all__ = ["H5pyFormatter"]

#: law-core's ``h5py``: ``load`` returns nested dicts of arrays, read completely, and
#: ``dump`` writes such dicts (law: an open ``h5py.File`` in both directions)
H5pyFormatter = law_formatter(__name__, "H5pyFormatter", "h5py", "h5py", (".hdf5", ".h5"))
