"""STAND-IN for HTCondor's condor_submit, condor_q, condor_history, condor_rm and
condor_config_val.

Test double of law-core-htcondor's tests, not HTCondor: HTCondor's daemons cannot be
installed on the test machines, so these commands play a one-machine pool. They parse
submit descriptions with HTCondor's own parser (``htcondor2.Submit`` from the ``htcondor``
bindings on PyPI), evaluate constraints and policies with HTCondor's ClassAd library
(``classad2``) and split arguments with HTCondor's ``argsToList``, run the jobs locally as
background processes the way a schedd and its startd would (executable, arguments,
initialdir, output, error, environment, getenv, file transfer into and out of a scratch
directory, hold on failures and policies), keep their queue and history in JSON files in
the directory ``$CONDOR_STANDIN_DIR``, and print what the real tools print.

Environment:

- ``CONDOR_STANDIN_DIR`` (required): state directory (queue, history, slots, scratch dirs,
  a log of every call in ``calls.jsonl``);
- ``CONDOR_STANDIN_SLOTS``: slots of the pool (default 4): further jobs stay idle;
- ``CONDOR_STANDIN_SCHEDDS`` / ``CONDOR_STANDIN_POOLS``: comma-separated names that
  ``-name`` / ``-pool`` accept (default: any);
- ``CONDOR_STANDIN_SYSTEM_PERIODIC_HOLD`` (and ``..._REASON``): the pool's
  SYSTEM_PERIODIC_HOLD policy, a ClassAd expression evaluated against running and idle jobs;
- ``_CONDOR_<NAME>``: the pool's configuration variable NAME, as HTCondor reads it from the
  environment; ``condor_config_val NAME`` prints it, condor_submit honours
  ``MAX_JOBS_PER_SUBMISSION``. Unset variables are "Not defined" (the stand-in has no
  built-in defaults: the real MAX_JOBS_PER_SUBMISSION defaults to 20000). The execute point
  honours ``EXECUTE`` (the directory of the jobs' scratch directories, default
  ``$CONDOR_STANDIN_DIR/execute``) and, when it stands in for a machine of another UID
  domain, the slot users (below);
- ``CONDOR_STANDIN_EXECUTE_UID_DOMAIN``: the execute point's ``UID_DOMAIN``. If it differs
  from the pool's ``UID_DOMAIN`` (``_CONDOR_UID_DOMAIN``), jobs do not run as their owner
  but, as HTCondor documents for that case, as the slot's user: ``SLOT<N>_USER``, else
  ``NOBODY_SLOT_USER``, else ``nobody``; the scratch directory and the files transferred
  into it belong to that user (the stand-ins must run as root for this).
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

STATE_ENV = "CONDOR_STANDIN_DIR"
HOST = "standin.localhost"
SCHEDD = HOST  # the name -name selects and the tools print

JOB_STATUS_LETTER = {1: "I", 2: "R", 3: "X", 4: "C", 5: "H", 6: ">", 7: "S"}
UNIVERSES = {"standard": 1, "vanilla": 5, "scheduler": 7, "grid": 9, "java": 10,
             "parallel": 11, "local": 12, "vm": 13, "docker": 5, "container": 5}

# HoldReasonCode values of the real schedd
HOLD_USER, HOLD_JOB_POLICY, HOLD_FAILED_TO_CREATE_PROCESS = 1, 3, 6
HOLD_TRANSFER_OUTPUT, HOLD_TRANSFER_INPUT, HOLD_SUBMITTED_ON_HOLD = 12, 13, 15
HOLD_SYSTEM_POLICY = 26


class StandinError(Exception):
    """A message the real tool would print, and its exit code."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def _htcondor():
    try:
        import classad2
        import htcondor2
    except ImportError:
        raise StandinError("ERROR: the condor stand-ins need the 'htcondor' Python bindings "
                           "(pip install htcondor)") from None
    return htcondor2, classad2


# state


def state_dir() -> Path:
    directory = os.environ.get(STATE_ENV)
    if not directory:
        raise StandinError(f"ERROR: ${STATE_ENV} is not set (the condor stand-ins keep their "
                           "queue there)")
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    return path


class State:
    """The queue and history, read and written under an exclusive lock."""

    def __init__(self, directory: Path):
        self.directory = directory

    def __enter__(self) -> State:
        self._lock = open(self.directory / "state.lock", "a")
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        self.queue = _read_json(self.directory / "queue.json", {"next_cluster": 1, "jobs": {}})
        self.history = _read_json(self.directory / "history.json", [])
        self._saved = json.dumps([self.queue, self.history])
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            if exc[0] is None and json.dumps([self.queue, self.history]) != self._saved:
                _write_json(self.directory / "queue.json", self.queue)
                _write_json(self.directory / "history.json", self.history)
        finally:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()

    @property
    def jobs(self) -> dict[str, dict[str, Any]]:
        return self.queue["jobs"]

    def retire(self, job_id: str) -> None:
        """The job leaves the queue for the history, as completed or removed jobs do."""
        job = self.jobs.pop(job_id)
        self.history.append(job)


def _read_json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return default


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


# job records: literal attributes plus attributes that are expressions


