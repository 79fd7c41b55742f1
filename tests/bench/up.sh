#!/usr/bin/env bash
# tests/bench/up.sh: the `up` benchmark. On a stack of local-image services (busybox, no
# registry) it measures, for cdcctl and side by side for Debian's docker-compose on an
# equivalent compose file with the same images:
#   6 services: cold `up` (median of BENCH_COLD_RUNS, default 5; docker-compose up -d),
#               no-op `up` and `status` (median of BENCH_RUNS, default 5; docker-compose
#               up -d / ps for comparison)
#   10 services: cold `up`, no-op `up` and `status` (medians)
# Targets (from the issue): no-op up < 300 ms and status < 100 ms for 10 services; cold up
# no slower than docker-compose up -d. Everything it creates is removed at exit.
# Exit: 0 ran (targets are reported; BENCH_STRICT=1 makes a missed target exit 1),
# 77 docker.io / busybox-static missing, 1 a command failed.
. "$(dirname "$0")/../lib/common.sh"
. "$CDCCTL_ROOT/tests/lib/docker.sh"
. "$CDCCTL_ROOT/tests/lib/images.sh"
[ -x "$CDCCTL" ] || fail "$CDCCTL is not built (run make)"
ensure_dockerd
ensure_test_images
RUNS=${BENCH_RUNS:-5}
COLD_RUNS=${BENCH_COLD_RUNS:-5}
tmpdir T
LOG=$T/bench.log
COMPOSE=""
command -v docker-compose >/dev/null 2>&1 && COMPOSE=docker-compose

P6=cdcctl-it-bench6-$$
P10=cdcctl-it-bench10-$$
PC=cdcctl-it-benchc-$$
docker_project "$P6"
docker_project "$P10"
compose_cleanup() {
    local ids
    [ -n "$COMPOSE" ] && $COMPOSE -p "$PC" -f "$T/c6/docker-compose.yml" down -v -t 1 >>"$LOG" 2>&1
    ids=$(docker ps -aq --filter "label=com.docker.compose.project=$PC")
    # shellcheck disable=SC2086
    [ -n "$ids" ] && docker rm -f -v $ids >/dev/null 2>&1
    ids=$(docker network ls -q --filter "label=com.docker.compose.project=$PC")
    # shellcheck disable=SC2086
    [ -n "$ids" ] && docker network rm $ids >/dev/null 2>&1
    ids=$(docker volume ls -q --filter "label=com.docker.compose.project=$PC")
    # shellcheck disable=SC2086
    [ -n "$ids" ] && docker volume rm -f $ids >/dev/null 2>&1
    return 0
}
on_exit compose_cleanup

# services N PORT: the services block shared by the manifest and the compose file.
# web publishes a port, db has a named volume and environment, w3 depends on db, w4 on
# web; the rest are plain long-running services. Commands trap TERM so stops are quick.
services() {
    local n=$1 port=$2 i
    cat <<Y
services:
  web:
    image: cdcctl-test/busybox:1
    command: ["sh", "-c", "trap 'exit 0' TERM; mkdir -p /www; echo bench > /www/index.html; httpd -f -p 8080 -h /www & wait"]
    ports:
      - "127.0.0.1:$port:8080"
  db:
    image: cdcctl-test/busybox:1
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    environment:
      GREETING: hello
    volumes:
      - data:/data
Y
    for ((i = 3; i <= n; i++)); do
        printf '  w%d:\n    image: cdcctl-test/busybox:1\n' "$i"
        printf '    command: ["sh", "-c", "trap '"'"'exit 0'"'"' TERM; sleep 3600 & wait"]\n'
        [ "$i" = 3 ] && printf '    depends_on:\n      - db\n'
        [ "$i" = 4 ] && printf '    depends_on:\n      - web\n'
    done
    printf 'volumes:\n  data: {}\n'
}
mkdir -p "$T/m6" "$T/m10" "$T/c6"
{ echo "project: $P6"; services 6 "$(free_port)"; } > "$T/m6/cdcctl.yaml"
{ echo "project: $P10"; services 10 "$(free_port)"; } > "$T/m10/cdcctl.yaml"
services 6 "$(free_port)" > "$T/c6/docker-compose.yml"

# ms CMD...: runs CMD (output to the log), prints its wall time in ms; fails the bench
# when CMD fails.
ms() {
    local t0 t1 rc=0
    echo "+ $*" >>"$LOG"
    t0=$(date +%s%N)
    "$@" >>"$LOG" 2>&1 </dev/null || rc=$?
    t1=$(date +%s%N)
    if [ $rc -ne 0 ]; then
        tail -n 30 "$LOG" >&2
        fail "bench: '$*' exited $rc"
    fi
    echo $(( (t1 - t0) / 1000000 ))
}
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# repeat N CMD...: the median wall time of N runs of CMD
repeat() {
    local n=$1 i x v=()
    shift
    for ((i = 0; i < n; i++)); do x=$(ms "$@") || exit 1; v+=("$x"); done
    median "${v[@]}"
}
count_running() { docker ps -q --filter "label=$1" | wc -l | tr -d ' '; }

