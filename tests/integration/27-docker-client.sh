#!/usr/bin/env bash
# 27-docker-client: the Engine API client against the real daemon (tests/helpers/docker_smoke):
# network, volume, build, create, conflict, upload, start, healthcheck, logs, rename, stop, remove.
. "$(dirname "$0")/../lib/common.sh"
. "$CDCCTL_ROOT/tests/lib/docker.sh"
ensure_dockerd
[ -x /bin/busybox ] || skip "busybox-static is not installed"
"$HELPERS/docker_smoke" cdcctl-smoke/base:1; rc=$?
[ $rc -eq 77 ] && skip "docker_smoke could not run"
[ $rc -eq 0 ] || fail "docker_smoke: exit $rc"
