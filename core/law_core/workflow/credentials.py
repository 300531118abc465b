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

Jobs on workers that share no file system with this host (:mod:`law_core.workflow.remote`)
also take the credential files with them (:func:`job_credentials`): the X.509 proxy, or a
WLCG bearer-token file, when a store the jobs write to presents it. Each file is one of the
job's input files, referenced by its path here (never copied into the job directory, never
its contents in a job file); the job wrapper points ``X509_USER_PROXY`` /
``BEARER_TOKEN_FILE`` at the copy in the job's scratch directory. ``[job] send_proxy`` and
``send_token`` say when: ``auto`` (default) when a store presents it, ``true`` always,
``false`` never (a site that provides its own, e.g. ARC's delegated proxy). Jobs on a
shared file system use the same files where they are: the variable points at the path here.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from law_core.config import get_config
from law_core.errors import ConfigError, CredentialError, JobSubmissionError, LawCoreError
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


def output_credentials(workflow: Any, branches: list[int],
                       also: tuple[Any, ...] = ()) -> dict[str, Credential]:
    """The credentials that writing the outputs of ``branches`` needs, by the base URI
    they are for (one per base of each file system); a CredentialError when one is needed
    but missing. ``also``: more targets the jobs reach (their logs' and bundle's store)."""
    collection = workflow.output_collection()
    file_systems: dict[int, Any] = {}
    values = [collection.targets[b] if b in collection.targets else
              workflow.req_branch(b).output() for b in branches]
    for leaf in leaf_targets([*values, *also]):
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


def check_output_credentials(manager: Any, branches: list[int],
                             also: tuple[Any, ...] = ()) -> None:
    """Raise a :class:`JobSubmissionError` when a credential the outputs of ``branches``
    (and the targets ``also``) need is missing, or ends before the jobs' expected wall
    time is over."""
    workflow = manager.workflow
    name = type(workflow).__name__
    try:
        credentials = output_credentials(workflow, branches, also)
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


# credentials that travel with jobs

#: the variables through which grid tools find a proxy and a bearer-token file
PROXY_VARIABLE = "X509_USER_PROXY"
TOKEN_VARIABLE = "BEARER_TOKEN_FILE"
#: values of ``[job] send_proxy`` and ``send_token``
SEND_MODES = ("auto", "true", "false")

_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._+@-]*")


@dataclass(frozen=True)
class JobCredential:
    """A credential file a job takes with it: its ``path`` on this host, the ``variable``
    that points the job's tools at it (``X509_USER_PROXY``), what messages call it."""

    path: str
    variable: str
    name: str

    @property
    def file_name(self) -> str:
        """Its name among the job's input files (the batch system copies by name)."""
        return os.path.basename(self.path)


def proxy_file() -> str:
    """The X.509 proxy grid tools use: ``X509_USER_PROXY``, else ``/tmp/x509up_u<uid>``."""
    return os.environ.get(PROXY_VARIABLE) or f"/tmp/x509up_u{os.getuid()}"


def token_file() -> str:
    """The bearer-token file of WLCG token discovery: ``BEARER_TOKEN_FILE``, else
    ``$XDG_RUNTIME_DIR/bt_u<uid>`` where that exists, else ``/tmp/bt_u<uid>``. (A token in
    ``BEARER_TOKEN`` itself is no file, and is never sent.)"""
    given = os.environ.get(TOKEN_VARIABLE)
    if given:
        return given
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.exists(os.path.join(runtime, f"bt_u{os.getuid()}")):
        return os.path.join(runtime, f"bt_u{os.getuid()}")
    return f"/tmp/bt_u{os.getuid()}"


def credential_file(credential: Credential) -> JobCredential | None:
    """The file behind ``credential`` (its ``path`` and ``variable``), or None when it is
    held in no file law-core can send."""
    if credential.path and credential.variable:
        return JobCredential(str(credential.path), str(credential.variable), credential.name)
    return None


def send_mode(option: str) -> str:
    """``[job] send_proxy`` / ``send_token``: auto (default), true or false."""
    text = str(get_config().get("job", option, default="auto") or "auto").strip().lower()
    text = {"yes": "true", "1": "true", "on": "true", "no": "false", "0": "false",
            "off": "false"}.get(text, text)
    if text not in SEND_MODES:
        raise ConfigError(f"[job] {option} = {text!r}: expected auto (send it when a store "
                          "the jobs write to needs it), true or false")
    return text


def job_credentials(workflow: Any, branches: list[int],
                    also: tuple[Any, ...] = ()) -> list[JobCredential]:
    """The credential files the jobs of ``branches`` take with them (see the module
    docstring): those the stores of their outputs (and of the targets ``also``) present,
    as ``[job] send_proxy`` and ``send_token`` say. A :class:`JobSubmissionError` when
    one to send is missing, or two would have the same name in the job."""
    modes = {PROXY_VARIABLE: send_mode("send_proxy"), TOKEN_VARIABLE: send_mode("send_token")}
    found: dict[str, JobCredential] = {}
    if any(mode == "auto" for mode in modes.values()):
        try:
            needed = output_credentials(workflow, branches, also)
        except CredentialError as err:
            raise JobSubmissionError(f"the jobs of {type(workflow).__name__} were not "
                                     f"submitted: {err}") from err
        for credential in needed.values():
            sent = credential_file(credential)
            if sent is not None and modes.get(sent.variable, "auto") != "false":
                found.setdefault(sent.variable, sent)
    for variable, option, locate, what in (
            (PROXY_VARIABLE, "send_proxy", proxy_file, "the X.509 proxy"),
            (TOKEN_VARIABLE, "send_token", token_file, "the bearer token")):
        if modes[variable] == "true" and variable not in found:
            path = locate()
            if not os.path.isfile(path):
                raise JobSubmissionError(
                    f"[job] {option} = true, but {what} {path} does not exist: create it, "
                    f"point {variable} at it, or set [job] {option} = auto")
            found[variable] = JobCredential(path, variable, f"{what} {path}")
    sent = list(found.values())
    names = [c.file_name for c in sent]
    for credential in sent:
        if not _VARIABLE.fullmatch(credential.variable) or \
                not _NAME.fullmatch(credential.file_name):
            raise JobSubmissionError(
                f"{credential.name} cannot travel with the jobs: its file name "
                f"{credential.file_name!r} (or the variable {credential.variable!r}) has "
                "characters other than letters, digits and ._+@-; give it another name")
        if names.count(credential.file_name) > 1:
            raise JobSubmissionError(
                f"the credentials {' and '.join(c.name for c in sent)} have the same file "
                "name and would overwrite each other in the job: rename one")
        if not os.path.isfile(credential.path):
            raise JobSubmissionError(f"{credential.name} is to travel with the jobs, but "
                                     f"{credential.path} does not exist")
    return sent
