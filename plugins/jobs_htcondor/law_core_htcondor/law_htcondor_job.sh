#!/bin/sh
# The executable of law-core's HTCondor jobs (written by law-core-htcondor):
#
#     law_htcondor_job.sh [-t] [-d DIR]... -- COMMAND [ARG...]
#
# HTCondor starts it without a PATH (getenv is never used: jobs get no secrets of the
# submitting shell), so it sets a minimal one and runs COMMAND, which sets up the rest.
# With -t (file transfer mode) the job starts in its scratch directory, where HTCondor put
# the transferred job files: arguments "." and "./NAME" name that directory and the files
# in it and are made absolute, since the job wrapper changes directory; each -d DIR is
# created first, so that HTCondor finds the output directories it transfers back even when
# the job is killed before it wrote anything into them.
: "${PATH:=/usr/local/bin:/usr/bin:/bin}"
export PATH

transfer=0
while [ $# -gt 0 ]; do
    case $1 in
        -t) transfer=1; shift ;;
        -d) mkdir -p "$2" || exit 10; shift 2 ;;
        --) shift; break ;;
        *) echo "law_htcondor_job.sh: unknown option '$1'" >&2; exit 10 ;;
    esac
done
if [ $# -eq 0 ]; then
    echo "law_htcondor_job.sh: no command given" >&2
    exit 10
fi

if [ "$transfer" = 1 ]; then
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
fi
exec "$@"
