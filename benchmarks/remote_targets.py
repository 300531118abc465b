"""Benchmarks of remote targets on a real XRootD server on loopback (law-core-gfal).

Usage::

    .venv/bin/python benchmarks/remote_targets.py              # both benchmarks
    .venv/bin/python benchmarks/remote_targets.py --only copy --size 256MiB

It starts its own server (``law_core.testing.services.XRootDServer``; as root it runs as
``nobody``) in a temporary directory, and measures

- ``exists``: the existence of N files (default 10000, every second one present) through a
  ``SiblingFileCollection``: building the N targets and the collection and ``count()``,
  timed together, median of ``--repeat`` runs in this process. For scale, the same answer
  from N single ``exists()`` calls is measured once. Goal: under 0.5 s.
- ``copy``: copying a file of ``--size`` (default 1 GiB) of random bytes from local disk to
  the server, ``LocalFileTarget.copy_to(root://...)`` (atomic: upload under a temporary name,
  size check, rename) against ``xrdcp -f`` of the same file in the same run, alternating,
  ``--repeat`` times each; throughputs are compared by their medians. Goal: law-core at least
  80 % of xrdcp's throughput.

Prints a table, writes the figures to ``benchmarks/remote_targets.json`` (``--json``) and
exits 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXISTS_GOAL_S = 0.5
COPY_GOAL_RATIO = 0.8


def parse_size(text: str) -> int:
    units = {"": 1, "B": 1, "KIB": 1024, "MIB": 1024**2, "GIB": 1024**3, "KB": 1000,
             "MB": 1000**2, "GB": 1000**3}
    number = text.strip().rstrip("BbIiKkMmGg")
    unit = text.strip()[len(number):].upper()
    if unit not in units:
        raise argparse.ArgumentTypeError(f"unknown size unit in {text!r}")
    return int(float(number) * units[unit])


def bench_exists(server: object, n: int, repeat: int) -> dict[str, object]:
    from law_core_gfal.file_system import GFALFileSystem

    from law_core.targets.collection import SiblingFileCollection

    directory = server.data / "exists"  # type: ignore[attr-defined]
    directory.mkdir()
    for i in range(0, n, 2):
        (directory / f"out_{i}.json").write_text("{}")
    server.chown()  # type: ignore[attr-defined]
    url = server.url  # type: ignore[attr-defined]

    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fs = GFALFileSystem(url)
        collection = SiblingFileCollection(
            {i: fs.target(f"/exists/out_{i}.json") for i in range(n)})
        counted = collection.count()
        times.append(time.perf_counter() - start)
        if counted != ((n + 1) // 2, n):
            raise SystemExit(f"wrong count {counted}, expected {((n + 1) // 2, n)}")

    fs = GFALFileSystem(url)
    start = time.perf_counter()
    single = sum(fs.exists(f"/exists/out_{i}.json") for i in range(n))
    per_file = time.perf_counter() - start
    assert single == (n + 1) // 2
    median = statistics.median(times)
    return {
        "files": n, "present": (n + 1) // 2, "runs_s": [round(t, 4) for t in times],
        "median_s": round(median, 4), "one_stat_per_file_s": round(per_file, 3),
        "goal": f"< {EXISTS_GOAL_S} s", "met": median < EXISTS_GOAL_S,
    }


def bench_copy(server: object, work: Path, size: int, repeat: int) -> dict[str, object]:
    import law_core as law

    xrdcp = shutil.which("xrdcp")
    if xrdcp is None:
        raise SystemExit("xrdcp is not installed (Debian: apt-get install xrootd-client)")
    src = work / "source.bin"
    chunk = os.urandom(64 * 1024**2)
    with open(src, "wb") as f:
        written = 0
        while written < size:
            part = chunk[: size - written]
            f.write(part)
            written += len(part)
    url = server.url  # type: ignore[attr-defined]
    data = server.data  # type: ignore[attr-defined]
    (data / "copy").mkdir()
    server.chown()  # type: ignore[attr-defined]

    def run_xrdcp(i: int) -> float:
        dst = f"{url}copy/xrdcp_{i}.bin"
        start = time.perf_counter()
        subprocess.run([xrdcp, "-f", "-s", str(src), dst], check=True)
        elapsed = time.perf_counter() - start
        assert (data / "copy" / f"xrdcp_{i}.bin").stat().st_size == size
        (data / "copy" / f"xrdcp_{i}.bin").unlink()
        return elapsed

    def run_law_core(i: int) -> float:
        source = law.LocalFileTarget(str(src))
        start = time.perf_counter()
        source.copy_to(law.target(f"{url}copy/law_core_{i}.bin"))
        elapsed = time.perf_counter() - start
        assert (data / "copy" / f"law_core_{i}.bin").stat().st_size == size
        (data / "copy" / f"law_core_{i}.bin").unlink()
        return elapsed

    run_xrdcp(-1)  # warm-up, unmeasured: the source in the page cache, the server started
    times: dict[str, list[float]] = {"xrdcp": [], "law-core": []}
    for i in range(repeat):
        order = (("xrdcp", run_xrdcp), ("law-core", run_law_core))
        for name, func in order if i % 2 == 0 else reversed(order):
            times[name].append(func(i))
    src.unlink()
    mb = size / 1e6
    result: dict[str, object] = {"bytes": size}
    for name, values in times.items():
        median = statistics.median(values)
        result[name] = {"runs_s": [round(t, 3) for t in values], "median_s": round(median, 3),
                        "MB_per_s": round(mb / median, 1)}
    ratio = statistics.median(times["xrdcp"]) / statistics.median(times["law-core"])
    result.update(ratio=round(ratio, 3), goal=f">= {COPY_GOAL_RATIO:.0%} of xrdcp",
                  met=ratio >= COPY_GOAL_RATIO)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", choices=("exists", "copy"))
    parser.add_argument("--files", type=int, default=10000)
    parser.add_argument("--size", type=parse_size, default=1024**3, help="default 1GiB")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tmp-dir", default=None,
                        help="where the server's directory goes (default: the system's)")
    parser.add_argument("--json", default=str(HERE / "remote_targets.json"))
    args = parser.parse_args()
    only = set(args.only or ("exists", "copy"))

    from law_core.testing.services import XRootDServer

    root = Path(tempfile.mkdtemp(prefix="law-core-bench-xrootd-", dir=args.tmp_dir))
    os.chmod(root, 0o755)  # as root, the server runs as nobody
    server = XRootDServer(root)
    results: dict[str, object] = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%a %b %d %Y, %H:%M:%S UTC"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": f"{os.cpu_count()} cores, {platform.system()}, Python "
                   f"{platform.python_version()}",
    }
    try:
        server.start()
        if "exists" in only:
            results["exists"] = bench_exists(server, args.files, args.repeat)
        if "copy" in only:
            results["copy"] = bench_copy(server, root, args.size, args.repeat)
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)

    print(f"{results['date']}  ({results['machine']})")
    ok = True
    if "exists" in results:
        r = results["exists"]
        print(f"exists: {r['files']} files through a SiblingFileCollection: median "
              f"{r['median_s']} s (runs {r['runs_s']}); one stat per file instead: "
              f"{r['one_stat_per_file_s']} s; goal {r['goal']}: {'met' if r['met'] else 'MISSED'}")
        ok &= bool(r["met"])
    if "copy" in results:
        r = results["copy"]
        print(f"copy: {r['bytes'] / 1024**3:.2f} GiB local -> XRootD: law-core "
              f"{r['law-core']['MB_per_s']} MB/s (median {r['law-core']['median_s']} s), xrdcp "
              f"{r['xrdcp']['MB_per_s']} MB/s (median {r['xrdcp']['median_s']} s): "
              f"{r['ratio']:.0%} of xrdcp; goal {r['goal']}: {'met' if r['met'] else 'MISSED'}")
        ok &= bool(r["met"])
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
