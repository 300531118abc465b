"""The analysis shape of issue 13, law-core against law 0.1.21 in the same run.

Per dataset x shift: a workflow ``Select`` (one branch per input file), a workflow ``Histogram``
whose branch i requires ``Select`` branch i and whose ``workflow_requires()`` is the ``Select``
workflow, a task ``Merge`` reading the whole ``Histogram`` workflow; one ``Plot`` requires every
``Merge``. Every task writes a small JSON. Each system runs ``Plot`` with ``--workers``
(default 1) from a clean output directory in a fresh process (wall time, peak RSS), the
outputs are counted and checked, then ``--print-status -1`` on the complete tree is timed.
``--disable-plugins provenance,report`` measures the core without the plugins that record
every task; ``--work-ms`` makes each ``Select`` branch compute (to see what ``--workers``
gains). Usage::

    .venv/bin/python benchmarks/analysis_shape.py --datasets 4 --shifts 5 --files 100
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

# CPU time each Select branch spends before writing (--work-ms), the same in both systems
SPIN = """import time
def spin(ms):
    end = time.process_time() + ms / 1000
    while time.process_time() < end:
        pass
"""

# The task modules; __SIZES__ becomes DATASETS, SHIFTS and FILES. Both define the same tasks,
# each in its system's own idiom (law-core: local_target below the store; law: explicit paths).
CORE_MODULE = '''import luigi
import law_core as law
__SIZES__

class Select(law.LocalWorkflow):
    dataset, shift, files = luigi.Parameter(), luigi.Parameter(), luigi.IntParameter(default=FILES)
    def create_branch_map(self): return self.files
    def output(self): return self.local_target(self.dataset, self.shift, f"sel_{self.branch}.json")
    def run(self):
        spin(WORK_MS)
        self.output().dump({"file": self.branch, "events": 10})

class Histogram(law.LocalWorkflow):
    dataset, shift, files = luigi.Parameter(), luigi.Parameter(), luigi.IntParameter(default=FILES)
    def create_branch_map(self): return self.files
    def workflow_requires(self): return {"select": Select.req(self)}
    def requires(self): return Select.req(self)
    def output(self): return self.local_target(self.dataset, self.shift, f"hist_{self.branch}.json")
    def run(self): self.output().dump({"entries": self.input().load()["events"]})

class Merge(law.Task):
    dataset, shift, files = luigi.Parameter(), luigi.Parameter(), luigi.IntParameter(default=FILES)
    def requires(self): return Histogram.req(self)
    def output(self): return self.local_target(self.dataset, self.shift, "merged.json")
    def run(self):
        targets = self.input()["collection"].targets.values()
        self.output().dump({"entries": sum(t.load()["entries"] for t in targets)})

class Plot(law.Task):
    files = luigi.IntParameter(default=FILES)
    def requires(self):
        return [Merge.req(self, dataset=d, shift=s) for d in DATASETS for s in SHIFTS]
    def output(self): return self.local_target("plot.json")
    def run(self): self.output().dump({"entries": sum(t.load()["entries"] for t in self.input())})
'''
LAW_MODULE = '''import os
import law
import luigi
__SIZES__
def out(*parts): return law.LocalFileTarget(os.path.join(os.path.abspath("data"), *parts))

class Select(law.LocalWorkflow):
    dataset, shift, files = luigi.Parameter(), luigi.Parameter(), luigi.IntParameter(default=FILES)
    def create_branch_map(self): return list(range(self.files))
    def output(self): return out("Select", self.dataset, self.shift, f"sel_{self.branch}.json")
    def run(self):
        spin(WORK_MS)
        self.output().dump({"file": self.branch, "events": 10})

class Histogram(law.LocalWorkflow):
    dataset, shift, files = luigi.Parameter(), luigi.Parameter(), luigi.IntParameter(default=FILES)
    def create_branch_map(self): return list(range(self.files))
    def workflow_requires(self):
        reqs = super().workflow_requires()
        reqs["select"] = Select.req(self)
        return reqs
    def requires(self): return Select.req(self)
    def output(self): return out("Histogram", self.dataset, self.shift, f"hist_{self.branch}.json")
    def run(self): self.output().dump({"entries": self.input().load()["events"]})

class Merge(law.Task):
    dataset, shift, files = luigi.Parameter(), luigi.Parameter(), luigi.IntParameter(default=FILES)
    def requires(self): return Histogram.req(self)
    def output(self): return out("Merge", self.dataset, self.shift, "merged.json")
    def run(self):
        targets = self.input()["collection"].targets.values()
        self.output().dump({"entries": sum(t.load()["entries"] for t in targets)})

class Plot(law.Task):
    files = luigi.IntParameter(default=FILES)
    def requires(self):
        return [Merge.req(self, dataset=d, shift=s) for d in DATASETS for s in SHIFTS]
    def output(self): return out("Plot", "plot.json")
    def run(self): self.output().dump({"entries": sum(t.load()["entries"] for t in self.input())})
'''


def measure(cmd: list[str], env: dict[str, str], cwd: Path, log: Path) -> tuple[float, float]:
    """Runs *cmd* as a fresh process; its wall time (s) and peak RSS (MB, from the rusage of
    this one child and the children it waited for, by ``os.wait4``); raises on a non-zero exit."""
    with log.open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        raise RuntimeError(f"exit code {os.waitstatus_to_exitcode(status)} of {shlex.join(cmd)}"
                           f"; log {log}:\n{tail}")
    return wall, usage.ru_maxrss / 1024  # Linux: KiB


def count_outputs(data: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(data)) if data.is_dir() else 0


def bench(name: str, cmd: list[str], env: dict[str, str], run_dir: Path, args) -> dict:
    """Runs Plot from a clean *run_dir*, checks the outputs, then times --print-status -1."""
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    log_dir = run_dir.parent / "logs" / run_dir.name
    log_dir.mkdir(parents=True, exist_ok=True)
    d, s, f = args.datasets, args.shifts, args.files
    expected = d * s * (2 * f + 1) + 1  # Select and Histogram branches, Merges, Plot
    run_cmd = [*cmd, "--workers", str(args.workers)]
    print(f"[{name}] {shlex.join(run_cmd)}", flush=True)
    wall, rss = measure(run_cmd, env, run_dir, log_dir / "run.log")
    found = count_outputs(run_dir / "data")
    if found != expected:
        raise RuntimeError(f"{found} of {expected} outputs in {run_dir / 'data'} after the run; "
                           f"log {log_dir / 'run.log'}")
    plot = run_dir / "data" / "Plot" / "plot.json"
    if json.loads(plot.read_text()) != {"entries": d * s * f * 10}:  # 10 events per file
        raise RuntimeError(f"unexpected content of {plot}: {plot.read_text()!r}")
    status_cmd = [*cmd, "--print-status", "-1"]
    print(f"[{name}] {shlex.join(status_cmd)}", flush=True)
    status_wall, _ = measure(status_cmd, env, run_dir, log_dir / "status.log")
    if count_outputs(run_dir / "data") != expected:
        raise RuntimeError(f"--print-status changed the outputs in {run_dir / 'data'}")
    return {"tasks": expected, "wall": wall, "rss": rss, "status": status_wall,
            "run_cmd": run_cmd, "status_cmd": status_cmd}


def base_env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(tmp), PYTHONUNBUFFERED="1")
    # as the other benchmarks are run (README): otherwise every process compiles anew
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("VIRTUAL_ENV", None)
    return env


def law_core_cmd(tmp: Path, args) -> tuple[list[str], dict[str, str]]:
    exe = REPO / ".venv" / "bin" / "law-core"
    prefix = [str(exe)] if exe.exists() else [sys.executable, "-m", "law_core"]
    cfg = tmp / "law-core.cfg"  # the default store "data" below the cwd; no user config
    cfg.write_text("[target]\nstore = data\n")
    env = dict(base_env(tmp), LAW_CORE_CONFIG=str(cfg))
    env.pop("LAW_CORE_DISABLE_PLUGINS", None)
    if args.disable_plugins:
        env["LAW_CORE_DISABLE_PLUGINS"] = args.disable_plugins
    return [*prefix, "run", "analysis_core.Plot"], env


def law_cmd(tmp: Path, args) -> tuple[list[str], dict[str, str]]:
    exe = args.law_venv / "bin" / "law"
    if not exe.exists():
        raise RuntimeError(f"no law at {exe}: run 'bash benchmarks/setup_law.sh' or --law-venv")
    (tmp / "law_home").mkdir()
    (tmp / "law.cfg").write_text("[modules]\n\nanalysis_law\n")
    env = dict(base_env(tmp), LAW_HOME=str(tmp / "law_home"), LAW_CONFIG_FILE=str(tmp / "law.cfg"))
    env.pop("LAW_INDEX_FILE", None)
    subprocess.run([str(exe), "index", "--verbose"], env=env, cwd=tmp, check=True,
                   stdout=subprocess.DEVNULL)  # "law run Plot" finds Plot in this index
    return [str(exe), "run", "Plot", "--local-scheduler"], env


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", type=int, default=4)
    p.add_argument("--shifts", type=int, default=5)
    p.add_argument("--files", type=int, default=100, help="input files (branches) per workflow")
    p.add_argument("--skip-law", action="store_true", help="measure law-core only")
    p.add_argument("--workers", type=int, default=1, help="--workers of both runs")
    p.add_argument("--work-ms", type=float, default=0,
                   help="CPU milliseconds each Select branch computes (default 0: trivial)")
    p.add_argument("--disable-plugins", default="", metavar="A,B",
                   help="law-core plugins to leave out (LAW_CORE_DISABLE_PLUGINS), e.g. "
                   "provenance,report: the core as 'pip install law-core' gives it")
    p.add_argument("--law-venv", type=Path, default=HERE / ".venv-law")
    p.add_argument("--bench-dir", type=Path, default=HERE / "work" / "analysis_shape")
    args = p.parse_args(argv)
    sizes = (f"DATASETS = {[f'd{i}' for i in range(args.datasets)]}\n"
             f"SHIFTS = {[f's{i}' for i in range(args.shifts)]}\nFILES = {args.files}\n"
             f"WORK_MS = {args.work_ms}\n{SPIN}")
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="law-shape-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "analysis_core.py").write_text(CORE_MODULE.replace("__SIZES__", sizes))
        (tmp / "analysis_law.py").write_text(LAW_MODULE.replace("__SIZES__", sizes))
        try:
            systems = {"law-core": law_core_cmd(tmp, args)}
            if not args.skip_law:
                systems["law 0.1.21"] = law_cmd(tmp, args)
            for name, (cmd, env) in systems.items():  # one after the other, never in parallel
                run_dir = args.bench_dir.resolve() / name.split()[0]
                results[name] = bench(name, cmd, env, run_dir, args)
        except (RuntimeError, subprocess.CalledProcessError) as err:
            print(f"FAILED: {err}", file=sys.stderr)
            return 1
    work = f", {args.work_ms:g} ms of CPU per Select branch" if args.work_ms else ""
    print(f"\n{args.datasets} datasets x {args.shifts} shifts x {args.files} files{work}\n")
    rows = [("system", "tasks", "run wall", "tasks/s", "peak RSS", "--print-status -1")]
    for name, r in results.items():
        rows.append((name, str(r["tasks"]), f"{r['wall']:.2f} s", f"{r['tasks'] / r['wall']:.0f}",
                     f"{r['rss']:.0f} MB", f"{r['status']:.2f} s"))
    if len(results) == 2:
        core, law = results["law-core"], results["law 0.1.21"]
        rows.append(("law/law-core", "", f"{law['wall'] / core['wall']:.1f}x", "", "",
                     f"{law['status'] / core['status']:.1f}x"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    print(f"\ncommand: .venv/bin/python benchmarks/analysis_shape.py {shlex.join(sys.argv[1:])}")
    for name, r in results.items():
        print(f"{name}: {shlex.join(r['run_cmd'])}\n{name}: {shlex.join(r['status_cmd'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
