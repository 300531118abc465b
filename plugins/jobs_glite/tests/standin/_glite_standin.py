"""STAND-IN for the CREAM CLI: glite-ce-job-submit, -status, -cancel, -purge, -delegate-proxy.

Test double of law-core-glite's tests, not gLite: CREAM is retired and cannot be installed
on the test machines, so these commands play one or more CREAM CEs on this machine. They
take the options of the real tools (CREAM CLI 1.x: ``-a``/``--autm-delegation``,
``-D``/``--delegationId``, ``-r``/``--resource``, ``-e``/``--endpoint``, ``-L``/``--level``,
``-N``/``--noint``, ...), refuse what the real tools refuse with their messages (a CE id not
of the form ``host[:port]/cream-<batch>-<queue>``, a submission without ``-a`` or ``-D``, an
unreachable endpoint, an unknown delegation id, a JDL that is no ClassAd or names a missing
InputSandbox file), read JDL files with the ClassAd parser CREAM uses (``classad2`` of the
``htcondor`` bindings), and print what the real tools print (job ids one per line,
``******  JobID=[...]`` status blocks, log lines ``DATE TIME,MS LEVEL - message``).

Jobs really run, as local background processes: the InputSandbox files are copied into a
scratch directory (the "worker node"), the Executable runs there with the Arguments split
like a shell splits them and StdOutput/StdError captured, and at the end the OutputSandbox
files are uploaded to their OutputSandboxDestURI (or OutputSandboxBaseDestURI): a
``gsiftp://`` URI of this machine is copied to its path, any other host fails the upload and
the job (DONE-FAILED with the reason). A job for a queue the CE does not have is ABORTED with
the batch system's refusal, as BLAH reports it.

Environment:

- ``GLITE_STANDIN_DIR`` (required): state directory (jobs, delegations, sandboxes, a log
  of every call in ``calls.jsonl``);
- ``GLITE_STANDIN_CES``: comma-separated CE ids the stand-in plays (default
  ``cream.standin.localhost:8443/cream-pbs-grid``); other endpoints cannot be reached, other
  queues of a known endpoint abort the job.
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

STATE_ENV = "GLITE_STANDIN_DIR"
CES_ENV = "GLITE_STANDIN_CES"
DEFAULT_CES = "cream.standin.localhost:8443/cream-pbs-grid"
CE_ID = re.compile(r"^([^:]+)(:[0-9]+)?/cream-([^-]+)-(.+)")
FINAL = ("DONE-OK", "DONE-FAILED", "CANCELLED", "ABORTED")
FAILED_STATES = ("DONE-FAILED", "CANCELLED", "ABORTED")


class StandinError(Exception):
    """What the real tool prints when it stops, and its exit code."""

    def __init__(self, message: str, code: int = 1, log: bool = True):
        super().__init__(message)
        self.code, self.log = code, log


def log(level: str, message: str) -> None:
    """A log line as the CREAM CLI prints it (log4cpp: ``DATE TIME,MS LEVEL - message``)."""
    now = time.time()
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now)) + f",{int(now % 1 * 1000):03d}"
    print(f"{stamp} {level} - {message}", flush=True)


def now_text() -> str:
    return time.strftime("%a %d %b %Y %H:%M:%S")


def fault(method: str, description: str, cause: str = "N/A") -> str:
    """A CREAM fault, as the CLI renders it."""
    return (f"MethodName=[{method}] Timestamp=[{now_text()}] ErrorCode=[0] "
            f"Description=[{description}] FaultCause=[{cause}]")


# state


class State:
    """Jobs and delegations, read and written under an exclusive lock."""

    def __init__(self) -> None:
        directory = os.environ.get(STATE_ENV)
        if not directory:
            raise StandinError(f"${STATE_ENV} is not set (the glite-ce stand-ins keep their "
                               "state there)")
        self.dir = Path(directory)
        for sub in ("jobs", "delegations", "sandboxes"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)

    def __enter__(self) -> State:
        self._lock = open(self.dir / "state.lock", "a")
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: Any) -> None:
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        self._lock.close()

    def job(self, cream_id: str) -> dict[str, Any] | None:
        try:
            return json.loads((self.dir / "jobs" / f"{cream_id}.json").read_text())
        except FileNotFoundError:
            return None

    def save(self, job: dict[str, Any]) -> None:
        path = self.dir / "jobs" / f"{job['cream_id']}.json"
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(job))
        os.replace(tmp, path)

    def jobs(self) -> list[dict[str, Any]]:
        return [json.loads(p.read_text()) for p in sorted((self.dir / "jobs").glob("*.json"))]

    def delegation(self, endpoint: str, ident: str) -> Path:
        return self.dir / "delegations" / endpoint.replace(":", "_") / ident

    def record_call(self, tool: str, argv: list[str]) -> None:
        with open(self.dir / "calls.jsonl", "a") as f:
            f.write(json.dumps({"tool": tool, "argv": argv, "cwd": os.getcwd()}) + "\n")


def set_status(job: dict[str, Any], status: str, **fields: Any) -> None:
    job["status"] = status
    job["history"].append([status, int(time.time())])
    job.update(fields)


def known_ces() -> list[str]:
    return [ce.strip() for ce in os.environ.get(CES_ENV, DEFAULT_CES).split(",") if ce.strip()]


def endpoint_of(text: str) -> str:
    """``host[:port]`` with CREAM's default port 8443."""
    host = text.split("/", 1)[0]
    return host if ":" in host else f"{host}:8443"


