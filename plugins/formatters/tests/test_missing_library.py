"""A formatter whose library is not installed: discovery still works, and using the
formatter is a FormatterError naming it and the pip extra that installs the library.

Each case runs in a fresh interpreter in which the library cannot be imported: its name
is set to None in sys.modules, which makes ``import`` raise ImportError exactly as for a
library that is not installed, so the formatters' real import path is exercised.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# formatter, file name, blocked modules, extra, formatter to pass (None: by extension)
CASES = [
    ("yaml", "config.yaml", ["yaml"], "yaml", None),
    ("numpy", "array.npy", ["numpy"], "numpy", None),
    ("numpy", "table.txt", ["numpy"], "numpy", "numpy"),
    ("h5py", "data.h5", ["h5py"], "h5py", None),
    ("pandas", "frame.csv", ["pandas"], "pandas", None),
    ("pandas", "frame.h5", ["tables"], "pandas", "pandas"),  # pandas there, PyTables not
    ("pandas", "frame.parquet", ["pyarrow"], "pandas", "pandas"),  # pyarrow not
    ("parquet", "table.parquet", ["pyarrow"], "parquet", None),
    ("awkward", "events.parquet", ["awkward"], "awkward", "awkward"),
    ("uproot", "events.root", ["uproot"], "root", None),
    ("coffea", "output.coffea", ["coffea"], "coffea", None),
    ("matplotlib", "plot.pdf", ["matplotlib"], "matplotlib", None),
    ("keras", "model.keras", ["keras"], "keras", None),
]

SCRIPT = textwrap.dedent("""
    import json, sys
    blocked, path, formatter, obj_kind = json.loads(sys.argv[1])
    for name in blocked:
        sys.modules[name] = None  # "import name" now raises ImportError

    from law_core.errors import FormatterError
    from law_core.registry import get_registry
    from law_core.targets.local import LocalFileTarget

    registry = get_registry()
    status = {p.name: p.status for p in registry.describe()}
    objects = {"frame": None, "plain": {"a": [1, 2, 3]}}
    if obj_kind == "frame":  # pandas itself is importable in these cases
        import pandas as pd
        obj = pd.DataFrame({"a": [1, 2, 3]})
    else:
        obj = objects[obj_kind]
    result = {"status": status["formatters"], "errors": []}
    target = LocalFileTarget(path)
    for action in ("dump", "load"):
        if action == "load":
            open(path, "wb").close()  # something to load, so only the import can fail
        try:
            if action == "dump":
                target.dump(obj, formatter=formatter)
            else:
                target.load(formatter=formatter)
        except FormatterError as err:
            result["errors"].append([action, str(err)])
        except Exception as err:
            result["errors"].append([action, "NOT A FormatterError: %r" % err])
        else:
            result["errors"].append([action, "no error"])
    print(json.dumps(result))
""")


@pytest.mark.parametrize(("name", "filename", "blocked", "extra", "formatter"), CASES,
                         ids=[f"{c[0]}-{c[1]}-without-{'+'.join(c[2])}" for c in CASES])
def test_missing_library_is_a_formatter_error_naming_the_extra(
        tmp_path: Path, name: str, filename: str, blocked: list[str], extra: str,
        formatter: str | None) -> None:
    obj_kind = "frame" if name == "pandas" and blocked != ["pandas"] else "plain"
    args = json.dumps([blocked, str(tmp_path / filename), formatter, obj_kind])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.run([sys.executable, "-c", SCRIPT, args], capture_output=True,
                          text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["status"] == "loaded", "discovery must not need the library"
    actions = ["dump"] if name == "matplotlib" else ["dump", "load"]  # write-only
    for action, message in result["errors"]:
        if action not in actions:
            continue
        assert f"'{name}'" in message, f"{action}: {message}"
        assert f"pip install law-core-formatters[{extra}]" in message, f"{action}: {message}"
        assert any(f"'{module}'" in message or module in message for module in blocked), (
            f"{action}: {message}")
    assert not (tmp_path / filename).exists() or (tmp_path / filename).stat().st_size == 0
