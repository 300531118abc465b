"""STAND-IN for IBM Spectrum LSF's bsub, bjobs, bkill and bparams.

Test double of law-core-lsf's tests, not LSF: LSF cannot be installed on the test
machines, so these commands play a one-host cluster. They follow the syntax, output and
job states that IBM documents for LSF 10.1 (``bsub -J "name[1-N]"``, ``#BSUB`` lines on
standard input, ``-o``/``-e`` with ``%J``/``%I``, ``-env``, ``Job <123> is submitted to
queue <normal>.``; ``bjobs -o "..." [-json] [-noheader]``, states PEND/PSUSP/RUN/DONE/EXIT;
``bkill``'s ``Job <123> is being terminated``; ``bparams -a``'s ``MAX_JOB_ARRAY_SIZE``), run
the jobs as local background processes (one stand-in "sbatchd" per submission, a few slots
shared by all), and keep their state in JSON files below ``$LSF_STANDIN_DIR``.

Environment:

- ``LSF_STANDIN_DIR`` (required): state directory (jobs, slots, spooled scripts, a log of
  every call in ``calls.jsonl``);
- ``LSF_STANDIN_QUEUES``: comma-separated queue names, the first the default (``normal``);
- ``LSF_STANDIN_SLOTS``: jobs that run at once (default 4); further jobs stay PEND;
- ``LSF_STANDIN_MAX_JOB_ARRAY_SIZE``: the cluster's MAX_JOB_ARRAY_SIZE (default 1000);
- ``LSF_STANDIN_VERSION``: the LSF version played (default 10.1.0.13); ``bjobs -json``
  exists from 10.1.0.2 on;
- ``LSF_STANDIN_CLEAN_PERIOD``: seconds an ended job stays known (default 3600).
"""

from __future__ import annotations

import contextlib
import fcntl
import fnmatch
import getpass
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

STATE_ENV = "LSF_STANDIN_DIR"
HOST = "standin-host"
ENDED = ("DONE", "EXIT")


class StandinError(Exception):
    """A message the real tool would print (on stderr), and its exit code."""

    def __init__(self, message: str, code: int = 255):
        super().__init__(message)
        self.code = code


def state_dir() -> Path:
    directory = os.environ.get(STATE_ENV)
    if not directory:
        raise StandinError(f"${STATE_ENV} is not set (the LSF stand-ins keep their jobs "
                           "there)")
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    return path


class State:
    """The jobs, read and written under an exclusive lock."""

    def __init__(self, directory: Path):
        self.directory = directory

    def __enter__(self) -> State:
        self._lock = open(self.directory / "state.lock", "a")
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        path = self.directory / "jobs.json"
        self.data = json.loads(path.read_text()) if path.exists() else \
            {"next_id": 101, "jobs": {}}
        self._saved = json.dumps(self.data)
        self._clean()
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            if exc[0] is None and json.dumps(self.data) != self._saved:
                tmp = self.directory / f".jobs.json.tmp{os.getpid()}"
                tmp.write_text(json.dumps(self.data))
                os.replace(tmp, self.directory / "jobs.json")
        finally:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()

    @property
    def jobs(self) -> dict[str, dict[str, Any]]:
        return self.data["jobs"]

    def _clean(self) -> None:
        """Jobs that ended more than CLEAN_PERIOD ago are forgotten, as mbatchd does."""
        period = float(os.environ.get("LSF_STANDIN_CLEAN_PERIOD", "3600"))
        now = time.time()
        for job_id, job in list(self.jobs.items()):
            elements = job["elements"].values()
            if all(e["stat"] in ENDED and now - (e.get("end") or now) > period
                   for e in elements):
                del self.jobs[job_id]


def log_call(tool: str, argv: list[str]) -> None:
    with open(state_dir() / "calls.jsonl", "a") as f:
        f.write(json.dumps({"tool": tool, "argv": argv}) + "\n")


def version_at_least(wanted: str) -> bool:
    have = os.environ.get("LSF_STANDIN_VERSION", "10.1.0.13")
    return [int(x) for x in have.split(".")] >= [int(x) for x in wanted.split(".")]


