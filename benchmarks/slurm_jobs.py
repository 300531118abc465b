"""Slurm submission and polling: law-core against law 0.1.21 in the same run.

Usage (as root, with the Debian packages slurm-wlm and munge installed)::

    bash benchmarks/setup_law.sh                 # once: law 0.1.21 in benchmarks/.venv-law
    .venv/bin/python benchmarks/slurm_jobs.py [--jobs 1000]

It starts a one-node test cluster (``law_core.testing.slurm``) whose partition is set
DOWN, so that submitted jobs stay pending: nothing runs, the machine stays quiet, and a
poll sees all jobs active. Measured:

- ``submit``: wall time of the command that submits N single-branch jobs and returns
  (``--no-poll``), for both systems;
- ``poll``: the number of squeue calls (and wall time) of one status poll of the N active
  jobs by law-core (a resumed run with ``--no-poll`` polls exactly once), counted by a
  ``squeue`` on PATH that logs each call and runs the real one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

LAW_CORE_TASKS = '''
import luigi
import law_core as law


class SlurmBench(law.Workflow):
    n = luigi.IntParameter(default=1000)

    def create_branch_map(self):
        return self.n

    def output(self):
        return self.local_target(f"out_{self.branch}.json")

    def run(self):
        self.output().dump({"branch": self.branch})
'''

LAW_TASKS = '''
import os

import luigi
import law

law.contrib.load("slurm")


class SlurmBench(law.slurm.SlurmWorkflow):
    n = luigi.IntParameter(default=1000)

    def create_branch_map(self):
        return {i: i for i in range(self.n)}

    def output(self):
        out = os.environ["BENCH_OUT"]
        return law.LocalFileTarget(os.path.join(out, f"out_{self.branch}.json"))

    def slurm_output_directory(self):
        return law.LocalDirectoryTarget(os.path.join(os.environ["BENCH_OUT"], "jobs"))

    def run(self):
        self.output().dump({"branch": self.branch})
'''


def timed(args: list[str], cwd: Path, env: dict[str, str]
          ) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=3600)
    return time.perf_counter() - start, result


def check(result: subprocess.CompletedProcess, what: str) -> None:
    if result.returncode != 0:
        sys.exit(f"{what} failed ({result.returncode}):\n{result.stdout[-2000:]}\n"
                 f"{result.stderr[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--max-array-size", type=int, default=101,
                        help="the test cluster's MaxArraySize (default 101, as many sites)")
    parser.add_argument("--law-venv", default=str(HERE / ".venv-law"))
    parser.add_argument("--skip-law", action="store_true", help="measure law-core only")
    args = parser.parse_args()

    from law_core.testing.slurm import slurm_cluster

    now = dt.datetime.now(dt.timezone.utc)
    print(f"Slurm benchmark, {args.jobs} single-branch jobs, {now:%Y-%m-%d %H:%M} UTC")
    with tempfile.TemporaryDirectory(prefix="law-core-slurm-bench-") as tmp_name:
        tmp = Path(tmp_name)
        with slurm_cluster(tmp / "cluster", max_array_size=args.max_array_size) as cluster:
            cluster.run("scontrol", "update", f"PartitionName={cluster.partition}", "State=DOWN")
            results = {}

            # law-core: submit
            work = tmp / "law_core"
            work.mkdir()
            (work / "bench_slurm.py").write_text(LAW_CORE_TASKS)
            env = {k: v for k, v in os.environ.items() if not k.startswith("LAW_CORE")}
            env.update(SLURM_CONF=cluster.env["SLURM_CONF"], PYTHONPATH=str(work))
            law_core = [sys.executable, "-m", "law_core", "run", "bench_slurm.SlurmBench",
                        "--n", str(args.jobs), "--workflow", "slurm", "--no-poll"]
            seconds, result = timed(law_core, work, env)
            check(result, "law-core submission")
            results["law-core submit"] = seconds
            pending = cluster.run("squeue", "--noheader", "--array", "--format=%i").stdout
            submitted = len(pending.split())
            arrays = len(list(work.glob("data/SlurmBench/jobs/*/batch_*.sh")))
            print(f"law-core: submitted {submitted} jobs in {arrays} arrays "
                  f"(MaxArraySize={args.max_array_size}) in {seconds:.2f} s")

            # law-core: one poll of all active jobs, squeue calls counted
            shim = tmp / "shim"
            shim.mkdir()
            calls = tmp / "squeue_calls"
            real = shutil.which("squeue")
            (shim / "squeue").write_text(textwrap.dedent(f"""\
                #!/bin/sh
                echo "$*" >> {calls}
                exec {real} "$@"
            """))
            (shim / "squeue").chmod(0o755)
            poll_env = dict(env, PATH=f"{shim}:{env.get('PATH', '')}")
            seconds, result = timed(law_core, work, poll_env)
            check(result, "law-core poll")
            n_calls = len(calls.read_text().splitlines()) if calls.exists() else 0
            results["law-core poll"] = seconds
            print(f"law-core: one poll of {submitted} active jobs: {n_calls} squeue call(s), "
                  f"{seconds:.2f} s for the whole command")
            cluster.run("scancel", "--quiet", "--partition", cluster.partition)

            # law 0.1.21: submit
            if not args.skip_law:
                law_bin = Path(args.law_venv) / "bin" / "law"
                if not law_bin.exists():
                    sys.exit(f"{law_bin} is missing: run bash benchmarks/setup_law.sh")
                old = tmp / "law"
                (old / "home").mkdir(parents=True)
                (old / "bench_slurm_law.py").write_text(LAW_TASKS)
                (old / "law.cfg").write_text("[modules]\nbench_slurm_law\n")
                law_env = {k: v for k, v in os.environ.items() if not k.startswith("LAW")}
                law_env.update(SLURM_CONF=cluster.env["SLURM_CONF"], PYTHONPATH=str(old),
                               LAW_HOME=str(old / "home"), LAW_CONFIG_FILE=str(old / "law.cfg"),
                               BENCH_OUT=str(old / "out"),
                               PATH=f"{law_bin.parent}:{os.environ.get('PATH', '')}")
                check(subprocess.run([str(law_bin), "index"], cwd=old, env=law_env,
                                     capture_output=True, text=True), "law index")
                seconds, result = timed([str(law_bin), "run", "SlurmBench", "--n", str(args.jobs),
                                         "--workflow", "slurm", "--no-poll", "--local-scheduler"],
                                        old, law_env)
                check(result, "law submission")
                pending = cluster.run("squeue", "--noheader", "--array", "--format=%i").stdout
                results["law submit"] = seconds
                print(f"law 0.1.21: submitted {len(pending.split())} jobs in {seconds:.2f} s")
                cluster.run("scancel", "--quiet", "--partition", cluster.partition)
                ratio = results["law submit"] / results["law-core submit"]
                print(f"submission: law-core {ratio:.1f}x faster than law 0.1.21")

    goal_submit = results["law-core submit"] < 1.0
    print(f"goal submit < 1 s: {'met' if goal_submit else 'NOT met'}; "
          f"goal poll <= 2 squeue calls: {'met' if n_calls <= 2 else 'NOT met'}")


if __name__ == "__main__":
    main()
