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
# The wrapper needs no PATH (job_env.sh sets the submitting side's; with a software bundle
# it keeps the worker's, or takes the system's directories where there is none).
#
# Where the workers share no file system with the submitting host, job_env.sh names a
# software bundle (LAW_CORE_JOB_BUNDLE, a tar.gz among the job files) instead of the
# submitting side's PATH, Python and bootstrap file: the wrapper unpacks it into a
# directory of its own, puts its python/ first on PYTHONPATH, sources its bootstrap.sh if
# it has one, and checks that the worker's Python ($LAW_CORE_JOB_PYTHON, default python3
# from the worker's PATH) is the major.minor version the bundle was built with.
#
# Such jobs may take credential files with them (LAW_CORE_JOB_CREDENTIALS, "VARIABLE=NAME"
# words, e.g. "X509_USER_PROXY=x509up_u1000"): the batch system copied each into the job
# directory by its name; the wrapper makes it private (mode 0600: gfal2 and XRootD refuse
# a proxy others may read) and exports VARIABLE as its path, before anything else runs.
# Jobs on a shared file system use them where they are (LAW_CORE_JOB_SHARED_CREDENTIALS,
# variable names; job_env.sh sets each to the path on the submitting host): for a file the
# worker does not see there, the wrapper warns and unsets the variable.
# With LAW_CORE_JOB_LOG_STORE (--transfer-logs), the wrapper's stdout and stderr also go to
# files (tee), which it copies to that directory of the store as it ends, even after a
# failure or a SIGTERM: job_N_ATTEMPT.out and .err, with law-core from the bundle.
#
# The workflow's job input files (LAW_CORE_JOB_INPUTS, names only) are copied into the job
# home before the bootstrap file is sourced: from JOB_DIR/inputs/NAME, or, where the batch
# system brought them into the scratch directory by their names, from JOB_DIR/NAME. A
# missing one fails the setup.
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

