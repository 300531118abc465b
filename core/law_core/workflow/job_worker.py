"""The part of a remote job that runs on the worker node, after the wrapper's set-up.

``python -m law_core.workflow.job_worker JOB_DIR JOB_NUM ATTEMPT`` runs the job's
branches with ``law-core run MODULE.CLASS --branches ... --workflow local`` and records
each branch's exit status in ``JOB_DIR/status/job_NUM_ATTEMPT.json``, where the
submitting side reads it: the batch system's own accounting is not needed to learn how
a job ended.

The status also says whether another attempt could end differently (``"retryable"``).
It could not when the task cannot even be built here (its module fails to import, a
parameter value is refused: the worker builds the task itself first, which is cheap and
gives the exact error), nor when the branches ran without raising but left their outputs
missing. Then the submitting side fails the job at once instead of resubmitting it
``--retries`` times. A branch that raised, a killed job or a failed stage-out stay
retryable.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from law_core.workflow.local import BRANCH_REPORT_ENV

BRANCHES_FAILED = 30
STAGE_OUT_FAILED = 50
TASK_UNBUILDABLE = 60
OUTPUTS_ELSEWHERE = 70

#: most missing output URIs named in a job's error
_MAX_NAMED = 5


def write_json_atomic(path: Path, data: Any, mode: int | None = None) -> None:
    """Write JSON so that a reader never sees a half-written file; ``mode`` (e.g. 0o600 for
    files holding parameter values) applies from the file's creation on."""
    write_text_atomic(path, json.dumps(data, indent=1, sort_keys=True), mode)


def write_text_atomic(path: Path, text: str, mode: int | None = None) -> None:
    """Write ``text`` through a temporary file and a rename. With ``mode``, the temporary
    file is created with it, so the content is never readable by others, not even for a
    moment (a later chmod would leave such a window)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    if mode is None:
        tmp.write_text(text)
    else:
        tmp.unlink(missing_ok=True)  # a leftover would keep its own mode
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "w") as f:
            os.fchmod(fd, mode)  # exactly ``mode``, whatever the umask
            f.write(text)
    os.replace(tmp, path)


def build_workflow(task_spec: dict[str, Any]) -> Any:
    """The job's workflow, built here as ``law-core run`` builds it in the job."""
    sys.path[:0] = [p for p in task_spec["pythonpath"] if p not in sys.path]
    from law_core.arguments import apply_task_sections, build_task
    from law_core.index import find_task_class

    cls = find_task_class(task_spec["task"])
    apply_task_sections()
    return build_task(cls, list(task_spec["params"]))


def missing_outputs(task: Any) -> list[str]:
    """URIs of the outputs of ``task`` that do not exist."""
    from luigi.task import flatten

    missing = []
    for output in flatten(task.output()):
        if not output.exists():
            uri = getattr(output, "uri", None)
            missing.append(str(uri() if callable(uri) else getattr(output, "path", output)))
    return missing


def stage_out(rules: list[list[str]], job_home: Path) -> None:
    """Copy files the branches left in the job home (``LAW_CORE_JOB_HOME``) to their
    destinations: each rule is (glob relative to the job home, destination directory as a
    path or URI)."""
    from law_core.targets.factory import target

    for pattern, destination in rules:
        directory = target(destination, type="d")
        for path in sorted(job_home.glob(pattern)):
            if path.is_file():
                target(str(path)).copy_to(directory.child(path.name, "f"))
                print("staged out", path.name, "to", directory.uri(), flush=True)


def outputs_elsewhere(workflow: Any, branches: list[int], expected: dict[str, list[str]]
                      ) -> str | None:
    """Why the branches would write their outputs elsewhere than the submitting side looks
    for them (None when they would not): checked before anything runs."""
    from law_core.targets.collection import target_uris
    from law_core.task import output_targets

    for b in branches:
        there = expected.get(str(b))
        here = target_uris(output_targets(workflow.req_branch(b)))
        if there is not None and here != there:
            pairs = [(h, t) for h, t in zip(here, there) if h != t] or [(here, there)]
            return (f"branch {b} would write {pairs[0][0]} on {socket.gethostname()}, but the "
                    f"submitting side expects {pairs[0][1]}: something differs between the "
                    "two, an environment variable (forward it with [job] forward_env, names "
                    "or globs such as MY_*), the working directory or a config value. "
                    "Nothing ran")
    return None


#: set for the ``law-core run`` a job starts: JSON with its job directory, number and attempt
JOB_ENV = "LAW_CORE_JOB"


