"""STAND-IN for toybatch, the tiny batch system the job-manager template targets.

This is a test double, not a batch system: there is no real "toybatch". It exists so that
the template plugin can be tested anywhere, and it shows the shape of the command-line
tools most batch systems have. A job runs as a detached local process (in a session of
its own, with the small environment a worker node gives, not the caller's). Its state is
kept as JSON under ``$TOYBATCH_DIR`` (required), one file per array, changed under a lock.

The tools and what they print (the manager parses exactly this):

``toybatch-submit [--name NAME] [--array N] [--queue Q] [--memory MB] [--time MIN] SCRIPT``
    Runs ``bash SCRIPT`` N times (default 1) with ``TOYBATCH_ARRAY_INDEX`` = 0..N-1 and
    ``TOYBATCH_JOB_ID`` set, in the directory it was called from; prints
    ``Submitted job ID``. The array's tasks are ``ID.0`` .. ``ID.<N-1>``. A queue not in
    ``$TOYBATCH_QUEUES`` (default ``short,long``) is refused: a message on stderr, exit 1.
``toybatch-status [--name NAME]... [ID | ID.INDEX]...``
    One line ``ID.INDEX STATE [EXIT]`` per task, STATE one of PENDING, RUNNING, DONE,
    FAILED, CANCELLED; EXIT (the exit code) after DONE and FAILED. ``ID`` means every task
    of the array; ``--name`` selects arrays by name. Unknown ids are named on stderr and
    otherwise ignored (exit 0).
``toybatch-cancel ID | ID.INDEX ...``
    Ends the tasks (SIGTERM to their process group) and marks them CANCELLED; tasks that
    already ended are left as they are.

Every call is appended to ``$TOYBATCH_DIR/calls.jsonl`` (tool and arguments), so tests
can check what the plugin asked for.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ACTIVE = ("PENDING", "RUNNING")


def state_dir() -> Path:
    value = os.environ.get("TOYBATCH_DIR")
    if not value:
        sys.exit("toybatch: TOYBATCH_DIR is not set (the stand-in keeps its jobs there)")
    path = Path(value)
    (path / "jobs").mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def locked() -> Iterator[Path]:
    """The state directory, exclusively: one tool or job changes it at a time."""
    directory = state_dir()
    with open(directory / "lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield directory


def read_array(directory: Path, array_id: str) -> dict[str, Any] | None:
    try:
        return json.loads((directory / "jobs" / f"{array_id}.json").read_text())
    except (FileNotFoundError, ValueError):
        return None


def write_array(directory: Path, array_id: str, array: dict[str, Any]) -> None:
    path = directory / "jobs" / f"{array_id}.json"
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(array))
    os.replace(tmp, path)


def submit(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="toybatch-submit")
    parser.add_argument("--name", default="job")
    parser.add_argument("--array", type=int, default=1)
    parser.add_argument("--queue", default="short")
    parser.add_argument("--memory", type=int, default=0)
    parser.add_argument("--time", type=int, default=0)
    parser.add_argument("script")
    args = parser.parse_args(argv)
    queues = os.environ.get("TOYBATCH_QUEUES", "short,long").split(",")
    if args.queue not in queues:
        print(f"toybatch-submit: error: unknown queue '{args.queue}' (queues: "
              f"{', '.join(queues)})", file=sys.stderr)
        return 1
    if args.array < 1 or not os.path.isfile(args.script):
        print("toybatch-submit: error: need an existing SCRIPT and --array >= 1",
              file=sys.stderr)
        return 1
    with locked() as directory:
        counter = directory / "next_id"
        array_id = counter.read_text().strip() if counter.exists() else "1"
        counter.write_text(str(int(array_id) + 1))
        write_array(directory, array_id, {
            "name": args.name, "script": os.path.abspath(args.script), "cwd": os.getcwd(),
            "options": {"queue": args.queue, "memory": args.memory, "time": args.time},
            "tasks": [{"state": "PENDING", "exit": None, "pid": None}
                      for _ in range(args.array)]})
    for index in range(args.array):
        # detached: its own session, no inherited pipes (the caller's output ends now)
        subprocess.Popen([sys.executable, os.path.abspath(__file__), "_run", array_id,
                          str(index)], start_new_session=True, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(f"Submitted job {array_id}")
    return 0


def run_task(array_id: str, index: int) -> int:
    """The 'worker node': runs one task and records how it ended."""
    with locked() as directory:
        array = read_array(directory, array_id)
        task = array["tasks"][index]
        if task["state"] != "PENDING":  # cancelled before it started
            return 0
        task.update(state="RUNNING", pid=os.getpid())
        write_array(directory, array_id, array)
    env = {name: os.environ[name] for name in ("HOME", "USER", "LOGNAME", "TMPDIR")
           if name in os.environ}
    env.update(PATH="/usr/local/bin:/usr/bin:/bin", TOYBATCH_JOB_ID=f"{array_id}.{index}",
               TOYBATCH_ARRAY_INDEX=str(index))
    with open(directory / "jobs" / f"{array_id}.{index}.log", "w") as log:
        code = subprocess.call(["bash", array["script"]], cwd=array["cwd"], env=env,
                               stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    if code < 0:
        code = 128 - code  # killed by a signal, as a shell reports it
    with locked() as directory:
        array = read_array(directory, array_id)
        task = array["tasks"][index]
        if task["state"] == "RUNNING":
            task.update(state="DONE" if code == 0 else "FAILED", exit=code)
            write_array(directory, array_id, array)
    return 0


def select(directory: Path, ids: list[str], names: list[str]) -> Iterator[tuple]:
    """(array id, array, index) of the tasks that ``ids`` and ``names`` select."""
    wanted: list[tuple[str, int | None]] = []
    for path in sorted(directory.glob("jobs/*.json"), key=lambda p: int(p.stem)):
        if names and (read_array(directory, path.stem) or {}).get("name") in names:
            wanted.append((path.stem, None))
    for job_id in ids:
        array_id, _, index = job_id.partition(".")
        wanted.append((array_id, int(index) if index.isdigit() else None))
    for array_id, index in wanted:
        array = read_array(directory, array_id)
        if array is None or (index is not None and index >= len(array["tasks"])):
            print(f"toybatch: unknown job {array_id}{'' if index is None else f'.{index}'}",
                  file=sys.stderr)
            continue
        for i in range(len(array["tasks"])) if index is None else [index]:
            yield array_id, array, i


def status(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="toybatch-status")
    parser.add_argument("--name", action="append", default=[])
    parser.add_argument("ids", nargs="*")
    args = parser.parse_args(argv)
    with locked() as directory:
        for array_id, array, index in select(directory, args.ids, args.name):
            task = array["tasks"][index]
            code = "" if task["exit"] is None else f" {task['exit']}"
            print(f"{array_id}.{index} {task['state']}{code}")
    return 0


def cancel(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="toybatch-cancel")
    parser.add_argument("ids", nargs="+")
    args = parser.parse_args(argv)
    with locked() as directory:
        for array_id, _, index in list(select(directory, args.ids, [])):
            array = read_array(directory, array_id)  # fresh: an earlier index changed it
            task = array["tasks"][index]
            if task["state"] not in ACTIVE:
                continue
            if task["pid"]:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(task["pid"], signal.SIGTERM)
            task["state"] = "CANCELLED"
            write_array(directory, array_id, array)
    return 0


TOOLS = {"toybatch-submit": submit, "toybatch-status": status, "toybatch-cancel": cancel}


def main(tool: str, argv: list[str]) -> int:
    with open(state_dir() / "calls.jsonl", "a") as log:
        log.write(json.dumps({"tool": tool, "argv": argv}) + "\n")
    return TOOLS[tool](argv)


if __name__ == "__main__":
    if sys.argv[1:2] == ["_run"]:
        sys.exit(run_task(sys.argv[2], int(sys.argv[3])))
    sys.exit(main(Path(sys.argv[1]).name, sys.argv[2:]))