def queues() -> list[str]:
    return [q.strip() for q in os.environ.get("LSF_STANDIN_QUEUES", "normal").split(",")
            if q.strip()]


# bsub

#: bsub options this stand-in knows, with a value / without one
BSUB_VALUE = {"-J", "-o", "-oo", "-e", "-eo", "-q", "-P", "-W", "-M", "-R", "-n", "-env",
              "-G", "-cwd", "-u", "-app"}
BSUB_FLAG = {"-H", "-N", "-B", "-K", "-x"}


def parse_bsub_options(argv: list[str]) -> tuple[dict[str, Any], list[str]]:
    options: dict[str, Any] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("-") or arg == "-":
            break
        if arg in BSUB_FLAG:
            options[arg] = True
            i += 1
        elif arg in BSUB_VALUE:
            if i + 1 >= len(argv):
                raise StandinError(f"{arg}: option requires an argument. Job not submitted.")
            if arg == "-R":
                options.setdefault("-R", []).append(argv[i + 1])
            else:
                options[arg] = argv[i + 1]
            i += 2
        else:
            raise StandinError(f"{arg}: Illegal option (the bsub stand-in knows "
                               f"{' '.join(sorted(BSUB_VALUE | BSUB_FLAG))}). "
                               "Job not submitted.")
    return options, argv[i:]


def parse_index_list(text: str) -> list[int]:
    """``1-10``, ``1,3,5-9:2``: the indices of a job array."""
    indices: list[int] = []
    for part in text.split(","):
        match = re.fullmatch(r"(\d+)(?:-(\d+)(?::(\d+))?)?", part.strip())
        if not match:
            raise StandinError("Bad job name. Job not submitted.")
        start = int(match.group(1))
        end = int(match.group(2) or start)
        step = int(match.group(3) or 1)
        if start < 1 or end < start or step < 1:
            raise StandinError("Bad job name. Job not submitted.")
        indices += list(range(start, end + 1, step))
    return sorted(set(indices))


def runlimit_seconds(text: str) -> float:
    """``-W [hour:]minute``."""
    match = re.fullmatch(r"(?:(\d+):)?(\d+)", text)
    if not match:
        raise StandinError(f"{text}: Bad RUNLIMIT specification. Job not submitted.")
    return (int(match.group(1) or 0) * 60 + int(match.group(2))) * 60


def check_memory(text: str) -> None:
    """``-M mem_limit[unit][!]`` with the units LSF documents."""
    if not re.fullmatch(r"\d+(?:\.\d+)?(?:[KMGTPEZ]B?)?!?", text.strip(), re.IGNORECASE):
        raise StandinError(f"{text}: Bad argument for -M (the bsub stand-in wants a number "
                           "with an optional unit KB, MB, GB, ...). Job not submitted.")


