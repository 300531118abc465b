"""Benchmark tasks for law-core, the same two workflows as ``law_tasks.py``.

Run with ``law-core run law_core_tasks.Trivial ...`` and ``benchmarks/`` importable (cwd or
``PYTHONPATH``). Outputs go below ``$BENCH_DIR/law_core`` (default: ``benchmarks/work/law_core``).
"""

import os

import luigi

import law_core as law

HERE = os.path.dirname(os.path.abspath(__file__))


def bench_dir():
    """Scratch directory of the benchmarks, ``$BENCH_DIR`` or ``benchmarks/work``."""
    return os.path.abspath(os.environ.get("BENCH_DIR") or os.path.join(HERE, "work"))


class Trivial(law.LocalWorkflow):
    """n branches that each dump ``{"branch": b}`` to a json file."""

    n = luigi.IntParameter(default=2000)

    def create_branch_map(self):
        return self.n  # an int means range(n)

    def output(self):
        return law.LocalFileTarget(
            os.path.join(bench_dir(), "law_core", f"trivial_{self.n}", f"out_{self.branch}.json")
        )

    def run(self):
        self.output().dump({"branch": self.branch})


class Status(law.LocalWorkflow):
    """Like Trivial, but used for ``--print-status 1`` with half of the outputs present."""

    n = luigi.IntParameter(default=100000)

    def create_branch_map(self):
        return self.n

    def output(self):
        return law.LocalFileTarget(
            os.path.join(bench_dir(), "law_core", f"status_{self.n}", f"out_{self.branch}.json")
        )

    def run(self):
        self.output().dump({"branch": self.branch})
