"""The ARC job manager: arcsub, and the CE's REST interface for the rest.

A batch of jobs is one multi-job xRSL file and one ``arcsub`` call. The jobs share nothing
with this host: each runs in its session directory on the CE, into which ``arcsub``
uploads the job files the core's ``transfer_spec`` names, the software bundle among them.
States come from the CE's REST job list (``GET <ce>/rest/1.0/jobs?state=...``), one
request per CE and poll: A-REX answers it from its own records, while ``arcstat`` and
``arcget`` go by the infoprovider's, which lags by up to a minute. Once a job ended, its
exit status and logs are fetched from its session directory over REST, and the CE is told
to clean it (REST too: ``arckill`` and ``arcclean`` also go by the infoprovider, and skip
jobs it still calls running). The X.509 proxy (``X509_USER_PROXY``) authenticates the REST
requests and is delegated by ``arcsub``; it is never written into a job file. Where the
jobs' store needs it, the core's ``transfer_spec`` names the proxy file among the inputs,
and the xRSL uploads it by its path like the other job files.
"""

from __future__ import annotations

import html
import http.client
import json
import logging
import math
import os
import re
import sqlite3
import ssl
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

from law_core.plugin import (
    FAILED,
    FINISHED,
    PENDING,
    RUNNING,
    BatchToolTimeout,
    JobState,
    JobSubmission,
    JobSubmissionError,
    JobTransfer,
    RemoteJobManager,
    WorkflowError,
)
from law_core_arc.settings import ArcSettings

logger = logging.getLogger("law_core_arc")

#: A-REX's job states (REST interface) and law-core's status
ARC_STATES = {
    "ACCEPTING": PENDING, "ACCEPTED": PENDING, "PREPARING": PENDING, "PREPARED": PENDING,
    "SUBMITTING": PENDING, "QUEUING": PENDING, "HELD": PENDING, "OTHER": PENDING,
    "RUNNING": RUNNING, "EXITINGLRMS": RUNNING, "EXECUTED": RUNNING, "FINISHING": RUNNING,
    "KILLING": RUNNING,
    "FINISHED": FINISHED, "FAILED": FAILED, "KILLED": FAILED, "WIPED": FAILED,
    "DELETED": FAILED,
}
#: states after which the job's files can be fetched (and then cleaned on the CE)
ENDED = ("FINISHED", "FAILED", "KILLED")
#: states in which A-REX waits for the files the client uploads (a PUT it has not seen
#: complete, e.g. cut off by a killed arcsub, is waited for until the CE gives up)
WAITING_FOR_UPLOADS = ("ACCEPTING", "ACCEPTED", "PREPARING")
#: the job name in the description A-REX keeps (ADL, as arcsub sends it; or xRSL)
_DESCRIBED_NAME = re.compile(
    r"<(?:\w+:)?ActivityIdentification>(?:(?!</(?:\w+:)?ActivityIdentification>).)*?"
    r"<(?:\w+:)?Name>([^<]*)<|\(\s*jobname\s*=\s*\"((?:[^\"]|\"\")*)\"",
    re.IGNORECASE | re.DOTALL)
_SUBMITTED = re.compile(r"Job submitted with jobid:\s*(\S+)")
_JOB_URL = re.compile(r"(https?://.+/rest/1\.\d+/jobs)/([A-Za-z0-9]+)")