def bsub(argv: list[str]) -> int:
    options, command = parse_bsub_options(argv)
    script = None
    if not command:  # the job from standard input; its #BSUB lines give more options
        script = sys.stdin.read()
        embedded: dict[str, Any] = {}
        for line in script.splitlines():
            if line.startswith("#BSUB"):
                more, rest = parse_bsub_options(shlex.split(line[len("#BSUB"):]))
                if rest:
                    raise StandinError(f"{line}: Bad #BSUB line. Job not submitted.")
                for key, value in more.items():
                    if key == "-R":
                        embedded.setdefault("-R", []).extend(value)
                    else:
                        embedded[key] = value
        options = {**embedded, **options}  # the command line wins
        if not script.strip():
            raise StandinError("No command is specified. Job not submitted.")
    queue = options.get("-q", queues()[0])
    if queue not in queues():
        raise StandinError(f"{queue}: Bad queue name. Job not submitted.")
    name, indices = options.get("-J", ""), [0]
    match = re.fullmatch(r"(.*)\[([^\]]*)\](?:%\d+)?", name)
    if match:
        name, indices = match.group(1), parse_index_list(match.group(2))
        limit = int(os.environ.get("LSF_STANDIN_MAX_JOB_ARRAY_SIZE", "1000"))
        if max(indices) > limit:
            raise StandinError("Job array index too large. Job not submitted.")
    runlimit = runlimit_seconds(options["-W"]) if "-W" in options else None
    if "-M" in options:
        check_memory(options["-M"])
    if "-n" in options and not re.fullmatch(r"[1-9]\d*(?:,[1-9]\d*)?", options["-n"]):
        raise StandinError(f"{options['-n']}: Bad argument for -n. Job not submitted.")
    env = job_environment(options.get("-env", "all"))
    directory = state_dir()
    with State(directory) as state:
        job_id = str(state.data["next_id"])
        state.data["next_id"] += 1
        spool = directory / "spool"
        spool.mkdir(exist_ok=True)
        if script is not None:
            path = spool / f"{job_id}.sh"
            path.write_text(script)
            run = [str(path)] if script.startswith("#!") else ["/bin/sh", str(path)]
            path.chmod(0o700)
        else:
            run = ["/bin/sh", "-c", shlex.join(command)]
        status = "PSUSP" if options.get("-H") else "PEND"
        state.jobs[job_id] = {
            "id": job_id, "name": name or (shlex.join(command) if command else "STDIN"),
            "queue": queue, "project": options.get("-P", "default"), "run": run,
            "cwd": options.get("-cwd", os.getcwd()), "env": env,
            "out": options.get("-o", options.get("-oo")),
            "err": options.get("-e", options.get("-eo")), "runlimit": runlimit,
            "options": {k: v for k, v in options.items()}, "submit": time.time(),
            "user": getpass.getuser(),
            "elements": {str(i): {"stat": status, "exit_code": None, "exit_reason": ""}
                         for i in indices},
        }
    if status == "PEND":
        start_sbatchd(job_id)
    default = "" if "-q" in options else "default "
    print(f"Job <{job_id}> is submitted to {default}queue <{queue}>.")
    return 0


def job_environment(spec: str) -> dict[str, str]:
    """``-env none | all[, ~var][, var=value] | var[=value], ...``."""
    items = [item.strip() for item in spec.split(",") if item.strip()]
    if items == ["none"]:
        return {}
    env = dict(os.environ) if items and items[0] == "all" else {}
    for item in items[1:] if items and items[0] == "all" else items:
        if item.startswith("~"):
            env.pop(item[1:], None)
        elif "=" in item:
            key, _, value = item.partition("=")
            env[key] = value
        elif item in os.environ:
            env[item] = os.environ[item]
    return env


def start_sbatchd(job_id: str) -> None:
    directory = state_dir()
    log = open(directory / "sbatchd.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "sbatchd", str(directory), job_id],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
        cwd=directory, env=dict(os.environ))
    log.close()
    (directory / "sbatchds").mkdir(exist_ok=True)
    (directory / "sbatchds" / str(proc.pid)).write_text(job_id)


# the stand-in sbatchd of one submission: runs its elements in the cluster's slots


