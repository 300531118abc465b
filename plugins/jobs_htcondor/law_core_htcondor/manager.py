"""The HTCondor job manager: condor_submit, condor_q, condor_history and condor_rm.

A batch of jobs is one submit description and one cluster: what the jobs share is written
once, each job is a row of ``queue law_job_num, law_attempt, law_stdout, law_stderr from``.
Jobs are queried in bulk (``condor_q -json`` by cluster, ``condor_history`` for those that
left the queue); a held job fails with its ``HoldReason`` and is removed. With file transfer
the jobs run as the core's ``transfer_spec`` says, in HTCondor's scratch directory.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from pathlib import Path
from typing import Any

from law_core.plugin import (
    FAILED,
    FINISHED,
    PENDING,
    RUNNING,
    STATUS_DIR,
    JobState,
    JobSubmission,
    JobSubmissionError,
    JobTransfer,
    RemoteJobManager,
    WorkflowError,
)
from law_core_htcondor.settings import HTCondorSettings
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

#: HTCondor's JobStatus codes: name, and law-core's status
JOB_STATUS = {0: ("unexpanded", PENDING), 1: ("idle", PENDING), 2: ("running", RUNNING),
              3: ("removed", FAILED), 4: ("completed", FINISHED), 5: ("held", FAILED),
              6: ("transferring output", RUNNING), 7: ("suspended", RUNNING)}
ATTRIBUTES = "ClusterId,ProcId,JobStatus,ExitCode,ExitBySignal,ExitSignal,HoldReason," \
    "HoldReasonCode,RemoveReason,RemoteHost,LastRemoteHost,LawCoreJobNum,LawCoreAttempt"
_SUBMITTED = re.compile(r"(\d+) job\(s\) submitted to cluster (\d+)\.")
_CUSTOM_LINE = re.compile(r"(\+?[A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)")
#: the schedd's MAX_JOBS_PER_SUBMISSION by condor_* options and CONDOR_CONFIG, asked once
_SCHEDD_LIMITS: dict[tuple[str, ...], int | None] = {}


class HTCondorJobManager(RemoteJobManager):
    """``--workflow htcondor``."""

    name = "htcondor"
    settings_cls = HTCondorSettings
    tools = ("condor_submit", "condor_q", "condor_history", "condor_rm", "condor_config_val")

    @property
    def max_batch_size(self) -> int:  # type: ignore[override]
        """``[htcondor] max_batch_size``, at most the schedd's MAX_JOBS_PER_SUBMISSION."""
        key = (*self.tool_options(), os.environ.get("CONDOR_CONFIG", ""))
        if key not in _SCHEDD_LIMITS:  # the local config, or the schedd named
            where = [*self.tool_options(), "-schedd"] if self.settings.scheduler else []
            out = self.run_tool(["condor_config_val", *where, "MAX_JOBS_PER_SUBMISSION"])
            text = out.stdout.strip() if out.returncode == 0 else ""
            _SCHEDD_LIMITS[key] = int(text) if text.isdigit() else None
        sizes = (self.settings.max_batch_size, _SCHEDD_LIMITS[key])
        return min((n for n in sizes if n and n > 0), default=1000)

    def shared_file_system(self) -> bool:
        """Not in file transfer mode (the jobs then carry the core's software bundle),
        else as ``[job] shared_fs`` says."""
        # read anew: self.settings would keep the options as they are when the job files
        # are written, before the submission reads them
        file_transfer = HTCondorSettings.of_task(self.workflow).file_transfer
        return not file_transfer and super().shared_file_system()

    def tool_options(self) -> list[str]:
        """``-pool`` and ``-name`` for every condor_* call."""
        pool, schedd = self.settings.pool, self.settings.scheduler
        return [*(["-pool", pool] if pool else []), *(["-name", schedd] if schedd else [])]

    def option_lines(self) -> list[str]:
        """Submit lines from the settings, then the custom ones (``extra_lines``, then the
        task's ``htcondor_submit_lines()``), in which getenv is refused: jobs must not get
        the submitting shell's secrets."""
        s = self.settings
        if not re.fullmatch(r"[A-Za-z]+", s.universe):
            raise WorkflowError(f"the HTCondor universe must be a word such as vanilla, not "
                                f"{s.universe!r}")
        if "\n" in s.requirements.strip():  # a ClassAd expression, written as given
            raise WorkflowError(f"the HTCondor requirements must be one line: {s.requirements!r}")
        values = {"universe": s.universe, "requirements": s.requirements.strip(),
                  "request_cpus": s.request_cpus, "request_memory": _up(s.request_memory),
                  "request_disk": _up(s.request_disk * 1024), "+MaxRuntime":
                  _up(round(s.max_runtime * 60, 6)), "accounting_group": s.accounting_group}
        lines = [f"{k} = {v if k == 'requirements' else submit_value(str(v), k)}"
                 for k, v in values.items() if v]
        hook = getattr(self.workflow, "htcondor_submit_lines", None)
        for line in [*s.extra_lines.splitlines(), *(hook() if callable(hook) else [])]:
            if not (line := str(line).strip()) or line.startswith("#"):
                continue
            if (match := _CUSTOM_LINE.fullmatch(line)) is None:
                raise WorkflowError(f"custom HTCondor submit lines read 'command = value' or "
                                    f"'+Attribute = value', not {line!r}")
            if match[1].lower() == "getenv" and match[2].lower() not in ("false", "f", "no", "0"):
                raise WorkflowError(f"'{line}': law-core-htcondor never passes the submitting "
                                    "environment to jobs (it may hold secrets); list the "
                                    "variables jobs need in [job] forward_env instead")
            lines.append(line)
        return lines

    def submit_description(self, jobs: list[JobSubmission]) -> str:
        """One submit description for the batch, one row per job."""
        first, job_dir, transfer = jobs[0], jobs[0].job_dir, self.settings.file_transfer
        absolute = os.path.abspath(job_dir)
        specs = [self.transfer_spec(job) for job in jobs] if transfer else []
        tokens, extra = _command_template(
            jobs, [spec.command for spec in specs] or [job.command for job in jobs])
        batch = first.name.removesuffix(f"-{first.num}-{first.attempt}")
        # no launcher: env finds the command's program without the PATH HTCondor never sets
        lines = [f"# law-core-htcondor: jobs {first.num}..{jobs[-1].num}, one per queue row",
                 *self.option_lines(), f"executable = {JobTransfer.executable}",
                 f"arguments = {arguments_value(tokens)}", "transfer_executable = false",
                 f"initialdir = {submit_value(absolute, 'the job directory')}",
                 "output = $(law_stdout)", "error = $(law_stderr)",
                 f"batch_name = {submit_value(batch, 'the batch name')}", "getenv = false",
                 f"+LawCoreJobDir = {classad_string(absolute, 'the job directory')}",
                 "+LawCoreJobNum = $(law_job_num)", "+LawCoreAttempt = $(law_attempt)"]
        should = self.settings.should_transfer_files
        if transfer:  # the job files in (by their names in initialdir), the statuses back
            inputs = [_relative(path, job_dir, "the input file")
                      for path in dict.fromkeys(p for spec in specs for p in spec.inputs)]
            inputs += [os.path.abspath(os.path.expanduser(path))
                       for path in _split(self.settings.transfer_input_files)]
            outputs = [STATUS_DIR, *_split(self.settings.transfer_output_files)]
            lines += [f"should_transfer_files = {submit_value(should or 'YES')}",
                      "when_to_transfer_output = "
                      + submit_value(self.settings.when_to_transfer_output),
                      f"transfer_input_files = {file_list(inputs, 'the input file')}",
                      f"transfer_output_files = {file_list(outputs, 'the output file')}"]
        else:  # in place: only machines sharing the file system (FileSystemDomain) match
            lines.append(f"should_transfer_files = {submit_value(should or 'NO')}")
        variables = ["law_job_num", "law_attempt", "law_stdout", "law_stderr", *extra]
        lines.append(f"queue {', '.join(variables)} from (")
        lines += [" ".join([str(job.num), str(job.attempt), _relative(job.stdout, job_dir),
                            _relative(job.stderr, job_dir), *(v[i] for v in extra.values())])
                  for i, job in enumerate(jobs)]
        return "\n".join([*lines, ")", ""])

    # the primitives

    def submit(self, jobs: list[JobSubmission]) -> list[str]:
        job_dir = Path(jobs[0].job_dir)
        path = job_dir / f"batch_{jobs[0].num}_{jobs[0].attempt}.jdl"
        path.write_text(self.submit_description(jobs))
        # no answer in time (BatchToolTimeout): the core looks for the jobs with recover()
        result = self.run_tool(["condor_submit", *self.tool_options(), path.name],
                               cwd=job_dir, timeout=self.settings.submit_timeout)
        if result.returncode != 0:
            raise JobSubmissionError(f"condor_submit refused the jobs: {_tool_error(result)}; "
                                     f"check the --htcondor-* options and [htcondor] ({path})")
        match = _SUBMITTED.search(result.stdout)
        if match is None or int(match[1]) != len(jobs):
            raise JobSubmissionError(f"condor_submit did not report the {len(jobs)} jobs of "
                                     f"{path} submitted: {result.stdout.strip()!r}")
        return [f"{match[2]}.{proc}" for proc in range(len(jobs))]

    def query(self, job_ids: list[str]) -> dict[str, JobState]:
        clusters = sorted({job_id.split(".")[0] for job_id in job_ids}, key=int)
        states = _states(self._ads("condor_q", *clusters), job_ids)
        if missing := [job_id for job_id in job_ids if job_id not in states]:
            try:  # the history is optional: the core reads the exit status each job wrote
                states.update(_states(self._ads(
                    "condor_history", "-limit", str(len(missing)), "-constraint",
                    _ids_constraint(missing)), missing))
            except (RuntimeError, WorkflowError) as err:
                logger.debug("condor_history failed: %s", err)
        if held := [i for i, state in states.items() if state.extra["condor_status"] == "held"]:
            logger.info("removing %d held HTCondor jobs: %s", len(held), " ".join(held))
            self.cancel(held)
        return states

    def cancel(self, job_ids: list[str]) -> None:
        for i in range(0, len(job_ids), 500):  # ended jobs are no error
            self.run_tool(["condor_rm", *self.tool_options(), *job_ids[i:i + 500]])

    def recover(self, jobs: list[JobSubmission]) -> dict[int, str]:
        """Jobs of an interrupted submission, by the ``LawCoreJobDir``, ``LawCoreJobNum``
        and ``LawCoreAttempt`` they carry (the queue's answer wins over the history's)."""
        if not jobs:
            return {}
        wanted = {(job.num, job.attempt) for job in jobs}
        constraint = f"LawCoreJobDir =?= {classad_literal(os.path.abspath(jobs[0].job_dir))}" \
            f" && {_in_ranges('LawCoreJobNum', [job.num for job in jobs])}"
        found: dict[int, str] = {}
        for tool in ("condor_history", "condor_q"):
            try:
                ads = self._ads(tool, "-constraint", constraint)
            except (RuntimeError, WorkflowError):
                if tool == "condor_q":
                    raise
                continue
            found.update({ad["LawCoreJobNum"]: f"{ad['ClusterId']}.{ad['ProcId']}" for ad in ads
                          if (ad.get("LawCoreJobNum"), ad.get("LawCoreAttempt")) in wanted})
        return found

    def _ads(self, tool: str, *args: str) -> list[dict[str, Any]]:
        result = self.run_tool([tool, *self.tool_options(), "-json", "-attributes", ATTRIBUTES,
                                *args])
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed: {_tool_error(result)}")
        try:  # no matching job: condor_q prints nothing at all
            ads = json.loads(result.stdout) if result.stdout.strip() else []
        except ValueError as err:
            raise RuntimeError(f"{tool} printed no JSON ({err}): {result.stdout[:200]!r}") \
                from None
        return [ad for ad in ads if isinstance(ad, dict)] if isinstance(ads, list) else []


