"""``law.numpy`` (after ``law.contrib.load("numpy")``): law's NumPy formatter on law-core's
``numpy`` formatter (law-core-formatters)."""

from __future__ import annotations

from law.contrib._formatters import law_formatter

__all__ = ["NumpyFormatter"]

#: ``.npy`` (one array), ``.npz`` (a dict of arrays; law-core's ``compressed=True``),
#: ``.txt`` (``np.savetxt``/``np.loadtxt``)
NumpyFormatter = law_formatter(__name__, "NumpyFormatter", "numpy", "numpy",
                               (".npy", ".npz", ".txt"))
