"""What a record says besides the task: software, code version, sandbox, host and job.

Each fact is computed once per process (or once per repository, sandbox, file version) and
cached: a workflow of 100000 branches asks for them 100000 times.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

#: a file hashed whole up to this size when it describes a sandbox (larger: size and mtime)
SANDBOX_FILE_HASH_LIMIT = 64 * 1024 * 1024

#: batch systems' variables naming the job a process runs in (name of the system, variable)
BATCH_JOB_VARIABLES = (
    ("slurm", "SLURM_JOB_ID"),
    ("lsf", "LSB_JOBID"),
    ("pbs", "PBS_JOBID"),
    ("glite", "GLITE_WMS_JOBID"),
)
#: the variable law-core's job wrapper sets in every job (its scratch directory)
LAW_CORE_JOB_HOME = "LAW_CORE_JOB_HOME"


def sha256_file(path: str, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@functools.lru_cache(maxsize=4096)
def cached_checksum(path: str, size: int, mtime: float) -> str:
    """The SHA-256 of a local file, once per version of it (path, size, mtime) in this
    process: many branches read the same input."""
    return sha256_file(path)


# the software


@functools.lru_cache(maxsize=1)
def environment() -> tuple[str, dict[str, Any]]:
    """(id, facts) of this process's software: Python, law-core, the law-core plugins and
    every installed distribution as ``name==version``; the id is a digest of the facts,
    so that records share one copy of them."""
    from importlib import metadata

    packages = set()
    for dist in metadata.distributions():
        name, version = _name_and_version(dist)
        if name:
            packages.add(f"{name}=={version}")
    plugins = {}
    for ep in metadata.entry_points(group="law_core.plugins"):
        dist = getattr(ep, "dist", None)
        if dist is None:
            plugins[ep.name] = "unknown"
        else:
            name, version = _name_and_version(dist)
            plugins[ep.name] = f"{name}=={version}"
    try:
        law_core = metadata.version("law-core")
    except metadata.PackageNotFoundError:
        law_core = "unknown"
    facts = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "law_core": law_core,
        "plugins": dict(sorted(plugins.items())),
        "packages": sorted(packages, key=str.lower),
    }
    digest = hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:16]
    return digest, facts


def _name_and_version(dist: Any) -> tuple[str | None, str | None]:
    """A distribution's ``Name`` and ``Version``, read from the head of its metadata file:
    ``dist.metadata`` parses the whole file as an e-mail message, twice with
    ``dist.version``, which took a quarter of a second for a venv's 160 distributions
    in every process that records."""
    try:
        text = dist.read_text("METADATA") or dist.read_text("PKG-INFO")
    except Exception:  # noqa: BLE001 - then the careful way
        text = None
    if text:
        found: dict[str, str] = {}
        for line in text.splitlines():
            if not line.strip():
                break  # the end of the headers
            key, sep, value = line.partition(":")
            if sep and key in ("Name", "Version") and key not in found:
                found[key] = value.strip()
                if len(found) == 2:
                    return found["Name"], found["Version"]
    meta = dist.metadata
    return (meta["Name"] if meta else None), dist.version


# the analysis code


def code_of(module_file: str | None) -> dict[str, Any]:
    """The version of the code a task's class is defined in: the git commit of the
    repository holding its module (and a digest of uncommitted changes), else a digest of
    the module's files (its top-level package's, when it is in one)."""
    if not module_file:
        return {"kind": "unknown", "version": "unknown"}
    module_file = os.path.abspath(module_file)
    root = _git_root(os.path.dirname(module_file))
    if root is not None:
        state = _git_state(root)
        if state is not None:
            return {"kind": "git", "path": module_file, "repository": root, **state}
    return {"kind": "files", "path": module_file, **_files_state(module_file)}


def current_code_version(module_file: str) -> str:
    """The code version of ``module_file`` as it is now (uncached: for --check)."""
    _git_state.cache_clear()
    _files_state.cache_clear()
    if not os.path.exists(module_file):
        return f"missing ({module_file} does not exist)"
    return code_of(module_file)["version"]


@functools.lru_cache(maxsize=256)
def _git_root(directory: str) -> str | None:
    path = Path(directory)
    for candidate in (path, *path.parents):
        if (candidate / ".git").exists():
            return str(candidate)
    return None


def _git(root: str, *args: str) -> bytes | None:
    try:
        result = subprocess.run(["git", "-C", root, *args], capture_output=True, timeout=60,
                                env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"})
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 else None


@functools.lru_cache(maxsize=64)
def _git_state(root: str) -> dict[str, Any] | None:
    """The commit and a digest of what differs from it: changes to tracked files and
    untracked Python files (not untracked data, which outputs inside the repository
    would change with every run). None when git cannot answer (no git, no commit)."""
    head = _git(root, "rev-parse", "HEAD")
    diff = _git(root, "diff", "HEAD", "--binary", "--no-color", "--no-ext-diff")
    untracked = _git(root, "ls-files", "--others", "--exclude-standard", "-z", "--", "*.py")
    if head is None or diff is None or untracked is None:
        return None
    commit = head.decode().strip()
    digest = hashlib.sha256(diff)
    names = sorted(n for n in untracked.decode(errors="replace").split("\0") if n)
    for name in names:
        digest.update(name.encode())
        try:
            digest.update(Path(root, name).read_bytes())
        except OSError:
            pass
    dirty = digest.hexdigest()[:16] if diff or names else None
    version = f"git:{commit}" + (f"+{dirty}" if dirty else "")
    return {"commit": commit, "uncommitted": dirty, "version": version}


@functools.lru_cache(maxsize=256)
def _files_state(module_file: str) -> dict[str, Any]:
    directory = Path(module_file).parent
    top = None
    while (directory / "__init__.py").exists():
        top, directory = directory, directory.parent
    files = sorted(top.rglob("*.py")) if top is not None else [Path(module_file)]
    digest = hashlib.sha256()
    for path in files:
        try:
            digest.update(str(path.relative_to(top or path.parent)).encode())
            digest.update(path.read_bytes())
        except OSError:
            continue
    value = digest.hexdigest()[:16]
    return {"files": len(files), "hash": value, "version": f"files:{value}"}


# the sandbox


def sandbox_of(task: Any) -> dict[str, Any] | None:
    """The task's sandbox (``TYPE::NAME``) and what identifies its content, or None."""
    key_of = getattr(task, "sandbox_key", None)
    key = key_of() if callable(key_of) else ""
    return describe_sandbox(key) if key else None