def _states(ads: list[dict[str, Any]], job_ids: list[str]) -> dict[str, JobState]:
    """The states of ``job_ids`` in ``ads``; a held job fails with its HoldReason."""
    states, wanted = {}, set(job_ids)
    for ad in ads:
        job_id, code = f"{ad.get('ClusterId')}.{ad.get('ProcId')}", ad.get("JobStatus")
        if job_id not in wanted or code not in JOB_STATUS:
            continue
        (name, status), exit_code, error = JOB_STATUS[code], None, None
        if code == 5 or (code == 3 and ad.get("HoldReason")):
            error = f"held by HTCondor: {ad.get('HoldReason') or 'no reason given'}" + \
                (f" (HoldReasonCode {ad['HoldReasonCode']})" if ad.get("HoldReasonCode") else "")
        elif code == 3:
            error = f"removed from HTCondor: {ad.get('RemoveReason') or 'no reason given'}"
        elif code == 4 and ad.get("ExitBySignal"):
            status, error = FAILED, f"killed by signal {ad.get('ExitSignal')}"
        elif code == 4 and isinstance(ad.get("ExitCode"), int):
            exit_code = ad["ExitCode"]
            if exit_code:
                status, error = FAILED, f"exit code {exit_code}"
        host = ad.get("RemoteHost") or ad.get("LastRemoteHost")
        states[job_id] = JobState(status, exit_code=exit_code, error=error, extra={
            "condor_status": name, **({"host": host} if host else {})})
    return states


