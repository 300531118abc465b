"""Makes the shared sample data (fmt_testdata.py) importable: pytest runs with
``--import-mode=importlib``, which does not put test directories on sys.path."""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