def new_job(cluster: int, proc: int) -> dict[str, Any]:
    now = int(time.time())
    return {"attrs": {"ClusterId": cluster, "ProcId": proc, "JobStatus": 1, "QDate": now,
                      "EnteredCurrentStatus": now, "Owner": getpass.getuser(),
                      "NumJobStarts": 0, "GlobalJobId": f"{SCHEDD}#{cluster}.{proc}#{now}"},
            "exprs": {}, "private": {}}


def job_id(job: dict[str, Any]) -> str:
    return f"{job['attrs']['ClusterId']}.{job['attrs']['ProcId']}"


def to_classad(job: dict[str, Any], attributes: list[str] | None = None):
    _, classad2 = _htcondor()
    ad = classad2.ClassAd()
    wanted = {a.lower() for a in attributes} if attributes else None
    for name, value in job["attrs"].items():
        if wanted is None or name.lower() in wanted:
            ad[name] = value
    for name, text in job["exprs"].items():
        if wanted is None or name.lower() in wanted:
            ad[name] = classad2.ExprTree(text)
    return ad


def set_status(job: dict[str, Any], status: int) -> None:
    attrs = job["attrs"]
    if attrs.get("JobStatus") != status:
        attrs["LastJobStatus"] = attrs.get("JobStatus")
        attrs["JobStatus"] = status
        attrs["EnteredCurrentStatus"] = int(time.time())


def hold(job: dict[str, Any], reason: str, code: int, subcode: int = 0) -> None:
    set_status(job, 5)
    job["attrs"].update(HoldReason=reason, HoldReasonCode=code, HoldReasonSubCode=subcode)
    job["attrs"].pop("RemoteHost", None)


# command-line parsing shared by the tools


def parse_tool_args(argv: list[str], with_value: set[str], flags: set[str]
                    ) -> tuple[dict[str, Any], list[str]]:
    """HTCondor tools take single-dash long options, which may be abbreviated."""
    options: dict[str, Any] = {}
    positional: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("-") and len(arg) > 1:
            name, _, modifiers = arg.lstrip("-").partition(":")
            name = name.lower()
            match = _abbreviation(name, with_value | flags | {"af", "autoformat", "format"})
            if match in ("af", "autoformat"):
                options["af"] = (modifiers, [])
                i += 1
                while i < len(argv) and not argv[i].startswith("-"):
                    options["af"][1].append(argv[i])
                    i += 1
                continue
            if match in with_value:
                if i + 1 >= len(argv):
                    raise StandinError(f"Error: Argument {arg} requires another argument")
                options.setdefault(match, []).append(argv[i + 1])
                i += 2
                continue
            if match in flags:
                options[match] = True
                i += 1
                continue
            raise StandinError(f"Error: unrecognized argument {arg}")
        positional.append(arg)
        i += 1
    return options, positional


def _abbreviation(name: str, known: set[str]) -> str | None:
    if name in known:
        return name
    candidates = [k for k in known if k.startswith(name)]
    return candidates[0] if len(candidates) == 1 else None


def check_daemons(options: dict[str, Any]) -> None:
    """-pool and -name must name a collector and schedd this pool has."""
    for option, env, kind in (("pool", "CONDOR_STANDIN_POOLS", "collector"),
                              ("name", "CONDOR_STANDIN_SCHEDDS", "schedd")):
        known = [n.strip() for n in os.environ.get(env, "").split(",") if n.strip()]
        for value in options.get(option, []):
            if known and value not in known:
                raise StandinError(f"ERROR: Can't find address of {kind} {value}")


def log_call(tool: str, argv: list[str]) -> None:
    with open(state_dir() / "calls.jsonl", "a") as f:
        f.write(json.dumps({"tool": tool, "argv": argv, "time": time.time()}) + "\n")


# condor_submit


def condor_submit(argv: list[str]) -> int:
    htcondor2, classad2 = _htcondor()
    options, positional = parse_tool_args(
        argv, {"pool", "name", "batch-name", "append", "a", "queue"},
        {"terse", "verbose", "disable", "dry-run", "spool", "interactive"})
    check_daemons(options)
    if len(positional) > 1:
        raise StandinError(f"ERROR: only one submit description file may be given, not "
                           f"{' '.join(positional)}")
    if positional and positional[0] != "-":
        path = Path(positional[0])
        if not path.is_file():
            raise StandinError(f"ERROR: Can't open file {positional[0]}")
        text = path.read_text()
    else:
        text = sys.stdin.read()
    extra = options.get("append", []) + options.get("a", [])
    if options.get("batch-name"):
        extra.append(f"batch_name = {options['batch-name'][0]}")
    if extra:  # -append lines go before the queue statement
        match = re.search(r"(?im)^\s*queue\b", text)
        cut = match.start() if match else len(text)
        text = text[:cut] + "\n".join(extra) + "\n" + text[cut:]
    if not re.search(r"(?im)^\s*queue\b", text):
        raise StandinError("ERROR: no queue statement in the submit description")
    try:
        submit = htcondor2.Submit(text)
        items = list(submit.itemdata() or [])
    except Exception as err:
        raise StandinError(f"ERROR: {err}") from None
    qargs = submit.getQArgs().strip()
    count_match = re.match(r"(\d+)", qargs)
    count = int(count_match.group(1)) if count_match else 1
    rows = items or [{}]
    base = dict(submit)
    cwd = Path.cwd()
    jobs = []
    with State(state_dir()) as state:
        cluster = state.queue["next_cluster"]
        proc = 0
        for row, item in enumerate(rows):
            for step in range(count):
                jobs.append(_job_from_submit(htcondor2, classad2, base, item, cluster, proc,
                                             step, row, cwd))
                proc += 1
        if not jobs:
            raise StandinError("ERROR: the queue statement yields no jobs")
        limit = config_value("MAX_JOBS_PER_SUBMISSION")
        if limit is not None and len(jobs) > int(limit):  # the schedd refuses all of them
            raise StandinError("\nERROR: Failed to create proc\nNumber of submitted jobs "
                               "would exceed MAX_JOBS_PER_SUBMISSION")
        state.queue["next_cluster"] = cluster + 1
        for job in jobs:
            state.jobs[job_id(job)] = job
    pid = _start_schedd(cluster)
    with State(state_dir()) as state:
        for job in jobs:
            if job_id(job) in state.jobs:
                state.jobs[job_id(job)]["private"]["schedd_pid"] = pid
    if options.get("terse"):
        print(f"{cluster}.0 - {cluster}.{len(jobs) - 1}")
    else:
        print("Submitting job(s)" + "." * len(jobs))
        print(f"{len(jobs)} job(s) submitted to cluster {cluster}.")
    return 0


