"""The gLite job manager: CREAM CEs through glite-ce-job-submit, -status, -cancel and -purge.

A job is one JDL and one ``glite-ce-job-submit`` call (CREAM knows no collections, and a
call with several JDLs prints ids only for those it accepted, unattributed); the jobs of a
batch are submitted in parallel. Grid workers share no file system with this host: the
core's ``transfer_spec`` names the files that go in the InputSandbox and the exit status and
logs that come back through the OutputSandbox, uploaded by the CE into the job directory
(``output_uri``). The
end of a job is learned from that exit status (the core reads it); ``glite-ce-job-status``
(one call for many jobs) says whether it is pending or running, and why CREAM failed it.
"""

from __future__ import annotations

import logging
import re
import secrets
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

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
)
from law_core_glite import jdl
from law_core_glite.settings import GLiteSettings

logger = logging.getLogger("law_core_glite")

#: CREAM job states (UNKNOWN is left out: the core then waits for the job's exit status)
STATES = {**dict.fromkeys(("REGISTERED", "PENDING", "IDLE", "HELD"), PENDING),
          **dict.fromkeys(("RUNNING", "REALLY-RUNNING"), RUNNING), "DONE-OK": FINISHED,
          **dict.fromkeys(("DONE-FAILED", "CANCELLED", "ABORTED"), FAILED)}
SUBMIT_THREADS = 4
CHUNK = 100  # job ids per cancel and purge call

_CE_ID = re.compile(r"[^:/\s]+(:\d+)?/cream-[^-/\s]+-\S+")
_JOB_ID = re.compile(r"https://[^/\s]+/CREAM\w+")
_FIELD = re.compile(r"\s*(\w[\w ]*?)\s*=\s*\[(.*)\]\s*")
_LOG_PREFIX = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (\w+) - ")
_DELEGATING = threading.Lock()