C6="$CDCCTL -f $T/m6/cdcctl.yaml"
C10="$CDCCTL -f $T/m10/cdcctl.yaml"
DC="$COMPOSE -p $PC -f $T/c6/docker-compose.yml"

# --- 6 services, cold up, interleaved with docker-compose so both see the same machine
cold=() dcold=()
for ((r = 0; r < COLD_RUNS; r++)); do
    docker_cleanup_project "$P6"
    x=$(ms $C6 up) || exit 1; cold+=("$x")
    [ "$(count_running "io.cdcctl.project=$P6")" = 6 ] || fail "bench: cdcctl up did not leave 6 running containers"
    if [ -n "$COMPOSE" ]; then
        compose_cleanup
        x=$(ms $DC up -d) || exit 1; dcold+=("$x")
        [ "$(count_running "com.docker.compose.project=$PC")" = 6 ] || fail "bench: docker-compose up -d did not leave 6 running containers"
    fi
done
COLD6=$(median "${cold[@]}")
NOOP6=$(repeat "$RUNS" $C6 up) || exit 1
STATUS6=$(repeat "$RUNS" $C6 status) || exit 1
DCOLD6=- DNOOP6=- DPS6=-
if [ -n "$COMPOSE" ]; then
    DCOLD6=$(median "${dcold[@]}")
    DNOOP6=$(repeat "$RUNS" $DC up -d) || exit 1
    DPS6=$(repeat "$RUNS" $DC ps) || exit 1
    compose_cleanup
fi
ms $C6 down --volumes >/dev/null || exit 1

# --- 10 services
COLD10=$(ms $C10 up) || exit 1
[ "$(count_running "io.cdcctl.project=$P10")" = 10 ] || fail "bench: cdcctl up did not leave 10 running containers"
NOOP10=$(repeat "$RUNS" $C10 up) || exit 1
STATUS10=$(repeat "$RUNS" $C10 status) || exit 1
ms $C10 down --volumes >/dev/null || exit 1

missed=0
verdict() { # VALUE LIMIT: "met" when VALUE < LIMIT
    if [ "$2" = - ] || [ "$1" = - ]; then echo "(no docker-compose)"
    elif [ "$1" -lt "$2" ] || { [ "${3:-}" = le ] && [ "$1" -le "$2" ]; }; then echo met
    else echo MISSED; fi
}
v1=$(verdict "$NOOP10" 300); v2=$(verdict "$STATUS10" 100); v3=$(verdict "$COLD6" "$DCOLD6" le)
[ "$v1" = MISSED ] || [ "$v2" = MISSED ] || [ "$v3" = MISSED ] && missed=1
dver=$(docker version -f '{{.Server.Version}} (API {{.Server.APIVersion}})' 2>/dev/null)
cver=$($COMPOSE version --short 2>/dev/null || echo absent)
echo
echo "up benchmark: Docker $dver, $(nproc) CPUs, local busybox images"
echo "medians: cold up of $COLD_RUNS runs, the others of $RUNS runs; wall-clock milliseconds"
printf '  %-26s %10s %16s   %s\n' "" "cdcctl" "docker-compose" "target"
printf '  %-26s %10s %16s   %s\n' "" "" "$cver" ""
printf '  %-26s %10s %16s   %s\n' "6 services, cold up" "$COLD6" "$DCOLD6" "<= docker-compose up -d: $v3"
printf '  %-26s %10s %16s\n' "6 services, no-op up" "$NOOP6" "$DNOOP6"
printf '  %-26s %10s %16s\n' "6 services, status" "$STATUS6" "$DPS6 (ps)"
printf '  %-26s %10s %16s\n' "10 services, cold up" "$COLD10" ""
printf '  %-26s %10s %16s   %s\n' "10 services, no-op up" "$NOOP10" "" "< 300 ms: $v1"
printf '  %-26s %10s %16s   %s\n' "10 services, status" "$STATUS10" "" "< 100 ms: $v2"
echo "  cold up runs (ms): cdcctl ${cold[*]}; docker-compose ${dcold[*]:--}"
if [ $missed -ne 0 ]; then
    echo "bench: a target was MISSED (see above)"
    [ "${BENCH_STRICT:-}" = 1 ] && exit 1
fi
exit 0