def acquire_slot(directory: Path) -> Any:
    slots = directory / "slots"
    slots.mkdir(exist_ok=True)
    for n in range(1, int(os.environ.get("LSF_STANDIN_SLOTS", "4")) + 1):
        handle = open(slots / f"slot{n}", "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        return handle
    return None


def expand(job: dict[str, Any], key: str, index: str) -> str | None:
    """The job's -o or -e file: ``%J`` -> the job ID, ``%I`` -> the array index (0 outside
    arrays), relative to the job's working directory."""
    path = job[key]
    if path is None:
        return None
    return os.path.join(job["cwd"], path.replace("%J", job["id"]).replace("%I", index))


def run_sbatchd(directory: Path, job_id: str) -> int:
    os.environ[STATE_ENV] = str(directory)
    running: dict[str, tuple[subprocess.Popen, Any, float]] = {}
    try:
        while True:
            with State(directory) as state:
                job = state.jobs.get(job_id)
                if job is None:
                    return 0
                for index, element in job["elements"].items():
                    if index in running:
                        proc, slot, started = running[index]
                        limit = job["runlimit"]
                        if element.get("kill") or (limit and time.time() - started > limit):
                            if not element.get("kill"):
                                element["exit_reason"] = ("TERM_RUNLIMIT: job killed after "
                                                          "reaching LSF run time limit")
                            terminate(proc)
                        code = proc.poll()
                        if code is not None:
                            running.pop(index)
                            slot.close()
                            finish(job, index, element, code)
                    elif element["stat"] == "PEND":
                        slot = acquire_slot(directory)
                        if slot is None:
                            continue
                        proc = start(job, index)
                        element.update(stat="RUN", start=time.time(), pid=proc.pid)
                        running[index] = (proc, slot, time.time())
                active = running or any(e["stat"] == "PEND" for e in job["elements"].values())
            if not active:
                return 0
            time.sleep(0.1)
    finally:
        for proc, slot, _ in running.values():
            terminate(proc, at_once=True)
            slot.close()
        with contextlib.suppress(FileNotFoundError):
            (directory / "sbatchds" / str(os.getpid())).unlink()


def start(job: dict[str, Any], index: str) -> subprocess.Popen:
    env = dict(job["env"])
    user = job["user"]
    env.setdefault("HOME", os.path.expanduser("~"))
    env.setdefault("USER", user)
    env.setdefault("LOGNAME", user)
    element_name = job["name"] + (f"[{index}]" if index != "0" else "")
    env.update(LSB_JOBID=job["id"], LSB_JOBINDEX=index, LSB_JOBNAME=element_name,
               LSB_QUEUE=job["queue"], LSB_HOSTS=HOST, LSB_MCPU_HOSTS=f"{HOST} 1",
               LS_SUBCWD=job["cwd"],
               LSB_BATCH_JID=job["id"] + (f"[{index}]" if index != "0" else ""))
    out = expand(job, "out", index)
    err = expand(job, "err", index) or out
    stdout = open(out, "ab") if out else subprocess.DEVNULL
    stderr = open(err, "ab") if err else subprocess.DEVNULL
    try:
        return subprocess.Popen(job["run"], cwd=job["cwd"], env=env, stdin=subprocess.DEVNULL,
                                stdout=stdout, stderr=stderr, start_new_session=True)
    finally:
        for handle in (stdout, stderr):
            if handle is not subprocess.DEVNULL:
                handle.close()


def terminate(proc: subprocess.Popen, at_once: bool = False) -> None:
    """bkill's sequence: SIGINT, SIGTERM, then SIGKILL, to the job's process group."""
    for sig in (() if at_once else (signal.SIGINT, signal.SIGTERM)) + (signal.SIGKILL,):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=1)
            return
        except subprocess.TimeoutExpired:
            continue


def finish(job: dict[str, Any], index: str, element: dict[str, Any], code: int) -> None:
    exit_code = code if code >= 0 else 128 - code
    element.update(end=time.time(), pid=None)
    if code == 0 and not element.get("kill"):
        element.update(stat="DONE", exit_code=None)
        report = "Successfully completed."
    else:
        element.update(stat="EXIT", exit_code=exit_code)
        if element.get("kill"):
            element["exit_reason"] = "TERM_OWNER: job killed by owner"
        report = f"Exited with exit code {exit_code}."
    out = expand(job, "out", index)
    if out:
        element_id = job["id"] + (f"[{index}]" if index != "0" else "")
        with open(out, "a") as f:
            f.write(f"\n------------------------------------------------------------\n"
                    f"Sender: LSF System (stand-in) <lsfadmin@{HOST}>\n"
                    f"Subject: Job {element_id}: <{job['name']}> "
                    f"{'Done' if element['stat'] == 'DONE' else 'Exited'}\n\n{report}\n")


# bjobs

