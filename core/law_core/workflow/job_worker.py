"""The part of a remote job that runs on the worker node, after the wrapper's set-up.

``python -m law_core.workflow.job_worker JOB_DIR JOB_NUM ATTEMPT`` runs the job's
branches with ``law-core run MODULE.CLASS --branches ... --workflow local`` and records
each branch's exit status in ``JOB_DIR/status/job_NUM_ATTEMPT.json``, where the
submitting side reads it: the batch system's own accounting is not needed to learn how
a job ended.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BRANCHES_FAILED = 30
STAGE_OUT_FAILED = 50


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so that a reader never sees a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)


def branch_statuses(task_spec: dict[str, Any], branches: list[int], run_code: int) -> dict:
    """Exit status per branch: 0 when its outputs exist after the run, else the run's
    code (1 if the run itself said 0)."""
    sys.path[:0] = [p for p in task_spec["pythonpath"] if p not in sys.path]
    from law_core.cli.run import build_task
    from law_core.index import find_task_class

    workflow = build_task(find_task_class(task_spec["task"]), list(task_spec["params"]))
    return {str(b): 0 if workflow.req_branch(b).complete() else (run_code or 1)
            for b in branches}


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


def main(job_dir: str, job_num: int, attempt: int) -> int:
    directory = Path(job_dir)
    started = time.time()
    task_spec = json.loads((directory / "task.json").read_text())
    submission = json.loads((directory / "submission.json").read_text())
    branches = submission["jobs"][str(job_num)]["branches"]
    os.chdir(task_spec["cwd"])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(task_spec["pythonpath"] + [
        p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    command = [sys.executable, "-m", "law_core", "run", task_spec["task"],
               "--branches", ",".join(map(str, branches)), "--workflow", "local",
               *task_spec["params"]]
    print("law-core job", job_num, "attempt", attempt, "on", socket.gethostname(), flush=True)
    print("running:", " ".join(command), flush=True)
    run_code = subprocess.run(command, env=env).returncode
    try:
        statuses = branch_statuses(task_spec, branches, run_code)
        error = None
    except Exception as err:  # the check itself failed: count every branch as failed
        statuses = {str(b): run_code or 1 for b in branches}
        error = f"checking the branch outputs failed: {type(err).__name__}: {err}"
    failed = [b for b, code in statuses.items() if code != 0]
    exit_code, phase = (BRANCHES_FAILED if failed else 0), "run"
    if failed and error is None:
        error = f"branches {', '.join(failed)} did not produce their outputs " \
                f"(law-core run exited with {run_code})"
    if not failed and task_spec.get("stage_out"):
        try:
            stage_out(task_spec["stage_out"], Path(os.environ.get("LAW_CORE_JOB_HOME", ".")))
        except Exception as err:
            exit_code, phase = STAGE_OUT_FAILED, "stageout"
            error = f"stage-out failed: {type(err).__name__}: {err}"
    write_json_atomic(directory / "status" / f"job_{job_num}_{attempt}.json", {
        "job_num": job_num, "attempt": attempt, "exit_code": exit_code, "phase": phase,
        "branches": statuses, "error": error, "host": socket.gethostname(),
        "duration": round(time.time() - started, 3),
    })
    return exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
