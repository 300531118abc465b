"""Credentials of a workflow's output storage, checked before its jobs are submitted.

A job whose X.509 proxy ends while it runs cannot write its outputs: it fails after hours
of work, and is submitted again to fail again. So before a remote job manager submits jobs,
the file systems of their outputs are asked for their credentials
(:meth:`~law_core.targets.file_interface.FileInterface.credential`), and one that ends
before the jobs' expected wall time is over is a :class:`JobSubmissionError` naming its
end.

The expected wall time is the time limit the jobs are submitted with, where the batch
system's settings have one: the first ``duration`` option named in
:data:`WALLTIME_OPTIONS` that is set (``--slurm-time``, ``--lsf-runtime``,
``--htcondor-max-runtime``). Else ``[job] walltime`` (a number in hours, or e.g. '30m');
where neither is set, only a credential that has already ended stops the submission.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from law_core.config import get_config
from law_core.errors import CredentialError, JobSubmissionError, LawCoreError
from law_core.parameters import DurationParameter
from law_core.targets.collection import leaf_targets
from law_core.targets.file_interface import Credential, utc_text

#: names of a job manager's settings that hold the jobs' time limit, by convention
WALLTIME_OPTIONS = ("walltime", "time", "runtime", "max_runtime")


def expected_walltime(manager: Any) -> tuple[float, str] | None:
    """How long the jobs of ``manager`` may run, in seconds, and where that was set
    (for messages); None when nowhere."""
    settings_cls = getattr(manager, "settings_cls", None)
    if settings_cls is not None:
        specs = settings_cls.specs()
        for name in WALLTIME_OPTIONS:
            spec = specs.get(name)
            if spec is None or spec.kind != "duration":
                continue
            value = getattr(manager.settings, name)
            if value:
                seconds = DurationParameter(unit="s").parse(f"{value}{spec.unit or 's'}")
                return seconds, f"{settings_cls.section} {name}"
    text = get_config().get("job", "walltime", default="")
    try:
        hours = DurationParameter(unit="h").parse(text or "")
    except LawCoreError as err:
        raise JobSubmissionError(f"[job] walltime = {text!r}: {err}") from None
    return (hours * 3600, "[job] walltime") if hours > 0 else None


def output_credentials(workflow: Any, branches: list[int]) -> dict[str, Credential]:
    """The credentials that writing the outputs of ``branches`` needs, by the base URI
    they are for (one per base of each file system); a CredentialError when one is needed
    but missing."""
    collection = workflow.output_collection()
    file_systems: dict[int, Any] = {}
    for b in branches:
        value = collection.targets[b] if b in collection.targets else \
            workflow.req_branch(b).output()
        for leaf in leaf_targets(value):
            fs = getattr(leaf, "fs", None)
            if fs is not None and id(fs) not in file_systems:
                file_systems[id(fs)] = fs
    credentials: dict[str, Credential] = {}
    for fs in file_systems.values():
        interface, failover = getattr(fs, "file_interface", None), getattr(fs, "failover", None)
        if interface is None or failover is None:
            continue  # not a remote file system: nothing the core can ask
        bases = [*failover.bases, *(b for op in failover.op_bases.values() for b in op)]
        for base in dict.fromkeys(bases):
            credential = interface.credential(base)
            if credential is not None:
                credentials[base] = credential
    return credentials


def check_output_credentials(manager: Any, branches: list[int]) -> None:
    """Raise a :class:`JobSubmissionError` when a credential the outputs of ``branches``
    need is missing, or ends before the jobs' expected wall time is over."""
    workflow = manager.workflow
    name = type(workflow).__name__
    try:
        credentials = output_credentials(workflow, branches)
    except CredentialError as err:
        raise JobSubmissionError(f"the jobs of {name} were not submitted: {err}") from err
    if not credentials:
        return
    now = datetime.now(timezone.utc)
    walltime = expected_walltime(manager)
    deadline = now + timedelta(seconds=walltime[0]) if walltime else now
    base, first = min(credentials.items(), key=lambda item: item[1].valid_until)
    if first.valid_until > deadline:
        return
    if first.expired(now):
        raise JobSubmissionError(
            f"the jobs of {name} were not submitted: {first.expired_error()} (their outputs "
            f"go to {base})")
    seconds, source = walltime  # type: ignore[misc]
    raise JobSubmissionError(
        f"the jobs of {name} were not submitted: {first.name} ends at "
        f"{utc_text(first.valid_until)}, before their expected wall time of "
        f"{_hours(seconds)} ({source}) is over at {utc_text(deadline)}, and their outputs "
        f"go to {base}: {first.renew} for longer, or give the jobs less time")


def _hours(seconds: float) -> str:
    """``5400`` -> ``"1h30m"``, ``7200`` -> ``"2h"``, ``600`` -> ``"10m"``."""
    hours, minutes = divmod(round(seconds / 60), 60)
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes or not hours else "")
