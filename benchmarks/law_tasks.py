"""Benchmark tasks for law 0.1.21 (the reference system).

Run with the interpreter of ``benchmarks/.venv-law`` (see ``setup_law.sh``) and ``benchmarks/`` on
``PYTHONPATH``. Outputs go below ``$BENCH_DIR/law`` (default: ``benchmarks/work/law``).
"""

import os

import law
import luigi

HERE = os.path.dirname(os.path.abspath(__file__))


def bench_dir():
    """Scratch directory of the benchmarks, ``$BENCH_DIR`` or ``benchmarks/work``."""
    return os.path.abspath(os.environ.get("BENCH_DIR") or os.path.join(HERE, "work"))


class Trivial(law.LocalWorkflow):
    """n branches that each dump ``{"branch": b}`` to a json file."""

    n = luigi.IntParameter(default=2000)

    def create_branch_map(self):
        return list(range(self.n))

    def output(self):
        return law.LocalFileTarget(
            os.path.join(bench_dir(), "law", f"trivial_{self.n}", f"out_{self.branch}.json")
        )

    def run(self):
        self.output().dump({"branch": self.branch})


class Status(law.LocalWorkflow):
    """Like Trivial, but used for ``--print-status 1`` with half of the outputs present."""

    n = luigi.IntParameter(default=20000)

    def create_branch_map(self):
        return list(range(self.n))

    def output(self):
        return law.LocalFileTarget(
            os.path.join(bench_dir(), "law", f"status_{self.n}", f"out_{self.branch}.json")
        )

    def run(self):
        self.output().dump({"branch": self.branch})
