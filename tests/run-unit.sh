#!/usr/bin/env bash
# Runs the cmocka unit test binaries given as arguments; prints cmocka's output
# (stderr folded into stdout) and exits non-zero if any test failed.
set -u
failed=0
for t in "$@"; do
    "$t" 2>&1 || failed=1
done
exit $failed