def reach(endpoint: str, service: str = "CREAM2") -> None:
    """Fail as the CLI does when no CE answers at ``endpoint``."""
    if endpoint not in {endpoint_of(ce) for ce in known_ces()}:
        raise StandinError(f"Connection to service [https://{endpoint}/ce-cream/services/"
                           f"{service}] failed: Couldn't resolve host name or connect to it "
                           "(SOAP-ENV:Client)")


# command-line parsing (boost::program_options: short and long options, values attached
# or separate, positional arguments anywhere)


def parse(argv: list[str], values: dict[str, str], flags: dict[str, str]
          ) -> tuple[dict[str, Any], list[str]]:
    options: dict[str, Any] = {}
    positional: list[str] = []
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg == "--":
            positional += args
            break
        if arg.startswith("--"):
            name, eq, attached = arg[2:].partition("=")
        elif arg.startswith("-") and len(arg) > 1:
            name, attached, eq = arg[1], arg[2:], arg[2:]
        else:
            positional.append(arg)
            continue
        key = values.get(name) or flags.get(name)
        if key is None:
            raise StandinError(f"There was an error parsing the command line. Error was: "
                               f"unknown option {name}", log=False)
        if name in values:
            if not eq:
                if not args:
                    raise StandinError("There was an error parsing the command line. Error "
                                       f"was: the required argument for option '--{key}' is "
                                       "missing", log=False)
                attached = args.pop(0)
            options[key] = attached
        else:
            options[key] = True
    return options, positional


COMMON_VALUES = {"l": "logfile", "logfile": "logfile", "c": "conf", "conf": "conf",
                 "p": "proxyfile", "proxyfile": "proxyfile", "t": "timeout",
                 "timeout": "timeout"}
COMMON_FLAGS = {"d": "debug", "debug": "debug", "N": "noint", "noint": "noint",
                "n": "nomsg", "nomsg": "nomsg", "A": "donot-verify-ac-sign",
                "donot-verify-ac-sign": "donot-verify-ac-sign"}


# glite-ce-delegate-proxy


