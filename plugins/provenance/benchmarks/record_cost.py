"""What recording costs a large local workflow: ``law-core run`` of N trivial branches
(each writes a small JSON file) with provenance enabled and disabled, in fresh processes.

    python plugins/provenance/benchmarks/record_cost.py [N] [WORKERS]
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TASKS = """
import law_core as law


class Many(law.LocalWorkflow):
    def create_branch_map(self):
        return dict.fromkeys(range({n}), 0)

    def output(self):
        return self.target(f"out_{{self.branch}}.json")

    def run(self):
        self.output().dump({{"branch": self.branch}})
"""


def run(n: int, workers: int, enabled: bool) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        (cwd / "bench.py").write_text(TASKS.format(n=n))
        (cwd / "law.cfg").write_text(
            f"[target]\nstore = {cwd}/data\n[provenance]\nenabled = {str(enabled).lower()}\n"
            f"database = {cwd}/prov.sqlite\n")
        env = {"PYTHONPATH": str(cwd), "HOME": str(cwd), "PATH": "/usr/bin:/bin"}
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "law_core", "run", "bench.Many",
                        "--workers", str(workers)], cwd=cwd, env=env, check=True,
                       capture_output=True)
        elapsed = time.perf_counter() - start
        if enabled:
            with sqlite3.connect(cwd / "prov.sqlite") as con:
                count = con.execute("SELECT COUNT(*) FROM records").fetchone()[0]
            assert count == n, f"{count} records of {n} branches"
            print(f"  database: {(cwd / 'prov.sqlite').stat().st_size / 1e6:.1f} MB "
                  f"(+ WAL {(cwd / 'prov.sqlite-wal').stat().st_size / 1e6:.1f} MB)"
                  if (cwd / "prov.sqlite-wal").exists() else "")
        return elapsed


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    off = run(n, workers, enabled=False)
    on = run(n, workers, enabled=True)
    print(f"{n} branches, {workers} worker(s): {off:.1f} s without provenance, {on:.1f} s "
          f"with ({(on - off) / n * 1e6:.0f} us per branch)")


if __name__ == "__main__":
    main()
