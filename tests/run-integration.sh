#!/usr/bin/env bash
# Runs tests/integration/*.sh (or the ones named in $TESTS). Each test exits 0 (pass),
# 77 (skip: a component is missing) or anything else (fail). In CI (CI=true) a skip
# is a failure. Ends with "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
export CDCCTL_ROOT=$PWD
export CDCCTL=$PWD/build/cdcctl
export HELPERS=$PWD/build/tests/helpers
# One Docker daemon for the whole run: started here when none answers, stopped at the
# end only if we started it (dockerd-stop.sh checks its own pidfile).
if command -v docker >/dev/null 2>&1 && ! docker info >/dev/null 2>&1; then
    tests/lib/dockerd-start.sh || true
fi
export CDCCTL_DOCKERD_SHARED=1
trap 'tests/lib/dockerd-stop.sh' EXIT
pass=0 fail=0 skip=0 failed_names=()
tests=${TESTS:-$(ls tests/integration/*.sh 2>/dev/null)}
for t in $tests; do
    name=$(basename "$t" .sh)
    start=$(date +%s)
    echo "=== RUN   $name"
    bash "$t"
    rc=$?
    secs=$(( $(date +%s) - start ))
    if [ $rc -eq 0 ]; then
        echo "--- PASS  $name (${secs}s)"; pass=$((pass + 1))
    elif [ $rc -eq 77 ]; then
        if [ "${CI:-}" = true ]; then
            echo "--- FAIL  $name: SKIP is a failure in CI (${secs}s)"; fail=$((fail + 1)); failed_names+=("$name")
        else
            echo "--- SKIP  $name (${secs}s)"; skip=$((skip + 1))
        fi
    else
        echo "--- FAIL  $name (exit $rc, ${secs}s)"; fail=$((fail + 1)); failed_names+=("$name")
    fi
done
[ ${#failed_names[@]} -gt 0 ] && echo "integration failures: ${failed_names[*]}"
echo "integration: $pass passed, $fail failed, $skip skipped"
echo "$pass $fail $skip" > build/integration.counts
[ $fail -eq 0 ]
