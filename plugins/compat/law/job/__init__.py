"""``law.job``: law's job-file names (:class:`JobInputFile`, the job file factories' config)
and the batch-workflow base the ``law.htcondor``, ``law.slurm``, ... mixins share."""

from __future__ import annotations

from law.job.base import BaseJobFileFactory, JobFileFactory, JobInputFile

__all__ = ["BaseJobFileFactory", "JobFileFactory", "JobInputFile"]

