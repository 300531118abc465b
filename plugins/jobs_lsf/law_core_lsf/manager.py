"""The LSF job manager: bsub job arrays, bjobs (JSON where it has it), bkill.

A batch of jobs is one ``bsub -J "name[1-N]"`` array whose script, given on standard input
(where LSF reads ``#BSUB`` lines), picks the job's command by ``$LSB_JOBINDEX``, every value
quoted. ``-env none``: jobs get the environment law-core writes, never the submitting
shell's. LSF forgets ended jobs (CLEAN_PERIOD): the core reads the status the job wrote.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
from pathlib import Path
from typing import Any

from law_core.plugin import (
    FAILED,
    FINISHED,
    PENDING,
    RUNNING,
    ConfigError,
    JobState,
    JobSubmission,
    JobSubmissionError,
    RemoteJobManager,
    WorkflowError,
)
from law_core_lsf.settings import LSFSettings

_STATES = {**dict.fromkeys(("PEND", "PROV", "PSUSP", "WAIT"), PENDING), "DONE": FINISHED,
           **dict.fromkeys(("RUN", "USUSP", "SSUSP", "UNKWN"), RUNNING),
           **dict.fromkeys(("EXIT", "ZOMBI"), FAILED)}
#: bjobs -o fields; JSON output (LSF >= 10.1.0.2) also has the exit reason
_FIELDS = "jobid jobindex stat exit_code job_name"
_JSON_FIELDS = _FIELDS + " exit_reason"
_SUBMITTED = re.compile(r"Job <(\d+)> is submitted to (?:default )?queue <[^>]*>")
_JOB_ID = re.compile(r"(\d+)(?:\[(\d+)\])?")
#: what bjobs and bkill say about jobs that are gone or ended: an answer, not a failure
_GONE = re.compile(r"is not found|No (?:unfinished |matching )?job found|already finished")


class LSFJobManager(RemoteJobManager):
    """``--workflow lsf``."""

    name = "lsf"
    settings_cls = LSFSettings
    tools = ("bsub", "bjobs", "bkill")

    @property
    def max_batch_size(self) -> int:  # type: ignore[override]
        """``[lsf] max_array_size``, at most the cluster's MAX_JOB_ARRAY_SIZE."""
        wanted = self.settings.max_array_size
        if wanted < 0:
            raise ConfigError(f"lsf.max_array_size = {wanted} must be a positive integer "
                              "(0: the cluster's MAX_JOB_ARRAY_SIZE)")
        sizes = [size for size in (wanted, _array_limit(self)) if size and size > 0]
        return min(sizes) if sizes else 1000

    def bsub_options(self) -> list[str]:
        """bsub options from the settings (parameters, ``[lsf]``), as arguments."""
        settings = self.settings
        options = ["-env", "none"]  # the job gets what job_env.sh sets, no secrets
        if settings.queue:
            options += ["-q", settings.queue]
        if settings.project:
            options += ["-P", settings.project]
        if settings.runtime:
            options += ["-W", str(max(1, math.ceil(settings.runtime)))]
        if settings.memory:  # explicit units: independent of the cluster's LSF_UNIT_FOR_LIMITS
            mb = max(1, math.ceil(settings.memory))
            options += ["-M", f"{mb}MB", "-R", f"rusage[mem={mb}MB]"]
        if settings.cores:
            options += ["-n", str(settings.cores)]
        return options

    def extra_lines(self) -> list[str]:
        """``[lsf] extra_lines`` as ``#BSUB`` lines (options given as arguments win)."""
        lines = [line.strip() for line in self.settings.extra_lines.splitlines() if line.strip()]
        for line in lines:
            if not line.startswith("-"):
                raise WorkflowError(f"[lsf] extra_lines must hold bsub options such as "
                                    f"'-G mygroup', not {line!r}")
        return [f"#BSUB {line}" for line in lines]

    # the primitives

    def submit(self, jobs: list[JobSubmission]) -> list[str]:
        first, job_dir = jobs[0], Path(jobs[0].job_dir)
        batch = f"batch_{first.num}_{first.attempt}"
        lines = ["#!/bin/bash", *self.extra_lines(), 'case "$LSB_JOBINDEX" in']
        for i, job in enumerate(jobs, 1):
            lines.append(f"    {i}) exec {shlex.join(job.command)} >{shlex.quote(job.stdout)} "
                         f"2>{shlex.quote(job.stderr)} ;;")
        lines += ['    *) echo "unknown array index $LSB_JOBINDEX" >&2; exit 3 ;;', "esac", ""]
        (job_dir / f"{batch}.sh").write_text(script := "\n".join(lines))
        (job_dir / f"{batch}.json").write_text(json.dumps(
            {"name": first.name, "jobs": [[job.num, job.attempt] for job in jobs]}))
        logs, options = job_dir / "logs", self.bsub_options()
        result = self.run_tool(["bsub", "-J", f"{first.name}[1-{len(jobs)}]",
                                "-o", str(logs / "lsf_%J_%I.out"),
                                "-e", str(logs / "lsf_%J_%I.err"), *options], input=script)
        match = _SUBMITTED.search(result.stdout)
        if result.returncode != 0 or match is None:
            said = (result.stderr.strip() or result.stdout.strip()).splitlines()
            reason = said[-1] if said else f"exit code {result.returncode}"
            raise JobSubmissionError(
                f"bsub refused the jobs: {reason}; check --lsf-queue/--lsf-project/"
                f"--lsf-memory and the [lsf] config section (options used: "
                f"{shlex.join(options)})")
        return [f"{match.group(1)}[{i}]" for i in range(1, len(jobs) + 1)]

    def query(self, job_ids: list[str]) -> dict[str, JobState]:
        arrays = sorted({_JOB_ID.match(job_id).group(1) for job_id in job_ids})
        wanted, states = set(job_ids), {}
        for record in self._bjobs(["-a", *arrays]) if arrays else []:
            job_id, state = _element_id(record), record.get("STAT", "")
            status = _STATES.get(state)
            if job_id not in wanted or status is None:
                continue
            code, error = record.get("EXIT_CODE", ""), None
            exit_code = int(code) if code.isdigit() else None
            if status == FAILED:
                reason = record.get("EXIT_REASON") or \
                    (f"exit code {exit_code}" if exit_code is not None else "")
                error = f"LSF state {state}" + (f" ({reason})" if reason else "")
            states[job_id] = JobState(status, exit_code=exit_code, error=error,
                                      extra={"state": state})
        return states

    def cancel(self, job_ids: list[str]) -> None:
        for i in range(0, len(job_ids), 500):
            self.run_tool(["bkill", *job_ids[i:i + 500]])  # ended ones: "already finished"

    def recover(self, jobs: list[JobSubmission]) -> dict[int, str]:
        """Interrupted submissions, by their batch files and names: one bjobs call."""
        if not jobs:
            return {}
        wanted = {(job.num, job.attempt) for job in jobs}
        by_name: dict[str, list[list[int]]] = {}
        for batch in Path(jobs[0].job_dir).glob("batch_*.json"):
            data = json.loads(batch.read_text())
            if any(tuple(entry) in wanted for entry in data["jobs"]):
                by_name[data["name"]] = data["jobs"]
        if not by_name:
            return {}
        prefix = os.path.commonprefix(list(by_name))
        found: dict[int, str] = {}
        for record in self._bjobs(["-a", "-J", f"{prefix}*"]):
            name, _, index = record.get("JOB_NAME", "").rstrip("]").partition("[")
            entries = by_name.get(name)
            if entries and index.isdigit() and 0 < int(index) <= len(entries):
                num, attempt = entries[int(index) - 1]
                if (num, attempt) in wanted:
                    found[num] = _element_id(record)
        return found

    # helpers

    def _bjobs(self, args: list[str]) -> list[dict[str, str]]:
        """The records bjobs gives for ``args``: as JSON where this bjobs has ``-json``,
        else from its delimited columns."""
        if self.__dict__.get("_json", True):
            result = self.run_tool(["bjobs", "-json", "-o", _JSON_FIELDS, *args])
            if result.stdout.lstrip().startswith("{"):
                return json.loads(result.stdout).get("RECORDS", [])
            if not re.search(r"json|[Uu]sage", result.stderr):  # it has -json: no records
                return _check(result)
            self._json = False  # an LSF older than 10.1.0.2: the columns then
        result = self.run_tool(["bjobs", "-noheader", "-o", f"{_FIELDS} delimiter='|'",
                                *args])
        _check(result)
        keys = [field.upper() for field in _FIELDS.split()]
        return [dict(zip(keys, line.strip().split("|", len(keys) - 1)))
                for line in result.stdout.splitlines() if line.count("|") >= len(keys) - 1]


