#!/usr/bin/env bash
# `make bench`: the `up` benchmark (tests/bench/up.sh) and, when present, the consumer
# benchmark (tests/bench/consume.sh). A benchmark that cannot run (exit 77) says SKIP
# loudly; under CI=true a skip is a failure. Exit 0 when every benchmark ran.
set -u
cd "$(dirname "$0")/../.." || exit 1
export CDCCTL_ROOT=$PWD CDCCTL=$PWD/build/cdcctl HELPERS=$PWD/build/tests/helpers
rc=0
run() {
    local name=$1 r=0
    shift
    echo "=== BENCH $name"
    "$@" || r=$?
    if [ $r -eq 77 ]; then
        echo "--- SKIP  bench $name (see the reason above)"
        [ "${CI:-}" = true ] && rc=1
    elif [ $r -ne 0 ]; then
        echo "--- FAIL  bench $name (exit $r)"; rc=1
    else
        echo "--- DONE  bench $name"
    fi
}
run up bash tests/bench/up.sh
if [ -f tests/bench/consume.sh ]; then
    run consume bash tests/bench/consume.sh
else
    echo "=== BENCH consume: tests/bench/consume.sh is not there yet; not run"
fi
exit $rc