def run_job(task_spec: dict[str, Any], branches: list[int],
            expected: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """Run the branches of one job; the status to record: exit code, phase, the code of
    each branch, an error, and whether another attempt could end differently.
    ``expected``: each branch's output URIs as the submitting side resolved them."""
    try:
        workflow = build_workflow(task_spec)
        elsewhere = outputs_elsewhere(workflow, branches, expected or {})
    except Exception as err:
        traceback.print_exc()
        frames = traceback.extract_tb(err.__traceback__)
        where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
        return {
            "exit_code": TASK_UNBUILDABLE, "phase": "task",
            "branches": {str(b): TASK_UNBUILDABLE for b in branches},
            "error": f"the task {task_spec['task']} could not be built on "
                     f"{socket.gethostname()}: {type(err).__name__}: {err}{where}",
            # an unreadable file may read on another node or later; the rest is certain
            "retryable": isinstance(err, OSError),
        }
    if elsewhere is not None:
        return {"exit_code": OUTPUTS_ELSEWHERE, "phase": "task", "retryable": False,
                "branches": {str(b): OUTPUTS_ELSEWHERE for b in branches}, "error": elsewhere}
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(task_spec["pythonpath"] + [
        p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    run_args = [task_spec["task"], "--branches", ",".join(map(str, branches)),
                "--workflow", "local", *task_spec["params"]]
    print("running: law-core run", " ".join(run_args), flush=True)
    # outside the job home, whose files a stage-out rule may match
    with tempfile.TemporaryDirectory(prefix="law-core-job-") as tmp:
        report = Path(tmp) / "branches.json"
        env[BRANCH_REPORT_ENV] = str(report)
        run_code = subprocess.run([sys.executable, "-m", "law_core", "run", *run_args],
                                  env=env).returncode
        try:
            ran = json.loads(report.read_text())[workflow.get_task_family()]
        except (OSError, ValueError, KeyError):
            ran = None  # the local manager never returned (requirements failed, a crash)
    statuses: dict[str, int] = {}
    missing: dict[int, list[str]] = {}
    try:
        for b in branches:
            task = workflow.req_branch(b)
            complete = task.complete()
            statuses[str(b)] = 0 if complete else (run_code or 1)
            if not complete:
                missing[b] = missing_outputs(task)
    except Exception as err:  # the check itself failed: count every branch as failed
        return {"exit_code": BRANCHES_FAILED, "phase": "run", "retryable": True,
                "branches": {str(b): run_code or 1 for b in branches},
                "error": f"checking the branch outputs failed: {type(err).__name__}: {err}"}
    if not missing:
        return {"exit_code": 0, "phase": "run", "branches": statuses, "error": None,
                "retryable": True}
    names = ", ".join(map(str, missing))
    # nothing raised, yet outputs are missing: another attempt does the same; and a run
    # that ended well (its failures within the workflow's --tolerance) is not repeated.
    # The local manager's report says which branches raised, for the message
    returned = run_code == 0 or (ran is not None and not ran["failed"] and
                                 set(missing) <= set(ran["ran"]))
    raised = sorted(set(missing) & set(ran["failed"])) if ran is not None else []
    if raised:
        error = (f"branches {', '.join(map(str, raised))} raised (their tracebacks are in "
                 "the job's log)" + (f"; branches {names} lack outputs"
                                     if len(raised) < len(missing) else ""))
    elif returned:
        uris = [uri for b in missing for uri in missing[b]]
        listed = ", ".join(uris[:_MAX_NAMED]) + (
            f", ... ({len(uris)} in all)" if len(uris) > _MAX_NAMED else "")
        error = (f"branches {names} ran without error but did not produce their outputs "
                 f"(missing: {listed or 'none, but complete() is false'})")
    else:
        error = f"branches {names} did not produce their outputs " \
                f"(law-core run exited with {run_code})"
    return {"exit_code": BRANCHES_FAILED, "phase": "run", "branches": statuses,
            "error": error, "retryable": not returned}


def main(job_dir: str, job_num: int, attempt: int) -> int:
    directory = Path(job_dir).absolute()  # it changes directory below
    started = time.time()
    task_spec = json.loads((directory / "task.json").read_text())
    submission = json.loads((directory / "submission.json").read_text())
    branches = submission["jobs"][str(job_num)]["branches"]
    if task_spec.get("cwd"):  # none with a software bundle: the job home (the wrapper's)
        os.chdir(task_spec["cwd"])
    print("law-core job", job_num, "attempt", attempt, "on", socket.gethostname(), flush=True)
    try:
        expected = json.loads((directory / "outputs.json").read_text())
    except FileNotFoundError:
        expected = {}
    # who runs the branches: for plugins inside the job's law-core run (provenance)
    os.environ[JOB_ENV] = json.dumps({"job_dir": str(directory), "job_num": job_num,
                                      "attempt": attempt})
    status = run_job(task_spec, branches, expected)
    if status["exit_code"] == 0 and task_spec.get("stage_out"):
        try:
            stage_out(task_spec["stage_out"], Path(os.environ.get("LAW_CORE_JOB_HOME", ".")))
        except Exception as err:
            status.update(exit_code=STAGE_OUT_FAILED, phase="stageout", retryable=True,
                          error=f"stage-out failed: {type(err).__name__}: {err}")
    if status["error"]:
        print("law-core job failed:", status["error"], file=sys.stderr, flush=True)
    status.update(job_num=job_num, attempt=attempt, host=socket.gethostname(),
                  duration=round(time.time() - started, 3), max_rss_mb=_peak_memory_mb())
    write_json_atomic(directory / "status" / f"job_{job_num}_{attempt}.json", status)
    return status["exit_code"]


def _peak_memory_mb() -> float:
    """The peak resident memory of this job's process or of any process it waited for, in
    MB (Linux reports KiB), for the summary the submitting side shows after each poll."""
    import resource

    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return round(peak * 1024 / 1e6, 1)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