@functools.lru_cache(maxsize=64)
def describe_sandbox(key: str) -> dict[str, Any]:
    """``docker::IMAGE`` (and podman): the image id; a NAME that is a file (a bash setup
    script, a container image file): its hash; a directory (a venv): a digest of its
    configuration and the distributions installed in it."""
    kind, _, name = key.partition("::")
    info: dict[str, Any] = {"key": key}
    path = os.path.abspath(os.path.expanduser(os.path.expandvars(name)))
    if kind in ("docker", "podman"):
        out = _run([kind, "image", "inspect", "--format", "{{.Id}}", name])
        if out:
            info["digest"] = out.strip()
    elif os.path.isfile(path):
        info["file"] = path
        info["file_hash"] = _file_fingerprint(path)
    elif os.path.isdir(path):
        info["directory"] = path
        digest = hashlib.sha256()
        config = Path(path, "pyvenv.cfg")
        if config.is_file():
            digest.update(config.read_bytes())
        for dist_info in sorted(Path(path).glob("lib/python*/site-packages/*.dist-info")):
            digest.update(dist_info.name.encode())
        info["directory_hash"] = digest.hexdigest()[:16]
    return info


def _file_fingerprint(path: str) -> str:
    st = os.stat(path)
    if st.st_size <= SANDBOX_FILE_HASH_LIMIT:
        return "sha256:" + sha256_file(path)
    return f"size:{st.st_size},mtime:{st.st_mtime:.0f}"