class ArcJobManager(RemoteJobManager):
    """``--workflow arc``."""

    name = "arc"
    settings_cls = ArcSettings
    tools = ("arcsub", "arcstat", "arcproxy")

    @property
    def max_batch_size(self) -> int:  # type: ignore[override]
        return max(1, self.settings.max_batch_size)

    def shared_file_system(self) -> bool:
        """Never: a grid job runs in the CE's session directory on a worker that has none
        of this host's files, so it carries law-core and the analysis (the core's
        software bundle, one of the job's input files)."""
        return False

    # where the ARC client keeps its records of this workflow's jobs

    def arc_directory(self) -> Path:
        """The joblist of the ARC tools, the xRSL files, what each job brings back."""
        path = self.job_directory() / "arc"
        (path / "jobs").mkdir(parents=True, exist_ok=True)
        return path

    def joblist(self) -> Path:
        return self.arc_directory() / "jobs.dat"

    def _arc(self, tool: str, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
        return self.run_tool([tool, "-j", str(self.joblist()), *args], timeout=timeout)

    # job descriptions

    def description(self, job: JobSubmission, spec: JobTransfer) -> str:
        """The xRSL of one job: the wrapper run in the session directory, the job files
        uploaded from here, the exit status and logs kept for arcget."""
        s = self.settings
        inputs = {Path(path).name: path for path in spec.inputs}
        relations = [
            _relation("executable", spec.executable),
            _relation("arguments", *spec.command),
            _relation("jobname", job.name),
            "(inputfiles=" + " ".join(f"({_string(n)} {_string(p)})"
                                      for n, p in inputs.items()) + ")",
            "(outputfiles=" + " ".join(f"({_string(n)} \"\")" for n in spec.outputs) + ")",
            _relation("stdout", spec.stdout), _relation("stderr", spec.stderr),
        ]
        if s.queue:
            relations.append(_relation("queue", s.queue))
        if s.memory:
            relations.append(f"(memory={math.ceil(s.memory)})")
        if s.walltime:
            relations.append(_relation("walltime", f"{math.ceil(s.walltime)} minutes"))
        if s.cpus:
            relations.append(f"(count={int(s.cpus)})")
        for line in s.extra_xrsl.splitlines():
            if not (line := line.strip()) or line.startswith("#"):
                continue
            if not (line.startswith("(") and line.endswith(")")):
                raise WorkflowError(f"[arc] extra_xrsl lines are xRSL relations such as "
                                    f"'(runtimeenvironment=\"ENV/X\")', not {line!r}")
            relations.append(line)
        return "&" + "\n ".join(relations)

    def batch_description(self, jobs: list[JobSubmission]) -> str:
        texts = [self.description(job, self.transfer_spec(job)) for job in jobs]
        if len(texts) == 1:
            return texts[0] + "\n"
        return "+" + "\n".join(f"({text})" for text in texts) + "\n"

    # the primitives

    def submit(self, jobs: list[JobSubmission]) -> list[str]:
        s = self.settings
        if not s.ce:
            raise WorkflowError("no ARC CE to submit to: set --arc-ce or [arc] ce, e.g. "
                                "https://ce.example.org:443/arex")
        self.check_proxy()
        arc = self.arc_directory()
        path = arc / f"batch_{jobs[0].num}_{jobs[0].attempt}.xrsl"
        path.write_text(self.batch_description(jobs))
        result = self._arcsub(path, s)
        ids = _SUBMITTED.findall(result.stdout)
        if result.returncode != 0 or len(ids) != len(jobs):
            if ids:  # a batch goes in whole or not at all: another attempt submits it again
                self.cancel(ids)
                self.cleanup(ids)
            raise JobSubmissionError(
                f"arcsub submitted {len(ids)} of the {len(jobs)} jobs of {path} to {s.ce}: "
                f"{_tool_error(result)}; check --arc-ce, the proxy (arcproxy -I) and [arc]")
        by_name = {name: job_id for job_id, name in self._joblist_names().items()
                   if job_id in ids}
        if all(job.name in by_name for job in jobs):
            ids = [by_name[job.name] for job in jobs]
        for job, job_id in zip(jobs, ids):
            self._remember(job, job_id)
        return ids

    def query(self, job_ids: list[str]) -> dict[str, JobState]:
        """The CE's states; the files of jobs that ended are fetched (and the jobs cleaned
        on the CE) before this returns, so that the core finds their exit statuses."""
        found = self.arc_states(job_ids)
        errors = {url: self._failure_reason(url, state) for url, state in found.items()
                  if state in ("FAILED", "KILLED")}
        ended = [url for url, state in found.items() if state in ENDED]
        fetched = self._retrieve(ended) if ended else set()
        states = {}
        for url, state in found.items():
            status = ARC_STATES.get(state, PENDING)
            if state in ENDED and url not in fetched:
                status = RUNNING  # ended, its files not here yet: not ended for the core
            states[url] = JobState(status, error=errors.get(url) or (
                f"the job was {state.lower()} on the CE" if status == FAILED else None),
                extra={"arc_state": state})
        return states

    def arc_states(self, job_ids: list[str]) -> dict[str, str]:
        """Job URL -> A-REX's state (``RUNNING``), one REST request per CE; jobs the CE
        does not list (cleaned, or never there) are left out."""
        found: dict[str, str] = {}
        for base, ids in _by_endpoint(job_ids).items():
            listing = self._rest(base, "?state=" + ",".join(ARC_STATES))
            wanted = {arc_id: url for url, arc_id in ids}
            for entry in _entries(listing):
                if entry.get("id") in wanted:
                    found[wanted[entry["id"]]] = str(entry.get("state", "OTHER")).upper()
        return found

    def cancel(self, job_ids: list[str]) -> None:
        """REST ``action=kill`` (arckill goes by the infoprovider's lagging states);
        ended or unknown jobs are no error."""
        self._job_action("kill", job_ids)

    def cleanup(self, job_ids: list[str]) -> None:
        """REST ``action=clean``: the CE removes the jobs' session directories and
        records (arcclean skips a job the lagging infoprovider still calls running)."""
        self._job_action("clean", job_ids)
        for job_id in job_ids:
            (self.arc_directory() / "jobs" / f"{_arc_id(job_id)}.json").unlink(missing_ok=True)

    def recover(self, jobs: list[JobSubmission]) -> dict[int, str]:
        """Jobs of an interrupted submission, by their names: in the ARC joblist of this
        job directory (an ``arcsub`` of the killed process still running is waited for),
        else among the CE's own jobs. ``arcsub`` writes its joblist only when it ends, and
        A-REX starts each job of a batch as soon as its files are uploaded: a process group
        killed during ``arcsub`` leaves jobs only the CE knows, some of them waiting for
        files whose upload was cut off. Those get their files uploaded (again) here."""
        if not jobs:
            return {}
        self._wait_for_arcsub()
        by_name = {name: job_id for job_id, name in self._joblist_names().items()}
        missing = {job.name for job in jobs if job.name not in by_name}
        on_ce = self._ce_jobs_named(missing, skip={_arc_id(i) for i in by_name.values()}) \
            if missing else {}
        found = {}
        for job in jobs:
            if job.name in by_name:
                job_id = by_name[job.name]
            elif job.name in on_ce:
                job_id, state = on_ce[job.name]
                if state in WAITING_FOR_UPLOADS and not self._complete_uploads(job, job_id):
                    continue  # killed and cleaned on the CE: the core submits it again
            else:
                continue
            found[job.num] = job_id
            self._remember(job, job_id)
        if on_ce:
            logger.info("found %d jobs of an interrupted arcsub on the CE %s (not in its "
                        "joblist); resuming them", len(on_ce), self.settings.ce)
        return found

    def rest_endpoint(self) -> str:
        """The REST job list of ``--arc-ce``, as ``arcsub -C`` takes it: ``host`` alone
        means ``https://host:443/arex``."""
        ce = self.settings.ce.strip().rstrip("/")
        url = urllib.parse.urlsplit(ce if "://" in ce else f"https://{ce}")
        netloc = url.netloc if url.port else f"{url.netloc}:443"
        return f"https://{netloc}{url.path or '/arex'}/rest/1.0/jobs"

    # credentials

    def proxy_path(self) -> Path:
        return Path(os.environ.get("X509_USER_PROXY") or f"/tmp/x509up_u{os.getuid()}")

    def check_proxy(self) -> None:
        """The proxy exists and lasts beyond the jobs' wall time (the CE renews nothing)."""
        path = self.proxy_path()
        if not path.is_file():
            raise WorkflowError(f"no X.509 proxy at {path}: create one with arcproxy (or "
                                "voms-proxy-init), or point X509_USER_PROXY at it")
        cached = self.__dict__.get("_proxy_left")
        if cached is None or time.monotonic() - cached[0] > 60:
            result = self.run_tool(["arcproxy", "-i", "validityLeft"], timeout=60)
            text = result.stdout.strip()
            left = int(text) if result.returncode == 0 and text.isdigit() else None
            cached = self.__dict__["_proxy_left"] = (time.monotonic(), left)
        left = cached[1]
        if left is None:
            return  # arcsub will say what is wrong with it
        needed = self.settings.walltime * 60
        if left <= 0 or left < needed:
            raise WorkflowError(
                f"the X.509 proxy {path} is valid for {left // 60} more minutes, less than the "
                f"jobs' wall time of {needed / 60:g} minutes: renew it (arcproxy -c "
                "validityPeriod=...) before submitting" if left > 0 else
                f"the X.509 proxy {path} has expired: renew it with arcproxy")

    # helpers

    def _arcsub(self, path: Path, s: ArcSettings) -> subprocess.CompletedProcess:
        """arcsub, its pid recorded while it runs: a restarted submitter waits for an arcsub
        its killed predecessor left running before it looks for the jobs."""
        args = ["arcsub", "-C", s.ce, "-T", s.interface, "-j", str(self.joblist()), str(path)]
        try:
            process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       text=True, cwd=path.parent)
        except FileNotFoundError:
            raise WorkflowError(f"'arcsub' was not found: is this a submit host for --workflow "
                                f"arc? (law-core calls {', '.join(self.tools)})") from None
        marker = path.with_suffix(".pid")
        marker.write_text(str(process.pid))
        try:
            out, err = process.communicate(timeout=s.submit_timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise BatchToolTimeout(f"arcsub did not finish within {s.submit_timeout:g} s; is "
                                   f"{s.ce} reachable?") from None
        finally:
            marker.unlink(missing_ok=True)
        return subprocess.CompletedProcess(args, process.returncode, out, err)

    def _wait_for_arcsub(self) -> None:
        deadline = time.monotonic() + self.settings.submit_timeout
        for marker in self.arc_directory().glob("batch_*.pid"):
            try:
                pid = int(marker.read_text())
                while b"arcsub" in Path(f"/proc/{pid}/cmdline").read_bytes() and \
                        time.monotonic() < deadline:
                    time.sleep(0.2)
            except (OSError, ValueError):
                pass
            marker.unlink(missing_ok=True)

    def _joblist_names(self) -> dict[str, str]:
        """Job URL -> job name, from the ARC tools' joblist of this job directory."""
        path = self.joblist()
        if not path.exists():
            return {}
        try:  # ARC 6 and 7 keep it in SQLite
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as db:
                return {str(i): str(n) for i, n in db.execute("SELECT id, name FROM jobs")}
        except sqlite3.Error:
            pass
        result = self._arc("arcstat", "-a", "-u", "-J")
        text = result.stdout.strip()
        try:  # 6.17 prints '"jobs": [...]' without the braces around it
            data = json.loads(text if text.startswith("{") else "{" + text + "}")
        except ValueError:
            return {}
        return {str(job.get("id")): str(job.get("name")) for job in data.get("jobs", [])}

    def _remember(self, job: JobSubmission, job_id: str) -> None:
        """Where the files the job brings back belong (read when it ended)."""
        outputs = self.transfer_spec(job).outputs
        path = self.arc_directory() / "jobs" / f"{_arc_id(job_id)}.json"
        path.write_text(json.dumps({"url": job_id, "num": job.num, "attempt": job.attempt,
                                    "outputs": outputs}))

    def _ce_jobs_named(self, names: set[str], skip: set[str]) -> dict[str, tuple[str, str]]:
        """Job name -> (job URL, A-REX state) of the user's jobs on the CE that bear one of
        ``names``: the REST job list, then the description A-REX keeps of each job not in
        ``skip`` or recorded here (one request each; only after an interrupted submission).
        Of two jobs with one name, the one further on is kept, the other killed and
        cleaned."""
        base = self.rest_endpoint()
        records = self.arc_directory() / "jobs"
        found: dict[str, tuple[str, str]] = {}
        extra: list[str] = []
        for entry in _entries(self._rest(base, "?state=" + ",".join(ARC_STATES))):
            arc_id, state = str(entry.get("id", "")), str(entry.get("state", "OTHER")).upper()
            if not arc_id or arc_id in skip or (records / f"{arc_id}.json").exists():
                continue
            status, data = self._get(base, f"/{arc_id}/diagnose/description", "*/*")
            match = _DESCRIBED_NAME.search(data.decode(errors="replace")) \
                if status == 200 else None
            name = (html.unescape(match[1]) if match[1] is not None
                    else match[2].replace('""', '"')) if match else None
            if name not in names:
                continue
            url = f"{base}/{arc_id}"
            if name in found:  # keep the one that got further
                waiting = found[name][1] in WAITING_FOR_UPLOADS
                url, other = (url, found[name][0]) if waiting else (found[name][0], url)
                state = state if waiting else found[name][1]
                extra.append(other)
            found[name] = (url, state)
        if extra:
            self.cancel(extra)
            self.cleanup(extra)
        return found

    def _complete_uploads(self, job: JobSubmission, job_id: str) -> bool:
        """PUT the job's input files into its session directory on the CE, as arcsub
        would have (A-REX takes a file as uploaded once a PUT of it completed). A job
        whose files cannot be uploaded is killed and cleaned: False."""
        base, arc_id = _JOB_URL.fullmatch(job_id).groups()  # type: ignore[union-attr]
        try:
            for path in self.transfer_spec(job).inputs:
                name = urllib.parse.quote(Path(path).name)
                status, answer = self._request("PUT", base, f"/{arc_id}/session/{name}",
                                               "*/*", Path(path).read_bytes(),
                                               "application/octet-stream")
                if status not in (200, 201, 204):
                    raise RuntimeError(f"PUT {name} answered {status}: {answer[:200]!r}")
        except (OSError, RuntimeError) as err:
            if self.arc_states([job_id]).get(job_id, "OTHER") not in (
                    *WAITING_FOR_UPLOADS, "OTHER"):
                return True  # A-REX had all its files after all, and went on
            logger.warning("the files of ARC job %s (of an interrupted arcsub) could not be "
                           "uploaded (%s); it is cancelled and submitted again", job_id, err)
            self.cancel([job_id])
            self.cleanup([job_id])
            return False
        return True

    def _retrieve(self, urls: list[str]) -> set[str]:
        """Fetch the declared outputs of the ended jobs from their session directories
        (REST: ``arcget`` would wait for the lagging infoprovider to call them ended) into
        place, then clean them on the CE. Returns the jobs fetched; the others stay on the CE for
        the next poll. A declared output the job did not write is no error here (ARC says
        Finished all the same): the core finds no exit status."""
        fetched = []
        for url in urls:
            base, arc_id = _JOB_URL.fullmatch(url).groups()  # type: ignore[union-attr]
            record = self.arc_directory() / "jobs" / f"{arc_id}.json"
            try:
                outputs = json.loads(record.read_text())["outputs"]
            except (OSError, ValueError, KeyError):
                outputs = {}  # submitted by a process that died before recording them
            try:
                for name, destination in outputs.items():
                    status, data = self._get(base, f"/{arc_id}/session/"
                                             + urllib.parse.quote(name), "*/*")
                    if status == 404:
                        continue
                    if status != 200:
                        raise RuntimeError(f"GET {url}/session/{name} answered {status}")
                    path = Path(destination)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    partial = path.with_name(f".{path.name}.arc-{os.getpid()}")
                    partial.write_bytes(data)
                    os.replace(partial, path)
            except RuntimeError as err:
                logger.warning("the files of ARC job %s were not fetched (trying again at the "
                               "next poll): %s", url, err)
                continue
            fetched.append(url)
        if fetched:
            self.cleanup(fetched)
        return set(fetched)

    def _failure_reason(self, url: str, state: str) -> str:
        """What A-REX says about a failed job (its ``diagnose/failed``)."""
        base, arc_id = _JOB_URL.fullmatch(url).groups()  # type: ignore[union-attr]
        try:
            status, data = self._get(base, f"/{arc_id}/diagnose/failed", "text/plain")
        except RuntimeError:
            status, data = 0, b""
        reason = " ".join(data.decode(errors="replace").split())[:500] if status == 200 else ""
        what = "killed" if state == "KILLED" else "failed"
        return f"ARC job {url} {what} on the CE" + (f": {reason}" if reason else "")

    def _ssl_context(self) -> ssl.SSLContext:
        cached = self.__dict__.get("_context")
        if cached is None:
            cert_dir = os.environ.get("X509_CERT_DIR") or "/etc/grid-security/certificates"
            cached = ssl.create_default_context(capath=cert_dir)
            try:
                cached.load_cert_chain(str(self.proxy_path()))  # the proxy holds its key
            except (OSError, ssl.SSLError) as err:
                raise WorkflowError(f"the X.509 proxy {self.proxy_path()} cannot be used: "
                                    f"{err}; renew it with arcproxy") from None
            self.__dict__["_context"] = cached
        return cached

    def _get(self, base: str, path: str, accept: str) -> tuple[int, bytes]:
        return self._request("GET", base, path, accept)

    def _request(self, method: str, base: str, path: str, accept: str,
                 body: bytes | None = None, content_type: str = "application/json"
                 ) -> tuple[int, bytes]:
        """``method base + path`` on the CE's REST interface (one kept-alive connection
        per CE and thread): the status and the body."""
        url = urllib.parse.urlsplit(base + path)
        connections = self.__dict__.setdefault("_connections", {})
        key = (url.netloc, threading.get_ident())
        for attempt in (1, 2):  # a kept-alive connection the CE closed: once more, anew
            connection = connections.get(key)
            if connection is None:
                connection = connections[key] = http.client.HTTPSConnection(
                    url.hostname or "", url.port or 443, context=self._ssl_context(),
                    timeout=60)
            try:
                headers = {"Accept": accept}
                if body is not None:
                    headers["Content-Type"] = content_type
                connection.request(method, url.path + (f"?{url.query}" if url.query else ""),
                                   body=body, headers=headers)
                response = connection.getresponse()
                return response.status, response.read()
            except (OSError, http.client.HTTPException) as err:
                connection.close()
                connections.pop(key, None)
                if attempt == 2:
                    raise RuntimeError(f"the ARC CE {url.netloc} did not answer: {err}") \
                        from None
        raise AssertionError("unreachable")

    def _job_action(self, action: str, job_ids: list[str]) -> None:
        """POST ``?action=kill|clean`` for many jobs, 500 per request and CE."""
        for base, ids in _by_endpoint(job_ids).items():
            for i in range(0, len(ids), 500):
                body = json.dumps({"job": [{"id": arc_id} for _, arc_id in ids[i:i + 500]]})
                status, answer = self._request("POST", base, f"?action={action}",
                                               "application/json", body.encode())
                if status not in (200, 201, 202):
                    raise RuntimeError(f"{action} of {len(ids[i:i + 500])} ARC jobs at {base} "
                                       f"answered {status}: {answer[:200]!r}")

    def _rest(self, base: str, path: str) -> Any:
        """The JSON answer of the CE's REST interface (None for an empty one, as A-REX
        gives for an empty job list)."""
        status, body = self._get(base, path, "application/json")
        if status != 200:
            raise RuntimeError(f"GET {base}{path} answered {status}: {body[:200]!r}")
        text = body.decode(errors="replace")
        return json.loads(text) if text.strip() else None


def _string(value: str) -> str:
    """An xRSL string literal: double quotes, a quote inside doubled."""
    value = str(value)
    if any(ord(c) < 32 for c in value):
        raise WorkflowError(f"an xRSL value cannot hold control characters: {value!r}")
    return '"' + value.replace('"', '""') + '"'


def _relation(attribute: str, *values: str) -> str:
    return f"({attribute}=" + " ".join(_string(v) for v in values) + ")"


def _arc_id(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def _by_endpoint(job_ids: list[str]) -> dict[str, list[tuple[str, str]]]:
    """Job URLs by the REST job list of their CE: ``.../rest/1.0/jobs`` -> (url, id)."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for url in job_ids:
        match = _JOB_URL.fullmatch(url)
        if match is None:
            raise WorkflowError(f"{url!r} is not the URL of a job on an ARC CE's REST "
                                "interface; was it submitted with [arc] interface = arcrest?")
        groups.setdefault(match[1], []).append((url, match[2]))
    return groups


def _entries(listing: Any) -> list[dict[str, Any]]:
    """The jobs of a REST job list: one job comes as an object, not in a list."""
    jobs = (listing or {}).get("job", []) if isinstance(listing, dict) else []
    jobs = jobs if isinstance(jobs, list) else [jobs]
    return [job for job in jobs if isinstance(job, dict)]


def _tool_error(result: Any) -> str:
    lines = [line.strip() for line in (result.stderr + "\n" + result.stdout).splitlines()
             if line.strip() and not line.startswith(("Job submission summary", "-----"))]
    return "; ".join(lines[-6:]) or f"exit code {result.returncode}"
