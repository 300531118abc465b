"""``--print-status`` of a workflow whose outputs are on remote storage, with and without the
existence cache, on a real XRootD server on loopback (law-core-gfal).

Usage::

    .venv/bin/python benchmarks/remote_status.py --branches 100000

It starts its own server (``law_core.testing.services.XRootDServer``; as root it runs as
``nobody``), puts the outputs of a ``--branches`` workflow (every branch complete, 1000 files
per directory) straight into the server's data directory, and times, each as a fresh
``law-core run W --print-status 0`` process:

- ``storage``: the existence cache off (``exists_cache_lifetime = 0``): one listing per directory;
- ``cold``: the cache on and empty (the same listings, which fill it);
- ``cached``: the cache on and filled: no request;
- ``refresh``: the cache on, ``--refresh``: the listings again;
- ``local``: the same workflow with its outputs on the local disk, for the cost of building the
  workflow and its output targets alone.

The whole command is timed (interpreter start, imports, branch map, every branch's
``output()``); ``count`` is the part that answers existence, measured in-process with the
cache filled. Prints a table and writes ``benchmarks/remote_status.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

MODULE = """
import law_core as law


class Produce(law.LocalWorkflow):
    def create_branch_map(self):
        return {{i: i for i in range({branches})}}

    def output(self):
        return self.target(f"d{{self.branch // 1000:04d}}/out_{{self.branch}}.json")

    def run(self):
        self.output().dump({{"branch": self.branch}})
"""


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stderr[-2000:]}")
    return wall, result.stdout + result.stderr


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--branches", type=int, default=100_000)
    p.add_argument("--repeat", type=int, default=3, help="runs per mode (median)")
    p.add_argument("--json", type=Path, default=HERE / "remote_status.json")
    args = p.parse_args(argv)

    from law_core.testing.services import xrootd_server

    root = Path(tempfile.mkdtemp(prefix="law-core-status-bench-"))
    os.chmod(root, 0o755)
    results: dict[str, float] = {}
    try:
        with xrootd_server(root) as url:
            server = url.server
            work = root / "work"
            work.mkdir()
            (work / "status_bench.py").write_text(MODULE.format(branches=args.branches))
            data = server.data / "bench" / "Produce"
            for i in range(args.branches):
                d = data / f"d{i // 1000:04d}"
                if i % 1000 == 0:
                    d.mkdir(parents=True, exist_ok=True)
                (d / f"out_{i}.json").write_text("{}")
            if os.getuid() == 0:  # the server runs as nobody, who writes nothing here
                for path in (server.data / "bench", *server.data.joinpath("bench").rglob("*")):
                    shutil.chown(path, "nobody")
            local = work / "local"
            shutil.copytree(data, local / "Produce")
            exe = REPO / ".venv" / "bin" / "law-core"
            cmd = [str(exe), "run", "status_bench.Produce", "--print-status", "0"]

            def config(lifetime: str, store: str) -> dict[str, str]:
                where = "remote" if store.startswith("fs.") else "local"
                cfg = work / f"law-{lifetime}-{where}.cfg"
                cfg.write_text(f"[target]\nstore = {store}\n\n[fs.grid]\nbase = {url}\n"
                               f"exists_cache_lifetime = {lifetime}\n"
                               f"cache_root = {work / 'cache'}\n")
                env = dict(os.environ, PYTHONPATH=str(work), LAW_CORE_CONFIG=str(cfg))
                env.pop("PYTHONDONTWRITEBYTECODE", None)
                return env

            def median(mode: str, env: dict[str, str], extra: list[str] = (),
                       before: object = None) -> None:
                walls = []
                for _ in range(args.repeat):
                    if before:
                        before()
                    wall, out = timed([*cmd, *extra], env, work)
                    expected = f"({args.branches}/{args.branches})"
                    if expected not in out:
                        raise RuntimeError(f"{mode}: status is not complete:\n{out[-1500:]}")
                    walls.append(wall)
                results[mode] = sorted(walls)[len(walls) // 2]
                print(f"{mode:8s} {results[mode]:7.2f} s  (runs: "
                      f"{', '.join(f'{w:.2f}' for w in walls)})", flush=True)

            remote_off = config("0", "fs.grid:/bench")
            remote_on = config("2h", "fs.grid:/bench")
            median("local", config("0", str(local)))
            median("storage", remote_off)
            median("cold", remote_on,
                   before=lambda: shutil.rmtree(work / "cache", ignore_errors=True))
            median("cached", remote_on)
            median("refresh", remote_on, ["--refresh"])

            # the existence answer alone, in this process, from the filled cache
            os.environ.update(LAW_CORE_CONFIG=remote_on["LAW_CORE_CONFIG"])
            sys.path.insert(0, str(work))
            from law_core.config import reset_config

            reset_config()
            import status_bench

            collection = status_bench.Produce().output_collection()
            start = time.perf_counter()
            counted = collection.count()
            results["count"] = time.perf_counter() - start
            assert counted == (args.branches, args.branches), counted
            print(f"count    {results['count']:7.3f} s  (in-process, cache filled)")
    finally:
        shutil.rmtree(root, ignore_errors=True)

    record = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cores",
        "python": platform.python_version(),
        "branches": args.branches,
        "seconds": results,
        "command": " ".join([".venv/bin/python", "benchmarks/remote_status.py",
                             *(argv if argv is not None else sys.argv[1:])]),
    }
    args.json.write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
