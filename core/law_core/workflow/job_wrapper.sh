#!/usr/bin/env bash
# The job wrapper of law-core's remote workflows, run by the batch system on the worker:
#
#     bash job_wrapper.sh JOB_DIR JOB_NUM ATTEMPT
#
# It reads the submission's environment file (written by the submitting side with every
# value quoted), makes a job home, sources the bootstrap file if one is configured and
# hands over to the Python job worker, which runs the branches and records their exit
# statuses in JOB_DIR/status/. When a phase before the worker fails, the wrapper records
# that itself, so the submitting side always learns how a job ended. Exit codes by phase:
# 10 setup, 20 bootstrap, 30 branches failed, 40 the worker could not start, 50 stage-out,
# 60 the task could not be built (the worker then marks the status "retryable": false).
#
# Where the worker does not share the job directory, the batch system copies the job files
# into a scratch directory and runs the wrapper there with JOB_DIR "." (a relative JOB_DIR
# is resolved against $PWD here, before the wrapper changes directory); status/ is created
# at once, so that a batch system bringing it back finds it even after an early failure.
# The wrapper needs no PATH (job_env.sh sets the submitting side's).
set -u

job_dir=$1
job_num=$2
attempt=$3
case $job_dir in
    /*) ;;
    .) job_dir=$PWD ;;
    *) job_dir=$PWD/$job_dir ;;
esac
set -- "$job_dir" "$job_num" "$attempt"  # as a bootstrap file sourced below sees them
status_file="$job_dir/status/job_${job_num}_${attempt}.json"
mkdir -p "$job_dir/status" 2>/dev/null

write_status() {
    # write_status CODE PHASE: an exit status of a phase before the worker ran
    mkdir -p "$job_dir/status" || return
    printf '{"job_num": %d, "attempt": %d, "exit_code": %d, "phase": "%s", "host": "%s"}\n' \
        "$job_num" "$attempt" "$1" "$2" "$(hostname)" > "$status_file.tmp.$$" &&
        mv -f "$status_file.tmp.$$" "$status_file"
}

# setup
if ! source "$job_dir/job_env.sh"; then
    write_status 10 setup
    exit 10
fi
# the config values as the submitting side resolved them
if [ -f "$job_dir/config.cfg" ]; then
    export LAW_CORE_RESOLVED_CONFIG="$job_dir/config.cfg"
fi
job_home=$(mktemp -d "${TMPDIR:-/tmp}/law-core-job-XXXXXXXX") || { write_status 10 setup; exit 10; }
trap 'rm -rf "$job_home"' EXIT
cd "$job_home" || { write_status 10 setup; exit 10; }
export LAW_CORE_JOB_HOME=$job_home

# bootstrap: a file to source, and a command (the user's own shell code from the config)
if [ -n "${LAW_CORE_JOB_BOOTSTRAP:-}" ]; then
    # shellcheck disable=SC1090
    if ! source "$LAW_CORE_JOB_BOOTSTRAP"; then
        write_status 20 bootstrap
        exit 20
    fi
fi
if [ -n "${LAW_CORE_JOB_BOOTSTRAP_COMMAND:-}" ]; then
    if ! eval "$LAW_CORE_JOB_BOOTSTRAP_COMMAND"; then
        write_status 20 bootstrap
        exit 20
    fi
fi

# run the branches
"$LAW_CORE_JOB_PYTHON" -m law_core.workflow.job_worker "$job_dir" "$job_num" "$attempt"
code=$?
if [ ! -f "$status_file" ]; then
    write_status 40 worker
    exit 40
fi
exit $code
