"""The Slurm job manager: sbatch job arrays, squeue, sacct where accounting exists, scancel.

A batch of jobs is one ``sbatch --array`` whose script picks the job's command by
``SLURM_ARRAY_TASK_ID``; every value in the script is quoted. Slurm forgets ended jobs
after ``MinJobAge`` and may have no accounting storage, so the end of a job is learned
from the exit status the job wrote itself (the core reads it); sacct is only asked when
it works.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shlex
from pathlib import Path

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
from law_core_slurm.settings import SlurmSettings

logger = logging.getLogger("law_core_slurm")

_STATES = {
    **dict.fromkeys(("PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED",
                     "RESIZING", "SUSPENDED", "STOPPED", "SIGNALING"), PENDING),
    **dict.fromkeys(("RUNNING", "COMPLETING", "STAGE_OUT"), RUNNING),
    "COMPLETED": FINISHED,
    **dict.fromkeys(("FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
                     "BOOT_FAIL", "DEADLINE", "PREEMPTED", "REVOKED", "SPECIAL_EXIT"), FAILED),
}


#: in sbatch's refusal when the user's (or the QOS's) limit of queued jobs is reached
_LIMIT_WORDS = ("MaxSubmitJob", "job submit limit")


class SlurmJobManager(RemoteJobManager):
    """``--workflow slurm``."""

    name = "slurm"
    settings_cls = SlurmSettings
    tools = ("sbatch", "squeue", "sacct", "scancel", "scontrol")

    @property
    def max_batch_size(self) -> int:  # type: ignore[override]
        """Jobs per array: ``[slurm] max_array_size``, at most the cluster's MaxArraySize."""
        limit = _cluster_limit(self, "MaxArraySize")
        wanted = self.settings.max_array_size
        if wanted < 0:
            raise ConfigError(f"slurm.max_array_size = {wanted} must be a positive integer "
                              "(0: the cluster's MaxArraySize)")
        sizes = [size for size in (wanted, limit) if size and size > 0]
        return min(sizes) if sizes else 1000

    def sbatch_options(self) -> list[str]:
        """sbatch options from the settings (parameters, ``[slurm]``)."""
        settings = self.settings
        options = ["--export=NONE"]  # the job gets what job_env.sh sets, no secrets
        if settings.partition:
            options.append(f"--partition={settings.partition}")
        if settings.account:
            options.append(f"--account={settings.account}")
        if settings.time:
            options.append(f"--time={max(1, math.ceil(settings.time))}")
        if settings.memory:
            options.append(f"--mem={max(1, math.ceil(settings.memory))}M")
        if settings.cpus:
            options.append(f"--cpus-per-task={settings.cpus}")
        for line in settings.extra_lines.splitlines():
            line = line.strip().removeprefix("#SBATCH").strip()
            if not line:
                continue
            if not line.startswith("-"):
                raise WorkflowError(f"[slurm] extra_lines must hold sbatch options such as "
                                    f"'--qos=short', not {line!r}")
            options.append(line)
        return options

    # the primitives

    def submit(self, jobs: list[JobSubmission]) -> list[str]:
        job_dir = Path(jobs[0].job_dir)
        first = jobs[0]
        batch = f"batch_{first.num}_{first.attempt}"
        script = job_dir / f"{batch}.sh"
        lines = ["#!/bin/bash", f"#SBATCH --job-name={first.name}",
                 f"#SBATCH --array=0-{len(jobs) - 1}",
                 f"#SBATCH --output={shlex.quote(str(job_dir / 'logs' / 'slurm_%A_%a.log'))}"]
        lines += [f"#SBATCH {shlex.quote(option)}" for option in self.sbatch_options()]
        lines.append('case "$SLURM_ARRAY_TASK_ID" in')
        for i, job in enumerate(jobs):
            command = shlex.join(job.command)
            lines.append(f"    {i}) exec {command} >{shlex.quote(job.stdout)} "
                         f"2>{shlex.quote(job.stderr)} ;;")
        lines += ['    *) echo "unknown array index $SLURM_ARRAY_TASK_ID" >&2; exit 3 ;;', "esac",
                  ""]
        script.write_text("\n".join(lines))
        (job_dir / f"{batch}.json").write_text(json.dumps(
            {"name": first.name, "jobs": [[job.num, job.attempt] for job in jobs]}))
        result = self.run_tool(["sbatch", "--parsable", str(script)])
        if result.returncode != 0:
            reason = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else \
                f"exit code {result.returncode}"
            raise JobSubmissionError(
                f"sbatch refused the jobs: {reason.replace('sbatch: error: ', '')}; check "
                f"--slurm-partition/--slurm-account and the [slurm] config section "
                f"(options used: {' '.join(self.sbatch_options())})",
                at_limit=any(word in result.stderr for word in _LIMIT_WORDS))
        array_id = result.stdout.strip().split(";")[0]
        return [f"{array_id}_{i}" for i in range(len(jobs))]

    def query(self, job_ids: list[str]) -> dict[str, JobState]:
        arrays = sorted({job_id.split("_")[0] for job_id in job_ids})
        states: dict[str, JobState] = {}
        if not arrays:
            return states
        result = self.run_tool(["squeue", "--noheader", "--array", "--jobs", ",".join(arrays),
                            "--format=%i|%T|%r"])
        if result.returncode != 0:
            raise RuntimeError(f"squeue failed: {result.stderr.strip()}")
        for line in result.stdout.splitlines():
            job_id, _, rest = line.strip().partition("|")
            state, _, reason = rest.partition("|")
            status = _STATES.get(state.upper())
            if status is None:
                continue
            error = f"Slurm state {state} ({reason})" if status == FAILED else None
            states[job_id] = JobState(status, error=error, extra={"state": state})
        missing = [job_id for job_id in job_ids if job_id not in states]
        if missing and self._accounting():
            states.update(self._sacct(missing))
        return {job_id: state for job_id, state in states.items() if job_id in set(job_ids)}

    def cancel(self, job_ids: list[str]) -> None:
        for i in range(0, len(job_ids), 500):
            self.run_tool(["scancel", *job_ids[i:i + 500]])

    def recover(self, jobs: list[JobSubmission]) -> dict[int, str]:
        """Find interrupted submissions by their batch files and job names."""
        if not jobs:
            return {}
        job_dir = Path(jobs[0].job_dir)
        wanted = {(job.num, job.attempt) for job in jobs}
        by_name: dict[str, list[list[int]]] = {}
        for batch in job_dir.glob("batch_*.json"):
            data = json.loads(batch.read_text())
            if any(tuple(entry) in wanted for entry in data["jobs"]):
                by_name[data["name"]] = data["jobs"]
        if not by_name:
            return {}
        result = self.run_tool(["squeue", "--noheader", "--array", "--name", ",".join(by_name),
                            "--format=%i|%j|%K"])
        found: dict[int, str] = {}
        for line in result.stdout.splitlines():
            job_id, name, index = (line.strip().split("|") + ["", ""])[:3]
            entries = by_name.get(name)
            if entries and index.isdigit() and int(index) < len(entries):
                num, attempt = entries[int(index)]
                if (num, attempt) in wanted:
                    found[num] = job_id
        return found

    # helpers

    def _accounting(self) -> bool:
        if not hasattr(self, "_has_accounting"):
            result = self.run_tool(["sacct", "--noheader", "-X", "-j", "1"])
            self._has_accounting = result.returncode == 0
        return self._has_accounting

    def _sacct(self, job_ids: list[str]) -> dict[str, JobState]:
        result = self.run_tool(["sacct", "--noheader", "--parsable2", "-X", "--jobs",
                            ",".join(job_ids), "--format=JobID,State,ExitCode"])
        states = {}
        for line in result.stdout.splitlines():
            job_id, state, exit_code = (line.split("|") + ["", ""])[:3]
            state = state.split()[0] if state else ""
            status = _STATES.get(state.upper())
            if status in (FINISHED, FAILED):
                code = int(exit_code.split(":")[0]) if exit_code[:1].isdigit() else None
                states[job_id] = JobState(
                    status, exit_code=code,
                    error=f"Slurm state {state}" if status == FAILED else None)
        return states


#: what ``scontrol show config`` said, per cluster (``SLURM_CONF``): asked once a process
_CLUSTER_CONFIG: dict[str, dict[str, str]] = {}


def _cluster_limit(manager: SlurmJobManager, key: str) -> int | None:
    """A numeric limit of the cluster's configuration (``MaxArraySize``), or None."""
    conf = os.environ.get("SLURM_CONF", "")
    if conf not in _CLUSTER_CONFIG:
        result = manager.run_tool(["scontrol", "show", "config"], timeout=30)
        values = {}
        for line in result.stdout.splitlines() if result.returncode == 0 else []:
            name, sep, value = line.partition("=")
            if sep:
                values[name.strip()] = value.strip()
        _CLUSTER_CONFIG[conf] = values
    value = _CLUSTER_CONFIG[conf].get(key, "")
    return int(value) if value.isdigit() else None