def _job_from_submit(htcondor2: Any, classad2: Any, base: dict[str, str],
                     item: dict[str, str], cluster: int, proc: int, step: int, row: int,
                     cwd: Path) -> dict[str, Any]:
    sub = htcondor2.Submit(base)
    for name, value in item.items():
        sub[name] = value
    for name, value in (("Cluster", cluster), ("ClusterId", cluster), ("Process", proc),
                        ("ProcId", proc), ("Step", step), ("Row", row), ("ItemIndex", row)):
        sub[name] = str(value)
    keys = {key.lower(): key for key in base}

    def get(command: str, default: str | None = None) -> str | None:
        key = keys.get(command.lower())
        if key is None:
            return default
        return sub.expand(key).strip()

    job = new_job(cluster, proc)
    attrs = job["attrs"]
    universe = (get("universe") or "vanilla").lower()
    if universe not in UNIVERSES:
        raise StandinError(f"ERROR: I don't know about the '{universe}' universe.")
    attrs["JobUniverse"] = UNIVERSES[universe]
    iwd = Path(get("initialdir") or get("iwd") or str(cwd))
    iwd = iwd if iwd.is_absolute() else cwd / iwd
    if not iwd.is_dir():
        raise StandinError(f"ERROR: No such directory: {iwd}")
    attrs["Iwd"] = str(iwd)
    executable = get("executable")
    if not executable:
        raise StandinError("ERROR: No 'executable' parameter was provided")
    executable_path = Path(executable) if Path(executable).is_absolute() else cwd / executable
    transfer_executable = _bool(get("transfer_executable"), True)
    if transfer_executable and not executable_path.is_file():
        raise StandinError(f"ERROR: Executable file {executable_path} does not exist")
    attrs["Cmd"] = str(executable_path)
    attrs["TransferExecutable"] = transfer_executable
    arguments = get("arguments")
    if arguments is None:
        arguments = get("args")
    if arguments:
        if arguments.startswith('"'):
            attrs["Arguments"] = _v2_quoted_to_raw(arguments)
        else:
            attrs["Args"] = arguments
    for command, attr in (("output", "Out"), ("error", "Err"), ("input", "In"),
                          ("log", "UserLog"), ("batch_name", "JobBatchName"),
                          ("accounting_group", "AcctGroup"),
                          ("accounting_group_user", "AcctGroupUser"),
                          ("transfer_input_files", "TransferInput"),
                          ("transfer_output_files", "TransferOutput")):
        value = get(command)
        if value:
            attrs[attr] = value
    should = (get("should_transfer_files") or "IF_NEEDED").upper()
    if should not in ("YES", "NO", "IF_NEEDED"):
        raise StandinError(f"ERROR: should_transfer_files = {should} is invalid.  Must be "
                           "YES, NO, or IF_NEEDED.")
    attrs["ShouldTransferFiles"] = should
    when = (get("when_to_transfer_output") or "ON_EXIT").upper()
    if when not in ("ON_EXIT", "ON_EXIT_OR_EVICT", "ON_SUCCESS"):
        raise StandinError(f"ERROR: when_to_transfer_output = {when} is invalid.")
    attrs["WhenToTransferOutput"] = when
    if should == "NO" and (attrs.get("TransferInput") or attrs.get("TransferOutput")):
        raise StandinError("ERROR: you specified files to transfer, but "
                           "should_transfer_files = NO")
    for command, attr, default in (("request_cpus", "RequestCpus", "1"),
                                   ("request_memory", "RequestMemory", None),
                                   ("request_disk", "RequestDisk", None),
                                   ("requirements", "Requirements", None),
                                   ("periodic_hold", "PeriodicHold", None),
                                   ("periodic_hold_reason", "PeriodicHoldReason", None),
                                   ("periodic_remove", "PeriodicRemove", None),
                                   ("on_exit_hold", "OnExitHold", None),
                                   ("on_exit_hold_reason", "OnExitHoldReason", None)):
        value = get(command, default)
        if value:
            if attr in ("RequestMemory", "RequestDisk"):
                value = _quantity(value, attr)
            _set_expr(classad2, job, attr, value)
    if (env := get("environment") or get("env")) is not None:
        attrs["Environment"] = _v2_quoted_to_raw(env) if env.startswith('"') else env
    getenv = get("getenv")
    if getenv and getenv.lower() not in ("false", "no", "f", "n", "0"):
        job["private"]["getenv"] = dict(os.environ)  # what condor_submit saw
    for key in list(keys.values()):
        if key.startswith("MY."):
            _set_expr(classad2, job, key[3:], sub.expand(key).strip())
    if _bool(get("hold"), False):
        hold(job, "submitted on hold at user's request", HOLD_SUBMITTED_ON_HOLD)
    return job


