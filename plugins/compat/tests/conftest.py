"""The compat tests' fixtures: law's examples and law 0.1.21's venv (law_reference.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # law_reference, for the test modules too

from law_reference import law_bin, law_examples  # noqa: E402, F401 - fixtures
