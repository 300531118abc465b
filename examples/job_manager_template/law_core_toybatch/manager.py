"""The toybatch job manager: law-core's four job primitives on toybatch's tools.

law-core does everything else (job files, bookkeeping, retries, ``--parallel-jobs``,
polling, resuming after a restart). A job manager only translates:

- ``submit``: a batch of jobs into one array, returning their ids in order;
- ``query``: the states of many jobs, in as few calls as possible;
- ``cancel``: end jobs;
- ``recover`` (optional): find jobs whose submission was interrupted before law-core
  recorded their ids.

To adapt it to your batch system, change ``tools``, the commands built below, the parsing
of their output and ``_STATES``. Put values into commands as list items (or through
``shlex.quote`` in a script), never by concatenating strings.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from pathlib import Path

from law_core.plugin import (
    FAILED,
    FINISHED,
    PENDING,
    RUNNING,
    JobState,
    JobSubmission,
    JobSubmissionError,
    RemoteJobManager,
)
from law_core_toybatch.settings import ToyBatchSettings

#: the batch system's states -> law-core's four; map every state your system documents
#: (an unmapped one is skipped: the job then counts as unknown to the batch system)
_STATES = {"PENDING": PENDING, "RUNNING": RUNNING, "DONE": FINISHED, "FAILED": FAILED,
           "CANCELLED": FAILED}

#: what toybatch-submit prints; prefer a machine-readable mode where your tool has one
_SUBMITTED = re.compile(r"^Submitted job (\d+)$", re.MULTILINE)


class ToyBatchJobManager(RemoteJobManager):
    """``--workflow toybatch``."""

    name = "toybatch"  # --workflow NAME, the [NAME] section, the job directory's prefix
    settings_cls = ToyBatchSettings  # self.settings: the options in effect for a workflow
    tools = ("toybatch-submit", "toybatch-status", "toybatch-cancel")  # named when missing
    max_batch_size = 1000  # most jobs per submit call: your system's array limit

    def submit_options(self) -> list[str]:
        """toybatch-submit options from the settings (parameters, else ``[toybatch]``)."""
        settings = self.settings
        options = []
        if settings.queue:
            options += ["--queue", settings.queue]
        if settings.memory:
            options += ["--memory", str(math.ceil(settings.memory))]  # MB, the declared unit
        if settings.time:
            options += ["--time", str(math.ceil(settings.time))]  # minutes
        for line in settings.extra_options.splitlines():
            options += shlex.split(line)
        return options

    def submit(self, jobs: list[JobSubmission]) -> list[str]:
        first = jobs[0]
        job_dir = Path(first.job_dir)
        batch = job_dir / f"batch_{first.num}_{first.attempt}"
        # one script for the whole array: each task runs its job's command, by its index
        lines = ["#!/bin/bash", 'case "$TOYBATCH_ARRAY_INDEX" in']
        for i, job in enumerate(jobs):
            lines.append(f"    {i}) exec {shlex.join(job.command)} "
                         f">{shlex.quote(job.stdout)} 2>{shlex.quote(job.stderr)} ;;")
        lines += ['    *) echo "no job for index $TOYBATCH_ARRAY_INDEX" >&2; exit 3 ;;',
                  "esac", ""]
        script = batch.with_suffix(".sh")
        script.write_text("\n".join(lines))
        # written before submitting, for recover(): which job each index of the array is
        batch.with_suffix(".json").write_text(json.dumps(
            {"name": first.name, "jobs": [[job.num, job.attempt] for job in jobs]}))
        # run_tool: a missing tool is a WorkflowError asking "is this a submit host?"
        result = self.run_tool(["toybatch-submit", "--name", first.name, "--array",
                                str(len(jobs)), *self.submit_options(), str(script)],
                               cwd=job_dir)
        match = _SUBMITTED.search(result.stdout)
        if result.returncode != 0 or match is None:
            reason = result.stderr.strip() or f"exit code {result.returncode}"
            raise JobSubmissionError(
                f"toybatch refused the jobs: {reason}; check --toybatch-queue, "
                f"--toybatch-memory, --toybatch-time and the [toybatch] config section "
                f"(options used: {shlex.join(self.submit_options()) or 'none'})")
        return [f"{match.group(1)}.{i}" for i in range(len(jobs))]

    def query(self, job_ids: list[str]) -> dict[str, JobState]:
        # one call for all: ask for the arrays, keep the tasks asked about
        arrays = sorted({job_id.partition(".")[0] for job_id in job_ids})
        result = self.run_tool(["toybatch-status", *arrays])
        if result.returncode != 0:
            # not a law-core error: the core tolerates --poll-fails failed polls in a row
            raise RuntimeError(f"toybatch-status failed: {result.stderr.strip()}")
        wanted = set(job_ids)
        states = {}
        for job_id, state, exit_code in _parse_status(result.stdout):
            status = _STATES.get(state)
            if job_id not in wanted or status is None:
                continue
            error = f"toybatch state {state}" if status == FAILED else None
            states[job_id] = JobState(status, exit_code=exit_code, error=error,
                                      extra={"state": state})
        # jobs left out (forgotten by the batch system): the core reads their exit status
        return states

    def cancel(self, job_ids: list[str]) -> None:
        for i in range(0, len(job_ids), 500):  # keep command lines short
            self.run_tool(["toybatch-cancel", *job_ids[i:i + 500]])

    def recover(self, jobs: list[JobSubmission]) -> dict[int, str]:
        """Ids of interrupted submissions, found by the array names submit() wrote down."""
        if not jobs:
            return {}
        wanted = {(job.num, job.attempt) for job in jobs}
        found: dict[int, str] = {}
        for batch in Path(jobs[0].job_dir).glob("batch_*.json"):
            data = json.loads(batch.read_text())
            entries = [tuple(entry) for entry in data["jobs"]]
            if not wanted.intersection(entries):
                continue
            result = self.run_tool(["toybatch-status", "--name", data["name"]])
            for job_id, _, _ in _parse_status(result.stdout):
                index = int(job_id.rpartition(".")[2])
                if index < len(entries) and entries[index] in wanted:
                    found[entries[index][0]] = job_id
        return found


def _parse_status(output: str) -> list[tuple[str, str, int | None]]:
    """``ID STATE [EXIT]`` lines as (id, state, exit code or None); others are skipped."""
    rows = []
    for line in output.splitlines():
        fields = line.split()
        if len(fields) >= 2 and re.fullmatch(r"\d+\.\d+", fields[0]):
            code = int(fields[2]) if len(fields) > 2 and fields[2].lstrip("-").isdigit() \
                else None
            rows.append((fields[0], fields[1], code))
    return rows