def _run(args: list[str]) -> str | None:
    try:
        result = subprocess.run(args, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 else None


# where it ran


@functools.lru_cache(maxsize=1)
def host() -> str:
    return socket.gethostname()


@functools.lru_cache(maxsize=1)
def job() -> dict[str, Any] | None:
    """The batch job this process runs in: the batch system's id (Slurm, LSF, PBS, gLite
    by their variables, HTCondor by the job ad it names; an array's task as the batch
    system's tools name it, with its own id as ``raw_id``) and, inside a law-core job,
    the workflow's job number and attempt. None outside any job."""
    info: dict[str, Any] = {}
    if os.environ.get("LAW_CORE_JOB") or os.environ.get(LAW_CORE_JOB_HOME):
        info.update(_law_core_job())
    for system, variable in BATCH_JOB_VARIABLES:  # the batch system's own word wins
        if os.environ.get(variable):
            info.update(system=system, id=_array_job_id(system, os.environ[variable]))
            if info["id"] != os.environ[variable]:
                info["raw_id"] = os.environ[variable]
            break
    else:
        condor = _condor_job_id()
        if condor:
            info.update(system="htcondor", id=condor)
    if os.environ.get("SLURM_ARRAY_TASK_ID"):
        info["array_task"] = os.environ["SLURM_ARRAY_TASK_ID"]
    return info or None


def _array_job_id(system: str, job_id: str) -> str:
    """A job of an array as the batch system's tools and law-core's job list name it.
    Slurm gives each array task an id of its own in ``SLURM_JOB_ID`` (one of them the
    array's id, so it names another task than ``ARRAY_0`` would), squeue and sacct show
    ``ARRAY_TASK``; LSF's ``LSB_JOBID`` is the array's, ``LSB_JOBINDEX`` the element (0
    outside an array), bjobs shows ``ID[INDEX]``."""
    env = os.environ
    if system == "slurm" and env.get("SLURM_ARRAY_JOB_ID") and env.get("SLURM_ARRAY_TASK_ID"):
        return f"{env['SLURM_ARRAY_JOB_ID']}_{env['SLURM_ARRAY_TASK_ID']}"
    if system == "lsf" and env.get("LSB_JOBINDEX", "0") not in ("", "0"):
        return f"{job_id}[{env['LSB_JOBINDEX']}]"
    return job_id


def _condor_job_id() -> str | None:
    """HTCondor names the file of the job's ClassAd in ``_CONDOR_JOB_AD``."""
    path = os.environ.get("_CONDOR_JOB_AD")
    if not path:
        return None
    try:
        for line in Path(path).read_text().splitlines():
            name, _, value = line.partition("=")
            if name.strip() == "GlobalJobId":
                return value.strip().strip('"')
    except OSError:
        pass
    return None


def _law_core_job() -> dict[str, Any]:
    """The law-core job around this process, from what its worker sets for the ``law-core
    run`` that runs the branches (``LAW_CORE_JOB``: job directory, number and attempt). The
    job directory's bookkeeping names the manager and, once the submitting side recorded
    it, the batch system's job id."""
    try:
        job = json.loads(os.environ.get("LAW_CORE_JOB", ""))
        job_dir, num, attempt = job["job_dir"], str(job["job_num"]), int(job["attempt"])
    except (ValueError, KeyError, TypeError):
        return {"law_core_job": True}
    info: dict[str, Any] = {"job_dir": job_dir, "job_num": int(num), "attempt": attempt}
    try:
        submission = json.loads(Path(job_dir, "submission.json").read_text())
        info["manager"] = submission.get("manager")
        job_id = submission.get("jobs", {}).get(num, {}).get("job_id")
        if job_id:
            info.update(system=submission.get("manager"), id=str(job_id))
    except (OSError, ValueError, AttributeError):
        pass
    return info