def _set_expr(classad2: Any, job: dict[str, Any], attr: str, text: str) -> None:
    try:
        expr = classad2.ExprTree(text)
    except Exception:
        raise StandinError(f"ERROR: Parse error in expression: \n\t{attr} = {text}\n\t")\
            from None
    value = expr.eval()
    if isinstance(value, (bool, int, float, str)) and not _references(text):
        job["attrs"][attr] = value
    else:
        job["exprs"][attr] = text


def _references(text: str) -> bool:
    """True when the expression names attributes or calls functions (not a literal)."""
    stripped = re.sub(r'"(?:\\.|[^"\\])*"', "", text)
    return bool(re.search(r"[A-Za-z_]", re.sub(r"\b(true|false|undefined|error)\b", "",
                                                  stripped, flags=re.I)))


def _quantity(value: str, attr: str) -> str:
    """request_memory (MiB) and request_disk (KiB) with unit suffixes, as condor_submit."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]?)B?", value.strip(), re.I)
    if not match:
        return value  # an expression
    number, unit = float(match.group(1)), match.group(2).upper()
    base = "M" if attr == "RequestMemory" else "K"
    factors = {"K": 1, "M": 1024, "G": 1024 ** 2, "T": 1024 ** 3}
    return str(int(number * factors[unit or base] / factors[base]))


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("true", "yes", "t", "y", "1")


def _v2_quoted_to_raw(value: str) -> str:
    """The new syntax of arguments and environment: strip the outer double quotes and
    turn each doubled double quote into one, as condor_submit does."""
    if len(value) < 2 or not value.endswith('"'):
        raise StandinError(f"ERROR: missing closing double quote in: {value}")
    inner = value[1:-1]
    raw, i = [], 0
    while i < len(inner):
        if inner[i] == '"':
            if inner[i + 1:i + 2] != '"':
                raise StandinError(f"ERROR: Found illegal unescaped double-quote: {inner[i:]}\n"
                                   "The full arguments you specified were: " + value)
            raw.append('"')
            i += 2
            continue
        raw.append(inner[i])
        i += 1
    return "".join(raw)


def split_arguments(job: dict[str, Any]) -> list[str]:
    """argv of the job, split by HTCondor's own argsToList."""
    _, classad2 = _htcondor()
    attrs = job["attrs"]
    ad = classad2.ClassAd()
    if "Arguments" in attrs:
        ad["a"] = attrs["Arguments"]
        result = classad2.ExprTree("argsToList(a)").eval(ad)
    elif "Args" in attrs:
        ad["a"] = attrs["Args"]
        result = classad2.ExprTree("argsToList(a, 1)").eval(ad)
    else:
        return []
    if not isinstance(result, list):
        raise ValueError(f"cannot split the arguments {attrs.get('Arguments')!r}")
    return [str(x) for x in result]


def _start_schedd(cluster: int) -> int:
    """A background process that runs the cluster's jobs, as the schedd and startd would."""
    directory = state_dir()
    log = open(directory / "schedd.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "schedd", str(directory), str(cluster)],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
        cwd=directory, env=dict(os.environ))
    log.close()
    (directory / "schedds").mkdir(exist_ok=True)
    (directory / "schedds" / str(proc.pid)).write_text(str(cluster))
    return proc.pid


# the schedd of one cluster: runs its jobs in slots