def delegate_proxy(argv: list[str]) -> int:
    options, positional = parse(argv, {**COMMON_VALUES, "e": "endpoint",
                                       "endpoint": "endpoint"}, COMMON_FLAGS)
    if "endpoint" not in options:
        raise StandinError("Endpoint not specified in the command line arguments. Stop.",
                           log=False)
    if len(positional) != 1:
        raise StandinError("Delegation ID not specified in the command line arguments. Stop.",
                           log=False)
    endpoint, ident = endpoint_of(options["endpoint"]), positional[0]
    reach(endpoint, "gridsite-delegation")
    with State() as state:
        path = state.delegation(endpoint, ident)
        if path.exists():
            raise StandinError(fault("putProxy", f"Delegation ID '{ident}' already exists"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(str(time.time()))
    log("INFO", f"Proxy with delegation id [{ident}] successfully delegated to endpoint "
                f"[https://{endpoint}/ce-cream/services/gridsite-delegation]")
    return 0


# glite-ce-job-submit


def read_jdl(path: Path):
    """The JDL as CREAM reads it: comment lines dropped, the rest one ClassAd."""
    import classad2

    text = "".join(line.strip() for line in path.read_text().splitlines()
                   if not line.strip().startswith(("#", "//")))
    try:
        return classad2.parseOne(text)
    except Exception:
        return None


def as_list(ad, key: str) -> list[str]:
    if key not in ad:
        return []
    value = ad[key]
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def job_submit(argv: list[str]) -> int:
    options, jdl_files = parse(argv, {**COMMON_VALUES, "r": "resource", "resource": "resource",
                                      "D": "delegationId", "delegationId": "delegationId",
                                      "V": "vo", "vo": "vo", "L": "leaseId",
                                      "leaseId": "leaseId", "o": "output", "output": "output",
                                      "s": "ftp-streams", "ftp-streams": "ftp-streams"},
                               {**COMMON_FLAGS, "a": "autm-delegation",
                                "autm-delegation": "autm-delegation", "F": "fake",
                                "fake": "fake"})
    stop = None
    if not jdl_files:
        stop = "JDL file not specified in the command line arguments. Stop."
    elif "resource" not in options:
        stop = "CEId not specified in the command line arguments. Stop."
    elif "autm-delegation" in options and "delegationId" in options:
        stop = ("Cannot specify both --autm-delegation and --delegationId options, they're "
                "mutually exclusive. Stop.")
    elif "autm-delegation" not in options and "delegationId" not in options:
        stop = ("Must specify one (and only one) of the two options --autm-delegation "
                "--delegationId. Stop.")
    elif not CE_ID.match(options["resource"]):
        stop = ("Specified CEID has wrong format. Must be <host>[:<tcp_port>]/cream-"
                "<batch_system_name>-<queue_name>")
    if stop:
        print(stop, file=sys.stderr)
        return 1
    ce = options["resource"]
    endpoint = endpoint_of(ce)
    jobs = []
    for name in jdl_files:
        path = Path(name)
        if not path.exists():
            log("ERROR", f"JDL file [{name}] does not exist. Skipping...")
            continue
        ad = read_jdl(path)
        if ad is None:
            log("ERROR", f"Error while processing file [{name}]: Syntax error. Will not submit "
                         "this JDL")
            continue
        problem = check_jdl(ad)
        if problem:
            log("WARN", f"ERROR processing JDL [{name}]: {problem}")
            continue
        isb = [str(Path(f).absolute()) for f in as_list(ad, "InputSandbox")]
        missing = [f for f in isb if not os.access(f, os.R_OK)]
        if missing:
            log("WARN", f"ERROR in JDL: {name}: the file [{missing[0]}] is not there or is not "
                        "accessible. Will NOT submit this JDL.")
            continue
        jobs.append((ad, isb))
    if not jobs:
        return 0  # as the real tool: every JDL was skipped, nothing to say but the log lines
    reach(endpoint)
    with State() as state:
        if "autm-delegation" in options:
            ident = f"auto{random.getrandbits(64):016x}"
            state.delegation(endpoint, ident).parent.mkdir(parents=True, exist_ok=True)
            state.delegation(endpoint, ident).write_text(str(time.time()))
        else:
            ident = options["delegationId"]
            if not state.delegation(endpoint, ident).exists():
                raise StandinError(fault("jobRegister", "system error",
                                         f"delegation [{ident}] not found!"))
        ids = []
        for ad, isb in jobs:
            cream_id = f"CREAM{random.randrange(10**8, 10**9)}"
            sandbox = state.dir / "sandboxes" / cream_id
            (sandbox / "ISB").mkdir(parents=True)
            for f in isb:  # the upload to the CE's input sandbox
                shutil.copy2(f, sandbox / "ISB" / Path(f).name)
            job = {"cream_id": cream_id, "job_id": f"https://{endpoint}/{cream_id}",
                   "ce": ce, "jdl": jdl_dict(ad),
                   "delegation": ident, "history": [], "exit_code": "", "reason": "",
                   "pgid": None}
            set_status(job, "REGISTERED")
            set_status(job, "PENDING")
            queue = CE_ID.match(ce).group(4)
            if ce not in known_ces():
                set_status(job, "ABORTED", reason=(
                    "BLAH error: submission command failed (exit code = 1) (stdout:) (stderr:"
                    f"qsub: Unknown queue MSG=requested queue not found: {queue}-) N/A "
                    "(jobId = " + cream_id + ")"))
            else:
                set_status(job, "IDLE")
            state.save(job)
            ids.append(job["job_id"])
            if job["status"] == "IDLE":
                subprocess.Popen([sys.executable, os.path.abspath(__file__), "__run__",
                                  cream_id], start_new_session=True, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 env={**os.environ})
    for job_id in ids:
        print(job_id)
    return 0


def jdl_dict(ad) -> dict[str, Any]:
    """The JDL's attributes as JSON values (lists of strings for the sandboxes)."""
    values: dict[str, Any] = {}
    for key in ad.keys():
        value = ad.eval(key)
        if isinstance(value, list):
            values[key] = [str(v) for v in value]
        else:
            values[key] = value if isinstance(value, (str, int, float, bool)) else str(value)
    return values


def check_jdl(ad) -> str | None:
    keys = {k.lower() for k in ad.keys()}
    if "executable" not in keys:
        return "the Executable attribute is mandatory"
    if "outputsandboxdesturi" in keys and "outputsandboxbasedesturi" in keys:
        return ("the OutputSandboxDestURI and OutputSandboxBaseDestURI attributes cannot be "
                "specified together")
    if "outputsandbox" in keys:
        if "outputsandboxdesturi" not in keys and "outputsandboxbasedesturi" not in keys:
            return "OutputSandbox specified without OutputSandboxDestURI/OutputSandboxBaseDestURI"
        if "outputsandboxdesturi" in keys and \
                len(as_list(ad, "OutputSandboxDestURI")) != len(as_list(ad, "OutputSandbox")):
            return "OutputSandboxDestURI and OutputSandbox have different cardinality"
    names = [Path(f).name for f in as_list(ad, "InputSandbox")]
    if len(set(names)) != len(names):
        return "the InputSandbox holds two files of the same name"
    return None


# the "worker node": runs one job


def run_job(cream_id: str) -> int:
    with State() as state:
        job = state.job(cream_id)
        if job is None or job["status"] != "IDLE":
            return 0
        sandbox = state.dir / "sandboxes" / cream_id
        scratch = sandbox / "WN"
        shutil.copytree(sandbox / "ISB", scratch)
        jdl = job["jdl"]
        executable = str(jdl["Executable"])
        if "/" not in executable:  # staged through the InputSandbox
            os.chmod(scratch / executable, 0o755)
            executable = str(scratch / executable)
        args = shlex.split(str(jdl.get("Arguments", "")))
        stdout = open(scratch / str(jdl.get("StdOutput", "/dev/null")), "w")
        stderr = open(scratch / str(jdl.get("StdError", "/dev/null")), "w")
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/"),
               "TMPDIR": os.environ.get("TMPDIR", "/tmp")}
        try:
            proc = subprocess.Popen([executable, *args], cwd=scratch, stdout=stdout,
                                    stderr=stderr, env=env, start_new_session=True)
        except OSError as err:
            set_status(job, "DONE-FAILED", reason=f"Job wrapper could not start the "
                       f"executable: {err.strerror}", exit_code="")
            state.save(job)
            return 0
        set_status(job, "RUNNING", pgid=proc.pid)
        set_status(job, "REALLY-RUNNING")
        state.save(job)
    code = proc.wait()
    stdout.close()
    stderr.close()
    with State() as state:
        job = state.job(cream_id)
        if job is None or job["status"] in FINAL:  # cancelled or purged meanwhile
            return 0
        problems = upload_outputs(job, scratch)
        if code < 0:
            set_status(job, "DONE-FAILED", exit_code="",
                       reason=f"Job terminated by signal {-code}")
        elif problems:
            set_status(job, "DONE-FAILED", exit_code=str(code), reason="; ".join(problems))
        else:
            set_status(job, "DONE-OK", exit_code=str(code))
        state.save(job)
    return 0


def upload_outputs(job: dict[str, Any], scratch: Path) -> list[str]:
    """Copy the OutputSandbox files to their destinations; the problems met."""
    jdl = job["jdl"]
    files = jdl.get("OutputSandbox", [])
    dests = jdl.get("OutputSandboxDestURI") or [
        str(jdl.get("OutputSandboxBaseDestURI", "")).rstrip("/") + "/" + Path(f).name
        for f in files]
    local = {"localhost", "127.0.0.1", socket.gethostname(), socket.getfqdn()}
    problems = []
    for name, dest in zip(files, dests):
        url = urlsplit(dest)
        source = scratch / name
        if not source.exists():
            problems.append(f"Cannot upload file {name} into {dest}: no such file in the "
                            "job's working directory")
        elif url.scheme != "gsiftp" or url.hostname not in local:
            problems.append(f"Cannot upload file {name} into {dest}: globus_ftp_client: the "
                            "server responded with an error (connection refused)")
        else:
            target = Path(unquote(url.path))
            try:
                shutil.copyfile(source, target)
            except OSError as err:
                problems.append(f"Cannot upload file {name} into {dest}: {err.strerror}")
    return problems


# glite-ce-job-status, -cancel, -purge


def job_ids_of(positional: list[str]) -> list[str]:
    if not positional:
        raise StandinError("You didn't provide one or more JobID(s). Stop.", log=False)
    for job_id in positional:
        reach(urlsplit(job_id).netloc)
    return positional


def lookup(state: State, job_id: str) -> dict[str, Any] | None:
    job = state.job(job_id.rsplit("/", 1)[-1])
    return job if job is not None and job["job_id"] == job_id else None


def job_status(argv: list[str]) -> int:
    options, positional = parse(argv, {**COMMON_VALUES, "L": "level", "level": "level",
                                       "e": "endpoint", "endpoint": "endpoint",
                                       "s": "status", "status": "status",
                                       "i": "input", "input": "input"},
                                {**COMMON_FLAGS, "a": "all", "all": "all"})
    level = options.get("level", "0")
    if not re.match(r"^[0-2]\b", level):
        raise StandinError("Specified output level is wrong: must be a number between 0 and "
                           "2. Stop.")
    job_ids = job_ids_of(positional)
    with State() as state:
        for job_id in job_ids:
            job = lookup(state, job_id)
            print(f"\n******  JobID=[{job_id}]")
            if job is None:
                print("\tFor this job CREAM has returned a fault: " + fault(
                    "jobStatus", f"job [{job_id.rsplit('/', 1)[-1]}] not found"))
                print("\n")
                continue
            status = job["status"]
            label = "Status        " if level == "0" else "Current Status "
            print(f"\t{label}= [{status}]")
            if status in FINAL:
                print(f"\tExitCode{' ' * (len(label) - 8)}= [{job['exit_code']}]")
                if status in FAILED_STATES:
                    print(f"\tFailureReason{' ' * (len(label) - 13)}= [{job['reason']}]")
            if level != "0":
                print("\n\tJob status changes:\n\t-------------------")
                for name, stamp in job["history"]:
                    when = time.strftime("%a %d %b %Y %H:%M:%S", time.localtime(stamp))
                    print(f"\tStatus         = [{name}] - [{when}] ({stamp})")
            print("\n")
    return 0


def job_cancel(argv: list[str]) -> int:
    options, positional = parse(argv, {**COMMON_VALUES, "e": "endpoint",
                                       "endpoint": "endpoint", "i": "input", "input": "input"},
                                {**COMMON_FLAGS, "a": "all", "all": "all"})
    code = 0
    with State() as state:
        for job_id in job_ids_of(positional):
            job = lookup(state, job_id)
            if job is None or job["status"] in FINAL:
                log("ERROR", f"JobID [{job_id}]: " + fault(
                    "jobCancel", "job not found" if job is None else
                    f"status not compatible with the specified command: {job['status']}"))
                code = 1
                continue
            set_status(job, "CANCELLED", reason="Cancelled by user", exit_code="")
            state.save(job)
            if job.get("pgid"):
                try:
                    os.killpg(job["pgid"], signal.SIGKILL)
                except ProcessLookupError:
                    pass
    return code


def job_purge(argv: list[str]) -> int:
    options, positional = parse(argv, {**COMMON_VALUES, "e": "endpoint",
                                       "endpoint": "endpoint", "i": "input", "input": "input"},
                                {**COMMON_FLAGS, "a": "all", "all": "all"})
    code = 0
    with State() as state:
        for job_id in job_ids_of(positional):
            job = lookup(state, job_id)
            if job is None or job["status"] not in FINAL:
                log("ERROR", f"JobID [{job_id}]: " + fault(
                    "jobPurge", "job not found" if job is None else
                    f"status not compatible with the specified command: {job['status']}"))
                code = 1
                continue
            (state.dir / "jobs" / f"{job['cream_id']}.json").unlink()
            shutil.rmtree(state.dir / "sandboxes" / job["cream_id"], ignore_errors=True)
    return code


TOOLS = {"glite-ce-job-submit": job_submit, "glite-ce-job-status": job_status,
         "glite-ce-job-cancel": job_cancel, "glite-ce-job-purge": job_purge,
         "glite-ce-delegate-proxy": delegate_proxy}


def main(tool: str, argv: list[str]) -> int:
    try:
        if tool == "__run__":
            return run_job(argv[0])
        State().record_call(tool, argv)
        return TOOLS[tool](argv)
    except StandinError as err:
        if err.log:
            log("FATAL", str(err))
        else:
            print(str(err), file=sys.stderr)
        return err.code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