def _command_template(jobs: list[JobSubmission], commands: list[tuple[str, ...]]
                      ) -> tuple[list[str], dict[str, list[str]]]:
    """The jobs' ``commands`` as ``arguments`` tokens: a value all jobs share written once,
    the job number and attempt as row macros, other differing values as extra row items."""
    if len({len(command) for command in commands}) != 1:
        raise WorkflowError("the jobs of one HTCondor batch must have commands of one length")
    tokens: list[str] = []
    extra: dict[str, list[str]] = {}
    for i in range(len(commands[0])):
        values = [command[i] for command in commands]
        if values == [str(job.num) for job in jobs]:
            tokens.append("$(law_job_num)")
        elif values == [str(job.attempt) for job in jobs]:
            tokens.append("$(law_attempt)")
        elif len(set(values)) == 1:
            tokens.append(quote_argument(values[0], "a command argument"))
        else:
            extra[f"law_arg{i}"] = [safe_item(v, "a command argument") for v in values]
            tokens.append(f"$(law_arg{i})")
    return tokens, extra


def _up(number: float) -> int:
    """A positive amount rounded up to an integer; 0 stays 0 (not set)."""
    return max(1, math.ceil(number)) if number else 0


def _relative(path: str, job_dir: str, what: str = "the log path") -> str:
    """A path in the job directory as HTCondor reads it, relative to initialdir."""
    return safe_item(path.removeprefix(f"{job_dir.rstrip('/')}/"), what)