class Slots:
    """Slots of the pool, one lock file each, shared by all schedd processes."""

    def __init__(self, directory: Path):
        self.directory = directory / "slots"
        self.directory.mkdir(exist_ok=True)
        self.count = int(os.environ.get("CONDOR_STANDIN_SLOTS", "4"))

    def acquire(self) -> tuple[int, Any] | None:
        for n in range(1, self.count + 1):
            handle = open(self.directory / f"slot{n}", "a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            return n, handle
        return None


class Running:
    """A job started in a slot."""

    def __init__(self, proc: subprocess.Popen, slot: tuple[int, Any], scratch: Path,
                 transfer: bool):
        self.proc, self.slot, self.scratch, self.transfer = proc, slot, scratch, transfer

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.release()

    def release(self) -> None:
        self.slot[1].close()
        shutil.rmtree(self.scratch, ignore_errors=True)


def run_schedd(directory: Path, cluster: int) -> int:
    os.environ[STATE_ENV] = str(directory)
    slots = Slots(directory)
    running: dict[str, Running] = {}
    try:
        while True:
            with State(directory) as state:
                mine = {jid: job for jid, job in state.jobs.items()
                        if job["attrs"]["ClusterId"] == cluster}
                for jid, job in mine.items():
                    if job["attrs"]["JobStatus"] == 3:  # condor_rm
                        if jid in running:
                            running.pop(jid).kill()
                        state.retire(jid)
                    elif (reason := _policy_hold(job)) is not None:
                        if jid in running:
                            running.pop(jid).kill()
                        hold(job, *reason)
                for jid, run in list(running.items()):
                    if jid not in state.jobs:  # gone from the queue by other means
                        running.pop(jid).kill()
                        continue
                    code = run.proc.poll()
                    if code is not None:
                        running.pop(jid)
                        _finish(state, jid, run, code)
                for jid, job in sorted(mine.items(), key=lambda kv: kv[1]["attrs"]["ProcId"]):
                    if jid in state.jobs and job["attrs"]["JobStatus"] == 1 and \
                            jid not in running:
                        slot = slots.acquire()
                        if slot is None:
                            break
                        run = _start(job, slot)
                        if run is not None:
                            running[jid] = run
                active = running or any(job["attrs"]["JobStatus"] in (1, 2)
                                        for jid, job in state.jobs.items()
                                        if job["attrs"]["ClusterId"] == cluster)
            if not active:
                return 0
            time.sleep(0.1)
    finally:
        for run in running.values():
            run.kill()
        with contextlib.suppress(FileNotFoundError):
            (directory / "schedds" / str(os.getpid())).unlink()


def _policy_hold(job: dict[str, Any]) -> tuple[str, int] | None:
    """The job's periodic_hold and the pool's SYSTEM_PERIODIC_HOLD, for idle and running
    jobs."""
    if job["attrs"]["JobStatus"] not in (1, 2):
        return None
    _, classad2 = _htcondor()
    ad = to_classad(job)
    if "PeriodicHold" in job["exprs"] or job["attrs"].get("PeriodicHold") is True:
        if ad.eval("PeriodicHold") is True:
            text = job["exprs"].get("PeriodicHold", "true")
            reason = _reason(ad, "PeriodicHoldReason") or \
                f"The job attribute PeriodicHold expression '{text}' evaluated to TRUE"
            return reason, HOLD_JOB_POLICY
    system = os.environ.get("CONDOR_STANDIN_SYSTEM_PERIODIC_HOLD")
    if system and classad2.ExprTree(system).eval(ad) is True:
        reason_expr = os.environ.get("CONDOR_STANDIN_SYSTEM_PERIODIC_HOLD_REASON")
        reason = classad2.ExprTree(reason_expr).eval(ad) if reason_expr else None
        if not isinstance(reason, str) or not reason:
            reason = f"The system macro SYSTEM_PERIODIC_HOLD expression '{system}' evaluated " \
                     "to TRUE"
        return reason, HOLD_SYSTEM_POLICY
    return None


def _reason(ad: Any, attr: str) -> str | None:
    value = ad.eval(attr) if attr in ad else None
    return value if isinstance(value, str) and value else None


def _transfer_list(value: str | None) -> list[str]:
    return [item.strip() for item in re.split(r"[,\s]+", value or "") if item.strip()]


def _start(job: dict[str, Any], slot: tuple[int, Any]) -> Running | None:
    attrs = job["attrs"]
    slot_name = f"slot{slot[0]}@{HOST}"
    directory = state_dir()
    execute = Path(config_value("EXECUTE") or directory / "execute")
    scratch = execute / f"dir_{job_id(job)}_{time.time_ns()}"
    scratch.mkdir(parents=True)
    iwd = Path(attrs["Iwd"])
    transfer = attrs.get("ShouldTransferFiles") == "YES"  # IF_NEEDED: same file system

    def fail(reason: str, code: int, subcode: int = 0) -> None:
        hold(job, reason, code, subcode)
        slot[1].close()
        shutil.rmtree(scratch, ignore_errors=True)

    executable = Path(attrs["Cmd"])
    if transfer:
        inputs = _transfer_list(attrs.get("TransferInput"))
        if attrs.get("TransferExecutable", True):
            inputs.insert(0, str(executable))
        for item in inputs:
            source = Path(item) if Path(item).is_absolute() else iwd / item
            if not source.exists():
                fail(f"Transfer input files failure at execution point {slot_name} using "
                     f"protocol file. Details: reading from file {source}: (errno 2) No such "
                     "file or directory", HOLD_TRANSFER_INPUT, 2)
                return None
            target = scratch / source.name
            if source.is_dir():
                shutil.copytree(source, scratch if item.endswith("/") else target,
                                dirs_exist_ok=True)
            else:
                shutil.copy2(source, target)
        if attrs.get("TransferExecutable", True):
            executable = scratch / executable.name
            executable.chmod(executable.stat().st_mode | 0o755)
        cwd = scratch
        out_path, err_path = scratch / "_condor_stdout", scratch / "_condor_stderr"
    else:
        cwd = iwd
        out_path = _iwd_path(iwd, attrs.get("Out"))
        err_path = _iwd_path(iwd, attrs.get("Err"))
    try:
        run_as = _slot_user(slot[0], scratch)
    except (KeyError, PermissionError) as error:
        fail(f"Error from {slot_name}: cannot run the job as the slot user: {error}",
             HOLD_FAILED_TO_CREATE_PROCESS)
        return None
    env = {"_CONDOR_SCRATCH_DIR": str(scratch), "TMPDIR": str(scratch),
           "_CONDOR_SLOT": f"slot{slot[0]}", "BATCH_SYSTEM": "HTCondor",
           "_CONDOR_JOB_IWD": str(cwd)}
    env.update(job["private"].get("getenv") or {})
    if attrs.get("Environment"):
        for entry in _split_raw(attrs["Environment"]):
            name, _, value = entry.partition("=")
            env[name] = value
    try:
        argv = [str(executable), *split_arguments(job)]
    except ValueError as err:
        fail(f"Error from {slot_name}: {err}", HOLD_FAILED_TO_CREATE_PROCESS)
        return None
    out = open(out_path, "ab") if out_path else subprocess.DEVNULL
    err_file = open(err_path, "ab") if err_path else subprocess.DEVNULL
    try:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=err_file, start_new_session=True, **run_as)
    except OSError as error:
        fail(f"Error from {slot_name}: Failed to execute '{executable}': "
             f"(errno={error.errno}: '{os.strerror(error.errno or 0)}')",
             HOLD_FAILED_TO_CREATE_PROCESS, error.errno or 0)
        return None
    finally:
        for handle in (out, err_file):
            if handle is not subprocess.DEVNULL:
                handle.close()
    set_status(job, 2)
    attrs.update(RemoteHost=slot_name, LastRemoteHost=slot_name, JobStartDate=int(time.time()),
                 NumJobStarts=attrs.get("NumJobStarts", 0) + 1)
    for name in ("HoldReason", "HoldReasonCode", "HoldReasonSubCode"):
        attrs.pop(name, None)
    return Running(proc, slot, scratch, transfer)