class GLiteJobManager(RemoteJobManager):
    """``--workflow glite``."""

    name = "glite"
    settings_cls = GLiteSettings
    tools = ("glite-ce-job-submit", "glite-ce-job-status", "glite-ce-job-cancel",
             "glite-ce-job-purge", "glite-ce-delegate-proxy")
    max_batch_size = 100
    max_query_size = 500

    def shared_file_system(self) -> bool:
        """Never: a grid worker has none of this host's files, so the jobs carry law-core
        and the analysis (the core's software bundle, in the InputSandbox) and use no path
        of this host."""
        return False

    def checked_settings(self) -> GLiteSettings:
        """The settings, with a CE id of the form glite-ce-job-submit accepts."""
        settings = self.settings
        if not settings.ce:
            raise ConfigError("no CREAM CE to submit to: give --glite-ce "
                              "HOST:PORT/cream-BATCHSYSTEM-QUEUE, or set ce in the [glite] "
                              "section of law.cfg")
        if not _CE_ID.fullmatch(settings.ce):
            raise ConfigError(f"the CREAM CE {settings.ce!r} (--glite-ce / [glite] ce) is not of "
                              "the form HOST[:PORT]/cream-BATCHSYSTEM-QUEUE")
        return settings

    def jdl(self, job: JobSubmission, settings: GLiteSettings) -> str:
        """The JDL of one job, run in its sandbox as the core's ``transfer_spec`` says."""
        spec, job_dir = self.transfer_spec(job), f"{Path(job.job_dir).absolute()}/"
        base = (settings.output_uri or f"gsiftp://{socket.getfqdn()}").rstrip("/")
        # names relative to the job directory, where glite-ce-job-submit runs
        inputs = [path.removeprefix(job_dir) for path in spec.inputs]
        attributes = [
            ("Type", "Job"), ("JobType", "Normal"), ("Executable", spec.executable),
            ("StdOutput", spec.stdout), ("StdError", spec.stderr),
            ("InputSandbox", inputs), ("OutputSandbox", list(spec.outputs)),
            ("OutputSandboxDestURI",
             [base + quote(str(Path(p).absolute()), safe="/") for p in spec.outputs.values()]),
            ("RetryCount", settings.retry_count), ("ShallowRetryCount", settings.retry_count),
        ] + ([("VirtualOrganisation", settings.vo)] if settings.vo else [])
        lines = [f"    {name} = {jdl.value(v, f'the JDL {name}')};" for name, v in attributes]
        lines.insert(3, f"    Arguments = {jdl.arguments(list(spec.command))};")
        lines += [f"    {line}" for line in jdl.extra_lines(settings.extra_lines)]
        return "\n".join([f"// law-core-glite: job {job.num}, attempt {job.attempt}", "[",
                          *lines, "]", ""])

    # the primitives

    def submit(self, jobs: list[JobSubmission]) -> list[str]:
        settings = self.checked_settings()
        job_dir = Path(jobs[0].job_dir)
        files = []
        for job in jobs:
            files.append(job_dir / f"glite_{job.num}_{job.attempt}.jdl")
            files[-1].write_text(self.jdl(job, settings))
        delegation = self.delegation(settings)
        with ThreadPoolExecutor(min(SUBMIT_THREADS, len(files))) as pool:
            results = list(pool.map(lambda f: self._submit_one(f, settings, delegation), files))
        errors = [r for r in results if isinstance(r, Exception)]
        if errors:  # all or none: the accepted ones would be submitted again
            self.cancel([r for r in results if isinstance(r, str)])
            raise errors[0]
        return results

    def query(self, job_ids: list[str]) -> dict[str, JobState]:
        if not job_ids:
            return {}
        result = self.run_tool(["glite-ce-job-status", "-L", "0", *job_ids], timeout=300)
        if result.returncode != 0:
            raise RuntimeError(f"glite-ce-job-status failed: {_reason(result)}")
        states = {}
        for block in result.stdout.split("******")[1:]:
            fields = dict(m.groups() for line in block.splitlines()
                          if (m := _FIELD.fullmatch(line)))
            state = fields.get("Current Status") or fields.get("Status", "")
            status = STATES.get(state)
            if status is None:  # a fault (unknown or purged job), or UNKNOWN
                continue
            code = fields.get("ExitCode", "")
            exit_code = int(code) if code.lstrip("-").isdigit() else None
            if status == FINISHED and exit_code not in (0, None):
                status = FAILED
            reason = fields.get("FailureReason") or fields.get("Description")
            error = None if status != FAILED else f"CREAM state {state}" + \
                (f" (exit code {exit_code})" if exit_code is not None else "") + \
                (f": {reason}" if reason else "")
            states[fields.get("JobID", "")] = JobState(status, exit_code, error,
                                                       {"state": state})
        return {job_id: states[job_id] for job_id in job_ids if job_id in states}

    def cancel(self, job_ids: list[str]) -> None:
        for i in range(0, len(job_ids), CHUNK):
            result = self.run_tool(["glite-ce-job-cancel", "-N", *job_ids[i:i + CHUNK]])
            if result.returncode != 0:  # jobs that already ended are no error
                logger.debug("glite-ce-job-cancel: %s", _reason(result))

    def cleanup(self, job_ids: list[str]) -> None:
        for i in range(0, len(job_ids), CHUNK):
            result = self.run_tool(["glite-ce-job-purge", "-N", *job_ids[i:i + CHUNK]])
            if result.returncode != 0:
                logger.warning("glite-ce-job-purge: %s", _reason(result))

    # helpers

    def delegation(self, settings: GLiteSettings) -> list[str]:
        """The delegation options of glite-ce-job-submit: the configured id, ``-a``, or an
        id this manager delegated once (glite-ce-delegate-proxy) for all its submissions."""
        if settings.delegation_id == "auto":
            return ["-a"]
        if settings.delegation_id:
            return ["-D", settings.delegation_id]
        with _DELEGATING:
            if "_delegated" not in self.__dict__:
                endpoint = settings.ce.split("/", 1)[0]
                ident = f"law-core-{secrets.token_hex(8)}"
                result = self.run_tool(["glite-ce-delegate-proxy", "-e", endpoint, ident])
                if result.returncode != 0:
                    raise JobSubmissionError(
                        f"glite-ce-delegate-proxy could not delegate your proxy to {endpoint}: "
                        f"{_reason(result)}; check your grid proxy (voms-proxy-info), or "
                        "delegate one yourself and set [glite] delegation_id")
                self.__dict__["_delegated"] = ident
        return ["-D", self.__dict__["_delegated"]]

    def _submit_one(self, path: Path, settings: GLiteSettings,
                    delegation: list[str]) -> str | Exception:
        try:
            result = self.run_tool(["glite-ce-job-submit", *delegation, "-r", settings.ce,
                                    path.name], cwd=path.parent, timeout=600)
        except Exception as err:
            return err
        ids = [line.strip() for line in result.stdout.splitlines()
               if _JOB_ID.fullmatch(line.strip())]
        if result.returncode != 0 or len(ids) != 1:
            return JobSubmissionError(
                f"glite-ce-job-submit refused {path}: {_reason(result)}; check --glite-ce / "
                f"[glite] ce ({settings.ce}), the delegation and the JDL")
        return ids[0]


def _reason(result) -> str:
    """What a glite-ce-* tool said went wrong: its FATAL/ERROR/WARN lines, else its last."""
    lines = [line.strip() for line in (result.stdout + "\n" + result.stderr).splitlines()
             if line.strip()]
    errors = [_LOG_PREFIX.sub("", line) for line in lines
              if (m := _LOG_PREFIX.match(line)) and m.group(1) in ("FATAL", "ERROR", "WARN")]
    if errors:
        return "; ".join(errors)
    return lines[-1] if lines else f"no job id printed (exit code {result.returncode})"
