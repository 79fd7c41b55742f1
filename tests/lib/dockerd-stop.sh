#!/usr/bin/env bash
# tests/lib/dockerd-stop.sh: stop the dockerd that dockerd-start.sh started (the pid in
# $CDCCTL_DOCKERD_PIDFILE), and only that one. A daemon that was already running when the
# tests began has no pidfile and is left alone. Safe to call when nothing was started.
set -u
PIDFILE=${CDCCTL_DOCKERD_PIDFILE:-/tmp/cdcctl-test-dockerd.pid}
[ -s "$PIDFILE" ] || exit 0
pid=$(cat "$PIDFILE")
# Only signal the process if it still is a dockerd (pids are reused).
if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q dockerd; then
    echo "dockerd-stop: stopping dockerd (pid $pid) started by the tests" >&2
    kill -TERM "$pid"
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "dockerd-stop: dockerd (pid $pid) still running after 20 s; sending SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null
    fi
fi
rm -f "$PIDFILE"
exit 0
