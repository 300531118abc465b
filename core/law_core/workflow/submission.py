"""The bookkeeping of a remote workflow: which jobs exist, their branches, ids and states.

It lives in the workflow's job directory as ``submission.json`` and is rewritten
atomically after every change, so that a submitting process killed at any moment can be
restarted and resume its jobs: nothing is submitted twice, nothing is forgotten.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from law_core.errors import WorkflowError
from law_core.workflow.job_worker import write_json_atomic

#: job states; "unsubmitted" and "submitting" only ever exist on the submitting side
UNSUBMITTED = "unsubmitted"
SUBMITTING = "submitting"  # written before the batch system is asked; resolved on restart
PENDING = "pending"
RUNNING = "running"
FINISHED = "finished"
RETRY = "retry"
FAILED = "failed"

ACTIVE = (PENDING, RUNNING)


@dataclass
class Job:
    """One job: its branches and where it stands."""

    num: int
    branches: list[int]
    status: str = UNSUBMITTED
    job_id: str | None = None
    attempt: int = 0
    exit_code: int | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def name(self, prefix: str) -> str:
        """The name the job carries in the batch system, unique per attempt."""
        return f"{prefix}-{self.num}-{self.attempt}"


@dataclass
class Submission:
    """All jobs of one workflow at one job manager."""

    path: Path
    workflow_id: str
    manager: str
    tasks_per_job: int
    name_prefix: str
    jobs: dict[int, Job] = field(default_factory=dict)
    #: the number of the first job (after those of an earlier, ignored submission)
    first_num: int = 1

    @classmethod
    def load(cls, path: Path) -> Submission | None:
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except ValueError as err:
            raise WorkflowError(f"the job bookkeeping file {path} is unreadable ({err}); "
                                "pass --ignore-submission to start over") from err
        jobs = {int(num): Job(**job) for num, job in data.pop("jobs").items()}
        return cls(path=path, jobs=jobs, **data)

    def save(self) -> None:
        # fields by hand: dataclasses.asdict deep-copies every job (a third of a second for
        # 1000 jobs, and this runs after every change)
        data = {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in ("path", "jobs")}
        data["jobs"] = {str(num): dict(vars(job)) for num, job in sorted(self.jobs.items())}
        write_json_atomic(self.path, data)

    def add_job(self, branches: list[int]) -> Job:
        num = max(self.jobs, default=self.first_num - 1) + 1
        job = self.jobs[num] = Job(num, list(branches))
        return job

    def with_status(self, *statuses: str) -> list[Job]:
        return [job for job in self.jobs.values() if job.status in statuses]

    def counts(self) -> dict[str, int]:
        counts = {s: 0 for s in (UNSUBMITTED, PENDING, RUNNING, FINISHED, RETRY, FAILED)}
        for job in self.jobs.values():
            key = UNSUBMITTED if job.status == SUBMITTING else job.status
            counts[key] += 1
        return counts
