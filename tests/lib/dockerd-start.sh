#!/usr/bin/env bash
# tests/lib/dockerd-start.sh: make sure a Docker daemon answers on the default socket.
# If `docker info` already works, nothing is started and nothing is recorded (a daemon
# we did not start is never stopped by dockerd-stop.sh). Otherwise /usr/sbin/dockerd is
# started in the background, its log in /tmp/cdcctl-test-dockerd.log, its pid recorded in
# $CDCCTL_DOCKERD_PIDFILE (default /tmp/cdcctl-test-dockerd.pid), and we wait up to 30 s.
# DOCKERD_ARGS adds daemon options (e.g. -H unix:///other.sock --data-root ... together
# with a matching DOCKER_HOST, to run a private daemon next to the system's one).
# Exit: 0 daemon ready; 77 docker.io is not installed (SKIP); 1 it did not come up.
set -u
PIDFILE=${CDCCTL_DOCKERD_PIDFILE:-/tmp/cdcctl-test-dockerd.pid}
LOG=${CDCCTL_DOCKERD_LOG:-/tmp/cdcctl-test-dockerd.log}
DOCKERD=${DOCKERD:-/usr/sbin/dockerd}

if ! command -v docker >/dev/null 2>&1 || [ ! -x "$DOCKERD" ]; then
    echo "SKIP: docker.io is not installed (no docker CLI or $DOCKERD); apt-get install docker.io" >&2
    exit 77
fi
if timeout 10 docker info >/dev/null 2>&1; then
    exit 0
fi
if [ -n "${DOCKER_HOST:-}" ] && [ "${DOCKER_HOST#unix://}" = "$DOCKER_HOST" ]; then
    echo "dockerd-start: DOCKER_HOST=$DOCKER_HOST does not answer and is not a local socket" >&2
    exit 1
fi
if [ "$(id -u)" != 0 ]; then
    echo "dockerd-start: no Docker daemon answers and starting one needs root" >&2
    exit 1
fi
# A pidfile left by a previous run whose daemon still lives: wait for it instead.
if [ -s "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    echo "dockerd-start: waiting for dockerd pid $(cat "$PIDFILE") started earlier" >&2
else
    echo "dockerd-start: starting $DOCKERD (log $LOG)" >&2
    # setsid: the daemon must not die with the test's process group or terminal.
    # shellcheck disable=SC2086
    setsid "$DOCKERD" ${DOCKERD_ARGS:-} >"$LOG" 2>&1 < /dev/null &
    echo $! > "$PIDFILE"
fi
pid=$(cat "$PIDFILE")
for _ in $(seq 1 150); do
    if docker info >/dev/null 2>&1; then
        echo "dockerd-start: dockerd (pid $pid) is ready" >&2
        exit 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "dockerd-start: dockerd exited; last lines of $LOG:" >&2
        tail -n 20 "$LOG" >&2
        rm -f "$PIDFILE"
        exit 1
    fi
    sleep 0.2
done
echo "dockerd-start: dockerd (pid $pid) did not answer within 30 s; last lines of $LOG:" >&2
tail -n 20 "$LOG" >&2
exit 1