fetch_bundle() {
    # fetch_bundle URL FILE: the software bundle from [job] bundle_store
    local url=$1 file=$2
    if command -v gfal-copy >/dev/null 2>&1 && gfal-copy -f "$url" "file://$file" >&2; then
        return 0
    fi
    case $url in
        root://*|xroot://*) command -v xrdcp >/dev/null 2>&1 && xrdcp -f -s "$url" "$file" >&2 ;;
        https://*|davs://*)
            command -v curl >/dev/null 2>&1 && curl -fsS -o "$file" \
                --capath "${X509_CERT_DIR:-/etc/grid-security/certificates}" \
                ${X509_USER_PROXY:+--cert "$X509_USER_PROXY"} "https://${url#*://}" ;;
        http://*|dav://*) command -v curl >/dev/null 2>&1 && curl -fsS -o "$file" "http://${url#*://}" ;;
        file://*) cp "${url#file://}" "$file" ;;
        /*) cp "$url" "$file" ;;
        *) return 1 ;;
    esac
}

json_string() {
    # json_string TEXT: TEXT as a JSON string (backslashes, quotes, control characters)
    local text=$1
    text=${text//\\/\\\\}
    text=${text//\"/\\\"}
    text=${text//[$'\001'-$'\037']/ }
    printf '"%s"' "$text"
}

write_status() {
    # write_status CODE PHASE [ERROR]: an exit status of a phase before the worker ran
    local error=null
    [ -n "${3:-}" ] && error=$(json_string "$3") && echo "law-core job failed: $3" >&2
    mkdir -p "$job_dir/status" || return
    printf '{"job_num": %d, "attempt": %d, "exit_code": %d, "phase": "%s", "host": "%s", "error": %s}\n' \
        "$job_num" "$attempt" "$1" "$2" "$(hostname)" "$error" > "$status_file.tmp.$$" &&
        mv -f "$status_file.tmp.$$" "$status_file"
}

capture_logs() {
    # capture_logs: stdout and stderr also into files, through tee (the batch system still
    # gets every line as it comes); finish copies them to the store
    log_home=$(mktemp -d "${TMPDIR:-/tmp}/law-core-logs-XXXXXXXX") || { log_home=; return 1; }
    local name=job_${job_num}_${attempt}
    if ! mkfifo "$log_home/out.pipe" "$log_home/err.pipe"; then
        rm -rf "$log_home"; log_home=; return 1
    fi
    exec 3>&1 4>&2
    tee "$log_home/$name.out" < "$log_home/out.pipe" >&3 3>&- 4>&- &
    tee_out=$!
    tee "$log_home/$name.err" < "$log_home/err.pipe" >&4 3>&- 4>&- &
    tee_err=$!
    exec > "$log_home/out.pipe" 2> "$log_home/err.pipe"
}

upload_logs() {
    # upload_logs: the captured logs to LAW_CORE_JOB_LOG_STORE (the wrapper's own output
    # ends here: what follows goes to the batch system's logs only)
    exec 1>&3 2>&4 3>&- 4>&-
    local i=0
    while { kill -0 "$tee_out" || kill -0 "$tee_err"; } 2>/dev/null && [ $i -lt 100 ]; do
        sleep 0.1; i=$((i + 1))  # a process the job left behind may hold the pipes open
    done
    kill "$tee_out" "$tee_err" 2>/dev/null
    wait "$tee_out" "$tee_err" 2>/dev/null
    if [ -z "${LAW_CORE_JOB_PYTHON:-}" ] || ! "$LAW_CORE_JOB_PYTHON" -c \
            'import sys; from law_core.workflow.remote import upload_job_logs; upload_job_logs(sys.argv[1], sys.argv[2:])' \
            "$LAW_CORE_JOB_LOG_STORE" "$log_home/job_${job_num}_${attempt}.out" \
            "$log_home/job_${job_num}_${attempt}.err" >&2; then
        echo "law-core: the job's logs were not copied to $LAW_CORE_JOB_LOG_STORE (--transfer-logs)" >&2
    fi
}

finish() {
    # the EXIT trap: the logs to the store where asked, the job's directories removed
    local code=$?
    if [ -n "${log_home:-}" ]; then
        upload_logs
    fi
    rm -rf ${job_home:+"$job_home"} ${bundle_home:+"$bundle_home"} ${log_home:+"$log_home"}
    exit $code
}

# setup
if ! source "$job_dir/job_env.sh"; then
    write_status 10 setup
    exit 10
fi
log_home=
job_home=
bundle_home=
trap finish EXIT
if [ -n "${LAW_CORE_JOB_LOG_STORE:-}" ]; then
    trap 'exit 143' TERM  # ended by the batch system: the logs still go to the store
    capture_logs || echo "law-core: the job's logs cannot be captured in ${TMPDIR:-/tmp}; they are not copied to the store" >&2
fi
# credential files that travelled with the job: private, and where the tools look
for entry in ${LAW_CORE_JOB_CREDENTIALS:-}; do
    variable=${entry%%=*}
    file=$job_dir/${entry#*=}
    if [ ! -f "$file" ]; then
        write_status 10 setup "the credential file ${entry#*=} ($variable) did not travel with the job into $job_dir on $(hostname)"
        exit 10
    fi
    if ! chmod 0600 "$file"; then
        write_status 10 setup "the credential file $file cannot be made private (mode 0600) on $(hostname)"
        exit 10
    fi
    export "$variable=$file"
done
# credential files on a shared file system (job_env.sh points VARIABLE at their path on the
# submitting host); one the worker does not see is left to the tools' own search, as without
# law-core (a store that takes another credential still works), with a warning
for variable in ${LAW_CORE_JOB_SHARED_CREDENTIALS:-}; do
    file=${!variable:-}
    if [ ! -f "$file" ]; then
        echo "law-core: warning: the credential file $file ($variable) of the submitting host is not on $(hostname); $variable is left unset (requests that need it will fail): put it on a file system the workers share and point $variable at it, or set [job] shared_fs = false to send it with the jobs" >&2
        unset "$variable"
    fi
done
# the worker's own PATH (job_env.sh sets none with a bundle), else the system's
export PATH=${PATH:-/usr/local/bin:/usr/bin:/bin}
# the config values as the submitting side resolved them
if [ -f "$job_dir/config.cfg" ]; then
    export LAW_CORE_RESOLVED_CONFIG="$job_dir/config.cfg"
fi
job_home=$(mktemp -d "${TMPDIR:-/tmp}/law-core-job-XXXXXXXX") || { job_home=; write_status 10 setup; exit 10; }
cd "$job_home" || { write_status 10 setup; exit 10; }
export LAW_CORE_JOB_HOME=$job_home

# the workflow's input files, as they were at submission, into the job home by their names
# (plain file names: checked by the submitting side)
for name in ${LAW_CORE_JOB_INPUTS:-}; do
    if [ -f "$job_dir/inputs/$name" ]; then
        input_file=$job_dir/inputs/$name
    elif [ -f "$job_dir/$name" ]; then
        input_file=$job_dir/$name
    else
        write_status 10 setup "the job input file $name did not reach the job on $(hostname): neither $job_dir/inputs/$name nor $job_dir/$name exists"
        exit 10
    fi
    if ! cp -p -- "$input_file" "$job_home/$name"; then
        write_status 10 setup "the job input file $input_file could not be copied into the job home $job_home on $(hostname)"
        exit 10
    fi
done

# the software bundle: law-core, its plugins and the analysis, unpacked beside the job home
if [ -n "${LAW_CORE_JOB_BUNDLE:-}" ]; then
    bundle_file=$job_dir/$LAW_CORE_JOB_BUNDLE
    bundle_home=$(mktemp -d "${TMPDIR:-/tmp}/law-core-bundle-XXXXXXXX") ||
        { bundle_home=; write_status 10 setup "no directory for the software bundle in ${TMPDIR:-/tmp}"; exit 10; }
    if [ ! -f "$bundle_file" ] && [ -n "${LAW_CORE_JOB_BUNDLE_URL:-}" ]; then
        bundle_file=$bundle_home/$LAW_CORE_JOB_BUNDLE
        if ! fetch_bundle "$LAW_CORE_JOB_BUNDLE_URL" "$bundle_file"; then
            write_status 10 setup "the software bundle could not be fetched from $LAW_CORE_JOB_BUNDLE_URL on $(hostname) (with gfal-copy, xrdcp for root://, curl for https:// and davs://, or cp)"
            exit 10
        fi
    fi
    if ! tar -xzf "$bundle_file" -C "$bundle_home"; then
        write_status 10 setup "the software bundle $bundle_file could not be unpacked on $(hostname) (did it travel with the job?)"
        exit 10
    fi
    export PYTHONPATH=$bundle_home/python${PYTHONPATH:+:$PYTHONPATH}
    export LAW_CORE_JOB_BUNDLE_HOME=$bundle_home
    if [ -f "$bundle_home/bootstrap.sh" ]; then
        LAW_CORE_JOB_BOOTSTRAP=$bundle_home/bootstrap.sh
    fi
fi

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

# the worker's Python must be the version the bundle was built with (its binary wheels,
# and the language features of its code)
if [ -n "${LAW_CORE_JOB_BUNDLE_PYTHON:-}" ]; then
    found=$("$LAW_CORE_JOB_PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
    if [ -z "$found" ]; then
        write_status 10 setup "the Python '$LAW_CORE_JOB_PYTHON' does not run on $(hostname) (PATH=$PATH); the software bundle needs Python $LAW_CORE_JOB_BUNDLE_PYTHON there: set [job] python (or the job manager's python option), or set it up in [job] bootstrap_file"
        exit 10
    fi
    if [ "$found" != "$LAW_CORE_JOB_BUNDLE_PYTHON" ]; then
        write_status 10 setup "the software bundle was built with Python $LAW_CORE_JOB_BUNDLE_PYTHON on the submitting side, but '$LAW_CORE_JOB_PYTHON' on $(hostname) is Python $found: set [job] python to a Python $LAW_CORE_JOB_BUNDLE_PYTHON of the workers, or submit from a Python $found"
        exit 10
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
