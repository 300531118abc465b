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
import shlex
import subprocess
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
    get_config,
)

logger = logging.getLogger("law_core_slurm")

_STATES = {
    **dict.fromkeys(("PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED",
                     "RESIZING", "SUSPENDED", "STOPPED", "SIGNALING"), PENDING),
    **dict.fromkeys(("RUNNING", "COMPLETING", "STAGE_OUT"), RUNNING),
    "COMPLETED": FINISHED,
    **dict.fromkeys(("FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
                     "BOOT_FAIL", "DEADLINE", "PREEMPTED", "REVOKED", "SPECIAL_EXIT"), FAILED),
}


class SlurmJobManager(RemoteJobManager):
    """``--workflow slurm``."""

    name = "slurm"

    @property
    def max_batch_size(self) -> int:  # type: ignore[override]
        size = self._number("max_array_size", integer=True)
        if size is None:
            return 1000
        if size < 1:
            raise ConfigError(f"config option slurm.max_array_size = {size} "
                              f"({get_config().origin(self.name, 'max_array_size')}) must be "
                              "a positive integer")
        return int(size)

    # options: parameter, else config, else the cluster's default

    def _option(self, param: str, option: str) -> Any:
        value = getattr(self.workflow, param, None)
        return value if value else (self.config(option) or None)

    def _number(self, option: str, param: str | None = None, integer: bool = False) \
            -> float | None:
        """A numeric option (parameter, else config); a config value that is no number is
        a ConfigError naming option, value and file line, not a bare ValueError."""
        value = getattr(self.workflow, param, None) if param else None
        if value:
            return value
        config = get_config()
        if not str(config.get(self.name, option, default="")).strip():
            return None  # empty: the cluster's default
        return config.get_int(self.name, option) if integer else \
            config.get_float(self.name, option)

    def sbatch_options(self) -> list[str]:
        """``#SBATCH`` options from parameters and the ``[slurm]`` config section."""
        options = ["--export=NONE"]  # the job gets what job_env.sh sets, no secrets
        if partition := self._option("slurm_partition", "partition"):
            options.append(f"--partition={partition}")
        if account := self._option("slurm_account", "account"):
            options.append(f"--account={account}")
        if minutes := self._number("time", "slurm_time"):
            options.append(f"--time={max(1, int(-(-float(minutes) // 1)))}")
        if memory := self._number("memory", "slurm_memory"):
            options.append(f"--mem={max(1, int(-(-float(memory) // 1)))}M")
        if cpus := self._number("cpus", "slurm_cpus", integer=True):
            options.append(f"--cpus-per-task={int(cpus)}")
        for line in (self.config("extra_lines") or "").splitlines():
            line = line.strip()
            if not line:
                continue
            if line.startswith("#SBATCH"):
                line = line[len("#SBATCH"):].strip()
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
        result = self._run(["sbatch", "--parsable", str(script)])
        if result.returncode != 0:
            reason = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else \
                f"exit code {result.returncode}"
            raise JobSubmissionError(
                f"sbatch refused the jobs: {reason.replace('sbatch: error: ', '')}; check "
                f"--slurm-partition/--slurm-account and the [slurm] config section "
                f"(options used: {' '.join(self.sbatch_options())})")
        array_id = result.stdout.strip().split(";")[0]
        return [f"{array_id}_{i}" for i in range(len(jobs))]

    def query(self, job_ids: list[str]) -> dict[str, JobState]:
        arrays = sorted({job_id.split("_")[0] for job_id in job_ids})
        states: dict[str, JobState] = {}
        if not arrays:
            return states
        result = self._run(["squeue", "--noheader", "--array", "--jobs", ",".join(arrays),
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
            self._run(["scancel", *job_ids[i:i + 500]])

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
        result = self._run(["squeue", "--noheader", "--array", "--name", ",".join(by_name),
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

    def _run(self, args: list[str]) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(args, capture_output=True, text=True, timeout=120)
        except FileNotFoundError:
            raise WorkflowError(f"'{args[0]}' was not found: is this a Slurm submit host? "
                                "(law-core-slurm calls sbatch, squeue, sacct and scancel)") \
                from None

    def _accounting(self) -> bool:
        if not hasattr(self, "_has_accounting"):
            result = self._run(["sacct", "--noheader", "-X", "-j", "1"])
            self._has_accounting = result.returncode == 0
        return self._has_accounting

    def _sacct(self, job_ids: list[str]) -> dict[str, JobState]:
        result = self._run(["sacct", "--noheader", "--parsable2", "-X", "--jobs",
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