#: bjobs -o field names (and aliases) -> JSON keys / column headers
FIELDS = {"jobid": "JOBID", "id": "JOBID", "jobindex": "JOBINDEX", "stat": "STAT",
          "exit_code": "EXIT_CODE", "job_name": "JOB_NAME", "name": "JOB_NAME",
          "exit_reason": "EXIT_REASON", "queue": "QUEUE", "user": "USER",
          "proj_name": "PROJ_NAME", "proj": "PROJ_NAME", "from_host": "FROM_HOST",
          "exec_host": "EXEC_HOST"}


def parse_format(text: str) -> tuple[list[str], str]:
    """``field[:[-][width]][:unit] ... [delimiter='c']`` -> field keys, delimiter."""
    delimiter = " "
    match = re.search(r"""delimiter=(['"])(.*?)\1""", text)
    if match:
        delimiter = match.group(2)
        text = text[:match.start()] + text[match.end():]
    keys = []
    for item in text.split():
        name = item.split(":")[0].lower()
        if name not in FIELDS:
            raise StandinError(f"Invalid format specification: {name} (the bjobs stand-in "
                               f"knows {' '.join(sorted(FIELDS))})")
        keys.append(FIELDS[name])
    return keys, delimiter


def bjobs(argv: list[str]) -> int:
    flags, values, ids = set(), {}, []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-o", "-J", "-u", "-q"):
            if i + 1 >= len(argv):
                raise StandinError(f"{arg}: option requires an argument")
            values[arg] = argv[i + 1]
            i += 2
            continue
        if arg == "-json" and not version_at_least("10.1.0.2"):
            raise StandinError("bjobs: illegal option -- json\nUsage: bjobs [-h] [-V] "
                               "[-w | -l] [-a] [-d] [-p] [-s] [-r] [-noheader] [-o format] "
                               "[-J name] [job_ID ...]")
        if arg in ("-a", "-d", "-r", "-p", "-s", "-w", "-noheader", "-json", "-hms"):
            flags.add(arg)
        elif arg.startswith("-"):
            raise StandinError(f"bjobs: illegal option -- {arg.lstrip('-')}")
        else:
            ids.append(arg)
        i += 1
    if "-json" in flags and "-o" not in values:
        raise StandinError("-json: must be used with -o")
    keys, delimiter = parse_format(values["-o"]) if "-o" in values else \
        (["JOBID", "USER", "STAT", "QUEUE", "FROM_HOST", "EXEC_HOST", "JOB_NAME"], "  ")
    rows, errors = [], []
    with State(state_dir()) as state:
        selected: list[tuple[dict[str, Any], str]] = []
        for spec in ids:
            match = re.fullmatch(r"(\d+)(?:\[(\d+)\])?", spec)
            job = state.jobs.get(match.group(1)) if match else None
            if job is None or (match.group(2) and match.group(2) not in job["elements"]):
                errors.append(f"Job <{spec}> is not found")
                continue
            chosen = [match.group(2)] if match.group(2) else list(job["elements"])
            selected += [(job, index) for index in chosen]
        if not ids:
            selected = [(job, index) for job in state.jobs.values() for index in job["elements"]]
        for job, index in selected:
            element = job["elements"][index]
            ended = element["stat"] in ENDED
            if not ids:  # without IDs: unfinished jobs, -d finished, -a all
                if ("-d" in flags and not ended) or ("-a" not in flags and "-d" not in flags
                                                     and ended):
                    continue
            if "-r" in flags and element["stat"] != "RUN":
                continue
            if "-p" in flags and element["stat"] != "PEND":
                continue
            if "-J" in values and not name_matches(job, index, values["-J"]):
                continue
            rows.append(record(job, index, element))
    if "-json" in flags:
        print(json.dumps({"COMMAND": "bjobs", "JOBS": len(rows),
                          "RECORDS": [{k: r[k] for k in keys} for r in rows]}, indent=2))
    else:
        if rows and "-noheader" not in flags:
            print(delimiter.join(keys))
        for r in rows:
            print(delimiter.join(r[k] for k in keys))
    for message in errors:
        print(message, file=sys.stderr)
    if not rows and not errors:
        word = "" if "-a" in flags or "-d" in flags else "unfinished "
        print(f"No {word}job found", file=sys.stderr)
    return 0 if rows else 255


