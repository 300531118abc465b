"""The HTCondor job manager: condor_submit, condor_q, condor_history and condor_rm.

A batch of jobs is one submit description, one cluster: the values shared by the batch
are written once and each job is a row of ``queue law_job_num, law_attempt, law_stdout,
law_stderr from ( ... )``. Every value is quoted for the submit language
(:mod:`law_core_htcondor.submit_file`). Jobs are queried in bulk, by cluster, with
``condor_q -json``; jobs that left the queue are looked up with ``condor_history``. A held
job counts as failed with its ``HoldReason`` and is removed, so that it does not linger in
the queue. The end of a job is learned from the exit status the job records itself (the
core reads it), which file transfer mode brings back from the worker.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

from law_core.plugin import (
    FAILED,
    FINISHED,
    JOB_FILES,
    PENDING,
    RUNNING,
    STATUS_DIR,
    JobState,
    JobSubmission,
    JobSubmissionError,
    RemoteJobManager,
    WorkflowError,
)
from law_core_htcondor.submit_file import (
    arguments_value,
    classad_literal,
    classad_string,
    file_list,
    quote_argument,
    safe_item,
    submit_value,
)

logger = logging.getLogger("law_core_htcondor")

#: HTCondor's JobStatus codes
JOB_STATUS = {0: "unexpanded", 1: "idle", 2: "running", 3: "removed", 4: "completed",
              5: "held", 6: "transferring output", 7: "suspended"}
_STATUS_MAP = {0: PENDING, 1: PENDING, 2: RUNNING, 3: FAILED, 4: FINISHED, 5: FAILED,
               6: RUNNING, 7: RUNNING}

#: job attributes asked from condor_q and condor_history
QUERY_ATTRIBUTES = ("ClusterId", "ProcId", "JobStatus", "ExitCode", "ExitBySignal",
                    "ExitSignal", "HoldReason", "HoldReasonCode", "HoldReasonSubCode",
                    "RemoveReason", "RemoteHost", "LastRemoteHost")

#: the job's executable, shipped with this package and written into the job directory
LAUNCHER = "law_htcondor_job.sh"

#: the row variables of the queue statement
ROW_VARIABLES = ("law_job_num", "law_attempt", "law_stdout", "law_stderr")

_SUBMITTED = re.compile(r"(\d+) job\(s\) submitted to cluster (\d+)\.")
_JOB_ID = re.compile(r"\d+\.\d+")
_EXTRA_LINE = re.compile(r"\s*(\+?[A-Za-z_][A-Za-z0-9_.]*)\s*=(.*)")


class HTCondorJobManager(RemoteJobManager):
    """``--workflow htcondor``."""

    name = "htcondor"
    #: condor_rm arguments per call
    cancel_chunk = 500

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # hold reasons of jobs this process removed, for when the history lacks them
        self._held_errors: dict[str, str] = {}

    @property
    def max_batch_size(self) -> int:  # type: ignore[override]
        return self._config_number("max_batch_size", 1000, integer=True)

    def _config_number(self, option: str, default: float, integer: bool = False) -> Any:
        """A number from ``[htcondor]``; empty means ``default``, anything else that is no
        number is a ConfigError naming the option, value and file line."""
        from law_core.plugin import get_config

        config = get_config()
        if not str(config.get(self.name, option, default="")).strip():
            return default
        return (config.get_int if integer else config.get_float)(self.name, option)

    # options: parameter, else config, else the pool's default

    def _option(self, param: str, option: str) -> Any:
        value = getattr(self.workflow, param, None)
        return value if value else (self.config(option) or None)

    def tool_options(self) -> list[str]:
        """``-pool`` and ``-name`` for every condor_* call."""
        options = []
        if pool := self._option("htcondor_pool", "pool"):
            options += ["-pool", str(pool)]
        if scheduler := self._option("htcondor_scheduler", "scheduler"):
            options += ["-name", str(scheduler)]
        return options

    def file_transfer(self) -> bool:
        """True for pools without a shared file system: the job files go in and the job's
        status comes back through HTCondor's file transfer."""
        value = getattr(self.workflow, "htcondor_file_transfer", None)
        if value is not None:
            return bool(value)
        from law_core.plugin import get_config

        return get_config().get_bool(self.name, "file_transfer", default=False)

    def option_lines(self) -> list[str]:
        """Submit lines from parameters and the ``[htcondor]`` config section."""
        universe = str(self._option("htcondor_universe", "universe") or "vanilla")
        if not re.fullmatch(r"[A-Za-z]+", universe):
            raise WorkflowError(f"the HTCondor universe must be a word such as vanilla, not "
                                f"{universe!r}")
        lines = [f"universe = {universe}"]
        if requirements := self._option("htcondor_requirements", "requirements"):
            lines.append(f"requirements = {_expression(str(requirements), 'requirements')}")
        if cpus := self._option("htcondor_request_cpus", "request_cpus"):
            lines.append(f"request_cpus = {_expression(str(cpus), 'request_cpus')}")
        memory = getattr(self.workflow, "htcondor_request_memory", 0)
        if memory:  # MiB, HTCondor's default unit of request_memory
            lines.append(f"request_memory = {max(1, math.ceil(memory))}")
        elif memory := self.config("request_memory"):
            lines.append(f"request_memory = {_expression(memory, 'request_memory')}")
        disk = getattr(self.workflow, "htcondor_request_disk", 0)
        if disk:  # KiB, HTCondor's default unit of request_disk
            lines.append(f"request_disk = {max(1, math.ceil(disk * 1024))}")
        elif disk := self.config("request_disk"):
            lines.append(f"request_disk = {_expression(disk, 'request_disk')}")
        if seconds := self._max_runtime():
            lines.append(f"+MaxRuntime = {seconds}")
        if group := self._option("htcondor_accounting_group", "accounting_group"):
            lines.append(f"accounting_group = {submit_value(str(group), 'accounting_group')}")
        return lines

    def _max_runtime(self) -> int | None:
        minutes = getattr(self.workflow, "htcondor_max_runtime", 0)
        if not minutes and (text := self.config("max_runtime")):
            from law_core.plugin import DurationParameter

            try:
                minutes = DurationParameter(unit="m").parse(text)
            except ValueError as err:
                raise WorkflowError(f"[htcondor] max_runtime: {err}") from None
        return max(1, math.ceil(round(minutes * 60, 6))) if minutes else None

    def extra_lines(self) -> list[str]:
        """Custom submit lines: ``[htcondor] extra_lines``, then the task's
        ``htcondor_submit_lines()`` if it has one. getenv stays false: jobs must not carry
        the submitting shell's secrets (forward chosen variables with ``[job] forward_env``)."""
        lines = [line.strip() for line in (self.config("extra_lines") or "").splitlines()]
        hook = getattr(self.workflow, "htcondor_submit_lines", None)
        if callable(hook):
            lines += [str(line).strip() for line in hook() or []]
        checked = []
        for line in lines:
            if not line or line.startswith("#"):
                continue
            match = _EXTRA_LINE.fullmatch(line)
            if match is None:
                raise WorkflowError(
                    f"custom HTCondor submit lines must read 'command = value' or "
                    f"'+Attribute = value', not {line!r} (queue statements are written by "
                    "law-core-htcondor)")
            command, value = match.group(1).lower(), match.group(2).strip().lower()
            if command == "getenv" and value not in ("false", "no", "0", "f", "n"):
                raise WorkflowError(
                    f"'{line}': law-core-htcondor never passes the submitting environment to "
                    "jobs (it may hold secrets); list the variables jobs need in [job] "
                    "forward_env instead")
            checked.append(line)
        return checked

    # the submit description

    def submit_description(self, jobs: list[JobSubmission]) -> str:
        """One submit description for the batch, one row per job."""
        first = jobs[0]
        job_dir = first.job_dir  # as the commands name it
        absolute = os.path.abspath(job_dir)
        transfer = self.file_transfer()
        inputs: list[str] = []
        launcher_args = ["-t", "-d", STATUS_DIR] if transfer else []
        tokens, row_extra = _command_template(jobs, job_dir if transfer else None, inputs)
        rows = []
        for i, job in enumerate(jobs):
            row = [str(job.num), str(job.attempt),
                   _log_item(job.stdout, job_dir, "stdout"), _log_item(job.stderr, job_dir,
                                                                         "stderr")]
            row += [values[i] for values in row_extra.values()]
            rows.append(" ".join(row))
        variables = [*ROW_VARIABLES, *row_extra]
        lines = [
            f"# law-core-htcondor: {len(jobs)} jobs (numbers {first.num}..{jobs[-1].num}), "
            "one per row of the queue statement",
            f"# job directory: {absolute}",
            *self.option_lines(),
            f"executable = {submit_value(str(Path(absolute) / LAUNCHER), 'the executable')}",
            "arguments = " + arguments_value(
                [quote_argument(a) for a in launcher_args] + ["--"] + tokens),
            f"initialdir = {submit_value(absolute, 'the job directory')}",
            "output = $(law_stdout)",
            "error = $(law_stderr)",
            f"batch_name = {submit_value(_batch_name(first), 'the batch name')}",
            "getenv = false",
            f"+LawCoreJobDir = {classad_string(absolute, 'the job directory')}",
            "+LawCoreJobNum = $(law_job_num)",
            "+LawCoreAttempt = $(law_attempt)",
        ]
        should = self.config("should_transfer_files")
        if transfer:
            for name in JOB_FILES:
                if name not in inputs and (Path(job_dir) / name).exists():
                    inputs.append(name)
            inputs += [_input_path(p) for p in self._config_list("transfer_input_files")]
            outputs = [STATUS_DIR, *self._config_list("transfer_output_files")]
            when = self.config("when_to_transfer_output") or "ON_EXIT"
            lines += [
                f"should_transfer_files = {submit_value(should or 'YES')}",
                f"when_to_transfer_output = {submit_value(when)}",
                "transfer_executable = true",
                f"transfer_input_files = {file_list(inputs, 'the input file')}",
                f"transfer_output_files = {file_list(outputs, 'the output file')}",
            ]
        else:
            # the jobs read and write the job directory in place: only machines that share
            # the file system (the same FileSystemDomain) may run them
            lines += [f"should_transfer_files = {submit_value(should or 'NO')}",
                      "transfer_executable = false"]
        lines += self.extra_lines()
        lines.append(f"queue {', '.join(variables)} from (")
        lines += rows
        lines.append(")")
        return "\n".join(lines) + "\n"

    def _config_list(self, option: str) -> list[str]:
        from law_core.plugin import get_config

        return get_config().get_list(self.name, option, default=[])

    # the primitives

    def submit(self, jobs: list[JobSubmission]) -> list[str]:
        job_dir = Path(jobs[0].job_dir)
        self._install_launcher(job_dir)
        text = self.submit_description(jobs)
        path = job_dir / f"batch_{jobs[0].num}_{jobs[0].attempt}.jdl"
        path.write_text(text)
        args = ["condor_submit", *self.tool_options(), path.name]
        timeout = self._config_number("submit_timeout", 600.0)
        try:
            result = self._run(args, cwd=job_dir, timeout=timeout)
        except subprocess.TimeoutExpired:
            found = self.recover(jobs)
            if len(found) == len(jobs):  # it went through after all
                return [found[job.num] for job in jobs]
            raise JobSubmissionError(
                f"condor_submit did not answer within {timeout:g} s and the schedd does not "
                f"know the jobs of {path}; try again later") from None
        if result.returncode != 0:
            raise JobSubmissionError(
                f"condor_submit refused the jobs: {_tool_error(result)}; check the options "
                f"(--htcondor-*, the [htcondor] config section) in the submit description "
                f"{path}")
        match = _SUBMITTED.search(result.stdout)
        if match is None:
            raise JobSubmissionError(
                f"condor_submit gave no cluster id for {path}: {result.stdout.strip()!r}")
        count, cluster = int(match.group(1)), match.group(2)
        if count != len(jobs):
            raise JobSubmissionError(f"condor_submit submitted {count} jobs for the "
                                     f"{len(jobs)} rows of {path}")
        return [f"{cluster}.{proc}" for proc in range(count)]

    def query(self, job_ids: list[str]) -> dict[str, JobState]:
        wanted = set(_check_ids(job_ids))
        if not wanted:
            return {}
        clusters = sorted({job_id.split(".")[0] for job_id in wanted}, key=int)
        ads = self._json(["condor_q", *self.tool_options(), "-json", "-attributes",
                          ",".join(QUERY_ATTRIBUTES), *clusters])
        states = self._states(ads, wanted)
        missing = sorted(wanted - set(states), key=_id_key)
        if missing:
            states.update(self._history(missing))
        held = [job_id for job_id, state in states.items()
                if state.extra.get("condor_status") == "held"]
        if held:
            for job_id in held:
                self._held_errors[job_id] = states[job_id].error or "held"
            logger.info("removing %d held HTCondor jobs: %s", len(held), " ".join(held))
            self.cancel(held)
        return states

    def cancel(self, job_ids: list[str]) -> None:
        ids = _check_ids(job_ids)
        for i in range(0, len(ids), self.cancel_chunk):
            result = self._run(["condor_rm", *self.tool_options(),
                                *ids[i:i + self.cancel_chunk]])
            if result.returncode != 0:  # jobs that already left the queue are no error
                logger.debug("condor_rm: %s", _tool_error(result))

    def recover(self, jobs: list[JobSubmission]) -> dict[int, str]:
        """Find jobs of an interrupted submission by the job directory and job number
        every job carries (``LawCoreJobDir``, ``LawCoreJobNum``, ``LawCoreAttempt``)."""
        if not jobs:
            return {}
        wanted = {(job.num, job.attempt) for job in jobs}
        by_attempt: dict[int, list[int]] = {}
        for num, attempt in wanted:
            by_attempt.setdefault(attempt, []).append(num)
        directory = classad_literal(os.path.abspath(jobs[0].job_dir))
        attempts = " || ".join(
            f"(LawCoreAttempt == {attempt} && {_in_ranges('LawCoreJobNum', nums)})"
            for attempt, nums in sorted(by_attempt.items()))
        constraint = f"LawCoreJobDir =?= {directory} && ({attempts})"
        attributes = "ClusterId,ProcId,JobStatus,LawCoreJobNum,LawCoreAttempt"
        limit = ["-limit", str(len(wanted))]
        found: dict[int, str] = {}
        for tool in ("condor_history", "condor_q"):  # the queue's answer wins
            try:
                ads = self._json([tool, *self.tool_options(), "-json", "-attributes",
                                  attributes, "-constraint", constraint,
                                  *(limit if tool == "condor_history" else [])])
            except (RuntimeError, subprocess.TimeoutExpired) as err:
                if tool == "condor_q":
                    raise
                logger.debug("condor_history unavailable for recovery: %s", err)
                continue
            for ad in ads:
                key = (ad.get("LawCoreJobNum"), ad.get("LawCoreAttempt"))
                if key in wanted:
                    found[key[0]] = f"{ad['ClusterId']}.{ad['ProcId']}"
        return found

    # helpers

    def _states(self, ads: list[dict[str, Any]], wanted: set[str]) -> dict[str, JobState]:
        states = {}
        for ad in ads:
            job_id = f"{ad.get('ClusterId')}.{ad.get('ProcId')}"
            if job_id in wanted and (state := self._state(job_id, ad)) is not None:
                states[job_id] = state
        return states

    def _state(self, job_id: str, ad: dict[str, Any]) -> JobState | None:
        code = ad.get("JobStatus")
        status = _STATUS_MAP.get(code) if isinstance(code, int) else None
        if status is None:
            logger.debug("HTCondor job %s has an unknown JobStatus %r", job_id, code)
            return None
        extra = {"condor_status": JOB_STATUS[code]}
        if host := ad.get("RemoteHost") or ad.get("LastRemoteHost"):
            extra["host"] = host
        exit_code, error = None, None
        if code == 5 or (code == 3 and ad.get("HoldReason")):
            error = _hold_error(ad)
        elif code == 3:
            error = self._held_errors.get(job_id) or \
                f"removed from HTCondor: {ad.get('RemoveReason') or 'no reason given'}"
        elif code == 4:
            if ad.get("ExitBySignal"):
                error = f"killed by signal {ad.get('ExitSignal')}"
                status = FAILED
            elif isinstance(ad.get("ExitCode"), int):
                exit_code = ad["ExitCode"]
                if exit_code != 0:
                    error, status = f"exit code {exit_code}", FAILED
        return JobState(status, exit_code=exit_code, error=error, extra=extra)

    def _history(self, job_ids: list[str]) -> dict[str, JobState]:
        """States of jobs that left the queue; the history is optional (the core reads
        the exit status each job records), so a schedd without one is no error."""
        try:
            ads = self._json(["condor_history", *self.tool_options(), "-json", "-attributes",
                              ",".join(QUERY_ATTRIBUTES), "-limit", str(len(job_ids)),
                              "-constraint", _ids_constraint(job_ids)])
        except (RuntimeError, subprocess.TimeoutExpired) as err:
            logger.debug("condor_history failed: %s", err)
            return {}
        return self._states(ads, set(job_ids))

    def _json(self, args: list[str]) -> list[dict[str, Any]]:
        result = self._run(args)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {_tool_error(result)}")
        text = result.stdout.strip()
        if not text:  # no matching job: condor_q prints nothing at all
            return []
        try:
            ads = json.loads(text)
        except ValueError as err:
            raise RuntimeError(f"{args[0]} -json printed no JSON ({err}): {text[:200]!r}") \
                from None
        return [ad for ad in ads if isinstance(ad, dict)] if isinstance(ads, list) else []

    def _run(self, args: list[str], cwd: Path | None = None,
             timeout: float = 300) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                                  cwd=cwd)
        except FileNotFoundError:
            raise WorkflowError(
                f"'{args[0]}' was not found: is this an HTCondor submit host? "
                "(law-core-htcondor calls condor_submit, condor_q, condor_history and "
                "condor_rm)") from None

    def _install_launcher(self, job_dir: Path) -> None:
        target = job_dir / LAUNCHER
        source = resources.files("law_core_htcondor").joinpath(LAUNCHER)
        text = source.read_text()
        if not target.exists() or target.read_text() != text:
            tmp = job_dir / f".{LAUNCHER}.tmp"
            tmp.write_text(text)
            tmp.chmod(0o755)
            tmp.replace(target)


