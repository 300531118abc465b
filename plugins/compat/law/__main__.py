"""``python -m law``: the ``law`` command."""

import sys

from law.cli import main

sys.exit(main())