def name_matches(job: dict[str, Any], index: str, pattern: str) -> bool:
    """``-J name``: the array's name (with ``*`` wildcards), or ``name[i]`` for one element."""
    if pattern.endswith("]") and "[" in pattern:
        pattern, _, wanted = pattern[:-1].partition("[")
        if wanted != index:
            return False
    return fnmatch.fnmatchcase(job["name"], pattern)


def record(job: dict[str, Any], index: str, element: dict[str, Any]) -> dict[str, str]:
    code = element.get("exit_code")
    return {"JOBID": job["id"], "JOBINDEX": index, "STAT": element["stat"],
            "EXIT_CODE": "" if code is None else str(code),
            "JOB_NAME": job["name"] + (f"[{index}]" if index != "0" else ""),
            "EXIT_REASON": element.get("exit_reason", ""), "QUEUE": job["queue"],
            "USER": job["user"], "PROJ_NAME": job["project"], "FROM_HOST": HOST,
            "EXEC_HOST": HOST if element["stat"] != "PEND" else ""}


# bkill


def bkill(argv: list[str]) -> int:
    ids = [arg for arg in argv if not arg.startswith("-")]
    if not ids:
        raise StandinError("Usage: bkill [-h] [-V] [-l] [-s signal] [job_ID ...]")
    failed = False
    with State(state_dir()) as state:
        if ids == ["0"]:  # every job of the user
            ids = [job_id for job_id, job in state.jobs.items()
                   if any(e["stat"] not in ENDED for e in job["elements"].values())]
        for spec in ids:
            match = re.fullmatch(r"(\d+)(?:\[(\d+)\])?", spec)
            job = state.jobs.get(match.group(1)) if match else None
            if job is None or (match.group(2) and match.group(2) not in job["elements"]):
                print(f"Job <{spec}>: No matching job found", file=sys.stderr)
                failed = True
                continue
            indices = [match.group(2)] if match.group(2) else list(job["elements"])
            alive = [i for i in indices if job["elements"][i]["stat"] not in ENDED]
            if not alive:
                print(f"Job <{spec}>: Job has already finished", file=sys.stderr)
                failed = True
                continue
            for index in alive:
                element = job["elements"][index]
                element["kill"] = True
                if element["stat"] in ("PEND", "PSUSP"):  # never started: ends at once
                    element.update(stat="EXIT", end=time.time(), exit_code=None,
                                   exit_reason="TERM_OWNER: job killed by owner")
            print(f"Job <{spec}> is being terminated")
    return 255 if failed else 0


# bparams


def bparams(argv: list[str]) -> int:
    if "-a" not in argv:
        print(f"Default Queues:  {queues()[0]}\nMBD_SLEEP_TIME used for calculations:  10 "
              "seconds\nJob Checking Interval:  7 seconds\nJob Accepting Interval:  0 seconds")
        return 0
    limit = os.environ.get("LSF_STANDIN_MAX_JOB_ARRAY_SIZE", "1000")
    print("System default queue for batch processing:\n"
          f"    DEFAULT_QUEUE = {queues()[0]}\n"
          "    CLEAN_PERIOD = 3600\n"
          "    MAX_JOB_NUM = 1000\n"
          f"    MAX_JOB_ARRAY_SIZE = {limit}\n"
          "    MBD_SLEEP_TIME = 10")
    return 0


TOOLS = {"bsub": bsub, "bjobs": bjobs, "bkill": bkill, "bparams": bparams}


def main(tool: str, argv: list[str]) -> int:
    try:
        log_call(tool, argv)
        return TOOLS[tool](argv)
    except StandinError as err:
        print(str(err), file=sys.stderr)
        return err.code


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "sbatchd":
        sys.exit(run_sbatchd(Path(sys.argv[2]), sys.argv[3]))
    sys.exit(f"{sys.argv[0]}: the LSF stand-in module is run through bsub, bjobs, bkill, bparams")
