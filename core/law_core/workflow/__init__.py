"""Workflows and the job managers that run their branches."""

from law_core.workflow.base import LocalWorkflow, Workflow
from law_core.workflow.job_manager import JobManager

__all__ = ["JobManager", "LocalWorkflow", "Workflow"]