def _split(value: str) -> list[str]:
    return [item.strip() for item in re.split(r"[,\n]", value) if item.strip()]


def _ids_constraint(job_ids: list[str]) -> str:
    """A constraint matching exactly these jobs, runs of procs written as ranges."""
    by_cluster: dict[int, list[int]] = {}
    for cluster, proc in (map(int, job_id.split(".")) for job_id in job_ids):
        by_cluster.setdefault(cluster, []).append(proc)
    return " || ".join(f"(ClusterId == {cluster} && {_in_ranges('ProcId', procs)})"
                       for cluster, procs in sorted(by_cluster.items()))


def _in_ranges(attribute: str, numbers: list[int]) -> str:
    """``attribute`` is one of ``numbers``, consecutive numbers written as one range."""
    runs: list[list[int]] = []
    for n in sorted(set(numbers)):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return "(" + " || ".join(f"{attribute} == {a}" if a == b else
                             f"({attribute} >= {a} && {attribute} <= {b})" for a, b in runs) + ")"


def _tool_error(result: Any) -> str:
    """The reason a condor_* tool gave: its lines on stderr."""
    lines = [re.sub(r"^ERROR:\s*", "", line.strip()) for line in result.stderr.splitlines()]
    return "; ".join(filter(None, lines)) or f"exit code {result.returncode}"