def _slot_user(slot: int, scratch: Path) -> dict[str, Any]:
    """The Popen arguments that run a job as its slot's user, when the execute point is of
    another UID domain than the pool (HTCondor runs the job as ``nobody`` then, or as
    ``SLOT<N>_USER`` / ``NOBODY_SLOT_USER``), and the scratch directory handed to that user
    (0700, as the starter makes it). Otherwise nothing: the job runs as its owner."""
    domain = os.environ.get("CONDOR_STANDIN_EXECUTE_UID_DOMAIN")
    if not domain or domain == config_value("UID_DOMAIN"):
        return {}
    name = config_value(f"SLOT{slot}_USER") or config_value("NOBODY_SLOT_USER") or "nobody"
    entry = pwd.getpwnam(name)
    if os.getuid() != 0 and os.getuid() != entry.pw_uid:
        raise PermissionError(f"the stand-in runs as uid {os.getuid()}, not root")
    for path in [scratch, *scratch.rglob("*")]:
        os.lchown(path, entry.pw_uid, entry.pw_gid)
    scratch.chmod(0o700)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _split_raw(raw: str) -> list[str]:
    _, classad2 = _htcondor()
    ad = classad2.ClassAd()
    ad["a"] = raw
    result = classad2.ExprTree("argsToList(a)").eval(ad)
    return [str(x) for x in result] if isinstance(result, list) else []


def _iwd_path(iwd: Path, value: str | None) -> Path | None:
    if not value or value == "/dev/null":
        return None
    path = Path(value)
    return path if path.is_absolute() else iwd / path


def _finish(state: State, jid: str, run: Running, code: int) -> None:
    job = state.jobs[jid]
    attrs = job["attrs"]
    slot_name = attrs.get("RemoteHost", f"slot{run.slot[0]}@{HOST}")
    if code < 0:
        attrs.update(ExitBySignal=True, ExitSignal=-code)
        attrs.pop("ExitCode", None)
    else:
        attrs.update(ExitBySignal=False, ExitCode=code)
    try:
        if run.transfer:
            iwd = Path(attrs["Iwd"])
            for name, attr in (("_condor_stdout", "Out"), ("_condor_stderr", "Err")):
                target = _iwd_path(iwd, attrs.get(attr))
                if target is not None and (run.scratch / name).exists():
                    shutil.copyfile(run.scratch / name, target)
            outputs = _transfer_list(attrs.get("TransferOutput"))
            if "TransferOutput" not in attrs:  # everything the job created
                outputs = [p.name for p in run.scratch.iterdir()
                           if not p.name.startswith("_condor_")]
            for item in outputs:
                source = run.scratch / item
                if not source.exists():
                    hold(job, f"Transfer output files failure at execution point {slot_name} "
                              f"while sending files to access point {SCHEDD}. Details: reading "
                              f"from file {source}: (errno 2) No such file or directory",
                         HOLD_TRANSFER_OUTPUT, 2)
                    return
                target = iwd / source.name  # the base name, as without preserve_relative_paths
                if source.is_dir():
                    shutil.copytree(source, target, dirs_exist_ok=True)
                else:
                    shutil.copy2(source, target)
        ad = to_classad(job)
        if "OnExitHold" in job["exprs"] or attrs.get("OnExitHold") is True:
            if ad.eval("OnExitHold") is True:
                text = job["exprs"].get("OnExitHold", "true")
                hold(job, _reason(ad, "OnExitHoldReason") or
                     f"The job attribute OnExitHold expression '{text}' evaluated to TRUE",
                     HOLD_JOB_POLICY)
                return
        set_status(job, 4)
        attrs["CompletionDate"] = int(time.time())
        attrs.pop("RemoteHost", None)
        state.retire(jid)
    finally:
        run.release()


