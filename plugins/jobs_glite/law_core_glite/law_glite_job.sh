#!/bin/sh
# The executable of law-core's gLite jobs (written by law-core-glite into the InputSandbox):
#
#     law_glite_job.sh COMMAND [ARG...]
#
# CREAM starts it in the job's sandbox directory on the worker node, where the InputSandbox
# files were put: arguments "." and "./NAME" name that directory and the files in it and are
# made absolute here, since the job wrapper changes directory. status/ is created first so
# that the OutputSandbox entry status/job_NUM_ATTEMPT.json has its directory.
: "${PATH:=/usr/local/bin:/usr/bin:/bin}"
export PATH
mkdir -p status || exit 10
if [ $# -eq 0 ]; then
    echo "law_glite_job.sh: no command given" >&2
    exit 10
fi
n=$#
while [ "$n" -gt 0 ]; do
    arg=$1
    shift
    n=$((n - 1))
    case $arg in
        .) arg=$PWD ;;
        ./*) arg=$PWD/${arg#./} ;;
    esac
    set -- "$@" "$arg"
done
exec "$@"