def _check(result: Any) -> list:
    """Nothing, unless bjobs failed for more than jobs it no longer knows."""
    if result.returncode != 0 and not all(_GONE.search(line) for line in
                                          result.stderr.splitlines() if line.strip()):
        raise RuntimeError(f"bjobs failed: {result.stderr.strip() or result.returncode}")
    return []


def _element_id(record: dict[str, Any]) -> str:
    """``123[4]`` for an array element, ``123`` otherwise (JOBID holds the index too
    where LSB_BJOBS_DISPLAY_ENH is set)."""
    match = _JOB_ID.match(str(record.get("JOBID", "")))
    base, index = (match.group(1), match.group(2)) if match else ("", None)
    index = index or str(record.get("JOBINDEX", "0"))
    return f"{base}[{index}]" if index not in ("", "0", "-") else base


#: MAX_JOB_ARRAY_SIZE per cluster (LSF_ENVDIR), from ``bparams -a``: asked once a process
_ARRAY_LIMITS: dict[str, int | None] = {}


def _array_limit(manager: LSFJobManager) -> int | None:
    envdir = os.environ.get("LSF_ENVDIR", "")
    if envdir not in _ARRAY_LIMITS:
        try:
            result = manager.run_tool(["bparams", "-a"], timeout=30)
            match = re.search(r"^\s*MAX_JOB_ARRAY_SIZE\s*=\s*(\d+)", result.stdout, re.M)
        except WorkflowError:  # no bparams here: the option (or LSF's default) decides
            match = None
        _ARRAY_LIMITS[envdir] = int(match.group(1)) if match else None
    return _ARRAY_LIMITS[envdir]