# condor_q and condor_history


def select(jobs: list[dict[str, Any]], positional: list[str], constraints: list[str]
           ) -> list[dict[str, Any]]:
    _, classad2 = _htcondor()
    try:
        exprs = [classad2.ExprTree(c) for c in constraints]
    except Exception:
        raise StandinError(f"Error: Invalid constraint ({' && '.join(constraints)})") from None
    chosen = []
    for job in jobs:
        attrs = job["attrs"]
        if positional and not any(_matches(attrs, p) for p in positional):
            continue
        if exprs:
            ad = to_classad(job)
            if not all(e.eval(ad) is True for e in exprs):
                continue
        chosen.append(job)
    return chosen


def _matches(attrs: dict[str, Any], spec: str) -> bool:
    if re.fullmatch(r"\d+", spec):
        return attrs["ClusterId"] == int(spec)
    if re.fullmatch(r"\d+\.\d+", spec):
        cluster, proc = spec.split(".")
        return attrs["ClusterId"] == int(cluster) and attrs["ProcId"] == int(proc)
    return attrs.get("Owner") == spec


def print_jobs(jobs: list[dict[str, Any]], options: dict[str, Any], history: bool) -> None:
    attributes = [a for value in options.get("attributes", [])
                  for a in re.split(r"[,\s]+", value) if a]
    if options.get("json"):
        if jobs:  # nothing at all when nothing matched, as the real tools
            ads = [json.dumps(json.loads(to_classad(job, attributes or None).printJson()),
                              indent=2, sort_keys=True) for job in jobs]
            print("[\n" + "\n,\n".join(ads) + "\n]")
        return
    if options.get("long"):
        for job in jobs:
            print(to_classad(job, attributes or None).printOld().strip() + "\n")
        return
    if "af" in options:
        modifiers, names = options["af"]
        separator = "\t" if "t" in modifiers else ("," if "," in modifiers else " ")
        for job in jobs:
            ad = to_classad(job)
            values = [_af_value(ad, name, "r" in modifiers or "V" in modifiers)
                      for name in names]
            prefix = job_id(job) + " " if "j" in modifiers else ""
            print(prefix + separator.join(values))
        return
    _print_table(jobs, options, history)


def _af_value(ad: Any, name: str, raw: bool) -> str:
    _, classad2 = _htcondor()
    try:
        value = classad2.ExprTree(name).eval(ad)
    except Exception:
        return "undefined"
    if value is None or getattr(value, "name", "") == "Undefined":
        return "undefined"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value) if raw else value
    if getattr(value, "name", "") == "Error":
        return "error"
    return str(value)


def _print_table(jobs: list[dict[str, Any]], options: dict[str, Any], history: bool) -> None:
    now = time.time()
    if history:
        print(f"{'ID':>9} {'OWNER':<10} {'SUBMITTED':>11} {'RUN_TIME':>12} ST "
              f"{'COMPLETED':>11} CMD")
    else:
        print(f"\n\n-- Schedd: {SCHEDD} : <127.0.0.1:9618?... @ "
              f"{time.strftime('%m/%d/%y %H:%M:%S')}")
        print(f"{'ID':>9} {'OWNER':<10} {'SUBMITTED':>11} {'RUN_TIME':>12} ST PRI SIZE CMD")
    for job in jobs:
        attrs = job["attrs"]
        started = attrs.get("JobStartDate")
        end = attrs.get("CompletionDate") or attrs.get("EnteredCurrentStatus") \
            if history else now
        run = int((end or now) - started) if started else 0
        days, rest = divmod(run, 86400)
        runtime = f"{days}+{time.strftime('%H:%M:%S', time.gmtime(rest))}"
        submitted = time.strftime("%m/%d %H:%M", time.localtime(attrs["QDate"]))
        status = JOB_STATUS_LETTER.get(attrs["JobStatus"], "?")
        cmd = Path(attrs.get("Cmd", "")).name
        if history:
            done = attrs.get("CompletionDate")
            completed = time.strftime("%m/%d %H:%M", time.localtime(done)) if done else "???"
            print(f"{job_id(job):>9} {attrs.get('Owner', ''):<10} {submitted:>11} "
                  f"{runtime:>12} {status}  {completed:>11} {cmd}")
        else:
            print(f"{job_id(job):>9} {attrs.get('Owner', ''):<10} {submitted:>11} "
                  f"{runtime:>12} {status}  0   0.0 {cmd}")
    if not history:
        counts = {s: sum(1 for j in jobs if j["attrs"]["JobStatus"] == s) for s in range(1, 8)}
        print(f"\nTotal for query: {len(jobs)} jobs; {counts[4]} completed, {counts[3]} "
              f"removed, {counts[1]} idle, {counts[2]} running, {counts[5]} held, "
              f"{counts[7]} suspended\n")