def _command_template(jobs: list[JobSubmission], scratch_for: str | None,
                      inputs: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """The jobs' commands as ``arguments`` tokens: a value all jobs share is written once,
    the job number and attempt as row macros, other differing values as extra row items.

    With ``scratch_for`` (file transfer mode) paths in that job directory become "./NAME"
    (the launcher makes them absolute in the scratch directory) and NAME is added to
    ``inputs``."""
    lengths = {len(job.command) for job in jobs}
    if len(lengths) != 1:
        raise WorkflowError("the jobs of one HTCondor batch must have commands of one length")
    tokens: list[str] = []
    extra: dict[str, list[str]] = {}
    for i in range(lengths.pop()):
        values = [job.command[i] for job in jobs]
        if scratch_for is not None:
            values = [_scratch_path(value, scratch_for, inputs) for value in values]
        if all(value == str(job.num) for value, job in zip(values, jobs)):
            tokens.append("$(law_job_num)")
        elif all(value == str(job.attempt) for value, job in zip(values, jobs)):
            tokens.append("$(law_attempt)")
        elif len(set(values)) == 1:
            tokens.append(quote_argument(values[0], "a command argument"))
        else:
            name = f"law_arg{i}"
            extra[name] = [safe_item(value, "a command argument") for value in values]
            tokens.append(f"$({name})")
    return tokens, extra


def _scratch_path(value: str, job_dir: str, inputs: list[str]) -> str:
    if value == job_dir:
        return "."
    prefix = job_dir.rstrip("/") + "/"
    if not value.startswith(prefix):
        return value
    relative = value[len(prefix):]
    top = relative.split("/", 1)[0]
    if top not in inputs:
        inputs.append(top)
    return "./" + relative


def _log_item(path: str, job_dir: str, what: str) -> str:
    prefix = job_dir.rstrip("/") + "/"
    relative = path[len(prefix):] if path.startswith(prefix) else path
    return safe_item(relative, f"the {what} path")


def _input_path(path: str) -> str:
    return os.path.abspath(os.path.expanduser(path))


def _batch_name(job: JobSubmission) -> str:
    suffix = f"-{job.num}-{job.attempt}"
    return job.name[:-len(suffix)] if job.name.endswith(suffix) else job.name


def _expression(value: str, what: str) -> str:
    """A ClassAd expression or number from a parameter or the config, written as given."""
    value = value.strip()
    if not value or "\n" in value or "\r" in value:
        raise WorkflowError(f"the HTCondor {what} must be one line, not {value!r}")
    return value


def _hold_error(ad: dict[str, Any]) -> str:
    reason = ad.get("HoldReason") or "no reason given"
    code = ad.get("HoldReasonCode")
    return f"held by HTCondor: {reason}" + (f" (HoldReasonCode {code})" if code else "")


def _check_ids(job_ids: list[str]) -> list[str]:
    bad = [job_id for job_id in job_ids if not _JOB_ID.fullmatch(str(job_id))]
    if bad:
        raise WorkflowError(f"not HTCondor job ids (CLUSTER.PROC): {bad[:5]}")
    return list(job_ids)


def _id_key(job_id: str) -> tuple[int, int]:
    cluster, proc = job_id.split(".")
    return int(cluster), int(proc)


def _ids_constraint(job_ids: list[str]) -> str:
    """A constraint matching exactly these jobs, runs of procs written as ranges."""
    by_cluster: dict[int, list[int]] = {}
    for job_id in job_ids:
        cluster, proc = _id_key(job_id)
        by_cluster.setdefault(cluster, []).append(proc)
    return " || ".join(f"(ClusterId == {cluster} && {_in_ranges('ProcId', procs)})"
                       for cluster, procs in sorted(by_cluster.items()))


def _in_ranges(attribute: str, numbers: list[int]) -> str:
    """``attribute`` is one of ``numbers``, consecutive numbers written as one range."""
    runs: list[list[int]] = []
    for number in sorted(set(numbers)):
        if runs and number == runs[-1][1] + 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    terms = [f"{attribute} == {a}" if a == b else f"({attribute} >= {a} && {attribute} <= {b})"
             for a, b in runs]
    return f"({' || '.join(terms)})"


def _tool_error(result: subprocess.CompletedProcess) -> str:
    """The reason a condor_* tool gave: its ERROR lines, else its last line of stderr."""
    lines = [line.strip() for line in (result.stderr + "\n" + result.stdout).splitlines()
             if line.strip()]
    errors = [re.sub(r"^ERROR:\s*", "", line) for line in lines if "ERROR" in line]
    if errors:
        return "; ".join(errors)
    stderr = [line.strip() for line in result.stderr.splitlines() if line.strip()]
    return stderr[-1] if stderr else f"exit code {result.returncode}"

