#!/usr/bin/env bash
# `make test`: unit tests (cmocka), then integration tests; ends with one line
# "N passed, N failed" (N skipped) over every unit test case and integration script.
set -u
cd "$(dirname "$0")/.."
upass=0 ufail=0
for t in "$@"; do
    out=$("$t" 2>&1); rc=$?
    printf '%s\n' "$out"
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' | tail -1)
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:/\1/p' | tail -1)
    upass=$((upass + ${p:-0})); ufail=$((ufail + ${f:-0}))
    if [ $rc -ne 0 ] && [ -z "$f" ]; then ufail=$((ufail + 1)); echo "unit: $t exited $rc"; fi
done
echo "unit: $upass passed, $ufail failed"
tests/run-integration.sh
read -r ipass ifail iskip < build/integration.counts 2>/dev/null || { ipass=0; ifail=1; iskip=0; }
echo "$((upass + ipass)) passed, $((ufail + ifail)) failed, $iskip skipped"
[ $((ufail + ifail)) -eq 0 ]