_QUERY_VALUES = {"pool", "name", "constraint", "attributes", "limit", "match", "format"}
_QUERY_FLAGS = {"json", "long", "nobatch", "allusers", "totals", "hold", "run", "idle",
                "backwards", "forwards", "wide", "l"}


def condor_q(argv: list[str]) -> int:
    options, positional = parse_tool_args(argv, _QUERY_VALUES, _QUERY_FLAGS)
    check_daemons(options)
    options["long"] = options.get("long") or options.get("l")
    with State(state_dir()) as state:
        jobs = list(state.jobs.values())
    constraints = list(options.get("constraint", []))
    if options.get("hold"):
        constraints.append("JobStatus == 5")
    if options.get("run"):
        constraints.append("JobStatus == 2")
    print_jobs(select(jobs, positional, constraints), options, history=False)
    return 0


def condor_history(argv: list[str]) -> int:
    options, positional = parse_tool_args(argv, _QUERY_VALUES, _QUERY_FLAGS)
    check_daemons(options)
    options["long"] = options.get("long") or options.get("l")
    with State(state_dir()) as state:
        jobs = list(state.history)
    if not options.get("forwards"):
        jobs.reverse()  # newest first, as the history file is read backwards
    chosen = select(jobs, positional, options.get("constraint", []))
    limit = (options.get("limit") or options.get("match") or [None])[0]
    if limit is not None:
        chosen = chosen[:int(limit)]
    print_jobs(chosen, options, history=True)
    return 0


# condor_rm


def condor_rm(argv: list[str]) -> int:
    options, positional = parse_tool_args(argv, {"pool", "name", "constraint", "reason"},
                                          {"all", "forcex"})
    check_daemons(options)
    if not positional and not options.get("constraint") and not options.get("all"):
        raise StandinError("Usage: condor_rm [options] [constraints]\n"
                           " where [options] is zero or more of: ...")
    user = getpass.getuser()
    reason = (options.get("reason") or [None])[0]
    failed = False
    messages, errors = [], []
    with State(state_dir()) as state:
        def remove(jobs: list[dict[str, Any]]) -> int:
            for job in jobs:
                if job["attrs"]["JobStatus"] == 3:
                    continue
                was_running = job["attrs"]["JobStatus"] == 2
                set_status(job, 3)
                job["attrs"]["RemoveReason"] = reason or f"via condor_rm (by user {user})"
                pid = job["private"].get("schedd_pid")
                if not was_running or not pid or not _alive(pid):
                    state.retire(job_id(job))  # nothing runs: it leaves at once
            return len(jobs)

        everything = list(state.jobs.values())
        if options.get("all"):
            remove(everything)
            messages.append("All jobs marked for removal.")
        for constraint in options.get("constraint", []):
            if remove(select(everything, [], [constraint])):
                messages.append(f"All jobs matching constraint ({constraint}) have been "
                                "marked for removal")
            else:
                errors.append(f"Couldn't find/remove all jobs matching constraint "
                              f"({constraint})")
        for spec in positional:
            chosen = select(list(state.jobs.values()), [spec], [])
            if remove(chosen):
                messages.append(f"Job {spec} marked for removal" if "." in spec else
                                f"All jobs in cluster {spec} have been marked for removal"
                                if spec.isdigit() else
                                f"All jobs of user \"{spec}\" have been marked for removal")
            else:
                failed = True
                errors.append(f"Job {spec} not found" if "." in spec else
                              f"Couldn't find/remove all jobs in cluster {spec}"
                              if spec.isdigit() else
                              f"Couldn't find/remove all of user {spec}'s job(s)")
    for message in messages:
        print(message)
    for error in errors:
        print(error, file=sys.stderr)
    return 1 if failed or errors else 0


# condor_config_val


def config_value(name: str) -> str | None:
    """A configuration variable of the pool: ``_CONDOR_NAME`` (case-insensitive)."""
    for key, value in os.environ.items():
        if key.upper() == f"_CONDOR_{name.upper()}":
            return value
    return None


def condor_config_val(argv: list[str]) -> int:
    """``condor_config_val [-pool P] [-name N] [-schedd ...] VAR...``: each value on a line;
    at the first variable not defined, "Not defined: VAR" on stderr and exit status 1."""
    options, names = parse_tool_args(argv, {"pool", "name", "address"},
                                     {"schedd", "master", "startd", "collector", "negotiator"})
    check_daemons(options)
    for name in names:
        value = config_value(name)
        if value is None:
            print(f"Not defined: {name.upper()}", file=sys.stderr)
            return 1
        print(value)
    return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a finished child not yet reaped is a zombie: not alive
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][:1] != "Z"
    except (FileNotFoundError, IndexError):
        return False


# entry points


TOOLS = {"condor_submit": condor_submit, "condor_q": condor_q,
         "condor_history": condor_history, "condor_rm": condor_rm,
         "condor_config_val": condor_config_val}


def main(tool: str, argv: list[str]) -> int:
    try:
        log_call(tool, argv)
        return TOOLS[tool](argv)
    except StandinError as err:
        print(err, file=sys.stderr)
        return err.code


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "schedd":
        sys.exit(run_schedd(Path(sys.argv[2]), int(sys.argv[3])))
    sys.exit(main(Path(sys.argv[1]).name, sys.argv[2:]))
