"""``law-core --help`` and ``law-core plugins`` stay cheap: no luigi, no backend library."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ["luigi", "gfal2", "docker", "dropbox", "spython", "numpy", "htcondor2", "yaml"]


@pytest.mark.parametrize("argv", [["--help"], ["plugins"], ["run", "--help"]])
def test_cheap_commands_import_no_heavy_module(argv, tmp_path):
    code = (
        "import sys\n"
        "from law_core.cli.main import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('IMPORTED:', [m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "IMPORTED: []" in result.stdout
