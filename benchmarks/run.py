"""Benchmarks of law-core against law 0.1.21, both measured in the same run.

Usage::

    bash benchmarks/setup_law.sh            # once: law 0.1.21 in benchmarks/.venv-law
    .venv/bin/python benchmarks/run.py      # all benchmarks, both systems
    .venv/bin/python benchmarks/run.py --only help --only complete --system law

Benchmarks (see README.md): ``help``, ``trivial``, ``status``, ``complete``. Every measurement is
a fresh subprocess timed from start to exit. Scratch data goes to ``$BENCH_DIR`` (default
``benchmarks/work/``); the data of a benchmark is removed before it is measured. Results are
printed as a table and merged into ``benchmarks/results.json`` (entries of benchmarks and systems
not measured in this run are kept from the previous file, each entry carries its date).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

BENCHMARKS = ("help", "trivial", "status", "complete")
SYSTEMS = ("law", "law-core")
LAW_VERSION = "0.1.21"

# goals of law-core, checked against the figures of the same run
GOAL_TEXT = {
    "help": "law-core < 0.5 x law",
    "trivial": "law-core >= 50 x law branches/s",
    "status": "law-core < 2 s",
    "complete": "law-core < 0.3 s",
}

# output data directory of each system below $BENCH_DIR (also used by the task modules)
DATA_SUBDIR = {"law": "law", "law-core": "law_core"}


class BenchError(RuntimeError):
    """A measurement that could not be done or whose result is wrong."""


@dataclass
class System:
    """How to call one of the two command line tools."""

    name: str
    exe: Path
    env: dict[str, str]
    cwd: Path
    run_prefix: list[str]  # "run" plus how the task is named, without the task name
    run_extra: list[str]  # options that every "run" gets (e.g. the workflow type)
    log_dir: Path

    def task_cmd(self, task: str, *args: str) -> list[str]:
        return [str(self.exe), *self.run_prefix, self.task_name(task), *self.run_extra, *args]

    def task_name(self, task: str) -> str:
        return task if self.name == "law" else f"law_core_tasks.{task}"

    def data_dir(self, bench_dir: Path, kind: str, n: int) -> Path:
        return bench_dir / DATA_SUBDIR[self.name] / f"{kind}_{n}"


@dataclass
class Measurement:
    """The figures of one benchmark for one system."""

    benchmark: str
    system: str
    command: str
    wall_s: float | None = None
    samples_s: list[float] = field(default_factory=list)
    extra: dict[str, object] = field(default_factory=dict)
    error: str | None = None
    log: str | None = None
    measured_at: str = field(
        default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    )


def timed(cmd: list[str], system: System, log: Path | None) -> tuple[float, int]:
    """Runs *cmd* in a fresh process and returns its wall time and exit code."""
    if log is None:
        out = subprocess.DEVNULL
    else:
        log.parent.mkdir(parents=True, exist_ok=True)
        out = log.open("wb")
    try:
        start = time.perf_counter()
        proc = subprocess.run(
            cmd, cwd=system.cwd, env=system.env, stdout=out, stderr=subprocess.STDOUT, check=False
        )
        wall = time.perf_counter() - start
    finally:
        if log is not None:
            out.close()
    return wall, proc.returncode


def show(cmd: list[str]) -> str:
    """The command as a shell string, with executables inside the repository relative to it."""
    parts = []
    for part in cmd:
        path = Path(part)
        if path.is_absolute() and path.is_relative_to(REPO):
            part = str(path.relative_to(REPO))
        parts.append(part)
    return shlex.join(parts)


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def run_checked(cmd: list[str], system: System, log: Path) -> float:
    wall, rc = timed(cmd, system, log)
    if rc != 0:
        raise BenchError(f"exit code {rc} of {show(cmd)}; log {log}:\n{tail(log)}")
    return wall


def count_outputs(path: Path) -> int:
    if not path.is_dir():
        return 0
    with os.scandir(path) as entries:
        return sum(1 for e in entries if e.name.startswith("out_") and e.name.endswith(".json"))


def clean(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)


# -- benchmarks -------------------------------------------------------------------------------


def bench_help(system: System, args: argparse.Namespace) -> Measurement:
    cmd = [str(system.exe), "--help"]
    m = Measurement("help", system.name, show(cmd))
    # one unmeasured call so that both start from warm OS caches and bytecode
    run_checked(cmd, system, system.log_dir / "help.log")
    for _ in range(args.repeat_help):
        wall, rc = timed(cmd, system, None)
        if rc != 0:
            raise BenchError(f"exit code {rc} of {m.command}")
        m.samples_s.append(wall)
    m.wall_s = statistics.median(m.samples_s)
    m.extra["runs"] = args.repeat_help
    m.extra["min_s"] = min(m.samples_s)
    return m


def run_trivial(system: System, args: argparse.Namespace, log: Path) -> tuple[str, float]:
    """Runs Trivial from a clean output directory; returns the command and its wall time."""
    n = args.n_trivial
    out_dir = system.data_dir(args.bench_dir, "trivial", n)
    clean(out_dir)
    cmd = system.task_cmd("Trivial", "--n", str(n), "--workers", "1")
    wall = run_checked(cmd, system, log)
    found = count_outputs(out_dir)
    if found != n:
        raise BenchError(f"{found} of {n} outputs in {out_dir} after {show(cmd)}; log {log}")
    first = json.loads((out_dir / "out_0.json").read_text())
    if first != {"branch": 0}:
        raise BenchError(f"unexpected content of {out_dir / 'out_0.json'}: {first!r}")
    return show(cmd), wall


def bench_trivial(system: System, args: argparse.Namespace) -> Measurement:
    log = system.log_dir / "trivial.log"
    command, wall = run_trivial(system, args, log)
    m = Measurement("trivial", system.name, command, wall_s=wall, samples_s=[wall], log=str(log))
    m.extra["branches"] = args.n_trivial
    m.extra["branches_per_s"] = args.n_trivial / wall
    return m


def bench_status(system: System, args: argparse.Namespace) -> Measurement:
    n = args.n_status_law if system.name == "law" else args.n_status_law_core
    out_dir = system.data_dir(args.bench_dir, "status", n)
    clean(out_dir)
    out_dir.mkdir(parents=True)
    for b in range(0, n, 2):  # half of the outputs: the even branches
        (out_dir / f"out_{b}.json").write_text(json.dumps({"branch": b}))
    present = count_outputs(out_dir)

    log = system.log_dir / "status.log"
    cmd = system.task_cmd("Status", "--n", str(n), "--print-status", "1")
    m = Measurement("status", system.name, show(cmd), log=str(log))
    m.wall_s = run_checked(cmd, system, log)
    m.samples_s = [m.wall_s]
    if count_outputs(out_dir) != present:
        raise BenchError(f"--print-status changed the outputs in {out_dir}; log {log}")
    m.extra["branches"] = n
    m.extra["outputs_present"] = present
    m.extra["output_tail"] = tail(log, 6)
    return m


def bench_complete(system: System, args: argparse.Namespace) -> Measurement:
    n = args.n_trivial
    out_dir = system.data_dir(args.bench_dir, "trivial", n)
    m = Measurement("complete", system.name, "")
    if count_outputs(out_dir) != n:
        # Trivial has not completed in this run: complete it first (not measured)
        print(f"  [{system.name}] complete: running Trivial --n {n} first (not measured)")
        run_trivial(system, args, system.log_dir / "complete_prepare.log")
        m.extra["prepared_by_extra_run"] = True
    cmd = system.task_cmd("Trivial", "--n", str(n), "--workers", "1")
    m.command = show(cmd)
    log = system.log_dir / "complete.log"
    m.log = str(log)
    for _ in range(args.repeat_complete):
        m.samples_s.append(run_checked(cmd, system, log))
        if count_outputs(out_dir) != n:
            raise BenchError(f"outputs in {out_dir} changed by {m.command}; log {log}")
    m.wall_s = statistics.median(m.samples_s)
    m.extra["branches"] = n
    m.extra["runs"] = args.repeat_complete
    m.extra["min_s"] = min(m.samples_s)
    return m


BENCH_FUNCS = {
    "help": bench_help,
    "trivial": bench_trivial,
    "status": bench_status,
    "complete": bench_complete,
}


# -- systems ----------------------------------------------------------------------------------


def base_env(args: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ)
    env["BENCH_DIR"] = str(args.bench_dir)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("VIRTUAL_ENV", None)
    return env


def setup_law(args: argparse.Namespace, tmp: Path) -> System:
    exe = args.law_venv / "bin" / "law"
    if not exe.exists():
        raise BenchError(
            f"law not found at {exe}: run 'bash benchmarks/setup_law.sh' or pass --law-venv"
        )
    law_home = tmp / "law_home"
    law_home.mkdir()
    cfg = tmp / "law.cfg"
    cfg.write_text("[modules]\n\nlaw_tasks\n")
    env = base_env(args)
    env["LAW_HOME"] = str(law_home)
    env["LAW_CONFIG_FILE"] = str(cfg)
    env.pop("LAW_INDEX_FILE", None)
    system = System(
        name="law",
        exe=exe,
        env=env,
        cwd=args.bench_dir,
        run_prefix=["run"],
        run_extra=["--workflow", "local", "--local-scheduler"],
        log_dir=args.bench_dir / "logs" / "law",
    )
    # law looks up "law run <TaskFamily>" in its index file, which "law index" writes
    index_cmd = [str(exe), "index", "--verbose"]
    wall = run_checked(index_cmd, system, system.log_dir / "index.log")
    print(f"  [law] {show(index_cmd)}: {wall:.2f} s (setup, not measured)")
    return system


def setup_law_core(args: argparse.Namespace) -> System:
    exe = args.law_core_bin
    if exe is None:
        default = REPO / ".venv" / "bin" / "law-core"
        found = shutil.which("law-core")
        exe = default if default.exists() else Path(found) if found else default
    if not exe.exists():
        raise BenchError(
            f"law-core not found at {exe}: install law-core into /work/main/.venv "
            "('pip install -e .') or pass --law-core-bin"
        )
    return System(
        name="law-core",
        exe=exe,
        env=base_env(args),
        cwd=args.bench_dir,
        run_prefix=["run"],
        run_extra=[],
        log_dir=args.bench_dir / "logs" / "law_core",
    )


# -- reporting --------------------------------------------------------------------------------


def fmt_s(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} s"


def fmt_rate(value: object) -> str:
    return f"{value:.1f} br/s" if isinstance(value, int | float) else "-"


def goal_met(bench: str, law: Measurement | None, core: Measurement | None) -> str:
    if core is None or core.wall_s is None:
        return "n/a"
    if bench == "status":
        ok = core.wall_s < 2.0
    elif bench == "complete":
        ok = core.wall_s < 0.3
    elif law is None or law.wall_s is None:
        return "n/a"
    elif bench == "help":
        ok = core.wall_s < 0.5 * law.wall_s
    else:
        ok = core.extra["branches_per_s"] >= 50 * law.extra["branches_per_s"]
    return "yes" if ok else "NO"


def cell(bench: str, m: Measurement | None, metric: str) -> str:
    if m is None:
        return "-"
    if m.error:
        return "FAILED"
    if metric == "rate":
        return fmt_rate(m.extra.get("branches_per_s"))
    text = fmt_s(m.wall_s)
    if bench == "status":
        text += f" (n={m.extra['branches']})"
    return text


def ratio(law: Measurement | None, core: Measurement | None) -> str:
    if not (law and core and law.wall_s and core.wall_s) or law.error or core.error:
        return "-"
    return f"{law.wall_s / core.wall_s:.1f}x"


def rows(results: dict[str, dict[str, Measurement]]) -> list[list[str]]:
    header = ["benchmark", "metric", f"law {LAW_VERSION}", "law-core", "law/law-core"]
    table = [[*header, "goal", "met"]]
    for bench in BENCHMARKS:
        if bench not in results:
            continue
        law, core = results[bench].get("law"), results[bench].get("law-core")
        label = "median wall" if bench in ("help", "complete") else "wall"
        table.append(
            [
                bench,
                label,
                cell(bench, law, "wall"),
                cell(bench, core, "wall"),
                ratio(law, core),
                GOAL_TEXT[bench],
                goal_met(bench, law, core),
            ]
        )
        if bench == "trivial":
            table.append(
                ["", "branches/s", cell(bench, law, "rate"), cell(bench, core, "rate"), "", "", ""]
            )
    return table


def print_table(table: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    for i, row in enumerate(table):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def write_results(path: Path, results: dict[str, dict[str, Measurement]], fresh: bool) -> None:
    data: dict[str, object] = {}
    if path.exists() and not fresh:
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            data = {}
    benches = data.get("benchmarks")
    if not isinstance(benches, dict):
        benches = {}
    for bench, per_system in results.items():
        entry = benches.setdefault(bench, {})
        entry["goal"] = GOAL_TEXT[bench]
        for system, m in per_system.items():
            entry[system] = {k: v for k, v in vars(m).items() if k not in ("benchmark", "system")}
    data["benchmarks"] = benches
    data["machine"] = {
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
    }
    data["law_version"] = LAW_VERSION
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


# -- main -------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="benchmark(s) to run, repeatable or comma-separated: " + ", ".join(BENCHMARKS),
    )
    p.add_argument(
        "--system",
        choices=("both", *SYSTEMS),
        default="both",
        help="measure only one system (default: both)",
    )
    p.add_argument(
        "--law-venv",
        type=Path,
        default=HERE / ".venv-law",
        help="venv with law 0.1.21 (default: benchmarks/.venv-law)",
    )
    p.add_argument(
        "--law-core-bin",
        type=Path,
        default=None,
        help="law-core executable (default: .venv/bin/law-core, else on PATH)",
    )
    p.add_argument(
        "--bench-dir",
        type=Path,
        default=Path(os.environ.get("BENCH_DIR") or HERE / "work"),
        help="scratch directory (default: $BENCH_DIR or benchmarks/work)",
    )
    p.add_argument(
        "--results",
        type=Path,
        default=HERE / "results.json",
        help="results file (default: benchmarks/results.json)",
    )
    p.add_argument(
        "--fresh", action="store_true", help="overwrite the results file instead of merging into it"
    )
    p.add_argument("--repeat-help", type=int, default=10, help="runs of --help (median)")
    p.add_argument("--repeat-complete", type=int, default=5, help="runs of complete (median)")
    p.add_argument("--n-trivial", type=int, default=2000)
    p.add_argument("--n-status-law", type=int, default=20000)
    p.add_argument("--n-status-law-core", type=int, default=100000)
    args = p.parse_args(argv)

    only = [n.strip() for o in (args.only or []) for n in o.split(",") if n.strip()]
    unknown = sorted(set(only) - set(BENCHMARKS))
    if unknown:
        p.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    args.only = [b for b in BENCHMARKS if b in only] if only else list(BENCHMARKS)
    args.systems = list(SYSTEMS) if args.system == "both" else [args.system]
    args.bench_dir = args.bench_dir.resolve()
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.bench_dir.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    print(f"benchmarks {', '.join(args.only)} for {', '.join(args.systems)} ({started})")
    print(f"scratch dir {args.bench_dir}")

    results: dict[str, dict[str, Measurement]] = {}
    failed = False
    with tempfile.TemporaryDirectory(prefix="law-bench-") as tmp:
        systems: list[System] = []
        for name in args.systems:
            try:
                systems.append(
                    setup_law(args, Path(tmp)) if name == "law" else setup_law_core(args)
                )
            except BenchError as e:
                print(f"error: {e}", file=sys.stderr)
                return 2
        for bench in args.only:
            for system in systems:  # the systems one after the other, never in parallel
                print(f"  [{system.name}] {bench} ...", flush=True)
                try:
                    m = BENCH_FUNCS[bench](system, args)
                except BenchError as e:
                    failed = True
                    m = Measurement(bench, system.name, "", error=str(e))
                    print(f"  [{system.name}] {bench} FAILED: {e}", file=sys.stderr)
                else:
                    print(f"  [{system.name}] {bench}: {m.command}: {fmt_s(m.wall_s)}")
                results.setdefault(bench, {})[system.name] = m

    print()
    print_table(rows(results))
    write_results(args.results, results, args.fresh)
    print(f"\nresults written to {args.results}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
